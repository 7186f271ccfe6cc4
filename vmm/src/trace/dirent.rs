//! getdents64/getdents buffers as strace 6 shows them: the address and
//! `/* 9 entries */`, or with `-v` the entries
//! (`[{d_ino=..., d_off=..., d_reclen=24, d_type=DT_REG, d_name="a"}, ...]`).

use super::decode::Call;
use super::format::{pointer, quoted_as};
use super::structs::MAX_ELEMENTS;
use microvm_abi::linux::consts::DIRENT_TYPES;
use std::io::{self, Write};

/// The longest name shown (strace's `D_NAME_LEN_MAX`).
const NAME_MAX: usize = 256;

/// The most entries counted: each takes at least a header, so a buffer
/// the size of a getdents count has fewer; this bounds the scan.
const MAX_COUNTED: u32 = 1 << 16;

/// The fixed part of an entry: `d_ino`, `d_off`, `d_reclen`, and for
/// `linux_dirent64` `d_type`.
fn header_size(wide: bool) -> u32 {
    if wide {
        19
    } else {
        18
    }
}

/// The buffer argument at `addr`, filled with the return value's bytes.
pub fn entries(out: &mut impl Write, c: &Call<'_, '_>, addr: u64, wide: bool) -> io::Result<()> {
    let count = c.args[2] as u32;
    let len = match c.ret_len() {
        Some(n) if n <= u64::from(count) => n as u32,
        _ => return pointer(out, addr),
    };
    let verbose = c.style.verbose;
    let header = header_size(wide);
    if !verbose {
        pointer(out, addr)?;
    }
    let (mut addr, mut len) = (addr, len);
    let mut n = 0u32;
    loop {
        if len < header {
            if verbose && len == 0 {
                if n == 0 {
                    out.write_all(b"[")?;
                    n += 1;
                }
            } else if verbose {
                let mut b = [0u8; 32];
                let k = (len as usize).min(b.len());
                match c.mem.read(addr, &mut b[..k]) {
                    Ok(()) => quoted_as(out, &b[..k], false, super::style::HexStrings::All)?,
                    Err(_) => pointer(out, addr)?,
                }
            }
            break;
        }
        let mut h = [0u8; 19];
        if c.mem.read(addr, &mut h[..header as usize]).is_err() {
            if verbose {
                if n > 0 {
                    write!(out, "... /* {addr:#x} */")?;
                } else {
                    pointer(out, addr)?;
                }
            }
            break;
        }
        if n >= MAX_COUNTED || (verbose && n >= MAX_ELEMENTS as u32) {
            if verbose {
                out.write_all(b"...")?;
            }
            break;
        }
        if verbose && n == 0 {
            out.write_all(b"[")?;
        }
        n += 1;
        let reclen = u32::from(u16::from_le_bytes([h[16], h[17]]));
        if verbose {
            write!(
                out,
                "{{d_ino={}, d_off={}, d_reclen={reclen}",
                u64::from_le_bytes(h[0..8].try_into().unwrap_or_default()),
                u64::from_le_bytes(h[8..16].try_into().unwrap_or_default()),
            )?;
        }
        let prefix = if verbose { "" } else { "d_reclen " };
        let mut next = None;
        let shown = if reclen > len {
            write!(out, " /* {prefix}{} bytes overflow */", reclen - len)?;
            let shown = len;
            len = 0;
            shown
        } else if reclen < header {
            write!(out, " /* {prefix}{} bytes underflow */", header - reclen)?;
            len -= header;
            header
        } else {
            len -= reclen;
            if len > 0 {
                next = addr.checked_add(u64::from(reclen));
                if next.is_none() {
                    out.write_all(b" /* address overflow */")?;
                }
            }
            reclen
        };
        if verbose {
            let ok = entry_tail(out, c, addr, h[18], shown - header, wide)?;
            if next.is_some() {
                out.write_all(b", ")?;
                if !ok {
                    out.write_all(b"...")?;
                    break;
                }
            }
        }
        match next {
            Some(a) => addr = a,
            None => break,
        }
    }
    if verbose {
        if n > 0 {
            out.write_all(b"]")?;
        }
        Ok(())
    } else {
        let more = if len > 0 { "+" } else { "" };
        write!(out, " /* {n}{more} entries */")
    }
}

