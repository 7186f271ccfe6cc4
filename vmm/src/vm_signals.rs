//! Signal delivery and rt_sigreturn on the vCPU: the cold paths the run
//! loop takes when a signal is pending and not blocked after a syscall,
//! when ring 3 faults, and for rt_sigreturn. The frame itself is
//! [`crate::syscall::sigframe`]'s, the signal state the service's.
//!
//! The extended state is read (KVM_GET_XSAVE) and written (KVM_SET_XSAVE)
//! only here, never on the syscall hot path. Returning with registers the
//! SYSRETQ path cannot carry (rcx, r11, a handler's rdi/rsi/rdx with the
//! interrupted rax...) goes through the kernel's full return
//! (`KernelHeader::full_return`).

use super::{Outcome, Vm};
use crate::error::{Error, Result};
use crate::exception::{DefaultAction, SigInfo, Signal};
use crate::syscall::sigframe::{self, Delivery, FpuLayout, XComponent};
use crate::syscall::signal::{Disposal, Sent, ERESTARTNOHAND};
use crate::syscall::{Disposition, SyscallService};
use crate::trace::{signal::SentSignal, Tracer};
use crate::usermem::UserMemory;
use kvm_ioctls::SyncReg;
use microvm_abi::layout::{kernel_virt, KERNEL_STACK_TOP, SHARED_PAGE};
use microvm_abi::{selector, TrapFrame, FULL_RETURN_FRAME};

/// Bytes of KVM_GET_XSAVE's area.
const XSAVE_AREA: usize = std::mem::size_of::<kvm_bindings::kvm_xsave>();

/// A signal about to be delivered, and where it came from.
#[derive(Debug, Clone)]
pub(super) enum Pending {
    /// Sent by kill/tkill/tgkill (or as if by kill: SIGPIPE).
    Sent(Sent),
    /// Raised by a ring-3 exception in `frame`; `reason` says what
    /// happened, for a program it kills.
    Fault {
        info: SigInfo,
        frame: TrapFrame,
        reason: String,
    },
    /// Forced by the kernel with no fault behind it (`force_sigsegv`: a
    /// frame it could not write or read back).
    Kernel { info: SigInfo, reason: String },
}

impl Pending {
    fn signal(&self) -> Signal {
        match self {
            Pending::Sent(s) => s.signal,
            Pending::Fault { info, .. } | Pending::Kernel { info, .. } => info.signal,
        }
    }
}

/// What the program does after its signals were dealt with.
pub(super) enum Step {
    /// Nothing changed: resume as the caller planned.
    Unchanged,
    /// Resume with these registers (a handler's entry, or the state
    /// rt_sigreturn restored).
    Resume(TrapFrame),
    /// The program ended.
    End(Outcome),
}

impl Vm {
    /// The extended-state layout of signal frames, worked out the first
    /// time a signal needs it (a program that never takes one never pays
    /// for the CPUID it reads).
    fn fpu_layout(&mut self) -> FpuLayout {
        *self
            .fpu
            .get_or_insert_with(|| fpu_layout(&self.cpuid, self.xcr0))
    }

    /// The program's extended state, as KVM_GET_XSAVE reads it; the
    /// MXCSR mask in it is kept the first time.
    fn xsave_bytes(&mut self) -> Result<Vec<u8>> {
        let x = self
            .vcpu
            .get_xsave()
            .map_err(Error::kvm("reading the FPU state"))?;
        let mut layout = self.fpu_layout();
        if layout.mxcsr_mask == 0 {
            layout.mxcsr_mask = match x.region[7] {
                0 => sigframe::DEFAULT_MXCSR_MASK,
                m => m,
            };
            self.fpu = Some(layout);
        }
        Ok(x.region.iter().flat_map(|w| w.to_le_bytes()).collect())
    }

    /// Load `bytes` (a standard-format XSAVE area) into the vCPU.
    fn set_xsave_bytes(&self, bytes: &[u8]) -> std::result::Result<(), kvm_ioctls::Error> {
        let mut x = kvm_bindings::kvm_xsave::default();
        for (w, c) in x.region.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        // SAFETY: `x` is a whole kvm_xsave of the size KVM_SET_XSAVE takes.
        unsafe { self.vcpu.set_xsave(&x) }
    }

