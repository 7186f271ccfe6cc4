//! The guest as gdbstub's target: registers, memory, resume and step,
//! breakpoints and watchpoints, `catch syscall`, the auxiliary vector and
//! the executable's path (so that a stock gdb finds a dynamic program's
//! libraries itself), and the event loop that runs the vCPU between
//! stops.

use super::arch::{MicrovmX86_64, Registers};
use super::{Conn, Session};
use crate::error::{Error, Result};
use crate::exception::Signal;
use crate::syscall::SyscallService;
use crate::trace::Tracer;
use crate::vm::debug::{Catch, DebugEvent, DebugState, DebugStop, HwSlot, Resume};
use crate::vm::{Outcome, Vm};
use gdbstub::common::Signal as GdbSignal;
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, GdbStub, SingleThreadStopReason};
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps,
    SwBreakpoint, SwBreakpointOps, WatchKind,
};
use gdbstub::target::ext::catch_syscalls::{
    CatchSyscallPosition, CatchSyscalls, CatchSyscallsOps, SyscallNumbers,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use std::path::PathBuf;

/// The guest while gdb debugs it.
pub struct Debuggee<'a> {
    vm: &'a mut Vm,
    service: &'a mut SyscallService,
    tracer: &'a mut Tracer,
    session: &'a Session,
    state: DebugState,
    /// How gdb asked to resume, with the signal it passes on, until the
    /// guest does.
    resume: Option<(Resume, Option<u8>)>,
    /// The run's end, once it came.
    ended: Option<Outcome>,
    /// The auxiliary vector the program started with.
    auxv: Vec<u8>,
    /// The program's path on the host.
    exe: PathBuf,
    /// A continue going a step at a time for software watchpoints.
    watch_steps: bool,
}

/// Serve gdb over `session` while the guest runs: wait for it to connect
/// (the guest stands at the program's first instruction), then run the
/// protocol until the program ends, gdb kills it, or gdb goes away (the
/// program then runs on to its end without it).
pub fn serve(
    vm: &mut Vm,
    service: &mut SyscallService,
    tracer: &mut Tracer,
    session: &Session,
) -> Result<Outcome> {
    let mut state = DebugState::new(session.sw_via_kvm);
    if let Some(outcome) = vm.run_to_user_entry(&mut state, service, tracer)? {
        return Ok(outcome);
    }
    let Some(conn) = session.connection() else {
        // Stopped before gdb came.
        let reason = vm.stop_handle().reason();
        return Ok(reason.map_or(
            Outcome::Killed {
                signal: Signal::SIGKILL,
                reason: "gdb never connected".into(),
            },
            Outcome::Stopped,
        ));
    };
    let auxv = vm.initial_auxv();
    let mut target = Debuggee {
        vm,
        service,
        tracer,
        session,
        state,
        resume: None,
        ended: None,
        auxv,
        exe: session.exe.clone(),
        watch_steps: false,
    };
    let result = GdbStub::new(conn).run_blocking::<Loop<'_>>(&mut target);
    match result {
        Ok(DisconnectReason::TargetExited(_) | DisconnectReason::TargetTerminated(_)) => target
            .ended
            .take()
            .ok_or_else(|| Error::Kernel("gdb saw an end the run did not have".into())),
        Ok(DisconnectReason::Kill) => Ok(target.vm.debug_kill(target.tracer)),
        Ok(DisconnectReason::Disconnect) => target.detach(),
        Err(e) if e.is_target_error() => Err(e
            .into_target_error()
            .unwrap_or_else(|| Error::Kernel("gdb session failed".into()))),
        Err(e) => {
            if let Some(reason) = target.vm.stop_handle().reason() {
                return Ok(Outcome::Stopped(reason));
            }
            crate::gdb::say_gone(&e.to_string());
            target.detach()
        }
    }
}

