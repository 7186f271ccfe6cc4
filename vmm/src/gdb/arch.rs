//! The registers gdb sees: `gdbstub_arch`'s x86-64 core and SSE set
//! (general registers, rip, eflags, the six segment selectors, x87, xmm,
//! mxcsr), then `orig_rax` (what makes gdb read the target as a Linux
//! process, and `catch syscall` know amd64 Linux's names), fs_base and
//! gs_base, and the upper halves of ymm0-15. The target description names
//! them in that order, which is the order of the `g` packet.

use gdbstub::arch::Arch;
use gdbstub_arch::x86::reg::id::X86_64CoreRegId;
use gdbstub_arch::x86::reg::X86_64CoreRegs;
use std::fmt::Write as _;
use std::sync::LazyLock;

/// x86-64 as microvm's guest has it, for gdbstub.
pub enum MicrovmX86_64 {}

/// Every register gdb reads and writes, in `g`-packet order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Registers {
    /// General registers, rip, eflags, selectors, x87, xmm, mxcsr.
    pub core: X86_64CoreRegs,
    /// The syscall number at a syscall stop, else -1 (as Linux's ptrace
    /// shows it).
    pub orig_rax: u64,
    /// The FS segment base.
    pub fs_base: u64,
    /// The GS segment base.
    pub gs_base: u64,
    /// Bits 128-255 of ymm0-15.
    pub ymmh: [u128; 16],
}

/// Bytes of the core and SSE part of a `g` packet (gdbstub_arch's layout).
const CORE_BYTES: usize = 0x218;
/// Bytes of the whole `g` packet.
const ALL_BYTES: usize = CORE_BYTES + 3 * 8 + 16 * 16;

impl gdbstub::arch::Registers for Registers {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.core.rip
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        self.core.gdb_serialize(&mut write_byte);
        for q in [self.orig_rax, self.fs_base, self.gs_base] {
            q.to_le_bytes().iter().for_each(|b| write_byte(Some(*b)));
        }
        for y in &self.ymmh {
            y.to_le_bytes().iter().for_each(|b| write_byte(Some(*b)));
        }
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() < ALL_BYTES {
            return Err(());
        }
        self.core.gdb_deserialize(&bytes[..CORE_BYTES])?;
        let mut q = bytes[CORE_BYTES..CORE_BYTES + 24]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()));
        self.orig_rax = q.next().ok_or(())?;
        self.fs_base = q.next().ok_or(())?;
        self.gs_base = q.next().ok_or(())?;
        for (y, c) in self
            .ymmh
            .iter_mut()
            .zip(bytes[CORE_BYTES + 24..ALL_BYTES].chunks_exact(16))
        {
            *y = u128::from_le_bytes(c.try_into().map_err(|_| ())?);
        }
        Ok(())
    }
}

impl Arch for MicrovmX86_64 {
    type Usize = u64;
    type Registers = Registers;
    type RegId = X86_64CoreRegId;
    type BreakpointKind = usize;

    fn target_description_xml() -> Option<&'static str> {
        Some(&TARGET_XML)
    }
}

/// The target description: gdb's i386 features, their registers named in
/// `g`-packet order, for a GNU/Linux process.
static TARGET_XML: LazyLock<String> = LazyLock::new(target_xml);

