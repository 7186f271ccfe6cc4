//! The KVM VM: creating it, laying out the guest, and the vCPU run loop,
//! which dispatches the kernel's hypercalls.
//!
//! The hot path of a syscall is one KVM_RUN exit on a syscall port: the
//! VMM reads the user registers from kvm_run's sync_regs (no KVM_GET_REGS),
//! checks that the knock came from the kernel's own `out`, serves and logs
//! the syscall, writes rax back the same way and re-enters. No allocation
//! and no other ioctl happens there.

use crate::arch::paging::{PageFlags, PageTables};
use crate::arch::{gdt, idt, regs};
use crate::error::{Error, Result};
use crate::exception::{self, FaultState, FpuStatus, SigInfo, Signal};
use crate::hypercall::{self, Decoded};
use crate::loader::{self, LoadedKernel};
use crate::memory::{FrameAllocator, GuestRam};
use crate::space::AddressSpace;
use crate::stop::{StopHandle, StopReason};
use crate::syscall::{Disposition, Guest, KernelRequests, SyscallService};
use crate::trace::{execve::Exec, Tracer};
use crate::usermem::UserMemory;
use kvm_bindings::{CpuId, Msrs, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Kvm, SyncReg, VcpuExit, VcpuFd, VmFd};
use microvm_abi::layout::{
    kernel_virt, BOOT_INFO, COMPAT_ENTRY_ALIAS, CPU_TABLES, DB_STACK_BOTTOM, DB_STACK_TOP,
    DF_STACK_BOTTOM, DF_STACK_TOP, GDT, IDT, KERNEL_BASE, KERNEL_END, KERNEL_LOAD,
    KERNEL_STACK_BOTTOM, KERNEL_STACK_TOP, PAGE_SIZE, PF_USER_RSP, SHARED_PAGE, TSS,
};
use microvm_abi::{
    selector, BenchMode, BootInfo, EntryKind, Port, TrapFrame, ABI_VERSION, BENCH_SYSCALL,
    BOOT_MAGIC, SHARED_FS_BASE_OFFSET, SHARED_GS_BASE_OFFSET, SHARED_REQUESTS_OFFSET,
};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[path = "vm_signals.rs"]
mod signals;

#[path = "vm_debug.rs"]
pub mod debug;

/// What to run.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// Guest memory in bytes.
    pub memory: u64,
    /// A kernel image to use instead of the built-in one.
    pub kernel: Option<PathBuf>,
    /// The program.
    pub program: PathBuf,
    /// Its arguments after argv[0].
    pub args: Vec<String>,
    /// Its environment, KEY=VALUE.
    pub env: Vec<String>,
}

pub use crate::loader::Start;

/// An image to load, and the name errors call it by.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    /// Its bytes.
    pub bytes: loader::ImageBytes<'a>,
    /// Its file name.
    pub name: &'a Path,
}

/// A benchmark kernel path and its iteration count (see [`BenchMode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bench {
    /// Which path.
    pub mode: BenchMode,
    /// Iterations, for [`BenchMode::BareExit`].
    pub iterations: u64,
}

impl Default for Bench {
    fn default() -> Self {
        Bench {
            mode: BenchMode::Off,
            iterations: 0,
        }
    }
}

/// Counts of what happened in a run, by kind of transition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Syscalls that entered through LSTAR in ring 0 (hardware KVM).
    pub syscalls_lstar: u64,
    /// Syscalls that entered through the #PF at LSTAR (KVM-PVM).
    pub syscalls_page_fault: u64,
    /// Exceptions taken in ring 3.
    pub exceptions: u64,
    /// Null hypercalls (benchmark modes only).
    pub null_hypercalls: u64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The program called exit or exit_group with this status.
    Exited(i32),
    /// microvm stopped the program from outside (timeout, SIGINT, SIGTERM).
    Stopped(StopReason),
    /// The program was ended by an exception, as by this signal.
    Killed {
        /// The signal Linux would have sent.
        signal: Signal,
        /// One line saying why.
        reason: String,
    },
    /// The program made a call that waits for something that can never
    /// happen in this process (see `Disposition::WaitsForever`): the run
    /// ended rather than hang, as a `timeout` would have ended it natively.
    WaitsForever {
        /// The call, as the trace shows it (`futex(0x4a62d0,
        /// FUTEX_WAIT_PRIVATE, 0, NULL)`).
        call: String,
        /// Why nothing can end the wait ("with no other thread to wake it").
        why: &'static str,
    },
}

/// microvm's exit status for [`Outcome::WaitsForever`]: 124, as
/// `timeout(1)` (or `--timeout`) would end the same program natively —
/// only sooner.
pub const WAITS_FOREVER_STATUS: i32 = 124;

impl Outcome {
    /// The exit status microvm ends with.
    pub fn exit_status(&self) -> i32 {
        match self {
            Outcome::Exited(s) => *s,
            Outcome::Killed { signal, .. } => signal.exit_status(),
            Outcome::Stopped(reason) => reason.exit_status(),
            Outcome::WaitsForever { .. } => WAITS_FOREVER_STATUS,
        }
    }
}

/// Open /dev/kvm with errors a user can act on.
pub fn open_kvm() -> Result<Kvm> {
    Kvm::new().map_err(|e| match e.errno() {
        libc_errno::ENOENT | libc_errno::ENODEV => Error::NoKvm,
        libc_errno::EACCES | libc_errno::EPERM => Error::KvmPermission,
        _ => Error::KvmOpen(e),
    })
}

mod libc_errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const EACCES: i32 = 13;
    pub const ENODEV: i32 = 19;
}

