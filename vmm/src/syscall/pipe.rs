//! Pipes inside the one process (pipe, pipe2): a ring buffer of at most
//! the pipe's capacity (64 KiB, Linux's default; F_SETPIPE_SZ changes it
//! up to /proc/sys/fs/pipe-max-size's default, 1 MiB), shared by its read
//! and write ends. No other process or thread exists, so a blocking read
//! of an empty pipe whose write end is still open, or a blocking write to
//! a full one, can never end: the run ends ([`Context::waits_forever`]).

use super::{Context, SysResult};
use nix::errno::Errno;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Linux's default pipe capacity (16 pages).
pub const DEFAULT_CAPACITY: usize = 16 * 4096;
/// /proc/sys/fs/pipe-max-size's default: F_SETPIPE_SZ above it is EPERM.
pub const MAX_CAPACITY: usize = 1 << 20;
/// The capacity all pipes may have together (Linux's pipe-user-pages-soft
/// default, 16384 pages): past it, a new pipe gets [`MIN_CAPACITY`] and
/// F_SETPIPE_SZ may not grow one (EPERM), as for an unprivileged user. This
/// bounds the host memory a program's pipes can hold.
pub const TOTAL_CAPACITY: usize = 16384 * 4096;
/// A pipe's capacity once [`TOTAL_CAPACITY`] is reached (2 pages).
const MIN_CAPACITY: usize = 2 * 4096;
/// The capacity of all live pipes of one process (its fd table's).
pub type Account = std::sync::Arc<AtomicU64>;

/// Writes of at most this many bytes are atomic.
const PIPE_BUF: usize = libc::PIPE_BUF;
/// A page.
const PAGE: usize = 4096;

/// Why a read never ends.
pub const EMPTY: &str = "on an empty pipe whose write end only this process holds";
/// Why a write never ends.
pub const FULL: &str = "on a full pipe that only this process reads";

/// One pipe.
#[derive(Debug)]
pub struct Pipe {
    /// Its inode number, as `pipe:[N]` shows it.
    pub ino: u64,
    state: Mutex<State>,
    account: Account,
}

#[derive(Debug)]
struct State {
    bytes: VecDeque<u8>,
    capacity: usize,
    readers: usize,
    writers: usize,
}

/// One end of a pipe: the open file description of its read or write
/// side. Dropping it (the last fd closed) closes that side.
#[derive(Debug)]
pub struct End {
    /// The pipe.
    pub pipe: std::sync::Arc<Pipe>,
    /// The write end (else the read end).
    pub write: bool,
}

impl Drop for End {
    fn drop(&mut self) {
        let mut s = self.pipe.lock();
        if self.write {
            s.writers -= 1;
        } else {
            s.readers -= 1;
        }
    }
}