/// The rest of one entry, `name_type` bytes after its header: its type and
/// name (in `linux_dirent` the type is the record's last byte). False when
/// the name could not be read.
fn entry_tail(
    out: &mut impl Write,
    c: &Call<'_, '_>,
    addr: u64,
    wide_type: u8,
    name_type: u32,
    wide: bool,
) -> io::Result<bool> {
    let name_at = addr + u64::from(header_size(wide));
    let mut ok = true;
    let mut name = |out: &mut dyn Write, len: u32| -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let n = (len as usize).min(NAME_MAX) - 1;
        let mut buf = [0u8; NAME_MAX + 1];
        out.write_all(b", d_name=")?;
        match c.mem.read_cstr(name_at, &mut buf[..=n]) {
            Ok((k, found)) => {
                let mut v = Vec::new();
                quoted_as(&mut v, &buf[..k.min(n)], !found || k > n, c.style.hex)?;
                out.write_all(&v)
            }
            Err(_) => {
                ok = false;
                let mut v = Vec::new();
                pointer(&mut v, name_at)?;
                out.write_all(&v)
            }
        }
    };
    if wide {
        out.write_all(b", d_type=")?;
        super::format::xlat(out, &DIRENT_TYPES, u64::from(wide_type))?;
        name(out, name_type)?;
    } else if name_type > 0 {
        name(out, name_type - 1)?;
        out.write_all(b", d_type=")?;
        let mut t = [0u8; 1];
        match c.mem.read(name_at + u64::from(name_type - 1), &mut t) {
            Ok(()) => super::format::xlat(out, &DIRENT_TYPES, u64::from(t[0]))?,
            Err(_) => {
                ok = false;
                pointer(out, name_at + u64::from(name_type - 1))?;
            }
        }
    }
    out.write_all(b"}")?;
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use crate::trace::style::Style;
    use crate::trace::testing::{Memory, USER};
    use microvm_abi::linux::nr;

    /// A 24-byte record as the kernel writes it: `linux_dirent64` (`wide`)
    /// or `linux_dirent` (the type in its last byte).
    fn record(ino: u64, off: u64, kind: u8, name: &[u8], wide: bool) -> [u8; 24] {
        let mut r = [0u8; 24];
        r[0..8].copy_from_slice(&ino.to_le_bytes());
        r[8..16].copy_from_slice(&off.to_le_bytes());
        r[16..18].copy_from_slice(&24u16.to_le_bytes());
        if wide {
            r[18] = kind;
            r[19..19 + name.len()].copy_from_slice(name);
        } else {
            r[18..18 + name.len()].copy_from_slice(name);
            r[23] = kind;
        }
        r
    }

    fn directory(m: &mut Memory, wide: bool) -> u64 {
        let entries: [(u64, u64, u8, &[u8]); 5] = [
            (10035325, 2232908316014189079, 8, b"bb"),
            (10035323, 6110503228574032292, 4, b"."),
            (10035326, 6357504699377170974, 4, b"sub"),
            (10021204, 7709387121495409031, 4, b".."),
            (10035324, 9223372036854775807, 8, b"a"),
        ];
        for (i, (ino, off, kind, name)) in entries.into_iter().enumerate() {
            m.put(USER + 24 * i as u64, &record(ino, off, kind, name, wide));
        }
        USER
    }

    #[test]
    fn entries_counted_like_strace() {
        let mut m = Memory::new();
        let buf = directory(&mut m, true);
        assert_eq!(
            m.line(nr::GETDENTS64, [12, buf, 4096, 0, 0, 0], Some(120)),
            "getdents64(12, 0x10000000 /* 5 entries */, 4096) = 120"
        );
        assert_eq!(
            m.line(nr::GETDENTS64, [12, buf, 4096, 0, 0, 0], Some(0)),
            "getdents64(12, 0x10000000 /* 0 entries */, 4096) = 0"
        );
        assert_eq!(
            m.line(nr::GETDENTS64, [99, buf, 4096, 0, 0, 0], Some(-9)),
            "getdents64(99, 0x10000000, 4096) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            m.line(nr::GETDENTS64, [3, buf, 30, 0, 0, 0], Some(24)),
            "getdents64(3, 0x10000000 /* 1 entries */, 30) = 24"
        );
        // Bytes left over that make no entry; a return past the count.
        assert_eq!(
            m.line(nr::GETDENTS64, [3, buf, 4096, 0, 0, 0], Some(30)),
            "getdents64(3, 0x10000000 /* 1+ entries */, 4096) = 30"
        );
        assert_eq!(
            m.line(nr::GETDENTS64, [3, buf, 24, 0, 0, 0], Some(48)),
            "getdents64(3, 0x10000000, 24) = 48"
        );
        let buf = directory(&mut m, false);
        assert_eq!(
            m.line(nr::GETDENTS, [12, buf, 4096, 0, 0, 0], Some(120)),
            "getdents(12, 0x10000000 /* 5 entries */, 4096) = 120"
        );
    }

    #[test]
    fn entries_shown_with_v() {
        let v = Style {
            verbose: true,
            ..Style::default()
        };
        let mut m = Memory::new();
        let buf = directory(&mut m, true);
        assert_eq!(
            m.line_with(&v, nr::GETDENTS64, [3, buf, 4096, 0, 0, 0], Some(120)),
            "getdents64(3, [{d_ino=10035325, d_off=2232908316014189079, d_reclen=24, d_type=DT_REG, d_name=\"bb\"}, {d_ino=10035323, d_off=6110503228574032292, d_reclen=24, d_type=DT_DIR, d_name=\".\"}, {d_ino=10035326, d_off=6357504699377170974, d_reclen=24, d_type=DT_DIR, d_name=\"sub\"}, {d_ino=10021204, d_off=7709387121495409031, d_reclen=24, d_type=DT_DIR, d_name=\"..\"}, {d_ino=10035324, d_off=9223372036854775807, d_reclen=24, d_type=DT_REG, d_name=\"a\"}], 4096) = 120"
        );
        assert_eq!(
            m.line_with(&v, nr::GETDENTS64, [3, buf, 24, 0, 0, 0], Some(24)),
            "getdents64(3, [{d_ino=10035325, d_off=2232908316014189079, d_reclen=24, d_type=DT_REG, d_name=\"bb\"}], 24) = 24"
        );
        assert_eq!(
            m.line_with(&v, nr::GETDENTS64, [3, buf, 4096, 0, 0, 0], Some(0)),
            "getdents64(3, [], 4096) = 0"
        );
        let buf = directory(&mut m, false);
        assert_eq!(
            m.line_with(&v, nr::GETDENTS, [3, buf, 48, 0, 0, 0], Some(48)),
            "getdents(3, [{d_ino=10035325, d_off=2232908316014189079, d_reclen=24, d_name=\"bb\", d_type=DT_REG}, {d_ino=10035323, d_off=6110503228574032292, d_reclen=24, d_name=\".\", d_type=DT_DIR}], 48) = 48"
        );
    }

    #[test]
    fn hostile_records_end_the_scan() {
        let mut m = Memory::new();
        // d_reclen 0 (underflow) and one past the buffer (overflow).
        let mut r = record(1, 2, 8, b"x", true);
        r[16..18].copy_from_slice(&0u16.to_le_bytes());
        let buf = m.put(USER, &r);
        assert_eq!(
            m.line(nr::GETDENTS64, [3, buf, 4096, 0, 0, 0], Some(24)),
            "getdents64(3, 0x10000000 /* d_reclen 19 bytes underflow */ /* 1+ entries */, 4096) = 24"
        );
        r[16..18].copy_from_slice(&u16::MAX.to_le_bytes());
        let buf = m.put(USER, &r);
        assert_eq!(
            m.line(nr::GETDENTS64, [3, buf, 4096, 0, 0, 0], Some(24)),
            "getdents64(3, 0x10000000 /* d_reclen 65511 bytes overflow */ /* 1 entries */, 4096) = 24"
        );
        // A return larger than the memory there: the scan stops at it.
        let l = m.line(
            nr::GETDENTS64,
            [3, USER, u32::MAX as u64, 0, 0, 0],
            Some(1 << 30),
        );
        assert!(l.starts_with("getdents64(3, 0x10000000 /* "), "{l}");
    }
}
