//! strace-style text: arguments decoded by type, buffers as quoted escaped
//! strings, errors with their errno name and message.

use super::style::{HexStrings, Style};
use crate::usermem::UserMemory;
use microvm_abi::linux::consts::AT_FDCWD;
use microvm_abi::linux::xlat::{Xlat, XlatKind};
use microvm_abi::TrapFrame;
use std::io::{self, Write};

/// The most bytes of a string `-s` can show: strings are read into a
/// buffer this size on the stack (strace's own limit is larger, but a
/// trace line is not the place for more).
pub const MAX_STRING_LIMIT: usize = 4096;

/// The largest errno a syscall returns (-4095..-1 are errors).
const MAX_ERRNO: i64 = 4095;

/// Name and message of each errno, built on first use from nix's names and
/// the C library's messages (the same strerror text strace prints).
fn errno_table() -> &'static [(String, String)] {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Vec<(String, String)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=MAX_KNOWN_ERRNO)
            .map(|n| {
                let name = format!("{:?}", nix::errno::Errno::from_raw(n));
                let message = std::io::Error::from_raw_os_error(n).to_string();
                let suffix = format!(" (os error {n})");
                let message = message
                    .strip_suffix(&suffix)
                    .unwrap_or(&message)
                    .to_string();
                (name, message)
            })
            .collect()
    })
}

/// The highest errno Linux defines (EHWPOISON).
const MAX_KNOWN_ERRNO: i32 = 133;

/// `("ENOSYS", "Function not implemented")` for a syscall return value that
/// is an error Linux defines.
pub fn errno(ret: i64) -> Option<(&'static str, &'static str)> {
    if !(-MAX_ERRNO..0).contains(&ret) || -ret > i64::from(MAX_KNOWN_ERRNO) {
        return None;
    }
    let (name, message) = &errno_table()[(-ret) as usize];
    Some((name.as_str(), message.as_str()))
}

/// "ENOSYS" for a syscall return value that is an error.
pub fn errno_name(ret: i64) -> Option<&'static str> {
    errno(ret).map(|(name, _)| name)
}

/// Write `bytes` as a C string literal, strace style (`-x`/`-xx` in
/// `hex`: the whole string as `\xNN`).
pub fn quoted_as(
    out: &mut impl Write,
    bytes: &[u8],
    truncated: bool,
    hex: HexStrings,
) -> io::Result<()> {
    out.write_all(b"\"")?;
    escaped(out, bytes, hex, b"")?;
    out.write_all(b"\"")?;
    if truncated {
        out.write_all(b"...")?;
    }
    Ok(())
}

/// `bytes` escaped as inside a C string literal, strace style; the bytes
/// in `also` are escaped too (as octal).
fn escaped(out: &mut impl Write, bytes: &[u8], hex: HexStrings, also: &[u8]) -> io::Result<()> {
    let all_hex = match hex {
        HexStrings::None => false,
        HexStrings::All => true,
        // strace: hex when any byte is neither printable nor \t\n\v\f\r.
        HexStrings::NonAscii => bytes
            .iter()
            .any(|&c| c > 0x7e || (c < b' ' && !(9..=13).contains(&c))),
    };
    if all_hex {
        for &b in bytes {
            write!(out, "\\x{b:02x}")?;
        }
        return Ok(());
    }
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\n' => out.write_all(b"\\n")?,
            b'\t' => out.write_all(b"\\t")?,
            b'\r' => out.write_all(b"\\r")?,
            0x0b => out.write_all(b"\\v")?,
            0x0c => out.write_all(b"\\f")?,
            b'"' => out.write_all(b"\\\"")?,
            b'\\' => out.write_all(b"\\\\")?,
            0x20..=0x7e if !also.contains(&b) => out.write_all(&[b])?,
            _ => {
                let next_is_digit = bytes.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                if next_is_digit {
                    write!(out, "\\{b:03o}")?
                } else {
                    write!(out, "\\{b:o}")?
                }
            }
        }
    }
    Ok(())
}

