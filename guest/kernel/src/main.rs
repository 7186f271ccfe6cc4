//! microvm's guest kernel.
//!
//! It does as little as a kernel can, because on KVM-PVM every instruction
//! it executes costs about a microsecond: the VMM has already set up
//! paging, the GDT, the TSS, the IDT (from this kernel's stubs), EFER and
//! the SYSCALL MSRs before the first instruction here. The kernel enters
//! the program in ring 3 and hands every transition back to ring 0 — each
//! SYSCALL and each exception — to the host (see `entry.rs`).
//!
//! SYSCALL reaches the kernel by one of two paths: on hardware-virtualisation
//! KVM it enters LSTAR in ring 0; on KVM-PVM it jumps to LSTAR still in ring
//! 3 and faults there, and the #PF handler recognises the fault as the
//! syscall. Both paths knock on a syscall port with every user register
//! live, and return with SYSRETQ.
#![no_std]
#![no_main]

mod entry;
mod hypercall;

use core::fmt::Write;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut message = hypercall::Message::new();
    // Writing to the fixed buffer cannot fail; it truncates.
    let _ = write!(message, "{info}");
    hypercall::panic(message)
}
