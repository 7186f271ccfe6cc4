//! The run loop in debug mode (`microvm run --gdb`): the same exits,
//! served the same way, with stops for gdb in between — breakpoints,
//! single steps, watchpoints, ring-3 faults (before they become signals)
//! and forwarded syscalls (`catch syscall`, before and after the host
//! serves them). Without gdb, [`Vm::run`] runs and none of this does.
//!
//! Where the vCPU stands at a stop:
//! - between two instructions (a step, a breakpoint, Ctrl-C): gdb sees
//!   and writes the vCPU's own registers;
//! - at a forwarded syscall: the vCPU is in the guest kernel's entry stub,
//!   cs with RPL 0, the user's registers still live (rax the number, rcx
//!   the return address, r11 the flags); on resume the host serves the
//!   call, then (when caught) stops again with rax the result;
//! - at a ring-3 exception the kernel reported: gdb sees the program's
//!   registers at the faulting instruction (the kernel's frame); on
//!   resume the frame goes back through the kernel's full return, or the
//!   signal is delivered as without gdb.

use super::*;
use gdbstub::target::ext::breakpoints::WatchKind;
use kvm_bindings::{
    kvm_guest_debug, KVM_GUESTDBG_ENABLE, KVM_GUESTDBG_SINGLESTEP, KVM_GUESTDBG_USE_HW_BP,
    KVM_GUESTDBG_USE_SW_BP,
};
use std::collections::{BTreeMap, BTreeSet};
use vm_memory::Bytes as _;

/// `int3`.
const INT3: u8 = 0xcc;
/// RFLAGS.RF: the next instruction's breakpoint does not fire (resuming
/// at a hardware breakpoint that already stopped the guest).
const RFLAGS_RF: u64 = 1 << 16;
/// RFLAGS.TF: a #DB after the next instruction.
const RFLAGS_TF: u64 = 1 << 8;
/// DR6.BS: the debug exception was a single step.
const DR6_BS: u64 = 1 << 14;
/// Debug-address registers.
pub const HW_SLOTS: usize = 4;

/// How gdb resumes the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Run until something stops it.
    Continue,
    /// One instruction.
    Step,
}

/// Why the guest stopped for gdb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugStop {
    /// A single step ended.
    Step,
    /// A software breakpoint.
    SwBreak,
    /// A hardware breakpoint.
    HwBreak,
    /// A watchpoint fired after an access to `addr`.
    Watch {
        /// The kind of watchpoint.
        kind: WatchKind,
        /// The address it watches.
        addr: u64,
    },
    /// A ring-3 exception, as the signal Linux would send.
    Signal(Signal),
    /// A forwarded syscall: at its entry, or its return.
    Syscall {
        /// The number.
        nr: u64,
        /// Entry (not served yet) or return (served).
        entry: bool,
    },
}

/// What one stretch of running in debug mode ended with.
#[derive(Debug)]
pub enum DebugEvent {
    /// A stop to report to gdb.
    Stop(DebugStop),
    /// The vCPU was kicked: gdb may have sent something (Ctrl-C).
    Kicked,
    /// The run ended.
    Ended(Outcome),
}

/// Which syscalls stop the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Catch {
    /// None.
    #[default]
    Off,
    /// Every one.
    All,
    /// These numbers.
    Only(BTreeSet<u64>),
}

impl Catch {
    fn catches(&self, nr: u64) -> bool {
        match self {
            Catch::Off => false,
            Catch::All => true,
            Catch::Only(set) => set.contains(&nr),
        }
    }
}

/// An int3 gdb asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Int3 {
    /// The instruction byte it replaced.
    old: u8,
    /// A software breakpoint stands here.
    sw: bool,
    /// A hardware breakpoint stands here (where KVM-PVM leaves the debug
    /// registers unused in ring 3, an int3 through the guest kernel).
    hw: bool,
}

/// A hardware breakpoint or watchpoint in a debug-address register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HwSlot {
    /// The address.
    pub addr: u64,
    /// `None` for an instruction breakpoint.
    pub watch: Option<WatchKind>,
    /// Bytes watched: 1, 2, 4 or 8 (1 for a breakpoint).
    pub len: u64,
}

impl HwSlot {
    /// An instruction breakpoint at `addr`.
    fn breakpoint(addr: u64) -> HwSlot {
        HwSlot {
            addr,
            watch: None,
            len: 1,
        }
    }

    /// DR7's bits for this slot as slot `i`: locally enabled, with its
    /// R/W and LEN fields.
    fn dr7(&self, i: usize) -> u64 {
        let rw = match self.watch {
            None => 0b00,
            Some(WatchKind::Write) => 0b01,
            Some(WatchKind::Read | WatchKind::ReadWrite) => 0b11,
        };
        let len = match self.len {
            2 => 0b01,
            8 => 0b10,
            4 => 0b11,
            _ => 0b00,
        };
        (1 << (2 * i)) | (rw << (16 + 4 * i)) | (len << (18 + 4 * i))
    }
}