impl Debuggee<'_> {
    /// A step Ctrl-C or gdb's going interrupted, run to its end.
    fn finish_step(&mut self) -> Result<Option<Outcome>> {
        self.vm
            .finish_step(&mut self.state, self.service, self.tracer)
    }

    /// gdb is gone: the program runs on without it.
    fn detach(&mut self) -> Result<Outcome> {
        if let Some(outcome) = self.finish_step()? {
            return Ok(outcome);
        }
        if let Some(outcome) = self
            .vm
            .debug_detach(&mut self.state, self.service, self.tracer)?
        {
            return Ok(outcome);
        }
        self.vm.run_on(self.service, self.tracer)
    }

    /// Run as gdb asked (or on, after a kick), until a stop for gdb or a
    /// kick. A continue while watchpoints are kept in software goes a
    /// step at a time, each step one call (it returns as a kick when the
    /// watched bytes did not change), so that gdb's Ctrl-C is looked for
    /// between any two.
    fn run(&mut self) -> Result<DebugEvent> {
        self.session.arm();
        let event = match self.resume.take() {
            Some((Resume::Continue, signal)) if self.state.watching_in_software() => {
                self.watch_steps = true;
                self.vm.debug_resume(
                    &mut self.state,
                    Resume::Step,
                    signal,
                    self.service,
                    self.tracer,
                )?
            }
            Some((how, signal)) => {
                self.watch_steps = false;
                self.vm
                    .debug_resume(&mut self.state, how, signal, self.service, self.tracer)?
            }
            None if self.watch_steps && !self.state.in_flight() => self.vm.debug_resume(
                &mut self.state,
                Resume::Step,
                None,
                self.service,
                self.tracer,
            )?,
            None => self
                .vm
                .debug_run_on(&mut self.state, self.service, self.tracer)?,
        };
        if !self.watch_steps {
            return Ok(event);
        }
        match event {
            DebugEvent::Stop(DebugStop::Step) => match self.vm.soft_watch_hit(&mut self.state) {
                Some(hit) => {
                    self.watch_steps = false;
                    Ok(DebugEvent::Stop(hit))
                }
                // Nothing changed: on with the next step, after a look at
                // what gdb sent.
                None => Ok(DebugEvent::Kicked),
            },
            DebugEvent::Kicked => Ok(DebugEvent::Kicked),
            other => {
                self.watch_steps = false;
                Ok(other)
            }
        }
    }
}

/// gdb's number for a Linux signal.
fn gdb_signal(s: Signal) -> GdbSignal {
    macro_rules! map {
        ($($name:ident)*) => {
            $(if s == Signal::$name { return GdbSignal::$name; })*
        };
    }
    map!(SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGKILL SIGUSR1 SIGSEGV
        SIGUSR2 SIGPIPE SIGALRM SIGTERM SIGCHLD SIGCONT SIGSTOP SIGTSTP SIGTTIN SIGTTOU SIGURG
        SIGXCPU SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGIO SIGPWR SIGSYS);
    GdbSignal::UNKNOWN
}

/// The stop reply for a stop.
fn stop_reply(stop: DebugStop) -> SingleThreadStopReason<u64> {
    match stop {
        DebugStop::Step => SingleThreadStopReason::DoneStep,
        DebugStop::SwBreak => SingleThreadStopReason::SwBreak(()),
        DebugStop::HwBreak => SingleThreadStopReason::HwBreak(()),
        DebugStop::Watch { kind, addr } => SingleThreadStopReason::Watch {
            tid: (),
            kind,
            addr,
        },
        DebugStop::Signal(s) => SingleThreadStopReason::Signal(gdb_signal(s)),
        DebugStop::Syscall { nr, entry } => SingleThreadStopReason::CatchSyscall {
            tid: None,
            number: nr,
            position: if entry {
                CatchSyscallPosition::Entry
            } else {
                CatchSyscallPosition::Return
            },
        },
    }
}

