//! Stopping a running vCPU from another thread, the way KVM intends: set
//! `immediate_exit` in the vCPU's kvm_run area, then send the vCPU thread a
//! signal whose handler does nothing. Whether the vCPU is inside KVM_RUN
//! (the signal makes it return EINTR) or about to enter it (immediate_exit
//! makes it return EINTR at once), it comes back to the run loop, which
//! sees the reason and ends the run. Nothing polls.
//!
//! A syscall the host serves by waiting (a sleep, a read of a terminal or
//! a pipe) waits through [`wait`], which also wakes on the stop: `stop`
//! makes an eventfd readable, so a stop that comes before or during the
//! wait ends it at once. Program output to a pipe or terminal waits for
//! room the same way ([`wait_writable`]) before each bounded write.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};
use vmm_sys_util::eventfd::{EventFd, EFD_CLOEXEC, EFD_NONBLOCK};

/// Why a run was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `--timeout` ran out.
    Timeout,
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl StopReason {
    fn code(self) -> u8 {
        match self {
            StopReason::Timeout => 1,
            StopReason::Interrupt => 2,
            StopReason::Terminate => 3,
        }
    }

    fn from_code(code: u8) -> Option<StopReason> {
        match code {
            1 => Some(StopReason::Timeout),
            2 => Some(StopReason::Interrupt),
            3 => Some(StopReason::Terminate),
            _ => None,
        }
    }

    /// microvm's exit status for it: 124 as timeout(1) does, 128 + signal.
    pub fn exit_status(self) -> i32 {
        match self {
            StopReason::Timeout => 124,
            StopReason::Interrupt => 130,
            StopReason::Terminate => 143,
        }
    }
}

/// Where to kick: the vCPU's `immediate_exit` byte and its thread.
struct Target {
    immediate_exit: *mut u8,
    thread: Option<libc::pthread_t>,
}

// SAFETY: the pointer is only dereferenced under the mutex, and the vCPU
// clears it (`detach`) before its kvm_run mapping goes away.
unsafe impl Send for Target {}

struct Inner {
    reason: AtomicU8,
    target: Mutex<Option<Target>>,
    /// Readable once the run is stopped; waits poll it.
    stopped: EventFd,
}

/// A handle that stops a vCPU's run; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct StopHandle {
    inner: Arc<Inner>,
}

/// The signal used to kick a vCPU thread out of KVM_RUN.
pub fn kick_signal() -> libc::c_int {
    vmm_sys_util::signal::SIGRTMIN()
}

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

/// Install the do-nothing handler for the kick signal (once per process).
fn install_kick_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Failure leaves the default action (terminate) for a signal
        // nothing else sends; immediate_exit still stops the next entry.
        let _ = vmm_sys_util::signal::register_signal_handler(kick_signal(), on_kick);
    });
}

impl StopHandle {
    /// A handle for the vCPU whose kvm_run `immediate_exit` byte is at
    /// `immediate_exit`. Fails only if no eventfd can be created.
    pub(crate) fn new(immediate_exit: *mut u8) -> io::Result<StopHandle> {
        install_kick_handler();
        Ok(StopHandle {
            inner: Arc::new(Inner {
                reason: AtomicU8::new(0),
                target: Mutex::new(Some(Target {
                    immediate_exit,
                    thread: None,
                })),
                stopped: EventFd::new(EFD_NONBLOCK | EFD_CLOEXEC)?,
            }),
        })
    }

    /// A handle tied to no vCPU: stopping it only wakes the waits that use
    /// it. For driving the syscall service without KVM (tests, fuzzing):
    /// a handle stopped before the service runs makes every syscall that
    /// would wait on the host (sleeps, reads of a terminal or a pipe)
    /// return EINTR at once.
    pub fn detached() -> io::Result<StopHandle> {
        Ok(StopHandle {
            inner: Arc::new(Inner {
                reason: AtomicU8::new(0),
                target: Mutex::new(None),
                stopped: EventFd::new(EFD_NONBLOCK | EFD_CLOEXEC)?,
            }),
        })
    }

    /// Called on the vCPU thread when it starts running.
    pub(crate) fn attach_current_thread(&self) {
        if let Ok(mut t) = self.inner.target.lock() {
            if let Some(t) = t.as_mut() {
                // SAFETY: pthread_self has no preconditions.
                t.thread = Some(unsafe { libc::pthread_self() });
            }
        }
    }

    /// Called on the vCPU thread when it stops running.
    pub(crate) fn release_thread(&self) {
        if let Ok(mut t) = self.inner.target.lock() {
            if let Some(t) = t.as_mut() {
                t.thread = None;
            }
        }
    }

    /// Called when the vCPU's kvm_run area is about to go away.
    pub(crate) fn detach(&self) {
        if let Ok(mut t) = self.inner.target.lock() {
            *t = None;
        }
    }

