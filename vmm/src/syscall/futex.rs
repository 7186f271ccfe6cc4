//! futex(2) as a single-threaded process sees it: no other thread exists,
//! so a wake wakes nobody (0), a wait on a changed value fails with
//! EAGAIN, a timed wait sleeps to its timeout (ETIMEDOUT; a stop of the
//! run ends it with EINTR), and an untimed wait on an unchanged value can
//! never end: the run ends ([`Context::waits_forever`]). Checks and their
//! order are Linux's (kernel/futex/syscalls.c, waitwake.c, requeue.c):
//! the timeout first, then the bitset, the address's alignment, then its
//! value. Private and shared futexes behave alike here, except that a
//! shared wake or requeue checks that the address is mapped, as Linux's
//! get_user_pages does. The PI operations are not served (ENOSYS).

use super::linux::{self, NSEC_PER_SEC};
use super::{Context, SysResult};
use crate::stop::{self, Wake};
use crate::usermem::UserMemory;
use nix::errno::Errno;
use std::time::Duration;

/// Why an untimed wait never ends.
const NO_WAKER: &str = "with no other thread to wake it";

/// futex(uaddr, op, val, timeout or val2, uaddr2, val3).
pub fn futex(ctx: &mut Context<'_, '_>, a: &[u64; 6]) -> SysResult {
    let (uaddr, op, val) = (a[0], a[1] as u32 as i32, a[2] as u32);
    let cmd = op & libc::FUTEX_CMD_MASK;
    let shared = op & libc::FUTEX_PRIVATE_FLAG == 0;
    let realtime = op & libc::FUTEX_CLOCK_REALTIME != 0;
    let waits = matches!(cmd, libc::FUTEX_WAIT | libc::FUTEX_WAIT_BITSET);
    // The timeout is read before anything else is checked.
    let deadline = match waits {
        true => timeout(ctx.mem, cmd, realtime, a[3])?,
        false => Deadline::Never,
    };
    if realtime
        && !matches!(
            cmd,
            libc::FUTEX_WAIT_BITSET | libc::FUTEX_WAIT_REQUEUE_PI | libc::FUTEX_LOCK_PI2
        )
    {
        return Err(Errno::ENOSYS);
    }
    match cmd {
        libc::FUTEX_WAIT | libc::FUTEX_WAIT_BITSET => {
            let bitset = match cmd {
                libc::FUTEX_WAIT => libc::FUTEX_BITSET_MATCH_ANY as u32,
                _ => a[5] as u32,
            };
            wait(ctx, uaddr, val, bitset, deadline)
        }
        libc::FUTEX_WAKE | libc::FUTEX_WAKE_BITSET => {
            if cmd == libc::FUTEX_WAKE_BITSET && a[5] as u32 == 0 {
                return Err(Errno::EINVAL);
            }
            key(ctx.mem, uaddr, shared)?;
            Ok(0)
        }
        libc::FUTEX_REQUEUE | libc::FUTEX_CMP_REQUEUE => {
            let expected = (cmd == libc::FUTEX_CMP_REQUEUE).then_some(a[5] as u32);
            requeue(ctx.mem, uaddr, shared, val, a[3] as u32, a[4], expected)
        }
        libc::FUTEX_WAKE_OP => wake_op(ctx.mem, uaddr, shared, a[4], a[5] as u32),
        _ => Err(Errno::ENOSYS),
    }
}

/// When a wait ends, if ever.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    /// No timeout.
    Never,
    /// After this long.
    After(Duration),
}

/// The timeout of a wait: relative for FUTEX_WAIT, absolute on
/// CLOCK_REALTIME or CLOCK_MONOTONIC for FUTEX_WAIT_BITSET. EFAULT if it
/// cannot be read, EINVAL if it is no valid timespec.
fn timeout(mem: &UserMemory<'_>, cmd: i32, realtime: bool, addr: u64) -> Result<Deadline, Errno> {
    if addr == 0 {
        return Ok(Deadline::Never);
    }
    let mut raw = [0u8; linux::PAIR_SIZE];
    mem.read(addr, &mut raw).map_err(|_| Errno::EFAULT)?;
    let (sec, nsec) = (linux::u64_at(&raw, 0) as i64, linux::u64_at(&raw, 8) as i64);
    if sec < 0 || !(0..NSEC_PER_SEC).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    let t = Duration::new(sec as u64, nsec as u32);
    if cmd == libc::FUTEX_WAIT {
        return Ok(Deadline::After(t));
    }
    let clock = match realtime {
        true => nix::time::ClockId::CLOCK_REALTIME,
        false => nix::time::ClockId::CLOCK_MONOTONIC,
    };
    let now = nix::time::clock_gettime(clock).map_err(|_| Errno::EINVAL)?;
    let now = Duration::new(now.tv_sec().max(0) as u64, now.tv_nsec().max(0) as u32);
    Ok(Deadline::After(t.saturating_sub(now)))
}