/// The reply for the run's end.
fn end_reply(outcome: &Outcome) -> SingleThreadStopReason<u64> {
    match outcome {
        Outcome::Exited(status) => SingleThreadStopReason::Exited(*status as u8),
        Outcome::Killed { signal, .. } => SingleThreadStopReason::Terminated(gdb_signal(*signal)),
        Outcome::Stopped(reason) => SingleThreadStopReason::Terminated(gdb_signal(
            Signal::new(i64::from(reason.exit_status() - 128)).unwrap_or(Signal::SIGKILL),
        )),
        Outcome::WaitsForever { .. } => SingleThreadStopReason::Terminated(GdbSignal::SIGKILL),
    }
}

/// The blocking event loop: run the vCPU, hand gdb's bytes to gdbstub.
struct Loop<'a>(std::marker::PhantomData<&'a ()>);

impl<'a> BlockingEventLoop for Loop<'a> {
    type Target = Debuggee<'a>;
    type Connection = Conn;
    type StopReason = SingleThreadStopReason<u64>;

    fn wait_for_stop_reason(
        target: &mut Debuggee<'a>,
        conn: &mut Conn,
    ) -> std::result::Result<Event<Self::StopReason>, WaitForStopReasonError<Error, std::io::Error>>
    {
        loop {
            // What gdb sent while the guest stood (before this resume).
            if conn.pending().map_err(WaitForStopReasonError::Connection)? {
                let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
                return Ok(Event::IncomingData(byte));
            }
            match target.run().map_err(WaitForStopReasonError::Target)? {
                DebugEvent::Stop(stop) => return Ok(Event::TargetStopped(stop_reply(stop))),
                DebugEvent::Kicked => continue,
                DebugEvent::Ended(outcome) => {
                    let reply = end_reply(&outcome);
                    target.ended = Some(outcome);
                    return Ok(Event::TargetStopped(reply));
                }
            }
        }
    }

    fn on_interrupt(
        target: &mut Debuggee<'a>,
    ) -> std::result::Result<Option<Self::StopReason>, Error> {
        target.watch_steps = false;
        if let Some(outcome) = target.finish_step()? {
            let reply = end_reply(&outcome);
            target.ended = Some(outcome);
            return Ok(Some(reply));
        }
        Ok(Some(SingleThreadStopReason::Signal(GdbSignal::SIGINT)))
    }
}

impl Target for Debuggee<'_> {
    type Arch = MicrovmX86_64;
    type Error = Error;

    fn base_ops(&mut self) -> BaseOps<'_, MicrovmX86_64, Error> {
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_catch_syscalls(&mut self) -> Option<CatchSyscallsOps<'_, Self>> {
        Some(self)
    }

    fn support_auxv(&mut self) -> Option<gdbstub::target::ext::auxv::AuxvOps<'_, Self>> {
        Some(self)
    }

    fn support_exec_file(
        &mut self,
    ) -> Option<gdbstub::target::ext::exec_file::ExecFileOps<'_, Self>> {
        Some(self)
    }
}

fn fatal(e: Error) -> TargetError<Error> {
    TargetError::Fatal(e)
}

