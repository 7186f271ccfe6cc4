//! `--summary`: per-syscall counts, errors and host time, like `strace -c`.

use super::{format, sysent};
use std::collections::HashMap;
use std::io::{self, Write};
use std::time::Duration;

#[derive(Debug, Default, Clone, Copy)]
struct Row {
    calls: u64,
    errors: u64,
    time: Duration,
}

/// The counts so far.
#[derive(Debug, Default)]
pub struct Summary {
    rows: HashMap<u64, Row>,
}

impl Summary {
    /// Count one syscall.
    pub fn add(&mut self, nr: u64, ret: Option<i64>, time: Duration) {
        let row = self.rows.entry(nr).or_default();
        row.calls += 1;
        row.time += time;
        if ret.and_then(format::errno_name).is_some() {
            row.errors += 1;
        }
    }

    /// The table: most time first, then most calls; "time" is what the host
    /// spent serving the calls (the guest's own part of each round trip is
    /// not in it).
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut rows: Vec<(u64, Row)> = self.rows.iter().map(|(&n, &r)| (n, r)).collect();
        rows.sort_by(|a, b| {
            b.1.time
                .cmp(&a.1.time)
                .then(b.1.calls.cmp(&a.1.calls))
                .then(a.0.cmp(&b.0))
        });
        let total_time: Duration = rows.iter().map(|(_, r)| r.time).sum();
        let total_calls: u64 = rows.iter().map(|(_, r)| r.calls).sum();
        let total_errors: u64 = rows.iter().map(|(_, r)| r.errors).sum();
        let line = "------ ----------- ----------- --------- --------- ----------------";
        writeln!(
            out,
            "% time     seconds  usecs/call     calls    errors syscall"
        )?;
        writeln!(out, "{line}")?;
        for (nr, r) in &rows {
            let pct = if total_time.is_zero() {
                0.0
            } else {
                100.0 * r.time.as_secs_f64() / total_time.as_secs_f64()
            };
            let name = sysent::sysent(*nr)
                .map_or_else(|| format!("syscall_{nr:#x}"), |e| e.name.to_string());
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
}