/// `-y`'s `<path>` after a descriptor, escaped as strace escapes it (no
/// quotes; `<` and `>` escaped too).
pub fn angle_path(out: &mut impl Write, path: &[u8]) -> io::Result<()> {
    out.write_all(b"<")?;
    escaped(out, path, HexStrings::None, b"<>")?;
    out.write_all(b">")
}

/// Write `bytes` as a C string literal, strace's default style.
pub fn quoted(out: &mut impl Write, bytes: &[u8], truncated: bool) -> io::Result<()> {
    quoted_as(out, bytes, truncated, HexStrings::None)
}

/// A pointer: hex, or NULL.
pub fn pointer(out: &mut impl Write, v: u64) -> io::Result<()> {
    if v == 0 {
        out.write_all(b"NULL")
    } else {
        write!(out, "{v:#x}")
    }
}

/// A number in hex, 0 as `0` (strace's `%#x`).
pub fn hex(out: &mut impl Write, v: u64) -> io::Result<()> {
    if v == 0 {
        out.write_all(b"0")
    } else {
        write!(out, "{v:#x}")
    }
}

/// `v` by the names of `table` (an int argument: the low 32 bits).
pub fn xlat(out: &mut impl Write, table: &Xlat, v: u64) -> io::Result<()> {
    let v = v as u32 as u64;
    match table.kind {
        XlatKind::Values { unknown } => match table.name(v) {
            Some(name) => out.write_all(name.as_bytes()),
            None => write!(out, "{v:#x} /* {unknown} */"),
        },
        XlatKind::Bits { zero } => bits(out, table, v, zero),
    }
}

/// `v` as the names of the bits of `table` set in it, in table order,
/// joined by `|`; bits without a name in hex; `zero` for 0.
pub fn bits(out: &mut impl Write, table: &Xlat, v: u64, zero: &str) -> io::Result<()> {
    if v == 0 {
        return out.write_all(zero.as_bytes());
    }
    let mut rest = v;
    let mut first = true;
    for &(bit, name) in table.entries {
        if bit != 0 && rest & bit == bit {
            if !first {
                out.write_all(b"|")?;
            }
            out.write_all(name.as_bytes())?;
            rest &= !bit;
            first = false;
        }
    }
    if rest != 0 {
        if !first {
            out.write_all(b"|")?;
        }
        write!(out, "{rest:#x}")?;
    }
    Ok(())
}

/// `len` guest bytes at `addr` as a quoted string (cut at the `-s`
/// limit), or the pointer if they cannot be read.
pub fn buffer(
    out: &mut impl Write,
    mem: &UserMemory<'_>,
    addr: u64,
    len: u64,
    style: &Style,
) -> io::Result<()> {
    buffer_as(out, mem, addr, len, style, style.hex)
}

/// [`buffer`], in the given hex style (strace shows some binary buffers in
/// hex whatever `-x` says).
pub fn buffer_as(
    out: &mut impl Write,
    mem: &UserMemory<'_>,
    addr: u64,
    len: u64,
    style: &Style,
    hex: HexStrings,
) -> io::Result<()> {
    if addr == 0 {
        return pointer(out, addr);
    }
    let limit = style.string_limit.min(MAX_STRING_LIMIT);
    let shown = usize::try_from(len).unwrap_or(usize::MAX).min(limit);
    let mut buf = [0u8; MAX_STRING_LIMIT];
    match mem.read(addr, &mut buf[..shown]) {
        Ok(()) => quoted_as(out, &buf[..shown], len > shown as u64, hex),
        Err(_) => pointer(out, addr),
    }
}

/// The NUL-terminated guest string at `addr`, quoted (cut at the `-s`
/// limit), or the pointer.
pub fn string(
    out: &mut impl Write,
    mem: &UserMemory<'_>,
    addr: u64,
    style: &Style,
) -> io::Result<()> {
    if addr == 0 {
        return pointer(out, addr);
    }
    let limit = style.string_limit.min(MAX_STRING_LIMIT);
    let mut buf = [0u8; MAX_STRING_LIMIT];
    match mem.read_cstr(addr, &mut buf[..limit]) {
        Ok((n, found)) => quoted_as(out, &buf[..n], !found, style.hex),
        Err(_) => pointer(out, addr),
    }
}