    /// Stop the run for `reason` (the first reason given wins).
    pub fn stop(&self, reason: StopReason) {
        let _ = self.inner.reason.compare_exchange(
            0,
            reason.code(),
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        // Wakes a wait in progress, and makes every later one return at
        // once. (It can only fail if the counter overflowed: already set.)
        let _ = self.inner.stopped.write(1);
        self.kick();
    }

    /// Kick the vCPU out of KVM_RUN (`stop` does, with its reason first;
    /// alone, when gdb sent something while the guest runs, the run loop
    /// sees no reason and goes on after a look at what gdb sent). Waits
    /// are not woken.
    pub fn kick(&self) {
        let Ok(target) = self.inner.target.lock() else {
            return;
        };
        if let Some(t) = target.as_ref() {
            // SAFETY: the pointer is the vCPU's kvm_run immediate_exit byte;
            // the mapping lives until `detach`, which takes this lock first.
            unsafe { std::ptr::write_volatile(t.immediate_exit, 1) };
            if let Some(thread) = t.thread {
                // SAFETY: the thread is the vCPU thread, inside its run loop
                // (which releases the thread, under this lock, before it
                // returns); the signal has a do-nothing handler.
                unsafe { libc::pthread_kill(thread, kick_signal()) };
            }
        }
    }

    /// The reason, once stopped.
    pub fn reason(&self) -> Option<StopReason> {
        StopReason::from_code(self.inner.reason.load(Ordering::SeqCst))
    }
}

/// What ended a [`wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The descriptor waited for is ready (to read for [`wait`], to write
    /// for [`wait_writable`]), or has hung up or failed.
    Ready,
    /// The timeout ran out first.
    TimedOut,
    /// The run was stopped (timeout, SIGINT, SIGTERM).
    Stopped,
}

/// Wait until `fd` (if any) is readable, `timeout` (if any; `None` waits
/// for ever) has passed, or the run behind `stop` (if any) is stopped,
/// whichever comes first. A signal that interrupts the wait (the kick)
/// does not end it by itself; the stop it comes with does.
pub fn wait(
    stop: Option<&StopHandle>,
    fd: Option<BorrowedFd<'_>>,
    timeout: Option<Duration>,
) -> io::Result<Wake> {
    wait_for(stop, fd, libc::POLLIN, timeout)
}

/// Wait until `fd` can be written without blocking (or has hung up or
/// failed: the write then says why), or the run behind `stop` (if any) is
/// stopped, whichever comes first.
pub fn wait_writable(stop: Option<&StopHandle>, fd: BorrowedFd<'_>) -> io::Result<Wake> {
    wait_for(stop, Some(fd), libc::POLLOUT, None)
}

/// Whether `fd` is writable now, without waiting.
pub fn wait_writable_now(fd: BorrowedFd<'_>) -> io::Result<Wake> {
    wait_for(None, Some(fd), libc::POLLOUT, Some(Duration::ZERO))
}

/// Where a run's [`StopHandle`] will be once the VM exists: writers made
/// before it (microvm's stderr) watch the stop from then on.
#[derive(Clone, Default)]
pub struct StopSlot(Arc<std::sync::OnceLock<StopHandle>>);

impl StopSlot {
    /// Put the run's handle in the slot (the first one stays).
    pub fn set(&self, stop: StopHandle) {
        let _ = self.0.set(stop);
    }

    /// The handle, once set.
    pub fn get(&self) -> Option<&StopHandle> {
        self.0.get()
    }
}

/// Wait until one of `fds` (poll(2) entries; negative descriptors are
/// skipped) has events, `timeout` (if any) has passed, or the run behind
/// `stop` (if any) is stopped. Each entry's `revents` is left as the host
/// set it.
pub fn wait_any(
    stop: Option<&StopHandle>,
    fds: &mut [libc::pollfd],
    timeout: Option<Duration>,
) -> io::Result<Wake> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut all = fds.to_vec();
    all.push(libc::pollfd {
        fd: stop.map_or(-1, |s| s.inner.stopped.as_raw_fd()),
        events: libc::POLLIN,
        revents: 0,
    });
    loop {
        if stop.is_some_and(|s| s.reason().is_some()) {
            return Ok(Wake::Stopped);
        }
        let left = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            libc::timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: libc::c_long::from(left.subsec_nanos()),
            }
        });
        let left_ptr = left
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `all` is an array of `all.len()` initialised pollfd that
        // outlives the call; `left_ptr` is null or points at a timespec
        // that does; a null signal mask leaves the mask alone.
        let n = unsafe {
            libc::ppoll(
                all.as_mut_ptr(),
                all.len() as libc::nfds_t,
                left_ptr,
                std::ptr::null(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let Some((stopped, rest)) = all.split_last() else {
            return Ok(Wake::TimedOut);
        };
        for (f, a) in fds.iter_mut().zip(rest) {
            f.revents = a.revents;
        }
        if n == 0 {
            return Ok(Wake::TimedOut);
        }
        if stopped.revents != 0 {
            return Ok(Wake::Stopped);
        }
        return Ok(Wake::Ready);
    }
}

/// [`wait`] for the poll(2) `events` of `fd`.
fn wait_for(
    stop: Option<&StopHandle>,
    fd: Option<BorrowedFd<'_>>,
    events: libc::c_short,
    timeout: Option<Duration>,
) -> io::Result<Wake> {
    // poll(2) skips entries with a negative descriptor.
    let mut fds = [libc::pollfd {
        fd: fd.map_or(-1, |f| f.as_raw_fd()),
        events,
        revents: 0,
    }];
    wait_any(stop, &mut fds, timeout)
}