/// What the vCPU is in the middle of at a stop.
#[derive(Debug, Clone, Copy, Default)]
enum Pending {
    /// Nothing: it stands between two instructions.
    #[default]
    Nothing,
    /// A forwarded syscall not served yet.
    SyscallEntry {
        port: u16,
        entry: EntryKind,
        nr: u64,
    },
    /// A served syscall stopped at its return.
    SyscallReturn { nr: u64 },
    /// A ring-3 exception: the program's registers are `frame`; the vCPU
    /// waits in the kernel's stub. `breakpoint`: one of gdb's (the frame's
    /// rip is the breakpoint's address).
    Exception { frame: TrapFrame, breakpoint: bool },
}

/// gdb's view of the guest: breakpoints, watchpoints, what stops it, and
/// what the vCPU is in the middle of.
#[derive(Debug, Default)]
pub struct DebugState {
    /// Software breakpoints through KVM (KVM_GUESTDBG_USE_SW_BP), where it
    /// works; else through the guest kernel's #BP from ring 3.
    sw_via_kvm: bool,
    /// gdb's int3s: address -> the byte replaced, and which kinds of
    /// breakpoint stand there (a hardware one too, through the guest).
    sw: BTreeMap<u64, Int3>,
    /// The debug-address registers.
    hw: [Option<HwSlot>; HW_SLOTS],
    /// Write watchpoints where the debug registers never fire in ring 3
    /// (KVM-PVM): the program runs a step at a time while there are any,
    /// and each keeps the bytes it last saw.
    soft_watch: Vec<(HwSlot, Vec<u8>)>,
    /// Which syscalls stop.
    pub catch: Catch,
    pending: Pending,
    /// The last stop was a hardware breakpoint: resume with RF.
    resume_with_rf: bool,
    /// A ring-3 step in progress through TF: the guest's #DB ends it.
    tf_step: bool,
    /// A step of a `syscall` instruction in progress: it ends at the
    /// kernel's knock.
    step_to_knock: bool,
    /// A step that leaves ring 0 (SYSRETQ, IRETQ) in progress: an int3 at
    /// the instruction it returns to, and the byte it replaced (`None`
    /// where one of gdb's breakpoints already stands).
    step_bp: Option<(u64, Option<u8>)>,
    /// How the guest was last let run (a kick, or gdb's bytes, interrupt
    /// it; it goes on the same way).
    running: Option<Resume>,
    /// What KVM_SET_GUEST_DEBUG was last given.
    applied: Option<(u32, [u64; 8])>,
}

impl DebugState {
    /// A state for this host: software breakpoints through KVM where
    /// `sw_via_kvm`.
    pub fn new(sw_via_kvm: bool) -> DebugState {
        DebugState {
            sw_via_kvm,
            ..DebugState::default()
        }
    }

    /// Free slot for a hardware breakpoint or watchpoint.
    pub fn add_hw(&mut self, slot: HwSlot) -> bool {
        match self.hw.iter_mut().find(|s| s.is_none()) {
            Some(free) => {
                *free = Some(slot);
                true
            }
            None => false,
        }
    }

    /// Remove a hardware breakpoint or watchpoint.
    pub fn remove_hw(&mut self, slot: HwSlot) -> bool {
        match self.hw.iter_mut().find(|s| **s == Some(slot)) {
            Some(s) => {
                *s = None;
                true
            }
            None => false,
        }
    }

    /// Whether a run a kick interrupted has yet to end.
    pub fn in_flight(&self) -> bool {
        self.running.is_some()
    }

    /// Whether a continue must go a step at a time (software watchpoints).
    pub fn watching_in_software(&self) -> bool {
        !self.soft_watch.is_empty()
    }

    /// The syscall number if stopped at a syscall, for `orig_rax`.
    pub fn syscall_nr(&self) -> Option<u64> {
        match self.pending {
            Pending::SyscallEntry { nr, .. } | Pending::SyscallReturn { nr } => Some(nr),
            _ => None,
        }
    }
}

/// The registers gdb reads and writes: the general ones as a frame, and
/// the special ones it shows (fs/gs bases, data selectors).
#[derive(Debug, Clone, Copy, Default)]
pub struct DebugRegs {
    /// General registers, rip, rflags, cs and ss.
    pub frame: TrapFrame,
    /// ds, es, fs, gs selectors.
    pub data_selectors: [u16; 4],
    /// FS base.
    pub fs_base: u64,
    /// GS base.
    pub gs_base: u64,
}

impl Vm {
    /// Run `body` (the gdb session) as [`Vm::run`] runs the loop: the
    /// thread attached to the stop handle, the execve line first.
    pub fn run_debug(
        &mut self,
        service: &mut SyscallService,
        tracer: &mut Tracer,
        body: impl FnOnce(&mut Vm, &mut SyscallService, &mut Tracer) -> Result<Outcome>,
    ) -> Result<Outcome> {
        self.stop.attach_current_thread();
        service.set_stop_handle(self.stop.clone());
        if let Some(exec) = self.exec.take() {
            tracer.execve(&exec);
        }
        let result = body(self, service, tracer);
        self.stop.release_thread();
        if let Ok(Outcome::Stopped(reason)) = result {
            tracer.stopped(reason);
        }
        result
    }

    /// The run loop without gdb, after a detach.
    pub fn run_on(&mut self, service: &mut SyscallService, tracer: &mut Tracer) -> Result<Outcome> {
        self.run_loop(service, tracer)
    }

