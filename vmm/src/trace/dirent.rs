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
