//! x86 exceptions as the trace and the user see them: names, error-code
//! decoding, and the signal a Linux kernel would end the program with —
//! with the `siginfo_t` it would fill in (`si_code`, `si_addr`), as
//! `arch/x86/kernel/traps.c` and `arch/x86/mm/fault.c` of Linux 6.1 do.

use microvm_abi::linux::consts;
use microvm_abi::TrapFrame;

/// A Linux signal, 1 to 64, numbered as on Linux; named as strace names
/// it (`SIGSEGV`, `SIGRTMIN`, `SIGRT_3`, from the ABI crate's generated
/// tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signal(i32);

/// Each of the standard signals by its name, as `Signal::SIGSEGV`.
macro_rules! standard_signals {
    ($($name:ident)*) => {
        impl Signal {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub const $name: Signal = Signal(consts::$name as i32);
            )*
        }
    };
}
standard_signals!(SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGKILL SIGUSR1
    SIGSEGV SIGUSR2 SIGPIPE SIGALRM SIGTERM SIGSTKFLT SIGCHLD SIGCONT SIGSTOP SIGTSTP SIGTTIN
    SIGTTOU SIGURG SIGXCPU SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGIO SIGPWR SIGSYS);

/// The highest signal number (the kernel's `_NSIG`).
pub const NSIG: i32 = consts::SIGRTMAX as i32;

/// What a signal does to a process that neither handles nor ignores it
/// (`signal(7)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultAction {
    /// The process ends, killed by the signal.
    Terminate,
    /// The process ends and, on Linux, dumps core (`+++ killed by SIGABRT
    /// (core dumped) +++`; microvm writes no core).
    CoreDump,
    /// Nothing happens.
    Ignore,
    /// The process stops until SIGCONT. A microvm guest has no one to
    /// continue it (no shell, no job control): microvm ignores these.
    Stop,
}

impl Signal {
    /// Signal `n`, if 1 <= n <= 64.
    pub fn new(n: i64) -> Option<Signal> {
        (1..=i64::from(NSIG))
            .contains(&n)
            .then_some(Signal(n as i32))
    }