fn target_xml() -> String {
    let mut x = String::from(
        r#"<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target version="1.0"><architecture>i386:x86-64</architecture><osabi>GNU/Linux</osabi>"#,
    );
    let reg = |x: &mut String, name: &str, bits: u32, ty: &str| {
        let _ = write!(x, r#"<reg name="{name}" bitsize="{bits}" type="{ty}"/>"#);
    };
    // The core: flags first, then the registers in gdb's amd64 numbering.
    x.push_str(r#"<feature name="org.gnu.gdb.i386.core"><flags id="i386_eflags" size="4">"#);
    for (name, bit) in [
        ("CF", 0),
        ("", 1),
        ("PF", 2),
        ("AF", 4),
        ("ZF", 6),
        ("SF", 7),
        ("TF", 8),
        ("IF", 9),
        ("DF", 10),
        ("OF", 11),
        ("NT", 14),
        ("RF", 16),
        ("VM", 17),
        ("AC", 18),
        ("VIF", 19),
        ("VIP", 20),
        ("ID", 21),
    ] {
        let _ = write!(x, r#"<field name="{name}" start="{bit}" end="{bit}"/>"#);
    }
    x.push_str("</flags>");
    for name in [
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15",
    ] {
        let ty = if matches!(name, "rbp" | "rsp") {
            "data_ptr"
        } else {
            "int64"
        };
        reg(&mut x, name, 64, ty);
    }
    reg(&mut x, "rip", 64, "code_ptr");
    reg(&mut x, "eflags", 32, "i386_eflags");
    for name in ["cs", "ss", "ds", "es", "fs", "gs"] {
        reg(&mut x, name, 32, "int32");
    }
    for i in 0..8 {
        reg(&mut x, &format!("st{i}"), 80, "i387_ext");
    }
    for name in [
        "fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
    ] {
        let _ = write!(
            x,
            r#"<reg name="{name}" bitsize="32" type="int" group="float"/>"#
        );
    }
    x.push_str("</feature>");
    // SSE: xmm as gdb's usual union of vectors, then mxcsr.
    x.push_str(r#"<feature name="org.gnu.gdb.i386.sse">"#);
    for (id, ty, n) in [
        ("v4f", "ieee_single", 4),
        ("v2d", "ieee_double", 2),
        ("v16i8", "int8", 16),
        ("v8i16", "int16", 8),
        ("v4i32", "int32", 4),
        ("v2i64", "int64", 2),
    ] {
        let _ = write!(x, r#"<vector id="{id}" type="{ty}" count="{n}"/>"#);
    }
    x.push_str(r#"<union id="vec128">"#);
    for (name, ty) in [
        ("v4_float", "v4f"),
        ("v2_double", "v2d"),
        ("v16_int8", "v16i8"),
        ("v8_int16", "v8i16"),
        ("v4_int32", "v4i32"),
        ("v2_int64", "v2i64"),
        ("uint128", "uint128"),
    ] {
        let _ = write!(x, r#"<field name="{name}" type="{ty}"/>"#);
    }
    x.push_str("</union>");
    for i in 0..16 {
        reg(&mut x, &format!("xmm{i}"), 128, "vec128");
    }
    x.push_str(r#"<reg name="mxcsr" bitsize="32" type="int" group="vector"/></feature>"#);
    x.push_str(r#"<feature name="org.gnu.gdb.i386.linux">"#);
    reg(&mut x, "orig_rax", 64, "int");
    x.push_str(r#"</feature><feature name="org.gnu.gdb.i386.segments">"#);
    reg(&mut x, "fs_base", 64, "int");
    reg(&mut x, "gs_base", 64, "int");
    x.push_str(r#"</feature><feature name="org.gnu.gdb.i386.avx">"#);
    for i in 0..16 {
        reg(&mut x, &format!("ymm{i}h"), 128, "uint128");
    }
    x.push_str("</feature></target>");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdbstub::arch::Registers as _;

    #[test]
    fn registers_round_trip_in_g_packet_order() {
        let mut r = Registers::default();
        r.core.regs[0] = 0x20;
        r.core.rip = 0x401000;
        r.core.segments.cs = 0x33;
        r.orig_rax = u64::MAX;
        r.fs_base = 0x4c8380;
        r.gs_base = 7;
        r.ymmh[15] = 0xabcd;
        let mut bytes = vec![];
        r.gdb_serialize(|b| bytes.push(b.unwrap_or(0)));
        assert_eq!(bytes.len(), ALL_BYTES);
        // orig_rax right after mxcsr, as gdb numbers it (57).
        assert_eq!(&bytes[CORE_BYTES..CORE_BYTES + 8], &[0xff; 8]);
        let mut back = Registers::default();
        back.gdb_deserialize(&bytes).unwrap();
        assert_eq!(back, r);
        assert!(back.gdb_deserialize(&bytes[..ALL_BYTES - 1]).is_err());
    }

    #[test]
    fn the_description_names_76_registers_once_each() {
        let xml = target_xml();
        let names: Vec<&str> = xml
            .split(r#"<reg name=""#)
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        assert_eq!(names.len(), 76);
        assert_eq!(names[57], "orig_rax");
        assert_eq!(
            (names[58], names[59], names[60]),
            ("fs_base", "gs_base", "ymm0h")
        );
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }
}