    /// Run the guest kernel to the program's first instruction (an int3
    /// there, taken through the guest kernel as on any KVM), so that gdb
    /// starts where the program does.
    pub fn run_to_user_entry(
        &mut self,
        st: &mut DebugState,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<Option<Outcome>> {
        let info: BootInfo = self.ram.read_obj(BOOT_INFO)?;
        // An entry with no byte to replace faults at once: gdb starts at
        // that fault instead, as the program would meet it.
        self.plant_step_breakpoint(st, info.user_entry);
        match self.debug_run(st, Resume::Continue, service, tracer)? {
            DebugEvent::Stop(DebugStop::Step | DebugStop::Signal(_)) => Ok(None),
            DebugEvent::Ended(outcome) => Ok(Some(outcome)),
            other => Err(self.kernel_failure(format!(
                "the kernel did not reach the program's entry {:#x} ({other:?})",
                info.user_entry
            ))),
        }
    }

    /// Put a step's int3 at `addr` (the instruction a return to ring 3
    /// goes to). False if there is no byte there.
    fn plant_step_breakpoint(&mut self, st: &mut DebugState, addr: u64) -> bool {
        if let Some((at, _)) = st.step_bp {
            self.lift_step_breakpoint(st, at);
        }
        if st.sw.contains_key(&addr) {
            st.step_bp = Some((addr, None));
            return true;
        }
        let mut old = [0u8];
        if self.debug_read(addr, &mut old) != 1 || self.debug_write(addr, &[INT3]) != 1 {
            return false;
        }
        st.step_bp = Some((addr, Some(old[0])));
        true
    }

    /// Take a step's int3 out again; true if it stood at `addr`.
    fn lift_step_breakpoint(&mut self, st: &mut DebugState, addr: u64) -> bool {
        match st.step_bp {
            Some((at, old)) if at == addr => {
                if let Some(b) = old {
                    self.debug_write(at, &[b]);
                }
                st.step_bp = None;
                true
            }
            _ => false,
        }
    }

    /// Tell KVM what to stop at: hardware slots, software breakpoints
    /// (through KVM, where it does them), single step.
    fn apply_guest_debug(&mut self, st: &mut DebugState, step: bool) -> Result<()> {
        let mut control = KVM_GUESTDBG_ENABLE;
        if step {
            control |= KVM_GUESTDBG_SINGLESTEP;
        }
        if st.sw_via_kvm && !st.sw.is_empty() {
            control |= KVM_GUESTDBG_USE_SW_BP;
        }
        let mut regs = [0u64; 8];
        let mut dr7 = 0;
        for (i, slot) in st.hw.iter().enumerate() {
            if let Some(s) = slot {
                regs[i] = s.addr;
                dr7 |= s.dr7(i);
            }
        }
        if dr7 != 0 {
            control |= KVM_GUESTDBG_USE_HW_BP;
            regs[7] = dr7;
        }
        if control == KVM_GUESTDBG_ENABLE {
            control = 0;
        }
        if st.applied == Some((control, regs)) {
            return Ok(());
        }
        let mut dbg = kvm_guest_debug {
            control,
            ..Default::default()
        };
        dbg.arch.debugreg = regs;
        self.vcpu
            .set_guest_debug(&dbg)
            .map_err(Error::kvm("setting guest debugging"))?;
        st.applied = Some((control, regs));
        Ok(())
    }

    /// Complete the exit the vCPU stopped at (an `out` is finished only
    /// by the next KVM_RUN: one with immediate_exit finishes it and runs
    /// nothing), then make the registers the host code reads (kvm_run's
    /// sync_regs) the vCPU's own.
    fn settle(&mut self) -> Result<()> {
        self.vcpu.set_kvm_immediate_exit(1);
        let r = self.vcpu.run().map(|_| ());
        self.vcpu.set_kvm_immediate_exit(0);
        match r {
            Err(e) if e.errno() == libc::EINTR => {}
            Err(e) => return Err(Error::kvm("finishing an exit")(e)),
            Ok(()) => {}
        }
        self.refresh_sync_regs()
    }

    /// Read the vCPU's registers into kvm_run's copy, nothing to write.
    fn refresh_sync_regs(&mut self) -> Result<()> {
        let regs = self
            .vcpu
            .get_regs()
            .map_err(Error::kvm("reading registers"))?;
        self.vcpu.clear_sync_dirty_reg(SyncReg::Register);
        self.vcpu.sync_regs_mut().regs = regs;
        Ok(())
    }

    /// Write registers kvm_run's copy holds for the next entry now, so
    /// that gdb reads what the guest will run with.
    fn flush_sync_regs(&mut self) -> Result<()> {
        let regs = self.vcpu.sync_regs().regs;
        self.vcpu
            .set_regs(&regs)
            .map_err(Error::kvm("setting registers"))?;
        self.vcpu.clear_sync_dirty_reg(SyncReg::Register);
        Ok(())
    }

    /// Resume as gdb asks (`signal`: the one gdb passes on, if any), and
    /// run until the next stop or the end.
    pub fn debug_resume(
        &mut self,
        st: &mut DebugState,
        how: Resume,
        signal: Option<u8>,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<DebugEvent> {
        // Where the program's registers are: a frame to return through
        // the kernel, or the vCPU.
        let mut user_frame = None;
        match std::mem::take(&mut st.pending) {
            Pending::Nothing | Pending::SyscallReturn { .. } => {}
            Pending::SyscallEntry { port, entry, nr } => {
                if let Some(outcome) = self.syscall(port, entry, service, tracer)? {
                    return Ok(DebugEvent::Ended(outcome));
                }
                self.flush_sync_regs()?;
                if st.catch.catches(nr) {
                    st.pending = Pending::SyscallReturn { nr };
                    return Ok(DebugEvent::Stop(DebugStop::Syscall { nr, entry: false }));
                }
            }
            Pending::Exception { frame, breakpoint } => {
                if breakpoint || signal.is_none() {
                    user_frame = Some(frame);
                } else if let Some(outcome) = self.user_exception(&frame, service, tracer)? {
                    return Ok(DebugEvent::Ended(outcome));
                } else {
                    // Into a handler (or on, past an ignored signal): the
                    // vCPU is in the kernel's return path.
                    self.flush_sync_regs()?;
                }
            }
        }
        if std::mem::take(&mut st.resume_with_rf) && user_frame.is_none() {
            let mut regs = self.live_regs()?;
            regs.rflags |= RFLAGS_RF;
            self.set_live_regs(&regs)?;
        }
        if how == Resume::Continue {
            if let Some(frame) = user_frame {
                self.resume_full(&frame)?;
            }
            return self.debug_run(st, Resume::Continue, service, tracer);
        }
        match user_frame {
            Some(frame) => self.user_step(st, frame, true, service, tracer),
            None => {
                let regs = self.live_regs()?;
                let sregs = self
                    .vcpu
                    .get_sregs()
                    .map_err(Error::kvm("reading special registers"))?;
                if sregs.cs.selector & 3 == 3 {
                    let frame = TrapFrame {
                        rip: regs.rip,
                        rflags: regs.rflags,
                        ..general_registers(&regs)
                    };
                    self.user_step(st, frame, false, service, tracer)
                } else {
                    self.kernel_step(st, &regs, service, tracer)
                }
            }
        }
    }

    /// The vCPU's general registers, as the next entry will have them.
    fn live_regs(&mut self) -> Result<kvm_bindings::kvm_regs> {
        self.flush_sync_regs()?;
        self.vcpu
            .get_regs()
            .map_err(Error::kvm("reading registers"))
    }

    /// Set the vCPU's general registers (and kvm_run's copy).
    fn set_live_regs(&mut self, regs: &kvm_bindings::kvm_regs) -> Result<()> {
        self.vcpu
            .set_regs(regs)
            .map_err(Error::kvm("setting registers"))?;
        self.refresh_sync_regs()
    }

    /// One instruction of the program at `frame` (a frame to return
    /// through the kernel if `through_kernel`, else the vCPU's own
    /// registers, in ring 3). A `syscall` ends at the kernel's knock;
    /// anything else runs with TF and ends at the guest's #DB after it —
    /// on both KVMs (KVM-PVM does not step ring 3 itself).
    fn user_step(
        &mut self,
        st: &mut DebugState,
        mut frame: TrapFrame,
        through_kernel: bool,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<DebugEvent> {
        const SYSCALL: [u8; 2] = [0x0f, 0x05];
        let mut insn = [0u8; 2];
        let is_syscall = self.debug_read(frame.rip, &mut insn) == 2 && insn == SYSCALL;
        if is_syscall {
            st.step_to_knock = true;
        } else {
            st.tf_step = true;
            frame.rflags |= RFLAGS_TF;
        }
        if through_kernel {
            self.resume_full(&frame)?;
        } else if !is_syscall {
            let mut regs = self.live_regs()?;
            regs.rflags |= RFLAGS_TF;
            self.set_live_regs(&regs)?;
        }
        self.debug_run(st, Resume::Continue, service, tracer)
    }

    /// One instruction of the guest kernel: KVM's single step, but for the
    /// instructions that return to ring 3 (SYSRETQ, IRETQ), which end at
    /// an int3 where they return to (KVM-PVM does not step into ring 3).
    fn kernel_step(
        &mut self,
        st: &mut DebugState,
        regs: &kvm_bindings::kvm_regs,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<DebugEvent> {
        const SYSRETQ: [u8; 3] = [0x48, 0x0f, 0x07];
        const IRETQ: [u8; 2] = [0x48, 0xcf];
        let mut insn = [0u8; 3];
        let n = self.debug_read(regs.rip, &mut insn);
        let target = if n == 3 && insn == SYSRETQ {
            Some(regs.rcx)
        } else if n >= 2 && insn[..2] == IRETQ {
            let mut q = [0u8; 8];
            (self.debug_read(regs.rsp, &mut q) == 8).then(|| u64::from_le_bytes(q))
        } else {
            None
        };
        match target {
            Some(t) if t < crate::space::USER_TOP && self.plant_step_breakpoint(st, t) => {
                self.debug_run(st, Resume::Continue, service, tracer)
            }
            _ => self.debug_run(st, Resume::Step, service, tracer),
        }
    }

    /// A step a kick interrupted (Ctrl-C, or gdb gone) is run to its end,
    /// so that no TF, planted int3 or knock-stop is left behind: bounded,
    /// it ends at the guest's #DB, the int3 or the knock. `Some` if the
    /// run ended meanwhile.
    pub fn finish_step(
        &mut self,
        st: &mut DebugState,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<Option<Outcome>> {
        /// Kicks that may come while the step ends (each one is a byte gdb
        /// sent, and gdb waits for the stop it asked for).
        const KICKS: usize = 64;
        for _ in 0..KICKS {
            if !(st.tf_step || st.step_to_knock || st.step_bp.is_some()) {
                break;
            }
            match self.debug_run_on(st, service, tracer)? {
                DebugEvent::Ended(outcome) => return Ok(Some(outcome)),
                DebugEvent::Kicked | DebugEvent::Stop(_) => {}
            }
        }
        st.running = None;
        Ok(None)
    }

    /// Go on running as before a kick interrupted it.
    pub fn debug_run_on(
        &mut self,
        st: &mut DebugState,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<DebugEvent> {
        let how = st.running.unwrap_or(Resume::Continue);
        self.debug_run(st, how, service, tracer)
    }

    /// Run until a stop for gdb, a kick, or the end. A stop or the end
    /// ends the step in progress.
    fn debug_run(
        &mut self,
        st: &mut DebugState,
        how: Resume,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<DebugEvent> {
        st.running = Some(how);
        let event = self.debug_run_until(st, how, service, tracer);
        if !matches!(event, Ok(DebugEvent::Kicked)) {
            st.running = None;
            st.tf_step = false;
            st.step_to_knock = false;
            if let Some((at, _)) = st.step_bp {
                self.lift_step_breakpoint(st, at);
            }
        }
        event
    }

    /// [`Vm::debug_run`]'s loop.
    fn debug_run_until(
        &mut self,
        st: &mut DebugState,
        how: Resume,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<DebugEvent> {
        self.apply_guest_debug(st, how == Resume::Step)?;
        loop {
            if let Some(reason) = self.stop.reason() {
                return Ok(DebugEvent::Ended(Outcome::Stopped(reason)));
            }
            let outcome = match self.enter()? {
                Exit::Debug { vector, pc, dr6 } => return self.debug_exit(st, vector, pc, dr6),
                Exit::Kicked => {
                    // A kick: a stop (seen at the top), or gdb's bytes.
                    self.vcpu.set_kvm_immediate_exit(0);
                    if self.stop.reason().is_none() {
                        self.refresh_sync_regs()?;
                        return Ok(DebugEvent::Kicked);
                    }
                    continue;
                }
                Exit::Out(port, value) => match Port::try_from(port) {
                    Ok(Port::SyscallLstar | Port::SyscallPageFault) => {
                        let entry = if port == Port::SyscallLstar as u16 {
                            EntryKind::SyscallLstar
                        } else {
                            EntryKind::SyscallPageFault
                        };
                        let regs = self.vcpu.sync_regs().regs;
                        let nr = regs.rax;
                        let caught = st.catch.catches(nr) && nr != crate::syscall::nr::RT_SIGRETURN;
                        // Only the kernel's own knock stops (ring 3's is
                        // the #GP `syscall` reports).
                        if (caught || st.step_to_knock)
                            && self.knock_is_the_kernels(entry, regs.rip)
                        {
                            self.settle()?;
                            st.pending = Pending::SyscallEntry { port, entry, nr };
                            return Ok(DebugEvent::Stop(if caught {
                                DebugStop::Syscall { nr, entry: true }
                            } else {
                                DebugStop::Step
                            }));
                        }
                        self.syscall(port, entry, service, tracer)?
                    }
                    Ok(Port::Hypercall) => {
                        let (decoded, frame) = self.read_hypercall(value)?;
                        if decoded == Decoded::UserException {
                            return self.exception_stop(st, frame);
                        }
                        self.serve_hypercall(port, decoded, frame, service, tracer)?
                    }
                    _ => self.knock(port, value, service, tracer)?,
                },
                Exit::In(port) => Some(self.port_fault(port, tracer)?),
                other => return Err(self.exit_failure(other)),
            };
            if let Some(outcome) = outcome {
                return Ok(DebugEvent::Ended(outcome));
            }
        }
    }

    /// A ring-3 exception the kernel reported, as a stop: the end of a
    /// step (TF's #DB, or a step's int3), one of gdb's software breakpoints
    /// (through the guest), or the signal it raises.
    fn exception_stop(&mut self, st: &mut DebugState, frame: TrapFrame) -> Result<DebugEvent> {
        self.settle()?;
        let hardware = self.int_n_as_hardware_sees_it(&frame);
        let mut frame = hardware.unwrap_or(frame);
        if std::mem::take(&mut st.tf_step) {
            frame.rflags &= !RFLAGS_TF;
            if frame.vector == exception::DB_VECTOR {
                st.pending = Pending::Exception {
                    frame,
                    breakpoint: true,
                };
                return Ok(DebugEvent::Stop(DebugStop::Step));
            }
        }
        let at = frame.rip.wrapping_sub(1);
        if frame.vector == exception::BP_VECTOR {
            let stepped = self.lift_step_breakpoint(st, at);
            let ours = st.sw.get(&at).filter(|_| !st.sw_via_kvm).copied();
            if stepped || ours.is_some() {
                frame.rip = at;
                st.pending = Pending::Exception {
                    frame,
                    breakpoint: true,
                };
                return Ok(DebugEvent::Stop(match ours {
                    _ if stepped => DebugStop::Step,
                    Some(Int3 { sw: false, .. }) => DebugStop::HwBreak,
                    _ => DebugStop::SwBreak,
                }));
            }
        }
        let (signal, _) = hypercall::user_exception(&frame);
        st.pending = Pending::Exception {
            frame,
            breakpoint: false,
        };
        Ok(DebugEvent::Stop(DebugStop::Signal(signal)))
    }

    /// KVM_EXIT_DEBUG: a step, a hardware slot, or (through KVM) an int3.
    fn debug_exit(
        &mut self,
        st: &mut DebugState,
        vector: u32,
        pc: u64,
        dr6: u64,
    ) -> Result<DebugEvent> {
        self.refresh_sync_regs()?;
        if vector == exception::BP_VECTOR as u32 {
            if self.lift_step_breakpoint(st, pc) {
                return Ok(DebugEvent::Stop(DebugStop::Step));
            }
            if st.sw.contains_key(&pc) {
                return Ok(DebugEvent::Stop(DebugStop::SwBreak));
            }
            // The program's own int3, which KVM took: it traps as on
            // Linux, past the instruction.
            let regs = &mut self.vcpu.sync_regs_mut().regs;
            regs.rip = pc.wrapping_add(1);
            self.flush_sync_regs()?;
            return Ok(DebugEvent::Stop(DebugStop::Signal(Signal::SIGTRAP)));
        }
        for (i, slot) in st.hw.iter().enumerate() {
            let Some(s) = slot else { continue };
            if dr6 & (1 << i) == 0 {
                continue;
            }
            return Ok(DebugEvent::Stop(match s.watch {
                None => {
                    st.resume_with_rf = true;
                    DebugStop::HwBreak
                }
                Some(kind) => DebugStop::Watch { kind, addr: s.addr },
            }));
        }
        if std::mem::take(&mut st.tf_step) {
            // Our TF step, its #DB taken by KVM (it takes every #DB while
            // a debug register is in use): TF off again.
            self.vcpu.sync_regs_mut().regs.rflags &= !RFLAGS_TF;
            self.flush_sync_regs()?;
            return Ok(DebugEvent::Stop(DebugStop::Step));
        }
        if dr6 & DR6_BS != 0
            || st
                .applied
                .is_some_and(|(c, _)| c & KVM_GUESTDBG_SINGLESTEP != 0)
        {
            return Ok(DebugEvent::Stop(DebugStop::Step));
        }
        // The program's own #DB (its TF, `int1`), which KVM took because a
        // debug register is in use: a SIGTRAP stop (not delivered to the
        // program: gdb's resume goes on past it).
        Ok(DebugEvent::Stop(DebugStop::Signal(Signal::SIGTRAP)))
    }

    /// The registers gdb sees now.
    pub fn debug_regs(&self, st: &DebugState) -> Result<DebugRegs> {
        let sregs = self
            .vcpu
            .get_sregs()
            .map_err(Error::kvm("reading special registers"))?;
        let frame = match st.pending {
            Pending::Exception { frame, .. } => frame,
            _ => {
                let r = self
                    .vcpu
                    .get_regs()
                    .map_err(Error::kvm("reading registers"))?;
                TrapFrame {
                    rip: r.rip,
                    rflags: r.rflags,
                    cs: sregs.cs.selector.into(),
                    ss: sregs.ss.selector.into(),
                    ..general_registers(&r)
                }
            }
        };
        Ok(DebugRegs {
            frame,
            data_selectors: [
                sregs.ds.selector,
                sregs.es.selector,
                sregs.fs.selector,
                sregs.gs.selector,
            ],
            fs_base: sregs.fs.base,
            gs_base: sregs.gs.base,
        })
    }

    /// Write what gdb changed: general registers, rip and rflags (into the
    /// program's frame at an exception, else into the vCPU), and the
    /// fs/gs bases. Selectors stay as they are: the guest kernel owns the
    /// GDT.
    pub fn set_debug_regs(&mut self, st: &mut DebugState, regs: &DebugRegs) -> Result<()> {
        let f = &regs.frame;
        if let Pending::Exception { frame, .. } = &mut st.pending {
            macro_rules! copy {
                ([$($g:ident)*] [$($c:ident)*]) => { $(frame.$g = f.$g;)* };
            }
            microvm_abi::trap_frame_registers!(copy);
            frame.rip = f.rip;
            frame.rflags = f.rflags;
        } else {
            let mut r = self
                .vcpu
                .get_regs()
                .map_err(Error::kvm("reading registers"))?;
            macro_rules! copy {
                ([$($g:ident)*] [$($c:ident)*]) => { $(r.$g = f.$g;)* };
            }
            microvm_abi::trap_frame_registers!(copy);
            r.rip = f.rip;
            r.rflags = f.rflags;
            self.vcpu
                .set_regs(&r)
                .map_err(Error::kvm("setting registers"))?;
            self.refresh_sync_regs()?;
        }
        let mut sregs = self
            .vcpu
            .get_sregs()
            .map_err(Error::kvm("reading special registers"))?;
        if (sregs.fs.base, sregs.gs.base) != (regs.fs_base, regs.gs_base) {
            sregs.fs.base = regs.fs_base;
            sregs.gs.base = regs.gs_base;
            self.vcpu
                .set_sregs(&sregs)
                .map_err(Error::kvm("setting special registers"))?;
        }
        Ok(())
    }

    /// The vCPU's extended state (x87, SSE, AVX), in XSAVE's standard form.
    pub fn debug_xsave(&self) -> Result<kvm_bindings::kvm_xsave> {
        self.vcpu
            .get_xsave()
            .map_err(Error::kvm("reading the FPU state"))
    }

    /// Write the extended state back.
    pub fn set_debug_xsave(&mut self, xsave: &kvm_bindings::kvm_xsave) -> Result<()> {
        // SAFETY: `xsave` came from KVM_GET_XSAVE of this vCPU, changed
        // only in its register bytes.
        unsafe { self.vcpu.set_xsave(xsave) }.map_err(Error::kvm("setting the FPU state"))
    }

    /// Read guest virtual memory as a debugger does (any present page,
    /// user or kernel) into `buf`; returns how many bytes could be read
    /// (fewer at the first unmapped page).
    pub fn debug_read(&self, addr: u64, buf: &mut [u8]) -> usize {
        self.debug_access(addr, buf.len(), |phys, at, n| {
            self.ram
                .mem()
                .read_slice(&mut buf[at..at + n], vm_memory::GuestAddress(phys))
                .is_ok()
        })
    }

    /// Write guest virtual memory as a debugger does (read-only and kernel
    /// pages too); returns how many bytes were written.
    pub fn debug_write(&self, addr: u64, bytes: &[u8]) -> usize {
        self.debug_access(addr, bytes.len(), |phys, at, n| {
            self.ram
                .mem()
                .write_slice(&bytes[at..at + n], vm_memory::GuestAddress(phys))
                .is_ok()
        })
    }

    /// Visit `[addr, addr + len)` page by page with `copy(phys, offset,
    /// length)` until a page is not there or a copy fails.
    fn debug_access(
        &self,
        addr: u64,
        len: usize,
        mut copy: impl FnMut(u64, usize, usize) -> bool,
    ) -> usize {
        let mut done = 0;
        while done < len {
            let a = addr.wrapping_add(done as u64);
            let n = (len - done).min((PAGE_SIZE - a % PAGE_SIZE) as usize);
            let Some(phys) = crate::arch::paging::translate(
                &self.ram,
                self.cr3,
                a,
                crate::arch::paging::Access::Debugger,
            ) else {
                break;
            };
            if !copy(phys, done, n) {
                break;
            }
            done += n;
        }
        done
    }

    /// Insert a software breakpoint at `addr`: false if there is no
    /// instruction byte there to replace, or (through the guest) it is a
    /// kernel address — the guest kernel cannot take its own int3.
    pub fn add_sw_breakpoint(&mut self, st: &mut DebugState, addr: u64) -> bool {
        self.add_int3(st, addr, false)
    }

    /// Take a software breakpoint out, putting the byte back.
    pub fn remove_sw_breakpoint(&mut self, st: &mut DebugState, addr: u64) -> bool {
        self.remove_int3(st, addr, false)
    }

    /// Insert a hardware breakpoint: in a debug-address register where
    /// KVM uses them, else (KVM-PVM, whose ring 3 never fires them) as an
    /// int3 through the guest kernel, reported as a hardware breakpoint.
    pub fn add_hw_breakpoint(&mut self, st: &mut DebugState, addr: u64) -> bool {
        if st.sw_via_kvm {
            st.add_hw(HwSlot::breakpoint(addr))
        } else {
            self.add_int3(st, addr, true)
        }
    }

    /// Take a hardware breakpoint out.
    pub fn remove_hw_breakpoint(&mut self, st: &mut DebugState, addr: u64) -> bool {
        if st.sw_via_kvm {
            st.remove_hw(HwSlot::breakpoint(addr))
        } else {
            self.remove_int3(st, addr, true)
        }
    }

    /// Insert a watchpoint: in a debug-address register where KVM uses
    /// them; else (KVM-PVM) a write watchpoint kept in software — the
    /// program then runs a step at a time and stops when the bytes
    /// change, as gdb's own software watchpoints do. Read and access
    /// watchpoints need the debug registers: false there.
    pub fn add_watchpoint(&mut self, st: &mut DebugState, slot: HwSlot) -> bool {
        if st.sw_via_kvm {
            return st.add_hw(slot);
        }
        if slot.watch != Some(WatchKind::Write) || st.soft_watch.len() >= HW_SLOTS {
            return false;
        }
        let mut now = vec![0u8; slot.len as usize];
        if self.debug_read(slot.addr, &mut now) != now.len() {
            return false;
        }
        st.soft_watch.push((slot, now));
        true
    }

    /// Take a watchpoint out.
    pub fn remove_watchpoint(&mut self, st: &mut DebugState, slot: HwSlot) -> bool {
        if st.sw_via_kvm {
            return st.remove_hw(slot);
        }
        let before = st.soft_watch.len();
        st.soft_watch.retain(|(s, _)| *s != slot);
        st.soft_watch.len() != before
    }

    /// After a step of a continue that watches in software: the first
    /// watchpoint whose bytes changed (it keeps the new ones), if any.
    pub fn soft_watch_hit(&mut self, st: &mut DebugState) -> Option<DebugStop> {
        let mut hit = None;
        for (slot, seen) in &mut st.soft_watch {
            let mut now = vec![0u8; seen.len()];
            let n = self.debug_read(slot.addr, &mut now);
            if n == now.len() && now != *seen {
                *seen = now;
                hit = hit.or(Some(DebugStop::Watch {
                    kind: WatchKind::Write,
                    addr: slot.addr,
                }));
            }
        }
        hit
    }

    /// An int3 at `addr` for a breakpoint (`hw`: a hardware one).
    fn add_int3(&mut self, st: &mut DebugState, addr: u64, hw: bool) -> bool {
        if let Some(b) = st.sw.get_mut(&addr) {
            if hw {
                b.hw = true;
            } else {
                b.sw = true;
            }
            return true;
        }
        if !st.sw_via_kvm && addr >= crate::space::USER_TOP {
            return false;
        }
        let mut old = [0u8];
        if self.debug_read(addr, &mut old) != 1 || self.debug_write(addr, &[INT3]) != 1 {
            return false;
        }
        st.sw.insert(
            addr,
            Int3 {
                old: old[0],
                sw: !hw,
                hw,
            },
        );
        true
    }

    /// Take one breakpoint's int3 out; the byte goes back with the last.
    fn remove_int3(&mut self, st: &mut DebugState, addr: u64, hw: bool) -> bool {
        let Some(b) = st.sw.get_mut(&addr) else {
            return false;
        };
        if hw {
            b.hw = false;
        } else {
            b.sw = false;
        }
        if b.sw || b.hw {
            return true;
        }
        let old = b.old;
        st.sw.remove(&addr);
        self.debug_write(addr, &[old]) == 1
    }

    /// gdb is gone (detach, or its connection lost): every breakpoint out,
    /// KVM's debugging off, and what the vCPU was in the middle of
    /// finished as without gdb. `Some` if that ended the run.
    pub fn debug_detach(
        &mut self,
        st: &mut DebugState,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<Option<Outcome>> {
        for (addr, b) in std::mem::take(&mut st.sw) {
            self.debug_write(addr, &[b.old]);
        }
        st.hw = [None; HW_SLOTS];
        st.soft_watch.clear();
        st.catch = Catch::Off;
        self.apply_guest_debug(st, false)?;
        match std::mem::take(&mut st.pending) {
            Pending::Nothing | Pending::SyscallReturn { .. } => Ok(None),
            Pending::SyscallEntry { port, entry, .. } => self.syscall(port, entry, service, tracer),
            Pending::Exception {
                frame,
                breakpoint: true,
            } => self.resume_full(&frame).map(|()| None),
            Pending::Exception { frame, .. } => self.user_exception(&frame, service, tracer),
        }
    }

    /// The auxiliary vector the program started with (read from its
    /// initial stack, before it ran).
    pub fn initial_auxv(&self) -> Vec<u8> {
        /// More environment strings than the loader ever writes.
        const MAX_ENV: usize = 1 << 16;
        let Ok(info) = self.ram.read_obj::<BootInfo>(BOOT_INFO) else {
            return vec![];
        };
        let mem = UserMemory::new(&self.ram, self.cr3);
        let word = |at: u64| {
            let mut w = [0u8; 8];
            mem.read(at, &mut w).ok().map(|()| u64::from_le_bytes(w))
        };
        let Some(argc) = word(info.user_stack) else {
            return vec![];
        };
        let envp = info.user_stack.saturating_add(8 * argc.saturating_add(2));
        let envc = (0..MAX_ENV)
            .take_while(|i| word(envp + 8 * *i as u64).is_some_and(|p| p != 0))
            .count();
        crate::syscall::procself::auxv(&mem, info.user_stack, argc as usize, envc)
    }

    /// Whether KVM takes the program's int3 itself when asked to
    /// (KVM_GUESTDBG_USE_SW_BP): run a program that starts with one and
    /// see how KVM reports it. KVM-PVM ends it in KVM_EXIT_INTERNAL_ERROR.
    pub fn probe_sw_breakpoints(&mut self) -> bool {
        let dbg = kvm_guest_debug {
            control: KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP,
            ..Default::default()
        };
        if self.vcpu.set_guest_debug(&dbg).is_err() {
            return false;
        }
        matches!(self.vcpu.run(), Ok(VcpuExit::Debug(arch)) if u64::from(arch.exception) == exception::BP_VECTOR)
    }

    /// gdb killed the program.
    pub fn debug_kill(&mut self, tracer: &mut Tracer) -> Outcome {
        let signal = Signal::SIGKILL;
        tracer.end(None, Some(signal));
        Outcome::Killed {
            signal,
            reason: "killed from gdb".into(),
        }
    }
}
