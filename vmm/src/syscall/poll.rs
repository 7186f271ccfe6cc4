//! poll, ppoll, select and pselect6 over the program's descriptors, as
//! Linux answers them (fs/select.c). What an in-process descriptor can do
//! (a pipe end, a file of the view or of /proc/self) is known at once and
//! cannot change while the one thread waits; microvm's own stdin, stdout
//! and stderr (and any host pipe or device from the view) are polled on
//! the host, waking on a stop of the run. A wait with no timeout on
//! descriptors none of which can become ready waits forever
//! ([`Context::waits_forever`]). The signal masks of ppoll and pselect6
//! are checked (size, readable) and otherwise not used: no signal can
//! arrive while the call waits.

use super::fs::{Files, PollFd};
use super::linux::{self, NSEC_PER_SEC};
use super::{Context, SysResult};
use crate::stop::{self, Wake};
use nix::errno::Errno;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Why a wait never ends.
const NEVER_READY: &str = "on descriptors none of which can become ready, with no timeout";

/// Bytes of a `struct pollfd`.
const POLLFD_SIZE: usize = 8;
/// The signal set size ppoll and pselect6 accept.
const SIGSET_SIZE: u64 = 8;

/// What select's sets ask for, as poll bits (Linux's POLLIN_SET...).
const POLLIN_SET: i16 =
    libc::POLLRDNORM | libc::POLLRDBAND | libc::POLLIN | libc::POLLHUP | libc::POLLERR;
const POLLOUT_SET: i16 = libc::POLLWRBAND | libc::POLLWRNORM | libc::POLLOUT | libc::POLLERR;
const POLLEX_SET: i16 = libc::POLLPRI;

/// poll(fds, nfds, timeout in ms; negative: none).
pub fn poll(files: &Files, ctx: &mut Context<'_, '_>, fds: u64, nfds: u64, ms: u64) -> SysResult {
    let ms = ms as i32;
    let timeout = (ms >= 0).then(|| Duration::from_millis(ms as u64));
    poll_common(files, ctx, fds, nfds, timeout).map(|(n, _)| n)
}

/// ppoll(fds, nfds, timespec or NULL, sigmask or NULL, sigsetsize).
pub fn ppoll(files: &Files, ctx: &mut Context<'_, '_>, a: &[u64; 6]) -> SysResult {
    let timeout = read_timespec(ctx, a[2])?;
    // A bad mask fails before the wait, with no time written back.
    check_sigmask(ctx, a[3], a[4])?;
    let start = Instant::now();
    let r = poll_common(files, ctx, a[0], a[1], timeout).map(|(n, _)| n);
    write_left_timespec(ctx, a[2], left(timeout, start));
    r
}

/// select(nfds, readfds, writefds, exceptfds, timeval or NULL).
pub fn select(files: &Files, ctx: &mut Context<'_, '_>, a: &[u64; 6]) -> SysResult {
    let timeout = match a[4] {
        0 => None,
        addr => {
            let (sec, usec) = read_pair(ctx, addr)?;
            let (sec, usec) = (sec as i64, usec as i64);
            let sec = sec.checked_add(usec / 1_000_000).ok_or(Errno::EINVAL)?;
            let nsec = (usec % 1_000_000) * 1000;
            Some(valid(sec, nsec)?)
        }
    };
    let start = Instant::now();
    let r = select_common(files, ctx, a, timeout).map(|(n, _)| n);
    if let Some(left) = left(timeout, start) {
        let usec = u64::from(left.subsec_micros());
        let _ = ctx.mem.write(a[4], &linux::pair(left.as_secs(), usec));
    }
    r
}

/// pselect6(nfds, readfds, writefds, exceptfds, timespec or NULL,
/// {sigmask, size} or NULL).
pub fn pselect6(files: &Files, ctx: &mut Context<'_, '_>, a: &[u64; 6]) -> SysResult {
    let timeout = read_timespec(ctx, a[4])?;
    if a[5] != 0 {
        let (mask, size) = read_pair(ctx, a[5])?;
        check_sigmask(ctx, mask, size)?;
    }
    let start = Instant::now();
    let r = select_common(files, ctx, a, timeout).map(|(n, _)| n);
    write_left_timespec(ctx, a[4], left(timeout, start));
    r
}