impl SingleThreadBase for Debuggee<'_> {
    fn read_registers(&mut self, regs: &mut Registers) -> TargetResult<(), Self> {
        let r = self.vm.debug_regs(&self.state).map_err(fatal)?;
        let xsave = self.vm.debug_xsave().map_err(fatal)?;
        super::regs::to_gdb(&r, &xsave, self.state.syscall_nr(), regs);
        Ok(())
    }

    fn write_registers(&mut self, regs: &Registers) -> TargetResult<(), Self> {
        let mut r = self.vm.debug_regs(&self.state).map_err(fatal)?;
        let mut xsave = self.vm.debug_xsave().map_err(fatal)?;
        let fpu_changed = super::regs::from_gdb(regs, &mut r, &mut xsave);
        self.vm.set_debug_regs(&mut self.state, &r).map_err(fatal)?;
        if fpu_changed {
            self.vm.set_debug_xsave(&xsave).map_err(fatal)?;
        }
        Ok(())
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8]) -> TargetResult<usize, Self> {
        match self.vm.debug_read(start, data) {
            0 if !data.is_empty() => Err(TargetError::Errno(libc::EFAULT as u8)),
            n => Ok(n),
        }
    }

    fn write_addrs(&mut self, start: u64, data: &[u8]) -> TargetResult<(), Self> {
        if self.vm.debug_write(start, data) == data.len() {
            Ok(())
        } else {
            Err(TargetError::Errno(libc::EFAULT as u8))
        }
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadResume for Debuggee<'_> {
    fn resume(&mut self, signal: Option<GdbSignal>) -> std::result::Result<(), Error> {
        self.resume = Some((Resume::Continue, signal.map(|s| s.0)));
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for Debuggee<'_> {
    fn step(&mut self, signal: Option<GdbSignal>) -> std::result::Result<(), Error> {
        self.resume = Some((Resume::Step, signal.map(|s| s.0)));
        Ok(())
    }
}

impl Breakpoints for Debuggee<'_> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for Debuggee<'_> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.vm.add_sw_breakpoint(&mut self.state, addr))
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.vm.remove_sw_breakpoint(&mut self.state, addr))
    }
}

impl HwBreakpoint for Debuggee<'_> {
    fn add_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.vm.add_hw_breakpoint(&mut self.state, addr))
    }

    fn remove_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.vm.remove_hw_breakpoint(&mut self.state, addr))
    }
}

/// The slot a watchpoint of `len` bytes at `addr` takes: x86 watches 1,
/// 2, 4 or 8 aligned bytes.
fn watch_slot(addr: u64, len: u64, kind: WatchKind) -> Option<HwSlot> {
    (matches!(len, 1 | 2 | 4 | 8) && addr.is_multiple_of(len)).then_some(HwSlot {
        addr,
        watch: Some(kind),
        len,
    })
}

impl HwWatchpoint for Debuggee<'_> {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        Ok(watch_slot(addr, len, kind).is_some_and(|s| self.vm.add_watchpoint(&mut self.state, s)))
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        Ok(watch_slot(addr, len, kind)
            .is_some_and(|s| self.vm.remove_watchpoint(&mut self.state, s)))
    }
}

/// The most syscall numbers one `catch syscall` keeps (Linux has fewer
/// than 500; gdb sends what the user named).
const MAX_CAUGHT: usize = 1024;

impl CatchSyscalls for Debuggee<'_> {
    fn enable_catch_syscalls(
        &mut self,
        filter: Option<SyscallNumbers<'_, u64>>,
    ) -> TargetResult<(), Self> {
        self.state.catch = match filter {
            None => Catch::All,
            Some(numbers) => Catch::Only(numbers.take(MAX_CAUGHT).collect()),
        };
        Ok(())
    }

    fn disable_catch_syscalls(&mut self) -> TargetResult<(), Self> {
        self.state.catch = Catch::Off;
        Ok(())
    }
}

/// Copy `whole[offset..]` into `buf`, as much as fits.
fn copy_from(whole: &[u8], offset: u64, length: usize, buf: &mut [u8]) -> usize {
    let Some(rest) = usize::try_from(offset).ok().and_then(|o| whole.get(o..)) else {
        return 0;
    };
    let n = rest.len().min(length).min(buf.len());
    buf[..n].copy_from_slice(&rest[..n]);
    n
}

impl gdbstub::target::ext::auxv::Auxv for Debuggee<'_> {
    fn get_auxv(&self, offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        Ok(copy_from(&self.auxv, offset, length, buf))
    }
}

impl gdbstub::target::ext::exec_file::ExecFile for Debuggee<'_> {
    fn get_exec_file(
        &self,
        _pid: Option<gdbstub::common::Pid>,
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        use std::os::unix::ffi::OsStrExt;
        Ok(copy_from(
            self.exe.as_os_str().as_bytes(),
            offset,
            length,
            buf,
        ))
    }
}