/// A guest ready to run.
pub struct Vm {
    _kvm: Kvm,
    _vm: VmFd,
    vcpu: VcpuFd,
    ram: GuestRam,
    space: AddressSpace,
    cr3: u64,
    /// The last hypercall ticket the kernel issued.
    ticket: u64,
    stats: Stats,
    stop: StopHandle,
    bench: BenchMode,
    kernel: LoadedKernel,
    /// The extended-state layout of signal frames: worked out from
    /// `cpuid` and `xcr0` at the first signal (see [`Vm::fpu_layout`]),
    /// not at start-up.
    fpu: Option<crate::syscall::sigframe::FpuLayout>,
    /// The CPUID the vCPU was given.
    cpuid: CpuId,
    /// The XCR0 the vCPU was given (0 without XSAVE).
    xcr0: u64,
    /// The exec the trace starts with, until [`Vm::run`] logs it.
    exec: Option<Exec>,
}

impl Drop for Vm {
    fn drop(&mut self) {
        // The kvm_run mapping goes with the vCPU: no kicks after this.
        self.stop.detach();
    }
}

/// The uid the program runs as (what getuid answers): the sender of the
/// signals the kernel sends it as if by `kill(2)`.
const GUEST_UID: u32 = 0;

/// Length of `out imm8, al`.
const OUT_IMM8_LEN: u64 = 2;

impl Vm {
    /// Create the VM from the files `config` names and lay out kernel and
    /// program.
    pub fn new(config: &VmConfig) -> Result<Vm> {
        Vm::new_in(config, None)
    }

    /// [`Vm::new`], opening a dynamic program's interpreter with `interp`
    /// (the file view).
    pub fn new_in(config: &VmConfig, interp: Option<&dyn loader::OpenInterpreter>) -> Result<Vm> {
        // Opened and checked (a regular file) here; read by the loader,
        // which reads only the headers and what it loads.
        let kernel_file = config
            .kernel
            .as_deref()
            .map(loader::ImageFile::open)
            .transpose()?;
        let program = loader::ImageFile::open(&config.program)?;
        let builtin = PathBuf::from("(built-in kernel)");
        let kernel = Image {
            bytes: kernel_file
                .as_ref()
                .map_or(crate::BUILTIN_KERNEL.into(), loader::ImageFile::bytes),
            name: config.kernel.as_ref().unwrap_or(&builtin),
        };
        let execfn = config.program.to_string_lossy();
        let argv = loader::guest_argv(&config.program, &config.args);
        let program = Image {
            bytes: program.bytes(),
            name: &config.program,
        };
        let start = Start {
            argv: &argv,
            envp: &config.env,
            execfn: &execfn,
        };
        let mut vm = Vm::from_images_in(
            config.memory,
            kernel,
            program,
            &start,
            Bench::default(),
            interp,
        )?;
        if let Some(exec) = vm.exec.as_mut() {
            // The path's own bytes, where `execfn` had to be UTF-8.
            exec.path = config.program.as_os_str().as_bytes().to_vec();
        }
        Ok(vm)
    }

    /// Create the VM from images in memory, starting the program with
    /// `start`; `bench` selects a benchmark kernel path (off for a normal
    /// run).
    pub fn from_images(
        memory: u64,
        kernel: Image<'_>,
        program: Image<'_>,
        start: &Start<'_>,
        bench: Bench,
    ) -> Result<Vm> {
        Vm::from_images_in(memory, kernel, program, start, bench, None)
    }