impl Pipe {
    /// A new pipe's two ends (read, write), its capacity counted in
    /// `account`.
    pub fn open(account: &Account) -> (End, End) {
        static NEXT_INO: AtomicU64 = AtomicU64::new(0x1000);
        let capacity = match over_soft_limit(account, 0, DEFAULT_CAPACITY) {
            true => MIN_CAPACITY,
            false => DEFAULT_CAPACITY,
        };
        account.fetch_add(capacity as u64, Ordering::Relaxed);
        let pipe = std::sync::Arc::new(Pipe {
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            state: Mutex::new(State {
                bytes: VecDeque::new(),
                capacity,
                readers: 1,
                writers: 1,
            }),
            account: std::sync::Arc::clone(account),
        });
        let read = End {
            pipe: std::sync::Arc::clone(&pipe),
            write: false,
        };
        (read, End { pipe, write: true })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while it is held: a poisoned lock is still whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes waiting to be read.
    pub fn len(&self) -> usize {
        self.lock().bytes.len()
    }

    /// True when nothing waits to be read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for this many more bytes.
    pub fn room(&self) -> usize {
        let s = self.lock();
        s.capacity.saturating_sub(s.bytes.len())
    }

    /// True while some write end is open.
    pub fn has_writers(&self) -> bool {
        self.lock().writers > 0
    }

    /// True while some read end is open.
    pub fn has_readers(&self) -> bool {
        self.lock().readers > 0
    }

    /// The capacity, F_GETPIPE_SZ.
    pub fn capacity(&self) -> u64 {
        self.lock().capacity as u64
    }

    /// F_SETPIPE_SZ: the size rounded up to a power of two pages (EINVAL
    /// past 2^31, EPERM past [`MAX_CAPACITY`], EBUSY below what the pipe
    /// holds); the new capacity.
    pub fn set_capacity(&self, arg: u64) -> SysResult {
        let size = arg as u32 as usize;
        if size > 1 << 31 {
            return Err(Errno::EINVAL);
        }
        let size = size.max(PAGE).next_power_of_two();
        if size > MAX_CAPACITY {
            return Err(Errno::EPERM);
        }
        let mut s = self.lock();
        if size > s.capacity && over_soft_limit(&self.account, s.capacity, size) {
            return Err(Errno::EPERM);
        }
        if s.bytes.len().div_ceil(PAGE) > size / PAGE {
            return Err(Errno::EBUSY);
        }
        self.account.fetch_add(size as u64, Ordering::Relaxed);
        self.account.fetch_sub(s.capacity as u64, Ordering::Relaxed);
        s.capacity = size;
        Ok(size as u64)
    }

    /// Take up to `out.len()` bytes.
    pub fn take(&self, out: &mut [u8]) -> usize {
        let mut s = self.lock();
        let n = out.len().min(s.bytes.len());
        for (o, b) in out.iter_mut().zip(s.bytes.drain(..n)) {
            *o = b;
        }
        n
    }

    /// Put what fits of `bytes`; how many.
    pub fn put(&self, bytes: &[u8]) -> usize {
        let mut s = self.lock();
        let n = bytes.len().min(s.capacity.saturating_sub(s.bytes.len()));
        s.bytes.extend(&bytes[..n]);
        n
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let capacity = self.lock().capacity as u64;
        self.account.fetch_sub(capacity, Ordering::Relaxed);
    }
}

/// True when replacing a capacity of `old` with `new` bytes would pass
/// [`TOTAL_CAPACITY`] (Linux's too_many_pipe_buffers_soft).
fn over_soft_limit(account: &Account, old: usize, new: usize) -> bool {
    let total = account.load(Ordering::Relaxed) as usize;
    total.saturating_sub(old).saturating_add(new) > TOTAL_CAPACITY
}

/// What a read of `want` bytes from `pipe` may do now: `Ok(n)` to take up
/// to n bytes (0: end of file), or the error, or waiting for ever.
pub fn readable(ctx: &mut Context<'_, '_>, pipe: &Pipe, want: u64, nonblocking: bool) -> SysResult {
    if want == 0 {
        return Ok(0);
    }
    let len = pipe.len() as u64;
    if len > 0 {
        return Ok(len.min(want));
    }
    if !pipe.has_writers() {
        return Ok(0);
    }
    if nonblocking {
        return Err(Errno::EAGAIN);
    }
    ctx.waits_forever(EMPTY)
}

/// What a write of `len` bytes to `pipe` may do now: `Ok(n)` to put n
/// bytes (a write of at most PIPE_BUF bytes all or nothing), EPIPE with no
/// reader, EAGAIN when nothing fits without blocking. `Err` with
/// [`Context::waits_forever`] set when a blocking write cannot be done
/// whole: what fits is put first (`put_first`), as Linux's blocked write
/// leaves it in the pipe.
pub fn writable(pipe: &Pipe, len: u64, nonblocking: bool) -> Writable {
    if len == 0 {
        return Writable::Now(0);
    }
    if !pipe.has_readers() {
        return Writable::Fail(Errno::EPIPE);
    }
    let room = pipe.room() as u64;
    let atomic = len <= PIPE_BUF as u64;
    match (room >= len, atomic, nonblocking) {
        (true, _, _) => Writable::Now(len),
        (false, true, true) => Writable::Fail(Errno::EAGAIN),
        (false, false, true) if room == 0 => Writable::Fail(Errno::EAGAIN),
        (false, false, true) => Writable::Now(room),
        (false, true, false) => Writable::Forever(0),
        (false, false, false) => Writable::Forever(room),
    }
}

/// What a write to a pipe does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writable {
    /// Put this many bytes and return.
    Now(u64),
    /// Fail.
    Fail(Errno),
    /// Put this many bytes, then wait for ever.
    Forever(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_pipes_together_hold_at_most_the_soft_limit() {
        let account = Account::default();
        let mut pipes = Vec::new();
        for _ in 0..TOTAL_CAPACITY / DEFAULT_CAPACITY + 4 {
            pipes.push(Pipe::open(&account));
        }
        // Past the limit: the small capacity, and no growing.
        let (r, _w) = pipes.last().unwrap();
        assert_eq!(r.pipe.capacity(), MIN_CAPACITY as u64);
        assert_eq!(r.pipe.set_capacity(1 << 20), Err(Errno::EPERM));
        assert_eq!(
            account.load(Ordering::Relaxed) as usize,
            TOTAL_CAPACITY + 4 * MIN_CAPACITY
        );
        pipes.clear();
        assert_eq!(account.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_pipe_holds_its_capacity_and_counts_its_ends() {
        let (r, w) = Pipe::open(&Account::default());
        let p = std::sync::Arc::clone(&r.pipe);
        assert_eq!(p.capacity(), 65536);
        let big = vec![7u8; 70000];
        assert_eq!(p.put(&big), 65536);
        assert_eq!(writable(&p, 1, true), Writable::Fail(Errno::EAGAIN));
        assert_eq!(writable(&p, 5000, true), Writable::Fail(Errno::EAGAIN));
        assert_eq!(writable(&p, 1, false), Writable::Forever(0));
        let mut out = [0u8; 10];
        assert_eq!(p.take(&mut out), 10);
        assert_eq!(writable(&p, 5000, true), Writable::Now(10));
        assert_eq!(writable(&p, 4096, true), Writable::Fail(Errno::EAGAIN));
        assert_eq!(p.set_capacity(4096), Err(Errno::EBUSY));
        assert_eq!(p.set_capacity(100000), Ok(131072));
        assert_eq!(p.set_capacity(2 << 20), Err(Errno::EPERM));
        assert_eq!(p.set_capacity(u64::MAX), Err(Errno::EINVAL));
        assert_eq!(p.set_capacity((1 << 31) + 1), Err(Errno::EINVAL));
        drop(r);
        assert_eq!(writable(&p, 1, false), Writable::Fail(Errno::EPIPE));
        assert!(p.has_writers());
        drop(w);
        assert!(!p.has_writers());
    }
}