    /// "SIGSEGV", "SIGRTMIN", "SIGRT_3", as strace names them.
    pub fn name(self) -> &'static str {
        static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let names = NAMES.get_or_init(|| {
            (0..=u64::from(NSIG as u32))
                .map(|n| match n {
                    n if n == consts::SIGRTMIN => "SIGRTMIN".to_string(),
                    n if n > consts::SIGRTMIN => format!("SIGRT_{}", n - consts::SIGRTMIN),
                    n => consts::SIGNALS
                        .name(n)
                        .map_or_else(|| n.to_string(), str::to_string),
                })
                .collect()
        });
        names.get(self.0 as usize).map_or("SIG_???", String::as_str)
    }

    /// The exit status of a process killed by this signal, as a shell reports it.
    pub fn exit_status(self) -> i32 {
        128 + self.0
    }

    /// Its number.
    pub const fn number(self) -> i32 {
        self.0
    }

    /// Its bit in a kernel `sigset_t`.
    pub const fn bit(self) -> u64 {
        1 << (self.0 - 1)
    }

    /// What it does by default (`signal(7)`).
    pub fn default_action(self) -> DefaultAction {
        match self {
            Signal::SIGQUIT
            | Signal::SIGILL
            | Signal::SIGTRAP
            | Signal::SIGABRT
            | Signal::SIGBUS
            | Signal::SIGFPE
            | Signal::SIGSEGV
            | Signal::SIGXCPU
            | Signal::SIGXFSZ
            | Signal::SIGSYS => DefaultAction::CoreDump,
            Signal::SIGCHLD | Signal::SIGURG | Signal::SIGWINCH | Signal::SIGCONT => {
                DefaultAction::Ignore
            }
            Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU => {
                DefaultAction::Stop
            }
            _ => DefaultAction::Terminate,
        }
    }

    /// True for the signals whose default action dumps core.
    pub fn dumps_core(self) -> bool {
        self.default_action() == DefaultAction::CoreDump
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What is known about one exception vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vector {
    /// The vector number.
    pub vector: u8,
    /// "#PF".
    pub mnemonic: &'static str,
    /// "page fault".
    pub name: &'static str,
    /// The signal Linux sends for it in ring 3.
    pub signal: Signal,
}

/// The #DB vector.
pub const DB_VECTOR: u64 = 1;
/// The #GP vector.
pub const GP_VECTOR: u64 = 13;

/// Page-fault error code: the page was present (protection violation).
pub const PF_PRESENT: u64 = 1 << 0;
/// Page-fault error code: the access was a write.
pub const PF_WRITE: u64 = 1 << 1;
/// Page-fault error code: the access came from ring 3.
pub const PF_USER: u64 = 1 << 2;
/// Page-fault error code: a reserved bit was set in a paging entry.
pub const PF_RESERVED: u64 = 1 << 3;
/// Page-fault error code: an instruction fetch.
pub const PF_FETCH: u64 = 1 << 4;

/// Describe exception `vector`.
pub fn vector(vector: u64) -> Vector {
    const SIGFPE: Signal = Signal::SIGFPE;
    const SIGTRAP: Signal = Signal::SIGTRAP;
    const SIGSEGV: Signal = Signal::SIGSEGV;
    const SIGILL: Signal = Signal::SIGILL;
    const SIGBUS: Signal = Signal::SIGBUS;
    let (mnemonic, name, signal) = match vector {
        0 => ("#DE", "divide error", SIGFPE),
        1 => ("#DB", "debug", SIGTRAP),
        2 => ("NMI", "non-maskable interrupt", SIGSEGV),
        3 => ("#BP", "breakpoint", SIGTRAP),
        4 => ("#OF", "overflow", SIGSEGV),
        5 => ("#BR", "bound range exceeded", SIGSEGV),
        6 => ("#UD", "invalid opcode", SIGILL),
        7 => ("#NM", "device not available", SIGSEGV),
        8 => ("#DF", "double fault", SIGSEGV),
        10 => ("#TS", "invalid TSS", SIGSEGV),
        11 => ("#NP", "segment not present", SIGBUS),
        12 => ("#SS", "stack-segment fault", SIGBUS),
        13 => ("#GP", "general protection", SIGSEGV),
        14 => ("#PF", "page fault", SIGSEGV),
        16 => ("#MF", "x87 floating-point error", SIGFPE),
        17 => ("#AC", "alignment check", SIGBUS),
        18 => ("#MC", "machine check", SIGBUS),
        19 => ("#XM", "SIMD floating-point error", SIGFPE),
        20 => ("#VE", "virtualization exception", SIGSEGV),
        21 => ("#CP", "control protection", SIGSEGV),
        _ => ("#??", "reserved exception", SIGSEGV),
    };
    Vector {
        vector: vector as u8,
        mnemonic,
        name,
        signal,
    }
}

/// "write user not-present" for a page-fault error code.
pub fn page_fault_error(err: u64) -> String {
    let mut parts = vec![
        if err & PF_FETCH != 0 {
            "fetch"
        } else if err & PF_WRITE != 0 {
            "write"
        } else {
            "read"
        },
        if err & PF_USER != 0 { "user" } else { "kernel" },
        if err & PF_PRESENT != 0 {
            "protection"
        } else {
            "not-present"
        },
    ];
    if err & PF_RESERVED != 0 {
        parts.push("reserved-bit");
    }
    parts.join(" ")
}

/// The one-line reason a program was killed, e.g. "#PF writing 0x1000 at
/// rip 0x401000".
pub fn kill_reason(vector_nr: u64, err: u64, cr2: u64, rip: u64) -> String {
    let v = vector(vector_nr);
    if vector_nr == 14 {
        let what = if err & PF_FETCH != 0 {
            "executing"
        } else if err & PF_WRITE != 0 {
            "writing"
        } else {
            "reading"
        };
        format!("{} {what} {cr2:#x} at rip {rip:#x}", v.mnemonic)
    } else {
        format!("{} {} at rip {rip:#x}", v.mnemonic, v.name)
    }
}

/// Why a program was killed for an exception taken while it ran with code
/// selector `cs` instead of the 64-bit user one: it had left 64-bit mode.
pub fn foreign_cs_reason(cs: u64, vector_nr: u64, rip: u64) -> String {
    let v = vector(vector_nr);
    format!(
        "#GP general protection: ring 3 ran with code selector {cs:#x}, not the 64-bit user \
         code segment ({} {} at rip {rip:#x})",
        v.mnemonic, v.name
    )
}

/// Why a program was killed for reaching the kernel by `kind` (SYSCALL
/// from compatibility mode or SYSENTER); `rip` is its return address, 0
/// where the CPU keeps none.
pub fn foreign_entry_reason(kind: microvm_abi::EntryKind, rip: u64) -> String {
    match kind {
        microvm_abi::EntryKind::CompatSyscall => format!(
            "#GP general protection: SYSCALL from 32-bit compatibility mode near rip {rip:#x}"
        ),
        _ => "#GP general protection: SYSENTER from ring 3".to_string(),
    }
}

/// Text the guest supplied, safe for a terminal: a quoted C string with
/// every byte outside printable ASCII escaped, as strace shows buffers.
pub fn escaped(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    // Writing to a Vec cannot fail.
    let _ = crate::trace::format::quoted(&mut out, bytes, false);
    String::from_utf8_lossy(&out).into_owned()
}

/// The `si_code` values the exceptions raise (from the ABI crate's
/// constants, generated from `<signal.h>`).
pub mod si_code {
    pub use microvm_abi::linux::consts::{
        BUS_ADRALN, FPE_FLTDIV, FPE_FLTINV, FPE_FLTOVF, FPE_FLTRES, FPE_FLTUND, FPE_INTDIV,
        ILL_ILLOPN, SEGV_ACCERR, SEGV_MAPERR, SI_KERNEL, TRAP_BRKPT, TRAP_TRACE,
    };
}

/// The `siginfo_t` of the signal a ring-3 exception raises: what strace
/// shows as `{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigInfo {
    /// `si_signo`.
    pub signal: Signal,
    /// `si_code`.
    pub code: i32,
    /// `si_addr` (0 is NULL).
    pub addr: u64,
}

