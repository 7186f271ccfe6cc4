//! microvm's guest kernel.
//!
//! It does as little as a kernel can: it installs an IDT, enters the program
//! in ring 3, and hands every transition back to ring 0 — each SYSCALL and
//! each exception — to the host through a hypercall, with the complete user
//! register state in the shared page. The VMM has already set up paging, the
//! GDT, the TSS, EFER and the SYSCALL MSRs before the first instruction here.
//!
//! SYSCALL reaches the kernel by one of two paths (see `entry.rs`): on
//! hardware-virtualisation KVM it enters LSTAR in ring 0; on KVM-PVM it jumps
//! to LSTAR still in ring 3 and faults there, and the #PF handler recognises
//! the fault as the syscall. Both paths end in the same code.
#![no_std]
#![no_main]

mod entry;
mod hypercall;
mod idt;

use core::fmt::Write;
use microvm_abi::{layout, BenchMode, BootInfo, ABI_VERSION, BOOT_MAGIC};

/// The boot entry's Rust half: called by `_start` with the boot info.
#[no_mangle]
extern "C" fn kmain(boot: &BootInfo) -> ! {
    if boot.magic != BOOT_MAGIC || boot.abi_version != u64::from(ABI_VERSION) {
        panic!("boot info has a bad magic or ABI version");
    }
    idt::install();
    entry::set_bench_mode(boot.bench_mode);
    if boot.bench_mode == BenchMode::BareExit as u64 {
        for _ in 0..boot.bench_iterations {
            hypercall::null();
        }
    }
    // SAFETY: the VMM mapped the program at `user_entry` and its stack below
    // `user_stack`, both user-accessible; from here on the kernel only runs
    // again through its entry stubs.
    unsafe { entry::enter_user(boot.user_entry, boot.user_stack) }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut message = hypercall::Message::new();
    // Writing to the fixed buffer cannot fail; it truncates.
    let _ = write!(message, "{info}");
    hypercall::panic(message)
}

// The addresses the stubs use, checked here at build time.
const _: () = assert!(layout::kernel_virt(layout::SHARED_PAGE) >= layout::KERNEL_BASE);
