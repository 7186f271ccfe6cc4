//! The contract between the microvm VMM and its guest kernel.
//!
//! Every constant and layout that both sides must agree on lives here and
//! nowhere else: the guest-physical memory map, the kernel's virtual mapping,
//! the GDT selectors, the I/O ports, the hypercall numbers, the trap-frame
//! layout, the boot-info layout and the header a kernel image must carry.
//! Both the VMM (`vmm/`) and the guest kernel (`guest/kernel`) depend on this
//! crate; the guest builds it `no_std` for `x86_64-unknown-none`.
//!
//! The ABI is versioned ([`ABI_VERSION`]): a kernel image states the version
//! it was built against in its [`KernelHeader`] and the VMM refuses another.
#![no_std]
#![deny(missing_docs)]

pub mod layout;
pub mod linux;
pub mod vdso;

use core::mem::size_of;

/// Version of this contract. Bump it on any change to a layout below.
pub const ABI_VERSION: u32 = 7;

/// `b"MICROVMK"` read as a little-endian u64: first word of a kernel image.
pub const KERNEL_MAGIC: u64 = u64::from_le_bytes(*b"MICROVMK");

/// `b"MICROVMB"` read as a little-endian u64: first word of [`BootInfo`].
pub const BOOT_MAGIC: u64 = u64::from_le_bytes(*b"MICROVMB");

/// GDT selectors. The order is the one SYSCALL/SYSRET need:
/// SYSCALL loads CS = STAR[47:32] and SS = STAR[47:32] + 8; SYSRET (64-bit)
/// loads SS = STAR[63:48] + 8 and CS = STAR[63:48] + 16, both with RPL 3.
pub mod selector {
    /// GDT index of the kernel 64-bit code segment.
    pub const KERNEL_CODE_INDEX: u16 = 1;
    /// GDT index of the kernel data segment.
    pub const KERNEL_DATA_INDEX: u16 = 2;
    /// GDT index of the user data segment (SYSRET: STAR[63:48] + 8).
    pub const USER_DATA_INDEX: u16 = 3;
    /// GDT index of the user 64-bit code segment (SYSRET: STAR[63:48] + 16).
    pub const USER_CODE_INDEX: u16 = 4;
    /// GDT index of the 64-bit TSS descriptor (takes two slots).
    pub const TSS_INDEX: u16 = 5;
    /// Number of 8-byte GDT slots.
    pub const GDT_ENTRIES: usize = 7;

    /// Kernel code selector (RPL 0).
    pub const KERNEL_CS: u16 = KERNEL_CODE_INDEX << 3;
    /// Kernel data/stack selector (RPL 0).
    pub const KERNEL_DS: u16 = KERNEL_DATA_INDEX << 3;
    /// User data/stack selector (RPL 3).
    pub const USER_DS: u16 = (USER_DATA_INDEX << 3) | 3;
    /// User code selector (RPL 3).
    pub const USER_CS: u16 = (USER_CODE_INDEX << 3) | 3;
    /// TSS selector.
    pub const TSS: u16 = TSS_INDEX << 3;
    /// The selector base SYSRET adds 8 (SS) and 16 (CS) to: STAR[63:48].
    pub const SYSRET_BASE: u16 = KERNEL_DS;
}

/// I/O ports the guest kernel may use. Anything else is an error.
///
/// The syscall ports are the hot path: the kernel knocks with
/// `out imm8, al` straight from its entry stub, so every user register is
/// still live in the vCPU, where the host reads it through kvm_run's
/// sync_regs (no ioctl, no frame copy). The host checks that the knock came
/// from the kernel by the vCPU's RIP, which must be the instruction after
/// the kernel's own `out` (its address is in the [`KernelHeader`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Port {
    /// `out dx, eax` with a [`Hypercall`] number in eax: the kernel asks the
    /// host to act on the [`SharedPage`].
    Hypercall = 0x0510,
    /// A SYSCALL that entered LSTAR in ring 0 (hardware KVM): the user's
    /// registers are live, RSP included.
    SyscallLstar = 0x00f1,
    /// A SYSCALL taken through the #PF at LSTAR (KVM-PVM): the user's
    /// registers are live but RSP, which is in the exception frame at the
    /// top of the kernel stack ([`layout::PF_USER_RSP`]).
    SyscallPageFault = 0x00f2,
    /// Benchmarks only ([`BenchMode::NullForward`]): nothing to do.
    Null = 0x00f3,
}

