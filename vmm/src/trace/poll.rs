//! poll and ppoll as strace 6 shows them: the fds and the events asked for
//! in the arguments, the events that came in the result:
//! `poll([{fd=0, events=POLLIN}], 1, 0) = 1 ([{fd=0, revents=POLLIN}])`.

use super::decode::Call;
use super::format::pointer;
use super::structs::{array, flags_or_unknown, read, timespec_fields};
use microvm_abi::linux::consts::POLLFLAGS;
use std::io::{self, Write};
use std::mem::{offset_of, size_of};

/// The size of `struct pollfd`.
const POLLFD: usize = size_of::<libc::pollfd>();

/// strace builds the result's text in a buffer this size and ends it with
/// `...` when the next entry would not fit.
const RESULT_TEXT: usize = 1024;

/// The most entries the result looks at (the kernel takes at most
/// RLIMIT_NOFILE; this bounds a guest's absurd count).
const MAX_SCANNED: u64 = 1 << 16;

/// The fields of one `struct pollfd`.
fn fields(b: &[u8; POLLFD]) -> (i32, u16, u16) {
    let fd = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let half = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    (
        fd,
        half(offset_of!(libc::pollfd, events)),
        half(offset_of!(libc::pollfd, revents)),
    )
}

/// `[{fd=0, events=POLLIN}, {fd=-1}]`: the array of `count` entries at
/// `addr`, as the caller passed it.
pub fn fds(out: &mut impl Write, c: &Call<'_, '_>, addr: u64, count: u64) -> io::Result<()> {
    array(
        out,
        c,
        addr,
        count as u32 as u64,
        |out, b: &[u8; POLLFD]| {
            let (fd, events, _) = fields(b);
            out.write_all(b"{fd=")?;
            c.fd(out, fd as u32 as u64)?;
            if fd >= 0 {
                out.write_all(b", events=")?;
                flags_or_unknown(out, &POLLFLAGS, u64::from(events), "POLL???")?;
            }
            out.write_all(b"}")
        },
    )
}

/// The result of poll (`left` false) or ppoll: `= 0 (Timeout)`, or the
/// entries with events and, for ppoll, the time left.
pub fn result(out: &mut impl Write, c: &Call<'_, '_>, r: i64, left: bool) -> io::Result<()> {
    write!(out, "= {r}")?;
    if r == 0 {
        return out.write_all(b" (Timeout)");
    }
    let mut text = Vec::with_capacity(RESULT_TEXT);
    revents(&mut text, c)?;
    let ts = c.args[2];
    if left && ts != 0 {
        let mut t = Vec::new();
        match read::<16>(c.mem, ts) {
            Some(b) => timespec_fields(&mut t, &b)?,
            None => pointer(&mut t, ts)?,
        }
        if text.len() + ", left ".len() + 1 + t.len() < RESULT_TEXT {
            text.extend_from_slice(if text.is_empty() {
                b"left "
            } else {
                b", left "
            });
            text.extend_from_slice(&t);
        } else {
            text.extend_from_slice(b", ...");
        }
    }
    if text.is_empty() {
        return Ok(());
    }
    out.write_all(b" (")?;
    out.write_all(&text)?;
    out.write_all(b")")
}

