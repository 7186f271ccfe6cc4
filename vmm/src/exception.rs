//! x86 exceptions as the trace and the user see them: names, error-code
//! decoding, and the signal a Linux kernel would end the program with.

/// Signals a ring-3 exception ends a program with, numbered as on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Signal {
    /// Illegal instruction.
    Sigill = 4,
    /// Trace/breakpoint trap.
    Sigtrap = 5,
    /// Bus error (alignment check).
    Sigbus = 7,
    /// Arithmetic exception.
    Sigfpe = 8,
    /// Segmentation fault.
    Sigsegv = 11,
    /// Write to a pipe with no reader.
    Sigpipe = 13,
}

impl Signal {
    /// "SIGSEGV" and so on.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Sigill => "SIGILL",
            Signal::Sigtrap => "SIGTRAP",
            Signal::Sigbus => "SIGBUS",
            Signal::Sigfpe => "SIGFPE",
            Signal::Sigsegv => "SIGSEGV",
            Signal::Sigpipe => "SIGPIPE",
        }
    }

    /// The exit status of a process killed by this signal, as a shell reports it.
    pub fn exit_status(self) -> i32 {
        128 + self as i32
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
    use Signal::*;
    let (mnemonic, name, signal) = match vector {
        0 => ("#DE", "divide error", Sigfpe),
        1 => ("#DB", "debug", Sigtrap),
        2 => ("NMI", "non-maskable interrupt", Sigsegv),
        3 => ("#BP", "breakpoint", Sigtrap),
        4 => ("#OF", "overflow", Sigsegv),
        5 => ("#BR", "bound range exceeded", Sigsegv),
        6 => ("#UD", "invalid opcode", Sigill),
        7 => ("#NM", "device not available", Sigsegv),
        8 => ("#DF", "double fault", Sigsegv),
        10 => ("#TS", "invalid TSS", Sigsegv),
        11 => ("#NP", "segment not present", Sigbus),
        12 => ("#SS", "stack-segment fault", Sigbus),
        13 => ("#GP", "general protection", Sigsegv),
        14 => ("#PF", "page fault", Sigsegv),
        16 => ("#MF", "x87 floating-point error", Sigfpe),
        17 => ("#AC", "alignment check", Sigbus),
        18 => ("#MC", "machine check", Sigbus),
        19 => ("#XM", "SIMD floating-point error", Sigfpe),
        20 => ("#VE", "virtualization exception", Sigsegv),
        21 => ("#CP", "control protection", Sigsegv),
        _ => ("#??", "reserved exception", Sigsegv),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_signals() {
        assert_eq!(vector(14).signal, Signal::Sigsegv);
        assert_eq!(vector(13).signal, Signal::Sigsegv);
        assert_eq!(vector(6).signal, Signal::Sigill);
        assert_eq!(vector(0).signal, Signal::Sigfpe);
        assert_eq!(vector(19).signal, Signal::Sigfpe);
        assert_eq!(vector(3).signal, Signal::Sigtrap);
        assert_eq!(vector(17).signal, Signal::Sigbus);
        assert_eq!(Signal::Sigsegv.exit_status(), 139);
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
