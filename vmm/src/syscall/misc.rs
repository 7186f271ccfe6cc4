//! The system, time, randomness and limits: uname, getrandom, the clocks
//! and sleeps, CPU affinity, resource limits, and the thread set-up calls
//! a C library makes at start-up.
//!
//! Clocks are the host's. Sleeps sleep on the host, waking early (with
//! EINTR) when the run is stopped, so that `--timeout` and Ctrl-C stop a
//! sleeping guest at once. The guest has one CPU.

use super::linux::{self, grnd, utsname, PAIR_SIZE, RLIMIT_NOFILE, RLIMIT_STACK, RLIM_INFINITY};
use super::{nr, Context, SysResult, GUEST_PID, MAX_RW_COUNT};
use crate::stop::{self, Wake};
use crate::usermem::UserMemory;
use nix::errno::Errno;
use nix::sys::time::TimeSpec;
use nix::time::ClockId;
use std::time::{Duration, Instant};

/// The guest's node name.
pub const NODENAME: &str = "microvm";

/// Bytes a `struct robust_list_head` has (set_robust_list checks it).
const ROBUST_LIST_HEAD_SIZE: u64 = 24;

/// An address in the page at 0, which is never mapped: what getrlimit
/// and setrlimit read or write for NULL, so that it faults as on Linux.
const NULL_PAGE_ADDR: u64 = 1;

/// Bytes of the one CPU's affinity mask (one unsigned long).
const CPU_MASK_SIZE: u64 = 8;

/// The program's resource limits, name and start.
#[derive(Debug, Clone)]
pub struct Misc {
    /// (soft, hard) per RLIMIT_*.
    limits: [(u64, u64); linux::RLIMIT_NAMES.len()],
    /// The name prctl(PR_GET_NAME) tells (Linux's `comm`): at most
    /// TASK_COMM_LEN - 1 bytes, no NUL.
    comm: Vec<u8>,
    /// When the guest's machine started (sysinfo's uptime counts from it).
    started: Instant,
    /// The rseq area the program registered.
    rseq: super::rseq::Rseq,
}

/// The bytes of a task's name with its NUL (Linux's TASK_COMM_LEN, which
/// the UAPI headers do not export).
pub const TASK_COMM_LEN: usize = 16;

/// `struct sysinfo` on x86-64.
const SYSINFO_SIZE: usize = std::mem::size_of::<libc::sysinfo>();
const _: () = assert!(SYSINFO_SIZE == 112);

impl Default for Misc {
    fn default() -> Self {
        let mut limits = [(RLIM_INFINITY, RLIM_INFINITY); linux::RLIMIT_NAMES.len()];
        // The stack the loader maps cannot grow.
        let stack = microvm_abi::layout::USER_STACK_SIZE;
        limits[RLIMIT_STACK as usize] = (stack, stack);
        let fds = super::fs::MAX_FDS;
        limits[RLIMIT_NOFILE as usize] = (fds, fds);
        Misc {
            limits,
            comm: Vec::new(),
            started: Instant::now(),
            rseq: super::rseq::Rseq::default(),
        }
    }
}

/// A guest pid that names the program itself (0 or its own pid).
fn is_self(pid: u64) -> bool {
    matches!(pid as libc::pid_t, 0 | GUEST_PID)
}

/// Read the two words at `addr` (a timespec, rlimit...).
fn read_pair(mem: &UserMemory<'_>, addr: u64) -> Result<(u64, u64), Errno> {
    let mut raw = [0u8; PAIR_SIZE];
    mem.read(addr, &mut raw).map_err(|_| Errno::EFAULT)?;
    Ok((linux::u64_at(&raw, 0), linux::u64_at(&raw, 8)))
}

/// Write two words at `addr`.
fn write_pair(mem: &UserMemory<'_>, addr: u64, a: u64, b: u64) -> Result<(), Errno> {
    mem.write(addr, &linux::pair(a, b))
        .map_err(|_| Errno::EFAULT)
}

/// A guest timespec as a duration: EINVAL unless 0 <= tv_nsec < 1e9 and
/// tv_sec >= 0.
fn duration(sec: u64, nsec: u64) -> Result<Duration, Errno> {
    let (sec, nsec) = (sec as i64, nsec as i64);
    if sec < 0 || !(0..linux::NSEC_PER_SEC).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(sec as u64, nsec as u32))
}