impl TryFrom<u16> for Port {
    type Error = u16;
    fn try_from(port: u16) -> Result<Self, u16> {
        match port {
            0x0510 => Ok(Port::Hypercall),
            0x00f1 => Ok(Port::SyscallLstar),
            0x00f2 => Ok(Port::SyscallPageFault),
            0x00f3 => Ok(Port::Null),
            other => Err(other),
        }
    }
}

/// Hypercall numbers, written as a 32-bit value to [`Port::Hypercall`]
/// (syscalls have ports of their own). 1 was the syscall before ABI 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Hypercall {
    /// An exception taken in ring 3: `frame` holds the user registers plus
    /// vector, error code and CR2. The host decides whether to resume.
    UserException = 2,
    /// An exception taken in ring 0 (a kernel bug): `frame` holds the
    /// kernel registers. The kernel halts; the host reports and stops.
    KernelFault = 3,
    /// The kernel panicked: `SharedPage::message` holds the message.
    Panic = 4,
    /// Ring 3 reached ring 0 by a door the program has no business using:
    /// SYSCALL from 32-bit compatibility mode (CSTAR) or SYSENTER. `frame`
    /// holds its registers and `kind` says which ([`EntryKind`]); the host
    /// ends the program as the #GP it is, and the kernel halts.
    ForeignEntry = 5,
}

impl TryFrom<u32> for Hypercall {
    type Error = u32;
    fn try_from(nr: u32) -> Result<Self, u32> {
        match nr {
            2 => Ok(Hypercall::UserException),
            3 => Ok(Hypercall::KernelFault),
            4 => Ok(Hypercall::Panic),
            5 => Ok(Hypercall::ForeignEntry),
            other => Err(other),
        }
    }
}

/// How the kernel was entered for the transition in a [`TrapFrame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum EntryKind {
    /// SYSCALL entered LSTAR in ring 0 (hardware-virtualisation KVM).
    SyscallLstar = 1,
    /// SYSCALL jumped to LSTAR still in ring 3 and faulted there (#PF,
    /// P|U|I, RIP = CR2 = LSTAR); the #PF handler took it as a syscall
    /// (KVM-PVM).
    SyscallPageFault = 2,
    /// An exception; `vector`, `error_code` and `cr2` say which.
    Exception = 3,
    /// SYSCALL from compatibility mode entered CSTAR in ring 0: `rcx` and
    /// `r11` hold the return RIP and RFLAGS, `rsp` the program's.
    CompatSyscall = 4,
    /// SYSENTER entered SYSENTER_EIP in ring 0 (no return RIP is kept).
    Sysenter = 5,
}

impl TryFrom<u64> for EntryKind {
    type Error = u64;
    fn try_from(kind: u64) -> Result<Self, u64> {
        match kind {
            1 => Ok(EntryKind::SyscallLstar),
            2 => Ok(EntryKind::SyscallPageFault),
            3 => Ok(EntryKind::Exception),
            4 => Ok(EntryKind::CompatSyscall),
            5 => Ok(EntryKind::Sysenter),
            other => Err(other),
        }
    }
}

