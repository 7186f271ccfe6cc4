//! strace's time options: `-t`/`-tt`/`-ttt` (when each line's call
//! started), `-r` (the time since the previous line) and `-T` (the time a
//! call took), and the leader they put at the start of a line.

use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `-t`, `-tt`, `-ttt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timestamps {
    /// No timestamp.
    #[default]
    None,
    /// `-t`: the local time of day, `HH:MM:SS`.
    Seconds,
    /// `-tt`: with microseconds, `HH:MM:SS.uuuuuu`.
    Micros,
    /// `-ttt`: seconds since the epoch, `SSSSSSSSSS.uuuuuu`.
    Epoch,
}

impl Timestamps {
    /// The timestamps of `-t` given `count` times.
    pub fn from_count(count: u8) -> Timestamps {
        match count {
            0 => Timestamps::None,
            1 => Timestamps::Seconds,
            2 => Timestamps::Micros,
            _ => Timestamps::Epoch,
        }
    }
}

/// Which times the trace shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// `-t`, `-tt`, `-ttt`.
    pub timestamps: Timestamps,
    /// `-r`: the time since the previous line started.
    pub relative: bool,
    /// `-T`: the time each call took, ` <0.000041>` after the result.
    pub durations: bool,
}

impl Timing {
    /// True when a line starts with a leader.
    pub fn has_leader(&self) -> bool {
        self.timestamps != Timestamps::None || self.relative
    }
}

/// When a line's event happened.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    /// The wall clock (for `-t`).
    pub wall: SystemTime,
    /// The monotonic clock (for `-r` and `-T`).
    pub mono: Instant,
}

impl Stamp {
    /// Now.
    pub fn now() -> Stamp {
        Stamp {
            wall: SystemTime::now(),
            mono: Instant::now(),
        }
    }
}

/// The most bytes a leader takes (`-ttt -r`: 20 digits of seconds, the
/// fraction, and the relative part).
const LEADER_MAX: usize = 96;

/// A line's leader, written to a buffer first so that the result column
/// can count it (strace aligns ` = ` at column 40 counting the leader).
pub struct Leader {
    buf: [u8; LEADER_MAX],
    len: usize,
}

impl Leader {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Writes leaders: keeps the local time's offset from UTC and the time of
/// the previous line (for `-r`).
#[derive(Debug, Clone)]
pub struct Clock {
    timing: Timing,
    /// Seconds east of UTC, asked once before the run (the C library reads
    /// the zone files for it, which the vCPU thread's seccomp filter does
    /// not allow).
    utc_offset: i64,
    /// When the previous line's event happened.
    previous: Option<Instant>,
}

impl Clock {
    /// A clock for `timing`, with the local time zone's offset as it is now.
    pub fn new(timing: Timing) -> Clock {
        let utc_offset = if timing.timestamps == Timestamps::None {
            0
        } else {
            local_utc_offset()
        };
        Clock {
            timing,
            utc_offset,
            previous: None,
        }
    }

    /// Which times are shown.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// The empty leader (no `-t`, no `-r`).
    pub fn no_leader() -> Leader {
        Leader {
            buf: [0; LEADER_MAX],
            len: 0,
        }
    }

    /// The leader of a line whose event happened at `at`: the timestamp,
    /// then the time since the previous line.
    pub fn leader(&mut self, at: Stamp) -> Leader {
        let mut leader = Clock::no_leader();
        if !self.timing.has_leader() {
            return leader;
        }
        let mut cursor = io::Cursor::new(&mut leader.buf[..]);
        // The buffer holds the longest leader: the writes cannot fail.
        let _ = self.write_leader(&mut cursor, at);
        leader.len = cursor.position() as usize;
        leader
    }

    fn write_leader(&mut self, out: &mut impl Write, at: Stamp) -> io::Result<()> {
        let since_epoch = at.wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        let (secs, micros) = (since_epoch.as_secs(), since_epoch.subsec_micros());
        let of_day = (secs as i64)
            .saturating_add(self.utc_offset)
            .rem_euclid(86_400);
        let (h, m, s) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
        match self.timing.timestamps {
            Timestamps::None => {}
            Timestamps::Seconds => write!(out, "{h:02}:{m:02}:{s:02} ")?,
            Timestamps::Micros => write!(out, "{h:02}:{m:02}:{s:02}.{micros:06} ")?,
            Timestamps::Epoch => write!(out, "{secs}.{micros:06} ")?,
        }
        if self.timing.relative {
            let since = self
                .previous
                .map_or(Duration::ZERO, |p| at.mono.saturating_duration_since(p));
            let (s, us) = (since.as_secs(), since.subsec_micros());
            if self.timing.timestamps == Timestamps::None {
                write!(out, "{s:6}.{us:06} ")?;
            } else {
                write!(out, "(+{s:6}.{us:06}) ")?;
            }
            self.previous = Some(at.mono);
        }
        Ok(())
    }
}

/// ` <0.000041>`: how long a call took, as `-T` shows it.
pub fn duration(out: &mut impl Write, took: Duration) -> io::Result<()> {
    write!(out, " <{}.{:06}>", took.as_secs(), took.subsec_micros())
}

/// Seconds east of UTC of the local time zone now (0 if it cannot be
/// told).
fn local_utc_offset() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as libc::time_t);
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: localtime_r reads `now` and fills the struct tm it is given,
    // which is zero-initialised and lives through the call.
    let r = unsafe { libc::localtime_r(&now, tm.as_mut_ptr()) };
    if r.is_null() {
        return 0;
    }
    // SAFETY: localtime_r succeeded and filled it.
    unsafe { tm.assume_init() }.tm_gmtoff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(secs: u64, micros: u32, mono: Instant) -> Stamp {
        Stamp {
            wall: UNIX_EPOCH + Duration::new(secs, micros * 1000),
            mono,
        }
    }

    fn text(clock: &mut Clock, at: Stamp) -> String {
        String::from_utf8(clock.leader(at).bytes().to_vec()).unwrap()
    }

    fn clock(timestamps: Timestamps, relative: bool) -> Clock {
        Clock {
            timing: Timing {
                timestamps,
                relative,
                durations: false,
            },
            utc_offset: 0,
            previous: None,
        }
    }

    #[test]
    fn timestamps_as_strace_prints_them() {
        let t0 = Instant::now();
        // 2026-11-28 04:24:30.735328 UTC
        let at = stamp(1_795_839_870, 735_328, t0);
        assert_eq!(text(&mut clock(Timestamps::None, false), at), "");
        assert_eq!(
            text(&mut clock(Timestamps::Seconds, false), at),
            "04:24:30 "
        );
        assert_eq!(
            text(&mut clock(Timestamps::Micros, false), at),
            "04:24:30.735328 "
        );
        assert_eq!(
            text(&mut clock(Timestamps::Epoch, false), at),
            "1795839870.735328 "
        );
        let mut east = clock(Timestamps::Seconds, false);
        east.utc_offset = 3600 * 20;
        assert_eq!(text(&mut east, at), "00:24:30 ", "wraps past midnight");
    }

    #[test]
    fn relative_is_the_time_since_the_previous_line() {
        let t0 = Instant::now();
        let mut c = clock(Timestamps::None, true);
        assert_eq!(text(&mut c, stamp(0, 0, t0)), "     0.000000 ");
        let t1 = t0 + Duration::from_micros(80);
        assert_eq!(text(&mut c, stamp(0, 0, t1)), "     0.000080 ");
        let t2 = t1 + Duration::new(12, 3_000);
        assert_eq!(text(&mut c, stamp(0, 0, t2)), "    12.000003 ");
        let mut both = clock(Timestamps::Seconds, true);
        assert_eq!(
            text(&mut both, stamp(1_795_839_870, 0, t0)),
            "04:24:30 (+     0.000000) "
        );
        assert_eq!(
            text(&mut both, stamp(1_795_839_870, 0, t1)),
            "04:24:30 (+     0.000080) "
        );
    }

    #[test]
    fn the_longest_leader_fits() {
        let mut c = clock(Timestamps::Epoch, true);
        let t0 = Instant::now();
        c.previous = Some(t0);
        let far = stamp(1 << 50, 999_999, t0 + Duration::from_secs(1 << 40));
        let t = text(&mut c, far);
        assert_eq!(t, "1125899906842624.999999 (+1099511627776.000000) ");
    }

    #[test]
    fn durations() {
        let mut out = Vec::new();
        duration(&mut out, Duration::from_nanos(41_500)).unwrap();
        assert_eq!(out, b" <0.000041>");
        out.clear();
        duration(&mut out, Duration::new(2, 5_000)).unwrap();
        assert_eq!(out, b" <2.000005>");
    }
}
