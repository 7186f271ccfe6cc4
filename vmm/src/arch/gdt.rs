//! The GDT, the 64-bit TSS, and the segment registers KVM is given.
//!
//! Order (see `microvm_abi::selector`): null, kernel code, kernel data, user
//! data, user code, TSS — the order SYSCALL/SYSRET derive selectors in.

use kvm_bindings::kvm_segment;
use microvm_abi::layout::{kernel_virt, DB_STACK_TOP, DF_STACK_TOP, KERNEL_STACK_TOP, TSS};
use microvm_abi::selector::{
    GDT_ENTRIES, KERNEL_CODE_INDEX, KERNEL_DATA_INDEX, TSS_INDEX, USER_CODE_INDEX, USER_DATA_INDEX,
};

/// Access byte: present.
const P: u64 = 1 << 47;
/// Access byte: code/data (not a system descriptor).
const S: u64 = 1 << 44;
/// Type: code segment (execute), readable, accessed.
const TYPE_CODE: u64 = 0xb << 40;
/// Type: data segment, writable, accessed.
const TYPE_DATA: u64 = 0x3 << 40;
/// Type: busy 64-bit TSS.
const TYPE_TSS_BUSY: u64 = 0xb << 40;
/// Flags: 64-bit code.
const L: u64 = 1 << 53;
/// Flags: 32-bit default operand size (data segments).
const DB: u64 = 1 << 54;
/// Flags: limit in 4 KiB units.
const G: u64 = 1 << 55;
/// Limit 0xfffff split over its two fields.
const LIMIT_MAX: u64 = 0xffff | (0xf << 48);

/// A 64-bit code segment descriptor with privilege level `dpl`.
pub fn code64(dpl: u8) -> u64 {
    LIMIT_MAX | TYPE_CODE | S | ((dpl as u64 & 3) << 45) | P | L | G
}

/// A flat data segment descriptor with privilege level `dpl`.
pub fn data(dpl: u8) -> u64 {
    LIMIT_MAX | TYPE_DATA | S | ((dpl as u64 & 3) << 45) | P | DB | G
}

/// The two slots of a 64-bit TSS descriptor for a TSS at `base`.
pub fn tss_descriptor(base: u64, limit: u32) -> [u64; 2] {
    let limit = limit as u64;
    let low = (limit & 0xffff)
        | ((base & 0xff_ffff) << 16)
        | TYPE_TSS_BUSY
        | P
        | (((limit >> 16) & 0xf) << 48)
        | (((base >> 24) & 0xff) << 56);
    [low, base >> 32]
}

/// The 64-bit task-state segment (Intel SDM vol. 3, figure 8-11).
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, packed(4))]
pub struct Tss64 {
    reserved0: u32,
    /// Stack pointer loaded on entry to ring 0 from ring 3.
    pub rsp0: u64,
    rsp1: u64,
    rsp2: u64,
    reserved1: u64,
    /// Interrupt stack table; `ist[0]` is IST1.
    pub ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    /// Offset of the I/O permission bitmap; at or past the limit = none.
    pub iomap_base: u16,
}

// SAFETY: a packed struct of integers: every byte pattern is valid.
unsafe impl vm_memory::ByteValued for Tss64 {}

/// Size of the TSS, and one past its limit.
pub const TSS_SIZE: u32 = std::mem::size_of::<Tss64>() as u32;

/// microvm's TSS: RSP0 = the kernel stack, IST1 = the double-fault stack,
/// IST2 = the debug-exception stack, and no I/O bitmap, so ring 3 has no port access (on hardware).
pub fn tss() -> Tss64 {
    Tss64 {
        rsp0: kernel_virt(KERNEL_STACK_TOP),
        ist: [
            kernel_virt(DF_STACK_TOP),
            kernel_virt(DB_STACK_TOP),
            0,
            0,
            0,
            0,
            0,
        ],
        iomap_base: TSS_SIZE as u16,
        ..Default::default()
    }
}

/// The whole GDT.
pub fn gdt() -> [u64; GDT_ENTRIES] {
    let mut gdt = [0u64; GDT_ENTRIES];
    gdt[KERNEL_CODE_INDEX as usize] = code64(0);
    gdt[KERNEL_DATA_INDEX as usize] = data(0);
    gdt[USER_DATA_INDEX as usize] = data(3);
    gdt[USER_CODE_INDEX as usize] = code64(3);
    let [low, high] = tss_descriptor(kernel_virt(TSS), TSS_SIZE - 1);
    gdt[TSS_INDEX as usize] = low;
    gdt[TSS_INDEX as usize + 1] = high;
    gdt
}