/// The register state at a transition.
///
/// For an exception the kernel's stubs save it in the [`SharedPage`] and
/// restore every register from it if the host resumes the program. For a
/// syscall the host builds it from the live vCPU registers (see [`Port`]):
/// the user registers as SYSCALL left them, `rcx` = the return RIP, `r11` =
/// the RFLAGS the program ran with, `rip` = `rcx`, `rflags` = `r11`,
/// `cs`/`ss` = the user selectors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct TrapFrame {
    /// General-purpose registers, in this order.
    pub rax: u64,
    /// rbx
    pub rbx: u64,
    /// rcx
    pub rcx: u64,
    /// rdx
    pub rdx: u64,
    /// rsi
    pub rsi: u64,
    /// rdi
    pub rdi: u64,
    /// rbp
    pub rbp: u64,
    /// rsp (the interrupted context's stack pointer)
    pub rsp: u64,
    /// r8
    pub r8: u64,
    /// r9
    pub r9: u64,
    /// r10
    pub r10: u64,
    /// r11
    pub r11: u64,
    /// r12
    pub r12: u64,
    /// r13
    pub r13: u64,
    /// r14
    pub r14: u64,
    /// r15
    pub r15: u64,
    /// Instruction pointer of the interrupted context (for a syscall, the
    /// instruction after SYSCALL).
    pub rip: u64,
    /// RFLAGS of the interrupted context.
    pub rflags: u64,
    /// Code selector of the interrupted context.
    pub cs: u64,
    /// Stack selector of the interrupted context.
    pub ss: u64,
    /// An [`EntryKind`] value.
    pub kind: u64,
    /// Exception vector (exceptions only).
    pub vector: u64,
    /// Exception error code, 0 where the exception has none.
    pub error_code: u64,
    /// CR2 at the exception (meaningful for #PF).
    pub cr2: u64,
    /// Sequence number the kernel advances before every hypercall; the host
    /// checks it to tell a kernel hypercall from a ring-3 knock on the port.
    pub ticket: u64,
}

/// The registers a transition shows, listed once: `$then!([general] [context])`
/// with the 16 general-purpose registers in [`TrapFrame`] order, then the
/// interrupted context's `rip rflags cs ss`. Code that treats each register
/// alike (the trace's register lists, a frame built from the vCPU's
/// registers) expands its own macro over this list rather than naming them:
///
/// ```
/// macro_rules! general {
///     ([$($g:ident)*] [$($c:ident)*]) => { [$(stringify!($g)),*] };
/// }
/// let names = microvm_abi::trap_frame_registers!(general);
/// assert_eq!((names[0], names[15]), ("rax", "r15"));
/// ```
#[macro_export]
macro_rules! trap_frame_registers {
    ($then:ident) => {
        $then! {
            [rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15]
            [rip rflags cs ss]
        }
    };
}

/// How many registers [`TrapFrame::registers`] lists.
pub const SHOWN_REGISTERS: usize = 20;

macro_rules! registers_impl {
    ([$($g:ident)*] [$($c:ident)*]) => {
        impl TrapFrame {
            /// The registers a transition shows (the trace's `--regs` and
            /// JSON `regs`), name and value, in [`trap_frame_registers!`]
            /// order.
            pub fn registers(&self) -> [(&'static str, u64); SHOWN_REGISTERS] {
                [$((stringify!($g), self.$g),)* $((stringify!($c), self.$c),)*]
            }
        }

        // The list is the frame's layout: the general-purpose registers
        // first, in order, then the context registers, in order.
        const _: () = {
            let mut at = 0;
            $(
                assert!(core::mem::offset_of!(TrapFrame, $g) == at);
                at += size_of::<u64>();
            )*
            $(
                assert!(core::mem::offset_of!(TrapFrame, $c) == at);
                at += size_of::<u64>();
            )*
            assert!(at == SHOWN_REGISTERS * size_of::<u64>());
        };
    };
}
trap_frame_registers!(registers_impl);

impl TrapFrame {
    /// The six syscall arguments: rdi, rsi, rdx, r10, r8, r9.
    pub fn syscall_args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }

    /// A frame holding syscall `nr` (rax) with `args` in the syscall
    /// argument registers, the inverse of [`TrapFrame::syscall_args`]; every
    /// other field zero.
    #[must_use]
    pub fn syscall(nr: u64, args: [u64; 6]) -> TrapFrame {
        let [rdi, rsi, rdx, r10, r8, r9] = args;
        TrapFrame {
            rax: nr,
            rdi,
            rsi,
            rdx,
            r10,
            r8,
            r9,
            ..TrapFrame::default()
        }
    }
}

