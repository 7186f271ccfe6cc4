//! gdb's registers from and to the vCPU's: the general ones from a frame
//! (the program's, at a ring-3 exception, or the vCPU's own), x87, SSE
//! and AVX from the XSAVE area KVM gives (its standard, uncompacted form:
//! the legacy FXSAVE image first, the upper ymm halves at 576).

use super::arch::Registers;
use crate::vm::debug::DebugRegs;
use kvm_bindings::kvm_xsave;

/// Offsets in the XSAVE image (Intel SDM vol. 1, 10.5.1 and 13.4).
const FCW: usize = 0;
const FSW: usize = 2;
const FTW: usize = 4;
const FOP: usize = 6;
const FIP: usize = 8;
const FDP: usize = 16;
const MXCSR: usize = 24;
const ST0: usize = 32;
const XMM0: usize = 160;
const YMM_HI0: usize = 576;

/// The XSAVE image as bytes.
fn bytes(x: &kvm_xsave) -> Vec<u8> {
    x.region.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn put_bytes(x: &mut kvm_xsave, b: &[u8]) {
    for (w, c) in x.region.iter_mut().zip(b.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
}

fn u16_at(b: &[u8], at: usize) -> u32 {
    u32::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u128_at(b: &[u8], at: usize) -> u128 {
    let mut q = [0u8; 16];
    q.copy_from_slice(&b[at..at + 16]);
    u128::from_le_bytes(q)
}

/// The x87 tag word gdb shows (two bits a register: 0 valid, 1 zero,
/// 2 special, 3 empty) from FXSAVE's abridged one (a bit a register:
/// in use or not) and the registers' contents.
fn full_tag(abridged: u8, fsw: u32, st: &[[u8; 10]; 8]) -> u32 {
    let top = (fsw >> 11) & 7;
    let mut tag = 0;
    for phys in 0..8u32 {
        let t = if abridged & (1 << phys) == 0 {
            3
        } else {
            // Physical register `phys` is ST((phys - top) mod 8).
            let r = &st[((phys + 8 - top) % 8) as usize];
            let exponent = u16::from_le_bytes([r[8], r[9]]) & 0x7fff;
            let mantissa = u64::from_le_bytes([r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]]);
            match exponent {
                0x7fff => 2,
                0 if mantissa == 0 => 1,
                0 => 2,
                _ if mantissa >> 63 == 0 => 2,
                _ => 0,
            }
        };
        tag |= t << (2 * phys);
    }
    tag
}

/// FXSAVE's abridged tag from gdb's full one: in use unless empty.
fn abridged_tag(full: u32) -> u8 {
    (0..8).fold(0, |a, i| {
        if (full >> (2 * i)) & 3 == 3 {
            a
        } else {
            a | (1 << i)
        }
    })
}

/// gdb's registers from the vCPU's: `nr` is the syscall number at a
/// syscall stop (orig_rax), else none (-1, as Linux shows it).
pub fn to_gdb(r: &DebugRegs, xsave: &kvm_xsave, nr: Option<u64>, out: &mut Registers) {
    let f = &r.frame;
    for (slot, (_, value)) in out.core.regs.iter_mut().zip(f.registers()) {
        *slot = value;
    }
    out.core.rip = f.rip;
    out.core.eflags = f.rflags as u32;
    let [ds, es, fs, gs] = r.data_selectors.map(u32::from);
    out.core.segments = gdbstub_arch::x86::reg::X86SegmentRegs {
        cs: f.cs as u32,
        ss: f.ss as u32,
        ds,
        es,
        fs,
        gs,
    };
    let b = bytes(xsave);
    for (i, st) in out.core.st.iter_mut().enumerate() {
        st.copy_from_slice(&b[ST0 + 16 * i..ST0 + 16 * i + 10]);
    }
    let fip = u64::from(u32_at(&b, FIP)) | u64::from(u32_at(&b, FIP + 4)) << 32;
    let fdp = u64::from(u32_at(&b, FDP)) | u64::from(u32_at(&b, FDP + 4)) << 32;
    out.core.fpu = gdbstub_arch::x86::reg::X87FpuInternalRegs {
        fctrl: u16_at(&b, FCW),
        fstat: u16_at(&b, FSW),
        ftag: full_tag(b[FTW], u16_at(&b, FSW), &out.core.st),
        fiseg: (fip >> 32) as u32 & 0xffff,
        fioff: fip as u32,
        foseg: (fdp >> 32) as u32 & 0xffff,
        fooff: fdp as u32,
        fop: u16_at(&b, FOP) & 0x7ff,
    };
    for (i, x) in out.core.xmm.iter_mut().enumerate() {
        *x = u128_at(&b, XMM0 + 16 * i);
    }
    out.core.mxcsr = u32_at(&b, MXCSR);
    for (i, y) in out.ymmh.iter_mut().enumerate() {
        *y = u128_at(&b, YMM_HI0 + 16 * i);
    }
    out.orig_rax = nr.unwrap_or(u64::MAX);
    out.fs_base = r.fs_base;
    out.gs_base = r.gs_base;
}

/// Put gdb's registers into `r` and `xsave`; true if the extended state
/// changed (and must be written back).
pub fn from_gdb(g: &Registers, r: &mut DebugRegs, xsave: &mut kvm_xsave) -> bool {
    let f = &mut r.frame;
    let mut v = g.core.regs.into_iter();
    macro_rules! copy {
        ([$($g:ident)*] [$($c:ident)*]) => { $(f.$g = v.next().unwrap_or(f.$g);)* };
    }
    microvm_abi::trap_frame_registers!(copy);
    f.rip = g.core.rip;
    f.rflags = u64::from(g.core.eflags);
    r.fs_base = g.fs_base;
    r.gs_base = g.gs_base;
    let old = bytes(xsave);
    let mut b = old.clone();
    let put16 = |b: &mut Vec<u8>, at: usize, v: u32| {
        b[at..at + 2].copy_from_slice(&(v as u16).to_le_bytes())
    };
    put16(&mut b, FCW, g.core.fpu.fctrl);
    put16(&mut b, FSW, g.core.fpu.fstat);
    b[FTW] = abridged_tag(g.core.fpu.ftag);
    for (i, st) in g.core.st.iter().enumerate() {
        b[ST0 + 16 * i..ST0 + 16 * i + 10].copy_from_slice(st);
    }
    for (i, x) in g.core.xmm.iter().enumerate() {
        b[XMM0 + 16 * i..XMM0 + 16 * i + 16].copy_from_slice(&x.to_le_bytes());
    }
    b[MXCSR..MXCSR + 4].copy_from_slice(&g.core.mxcsr.to_le_bytes());
    for (i, y) in g.ymmh.iter().enumerate() {
        b[YMM_HI0 + 16 * i..YMM_HI0 + 16 * i + 16].copy_from_slice(&y.to_le_bytes());
    }
    if b == old {
        return false;
    }
    put_bytes(xsave, &b);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_as_gdb_shows_them() {
        let mut st = [[0u8; 10]; 8];
        // ST0 = 1.0 (valid), ST1 = +0 (zero), the rest empty; TOP = 6.
        st[0] = [0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f];
        let fsw = 6 << 11;
        let tag = full_tag(0b1100_0000, fsw, &st);
        assert_eq!(tag, 0b0100_1111_1111_1111);
        assert_eq!(abridged_tag(tag), 0b1100_0000);
    }

    #[test]
    fn registers_survive_the_round_trip() {
        let mut r = DebugRegs::default();
        r.frame.rax = 0x20;
        r.frame.rbp = 8;
        r.frame.rsp = 7;
        r.frame.rip = 0x401000;
        r.frame.cs = 0x33;
        r.fs_base = 0x4c8380;
        let mut xsave = kvm_xsave::default();
        xsave.region[6] = 0x1f80; // MXCSR
        let mut g = Registers::default();
        to_gdb(&r, &xsave, Some(32), &mut g);
        assert_eq!(
            (g.core.regs[0], g.core.regs[6], g.core.regs[7]),
            (0x20, 8, 7)
        );
        assert_eq!(
            (g.core.segments.cs, g.orig_rax, g.core.mxcsr),
            (0x33, 32, 0x1f80)
        );
        let mut back = DebugRegs::default();
        assert!(!from_gdb(&g, &mut back, &mut xsave));
        assert_eq!(
            (back.frame.rbp, back.frame.rsp, back.fs_base),
            (8, 7, 0x4c8380)
        );
        g.core.xmm[3] = 5;
        assert!(from_gdb(&g, &mut back, &mut xsave));
        assert_eq!(xsave.region[(XMM0 + 48) / 4], 5);
    }
}