/// The KVM segment register for `selector` described by `descriptor` (and,
/// for a system descriptor, its high half).
pub fn segment(selector: u16, descriptor: u64, high: u64) -> kvm_segment {
    let limit = (descriptor & 0xffff) | ((descriptor >> 32) & 0xf_0000);
    let g = ((descriptor >> 55) & 1) as u8;
    let s = ((descriptor >> 44) & 1) as u8;
    let mut base = ((descriptor >> 16) & 0xff_ffff) | ((descriptor >> 32) & 0xff00_0000);
    if s == 0 {
        base |= high << 32;
    }
    kvm_segment {
        base,
        limit: if g == 1 {
            ((limit << 12) | 0xfff) as u32
        } else {
            limit as u32
        },
        selector,
        type_: ((descriptor >> 40) & 0xf) as u8,
        present: ((descriptor >> 47) & 1) as u8,
        dpl: ((descriptor >> 45) & 3) as u8,
        db: ((descriptor >> 54) & 1) as u8,
        s,
        l: ((descriptor >> 53) & 1) as u8,
        g,
        avl: ((descriptor >> 52) & 1) as u8,
        unusable: 0,
        padding: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use microvm_abi::selector;

    #[test]
    fn descriptor_encodings() {
        // The classic flat long-mode values (as in Linux's GDT).
        assert_eq!(code64(0), 0x00af_9b00_0000_ffff);
        assert_eq!(data(0), 0x00cf_9300_0000_ffff);
        assert_eq!(code64(3), 0x00af_fb00_0000_ffff);
        assert_eq!(data(3), 0x00cf_f300_0000_ffff);
    }

    #[test]
    fn tss_descriptor_encoding() {
        let [low, high] = tss_descriptor(0xffff_ffff_8000_2000, 103);
        assert_eq!(low, 0x8000_8b00_2000_0067);
        assert_eq!(high, 0xffff_ffff);
    }

    #[test]
    fn tss_layout() {
        assert_eq!(TSS_SIZE, 104);
        let t = tss();
        let rsp0 = t.rsp0;
        let ist1 = t.ist[0];
        let ist2 = t.ist[1];
        assert_eq!(ist2, kernel_virt(DB_STACK_TOP));
        assert_eq!(rsp0, kernel_virt(KERNEL_STACK_TOP));
        assert_eq!(ist1, kernel_virt(DF_STACK_TOP));
        assert_eq!({ t.iomap_base }, 104);
        assert_eq!(std::mem::offset_of!(Tss64, rsp0), 4);
        assert_eq!(std::mem::offset_of!(Tss64, ist), 0x24);
        assert_eq!(std::mem::offset_of!(Tss64, iomap_base), 0x66);
    }

    #[test]
    fn gdt_order_serves_sysret() {
        let g = gdt();
        assert_eq!(g[0], 0);
        let user_ss = (selector::SYSRET_BASE + 8) as usize >> 3;
        let user_cs = (selector::SYSRET_BASE + 16) as usize >> 3;
        assert_eq!(g[user_ss], data(3));
        assert_eq!(g[user_cs], code64(3));
        assert_eq!(g[(selector::KERNEL_CS >> 3) as usize], code64(0));
        assert_eq!(g[(selector::KERNEL_CS >> 3) as usize + 1], data(0));
    }

    #[test]
    fn segments_decode() {
        let cs = segment(selector::KERNEL_CS, code64(0), 0);
        assert_eq!(
            (cs.base, cs.limit, cs.type_, cs.l, cs.db, cs.dpl, cs.s, cs.present, cs.g),
            (0, 0xffff_ffff, 0xb, 1, 0, 0, 1, 1, 1)
        );
        let ds = segment(selector::USER_DS, data(3), 0);
        assert_eq!(
            (ds.type_, ds.dpl, ds.db, ds.l, ds.selector),
            (3, 3, 1, 0, 0x1b)
        );
        let [low, high] = tss_descriptor(0xffff_ffff_8000_2000, 103);
        let tr = segment(selector::TSS, low, high);
        assert_eq!(
            (tr.base, tr.limit, tr.type_, tr.s, tr.g),
            (0xffff_ffff_8000_2000, 103, 0xb, 0, 0)
        );
    }
}