/// Byte offsets of [`TrapFrame`] fields, for the kernel's assembly stubs.
pub mod frame_offset {
    use super::TrapFrame;
    use core::mem::offset_of;
    /// Offset of `rax`.
    pub const RAX: usize = offset_of!(TrapFrame, rax);
    /// Offset of `rbx`.
    pub const RBX: usize = offset_of!(TrapFrame, rbx);
    /// Offset of `rcx`.
    pub const RCX: usize = offset_of!(TrapFrame, rcx);
    /// Offset of `rdx`.
    pub const RDX: usize = offset_of!(TrapFrame, rdx);
    /// Offset of `rsi`.
    pub const RSI: usize = offset_of!(TrapFrame, rsi);
    /// Offset of `rdi`.
    pub const RDI: usize = offset_of!(TrapFrame, rdi);
    /// Offset of `rbp`.
    pub const RBP: usize = offset_of!(TrapFrame, rbp);
    /// Offset of `rsp`.
    pub const RSP: usize = offset_of!(TrapFrame, rsp);
    /// Offset of `r8`.
    pub const R8: usize = offset_of!(TrapFrame, r8);
    /// Offset of `r9`.
    pub const R9: usize = offset_of!(TrapFrame, r9);
    /// Offset of `r10`.
    pub const R10: usize = offset_of!(TrapFrame, r10);
    /// Offset of `r11`.
    pub const R11: usize = offset_of!(TrapFrame, r11);
    /// Offset of `r12`.
    pub const R12: usize = offset_of!(TrapFrame, r12);
    /// Offset of `r13`.
    pub const R13: usize = offset_of!(TrapFrame, r13);
    /// Offset of `r14`.
    pub const R14: usize = offset_of!(TrapFrame, r14);
    /// Offset of `r15`.
    pub const R15: usize = offset_of!(TrapFrame, r15);
    /// Offset of `rip`.
    pub const RIP: usize = offset_of!(TrapFrame, rip);
    /// Offset of `rflags`.
    pub const RFLAGS: usize = offset_of!(TrapFrame, rflags);
    /// Offset of `cs`.
    pub const CS: usize = offset_of!(TrapFrame, cs);
    /// Offset of `ss`.
    pub const SS: usize = offset_of!(TrapFrame, ss);
    /// Offset of `kind`.
    pub const KIND: usize = offset_of!(TrapFrame, kind);
    /// Offset of `vector`.
    pub const VECTOR: usize = offset_of!(TrapFrame, vector);
    /// Offset of `error_code`.
    pub const ERROR_CODE: usize = offset_of!(TrapFrame, error_code);
    /// Offset of `cr2`.
    pub const CR2: usize = offset_of!(TrapFrame, cr2);
    /// Offset of `ticket`.
    pub const TICKET: usize = offset_of!(TrapFrame, ticket);
}

/// Bytes of panic message the kernel can hand over.
pub const MESSAGE_LEN: usize = 1024;

/// The page the kernel and the host exchange requests through, at
/// [`layout::SHARED_PAGE`]. Kernel-only in the guest page tables.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct SharedPage {
    /// The transition being handed over.
    pub frame: TrapFrame,
    /// [`request`] bits the host sets for the kernel to act on before it
    /// returns to ring 3; the kernel clears them.
    pub requests: u64,
    /// With [`request::SET_FS_BASE`]: the new FS base.
    pub fs_base: u64,
    /// With [`request::SET_GS_BASE`]: the new GS base.
    pub gs_base: u64,
    /// Length of `message` in use.
    pub message_len: u64,
    /// A UTF-8 message (kernel panics).
    pub message: [u8; MESSAGE_LEN],
}

/// What the host can ask the kernel to do on the way back to ring 3.
pub mod request {
    /// Reload CR3: the host changed or removed user mappings.
    pub const FLUSH_TLB: u64 = 1 << 0;
    /// Write `SharedPage::fs_base` to IA32_FS_BASE.
    pub const SET_FS_BASE: u64 = 1 << 1;
    /// Write `SharedPage::gs_base` to IA32_GS_BASE.
    pub const SET_GS_BASE: u64 = 1 << 2;
}