    /// Return to ring 3 with every register of `regs` (its general
    /// registers, rip, rflags, rsp; cs and ss the user's): the shared
    /// frame and an IRETQ frame on the kernel stack, the vCPU sent to the
    /// kernel's full return.
    pub(super) fn resume_full(&mut self, regs: &TrapFrame) -> Result<()> {
        let mut shared: TrapFrame = self.ram.read_obj(SHARED_PAGE)?;
        macro_rules! copy {
            ([$($g:ident)*] [$($c:ident)*]) => { $(shared.$g = regs.$g;)* };
        }
        microvm_abi::trap_frame_registers!(copy);
        shared.rip = regs.rip;
        shared.rflags = regs.rflags;
        shared.rsp = regs.rsp;
        self.ram.write_obj(SHARED_PAGE, shared)?;
        let at = KERNEL_STACK_TOP - FULL_RETURN_FRAME;
        let iret = [
            0,
            0,
            regs.rip,
            u64::from(selector::USER_CS),
            regs.rflags,
            regs.rsp,
            u64::from(selector::USER_DS),
        ];
        for (i, q) in iret.into_iter().enumerate() {
            self.ram.write_obj(at + 8 * i as u64, q)?;
        }
        let r = &mut self.vcpu.sync_regs_mut().regs;
        r.rsp = kernel_virt(at);
        r.rip = self.kernel.header.full_return;
        self.vcpu.set_sync_dirty_reg(SyncReg::Register);
        Ok(())
    }

    /// Return from a syscall into a signal handler with `regs` (its entry
    /// state): through the kernel's SYSRETQ as any syscall returns, rip
    /// and rflags in rcx and r11 (their values are no part of a handler's
    /// entry), so the hot return path's cost is all it adds. A handler
    /// outside user space goes through the full return.
    pub(super) fn resume_in_handler(&mut self, regs: &TrapFrame) -> Result<()> {
        if regs.rip >= crate::space::USER_TOP {
            return self.resume_full(regs);
        }
        let r = &mut self.vcpu.sync_regs_mut().regs;
        macro_rules! copy {
            ([$($g:ident)*] [$($c:ident)*]) => { $(r.$g = regs.$g;)* };
        }
        microvm_abi::trap_frame_registers!(copy);
        r.rcx = regs.rip;
        r.r11 = regs.rflags;
        self.vcpu.set_sync_dirty_reg(SyncReg::Register);
        Ok(())
    }