/// The time left of a non-zero `timeout` that started at `start` (Linux
/// writes none back for a zero timeout or none).
fn left(timeout: Option<Duration>, start: Instant) -> Option<Duration> {
    timeout
        .filter(|t| !t.is_zero())
        .map(|t| t.saturating_sub(start.elapsed()))
}

fn read_pair(ctx: &Context<'_, '_>, addr: u64) -> Result<(u64, u64), Errno> {
    let mut raw = [0u8; linux::PAIR_SIZE];
    ctx.mem.read(addr, &mut raw).map_err(|_| Errno::EFAULT)?;
    Ok((linux::u64_at(&raw, 0), linux::u64_at(&raw, 8)))
}

fn valid(sec: i64, nsec: i64) -> Result<Duration, Errno> {
    if sec < 0 || !(0..NSEC_PER_SEC).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(sec as u64, nsec as u32))
}

/// A timespec timeout (NULL: none): EFAULT, EINVAL as Linux.
fn read_timespec(ctx: &Context<'_, '_>, addr: u64) -> Result<Option<Duration>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let (sec, nsec) = read_pair(ctx, addr)?;
    valid(sec as i64, nsec as i64).map(Some)
}

/// The time left, written back where the timeout was (a failure to write
/// it is ignored, as Linux ignores it).
fn write_left_timespec(ctx: &Context<'_, '_>, addr: u64, left: Option<Duration>) {
    if let Some(left) = left {
        let nsec = u64::from(left.subsec_nanos());
        let _ = ctx.mem.write(addr, &linux::pair(left.as_secs(), nsec));
    }
}

/// A signal mask argument: EINVAL unless of the kernel's size, EFAULT if
/// it cannot be read.
fn check_sigmask(ctx: &Context<'_, '_>, mask: u64, size: u64) -> Result<(), Errno> {
    if mask == 0 {
        return Ok(());
    }
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; 8];
    ctx.mem.read(mask, &mut raw).map_err(|_| Errno::EFAULT)
}

/// One descriptor being waited for.
struct Entry {
    fd: i32,
    /// What is asked (poll's events, always with POLLERR|POLLHUP).
    events: i16,
    revents: i16,
    /// Polled on the host.
    host: bool,
}

/// The readiness of every entry now (`host` entries not yet), and
/// whether any could change by waiting.
fn look(files: &Files, entries: &mut [Entry], host: &mut Vec<libc::pollfd>) {
    host.clear();
    for e in entries.iter_mut() {
        e.host = false;
        e.revents = 0;
        if e.fd < 0 {
            continue;
        }
        match files.poll_fd(e.fd) {
            PollFd::Bad => e.revents = libc::POLLNVAL,
            PollFd::Mask(m) => e.revents = m & e.events,
            PollFd::Host(fd) => {
                e.host = true;
                host.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: e.events,
                    revents: 0,
                });
            }
        }
    }
}

/// Wait for `entries` up to `timeout`: the number with events, and the
/// time left (for a timeout).
fn wait(
    files: &Files,
    ctx: &mut Context<'_, '_>,
    entries: &mut [Entry],
    timeout: Option<Duration>,
    ready: impl Fn(&[Entry]) -> u64,
) -> Result<(u64, Option<Duration>), Errno> {
    let start = Instant::now();
    let left = |timeout: Option<Duration>| timeout.map(|t| t.saturating_sub(start.elapsed()));
    let mut host = Vec::new();
    look(files, entries, &mut host);
    let now = Some(Duration::ZERO);
    let wake = if host.is_empty() {
        Wake::TimedOut
    } else {
        stop::wait_any(None, &mut host, now).map_err(|_| Errno::EINTR)?
    };
    settle(entries, &host);
    let n = ready(entries);
    if n > 0 || timeout == now || wake == Wake::Stopped {
        return Ok((n, left(timeout)));
    }
    if host.is_empty() && timeout.is_none() {
        return ctx.waits_forever(NEVER_READY).map(|_| (0, None));
    }
    match stop::wait_any(ctx.stop, &mut host, timeout) {
        Ok(Wake::Stopped) | Err(_) => Err(Errno::EINTR),
        Ok(Wake::TimedOut) => Ok((0, left(timeout).map(|_| Duration::ZERO))),
        Ok(Wake::Ready) => {
            settle(entries, &host);
            Ok((ready(entries), left(timeout)))
        }
    }
}

