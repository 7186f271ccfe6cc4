//! `--summary`: per-syscall counts, errors and host time, like `strace -c`.
//!
//! The guest picks the syscall numbers, any of 2^64, so the table is fixed:
//! one row for each number of the x86-64 table (0 to [`MAX_NR`]),
//! and one row for every number above it together. Counting never
//! allocates, whatever numbers the guest makes up.

use super::format;
use microvm_abi::linux::syscalls::{by_nr, MAX_NR};
use std::io::{self, Write};
use std::time::Duration;

#[derive(Debug, Default, Clone, Copy)]
struct Row {
    calls: u64,
    errors: u64,
    time: Duration,
}

/// Rows: one per number up to [`MAX_NR`], then [`OTHER`].
const ROWS: usize = MAX_NR as usize + 2;

/// The row every number above [`MAX_NR`] is counted in.
const OTHER: usize = ROWS - 1;

/// The name the summary gives the [`OTHER`] row.
pub const OTHER_NAME: &str = "(numbers above the x86-64 table)";

/// The counts so far.
#[derive(Debug)]
pub struct Summary {
    rows: Box<[Row; ROWS]>,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            rows: Box::new([Row::default(); ROWS]),
        }
    }
}

/// The row syscall `nr` is counted in.
fn row_index(nr: u64) -> usize {
    usize::try_from(nr).map_or(OTHER, |i| i.min(OTHER))
}

/// The name of row `index`.
fn row_name(index: usize) -> String {
    if index == OTHER {
        return OTHER_NAME.to_string();
    }
    by_nr(index as u64).map_or_else(|| format!("syscall_{index:#x}"), |e| e.name.to_string())
}

impl Summary {
    /// Count one syscall.
    pub fn add(&mut self, nr: u64, ret: Option<i64>, time: Duration) {
        let row = &mut self.rows[row_index(nr)];
        row.calls += 1;
        row.time = row.time.saturating_add(time);
        if ret.and_then(format::errno_name).is_some() {
            row.errors += 1;
        }
    }

    /// The table: most time first, then by number; "time" is what the host
    /// spent serving the calls (the guest's own part of each round trip is
    /// not in it).
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut rows: Vec<(usize, Row)> = (0..ROWS)
            .map(|i| (i, self.rows[i]))
            .filter(|(_, r)| r.calls > 0)
            .collect();
        // strace's order: most time first, equal times by number.
        rows.sort_by(|a, b| b.1.time.cmp(&a.1.time).then(a.0.cmp(&b.0)));
        let total_time = rows
            .iter()
            .fold(Duration::ZERO, |t, (_, r)| t.saturating_add(r.time));
        let total_calls: u64 = rows.iter().fold(0, |t, (_, r)| t.saturating_add(r.calls));
        let total_errors: u64 = rows.iter().fold(0, |t, (_, r)| t.saturating_add(r.errors));
        let line = "------ ----------- ----------- --------- --------- ----------------";
        writeln!(
            out,
            "% time     seconds  usecs/call     calls    errors syscall"
        )?;
        writeln!(out, "{line}")?;
        for (index, r) in &rows {
            let pct = if total_time.is_zero() {
                0.0
            } else {
                100.0 * r.time.as_secs_f64() / total_time.as_secs_f64()
            };
            let name = row_name(*index);
            let errors = if r.errors > 0 {
                r.errors.to_string()
            } else {
                String::new()
            };
            writeln!(
                out,
                "{pct:6.2} {:11.6} {:11} {:9} {errors:>9} {name}",
                r.time.as_secs_f64(),
                (r.time.as_micros() as u64) / r.calls.max(1),
                r.calls,
            )?;
        }
        writeln!(out, "{line}")?;
        let errors = if total_errors > 0 {
            total_errors.to_string()
        } else {
            String::new()
        };
        writeln!(
            out,
            "100.00 {:11.6} {:11} {:9} {errors:>9} total",
            total_time.as_secs_f64(),
            (total_time.as_micros() as u64) / total_calls.max(1),
            total_calls
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_and_errors() {
        let mut s = Summary::default();
        s.add(1, Some(5), Duration::from_micros(30));
        s.add(1, Some(-9), Duration::from_micros(10));
        s.add(39, Some(1), Duration::from_micros(10));
        s.add(231, None, Duration::ZERO);
        let mut out = Vec::new();
        s.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].ends_with("        2         1 write"), "{text}");
        assert!(
            lines[2].starts_with(" 80.00    0.000040          20"),
            "{text}"
        );
        assert!(lines[3].ends_with("getpid"), "{text}");
        assert!(lines[4].ends_with("exit_group"), "{text}");
        assert!(lines[6].ends_with("        4         1 total"), "{text}");
    }

    #[test]
    fn equal_times_are_listed_by_number_as_strace_does() {
        let mut s = Summary::default();
        for _ in 0..5 {
            s.add(39, Some(1), Duration::ZERO);
        }
        s.add(3, Some(0), Duration::ZERO);
        s.add(1, Some(1), Duration::ZERO);
        let mut out = Vec::new();
        s.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let names: Vec<&str> = text
            .lines()
            .skip(2)
            .take(3)
            .map(|l| l.split_whitespace().last().unwrap())
            .collect();
        assert_eq!(names, ["write", "close", "getpid"], "{text}");
    }

    #[test]
    fn distinct_numbers_do_not_grow_the_table() {
        // Finding 7: a row per distinct number let a guest grow microvm by
        // 143 MB with a million made-up numbers.
        let mut s = Summary::default();
        let rows = s.rows.as_ptr();
        let n = 1_000_000u64;
        for nr in 0..n {
            s.add(nr * 7919, Some(-38), Duration::from_nanos(1));
        }
        s.add(u64::MAX, Some(0), Duration::ZERO);
        assert_eq!(s.rows.as_ptr(), rows, "the table was never reallocated");
        let mut out = Vec::new();
        s.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() <= ROWS + 4, "{} lines", lines.len());
        let in_table = (0..n).filter(|i| i * 7919 <= MAX_NR).count() as u64;
        let other = lines
            .iter()
            .find(|l| l.ends_with(OTHER_NAME))
            .expect("the other row");
        let cols: Vec<&str> = other.split_whitespace().collect();
        assert_eq!(cols[3], (n - in_table + 1).to_string(), "{other}");
        assert_eq!(cols[4], (n - in_table).to_string(), "{other}");
        assert!(
            text.contains("     1         1 read\n"),
            "number 0 keeps its own row: {text}"
        );
        assert!(lines.last().unwrap().contains(&format!("{} ", n + 1)));
    }

    #[test]
    fn a_number_in_a_gap_of_the_table_keeps_its_own_row() {
        let mut s = Summary::default();
        let gap = (0..=MAX_NR)
            .find(|&n| by_nr(n).is_none())
            .expect("the x86-64 table has gaps");
        s.add(gap, Some(-38), Duration::ZERO);
        s.add(MAX_NR + 1, Some(-38), Duration::ZERO);
        let mut out = Vec::new();
        s.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&format!(" syscall_{gap:#x}\n")), "{text}");
        assert!(text.contains(OTHER_NAME), "{text}");
    }
}
