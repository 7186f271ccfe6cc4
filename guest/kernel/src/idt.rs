//! The interrupt descriptor table: the 32 exception vectors, each pointing at
//! its stub in `entry.rs`. #BP and #OF are callable from ring 3 (DPL 3), as
//! on Linux, so `int3` reports a breakpoint rather than a #GP; #DF runs on
//! its own stack (IST1, set in the TSS by the VMM).

use core::cell::UnsafeCell;

/// Interrupt-gate type, present.
const GATE_INTERRUPT: u8 = 0x8e;
/// Vectors that take the ring-3 privilege level in their gate.
const USER_CALLABLE: [usize; 2] = [3, 4];
/// Double fault: runs on IST1.
const DOUBLE_FAULT: usize = 8;
/// Page fault: has its own stub that also takes the KVM-PVM syscall path.
const PAGE_FAULT: usize = 14;

#[derive(Clone, Copy)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    const MISSING: Gate = Gate {
        offset_low: 0,
        selector: 0,
        ist: 0,
        attributes: 0,
        offset_mid: 0,
        offset_high: 0,
        reserved: 0,
    };

    fn new(handler: u64, dpl: u8, ist: u8) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector: microvm_abi::selector::KERNEL_CS,
            ist,
            attributes: GATE_INTERRUPT | (dpl << 5),
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, align(16))]
struct Idt(UnsafeCell<[Gate; 256]>);

// SAFETY: one vCPU, written once during boot with interrupts off.
unsafe impl Sync for Idt {}

static IDT: Idt = Idt(UnsafeCell::new([Gate::MISSING; 256]));

#[repr(C, packed)]
struct Pointer {
    limit: u16,
    base: u64,
}

/// Fill the IDT and load it.
pub fn install() {
    let stubs = crate::entry::exception_stubs();
    // SAFETY: boot runs once, single-threaded, before anything can trap
    // through the table.
    let idt = unsafe { &mut *IDT.0.get() };
    for (vector, gate) in idt.iter_mut().enumerate().take(32) {
        let handler = if vector == PAGE_FAULT {
            crate::entry::page_fault_stub()
        } else {
            stubs + (vector as u64) * crate::entry::STUB_SIZE
        };
        let dpl = if USER_CALLABLE.contains(&vector) {
            3
        } else {
            0
        };
        let ist = if vector == DOUBLE_FAULT { 1 } else { 0 };
        *gate = Gate::new(handler, dpl, ist);
    }
    let pointer = Pointer {
        limit: (core::mem::size_of::<[Gate; 256]>() - 1) as u16,
        base: IDT.0.get() as u64,
    };
    // SAFETY: the table is static and filled; LIDT only reads the pointer.
    unsafe { core::arch::asm!("lidt [{}]", in(reg) &pointer, options(readonly, nostack)) };
}