/// The host's time on `clock`.
fn now(clock: u64) -> Result<TimeSpec, Errno> {
    let id = clock_id(clock)?;
    nix::time::clock_gettime(id)
}

/// A clock the guest may read: one of Linux's static clock ids.
fn clock_id(clock: u64) -> Result<ClockId, Errno> {
    let clock = clock as i32;
    match usize::try_from(clock)
        .ok()
        .and_then(|i| linux::CLOCK_NAMES.get(i))
    {
        Some(Some(_)) => Ok(ClockId::from_raw(clock)),
        _ => Err(Errno::EINVAL),
    }
}

impl Misc {
    /// RLIMIT_NOFILE's soft limit.
    pub fn fd_limit(&self) -> u64 {
        self.limits[RLIMIT_NOFILE as usize].0
    }

    /// The program's name (Linux's `comm`), as prctl(PR_SET_NAME) left it.
    pub fn comm(&self) -> &[u8] {
        &self.comm
    }

    /// Name the program `comm` (its first TASK_COMM_LEN - 1 bytes).
    pub fn set_comm(&mut self, comm: &[u8]) {
        self.comm = comm[..comm.len().min(TASK_COMM_LEN - 1)].to_vec();
    }

    /// Serve `nr`; `None` if it is not one of these.
    pub fn handle(
        &mut self,
        nr: u64,
        a: &[u64; 6],
        ctx: &mut Context<'_, '_>,
    ) -> Option<SysResult> {
        Some(match nr {
            nr::UNAME => uname(ctx, a[0]),
            nr::SYSINFO => self.sysinfo(ctx, a[0]),
            nr::PRCTL => return self.prctl(ctx, a[0], a[1]),
            nr::GETRANDOM => getrandom(ctx, a[0], a[1], a[2]),
            nr::CLOCK_GETTIME => clock_gettime(ctx, a[0], a[1]),
            nr::CLOCK_GETRES => clock_getres(ctx, a[0], a[1]),
            nr::GETTIMEOFDAY => gettimeofday(ctx, a[0], a[1]),
            nr::TIME => time(ctx, a[0]),
            nr::NANOSLEEP => nanosleep(ctx, a[0], a[1]),
            nr::CLOCK_NANOSLEEP => clock_nanosleep(ctx, a[0], a[1], a[2], a[3]),
            nr::SCHED_GETAFFINITY => sched_getaffinity(ctx, a[0], a[1], a[2]),
            nr::PRLIMIT64 => self.prlimit64(ctx, a[0], a[1], a[2], a[3]),
            // Unlike prlimit64's, their pointer is not optional: NULL is
            // EFAULT (an address no page is mapped at).
            nr::GETRLIMIT => self.prlimit64(ctx, 0, a[0], 0, a[1].max(NULL_PAGE_ADDR)),
            nr::SETRLIMIT => self.prlimit64(ctx, 0, a[0], a[1].max(NULL_PAGE_ADDR), 0),
            // The thread id the kernel would write at exit: the only thread.
            nr::SET_TID_ADDRESS => Ok(GUEST_PID as u64),
            nr::SET_ROBUST_LIST => {
                if a[1] == ROBUST_LIST_HEAD_SIZE {
                    Ok(0)
                } else {
                    Err(Errno::EINVAL)
                }
            }
            nr::RSEQ => self.rseq.handle(ctx, a),
            _ => return None,
        })
    }

    /// prctl(2) PR_SET_NAME and PR_GET_NAME; `None` (not served) for
    /// the other options.
    fn prctl(&mut self, ctx: &Context<'_, '_>, option: u64, arg: u64) -> Option<SysResult> {
        match option as i32 {
            libc::PR_SET_NAME => {
                // Linux copies at most TASK_COMM_LEN - 1 bytes, up to a NUL.
                let mut name = [0u8; TASK_COMM_LEN - 1];
                Some(match ctx.mem.read_cstr(arg, &mut name) {
                    Ok((n, _)) => {
                        self.comm = name[..n].to_vec();
                        Ok(0)
                    }
                    Err(_) => Err(Errno::EFAULT),
                })
            }
            libc::PR_GET_NAME => {
                let mut name = [0u8; TASK_COMM_LEN];
                name[..self.comm.len()].copy_from_slice(&self.comm);
                Some(
                    ctx.mem
                        .write(arg, &name)
                        .map(|()| 0)
                        .map_err(|_| Errno::EFAULT),
                )
            }
            _ => None,
        }
    }

