//! select and pselect6 as strace 6 shows them: the fd sets as lists
//! (`select(3, [0], [1 2], NULL, {tv_sec=0, tv_usec=100})`), the fds
//! ready in the result (`= 3 (in [0], out [1 2], left {...})`).

use super::decode::Call;
use super::format::pointer;
use super::sigargs::sigset_at;
use super::structs::{input, read};
use crate::usermem::UserMemory;
use microvm_abi::linux::syscalls::{by_nr, Arg};
use std::io::{self, Write};

/// The most fds a set is read for (strace's bound; a larger nfds is cut).
const MAX_FDS: u64 = 1024 * 1024;
/// strace builds the result in a buffer this size.
const RESULT_TEXT: usize = 1024;
/// Bytes of a set read at a time.
const CHUNK: usize = 512;

/// The fds select looks at: the first argument as an `int`, 0 when
/// negative, at most [`MAX_FDS`].
fn nfds(c: &Call<'_, '_>) -> u64 {
    u64::try_from(c.args[0] as i32).unwrap_or(0).min(MAX_FDS)
}

/// The bytes a set of `nfds` bits takes, in whole words.
fn set_size(nfds: u64) -> u64 {
    nfds.div_ceil(8).div_ceil(8) * 8
}

/// Calls `each` with the fds below `nfds` set in the set at `addr`, or
/// returns false (calling nothing) when the set cannot all be read.
fn each_fd(
    mem: &UserMemory<'_>,
    addr: u64,
    nfds: u64,
    mut each: impl FnMut(u64) -> io::Result<bool>,
) -> io::Result<bool> {
    let size = set_size(nfds);
    let Some(_) = addr.checked_add(size) else {
        return Ok(false);
    };
    let mut buf = [0u8; CHUNK];
    // Like strace's umoven: all of it, or nothing.
    let mut off = 0;
    while off < size {
        let n = (size - off).min(CHUNK as u64) as usize;
        if mem.read(addr + off, &mut buf[..n]).is_err() {
            return Ok(false);
        }
        off += n as u64;
    }
    let mut off = 0;
    while off < size {
        let n = (size - off).min(CHUNK as u64) as usize;
        if mem.read(addr + off, &mut buf[..n]).is_err() {
            return Ok(false);
        }
        for (i, byte) in buf[..n].iter().enumerate() {
            for bit in 0..8 {
                let fd = (off + i as u64) * 8 + bit;
                if fd < nfds && byte & (1 << bit) != 0 && !each(fd)? {
                    return Ok(true);
                }
            }
        }
        off += n as u64;
    }
    Ok(true)
}

/// The three sets (arguments 1 to 3), as the caller passed them.
pub fn sets(out: &mut impl Write, c: &Call<'_, '_>) -> io::Result<()> {
    let nfds = nfds(c);
    for i in 1..=3 {
        if i > 1 {
            out.write_all(b", ")?;
        }
        let addr = c.args[i];
        if addr == 0 || set_size(nfds) == 0 {
            pointer(out, addr)?;
            continue;
        }
        let mut list = Vec::new();
        let mut first = true;
        let readable = each_fd(c.mem, addr, nfds, |fd| {
            if !first {
                list.push(b' ');
            }
            first = false;
            c.fd(&mut list, fd)?;
            Ok(true)
        })?;
        if readable {
            out.write_all(b"[")?;
            out.write_all(&list)?;
            out.write_all(b"]")?;
        } else {
            pointer(out, addr)?;
        }
    }
    Ok(())
}

/// pselect6's last argument: `{sigmask=[USR1], sigsetsize=8}`.
pub fn sigmask_size(out: &mut impl Write, c: &Call<'_, '_>, addr: u64) -> io::Result<()> {
    let Some(b) = (addr != 0).then(|| read::<16>(c.mem, addr)).flatten() else {
        return pointer(out, addr);
    };
    let mask = u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
    let size = u64::from_le_bytes(b[8..].try_into().unwrap_or_default());
    out.write_all(b"{sigmask=")?;
    sigset_at(out, c.mem, mask, size, 8)?;
    write!(out, ", sigsetsize={size}}}")
}