/// Offset of [`SharedPage::requests`] in the shared page.
pub const SHARED_REQUESTS_OFFSET: usize = core::mem::offset_of!(SharedPage, requests);
/// Offset of [`SharedPage::fs_base`] in the shared page.
pub const SHARED_FS_BASE_OFFSET: usize = core::mem::offset_of!(SharedPage, fs_base);
/// Offset of [`SharedPage::gs_base`] in the shared page.
pub const SHARED_GS_BASE_OFFSET: usize = core::mem::offset_of!(SharedPage, gs_base);

/// Offset of [`SharedPage::message_len`] in the shared page.
pub const SHARED_MESSAGE_LEN_OFFSET: usize = core::mem::offset_of!(SharedPage, message_len);
/// Offset of [`SharedPage::message`] in the shared page.
pub const SHARED_MESSAGE_OFFSET: usize = core::mem::offset_of!(SharedPage, message);

/// What the VMM tells the kernel at boot, at [`layout::BOOT_INFO`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BootInfo {
    /// [`BOOT_MAGIC`].
    pub magic: u64,
    /// [`ABI_VERSION`].
    pub abi_version: u64,
    /// Where the program starts in ring 3.
    pub user_entry: u64,
    /// The program's initial stack pointer (pointing at argc).
    pub user_stack: u64,
    /// A [`BenchMode`] value; 0 for a normal run.
    pub bench_mode: u64,
    /// [`BenchMode::BareExit`]: how many [`Port::Null`] knocks to make before entering
    /// the program.
    pub bench_iterations: u64,
}

/// The syscall number the benchmark modes answer on their short paths
/// (getppid); every other syscall takes the normal path.
pub const BENCH_SYSCALL: u64 = 110;

/// Kernel paths for benchmarks, chosen by the VMM at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum BenchMode {
    /// The normal kernel: every syscall is forwarded with its frame.
    Off = 0,
    /// [`BENCH_SYSCALL`] makes the same transitions as a forwarded syscall
    /// — the same kernel path, one exit, SYSRETQ — but the host only puts
    /// the answer (0) and the user's stack pointer back: no frame, no
    /// service, no trace.
    NullForward = 1,
    /// [`BENCH_SYSCALL`] is answered (0) by the kernel itself: ring 3 ->
    /// ring 0 -> ring 3 with no exit.
    InGuest = 2,
    /// Before entering the program, the kernel makes `bench_iterations`
    /// [`Port::Null`] hypercalls from ring 0 in a loop.
    BareExit = 3,
}

impl TryFrom<u64> for BenchMode {
    type Error = u64;
    fn try_from(v: u64) -> Result<Self, u64> {
        match v {
            0 => Ok(BenchMode::Off),
            1 => Ok(BenchMode::NullForward),
            2 => Ok(BenchMode::InGuest),
            3 => Ok(BenchMode::BareExit),
            other => Err(other),
        }
    }
}

/// The header every microvm kernel image starts with, at the first byte of
/// its first loadable segment ([`layout::KERNEL_LOAD`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct KernelHeader {
    /// [`KERNEL_MAGIC`].
    pub magic: u64,
    /// The [`ABI_VERSION`] the kernel was built against.
    pub abi_version: u64,
    /// Virtual address of the SYSCALL entry point: the VMM writes it to LSTAR.
    pub syscall_entry: u64,
    /// Address of the instruction after the kernel's `out` to
    /// [`Port::SyscallLstar`]: the RIP a genuine knock on it leaves.
    pub lstar_resume: u64,
    /// The same for [`Port::SyscallPageFault`].
    pub page_fault_resume: u64,
    /// Where the host sends the vCPU (by setting RIP) when it has
    /// [`request`]s for the kernel: that code acts on them and returns to
    /// ring 3 with SYSRETQ.
    pub requests_entry: u64,
    /// The first of the 32 exception stubs, [`EXCEPTION_STUB_SIZE`] bytes
    /// apart; the VMM builds the IDT from them.
    pub exception_stubs: u64,
    /// The #PF handler (it also takes the KVM-PVM SYSCALL path).
    pub page_fault_entry: u64,
    /// Where SYSCALL from compatibility mode lands (the VMM writes it to
    /// CSTAR): a stub that hands the program to the host as a fault.
    pub compat_syscall_entry: u64,
    /// Where SYSENTER lands (SYSENTER_EIP): the same, for SYSENTER.
    pub sysenter_entry: u64,
    /// The return to ring 3 with every register restored: the host writes
    /// the registers into the shared frame and an IRETQ frame (vector,
    /// error code, rip, cs, rflags, rsp, ss: [`FULL_RETURN_FRAME`] bytes)
    /// on the kernel stack, and points RSP at it and RIP here. The kernel
    /// copies rip, rflags and rsp from the shared frame into it, loads
    /// every general register from the shared frame and IRETQs (the
    /// resume of a ring-3 exception). Signal delivery and rt_sigreturn.
    pub full_return: u64,
}

