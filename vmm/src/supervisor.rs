//! Running a guest under supervision: the vCPU runs on its own thread while
//! the calling thread waits — without polling — for the run to end, for
//! SIGINT or SIGTERM, or for the timeout, and stops the vCPU through its
//! [`StopHandle`](crate::stop::StopHandle) when one comes first.
//!
//! Once everything the run needs is open, the process is locked down and
//! each thread confines itself with its seccomp filter before it does
//! anything else (see [`crate::seccomp`]).

use crate::error::{Error, Result};
use crate::gdb::{Attach, Session, Watched};
use crate::seccomp::{Confinement, Thread};
use crate::stop::{StopHandle, StopReason};
use crate::syscall::SyscallService;
use crate::trace::Tracer;
use crate::vm::{Outcome, Vm};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

/// Writes the event when dropped, so the supervisor wakes even if the vCPU
/// thread unwinds.
struct DoneOnDrop(EventFd);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        let _ = self.0.write(1);
    }
}

fn io_error(what: &'static str) -> impl Fn(nix::Error) -> Error {
    move |e| Error::Supervisor(what, std::io::Error::from(e))
}

/// Block SIGINT and SIGTERM in the calling thread (and the threads it
/// starts), so that they wait for [`run`] instead of killing the process.
pub fn hold_stop_signals() {
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&signals), None);
}

/// Run `vm` to its end on a vCPU thread, each thread confined by
/// `confinement`. SIGINT and SIGTERM, and `timeout` if given, stop it (a
/// timeout too long to have a deadline is no limit). Returns how it ended
/// and the tracer (to be finished). With `gdb`, the supervisor accepts gdb
/// and watches its connection while the vCPU thread serves it.
pub fn run(
    mut vm: Vm,
    mut service: SyscallService,
    mut tracer: Tracer,
    timeout: Option<Duration>,
    confinement: &Confinement,
    gdb: Option<(Attach, Session)>,
) -> Result<(Result<Outcome>, Tracer)> {
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    // Block them here before the vCPU thread starts (it inherits the mask),
    // so that they arrive only through the signalfd.
    let mut old = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&signals), Some(&mut old))
        .map_err(io_error("blocking SIGINT/SIGTERM"))?;
    let result = supervise(
        &mut vm,
        &mut service,
        &mut tracer,
        timeout,
        &signals,
        confinement,
        gdb,
    );
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    result.map(|outcome| (outcome, tracer))
}

fn supervise(
    vm: &mut Vm,
    service: &mut SyscallService,
    tracer: &mut Tracer,
    timeout: Option<Duration>,
    signals: &SigSet,
    confinement: &Confinement,
    gdb: Option<(Attach, Session)>,
) -> Result<Result<Outcome>> {
    let (mut attach, session) = match gdb {
        Some((a, s)) => (Some(a), Some(s)),
        None => (None, None),
    };
    let sigfd = SignalFd::with_flags(signals, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(io_error("creating a signalfd"))?;
    let done =
        EventFd::new(EFD_NONBLOCK).map_err(|e| Error::Supervisor("creating an eventfd", e))?;
    let done_writer = DoneOnDrop(
        done.try_clone()
            .map_err(|e| Error::Supervisor("cloning an eventfd", e))?,
    );
    let stop = vm.stop_handle();
    // A deadline too far away to represent is as good as none.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    // Every descriptor the run needs is open now.
    confinement.lock_down(crate::syscall::fs::MAX_FDS)?;
    std::thread::scope(|scope| {
        let vcpu = std::thread::Builder::new()
            .name("vcpu0".into())
            .spawn_scoped(scope, move || {
                let _done = done_writer;
                confinement.enter(Thread::Vcpu)?;
                match &session {
                    Some(session) => vm.run_debug(service, tracer, |vm, service, tracer| {
                        crate::gdb::target::serve(vm, service, tracer, session)
                    }),
                    None => vm.run(service, tracer),
                }
            })
            .map_err(|e| Error::Supervisor("starting the vCPU thread", e))?;
        if let Err(e) = confinement.enter(Thread::Supervisor) {
            stop.stop(StopReason::Terminate);
            let _ = vcpu.join();
            return Err(e);
        }
        let mut timed_out = false;
        loop {
            let wait = match deadline {
                Some(d) if !timed_out => {
                    let left = d.saturating_duration_since(Instant::now());
                    PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
                        .unwrap_or(PollTimeout::MAX)
                }
                _ => PollTimeout::NONE,
            };
            // SAFETY: `done` outlives this borrow, which ends with the loop
            // iteration.
            let done_fd = unsafe { BorrowedFd::borrow_raw(done.as_raw_fd()) };
            let watched = attach.as_ref().map(Attach::fds).unwrap_or_default();
            let mut fds = vec![
                PollFd::new(sigfd.as_fd(), PollFlags::POLLIN),
                PollFd::new(done_fd, PollFlags::POLLIN),
            ];
            for (fd, _) in &watched {
                // SAFETY: `attach` owns these descriptors and outlives this
                // loop iteration; nothing closes them while `fds` lives.
                let fd = unsafe { BorrowedFd::borrow_raw(*fd) };
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
            }
            match poll(&mut fds, wait) {
                Ok(0) => {
                    timed_out = true;
                    stop.stop(StopReason::Timeout);
                }
                Ok(_) => {
                    if fds[1].revents().is_some_and(|r| !r.is_empty()) {
                        break;
                    }
                    let ready: Vec<_> = fds[2..]
                        .iter()
                        .zip(&watched)
                        .filter_map(|(f, (_, what))| Some((*what, f.revents()?)))
                        .filter(|(_, r)| !r.is_empty())
                        .collect();
                    drop(fds);
                    if let Some(attach) = attach.as_mut() {
                        for (what, revents) in ready {
                            watch_gdb(attach, what, revents, &stop);
                        }
                    }
                    while let Ok(Some(info)) = sigfd.read_signal() {
                        let reason = if info.ssi_signo == Signal::SIGINT as u32 {
                            StopReason::Interrupt
                        } else {
                            StopReason::Terminate
                        };
                        stop.stop(reason);
                    }
                }
                Err(nix::Error::EINTR) => {}
                Err(e) => {
                    stop.stop(StopReason::Terminate);
                    if let Some(attach) = attach.as_mut() {
                        attach.stopped();
                    }
                    let _ = vcpu.join();
                    return Err(io_error("waiting for the guest")(e));
                }
            }
            // Stopped (a signal, the timeout): a vCPU still waiting for
            // gdb to connect stops waiting.
            if stop.reason().is_some() {
                if let Some(attach) = attach.as_mut() {
                    attach.stopped();
                }
            }
        }
        match vcpu.join() {
            Ok(outcome) => Ok(outcome),
            Err(_) => Err(Error::Kernel("the vCPU thread panicked".into())),
        }
    })
}

/// Act on a gdb descriptor that polled ready: a connection to accept, the
/// vCPU letting the guest run, a byte from gdb (kick the vCPU), or a
/// connection gone (stop watching it; the vCPU thread sees it too). A
/// failed accept stops the run with one line.
fn watch_gdb(attach: &mut Attach, what: Watched, revents: PollFlags, stop: &StopHandle) {
    if what == Watched::Connection && !revents.contains(PollFlags::POLLIN) {
        attach.hung_up();
        return;
    }
    if let Err(e) = attach.ready(what, stop) {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "microvm: --gdb: cannot accept gdb: {e}");
        stop.stop(StopReason::Terminate);
    }
}
