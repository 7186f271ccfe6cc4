//! The guest memory map.
//!
//! Guest-physical layout (low memory is fixed; user frames fill the rest):
//!
//! ```text
//! 0x0000_0000  null page              never mapped
//! 0x0000_1000  CPU tables page        kernel RO, NX: GDT, TSS, IDT, boot info
//! 0x0000_4000  shared page            kernel RW, NX (trap frame, messages)
//! 0x0001_0000  page-table pool        not mapped (the VMM writes it)
//! 0x0020_0000  kernel image           kernel, per its ELF segment flags
//! 0x0040_0000  kernel stacks          kernel RW, NX, with unmapped guards
//! 0x0050_0000  user frames            user pages, per the program
//! ```
//!
//! The kernel sees each of its pieces at [`KERNEL_BASE`] + its physical
//! address (the top 2 GiB, where the kernel code model links). Ring 3 owns
//! the lower half: a static program at its linked addresses (flat binaries
//! at [`USER_BASE`]) and a stack below [`USER_STACK_TOP`]. Nothing is mapped
//! both user-accessible and kernel-executable.

/// Size of a page.
pub const PAGE_SIZE: u64 = 0x1000;

/// Virtual address at which the kernel sees guest-physical address 0.
pub const KERNEL_BASE: u64 = 0xffff_ffff_8000_0000;

/// The page holding the CPU's tables and the boot info: one page, so that
/// the first instructions touch as few pages as possible (every first touch
/// is a fault into KVM on a shadow-paging KVM). Read-only for the kernel:
/// the descriptors are written with their accessed and busy bits set, so
/// the CPU never writes them.
pub const CPU_TABLES: u64 = 0x1000;
/// Guest-physical address of the GDT.
pub const GDT: u64 = CPU_TABLES;
/// Guest-physical address of the 64-bit TSS.
pub const TSS: u64 = CPU_TABLES + 0x80;
/// Guest-physical address of the IDT (built by the VMM from the kernel's
/// stubs; the 32 exception gates of 16 bytes).
pub const IDT: u64 = CPU_TABLES + 0x100;
/// Guest-physical address of the [`crate::BootInfo`].
pub const BOOT_INFO: u64 = CPU_TABLES + 0x400;
/// Guest-physical address of the [`crate::SharedPage`].
pub const SHARED_PAGE: u64 = 0x4000;

/// First guest-physical byte of the page-table pool (the PML4 is here).
pub const PAGE_TABLES_START: u64 = 0x1_0000;
/// End (exclusive) of the page-table pool.
pub const PAGE_TABLES_END: u64 = 0x20_0000;

/// Where the kernel image is loaded (its first segment's physical address).
pub const KERNEL_LOAD: u64 = 0x20_0000;
/// End (exclusive) of the room for the kernel image.
pub const KERNEL_END: u64 = 0x40_0000;

/// Start of the kernel stack region.
pub const KERNEL_STACKS: u64 = 0x40_0000;
/// Size of the kernel stack used for entries from ring 3 (TSS.RSP0).
pub const KERNEL_STACK_SIZE: u64 = 0x4000;
/// Guest-physical bottom of the kernel stack (a guard page lies below it).
pub const KERNEL_STACK_BOTTOM: u64 = KERNEL_STACKS + PAGE_SIZE;
/// Guest-physical top of the kernel stack.
pub const KERNEL_STACK_TOP: u64 = KERNEL_STACK_BOTTOM + KERNEL_STACK_SIZE;
/// Guest-physical address of the user RSP in the exception frame a #PF
/// from ring 3 leaves at the top of the kernel stack (SS, RSP, RFLAGS, CS,
/// RIP, error code, pushed down from [`KERNEL_STACK_TOP`]).
pub const PF_USER_RSP: u64 = KERNEL_STACK_TOP - 16;
/// Size of the double-fault stack (IST1).
pub const DF_STACK_SIZE: u64 = 0x2000;
/// Guest-physical bottom of the double-fault stack (a guard page lies below).
pub const DF_STACK_BOTTOM: u64 = KERNEL_STACK_TOP + PAGE_SIZE;
/// Guest-physical top of the double-fault stack.
pub const DF_STACK_TOP: u64 = DF_STACK_BOTTOM + DF_STACK_SIZE;

/// Size of the debug-exception stack (IST2). #DB runs on a stack of its
/// own, as on Linux: `pop ss` or `mov ss` with TF set delays the trap past
/// a following SYSCALL, into ring 0 at LSTAR while RSP is still the
/// program's; a stack switch keeps the CPU from pushing there.
pub const DB_STACK_SIZE: u64 = 0x1000;
/// Guest-physical bottom of the debug-exception stack (a guard page lies
/// below).
pub const DB_STACK_BOTTOM: u64 = DF_STACK_TOP + PAGE_SIZE;
/// Guest-physical top of the debug-exception stack.
pub const DB_STACK_TOP: u64 = DB_STACK_BOTTOM + DB_STACK_SIZE;

/// First guest-physical byte handed out for user pages.
pub const USER_FRAMES_START: u64 = 0x50_0000;

/// Where a flat binary is loaded, and its entry point.
pub const USER_BASE: u64 = 0x40_0000;
/// Top (exclusive) of the user stack.
pub const USER_STACK_TOP: u64 = 0x7fff_ffff_f000;
/// Size of the user stack.
pub const USER_STACK_SIZE: u64 = 0x2_0000;
/// Highest user address + 1: the end of the canonical lower half.
pub const USER_END: u64 = 0x8000_0000_0000;

/// Virtual page at which the VMM maps, kernel-only and executable, an alias
/// of the kernel page holding its compatibility-mode SYSCALL stub: CSTAR
/// points here, because KVM-PVM enters CSTAR truncated to 32 bits. Below
/// [`MMAP_MIN_ADDR`], so no user mapping can take its place.
pub const COMPAT_ENTRY_ALIAS: u64 = 0xf000;

/// Smallest guest memory that leaves room for a program.
pub const MIN_MEMORY: u64 = 8 << 20;

/// The kernel's virtual address for a guest-physical address in the
/// kernel's part of the map.
pub const fn kernel_virt(phys: u64) -> u64 {
    KERNEL_BASE + phys
}

const _: () = assert!(DB_STACK_TOP <= USER_FRAMES_START);
const _: () = assert!(TSS >= GDT + 8 * crate::selector::GDT_ENTRIES as u64);
const _: () = assert!(IDT >= TSS + 104 && IDT + 32 * 16 <= BOOT_INFO);
const _: () =
    assert!(BOOT_INFO + core::mem::size_of::<crate::BootInfo>() as u64 <= CPU_TABLES + PAGE_SIZE);
const _: () = assert!(USER_BASE < USER_STACK_TOP - USER_STACK_SIZE);
const _: () = assert!(COMPAT_ENTRY_ALIAS >= PAGE_SIZE);