/// A file descriptor (an int), `AT_FDCWD` by name.
pub fn fd(out: &mut impl Write, v: u64) -> io::Result<()> {
    if v as i32 == AT_FDCWD {
        out.write_all(b"AT_FDCWD")
    } else {
        write!(out, "{}", v as i32)
    }
}

/// strace's comment after a time in seconds (and nanoseconds):
/// ` /* 2023-11-14T22:13:20.123456789+0000 */`, nothing for 0. The date is
/// UTC (strace uses the local time zone; microvm reads no zone files).
pub fn time_comment(out: &mut impl Write, sec: i64, nsec: u64) -> io::Result<()> {
    if (sec == 0 && nsec == 0) || nsec > 999_999_999 {
        return Ok(());
    }
    let days = sec.div_euclid(86_400);
    let secs = sec.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    write!(
        out,
        " /* {y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )?;
    if nsec > 0 {
        write!(out, ".{nsec:09}")?;
    }
    out.write_all(b"+0000 */")
}

/// (year, month, day) of the day `days` after 1970-01-01 (Howard
/// Hinnant's algorithm, proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// An octal mode as C's `%#03o` writes it: `0644`, `000`.
pub fn octal(out: &mut impl Write, v: u64) -> io::Result<()> {
    if v == 0 {
        out.write_all(b"000")
    } else {
        write!(out, "0{v:02o}")
    }
}

/// `  [rax=.. ... cs=0x23 (rpl 3) ss=0x1b (rpl 3)]`: every register of
/// [`TrapFrame::registers`], the selectors with their RPL.
pub fn regs(out: &mut impl Write, f: &TrapFrame) -> io::Result<()> {
    out.write_all(b"  [")?;
    for (i, (name, value)) in f.registers().into_iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        write!(out, "{sep}{name}={value:#x}")?;
        if matches!(name, "cs" | "ss") {
            write!(out, " (rpl {})", value & 3)?;
        }
    }
    out.write_all(b"]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(bytes: &[u8], truncated: bool) -> String {
        let mut v = Vec::new();
        quoted(&mut v, bytes, truncated).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn quoting_like_strace() {
        assert_eq!(q(b"hi\n", false), r#""hi\n""#);
        assert_eq!(q(b"a\"b\\", true), r#""a\"b\\"..."#);
        assert_eq!(q(b"\x7fELF\x02\x01", false), r#""\177ELF\2\1""#);
        assert_eq!(q(b"\x001", false), r#""\0001""#);
    }

    #[test]
    fn fd_paths_escaped_like_strace() {
        let mut v = Vec::new();
        angle_path(&mut v, b"/tmp/a<b>\n\x1b").unwrap();
        assert_eq!(String::from_utf8(v).unwrap(), r"</tmp/a\74b\76\n\33>");
    }

    #[test]
    fn times_as_strace_comments_them() {
        let t = |sec, nsec| {
            let mut v = Vec::new();
            time_comment(&mut v, sec, nsec).unwrap();
            String::from_utf8(v).unwrap()
        };
        assert_eq!(
            t(1_700_000_000, 123_456_789),
            " /* 2023-11-14T22:13:20.123456789+0000 */"
        );
        assert_eq!(t(951_782_400, 0), " /* 2000-02-29T00:00:00+0000 */");
        assert_eq!(t(-1, 0), " /* 1969-12-31T23:59:59+0000 */");
        assert_eq!(t(0, 0), "");
        assert_eq!(t(5, 1_000_000_000), "");
        // Absurd values from a hostile guest: no panic.
        let _ = t(i64::MAX, 1);
        let _ = t(i64::MIN, 1);
    }

    #[test]
    fn errnos() {
        assert_eq!(errno_name(-38), Some("ENOSYS"));
        assert_eq!(errno_name(-14), Some("EFAULT"));
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(-5000), None);
        assert_eq!(errno(-38), Some(("ENOSYS", "Function not implemented")));
        assert_eq!(errno(-9), Some(("EBADF", "Bad file descriptor")));
        assert_eq!(errno(-200), None);
    }
}