impl SigInfo {
    /// A signal the kernel sends with no detail (`force_sig`):
    /// `si_code=SI_KERNEL, si_addr=NULL`, as for every #GP.
    pub fn kernel(signal: Signal) -> SigInfo {
        SigInfo {
            signal,
            code: si_code::SI_KERNEL,
            addr: 0,
        }
    }

    /// The name of `si_code` as strace prints it, if it has one.
    pub fn code_name(&self) -> Option<&'static str> {
        let code = i64::from(self.code) as u64;
        let own = match self.signal {
            Signal::SIGSEGV => &consts::SIGSEGV_CODES,
            Signal::SIGILL => &consts::SIGILL_CODES,
            Signal::SIGFPE => &consts::SIGFPE_CODES,
            Signal::SIGBUS => &consts::SIGBUS_CODES,
            Signal::SIGTRAP => &consts::SIGTRAP_CODES,
            _ => &consts::SIGINFO_CODES,
        };
        // As strace: the signal's own codes are the positive ones below
        // SI_KERNEL; everything else is a generic code.
        if self.code > 0 && self.code < si_code::SI_KERNEL {
            own.name(code)
        } else {
            consts::SIGINFO_CODES.name(code)
        }
    }
}

/// The x87 and SSE state that says which floating-point exception a #MF or
/// #XM reports (`fpu__exception_code` in Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FpuStatus {
    /// x87 control word (its low six bits mask exceptions).
    pub fcw: u16,
    /// x87 status word (its low six bits flag exceptions).
    pub fsw: u16,
    /// MXCSR (flags in bits 0-5, masks in bits 7-12).
    pub mxcsr: u32,
}

impl FpuStatus {
    /// From the legacy (FXSAVE) region at the start of an XSAVE area, as
    /// 32-bit words: FCW and FSW in word 0, MXCSR in word 6.
    pub fn from_fxsave(region: &[u32]) -> FpuStatus {
        let word = |i: usize| region.get(i).copied().unwrap_or(0);
        FpuStatus {
            fcw: word(0) as u16,
            fsw: (word(0) >> 16) as u16,
            mxcsr: word(6),
        }
    }
}

/// What Linux's choice of `si_code` depends on beyond the trap frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultState {
    /// #PF: the faulting address lies in one of the program's mappings
    /// (a VMA): the access was refused (`SEGV_ACCERR`), rather than nothing
    /// being there (`SEGV_MAPERR`).
    pub in_mapping: bool,
    /// #MF, #XM: the FPU state at the fault, where it could be read.
    pub fpu: Option<FpuStatus>,
}

/// The #DE vector.
pub const DE_VECTOR: u64 = 0;
/// The #BP vector.
pub const BP_VECTOR: u64 = 3;
/// The #UD vector.
pub const UD_VECTOR: u64 = 6;
/// The #PF vector.
pub const PF_VECTOR: u64 = 14;
/// The #MF vector.
pub const MF_VECTOR: u64 = 16;
/// The #AC vector.
pub const AC_VECTOR: u64 = 17;
/// The #XM vector.
pub const XM_VECTOR: u64 = 19;