    /// Deliver `first` (a fault's signal), then every pending unblocked
    /// signal, to the program interrupted with `regs`: each is traced as
    /// strace shows it, then ignored, ends the program, or gets a frame
    /// and its handler (the last one set up runs first, as on Linux).
    /// `syscall` is the number of the syscall the program is returning
    /// from, if any: one interrupted with `ERESTARTNOHAND` fails with EINTR
    /// when a handler runs, else starts again.
    pub(super) fn deliver(
        &mut self,
        regs: &TrapFrame,
        first: Option<Pending>,
        syscall: Option<u64>,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<Step> {
        let mut regs = *regs;
        let restart = syscall.filter(|_| regs.rax as i64 == -ERESTARTNOHAND);
        if restart.is_some() {
            regs.rax = (-(libc::EINTR as i64)) as u64;
        }
        let mut changed = false;
        let mut fpu: Option<Vec<u8>> = None;
        let mut next = first;
        // Each round takes one pending signal (or a forced SIGSEGV, which
        // reverts to the default action when it fails again): bounded.
        for _ in 0..=2 * crate::exception::NSIG {
            let signals = service.signals_mut();
            let pending = match next.take() {
                Some(p) => p,
                None => match signals.take_next() {
                    Some(s) => Pending::Sent(s),
                    None => break,
                },
            };
            let signal = pending.signal();
            self.trace_signal(&pending, tracer);
            let action = match service.signals().disposal(signal) {
                Disposal::Ignore
                | Disposal::Default(DefaultAction::Ignore | DefaultAction::Stop) => continue,
                Disposal::Default(_) => {
                    tracer.end(None, Some(signal));
                    return Ok(Step::End(Outcome::Killed {
                        signal,
                        reason: kill_reason(&pending),
                    }));
                }
                Disposal::Handler(a) => a,
            };
            let current = match fpu.take() {
                Some(f) => f,
                None => self.xsave_bytes()?,
            };
            let (info, fault) = match &pending {
                Pending::Sent(s) => {
                    let mut b = sigframe::siginfo_bytes(
                        signal,
                        s.code,
                        u64::from(s.pid as u32) | u64::from(s.uid) << 32,
                    );
                    if let Some(v) = s.value {
                        b[24..32].copy_from_slice(&v.to_le_bytes());
                    }
                    (b, None)
                }
                Pending::Fault { info, frame, .. } => (
                    sigframe::siginfo_bytes(signal, info.code, info.addr),
                    Some((frame.vector, frame.error_code, frame.cr2)),
                ),
                Pending::Kernel { info, .. } => {
                    (sigframe::siginfo_bytes(signal, info.code, info.addr), None)
                }
            };
            let d = Delivery {
                signal,
                action,
                info,
                fault,
            };
            let signals = service.signals_mut();
            let mask = signals.mask_to_save();
            let layout = self.fpu_layout();
            let mem = UserMemory::new(&self.ram, self.cr3);
            match sigframe::build(&mem, &regs, &current, &layout, &d, mask, signals.altstack()) {
                Ok(entered) => {
                    signals.enter_handler(signal, &action);
                    if entered.disarm {
                        signals.set_altstack(Default::default());
                    }
                    regs = entered.regs;
                    fpu = Some(sigframe::init_fpu(&current));
                    changed = true;
                }
                Err(_) => {
                    // Linux's force_sigsegv: a SIGSEGV handler that cannot
                    // be entered is dropped.
                    if signal == Signal::SIGSEGV {
                        signals.reset(signal);
                    }
                    signals.force(Signal::SIGSEGV);
                    fpu = Some(current);
                    next = Some(Pending::Kernel {
                        info: SigInfo::kernel(Signal::SIGSEGV),
                        reason: format!(
                            "no room for the {} frame at rsp {:#x} (handler {:#x})",
                            signal.name(),
                            regs.rsp,
                            action.handler
                        ),
                    });
                }
            }
        }
        service.signals_mut().restore_saved();
        if !changed {
            if let Some(nr) = restart {
                // No handler ran: the call starts again (`syscall` is
                // two bytes).
                regs.rax = nr;
                regs.rip = regs.rip.wrapping_sub(2);
                return Ok(Step::Resume(regs));
            }
            return Ok(Step::Unchanged);
        }
        if let Some(f) = fpu {
            self.set_xsave_bytes(&f)
                .map_err(Error::kvm("setting the FPU state"))?;
        }
        Ok(Step::Resume(regs))
    }

    /// Trace the delivery of `p` as strace shows it.
    fn trace_signal(&self, p: &Pending, tracer: &mut Tracer) {
        match p {
            Pending::Sent(s) => tracer.sent_signal(&SentSignal {
                signal: s.signal,
                code: s.code,
                pid: s.pid.into(),
                uid: s.uid,
                value: s.value,
            }),
            Pending::Fault { info, frame, .. } => tracer.exception(frame, info),
            Pending::Kernel { info, .. } => tracer.kernel_signal(info),
        }
    }

    /// rt_sigreturn from the program at `frame` (the syscall's entry
    /// state): restore registers, mask, alternate stack and extended state
    /// from the signal frame, traced with the restored rax as its result;
    /// a frame that cannot be read back or returned to is SIGSEGV.
    pub(super) fn sigreturn(
        &mut self,
        frame: &TrapFrame,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<Option<Outcome>> {
        // Only the MXCSR mask of the current state matters: read once (a
        // delivery has usually read it already), then no ioctl.
        if self.fpu_layout().mxcsr_mask == 0 {
            self.xsave_bytes()?;
        }
        let layout = self.fpu_layout();
        let current = layout.blank_area(XSAVE_AREA);
        let mem = UserMemory::new(&self.ram, self.cr3);
        let restored = sigframe::read(&mem, frame.rsp, frame.rflags, &current, &layout);
        // Linux's badframe returns 0; a frame IRETQ then refuses returns
        // what it restored.
        let result = match &restored {
            Ok(r) if r.fpu.is_some() => r.regs.rax as i64,
            _ => 0,
        };
        tracer.enter(frame, service);
        tracer.served(&mem, frame, Disposition::Return(result), service);
        tracer.syscall(&mem, frame, Disposition::Return(result));
        if tracer.failed() {
            if let Some(reason) = self.stop.reason() {
                return Ok(Some(Outcome::Stopped(reason)));
            }
            return super::trace_failure(tracer);
        }
        let (regs, first) = match restored {
            Ok(r) => {
                let signals = service.signals_mut();
                signals.set_blocked(r.mask);
                signals.restore_altstack(&r.altstack, r.regs.rsp);
                let ok = match &r.fpu {
                    Some(f) => self.set_xsave_bytes(f).is_ok(),
                    None => false,
                };
                let regs = TrapFrame {
                    rax: result as u64,
                    ..r.regs
                };
                let first = (!ok || !r.returnable).then(|| bad_frame(frame.rsp));
                (regs, first)
            }
            Err(_) => {
                let regs = TrapFrame { rax: 0, ..*frame };
                (regs, Some(bad_frame(frame.rsp)))
            }
        };
        if first.is_some() {
            service.signals_mut().force(Signal::SIGSEGV);
        }
        match self.deliver(&regs, first, None, service, tracer)? {
            Step::End(o) => Ok(Some(o)),
            Step::Resume(r) => self.resume_in_handler(&r).map(|()| None),
            // As Linux's syscall exit: SYSRETQ when it restores exactly
            // these registers (rcx = rip and r11 = rflags, as after the
            // syscall a signal interrupted), else the full return.
            Step::Unchanged if sysret_restores(&regs) => {
                self.resume_in_handler(&regs).map(|()| None)
            }
            Step::Unchanged => self.resume_full(&regs).map(|()| None),
        }
    }
}

/// True when SYSRETQ returns to exactly `r`: rcx holds rip and r11 rflags
/// (SYSRETQ loads them from there), rip in user space, neither RF nor TF
/// set (Linux's `syscall_exit` check).
fn sysret_restores(r: &TrapFrame) -> bool {
    const RF_TF: u64 = 0x1_0000 | 0x100;
    r.rcx == r.rip && r.r11 == r.rflags && r.rip < crate::space::USER_TOP && r.rflags & RF_TF == 0
}

/// The SIGSEGV of a signal frame rt_sigreturn could not use.
fn bad_frame(rsp: u64) -> Pending {
    Pending::Kernel {
        info: SigInfo::kernel(Signal::SIGSEGV),
        reason: format!(
            "rt_sigreturn with a bad signal frame at {:#x}",
            rsp.wrapping_sub(8)
        ),
    }
}

/// The one line saying why `p` ended the program.
fn kill_reason(p: &Pending) -> String {
    match p {
        Pending::Sent(s) if s.signal == Signal::SIGPIPE && s.code == libc::SI_USER => {
            "write to a pipe with no reader".into()
        }
        Pending::Sent(s) => format!(
            "{} sent by the program itself ({})",
            s.signal.name(),
            if s.code == libc::SI_TKILL {
                "tkill/tgkill"
            } else {
                "kill"
            }
        ),
        Pending::Fault { reason, .. } | Pending::Kernel { reason, .. } => reason.clone(),
    }
}

/// CPUID.(EAX=0xD, ECX=1):EAX.XSAVEC.
const XSAVEC: u32 = 1 << 1;

/// The host CPU itself has XSAVEC.
fn host_has_xsavec() -> bool {
    // CPUID exists on every x86-64 CPU and only reads. (It costs a few
    // microseconds where the host is itself a VM: asked at the first
    // signal only.)
    std::arch::x86_64::__cpuid(0).eax >= 0xd
        && std::arch::x86_64::__cpuid_count(0xd, 1).eax & XSAVEC != 0
}

/// The extended-state layout for XCR0 `xcr0` (0 without XSAVE), from the
/// CPUID leaf 0xD subleaves KVM reports (offset and size of each
/// component in the standard format). KVM-PVM offers no XSAVE in CPUID
/// leaf 1, yet ring 3 runs on the host CPU with AVX, and KVM keeps that
/// state (leaf 0xD lists it, AVX-512 too where the host has it): the frame
/// carries all KVM keeps, as Linux's on that host would, so that a
/// handler's use of any of it is undone by sigreturn.
pub(super) fn fpu_layout(cpuid: &kvm_bindings::CpuId, xcr0: u64) -> FpuLayout {
    // Read from the vCPU when first needed (no ioctl at start-up).
    let mxcsr_mask = 0;
    let leaf = |i: u32| {
        cpuid
            .as_slice()
            .iter()
            .find(|e| e.function == 0xd && e.index == i)
    };
    let kept = leaf(0).map_or(0, |e| u64::from(e.eax));
    let xcr0 = if xcr0 != 0 { xcr0 } else { kept };
    if xcr0 & 0b11 != 0b11 {
        return FpuLayout {
            mxcsr_mask,
            ..FpuLayout::FXSAVE
        };
    }
    // Sub-leaf 1 EAX bit 1: XSAVEC (and XRSTOR's compacted form). Where
    // KVM's table leaves it out, ring 3 may still have it: on KVM-PVM the
    // program's own CPUID is the host CPU's, and hardware KVM does not
    // stop XSAVEC. The area a frame holds is the CPU's to judge.
    let compacted = leaf(1).is_some_and(|e| e.eax & XSAVEC != 0) || host_has_xsavec();
    let components = (2..63).filter_map(|i| {
        leaf(i).map(|e| {
            let place = XComponent {
                offset: e.ebx,
                size: e.eax,
                aligned: e.ecx & 0b10 != 0,
            };
            (i, place)
        })
    });
    FpuLayout {
        mxcsr_mask,
        // KVM_GET_XSAVE's area is 4096 bytes.
        ..FpuLayout::with_xsave(xcr0, compacted, components, XSAVE_AREA - 4)
    }
}