/// `= 0 (Timeout)`, or `= N (in [0], out [1 2], left {...})`.
pub fn result(out: &mut impl Write, c: &Call<'_, '_>, r: i64) -> io::Result<()> {
    write!(out, "= {r}")?;
    if r == 0 {
        return out.write_all(b" (Timeout)");
    }
    let nfds = nfds(c);
    let mut ready = r as i32;
    let mut text: Vec<u8> = Vec::with_capacity(RESULT_TEXT);
    let mut sep: &[u8] = b"";
    // strace stops adding fds this close to the end of its buffer.
    let room = RESULT_TEXT - (", except [".len() + 1 + 4 * 3 + 2);
    for (i, name) in ["in", "out", "except"].iter().enumerate() {
        if ready <= 0 {
            break;
        }
        let addr = c.args[i + 1];
        if addr == 0 || set_size(nfds) == 0 {
            continue;
        }
        let mut first = true;
        let read = each_fd(c.mem, addr, nfds, |fd| {
            if text.len() < room {
                if first {
                    text.extend_from_slice(sep);
                    write!(text, "{name} [{fd}")?;
                    first = false;
                    sep = b", ";
                } else {
                    write!(text, " {fd}")?;
                }
            }
            ready -= 1;
            Ok(ready != 0)
        })?;
        if read && !text.is_empty() {
            text.push(b']');
        }
    }
    let ts = c.args[4];
    if ts != 0 {
        let kind = by_nr(c.nr).and_then(|row| match row.args.get(4) {
            Some(&Arg::In(kind)) => Some(kind),
            _ => None,
        });
        let mut left = Vec::new();
        match kind {
            Some(kind) => input(&mut left, c, kind, ts)?,
            None => pointer(&mut left, ts)?,
        }
        if text.len() + "left ".len() + 1 + sep.len() + left.len() < RESULT_TEXT {
            text.extend_from_slice(sep);
            text.extend_from_slice(b"left ");
            text.extend_from_slice(&left);
        }
    }
    write!(out, " (")?;
    out.write_all(&text)?;
    out.write_all(b")")
}

#[cfg(test)]
mod tests {
    use crate::syscall::linux::pair;
    use crate::trace::testing::{Memory, USER};
    use microvm_abi::linux::nr;

    fn set(fds: &[u64]) -> [u8; 128] {
        let mut b = [0u8; 128];
        for &fd in fds {
            b[(fd / 8) as usize] |= 1 << (fd % 8);
        }
        b
    }

    #[test]
    fn select_lines_like_strace() {
        let mut m = Memory::new();
        let r = m.put(USER, &set(&[0]));
        let w = m.put(USER + 0x100, &set(&[1, 2]));
        let tv = m.put(USER + 0x200, &pair(0, 100));
        assert_eq!(
            m.line(nr::SELECT, [3, r, w, 0, tv, 0], Some(3)),
            "select(3, [0], [1 2], NULL, {tv_sec=0, tv_usec=100}) = 3 (in [0], out [1 2], left {tv_sec=0, tv_usec=100})"
        );
        assert_eq!(
            m.line(nr::SELECT, [3, r, w, 0, tv, 0], Some(-38)),
            "select(3, [0], [1 2], NULL, {tv_sec=0, tv_usec=100}) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            m.line(nr::SELECT, [0, 0, 0, 0, tv, 0], Some(0)),
            "select(0, NULL, NULL, NULL, {tv_sec=0, tv_usec=100}) = 0 (Timeout)"
        );
        assert_eq!(
            m.line(nr::SELECT, [3, 0x10, 0, 0, 0, 0], Some(-14)),
            "select(3, 0x10, NULL, NULL, NULL) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            m.line(nr::SELECT, [u64::MAX, 0, 0, 0, 0, 0], Some(-22)),
            "select(-1, NULL, NULL, NULL, NULL) = -1 EINVAL (Invalid argument)"
        );
        // An nfds past the memory there: the set is not readable whole.
        assert_eq!(
            m.line(nr::SELECT, [i32::MAX as u64, r, 0, 0, 0, 0], Some(-22)),
            "select(2147483647, 0x10000000, NULL, NULL, NULL) = -1 EINVAL (Invalid argument)"
        );
    }

    #[test]
    fn pselect6_lines_like_strace() {
        let mut m = Memory::new();
        let w = m.put(USER, &set(&[1]));
        let ts = m.put(USER + 0x100, &pair(0, 1000));
        let mask = m.put(USER + 0x200, &(1u64 << 9).to_le_bytes());
        let mut sas = [0u8; 16];
        sas[..8].copy_from_slice(&mask.to_le_bytes());
        sas[8..].copy_from_slice(&8u64.to_le_bytes());
        let sas = m.put(USER + 0x300, &sas);
        assert_eq!(
            m.line(nr::PSELECT6, [2, 0, w, 0, ts, sas], Some(1)),
            "pselect6(2, NULL, [1], NULL, {tv_sec=0, tv_nsec=1000}, {sigmask=[USR1], sigsetsize=8}) = 1 (out [1], left {tv_sec=0, tv_nsec=1000})"
        );
        let mut null = [0u8; 16];
        null[8] = 8;
        let null = m.put(USER + 0x400, &null);
        assert_eq!(
            m.line(nr::PSELECT6, [2, 0, w, 0, 0, null], Some(1)),
            "pselect6(2, NULL, [1], NULL, NULL, {sigmask=NULL, sigsetsize=8}) = 1 (out [1])"
        );
        assert_eq!(
            m.line(nr::PSELECT6, [2, 0, w, 0, 0, 0], Some(1)),
            "pselect6(2, NULL, [1], NULL, NULL, NULL) = 1 (out [1])"
        );
    }
}