/// RFLAGS.TF: the trap flag, single-stepping.
const RFLAGS_TF: u64 = 1 << 8;

/// The siginfo Linux sends for an exception taken in 64-bit ring 3 with
/// `frame`: the signal of [`vector`], with the `si_code` and `si_addr` of
/// `exc_*` in `arch/x86/kernel/traps.c` (the #PF ones of
/// `arch/x86/mm/fault.c`). Exceptions Linux sends by `force_sig` (#BP,
/// #GP, #SS, #NP, #TS and those a user program cannot raise) are
/// `SI_KERNEL` with no address.
pub fn siginfo(frame: &TrapFrame, state: &FaultState) -> SigInfo {
    let signal = vector(frame.vector).signal;
    let fault = |code: i32, addr: u64| SigInfo { signal, code, addr };
    match frame.vector {
        DE_VECTOR => fault(si_code::FPE_INTDIV, frame.rip),
        // A user program sets no debug register (no ptrace): a #DB is its
        // single step (DR6.BS, TF still set in the saved RFLAGS) or `int1`.
        DB_VECTOR if frame.rflags & RFLAGS_TF != 0 => fault(si_code::TRAP_TRACE, frame.rip),
        DB_VECTOR => fault(si_code::TRAP_BRKPT, frame.rip),
        UD_VECTOR => fault(si_code::ILL_ILLOPN, frame.rip),
        PF_VECTOR if state.in_mapping => fault(si_code::SEGV_ACCERR, frame.cr2),
        PF_VECTOR => fault(si_code::SEGV_MAPERR, frame.cr2),
        MF_VECTOR | XM_VECTOR => match state.fpu.and_then(|f| fpu_code(frame.vector, &f)) {
            Some(code) => fault(code, frame.rip),
            None => SigInfo::kernel(signal),
        },
        AC_VECTOR => fault(si_code::BUS_ADRALN, 0),
        _ => SigInfo::kernel(signal),
    }
}

/// The `FPE_*` code of a #MF (x87) or #XM (SSE) from the exceptions that
/// are flagged and not masked, in Linux's order; `None` when none is.
pub fn fpu_code(vector: u64, fpu: &FpuStatus) -> Option<i32> {
    let pending = if vector == MF_VECTOR {
        u32::from(fpu.fsw & !fpu.fcw)
    } else {
        fpu.mxcsr & !(fpu.mxcsr >> 7)
    };
    const INVALID: u32 = 0x01;
    const ZERO_DIVIDE: u32 = 0x04;
    const OVERFLOW: u32 = 0x08;
    const DENORMAL_UNDERFLOW: u32 = 0x12;
    const PRECISION: u32 = 0x20;
    [
        (INVALID, si_code::FPE_FLTINV),
        (ZERO_DIVIDE, si_code::FPE_FLTDIV),
        (OVERFLOW, si_code::FPE_FLTOVF),
        (DENORMAL_UNDERFLOW, si_code::FPE_FLTUND),
        (PRECISION, si_code::FPE_FLTRES),
    ]
    .into_iter()
    .find(|&(bits, _)| pending & bits != 0)
    .map(|(_, code)| code)
}

/// True for the vectors that push an error code.
pub fn has_error_code(vector: u64) -> bool {
    matches!(vector, 8 | 10..=14 | 17 | 21)
}

