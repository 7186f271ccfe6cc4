//! Control registers, EFER, the SYSCALL MSRs and the boot register state.
//! The vCPU starts directly in 64-bit ring 0 at the kernel entry.

use super::gdt;
use kvm_bindings::{kvm_fpu, kvm_msr_entry, kvm_regs, kvm_sregs};
use microvm_abi::layout::{kernel_virt, GDT, IDT, KERNEL_STACK_TOP};
use microvm_abi::selector::{self, GDT_ENTRIES, KERNEL_CS, SYSRET_BASE, TSS_INDEX};

/// CR0.PE: protected mode.
pub const CR0_PE: u64 = 1 << 0;
/// CR0.MP: WAIT/FWAIT honour TS.
pub const CR0_MP: u64 = 1 << 1;
/// CR0.ET: x87 present (hard-wired on modern CPUs).
pub const CR0_ET: u64 = 1 << 4;
/// CR0.NE: native x87 error reporting (#MF).
pub const CR0_NE: u64 = 1 << 5;
/// CR0.WP: ring 0 honours read-only pages.
pub const CR0_WP: u64 = 1 << 16;
/// CR0.AM: alignment checks possible (with RFLAGS.AC in ring 3).
pub const CR0_AM: u64 = 1 << 18;
/// CR0.PG: paging.
pub const CR0_PG: u64 = 1 << 31;

/// CR4.PAE: physical-address extension (required for long mode).
pub const CR4_PAE: u64 = 1 << 5;
/// CR4.OSFXSR: FXSAVE/FXRSTOR and SSE enabled.
pub const CR4_OSFXSR: u64 = 1 << 9;
/// CR4.OSXMMEXCPT: unmasked SSE exceptions raise #XM.
pub const CR4_OSXMMEXCPT: u64 = 1 << 10;
/// CR4.OSXSAVE: XSAVE and XCR0 enabled (AVX state for ring 3).
pub const CR4_OSXSAVE: u64 = 1 << 18;
/// CR4.SMEP: ring 0 cannot execute user pages.
pub const CR4_SMEP: u64 = 1 << 20;
/// CR4.SMAP: ring 0 cannot touch user pages (the kernel never needs to).
pub const CR4_SMAP: u64 = 1 << 21;

/// EFER.SCE: SYSCALL/SYSRET enabled.
pub const EFER_SCE: u64 = 1 << 0;
/// EFER.LME: long mode enabled.
pub const EFER_LME: u64 = 1 << 8;
/// EFER.LMA: long mode active.
pub const EFER_LMA: u64 = 1 << 10;
/// EFER.NXE: execute-disable bit honoured.
pub const EFER_NXE: u64 = 1 << 11;

/// IA32_STAR: SYSCALL/SYSRET segment selectors.
pub const MSR_STAR: u32 = 0xc000_0081;
/// IA32_LSTAR: 64-bit SYSCALL entry point.
pub const MSR_LSTAR: u32 = 0xc000_0082;
/// IA32_CSTAR: compatibility-mode SYSCALL entry. microvm runs no 32-bit
/// code: it points at a kernel stub that reports the program's fault.
pub const MSR_CSTAR: u32 = 0xc000_0083;
/// IA32_FMASK: RFLAGS bits SYSCALL clears.
pub const MSR_SFMASK: u32 = 0xc000_0084;

/// IA32_SYSENTER_CS: SYSENTER's code selector (SS is this + 8).
pub const MSR_SYSENTER_CS: u32 = 0x174;
/// IA32_SYSENTER_ESP: SYSENTER's stack pointer.
pub const MSR_SYSENTER_ESP: u32 = 0x175;
/// IA32_SYSENTER_EIP: SYSENTER's entry point.
pub const MSR_SYSENTER_EIP: u32 = 0x176;
/// IA32_TIME_STAMP_COUNTER: the TSC, as the vCPU's RDTSC reads it.
pub const MSR_IA32_TSC: u32 = 0x10;

/// RFLAGS bits SYSCALL clears on entry, as Linux does: TF, IF, DF, IOPL,
/// NT, AC.
pub const SYSCALL_RFLAGS_MASK: u64 = 0x100 | 0x200 | 0x400 | 0x3000 | 0x4000 | 0x4_0000;

/// RFLAGS bit 1 is reserved and always set.
pub const RFLAGS_RESERVED: u64 = 1 << 1;

/// CR0 for long mode with x87/SSE usable by ring 3.
pub fn cr0() -> u64 {
    CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG
}

/// CR4: PAE and SSE, plus SMEP/SMAP when the guest's CPUID offers them.
pub fn cr4(smep: bool, smap: bool) -> u64 {
    let mut cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if smep {
        cr4 |= CR4_SMEP;
    }
    if smap {
        cr4 |= CR4_SMAP;
    }
    cr4
}

/// EFER for 64-bit mode with SYSCALL and NX.
pub fn efer() -> u64 {
    EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE
}

/// IA32_STAR: SYSCALL loads CS = KERNEL_CS, SS = KERNEL_CS + 8; SYSRETQ
/// loads SS = SYSRET_BASE + 8, CS = SYSRET_BASE + 16 (RPL forced to 3).
pub fn star() -> u64 {
    ((SYSRET_BASE as u64) << 48) | ((KERNEL_CS as u64) << 32)
}

/// Where each way into ring 0 by instruction lands in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallEntries {
    /// 64-bit SYSCALL (LSTAR).
    pub lstar: u64,
    /// SYSCALL from compatibility mode (CSTAR).
    pub cstar: u64,
    /// SYSENTER (SYSENTER_EIP).
    pub sysenter: u64,
}