    /// [`Vm::from_images`], opening a dynamic program's interpreter with
    /// `interp`.
    pub fn from_images_in(
        memory: u64,
        kernel: Image<'_>,
        program: Image<'_>,
        start: &Start<'_>,
        bench: Bench,
        interp: Option<&dyn loader::OpenInterpreter>,
    ) -> Result<Vm> {
        let kvm = open_kvm()?;
        let cpuid = supported_cpuid(&kvm)?;
        let ram = GuestRam::new(memory)?;
        let mut tables = PageTables::new();
        let kernel = loader::load_kernel(&ram, &mut tables, kernel.bytes, kernel.name)?;
        map_kernel_data(&ram, &mut tables, &kernel)?;
        let mut space = AddressSpace::new(tables, FrameAllocator::new(ram.size()));
        let mut random = [0u8; 16];
        // SAFETY: getrandom writes at most `random.len()` bytes to it.
        unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), 0) };
        let info = loader::StartInfo {
            start: *start,
            hwcap: cpuid_entry(&cpuid, 1).map_or(0, |e| u64::from(e.edx)),
            random,
        };
        let prog = loader::load_program_with(
            &ram,
            &mut space,
            program.bytes,
            program.name,
            &info,
            interp,
        )?;
        ram.write_obj(
            BOOT_INFO,
            BootInfo {
                magic: BOOT_MAGIC,
                abi_version: u64::from(ABI_VERSION),
                user_entry: prog.entry,
                user_stack: prog.stack,
                bench_mode: bench.mode as u64,
                bench_iterations: bench.iterations,
            },
        )?;

        let vm = kvm.create_vm().map_err(Error::kvm("creating a VM"))?;
        // SAFETY: `ram` lives in the returned `Vm` as long as the VM that
        // uses it.
        unsafe { ram.register(&vm) }?;
        let mut vcpu = vm.create_vcpu(0).map_err(Error::kvm("creating a vCPU"))?;
        let stop = StopHandle::new(&mut vcpu.get_kvm_run().immediate_exit)
            .map_err(|e| Error::Supervisor("creating an eventfd", e))?;
        // KVM copies the general registers into kvm_run at every exit: the
        // syscall path reads them there.
        vcpu.set_sync_valid_reg(SyncReg::Register);
        let cr3 = space.tables().root();
        let xcr0 = setup_vcpu(&vcpu, &cpuid, cr3, kernel)?;
        // The guest's TSC exists now: the vDSO's clocks can be tied to it.
        crate::vdso::write_data(&ram, &space, &prog.vdso, &crate::vdso::clock_data(&vcpu))?;
        Ok(Vm {
            _kvm: kvm,
            _vm: vm,
            vcpu,
            ram,
            space,
            cr3,
            ticket: 0,
            stats: Stats::default(),
            stop,
            bench: bench.mode,
            kernel,
            fpu: None,
            cpuid,
            xcr0,
            exec: Some(Exec::new(
                start.execfn.as_bytes(),
                start.argv,
                start.envp,
                prog.stack,
            )),
        })
    }

    /// What has happened so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// A handle that stops [`Vm::run`] from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Run until the program exits, is killed, or is stopped through the
    /// [`StopHandle`].
    pub fn run(&mut self, service: &mut SyscallService, tracer: &mut Tracer) -> Result<Outcome> {
        self.stop.attach_current_thread();
        // Syscalls that wait (sleeps, reads of a terminal) wake on a stop.
        service.set_stop_handle(self.stop.clone());
        if let Some(exec) = self.exec.take() {
            tracer.execve(&exec);
        }
        let result = self.run_loop(service, tracer);
        self.stop.release_thread();
        if let Ok(Outcome::Stopped(reason)) = result {
            tracer.stopped(reason);
        }
        result
    }

    fn run_loop(&mut self, service: &mut SyscallService, tracer: &mut Tracer) -> Result<Outcome> {
        loop {
            if let Some(reason) = self.stop.reason() {
                return Ok(Outcome::Stopped(reason));
            }
            match self.enter()? {
                Exit::Out(port, value) => {
                    if let Some(outcome) = self.knock(port, value, service, tracer)? {
                        return Ok(outcome);
                    }
                }
                Exit::In(port) => return self.port_fault(port, tracer),
                Exit::Kicked => {
                    // A kick with no stop behind it (gdb's, after a
                    // detach): take immediate_exit back, or every entry
                    // would end at once. A stop's reason is set before its
                    // kick, and the loop's top sees it.
                    if self.stop.reason().is_none() {
                        self.vcpu.set_kvm_immediate_exit(0);
                    }
                }
                other => return Err(self.exit_failure(other)),
            }
        }
    }

    /// Enter the guest once: the exit, copied out of the kvm_run area
    /// (EINTR, a kick, is [`Exit::Kicked`]).
    #[inline]
    fn enter(&mut self) -> Result<Exit> {
        Ok(match self.vcpu.run() {
            Ok(VcpuExit::IoOut(port, data)) => Exit::Out(port, le_u32(data)),
            Ok(VcpuExit::IoIn(port, _)) => Exit::In(port),
            Ok(VcpuExit::Hlt) => Exit::Other("the kernel halted"),
            Ok(VcpuExit::Shutdown) => Exit::Other("triple fault (KVM_EXIT_SHUTDOWN)"),
            Ok(VcpuExit::InternalError) => {
                Exit::Other("KVM internal error (KVM_EXIT_INTERNAL_ERROR)")
            }
            Ok(VcpuExit::FailEntry(reason, _)) => Exit::FailEntry(reason),
            Ok(VcpuExit::MmioRead(addr, _)) | Ok(VcpuExit::MmioWrite(addr, _)) => Exit::Mmio(addr),
            Ok(VcpuExit::Debug(arch)) => Exit::Debug {
                vector: arch.exception,
                pc: arch.pc,
                dr6: arch.dr6,
            },
            Ok(other) => Exit::Unexpected(format!("{other:?}")),
            Err(e) if e.errno() == libc::EINTR => Exit::Kicked,
            Err(e) => {
                return Err(Error::Kvm {
                    what: "running the vCPU",
                    source: e,
                })
            }
        })
    }

    /// The kernel failure an exit no run loop serves is.
    fn exit_failure(&self, exit: Exit) -> Error {
        self.kernel_failure(match exit {
            Exit::Other(what) => what.to_string(),
            Exit::FailEntry(reason) => format!("VM entry failed (hardware reason {reason:#x})"),
            Exit::Mmio(addr) => format!("access to unmapped guest-physical address {addr:#x}"),
            Exit::Debug { vector, pc, .. } => {
                format!("a debug exit nobody asked for (vector {vector} at {pc:#x})")
            }
            Exit::Unexpected(what) => format!("unexpected exit {what}"),
            Exit::Out(port, _) | Exit::In(port) => format!("unexpected I/O on port {port:#x}"),
            Exit::Kicked => "an unexpected kick".to_string(),
        })
    }

    /// Serve a knock on an I/O port.
    fn knock(
        &mut self,
        port: u16,
        value: u32,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<Option<Outcome>> {
        match Port::try_from(port) {
            Ok(Port::SyscallLstar) => self.syscall(port, EntryKind::SyscallLstar, service, tracer),
            Ok(Port::SyscallPageFault) => {
                self.syscall(port, EntryKind::SyscallPageFault, service, tracer)
            }
            Ok(Port::Null) if self.bench != BenchMode::Off => {
                self.stats.null_hypercalls += 1;
                Ok(None)
            }
            Ok(Port::Hypercall) => self.hypercall(port, value, service, tracer),
            _ => self.port_fault(port, tracer).map(Some),
        }
    }

    /// Whether a knock on `entry`'s port at `rip` is the kernel's own
    /// `out`. KVM reports the RIP of the `out` itself (it steps over it
    /// when the vCPU resumes) or, on some KVMs, the RIP after it. Either
    /// way only the kernel's own instruction qualifies: ring 3 cannot run
    /// code there.
    #[inline]
    fn knock_is_the_kernels(&self, entry: EntryKind, rip: u64) -> bool {
        let resume = match entry {
            EntryKind::SyscallLstar => self.kernel.header.lstar_resume,
            _ => self.kernel.header.page_fault_resume,
        };
        rip == resume || rip == resume.wrapping_sub(OUT_IMM8_LEN)
    }

    /// The hot path: a SYSCALL the kernel handed over with every user
    /// register live in the vCPU. The registers come from kvm_run's
    /// sync_regs (KVM copies them at the exit; no ioctl), the result goes
    /// back the same way.
    fn syscall(
        &mut self,
        port: u16,
        entry: EntryKind,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<Option<Outcome>> {
        let regs = self.vcpu.sync_regs_mut().regs;
        if !self.knock_is_the_kernels(entry, regs.rip) {
            return self.port_fault(port, tracer).map(Some);
        }
        let user_rsp = match entry {
            EntryKind::SyscallLstar => regs.rsp,
            _ => self.ram.read_obj::<u64>(PF_USER_RSP)?,
        };
        if self.bench == BenchMode::NullForward && regs.rax == BENCH_SYSCALL {
            // The floor: the same transitions, and the host only puts the
            // answer and the user's stack back.
            self.stats.null_hypercalls += 1;
            let r = &mut self.vcpu.sync_regs_mut().regs;
            r.rax = 0;
            r.rsp = user_rsp;
            self.vcpu.set_sync_dirty_reg(SyncReg::Register);
            return Ok(None);
        }
        match entry {
            EntryKind::SyscallLstar => self.stats.syscalls_lstar += 1,
            _ => self.stats.syscalls_page_fault += 1,
        }
        let frame = TrapFrame {
            rsp: user_rsp,
            rip: regs.rcx,
            rflags: regs.r11,
            cs: u64::from(selector::USER_CS),
            ss: u64::from(selector::USER_DS),
            kind: entry as u64,
            ..general_registers(&regs)
        };
        if frame.rax == crate::syscall::nr::RT_SIGRETURN {
            return self.sigreturn(&frame, service, tracer);
        }
        let mem = UserMemory::new(&self.ram, self.cr3);
        let mut requests = KernelRequests::default();
        let guest = Guest {
            mem: &mem,
            ram: &self.ram,
            space: &mut self.space,
            requests: &mut requests,
        };
        tracer.enter(&frame, service);
        tracer.enter_args(&mem, &frame, service);
        let outcome = service.handle(guest, &frame, &mut || tracer.before_output());
        tracer.served(&mem, &frame, outcome, service);
        tracer.syscall(&mem, &frame, outcome);
        if tracer.failed() {
            // A trace write cut short by a stop (stderr full, its reader
            // not reading): the stop ends the run, not the trace.
            if let Some(reason) = self.stop.reason() {
                return Ok(Some(Outcome::Stopped(reason)));
            }
            return trace_failure(tracer);
        }
        let outcome = match outcome {
            Disposition::Killed(v, signal) => {
                // SIGPIPE, sent as if by kill(2): handled or ignored, the
                // write fails with EPIPE.
                service.signals_mut().send(crate::syscall::signal::Sent {
                    signal,
                    code: libc::SI_USER,
                    pid: crate::syscall::GUEST_PID,
                    uid: GUEST_UID,
                    value: None,
                });
                Disposition::Return(v)
            }
            other => other,
        };
        // The one check the hot path makes: is a signal deliverable? (The
        // kernel's requests go out through SYSRETQ; a signal waits for
        // the next syscall then: no request comes with a signal.)
        if requests.bits == 0 && service.signals().deliverable() {
            if let Disposition::Return(v) = outcome {
                let regs = TrapFrame {
                    rax: v as u64,
                    ..frame
                };
                match self.deliver(&regs, None, Some(frame.rax), service, tracer)? {
                    signals::Step::End(o) => return Ok(Some(o)),
                    signals::Step::Resume(r) => return self.resume_in_handler(&r).map(|()| None),
                    // Only ignored signals: return as planned.
                    signals::Step::Unchanged => {}
                }
            }
        }
        match outcome {
            // (Killed was made a Return above.)
            Disposition::Return(v) | Disposition::Killed(v, _) => {
                let r = &mut self.vcpu.sync_regs_mut().regs;
                r.rax = v as u64;
                r.rsp = user_rsp;
                if requests.bits != 0 {
                    let shared = |off: usize| SHARED_PAGE + off as u64;
                    self.ram
                        .write_obj(shared(SHARED_FS_BASE_OFFSET), requests.fs_base)?;
                    self.ram
                        .write_obj(shared(SHARED_GS_BASE_OFFSET), requests.gs_base)?;
                    self.ram
                        .write_obj(shared(SHARED_REQUESTS_OFFSET), requests.bits)?;
                    self.vcpu.sync_regs_mut().regs.rip = self.kernel.header.requests_entry;
                }
                self.vcpu.set_sync_dirty_reg(SyncReg::Register);
                Ok(None)
            }
            Disposition::Exit(status) => {
                tracer.end(Some(status), None);
                Ok(Some(Outcome::Exited(status)))
            }
            Disposition::WaitsForever(why) => {
                tracer.waits_forever();
                Ok(Some(Outcome::WaitsForever {
                    call: call_text(&UserMemory::new(&self.ram, self.cr3), &frame),
                    why,
                }))
            }
        }
    }

    /// A hypercall through the shared page (exceptions, kernel faults,
    /// panics): not the hot path. Decoded by [`hypercall::decode`].
    fn hypercall(
        &mut self,
        port: u16,
        value: u32,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<Option<Outcome>> {
        let (decoded, frame) = self.read_hypercall(value)?;
        self.serve_hypercall(port, decoded, frame, service, tracer)
    }

    /// Read and decode the hypercall the kernel made with `value` (a
    /// genuine one advances the ticket).
    fn read_hypercall(&mut self, value: u32) -> Result<(Decoded, TrapFrame)> {
        let page: microvm_abi::SharedPage = self.ram.read_obj(SHARED_PAGE)?;
        let frame = page.frame;
        let decoded = hypercall::decode(self.ticket, value, &page);
        if decoded != Decoded::Forged {
            self.ticket = frame.ticket;
        }
        Ok((decoded, frame))
    }

    /// Serve a decoded hypercall.
    fn serve_hypercall(
        &mut self,
        port: u16,
        decoded: Decoded,
        frame: TrapFrame,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<Option<Outcome>> {
        match decoded {
            Decoded::Forged => self.port_fault(port, tracer).map(Some),
            Decoded::UserException => self.user_exception(&frame, service, tracer),
            Decoded::ForeignEntry => self.foreign_entry(frame, tracer).map(Some),
            Decoded::KernelFault(message) => match self.fault_at_a_door(frame, tracer) {
                Some(outcome) => outcome.map(Some),
                None => Err(Error::Kernel(message)),
            },
            Decoded::KernelFailure(message) => Err(Error::Kernel(message)),
        }
    }

    /// An exception in ring 3 raises the signal Linux sends for it — the
    /// #GP, SIGSEGV, if ring 3 was not running the 64-bit user code segment
    /// (KVM-PVM lets IRETQ and far transfers load a data selector into CS,
    /// which hardware refuses with #GP). A handler gets it; else (no
    /// handler, blocked, ignored) it ends the program, as Linux's
    /// `force_sig`.
    fn user_exception(
        &mut self,
        frame: &TrapFrame,
        service: &mut SyscallService,
        tracer: &mut Tracer,
    ) -> Result<Option<Outcome>> {
        self.stats.exceptions += 1;
        let hardware = self.int_n_as_hardware_sees_it(frame);
        let frame = hardware.as_ref().unwrap_or(frame);
        let (signal, reason) = hypercall::user_exception(frame);
        let info = self.siginfo(frame, signal);
        service.signals_mut().force(signal);
        let first = signals::Pending::Fault {
            info,
            frame: *frame,
            reason,
        };
        match self.deliver(frame, Some(first), None, service, tracer)? {
            signals::Step::End(o) => Ok(Some(o)),
            signals::Step::Resume(r) => self.resume_full(&r).map(|()| None),
            // Ignored: it cannot be (force_sig); resume where it was.
            signals::Step::Unchanged => self.resume_full(frame).map(|()| None),
        }
    }

    /// The siginfo of `signal`, sent for the ring-3 exception `frame`: the
    /// exception's own (see [`exception::siginfo`]) when ring 3 ran 64-bit
    /// code; else the #GP that is, with no detail.
    fn siginfo(&self, frame: &TrapFrame, signal: Signal) -> SigInfo {
        let info = exception::siginfo(frame, &self.fault_state(frame));
        if info.signal == signal && frame.cs == u64::from(selector::USER_CS) {
            info
        } else {
            SigInfo::kernel(signal)
        }
    }

    /// What the choice of `si_code` for `frame` needs beyond the frame:
    /// whether a #PF address is mapped, the FPU state of a #MF or #XM
    /// (read once, as the program is killed; the kernel never touches the
    /// FPU, so it is still the program's). KVM_GET_XSAVE, not KVM_GET_FPU:
    /// KVM-PVM's KVM_GET_FPU answers MXCSR 0.
    fn fault_state(&self, frame: &TrapFrame) -> FaultState {
        let fpu = matches!(frame.vector, exception::MF_VECTOR | exception::XM_VECTOR)
            .then(|| self.vcpu.get_xsave().ok())
            .flatten()
            .map(|x| FpuStatus::from_fxsave(&x.region));
        FaultState {
            in_mapping: frame.vector == exception::PF_VECTOR
                && self.space.mapping_at(frame.cr2).is_some(),
            fpu,
        }
    }

    /// KVM-PVM turns `int n` from ring 3 into #UD; hardware raises
    /// #GP(n * 8 + 2) (IDT vector n, past the limit or a DPL-0 gate), and
    /// Linux sends SIGSEGV. A #UD at an `int n` instruction is that #GP
    /// (`int n` itself is never undefined in 64-bit mode).
    fn int_n_as_hardware_sees_it(&self, frame: &TrapFrame) -> Option<TrapFrame> {
        const INT_IMM8: u8 = 0xcd;
        const UD_VECTOR: u64 = 6;
        if frame.vector != UD_VECTOR {
            return None;
        }
        let mut insn = [0u8; 2];
        UserMemory::new(&self.ram, self.cr3)
            .read(frame.rip, &mut insn)
            .ok()?;
        (insn[0] == INT_IMM8).then(|| TrapFrame {
            vector: exception::GP_VECTOR,
            error_code: u64::from(insn[1]) << 3 | 2,
            ..*frame
        })
    }

    /// SYSCALL from compatibility mode or SYSENTER reached the kernel's
    /// stub for it (`frame.kind` says which): the program is killed as by
    /// the #GP these are on a kernel without 32-bit support, and the
    /// transition is logged as one.
    fn foreign_entry(&mut self, frame: TrapFrame, tracer: &mut Tracer) -> Result<Outcome> {
        let (logged, reason) = hypercall::foreign_entry(&frame).map_err(Error::Kernel)?;
        self.stats.exceptions += 1;
        let signal = Signal::SIGSEGV;
        tracer.exception(&logged, &SigInfo::kernel(signal));
        tracer.end(None, Some(signal));
        Ok(Outcome::Killed { signal, reason })
    }

    /// A fault the kernel took in ring 0 at the first instruction of one
    /// of its entries from ring 3 is the program's doing. At the CSTAR or
    /// SYSENTER stub it ends the program as the foreign entry it is,
    /// whatever the vector: a debug trap (TF survives SYSENTER; `mov ss`
    /// with TF set carries it past a SYSCALL), or a fetch fault if a user
    /// mapping had taken the CSTAR alias's place (SMEP refuses it). At LSTAR
    /// a debug trap is the program's single step (SIGTRAP, registers as the
    /// SYSCALL left them). `None` for anything else: a kernel failure.
    fn fault_at_a_door(
        &mut self,
        frame: TrapFrame,
        tracer: &mut Tracer,
    ) -> Option<Result<Outcome>> {
        let h = self.kernel.header;
        if frame.cs & 3 != 0 {
            return None;
        }
        let foreign =
            if frame.rip == h.compat_syscall_entry || frame.rip == compat_entry(&self.kernel) {
                EntryKind::CompatSyscall
            } else if frame.rip == h.sysenter_entry {
                EntryKind::Sysenter
            } else if frame.rip == h.syscall_entry && frame.vector == exception::DB_VECTOR {
                self.stats.exceptions += 1;
                let user = TrapFrame {
                    rip: frame.rcx,
                    rflags: frame.r11,
                    cs: u64::from(selector::USER_CS),
                    ss: u64::from(selector::USER_DS),
                    ..frame
                };
                let signal = Signal::SIGTRAP;
                tracer.exception(&user, &exception::siginfo(&user, &FaultState::default()));
                tracer.end(None, Some(signal));
                return Some(Ok(Outcome::Killed {
                    signal,
                    reason: format!(
                        "#DB debug: a single-step trap carried into SYSCALL at rip {:#x}",
                        user.rip
                    ),
                }));
            } else {
                return None;
            };
        let user = TrapFrame {
            kind: foreign as u64,
            ..frame
        };
        Some(self.foreign_entry(user, tracer))
    }

    /// An I/O port access the kernel did not make as a hypercall. From ring
    /// 3 (KVM-PVM lets ring-3 IN/OUT exit to the VMM) it is what hardware
    /// makes of it, a #GP, and ends the program with SIGSEGV; from ring 0
    /// it is a kernel bug.
    fn port_fault(&mut self, port: u16, tracer: &mut Tracer) -> Result<Outcome> {
        let sregs = self
            .vcpu
            .get_sregs()
            .map_err(Error::kvm("reading registers"))?;
        if sregs.cs.selector & 3 != 3 {
            return Err(
                self.kernel_failure(format!("the kernel accessed unknown I/O port {port:#x}"))
            );
        }
        let r = self
            .vcpu
            .get_regs()
            .map_err(Error::kvm("reading registers"))?;
        let frame = TrapFrame {
            rip: r.rip,
            rflags: r.rflags,
            cs: sregs.cs.selector.into(),
            ss: sregs.ss.selector.into(),
            kind: microvm_abi::EntryKind::Exception as u64,
            vector: 13,
            ..general_registers(&r)
        };
        let signal = Signal::SIGSEGV;
        tracer.exception(&frame, &SigInfo::kernel(signal));
        tracer.end(None, Some(signal));
        Ok(Outcome::Killed {
            signal,
            reason: format!(
                "#GP general protection: ring-3 access to I/O port {port:#x} near rip {:#x}",
                r.rip
            ),
        })
    }

    /// A kernel failure, with the vCPU's registers.
    fn kernel_failure(&self, what: String) -> Error {
        let regs = match (self.vcpu.get_regs(), self.vcpu.get_sregs()) {
            (Ok(r), Ok(s)) => format!(
                " [rip={:#x} rsp={:#x} rflags={:#x} cs={:#x} cr2={:#x} cr3={:#x} rax={:#x}]",
                r.rip, r.rsp, r.rflags, s.cs.selector, s.cr2, s.cr3, r.rax
            ),
            _ => String::new(),
        };
        Error::Kernel(format!("{what}{regs}"))
    }
}

/// A frame holding the vCPU's general-purpose registers `r`, each copied
/// by its name (`kvm_regs` names them as [`TrapFrame`] does); the rest is
/// zero.
#[inline]
fn general_registers(r: &kvm_bindings::kvm_regs) -> TrapFrame {
    macro_rules! copy {
        ([$($g:ident)*] [$($c:ident)*]) => {
            TrapFrame {
                $($g: r.$g,)*
                ..TrapFrame::default()
            }
        };
    }
    microvm_abi::trap_frame_registers!(copy)
}

/// The call in `frame` as the trace shows it, unfinished (for microvm's
/// last line; its strings are escaped as the trace escapes them).
fn call_text(mem: &UserMemory<'_>, frame: &TrapFrame) -> String {
    let style = crate::trace::style::Style::default();
    let call = crate::trace::decode::Call::new(mem, frame, None, &style);
    let mut text = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = crate::trace::decode::call(&mut text, &call);
    String::from_utf8_lossy(&text).into_owned()
}

/// The trace output failed: a closed pipe ends the run as SIGPIPE would end
/// any writer; anything else is an error.
fn trace_failure(tracer: &mut Tracer) -> Result<Option<Outcome>> {
    if tracer.broken_pipe() {
        return Ok(Some(Outcome::Killed {
            signal: Signal::SIGPIPE,
            reason: "the trace output was closed".into(),
        }));
    }
    match tracer.finish() {
        Err(source) => Err(Error::TraceOutput {
            path: "trace".into(),
            source,
        }),
        Ok(()) => Ok(None),
    }
}

/// An exit, copied out of the kvm_run area.
enum Exit {
    Out(u16, u32),
    In(u16),
    Other(&'static str),
    FailEntry(u64),
    Mmio(u64),
    /// KVM_EXIT_DEBUG (gdb's breakpoints and steps).
    Debug {
        vector: u32,
        pc: u64,
        dr6: u64,
    },
    /// KVM_RUN returned EINTR: the vCPU was kicked.
    Kicked,
    Unexpected(String),
}

fn le_u32(data: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    let n = data.len().min(4);
    b[..n].copy_from_slice(&data[..n]);
    u32::from_le_bytes(b)
}

/// Map the kernel's low pages and stacks, and write the GDT and TSS.
fn map_kernel_data(ram: &GuestRam, tables: &mut PageTables, kernel: &LoadedKernel) -> Result<()> {
    for (phys, flags) in [
        (CPU_TABLES, PageFlags::KERNEL_RO),
        (SHARED_PAGE, PageFlags::KERNEL_RW),
    ] {
        tables.map(ram, kernel_virt(phys), phys, flags)?;
    }
    for (bottom, top) in [
        (KERNEL_STACK_BOTTOM, KERNEL_STACK_TOP),
        (DF_STACK_BOTTOM, DF_STACK_TOP),
        (DB_STACK_BOTTOM, DB_STACK_TOP),
    ] {
        let mut page = bottom;
        while page < top {
            tables.map(ram, kernel_virt(page), page, PageFlags::KERNEL_RW)?;
            page += PAGE_SIZE;
        }
    }
    map_compat_entry_alias(ram, tables, kernel)?;
    let quadwords = |q: &[u64]| q.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
    ram.write(GDT, &quadwords(&gdt::gdt()))?;
    ram.write_obj(TSS, gdt::tss())?;
    ram.write(
        IDT,
        &quadwords(&idt::idt(
            kernel.header.exception_stubs,
            kernel.header.page_fault_entry,
        )),
    )?;
    Ok(())
}

/// Map the kernel page holding the compatibility-mode SYSCALL stub again at
/// [`COMPAT_ENTRY_ALIAS`], kernel-only and executable: KVM-PVM enters CSTAR
/// with its upper 32 bits cut off, so CSTAR must lie below 4 GiB (see
/// [`compat_entry`]).
fn map_compat_entry_alias(
    ram: &GuestRam,
    tables: &mut PageTables,
    kernel: &LoadedKernel,
) -> Result<()> {
    let entry = kernel.header.compat_syscall_entry;
    let phys = entry.wrapping_sub(KERNEL_BASE) & !(PAGE_SIZE - 1);
    if !(KERNEL_LOAD..KERNEL_END).contains(&phys) {
        return Err(Error::Kernel(format!(
            "its compatibility-mode SYSCALL entry ({entry:#x}) lies outside its image"
        )));
    }
    let flags = PageFlags {
        write: false,
        exec: true,
        user: false,
    };
    tables.map(ram, COMPAT_ENTRY_ALIAS, phys, flags)?;
    Ok(())
}

// No user mapping can replace the alias: it lies below mmap_min_addr.
const _: () = assert!(COMPAT_ENTRY_ALIAS + PAGE_SIZE <= crate::space::MMAP_MIN_ADDR);

/// CSTAR: the compatibility-mode SYSCALL stub at its alias below 4 GiB.
fn compat_entry(kernel: &LoadedKernel) -> u64 {
    COMPAT_ENTRY_ALIAS + (kernel.header.compat_syscall_entry & (PAGE_SIZE - 1))
}

/// What CPUID KVM supports: asked once per process (it costs tens of
/// microseconds, and does not change while the process lives).
fn supported_cpuid(kvm: &Kvm) -> Result<CpuId> {
    static CACHE: std::sync::OnceLock<CpuId> = std::sync::OnceLock::new();
    if let Some(c) = CACHE.get() {
        return Ok(c.clone());
    }
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(Error::kvm("reading supported CPUID"))?;
    Ok(CACHE.get_or_init(|| cpuid).clone())
}

/// The CPUID entry for `function` (subleaf 0).
fn cpuid_entry(cpuid: &CpuId, function: u32) -> Option<kvm_bindings::kvm_cpuid_entry2> {
    cpuid
        .as_slice()
        .iter()
        .find(|e| e.function == function && e.index == 0)
        .copied()
}

/// XCR0 bits: x87, SSE, AVX.
const XCR0_X87_SSE_AVX: u64 = 0b111;

/// CPUID.(EAX=7, ECX=0):EBX.SMEP.
const CPUID7_EBX_SMEP: u32 = 1 << 7;
/// CPUID.(EAX=7, ECX=0):EBX.SMAP.
const CPUID7_EBX_SMAP: u32 = 1 << 20;

/// The SMEP and SMAP bits of CPUID leaf 7 of the host CPU itself: read
/// once per process, as [`supported_cpuid`] (where the host is itself a
/// VM each CPUID instruction exits to its hypervisor, several
/// microseconds).
fn host_smep_smap() -> u32 {
    static BITS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *BITS.get_or_init(|| {
        // CPUID exists on every x86-64 CPU and only reads.
        let max = std::arch::x86_64::__cpuid(0).eax;
        if max < 7 {
            return 0;
        }
        let leaf7 = std::arch::x86_64::__cpuid_count(7, 0);
        leaf7.ebx & (CPUID7_EBX_SMEP | CPUID7_EBX_SMAP)
    })
}

/// CPUID, special and general registers, FPU, XCR0 and MSRs for the kernel
/// entry. Returns XCR0 (0 without XSAVE).
fn setup_vcpu(vcpu: &VcpuFd, cpuid: &CpuId, cr3: u64, kernel: LoadedKernel) -> Result<u64> {
    let offered = cpuid_entry(cpuid, 7).map_or(0, |e| e.ebx) & (CPUID7_EBX_SMEP | CPUID7_EBX_SMAP);
    let xsave = cpuid_entry(cpuid, 1).is_some_and(|e| e.ecx & (1 << 26) != 0);
    vcpu.set_cpuid2(cpuid)
        .map_err(Error::kvm("setting CPUID"))?;
    let base = vcpu
        .get_sregs()
        .map_err(Error::kvm("reading special registers"))?;
    let sregs = |bits: u32| {
        let mut sregs = regs::sregs(
            base,
            cr3,
            bits & CPUID7_EBX_SMEP != 0,
            bits & CPUID7_EBX_SMAP != 0,
        );
        if xsave {
            sregs.cr4 |= regs::CR4_OSXSAVE;
        }
        sregs
    };
    // SMEP and SMAP keep ring 0 from running or reading user pages. KVM-PVM
    // leaves them out of its CPUID yet honours them in CR4 (its emulator
    // runs all of ring 0), so ask for what the host CPU has, and settle for
    // what KVM's CPUID offers if KVM refuses that.
    let wanted = offered | host_smep_smap();
    match vcpu.set_sregs(&sregs(wanted)) {
        Ok(()) => {}
        Err(e) if e.errno() == libc::EINVAL && wanted != offered => vcpu
            .set_sregs(&sregs(offered))
            .map_err(Error::kvm("setting special registers"))?,
        Err(source) => {
            return Err(Error::Kvm {
                what: "setting special registers",
                source,
            })
        }
    }
    let mut xcr0 = 0;
    if xsave {
        // What the CPU can save, limited to x87, SSE and AVX.
        let supported = cpuid_entry(cpuid, 0xd).map_or(0b11, |e| u64::from(e.eax));
        let mut xcrs = kvm_bindings::kvm_xcrs {
            nr_xcrs: 1,
            ..Default::default()
        };
        xcrs.xcrs[0].xcr = 0;
        xcrs.xcrs[0].value = supported & XCR0_X87_SSE_AVX;
        vcpu.set_xcrs(&xcrs).map_err(Error::kvm("setting XCR0"))?;
        xcr0 = xcrs.xcrs[0].value;
    }
    vcpu.set_regs(&regs::boot_regs(kernel.entry))
        .map_err(Error::kvm("setting registers"))?;
    vcpu.set_fpu(&regs::fpu())
        .map_err(Error::kvm("setting FPU state"))?;
    let entries = regs::SyscallEntries {
        lstar: kernel.header.syscall_entry,
        cstar: compat_entry(&kernel),
        sysenter: kernel.header.sysenter_entry,
    };
    let msrs = Msrs::from_entries(&regs::syscall_msrs(entries))
        .map_err(|_| Error::Kernel("too many MSRs".into()))?;
    let written = vcpu.set_msrs(&msrs).map_err(Error::kvm("setting MSRs"))?;
    if written != msrs.as_slice().len() {
        return Err(Error::Kernel(format!(
            "KVM accepted only {written} of {} SYSCALL and SYSENTER MSRs",
            msrs.as_slice().len()
        )));
    }
    Ok(xcr0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_registers_are_copied_by_name_not_position() {
        // kvm_regs keeps rsp before rbp, the frame rbp before rsp.
        let r = kvm_bindings::kvm_regs {
            rax: 1,
            rbx: 2,
            rcx: 3,
            rdx: 4,
            rsi: 5,
            rdi: 6,
            rsp: 7,
            rbp: 8,
            r8: 9,
            r9: 10,
            r10: 11,
            r11: 12,
            r12: 13,
            r13: 14,
            r14: 15,
            r15: 16,
            rip: 17,
            rflags: 18,
        };
        let f = general_registers(&r);
        let expect = [
            ("rax", 1),
            ("rbx", 2),
            ("rcx", 3),
            ("rdx", 4),
            ("rsi", 5),
            ("rdi", 6),
            ("rbp", 8),
            ("rsp", 7),
            ("r8", 9),
            ("r9", 10),
            ("r10", 11),
            ("r11", 12),
            ("r12", 13),
            ("r13", 14),
            ("r14", 15),
            ("r15", 16),
            // Not general-purpose: left for the caller.
            ("rip", 0),
            ("rflags", 0),
            ("cs", 0),
            ("ss", 0),
        ];
        assert_eq!(f.registers(), expect);
        assert_eq!(
            (f.kind, f.vector, f.error_code, f.cr2, f.ticket),
            (0, 0, 0, 0, 0)
        );
    }
}