    /// sysinfo(2): the guest machine's view. Uptime in whole seconds since
    /// it started, rounded up (as Linux rounds its boot time); no load;
    /// RAM in bytes (mem_unit 1): the guest's memory, free what its frame
    /// allocator has left; no swap, no high memory; one process.
    fn sysinfo(&self, ctx: &Context<'_, '_>, info: u64) -> SysResult {
        let up = self.started.elapsed();
        // SAFETY: struct sysinfo is plain integers; all-zero is valid.
        let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
        si.uptime = up.as_secs() as i64 + i64::from(up.subsec_nanos() != 0);
        si.totalram = ctx.ram.size();
        si.freeram = ctx.space.free_frames() * microvm_abi::layout::PAGE_SIZE;
        si.procs = 1;
        si.mem_unit = 1;
        // SAFETY: `si` is SYSINFO_SIZE bytes of plain integers (its
        // padding zeroed above), read once.
        let bytes = unsafe {
            std::slice::from_raw_parts((&si as *const libc::sysinfo).cast::<u8>(), SYSINFO_SIZE)
        };
        ctx.mem.write(info, bytes).map_err(|_| Errno::EFAULT)?;
        Ok(0)
    }

    fn prlimit64(
        &mut self,
        ctx: &Context<'_, '_>,
        pid: u64,
        resource: u64,
        new: u64,
        old: u64,
    ) -> SysResult {
        let resource = resource as u32 as usize;
        if resource >= self.limits.len() {
            return Err(Errno::EINVAL);
        }
        let new = if new != 0 {
            let (soft, hard) = read_pair(ctx.mem, new)?;
            if soft > hard {
                return Err(Errno::EINVAL);
            }
            Some((soft, hard))
        } else {
            None
        };
        if !is_self(pid) {
            return Err(Errno::ESRCH);
        }
        let current = self.limits[resource];
        if let Some((_, hard)) = new {
            // Lowering is allowed; raising past the hard limit is not.
            if hard > current.1 {
                return Err(Errno::EPERM);
            }
        }
        if let Some(limit) = new {
            self.limits[resource] = limit;
        }
        if old != 0 {
            write_pair(ctx.mem, old, current.0, current.1)?;
        }
        Ok(0)
    }
}