/// "idt vector 0x81" for a selector error code (#TS, #NP, #SS, #GP): the
/// descriptor the fault concerns; `None` for 0 (no descriptor).
pub fn selector_error(err: u64) -> Option<String> {
    const EXT: u64 = 1 << 0;
    const IDT: u64 = 1 << 1;
    const TI: u64 = 1 << 2;
    if err == 0 {
        return None;
    }
    let index = (err & 0xffff) >> 3;
    let table = if err & IDT != 0 {
        "idt vector"
    } else if err & TI != 0 {
        "ldt selector"
    } else {
        "gdt selector"
    };
    let shown = if err & IDT != 0 { index } else { err & 0xfff8 };
    let ext = if err & EXT != 0 { " external" } else { "" };
    Some(format!("{table} {shown:#x}{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_signals() {
        assert_eq!(vector(14).signal, Signal::SIGSEGV);
        assert_eq!(vector(13).signal, Signal::SIGSEGV);
        assert_eq!(vector(6).signal, Signal::SIGILL);
        assert_eq!(vector(0).signal, Signal::SIGFPE);
        assert_eq!(vector(19).signal, Signal::SIGFPE);
        assert_eq!(vector(3).signal, Signal::SIGTRAP);
        assert_eq!(vector(17).signal, Signal::SIGBUS);
        assert_eq!(Signal::SIGSEGV.exit_status(), 139);
    }

    fn frame(vector: u64, error_code: u64, cr2: u64, rip: u64, rflags: u64) -> TrapFrame {
        TrapFrame {
            vector,
            error_code,
            cr2,
            rip,
            rflags,
            ..Default::default()
        }
    }

    /// (signal, si_code, si_addr) for `frame`.
    fn info(f: &TrapFrame, state: &FaultState) -> (Signal, i32, u64) {
        let i = siginfo(f, state);
        (i.signal, i.code, i.addr)
    }

    // What Linux 6.x sends, checked natively under strace for each case
    // (tests/faults.rs compares the guest's own with strace's lines).
    #[test]
    fn siginfo_as_linux_sends_it() {
        use si_code::*;
        let none = FaultState::default();
        let mapped = FaultState {
            in_mapping: true,
            ..none
        };
        assert_eq!(
            info(&frame(14, 4, 0x10, 0x401000, 0), &none),
            (Signal::SIGSEGV, SEGV_MAPERR, 0x10)
        );
        assert_eq!(
            info(&frame(14, 7, 0x479004, 0x401000, 0), &mapped),
            (Signal::SIGSEGV, SEGV_ACCERR, 0x479004),
        );
        // A read of a kernel address: present, but no VMA.
        assert_eq!(
            info(&frame(14, 5, 0xffff_ffff_8000_4000, 0x401000, 0), &none),
            (Signal::SIGSEGV, SEGV_MAPERR, 0xffff_ffff_8000_4000),
        );
        // PROT_NONE: not present, but mapped.
        assert_eq!(
            info(&frame(14, 4, 0x7000, 0x401000, 0), &mapped),
            (Signal::SIGSEGV, SEGV_ACCERR, 0x7000)
        );
        for v in [10, 13] {
            assert_eq!(
                info(&frame(v, 0, 0, 0x401000, 0), &none),
                (Signal::SIGSEGV, SI_KERNEL, 0)
            );
        }
        for v in [11, 12] {
            assert_eq!(
                info(&frame(v, 0, 0, 0x401000, 0), &none),
                (Signal::SIGBUS, SI_KERNEL, 0)
            );
        }
        assert_eq!(
            info(&frame(3, 0, 0, 0x401001, 0), &none),
            (Signal::SIGTRAP, SI_KERNEL, 0)
        );
        assert_eq!(
            info(&frame(1, 0, 0, 0x401002, 0x302), &none),
            (Signal::SIGTRAP, TRAP_TRACE, 0x401002)
        );
        assert_eq!(
            info(&frame(1, 0, 0, 0x401002, 0x202), &none),
            (Signal::SIGTRAP, TRAP_BRKPT, 0x401002)
        );
        assert_eq!(
            info(&frame(6, 0, 0, 0x401003, 0), &none),
            (Signal::SIGILL, ILL_ILLOPN, 0x401003)
        );
        assert_eq!(
            info(&frame(0, 0, 0, 0x401004, 0), &none),
            (Signal::SIGFPE, FPE_INTDIV, 0x401004)
        );
        assert_eq!(
            info(&frame(17, 0, 0, 0x401005, 0), &none),
            (Signal::SIGBUS, BUS_ADRALN, 0)
        );
        // Without the FPU state, no code can be told.
        assert_eq!(
            info(&frame(16, 0, 0, 0x401006, 0), &none),
            (Signal::SIGFPE, SI_KERNEL, 0)
        );
        let fpu = FaultState {
            fpu: Some(FpuStatus {
                fcw: 0x37b,
                fsw: 0xb084,
                mxcsr: 0x1d84,
            }),
            ..none
        };
        assert_eq!(
            info(&frame(16, 0, 0, 0x401006, 0), &fpu),
            (Signal::SIGFPE, FPE_FLTDIV, 0x401006)
        );
        assert_eq!(
            info(&frame(19, 0, 0, 0x401007, 0), &fpu),
            (Signal::SIGFPE, FPE_FLTDIV, 0x401007)
        );
        // Every vector's signal is the one the program is killed with.
        for v in 0..32 {
            let f = frame(v, 0, 0, 0x401000, 0);
            assert_eq!(siginfo(&f, &fpu).signal, vector(v).signal, "vector {v}");
        }
    }

    #[test]
    fn fpu_codes_in_linux_order() {
        let x87 = |fsw: u16, fcw: u16| fpu_code(MF_VECTOR, &FpuStatus { fcw, fsw, mxcsr: 0 });
        let sse = |mxcsr: u32| {
            fpu_code(
                XM_VECTOR,
                &FpuStatus {
                    mxcsr,
                    ..Default::default()
                },
            )
        };
        assert_eq!(x87(0x05, 0x37a), Some(si_code::FPE_FLTINV), "invalid first");
        assert_eq!(
            x87(0x05, 0x37b),
            Some(si_code::FPE_FLTDIV),
            "invalid masked"
        );
        assert_eq!(x87(0x08, 0x377), Some(si_code::FPE_FLTOVF));
        assert_eq!(x87(0x10, 0x36f), Some(si_code::FPE_FLTUND));
        assert_eq!(x87(0x20, 0x35f), Some(si_code::FPE_FLTRES));
        assert_eq!(x87(0x04, 0x37f), None, "all masked");
        assert_eq!(sse(0x1f80 & !(1 << 9) | 0x04), Some(si_code::FPE_FLTDIV));
        assert_eq!(sse(0x1f84), None, "masked");
        assert_eq!(
            FpuStatus::from_fxsave(&[0xb084_037b, 0, 0, 0, 0, 0, 0x1d84, 0xffff]),
            FpuStatus {
                fcw: 0x37b,
                fsw: 0xb084,
                mxcsr: 0x1d84
            }
        );
        assert_eq!(FpuStatus::from_fxsave(&[]), FpuStatus::default());
    }

    #[test]
    fn selector_error_codes() {
        assert_eq!(selector_error(0), None);
        assert_eq!(
            selector_error(0x81 << 3 | 2).as_deref(),
            Some("idt vector 0x81")
        );
        assert_eq!(
            selector_error(0x19).as_deref(),
            Some("gdt selector 0x18 external")
        );
        assert_eq!(selector_error(0x0c).as_deref(), Some("ldt selector 0x8"));
        assert!(has_error_code(13) && has_error_code(14) && !has_error_code(6));
    }

    #[test]
    fn si_code_names() {
        let name = |signal, code| {
            SigInfo {
                signal,
                code,
                addr: 0,
            }
            .code_name()
        };
        assert_eq!(name(Signal::SIGSEGV, 1), Some("SEGV_MAPERR"));
        assert_eq!(name(Signal::SIGILL, 2), Some("ILL_ILLOPN"));
        assert_eq!(name(Signal::SIGTRAP, 2), Some("TRAP_TRACE"));
        assert_eq!(name(Signal::SIGBUS, 0x80), Some("SI_KERNEL"));
        assert_eq!(name(Signal::SIGFPE, 0), Some("SI_USER"));
        assert_eq!(name(Signal::SIGSEGV, -6), Some("SI_TKILL"));
        assert_eq!(name(Signal::SIGSEGV, 77), None);
    }

    #[test]
    fn guest_text_is_escaped() {
        let forged = b"\x1b[2K\r+++ exited with 0 +++\n\xff";
        let e = escaped(forged);
        assert_eq!(e, "\"\\33[2K\\r+++ exited with 0 +++\\n\\377\"");
        assert!(e.bytes().all(|b| (0x20..0x7f).contains(&b)), "{e}");
    }

    #[test]
    fn foreign_reasons() {
        assert_eq!(
            foreign_entry_reason(microvm_abi::EntryKind::CompatSyscall, 0x400dac),
            "#GP general protection: SYSCALL from 32-bit compatibility mode near rip 0x400dac"
        );
        assert!(foreign_cs_reason(0x1b, 6, 0x400dae).contains("code selector 0x1b"));
    }

    #[test]
    fn page_fault_codes() {
        assert_eq!(page_fault_error(0x6), "write user not-present");
        assert_eq!(page_fault_error(0x15), "fetch user protection");
        assert_eq!(
            kill_reason(14, 0x7, 0x1000, 0x401000),
            "#PF writing 0x1000 at rip 0x401000"
        );
        assert_eq!(
            kill_reason(6, 0, 0, 0x401000),
            "#UD invalid opcode at rip 0x401000"
        );
    }
}