/// The futex word's "key": EINVAL unless 4-byte aligned; for a shared
/// futex, EFAULT unless mapped.
fn key(mem: &UserMemory<'_>, uaddr: u64, shared: bool) -> Result<(), Errno> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if shared {
        read_word(mem, uaddr)?;
    }
    Ok(())
}

/// The futex word at `uaddr` (EFAULT if unmapped).
fn read_word(mem: &UserMemory<'_>, uaddr: u64) -> Result<u32, Errno> {
    let mut raw = [0u8; 4];
    mem.read(uaddr, &mut raw).map_err(|_| Errno::EFAULT)?;
    Ok(u32::from_le_bytes(raw))
}

/// FUTEX_WAIT(_BITSET): EAGAIN if the word is not `val`; else sleep to
/// the deadline (ETIMEDOUT), or for ever.
fn wait(
    ctx: &mut Context<'_, '_>,
    uaddr: u64,
    val: u32,
    bitset: u32,
    deadline: Deadline,
) -> SysResult {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if read_word(ctx.mem, uaddr)? != val {
        return Err(Errno::EAGAIN);
    }
    match deadline {
        Deadline::Never => ctx.waits_forever(NO_WAKER),
        Deadline::After(d) => match stop::wait(ctx.stop, None, Some(d)) {
            Ok(Wake::TimedOut) | Ok(Wake::Ready) => Err(Errno::ETIMEDOUT),
            Ok(Wake::Stopped) | Err(_) => Err(Errno::EINTR),
        },
    }
}

/// FUTEX_REQUEUE and FUTEX_CMP_REQUEUE (with `expected`): nobody waits, so
/// nobody is woken or moved (0), once the checks pass.
fn requeue(
    mem: &UserMemory<'_>,
    uaddr: u64,
    shared: bool,
    nr_wake: u32,
    nr_requeue: u32,
    uaddr2: u64,
    expected: Option<u32>,
) -> SysResult {
    if (nr_wake as i32) < 0 || (nr_requeue as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    key(mem, uaddr, shared)?;
    key(mem, uaddr2, shared)?;
    if let Some(expected) = expected {
        if read_word(mem, uaddr)? != expected {
            return Err(Errno::EAGAIN);
        }
    }
    Ok(0)
}

/// FUTEX_WAKE_OP: the operation on `*uaddr2` is done (the word changes, as
/// on Linux), and nobody is woken (0).
fn wake_op(mem: &UserMemory<'_>, uaddr: u64, shared: bool, uaddr2: u64, encoded: u32) -> SysResult {
    key(mem, uaddr, shared)?;
    key(mem, uaddr2, shared)?;
    let op = (encoded >> 28) & 7;
    let cmp = (encoded >> 24) & 15;
    // Sign-extended 12-bit fields.
    let mut oparg = ((encoded << 8) as i32) >> 20;
    if encoded & (libc::FUTEX_OP_OPARG_SHIFT as u32) << 28 != 0 {
        oparg = 1i32.wrapping_shl((oparg & 31) as u32);
    }
    let old = read_word(mem, uaddr2)? as i32;
    let new = match op as i32 {
        libc::FUTEX_OP_SET => oparg,
        libc::FUTEX_OP_ADD => old.wrapping_add(oparg),
        libc::FUTEX_OP_OR => old | oparg,
        libc::FUTEX_OP_ANDN => old & !oparg,
        libc::FUTEX_OP_XOR => old ^ oparg,
        _ => return Err(Errno::ENOSYS),
    };
    mem.write(uaddr2, &new.to_le_bytes())
        .map_err(|_| Errno::EFAULT)?;
    match cmp as i32 {
        libc::FUTEX_OP_CMP_EQ..=libc::FUTEX_OP_CMP_GE => Ok(0),
        _ => Err(Errno::ENOSYS),
    }
}