/// `[{fd=0, revents=POLLIN}, ...]`: the entries whose revents are set,
/// at most `-s` of them unless `-v`.
fn revents(text: &mut Vec<u8>, c: &Call<'_, '_>) -> io::Result<()> {
    let (start, nfds) = (c.args[0], c.args[1] as u32 as u64);
    let Some(end) = nfds
        .checked_mul(POLLFD as u64)
        .and_then(|size| start.checked_add(size))
    else {
        return Ok(());
    };
    if start == 0 || nfds == 0 {
        return Ok(());
    }
    let max_printed = if c.style.verbose {
        u64::MAX
    } else {
        c.style.string_limit as u64
    };
    let mut printed = 0u64;
    let open = |text: &mut Vec<u8>| {
        text.extend_from_slice(if text.is_empty() { b"[" } else { b", " });
    };
    for i in 0..nfds.min(MAX_SCANNED) {
        let cur = start + i * POLLFD as u64;
        if cur >= end {
            break;
        }
        let Some(b) = read::<POLLFD>(c.mem, cur) else {
            open(text);
            write!(text, "{cur:#x}")?;
            break;
        };
        let (fd, _, rev) = fields(&b);
        if rev == 0 {
            continue;
        }
        open(text);
        if printed >= max_printed {
            text.extend_from_slice(b"...");
            break;
        }
        let mut entry = Vec::new();
        write!(entry, "{{fd={fd}, revents=")?;
        super::format::bits(&mut entry, &POLLFLAGS, u64::from(rev), "0")?;
        entry.push(b'}');
        // strace keeps room for a pointer and the closing text.
        if text.len() + entry.len() >= RESULT_TEXT - (2 + 16 + ", ], ...".len() + 1) {
            text.extend_from_slice(b"...");
            break;
        }
        text.extend_from_slice(&entry);
        printed += 1;
    }
    if !text.is_empty() {
        text.push(b']');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::trace::style::Style;
    use crate::trace::testing::{Memory, PAGES, USER};
    use microvm_abi::layout::PAGE_SIZE;
    use microvm_abi::linux::nr;

    fn pollfd(fd: i32, events: u16, revents: u16) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&fd.to_le_bytes());
        b[4..6].copy_from_slice(&events.to_le_bytes());
        b[6..].copy_from_slice(&revents.to_le_bytes());
        b
    }

    #[test]
    fn poll_lines_like_strace() {
        let mut m = Memory::new();
        let p = m.put(USER, &pollfd(0, 1, 1));
        m.put(USER + 8, &pollfd(5, 5, 0x20));
        m.put(USER + 16, &pollfd(-1, 1, 0));
        assert_eq!(
            m.line(nr::POLL, [p, 1, 0, 0, 0, 0], Some(1)),
            "poll([{fd=0, events=POLLIN}], 1, 0) = 1 ([{fd=0, revents=POLLIN}])"
        );
        assert_eq!(
            m.line(nr::POLL, [p, 3, 10, 0, 0, 0], Some(2)),
            "poll([{fd=0, events=POLLIN}, {fd=5, events=POLLIN|POLLOUT}, {fd=-1}], 3, 10) = 2 ([{fd=0, revents=POLLIN}, {fd=5, revents=POLLNVAL}])"
        );
        assert_eq!(
            m.line(nr::POLL, [0, 0, 1, 0, 0, 0], Some(0)),
            "poll(NULL, 0, 1) = 0 (Timeout)"
        );
        assert_eq!(
            m.line(nr::POLL, [0x10, 1, 0, 0, 0, 0], Some(-14)),
            "poll(0x10, 1, 0) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            m.line(nr::POLL, [p, 1, u64::MAX, 0, 0, 0], Some(-38)),
            "poll([{fd=0, events=POLLIN}], 1, -1) = -1 ENOSYS (Function not implemented)"
        );
    }

    #[test]
    fn ppoll_shows_the_time_left() {
        let mut m = Memory::new();
        let p = m.put(USER, &pollfd(0, 1, 1));
        m.put(USER + 8, &pollfd(5, 5, 0x20));
        m.put(USER + 16, &pollfd(-1, 1, 0));
        let ts = m.put(USER + 0x100, &crate::syscall::linux::pair(0, 299));
        let set = m.put(USER + 0x200, &(1u64 << 9).to_le_bytes());
        assert_eq!(
            m.line(nr::PPOLL, [p, 3, ts, set, 8, 0], Some(2)),
            "ppoll([{fd=0, events=POLLIN}, {fd=5, events=POLLIN|POLLOUT}, {fd=-1}], 3, {tv_sec=0, tv_nsec=299}, [USR1], 8) = 2 ([{fd=0, revents=POLLIN}, {fd=5, revents=POLLNVAL}], left {tv_sec=0, tv_nsec=299})"
        );
        assert_eq!(
            m.line(nr::PPOLL, [p, 1, 0, 0, 8, 0], Some(1)),
            "ppoll([{fd=0, events=POLLIN}], 1, NULL, NULL, 8) = 1 ([{fd=0, revents=POLLIN}])"
        );
        assert_eq!(
            m.line(nr::PPOLL, [p, 1, ts, 0, 8, 0], Some(0)),
            "ppoll([{fd=0, events=POLLIN}], 1, {tv_sec=0, tv_nsec=299}, NULL, 8) = 0 (Timeout)"
        );
    }

    #[test]
    fn fds_with_paths_under_y() {
        struct Null;
        impl crate::trace::style::FdPaths for Null {
            fn path(&self, fd: i32) -> Option<&[u8]> {
                (fd == 0).then_some(&b"/dev/null"[..])
            }
        }
        let mut m = Memory::new();
        let p = m.put(USER, &pollfd(0, 1, 1));
        m.put(USER + 8, &pollfd(7, 1, 0));
        let null = Null;
        assert_eq!(
            m.line_with_fds(&null, nr::POLL, [p, 2, 0, 0, 0, 0], Some(1)),
            "poll([{fd=0</dev/null>, events=POLLIN}, {fd=7, events=POLLIN}], 2, 0) = 1 ([{fd=0, revents=POLLIN}])"
        );
    }

    #[test]
    fn arrays_cut_like_strace() {
        let mut m = Memory::new();
        // Two entries at the end of the last page, a third past it.
        let last = USER + PAGES * PAGE_SIZE - 16;
        m.put(last, &pollfd(0, 1, 0));
        m.put(last + 8, &pollfd(1, 4, 0));
        assert_eq!(
            m.line(nr::POLL, [last, 3, 0, 0, 0, 0], Some(-14)),
            format!(
                "poll([{{fd=0, events=POLLIN}}, {{fd=1, events=POLLOUT}}, ... /* {:#x} */], 3, 0) = -1 EFAULT (Bad address)",
                last + 16
            )
        );
        // Six entries, -s 3: three shown, in the result too.
        for i in 0..6u64 {
            m.put(
                USER + 8 * i,
                &pollfd(i as i32 % 3, 4, if i % 3 == 0 { 0 } else { 4 }),
            );
        }
        let s3 = Style {
            string_limit: 3,
            ..Style::default()
        };
        assert_eq!(
            m.line_with(&s3, nr::POLL, [USER, 6, 0, 0, 0, 0], Some(4)),
            "poll([{fd=0, events=POLLOUT}, {fd=1, events=POLLOUT}, {fd=2, events=POLLOUT}, ...], 6, 0) = 4 ([{fd=1, revents=POLLOUT}, {fd=2, revents=POLLOUT}, {fd=1, revents=POLLOUT}, ...])"
        );
        let v = Style {
            string_limit: 3,
            verbose: true,
            ..Style::default()
        };
        assert!(m
            .line_with(&v, nr::POLL, [USER, 6, 0, 0, 0, 0], Some(4))
            .ends_with("{fd=2, events=POLLOUT}], 6, 0) = 4 ([{fd=1, revents=POLLOUT}, {fd=2, revents=POLLOUT}, {fd=1, revents=POLLOUT}, {fd=2, revents=POLLOUT}])"));
        // A hostile count: bounded, and the address arithmetic cannot wrap.
        let l = m.line(nr::POLL, [USER, u64::MAX, 0, 0, 0, 0], Some(1));
        assert!(l.starts_with("poll([{fd=0, events=POLLOUT}, "), "{l}");
        assert!(l.contains(", ...], 4294967295, 0) = 1 (["), "{l}");
        assert_eq!(
            m.line(nr::POLL, [u64::MAX - 8, 2, 0, 0, 0, 0], Some(1)),
            "poll(0xfffffffffffffff7, 2, 0) = 1"
        );
    }
}