/// The MSRs to load: STAR, LSTAR, CSTAR and SFMASK for SYSCALL, and
/// SYSENTER's CS, ESP and EIP. Every entry leads to the kernel: an MSR left
/// at 0 would send ring 3 to address 0 in ring 0.
pub fn syscall_msrs(entries: SyscallEntries) -> [kvm_msr_entry; 7] {
    let entry = |index, data| kvm_msr_entry {
        index,
        data,
        ..Default::default()
    };
    [
        entry(MSR_STAR, star()),
        entry(MSR_LSTAR, entries.lstar),
        entry(MSR_CSTAR, entries.cstar),
        entry(MSR_SFMASK, SYSCALL_RFLAGS_MASK),
        entry(MSR_SYSENTER_CS, u64::from(KERNEL_CS)),
        entry(MSR_SYSENTER_ESP, kernel_virt(KERNEL_STACK_TOP)),
        entry(MSR_SYSENTER_EIP, entries.sysenter),
    ]
}

/// Special registers for 64-bit ring 0 with the VMM's GDT, TSS and page
/// tables. The IDT is the kernel's own (it loads it first thing).
pub fn sregs(base: kvm_sregs, cr3: u64, smep: bool, smap: bool) -> kvm_sregs {
    let gdt = gdt::gdt();
    let code = gdt::segment(
        selector::KERNEL_CS,
        gdt[(selector::KERNEL_CS >> 3) as usize],
        0,
    );
    let data = gdt::segment(
        selector::KERNEL_DS,
        gdt[(selector::KERNEL_DS >> 3) as usize],
        0,
    );
    let tss = gdt::segment(
        selector::TSS,
        gdt[TSS_INDEX as usize],
        gdt[TSS_INDEX as usize + 1],
    );
    let mut s = base;
    s.cs = code;
    s.ds = data;
    s.es = data;
    s.fs = data;
    s.gs = data;
    s.ss = data;
    s.tr = tss;
    s.gdt.base = kernel_virt(GDT);
    s.gdt.limit = (GDT_ENTRIES * 8 - 1) as u16;
    s.idt.base = kernel_virt(IDT);
    s.idt.limit = (super::idt::GATES * 16 - 1) as u16;
    s.cr0 = cr0();
    s.cr3 = cr3;
    s.cr4 = cr4(smep, smap);
    s.efer = efer();
    s
}

/// General registers at the kernel entry: RIP = entry, RSP = the kernel
/// stack, every other register zero (the program starts with them so),
/// interrupts off.
pub fn boot_regs(entry: u64) -> kvm_regs {
    kvm_regs {
        rip: entry,
        rsp: kernel_virt(KERNEL_STACK_TOP),
        rflags: RFLAGS_RESERVED,
        ..Default::default()
    }
}

/// x87 and SSE state after FNINIT / reset: control word 0x37f, MXCSR 0x1f80.
pub fn fpu() -> kvm_fpu {
    kvm_fpu {
        fcw: 0x37f,
        mxcsr: 0x1f80,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_registers() {
        assert_eq!(cr0(), 0x8005_0033);
        assert_eq!(cr4(false, false), 0x620);
        assert_eq!(cr4(true, true), 0x30_0620);
        assert_eq!(efer(), 0xd01);
    }

    #[test]
    fn star_selectors() {
        let star = star();
        // SYSCALL: CS = 0x08, SS = 0x10.
        assert_eq!((star >> 32) & 0xffff, 0x08);
        // SYSRETQ: SS = base + 8 = 0x18|3, CS = base + 16 = 0x20|3.
        let base = (star >> 48) & 0xffff;
        assert_eq!((base + 8) | 3, selector::USER_DS as u64);
        assert_eq!((base + 16) | 3, selector::USER_CS as u64);
        assert_eq!(star & 0xffff_ffff, 0);
    }

    #[test]
    fn sfmask_clears_if_tf_df_ac() {
        assert_eq!(SYSCALL_RFLAGS_MASK, 0x47700);
        let msrs = syscall_msrs(SyscallEntries {
            lstar: 0xffff_ffff_8020_0070,
            cstar: 0xffff_ffff_8020_0400,
            sysenter: 0xffff_ffff_8020_0410,
        });
        assert_eq!(msrs[1].index, 0xc000_0082);
        assert_eq!(msrs[1].data, 0xffff_ffff_8020_0070);
        assert_eq!(msrs[3].data, SYSCALL_RFLAGS_MASK);
    }

    #[test]
    fn no_entry_msr_points_outside_the_kernel() {
        let msrs = syscall_msrs(SyscallEntries {
            lstar: 0xffff_ffff_8020_0070,
            cstar: 0xffff_ffff_8020_0400,
            sysenter: 0xffff_ffff_8020_0410,
        });
        let data = |index: u32| msrs.iter().find(|m| m.index == index).unwrap().data;
        assert_eq!(data(0xc000_0083), 0xffff_ffff_8020_0400, "CSTAR");
        assert_eq!(data(0x174), 0x08, "SYSENTER_CS = the kernel's");
        assert_eq!(data(0x175), kernel_virt(KERNEL_STACK_TOP), "SYSENTER_ESP");
        assert_eq!(data(0x176), 0xffff_ffff_8020_0410, "SYSENTER_EIP");
    }

    #[test]
    fn boot_state() {
        let s = sregs(kvm_sregs::default(), 0x10000, false, false);
        assert_eq!((s.cs.selector, s.cs.l, s.cs.dpl), (0x08, 1, 0));
        assert_eq!(s.ss.selector, 0x10);
        assert_eq!(s.tr.selector, 0x28);
        assert_eq!(s.gdt.limit, 55);
        assert_eq!(s.cr3, 0x10000);
        let r = boot_regs(0xffff_ffff_8020_0018);
        assert_eq!(r.rflags, 2);
        assert_eq!(r.rsp % 16, 0);
    }
}
