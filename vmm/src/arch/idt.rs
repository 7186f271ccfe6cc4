//! The interrupt descriptor table, built by the VMM from the stubs the
//! kernel exports in its header: the 32 exception vectors, #PF on its own
//! stub (it also takes the KVM-PVM SYSCALL path), #BP and #OF callable from
//! ring 3 (DPL 3, as on Linux, so `int3` is a breakpoint and not a #GP),
//! #DF on IST1, #DB on IST2 (so that a debug trap delivered in ring 0
//! before the kernel has left the program's stack never pushes onto it).

use microvm_abi::selector::KERNEL_CS;
use microvm_abi::EXCEPTION_STUB_SIZE;

/// Number of gates in the table: the exceptions (nothing raises interrupts
/// in a microvm guest; a vector past the limit would be a #GP).
pub const GATES: usize = 32;
/// Vectors with a handler: the architectural exceptions.
pub const EXCEPTIONS: usize = 32;
/// Gate type: 64-bit interrupt gate (interrupts stay off in the handler).
const TYPE_INTERRUPT_GATE: u64 = 0xe;
/// Present.
const PRESENT: u64 = 1 << 47;

/// The two quadwords of a 64-bit interrupt gate to `handler` (Intel SDM
/// vol. 3, figure 6-8).
pub fn gate(handler: u64, dpl: u8, ist: u8) -> [u64; 2] {
    let low = (handler & 0xffff)
        | (u64::from(KERNEL_CS) << 16)
        | (u64::from(ist & 7) << 32)
        | (TYPE_INTERRUPT_GATE << 40)
        | (u64::from(dpl & 3) << 45)
        | PRESENT
        | ((handler >> 16) & 0xffff) << 48;
    [low, handler >> 32]
}

/// The privilege level a vector's gate has: 3 for #BP and #OF.
pub fn dpl(vector: usize) -> u8 {
    if matches!(vector, 3 | 4) {
        3
    } else {
        0
    }
}

/// The IST slot a vector runs on: 1 for #DF, 2 for #DB, else the current
/// stack.
pub fn ist(vector: usize) -> u8 {
    match vector {
        8 => 1,
        1 => 2,
        _ => 0,
    }
}

/// The whole IDT, as quadwords, for stubs at `stubs` and the #PF handler at
/// `page_fault`.
pub fn idt(stubs: u64, page_fault: u64) -> Vec<u64> {
    let mut table = vec![0u64; 2 * GATES];
    for vector in 0..EXCEPTIONS {
        let handler = if vector == 14 {
            page_fault
        } else {
            stubs + vector as u64 * EXCEPTION_STUB_SIZE
        };
        let [low, high] = gate(handler, dpl(vector), ist(vector));
        table[2 * vector] = low;
        table[2 * vector + 1] = high;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_encoding() {
        // Handler 0xffffffff80201234, kernel CS, interrupt gate, present.
        let [low, high] = gate(0xffff_ffff_8020_1234, 0, 0);
        assert_eq!(low, 0x8020_8e00_0008_1234);
        assert_eq!(high, 0xffff_ffff);
        // DPL 3 and IST 1 land in their fields.
        let [low, _] = gate(0, 3, 1);
        assert_eq!((low >> 45) & 3, 3);
        assert_eq!((low >> 32) & 7, 1);
    }

    #[test]
    fn table_layout() {
        let t = idt(0x1000, 0x9000);
        assert_eq!(t.len(), 64);
        assert_eq!(t[2 * 6] & 0xffff, 0x1000 + 6 * 16);
        assert_eq!(t[2 * 14] & 0xffff, 0x9000);
        assert_eq!((t[2 * 3] >> 45) & 3, 3, "#BP callable from ring 3");
        assert_eq!((t[2 * 13] >> 45) & 3, 0, "#GP not");
        assert_eq!((t[2 * 8] >> 32) & 7, 1, "#DF on IST1");
        assert_eq!((t[2] >> 32) & 7, 2, "#DB on IST2");
        assert_eq!((t[2 * 13] >> 32) & 7, 0, "#GP on the current stack");
        assert_eq!(t.len(), 2 * GATES);
    }
}