/// "Linux", "microvm", the host's release and version, "x86_64".
fn uname(ctx: &Context<'_, '_>, buf: u64) -> SysResult {
    let host = nix::sys::utsname::uname()?;
    let fields: [&[u8]; utsname::FIELDS] = [
        b"Linux",
        NODENAME.as_bytes(),
        std::os::unix::ffi::OsStrExt::as_bytes(host.release()),
        std::os::unix::ffi::OsStrExt::as_bytes(host.version()),
        b"x86_64",
        b"(none)",
    ];
    let mut out = [0u8; utsname::SIZE];
    for (i, field) in fields.iter().enumerate() {
        // Each field keeps at least its NUL.
        let n = field.len().min(utsname::FIELD - 1);
        let at = i * utsname::FIELD;
        out[at..at + n].copy_from_slice(&field[..n]);
    }
    ctx.mem.write(buf, &out).map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// Host random bytes. As on Linux, bytes go in until the buffer faults:
/// the count written, or EFAULT if not one byte could be.
fn getrandom(ctx: &Context<'_, '_>, buf: u64, len: u64, flags: u64) -> SysResult {
    let flags = flags as u32 as u64;
    if flags & !(grnd::NONBLOCK | grnd::RANDOM | grnd::INSECURE) != 0
        || flags & (grnd::RANDOM | grnd::INSECURE) == (grnd::RANDOM | grnd::INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let len = len.min(MAX_RW_COUNT);
    let host_flags = (flags & (grnd::NONBLOCK | grnd::INSECURE)) as libc::c_uint;
    let page = microvm_abi::layout::PAGE_SIZE;
    let mut chunk = [0u8; microvm_abi::layout::PAGE_SIZE as usize];
    let mut done = 0u64;
    while done < len {
        // One guest page at a time: a chunk is written whole or faults.
        let at = buf.wrapping_add(done);
        let want = (len - done).min(page - at % page) as usize;
        // SAFETY: getrandom writes at most `want` bytes into `chunk`, which
        // has at least that many.
        let r = unsafe { libc::getrandom(chunk.as_mut_ptr().cast(), want, host_flags) };
        let n = match Errno::result(r) {
            Ok(n) => n as usize,
            Err(Errno::EINTR) => continue,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if ctx.mem.write(at, &chunk[..n]).is_err() {
            if done == 0 {
                return Err(Errno::EFAULT);
            }
            break;
        }
        done += n as u64;
        if n < want {
            break;
        }
    }
    Ok(done)
}

fn clock_gettime(ctx: &Context<'_, '_>, clock: u64, tp: u64) -> SysResult {
    let t = now(clock)?;
    write_pair(ctx.mem, tp, t.tv_sec() as u64, t.tv_nsec() as u64)?;
    Ok(0)
}

fn clock_getres(ctx: &Context<'_, '_>, clock: u64, res: u64) -> SysResult {
    let t = nix::time::clock_getres(clock_id(clock)?)?;
    if res != 0 {
        write_pair(ctx.mem, res, t.tv_sec() as u64, t.tv_nsec() as u64)?;
    }
    Ok(0)
}

fn gettimeofday(ctx: &Context<'_, '_>, tv: u64, tz: u64) -> SysResult {
    let t = now(libc::CLOCK_REALTIME as u64)?;
    if tv != 0 {
        write_pair(ctx.mem, tv, t.tv_sec() as u64, (t.tv_nsec() / 1000) as u64)?;
    }
    if tz != 0 {
        // UTC, no daylight saving.
        ctx.mem
            .write(tz, &[0u8; linux::TIMEZONE_SIZE])
            .map_err(|_| Errno::EFAULT)?;
    }
    Ok(0)
}

fn time(ctx: &Context<'_, '_>, tloc: u64) -> SysResult {
    let secs = now(libc::CLOCK_REALTIME as u64)?.tv_sec() as u64;
    if tloc != 0 {
        ctx.mem
            .write(tloc, &secs.to_le_bytes())
            .map_err(|_| Errno::EFAULT)?;
    }
    Ok(secs)
}

/// Sleep for `d`; if the run is stopped first, EINTR, with the time left
/// written to `rem` (when not NULL).
fn sleep(ctx: &Context<'_, '_>, d: Duration, rem: u64) -> SysResult {
    let start = std::time::Instant::now();
    match stop::wait(ctx.stop, None, Some(d)) {
        Ok(Wake::TimedOut) | Ok(Wake::Ready) => Ok(0),
        Ok(Wake::Stopped) | Err(_) => {
            if rem != 0 {
                let left = d.saturating_sub(start.elapsed());
                write_pair(ctx.mem, rem, left.as_secs(), u64::from(left.subsec_nanos()))?;
            }
            Err(Errno::EINTR)
        }
    }
}

fn nanosleep(ctx: &Context<'_, '_>, req: u64, rem: u64) -> SysResult {
    let (sec, nsec) = read_pair(ctx.mem, req)?;
    sleep(ctx, duration(sec, nsec)?, rem)
}

fn clock_nanosleep(ctx: &Context<'_, '_>, clock: u64, flags: u64, req: u64, rem: u64) -> SysResult {
    let clock = clock as i32;
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI => {}
        // CPU-time and alarm clocks exist, but are not for sleeping here.
        c if (0..linux::CLOCK_NAMES.len() as i32).contains(&c) => return Err(Errno::ENOTSUP),
        _ => return Err(Errno::EINVAL),
    }
    let (sec, nsec) = read_pair(ctx.mem, req)?;
    let d = duration(sec, nsec)?;
    if flags as u32 as u64 & linux::TIMER_ABSTIME != 0 {
        let t = now(clock as u64)?;
        let now = Duration::new(t.tv_sec().max(0) as u64, t.tv_nsec().max(0) as u32);
        // An absolute sleep writes no remaining time.
        return sleep(ctx, d.saturating_sub(now), 0);
    }
    sleep(ctx, d, rem)
}

/// One CPU: CPU 0.
fn sched_getaffinity(ctx: &Context<'_, '_>, pid: u64, len: u64, mask: u64) -> SysResult {
    let len = len as u32 as u64;
    if len < CPU_MASK_SIZE || len & (CPU_MASK_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    if !is_self(pid) {
        return Err(Errno::ESRCH);
    }
    ctx.mem
        .write(mask, &1u64.to_le_bytes())
        .map_err(|_| Errno::EFAULT)?;
    Ok(CPU_MASK_SIZE)
}
