//! The x86-64 long-mode structures the VMM builds for the guest: page
//! tables, the GDT and TSS, control registers, EFER and the SYSCALL MSRs.
//! Each encoding is a small pure function with unit tests against the
//! architecture manual's definitions.

pub mod gdt;
pub mod idt;
pub mod paging;
pub mod regs;