/// Copy the host's answers into the host entries, in order.
fn settle(entries: &mut [Entry], host: &[libc::pollfd]) {
    let mut answers = host.iter();
    for e in entries.iter_mut().filter(|e| e.host) {
        if let Some(a) = answers.next() {
            e.revents = a.revents & (e.events | libc::POLLNVAL);
        }
    }
}

/// poll and ppoll: the count ready, and the time left.
fn poll_common(
    files: &Files,
    ctx: &mut Context<'_, '_>,
    fds: u64,
    nfds: u64,
    timeout: Option<Duration>,
) -> Result<(u64, Option<Duration>), Errno> {
    let nfds = nfds as u32 as u64;
    if nfds > files.fd_limit() {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; nfds as usize * POLLFD_SIZE];
    ctx.mem.read(fds, &mut raw).map_err(|_| Errno::EFAULT)?;
    let mut entries: Vec<Entry> = raw
        .chunks_exact(POLLFD_SIZE)
        .map(|c| Entry {
            fd: i32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            events: i16::from_le_bytes([c[4], c[5]]) | libc::POLLERR | libc::POLLHUP,
            revents: 0,
            host: false,
        })
        .collect();
    let count = |es: &[Entry]| es.iter().filter(|e| e.revents != 0).count() as u64;
    let (n, left) = wait(files, ctx, &mut entries, timeout, count)?;
    for (c, e) in raw.chunks_exact_mut(POLLFD_SIZE).zip(&entries) {
        c[6..8].copy_from_slice(&e.revents.to_le_bytes());
    }
    ctx.mem.write(fds, &raw).map_err(|_| Errno::EFAULT)?;
    Ok((n, left))
}

/// select and pselect6 (sets at a[1], a[2], a[3]): the count of bits set,
/// and the time left.
fn select_common(
    files: &Files,
    ctx: &mut Context<'_, '_>,
    a: &[u64; 6],
    timeout: Option<Duration>,
) -> Result<(u64, Option<Duration>), Errno> {
    let n = a[0] as i32;
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    // Linux cuts n at the size of its fd table; ours is never larger.
    let n = (n as u64).min(files.fd_limit().max(64)) as usize;
    let bytes = n.div_ceil(64) * 8;
    let mut sets = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
    for (set, &addr) in sets.iter_mut().zip(&a[1..4]) {
        if addr != 0 {
            ctx.mem.read(addr, set).map_err(|_| Errno::EFAULT)?;
        }
    }
    let bit = |set: &[u8], fd: usize| set[fd / 8] & (1 << (fd % 8)) != 0;
    let mut entries = Vec::new();
    for fd in 0..n {
        let asked = [POLLIN_SET, POLLOUT_SET, POLLEX_SET];
        let mut events = 0;
        for (set, mask) in sets.iter().zip(asked) {
            if bit(set, fd) {
                events |= mask;
            }
        }
        if events == 0 {
            continue;
        }
        if matches!(files.poll_fd(fd as i32), PollFd::Bad) {
            return Err(Errno::EBADF);
        }
        entries.push(Entry {
            fd: fd as i32,
            events: events | libc::POLLERR | libc::POLLHUP,
            revents: 0,
            host: false,
        });
    }
    let asked = |e: &Entry, set: usize| bit(&sets[set], e.fd as usize);
    let count = |es: &[Entry]| {
        es.iter()
            .map(|e| {
                u64::from(asked(e, 0) && e.revents & POLLIN_SET != 0)
                    + u64::from(asked(e, 1) && e.revents & POLLOUT_SET != 0)
                    + u64::from(asked(e, 2) && e.revents & POLLEX_SET != 0)
            })
            .sum()
    };
    let (ready, left) = wait(files, ctx, &mut entries, timeout, count)?;
    let mut out = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
    for e in &entries {
        let fd = e.fd as usize;
        for (i, mask) in [POLLIN_SET, POLLOUT_SET, POLLEX_SET]
            .into_iter()
            .enumerate()
        {
            if bit(&sets[i], fd) && e.revents & mask != 0 {
                out[i][fd / 8] |= 1 << (fd % 8);
            }
        }
    }
    for (set, &addr) in out.iter().zip(&a[1..4]) {
        if addr != 0 {
            ctx.mem.write(addr, set).map_err(|_| Errno::EFAULT)?;
        }
    }
    Ok((ready, left))
}