/// Bytes of the frame [`KernelHeader::full_return`] pops: the vector and
/// error code the exception stubs push, then the IRETQ frame.
pub const FULL_RETURN_FRAME: u64 = 7 * 8;

/// Distance between two exception stubs in the kernel image.
pub const EXCEPTION_STUB_SIZE: u64 = 16;

/// Offset of [`KernelHeader::syscall_entry`], for the kernel's assembly.
pub const HEADER_SYSCALL_ENTRY_OFFSET: usize = core::mem::offset_of!(KernelHeader, syscall_entry);

const _: () = assert!(size_of::<SharedPage>() <= layout::PAGE_SIZE as usize);
const _: () = assert!(size_of::<BootInfo>() <= layout::PAGE_SIZE as usize);
const _: () = assert!(size_of::<TrapFrame>() == 25 * 8);

#[cfg(feature = "host")]
mod host {
    use super::{BootInfo, KernelHeader, SharedPage, TrapFrame};
    // SAFETY: these are `repr(C)` structs made only of integers and integer
    // arrays, with no padding (asserted above for the frame; the others are
    // all u64 or u8 arrays after u64s), so every byte pattern is a valid value.
    unsafe impl vm_memory::ByteValued for TrapFrame {}
    // SAFETY: as above.
    unsafe impl vm_memory::ByteValued for BootInfo {}
    // SAFETY: as above.
    unsafe impl vm_memory::ByteValued for KernelHeader {}
    // SAFETY: as above; the message array length is a multiple of 8.
    unsafe impl vm_memory::ByteValued for SharedPage {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysret_order_matches_gdt() {
        assert_eq!(selector::SYSRET_BASE + 8, selector::USER_DS & !3);
        assert_eq!(selector::SYSRET_BASE + 16, selector::USER_CS & !3);
        assert_eq!(selector::KERNEL_CS + 8, selector::KERNEL_DS);
    }

    #[test]
    fn ports_and_hypercalls_round_trip() {
        for p in [
            Port::Hypercall,
            Port::SyscallLstar,
            Port::SyscallPageFault,
            Port::Null,
        ] {
            assert_eq!(Port::try_from(p as u16), Ok(p));
        }
        assert_eq!(Port::try_from(0x3f8), Err(0x3f8));
        for h in [
            Hypercall::UserException,
            Hypercall::KernelFault,
            Hypercall::Panic,
            Hypercall::ForeignEntry,
        ] {
            assert_eq!(Hypercall::try_from(h as u32), Ok(h));
        }
        assert_eq!(Hypercall::try_from(0), Err(0));
        for k in [
            EntryKind::SyscallLstar,
            EntryKind::SyscallPageFault,
            EntryKind::Exception,
            EntryKind::CompatSyscall,
            EntryKind::Sysenter,
        ] {
            assert_eq!(EntryKind::try_from(k as u64), Ok(k));
        }
        assert_eq!(EntryKind::try_from(6), Err(6));
    }

    #[test]
    fn frame_offsets() {
        assert_eq!(frame_offset::RAX, 0);
        assert_eq!(frame_offset::R15, 15 * 8);
        assert_eq!(frame_offset::RIP, 16 * 8);
        assert_eq!(frame_offset::TICKET, 24 * 8);
    }
}
