//! The Linux x86-64 signal frame (`struct rt_sigframe`): built on the user
//! (or alternate) stack when a handler is entered, read back by
//! `rt_sigreturn`. As `arch/x86/kernel/signal.c` (`get_sigframe`,
//! `x64_setup_rt_frame`, `restore_sigcontext`) and `fpu/signal.c`
//! (`copy_fpstate_to_sigframe`, `check_xstate_in_sigframe`) of Linux 6.1.
//!
//! ```text
//! frame + 0    pretcode      sa_restorer: the handler returns there
//! frame + 8    ucontext      uc_flags, uc_link, uc_stack, sigcontext, uc_sigmask
//! frame + 312  siginfo       (written with SA_SIGINFO)
//! fpstate      xsave area    64-byte aligned, above the frame; fpx_sw_bytes
//!                            at +464, FP_XSTATE_MAGIC2 after it
//! ```
//!
//! Everything here works on bytes and a [`TrapFrame`]; the run loop reads
//! and writes the vCPU's extended state (KVM_GET_XSAVE, KVM_SET_XSAVE).

use super::signal::{Action, AltStack, STACK_T_SIZE};
use crate::exception::Signal;
use crate::usermem::UserMemory;
use microvm_abi::linux::consts::{
    FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2, SA_ONSTACK, SA_RESTORER, UC_FP_XSTATE, UC_SIGCONTEXT_SS,
    UC_STRICT_RESTORE_SS,
};
use microvm_abi::{selector, TrapFrame};

/// The red zone below the stack pointer a handler's frame leaves alone.
const RED_ZONE: u64 = 128;
/// `sizeof(struct ucontext)` on x86-64.
const UCONTEXT_SIZE: u64 = 304;
/// `sizeof(siginfo_t)`.
pub const SIGINFO_SIZE: usize = 128;
/// Offset of the ucontext in the frame (after `pretcode`).
const UC: usize = 8;
/// Offset of `uc_stack` in the frame.
const UC_STACK: usize = UC + 16;
/// Offset of the sigcontext (`uc_mcontext`) in the frame.
const SC: usize = UC + 40;
/// Offset of `uc_sigmask` in the frame.
const UC_SIGMASK: usize = UC + 296;
/// Offset of the siginfo in the frame.
const INFO: usize = UC + UCONTEXT_SIZE as usize;
/// `sizeof(struct rt_sigframe)`.
pub const FRAME_SIZE: usize = INFO + SIGINFO_SIZE;

/// The sigcontext's general registers, in its order (8 bytes each from
/// its start): r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip,
/// eflags.
const SC_REGS: usize = 18;
/// Offsets in the sigcontext of the fields after the registers.
const SC_CS: usize = 144;
const SC_SS: usize = 150;
const SC_ERR: usize = 152;
const SC_TRAPNO: usize = 160;
const SC_OLDMASK: usize = 168;
const SC_CR2: usize = 176;
const SC_FPSTATE: usize = 184;

/// Offset of `fpx_sw_bytes` in the FXSAVE area (its `sw_reserved`).
const SW_BYTES: usize = 464;
/// Size of the legacy FXSAVE area.
pub const FXSAVE_SIZE: usize = 512;
/// Offset of the XSAVE header (XSTATE_BV first).
const XSAVE_HEADER: usize = 512;
/// Size of the legacy area and the XSAVE header.
const XSAVE_MIN: usize = 576;
/// Offset of MXCSR and of its mask in the FXSAVE area.
const MXCSR: usize = 24;
const MXCSR_MASK: usize = 28;
/// Where the x87 registers (ST0-7), then the XMM registers, lie in it.
const X87_REGS: usize = 32;
const XMM_REGS: usize = 160;
const XMM_END: usize = 416;
/// XCOMP_BV bit 63: the area is in the compacted format.
const XCOMP_BV_COMPACTED: u64 = 1 << 63;
/// The MXCSR mask of a CPU whose FXSAVE reports none (Linux's default).
pub const DEFAULT_MXCSR_MASK: u32 = 0xffbf;
/// x87 and SSE in XCR0 / XSTATE_BV.
const FPSSE: u64 = 0b11;

/// RFLAGS bits a handler starts with cleared: DF, RF, TF.
const HANDLER_CLEARS: u64 = 0x400 | 0x1_0000 | 0x100;
/// RFLAGS bits rt_sigreturn takes from the frame (Linux's `FIX_EFLAGS`):
/// AC OF DF TF SF ZF AF PF CF RF.
const FIX_EFLAGS: u64 =
    0x4_0000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x1_0000;

/// The lowest address that is not user space (Linux's `TASK_SIZE_MAX`).
const TASK_SIZE_MAX: u64 = crate::space::USER_TOP;

/// Where one extended state component (2 to 63) lies: its CPUID leaf 0xD
/// sub-leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XComponent {
    /// Offset in the standard format (EBX).
    pub offset: u32,
    /// Size in bytes (EAX).
    pub size: u32,
    /// Starts 64-byte aligned in the compacted format (ECX bit 1).
    pub aligned: bool,
}

/// The extended-state layout the program's frames carry, from CPUID leaf
/// 0xD and the XCR0 microvm sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FpuLayout {
    /// XSAVE is enabled (CR4.OSXSAVE): frames carry the XSAVE layout.
    pub xsave: bool,
    /// XCR0: the components saved.
    pub xcr0: u64,
    /// Bytes of the XSAVE area for `xcr0` (standard format), 512 without
    /// XSAVE.
    pub user_size: usize,
    /// The MXCSR bits the CPU accepts (FXSAVE's MXCSR_MASK, read once; 0
    /// until then).
    pub mxcsr_mask: u32,
    /// XRSTOR takes the compacted format too (the CPU has XSAVEC), as a
    /// frame's area may hold: glibc's lazy binder saves with XSAVEC.
    pub compacted: bool,
    /// Components 2 to 63 of `xcr0` (the others zero).
    pub components: [XComponent; 64],
}

impl FpuLayout {
    /// The FXSAVE-only layout.
    pub const FXSAVE: FpuLayout = FpuLayout {
        xsave: false,
        xcr0: FPSSE,
        user_size: FXSAVE_SIZE,
        mxcsr_mask: DEFAULT_MXCSR_MASK,
        compacted: false,
        components: [XComponent {
            offset: 0,
            size: 0,
            aligned: false,
        }; 64],
    };

    /// The XSAVE layout for `xcr0` (x87 and SSE always), its components
    /// given as (index, place); the standard area's size follows from
    /// them, at most `max_size` bytes.
    pub fn with_xsave(
        xcr0: u64,
        compacted: bool,
        components: impl IntoIterator<Item = (u32, XComponent)>,
        max_size: usize,
    ) -> FpuLayout {
        let xcr0 = xcr0 | FPSSE;
        let mut all = [XComponent::default(); 64];
        let mut end = XSAVE_MIN;
        for (i, c) in components {
            if (2..64).contains(&i) && xcr0 & (1 << i) != 0 {
                all[i as usize] = c;
                end = end.max(c.offset as usize + c.size as usize);
            }
        }
        FpuLayout {
            xsave: true,
            xcr0,
            user_size: end.min(max_size),
            mxcsr_mask: 0,
            compacted,
            components: all,
        }
    }

    /// x87, SSE and AVX where CPUID puts them (an 832-byte area), with
    /// XSAVEC and MXCSR mask 0xffff: a layout for tests and fuzzing.
    pub fn avx() -> FpuLayout {
        Self::known(0b111)
    }

    /// [`FpuLayout::avx`] with AVX-512's opmask and ZMM components too
    /// (XCR0 0xe7, a 2688-byte area).
    pub fn avx512() -> FpuLayout {
        Self::known(0xe7)
    }

    fn known(xcr0: u64) -> FpuLayout {
        let at = |offset, size| XComponent {
            offset,
            size,
            aligned: false,
        };
        let parts = [
            (2, at(576, 256)),
            (5, at(1088, 64)),
            (6, at(1152, 512)),
            (7, at(1664, 1024)),
        ];
        FpuLayout {
            mxcsr_mask: 0xffff,
            ..Self::with_xsave(xcr0, true, parts, usize::MAX)
        }
    }

    /// A vCPU XSAVE area (`size` bytes) with nothing but the MXCSR mask:
    /// what [`read`] needs of the current state.
    pub fn blank_area(&self, size: usize) -> Vec<u8> {
        let mut b = vec![0u8; size];
        if b.len() >= XSAVE_MIN {
            b[MXCSR_MASK..MXCSR_MASK + 4].copy_from_slice(&self.mxcsr_mask.to_le_bytes());
        }
        b
    }

    /// Bytes the frame reserves for the state (`xstate_sigframe_size`).
    fn frame_size(&self) -> u64 {
        self.user_size as u64 + if self.xsave { 4 } else { 0 }
    }

    /// Where each component of `xcomp_bv` starts in a compacted area
    /// (SDM vol. 1, 13.4.3): one after another from 576, in index order,
    /// 64-byte aligned where CPUID says so. Indexed by component.
    fn compacted_offsets(&self, xcomp_bv: u64) -> [usize; 64] {
        let mut at = [0usize; 64];
        let mut next = XSAVE_MIN;
        for (i, c) in self.components.iter().enumerate().skip(2) {
            if xcomp_bv & (1 << i) != 0 {
                if c.aligned {
                    next = next.next_multiple_of(64);
                }
                at[i] = next;
                next += c.size as usize;
            }
        }
        at
    }
}

/// A signal being delivered to a handler.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// The signal.
    pub signal: Signal,
    /// Its handler.
    pub action: Action,
    /// Its `siginfo_t`.
    pub info: [u8; SIGINFO_SIZE],
    /// For a fault: the vector, error code and CR2 (sigcontext's trapno,
    /// err, cr2).
    pub fault: Option<(u64, u64, u64)>,
}

/// A `siginfo_t` from its fields: `si_signo`, `si_code`, then the 8 bytes
/// at offset 16 (`si_addr`, or `si_pid` and `si_uid`).
pub fn siginfo_bytes(signal: Signal, code: i32, word: u64) -> [u8; SIGINFO_SIZE] {
    let mut b = [0u8; SIGINFO_SIZE];
    b[0..4].copy_from_slice(&signal.number().to_le_bytes());
    b[8..12].copy_from_slice(&code.to_le_bytes());
    b[16..24].copy_from_slice(&word.to_le_bytes());
    b
}

/// Why a frame could not be built or read back: Linux then forces SIGSEGV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadFrame;

/// A handler entered: the registers it starts with, and the mask and
/// alternate stack state the caller must apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entered {
    /// The handler's registers.
    pub regs: TrapFrame,
    /// Where the frame is.
    pub frame: u64,
    /// The alternate stack was `SS_AUTODISARM`ed: clear it.
    pub disarm: bool,
}

fn put(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

fn get32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// The registers of `r` in sigcontext order.
fn sc_registers(r: &TrapFrame) -> [u64; SC_REGS] {
    [
        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx,
        r.rax, r.rcx, r.rsp, r.rip, r.rflags,
    ]
}

/// Build the frame for `d` on the stack of the program interrupted with
/// `regs`, saving `mask` and the extended state `fpu` (the vCPU's XSAVE
/// area, standard format); `alt` is the alternate stack.
pub fn build(
    mem: &UserMemory<'_>,
    regs: &TrapFrame,
    fpu: &[u8],
    layout: &FpuLayout,
    d: &Delivery,
    mask: u64,
    alt: AltStack,
) -> Result<Entered, BadFrame> {
    if d.action.flags & SA_RESTORER == 0 {
        // x86-64 has no vDSO trampoline to fall back on.
        return Err(BadFrame);
    }
    if !is_canonical(d.action.handler) {
        // IRETQ refuses it: Linux's return to the handler faults, SIGSEGV.
        return Err(BadFrame);
    }
    let nested = alt.on(regs.rsp);
    let mut sp = regs.rsp.wrapping_sub(RED_ZONE);
    let mut entering = false;
    if d.action.flags & SA_ONSTACK != 0 && alt.flags_at(sp) == 0 {
        sp = alt.sp.wrapping_add(alt.size);
        entering = true;
    }
    let fpstate = sp.wrapping_sub(layout.frame_size()) & !63;
    let frame = (fpstate.wrapping_sub(FRAME_SIZE as u64) & !15).wrapping_sub(8);
    let on_alt = frame > alt.sp && frame - alt.sp <= alt.size;
    if (nested || entering) && !on_alt {
        return Err(BadFrame);
    }
    if frame >= TASK_SIZE_MAX || fpstate.wrapping_add(layout.frame_size()) > TASK_SIZE_MAX {
        return Err(BadFrame);
    }
    mem.write(fpstate, &fpu_frame(fpu, layout))
        .map_err(|_| BadFrame)?;

    let mut f = [0u8; FRAME_SIZE];
    put(&mut f, 0, d.action.restorer);
    let uc_flags =
        UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | if layout.xsave { UC_FP_XSTATE } else { 0 };
    put(&mut f, UC, uc_flags);
    f[UC_STACK..UC_STACK + STACK_T_SIZE].copy_from_slice(&alt.to_bytes(regs.rsp));
    for (i, v) in sc_registers(regs).into_iter().enumerate() {
        put(&mut f, SC + i * 8, v);
    }
    f[SC + SC_CS..SC + SC_CS + 2].copy_from_slice(&selector::USER_CS.to_le_bytes());
    f[SC + SC_SS..SC + SC_SS + 2].copy_from_slice(&selector::USER_DS.to_le_bytes());
    if let Some((trapno, err, cr2)) = d.fault {
        // As `set_signal_archinfo`: a fault on a kernel address reads as a
        // protection fault.
        let err = if trapno == crate::exception::PF_VECTOR && cr2 >= TASK_SIZE_MAX {
            err | crate::exception::PF_PRESENT
        } else {
            err
        };
        put(&mut f, SC + SC_ERR, err);
        put(&mut f, SC + SC_TRAPNO, trapno);
        put(&mut f, SC + SC_CR2, cr2);
    }
    put(&mut f, SC + SC_OLDMASK, mask);
    put(&mut f, SC + SC_FPSTATE, fpstate);
    put(&mut f, UC_SIGMASK, mask);
    let len = if d.action.flags & microvm_abi::linux::consts::SA_SIGINFO != 0 {
        f[INFO..].copy_from_slice(&d.info);
        FRAME_SIZE
    } else {
        INFO
    };
    mem.write(frame, &f[..len]).map_err(|_| BadFrame)?;
    let regs = TrapFrame {
        rdi: d.signal.number() as u64,
        rsi: frame + INFO as u64,
        rdx: frame + UC as u64,
        rax: 0,
        rip: d.action.handler,
        rsp: frame,
        rflags: regs.rflags & !HANDLER_CLEARS,
        cs: u64::from(selector::USER_CS),
        ss: u64::from(selector::USER_DS),
        ..*regs
    };
    Ok(Entered {
        regs,
        frame,
        disarm: alt.flags & microvm_abi::linux::consts::SS_AUTODISARM != 0,
    })
}

/// The extended state as the frame holds it: the XSAVE area with the
/// software bytes Linux adds (`fpx_sw_bytes`, FP/SSE always flagged in
/// XSTATE_BV, FP_XSTATE_MAGIC2 after the area).
fn fpu_frame(fpu: &[u8], layout: &FpuLayout) -> Vec<u8> {
    let n = layout.user_size;
    let mut b = vec![0u8; layout.frame_size() as usize];
    let have = fpu.len().min(n);
    b[..have].copy_from_slice(&fpu[..have]);
    let mut sw = [0u8; 48];
    sw[0..4].copy_from_slice(&(FP_XSTATE_MAGIC1 as u32).to_le_bytes());
    sw[4..8].copy_from_slice(&(layout.frame_size() as u32).to_le_bytes());
    sw[8..16].copy_from_slice(&layout.xcr0.to_le_bytes());
    sw[16..20].copy_from_slice(&(n as u32).to_le_bytes());
    b[SW_BYTES..SW_BYTES + 48].copy_from_slice(&sw);
    if layout.xsave {
        // XSAVE writes only the components asked for (XCR0's).
        let bv = (get(&b, XSAVE_HEADER) & layout.xcr0) | FPSSE;
        b[XSAVE_HEADER..XSAVE_MIN].fill(0);
        put(&mut b, XSAVE_HEADER, bv);
        b[n..n + 4].copy_from_slice(&(FP_XSTATE_MAGIC2 as u32).to_le_bytes());
    }
    b
}

/// The extended state a handler starts with (`fpu__clear_user_states`):
/// every component in its initial state, FCW 0x37f, MXCSR 0x1f80; the
/// MXCSR mask kept from `current`.
pub fn init_fpu(current: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; current.len()];
    if b.len() >= XSAVE_MIN {
        b[0..2].copy_from_slice(&0x37fu16.to_le_bytes());
        b[MXCSR..MXCSR + 4].copy_from_slice(&0x1f80u32.to_le_bytes());
        b[MXCSR_MASK..MXCSR_MASK + 4].copy_from_slice(&current[MXCSR_MASK..MXCSR_MASK + 4]);
        // x87 and SSE given explicitly (the values above), the rest init.
        put(&mut b, XSAVE_HEADER, FPSSE);
    }
    b
}

/// What rt_sigreturn restores.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The registers.
    pub regs: TrapFrame,
    /// The blocked mask.
    pub mask: u64,
    /// The `stack_t` of the alternate stack.
    pub altstack: [u8; STACK_T_SIZE],
    /// The new XSAVE area (standard format, the vCPU's size), or `None`
    /// when the frame's is bad: then rt_sigreturn returns 0 and SIGSEGV
    /// follows, as on Linux, with the other registers already restored.
    pub fpu: Option<Vec<u8>>,
    /// False when IRETQ could not return to the registers (a code segment
    /// other than the user's, an SS it refuses, a non-canonical rip):
    /// SIGSEGV, after rt_sigreturn returned the restored rax.
    pub returnable: bool,
}

/// Read the frame rt_sigreturn finds at `rsp - 8` (the handler's `ret`
/// popped `pretcode`); `current` is the vCPU's XSAVE area, `flags` the
/// RFLAGS at the syscall. `Err` when the frame cannot be read, or the
/// registers it holds could not be returned to.
pub fn read(
    mem: &UserMemory<'_>,
    rsp: u64,
    flags: u64,
    current: &[u8],
    layout: &FpuLayout,
) -> Result<Restored, BadFrame> {
    let frame = rsp.wrapping_sub(8);
    let mut f = [0u8; FRAME_SIZE];
    mem.read(frame, &mut f).map_err(|_| BadFrame)?;
    let uc_flags = get(&f, UC);
    let r: [u64; SC_REGS] = std::array::from_fn(|i| get(&f, SC + i * 8));
    let [r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags] =
        r;
    let cs = u64::from(u16::from_le_bytes([f[SC + SC_CS], f[SC + SC_CS + 1]])) | 3;
    let ss = u64::from(u16::from_le_bytes([f[SC + SC_SS], f[SC + SC_SS + 1]])) | 3;
    let regs = TrapFrame {
        r8,
        r9,
        r10,
        r11,
        r12,
        r13,
        r14,
        r15,
        rdi,
        rsi,
        rbp,
        rbx,
        rdx,
        rax,
        rcx,
        rsp,
        rip,
        rflags: (flags & !FIX_EFLAGS) | (eflags & FIX_EFLAGS),
        cs: u64::from(selector::USER_CS),
        ss: u64::from(selector::USER_DS),
        ..TrapFrame::default()
    };
    let mut altstack = [0u8; STACK_T_SIZE];
    altstack.copy_from_slice(&f[UC_STACK..UC_STACK + STACK_T_SIZE]);
    // The only 64-bit code segment this machine has; and an SS that
    // IRETQ would refuse under UC_STRICT_RESTORE_SS.
    let strict_ss = uc_flags & UC_STRICT_RESTORE_SS != 0;
    let returnable = cs == u64::from(selector::USER_CS)
        && (!strict_ss || ss == u64::from(selector::USER_DS))
        && is_canonical(rip);
    let fpu = restore_fpu(mem, get(&f, SC + SC_FPSTATE), current, layout);
    Ok(Restored {
        regs,
        mask: get(&f, UC_SIGMASK),
        altstack,
        fpu,
        returnable,
    })
}

/// True for an address in either canonical half (48-bit).
pub fn is_canonical(a: u64) -> bool {
    let top = a >> 47;
    top == 0 || top == (1 << 17) - 1
}

/// The XSAVE area `fpu__restore_sig` would load from `buf`, in the vCPU's
/// standard format (`current`'s size); `None` where Linux fails (and
/// sends SIGSEGV): unreadable, misaligned, MXCSR reserved bits, a header
/// XRSTOR refuses.
fn restore_fpu(
    mem: &UserMemory<'_>,
    buf: u64,
    current: &[u8],
    layout: &FpuLayout,
) -> Option<Vec<u8>> {
    if current.len() < XSAVE_MIN.max(layout.user_size) {
        return None;
    }
    let mut out = init_fpu(current);
    if buf == 0 {
        return Some(out);
    }
    let mut sw = [0u8; 48];
    mem.read(buf.wrapping_add(SW_BYTES as u64), &mut sw).ok()?;
    let magic1 = u64::from(get32(&sw, 0));
    let extended = get32(&sw, 4) as usize;
    let xfeatures = get(&sw, 8);
    let xstate_size = get32(&sw, 16) as usize;
    let mut full = layout.xsave
        && magic1 == FP_XSTATE_MAGIC1
        && xstate_size >= XSAVE_MIN
        && xstate_size <= layout.user_size
        && xstate_size <= extended;
    if full {
        let mut m2 = [0u8; 4];
        mem.read(buf.wrapping_add(xstate_size as u64), &mut m2)
            .ok()?;
        full = u64::from(u32::from_le_bytes(m2)) == FP_XSTATE_MAGIC2;
    }
    let mask = match get32(current, MXCSR_MASK) {
        0 => DEFAULT_MXCSR_MASK,
        m => m,
    };
    if !full {
        // FXRSTOR: 16-byte aligned; x87 and SSE only.
        if !buf.is_multiple_of(16) {
            return None;
        }
        let mut fx = [0u8; FXSAVE_SIZE];
        mem.read(buf, &mut fx).ok()?;
        if get32(&fx, MXCSR) & !mask != 0 {
            return None;
        }
        out[..SW_BYTES].copy_from_slice(&fx[..SW_BYTES]);
        // KVM's area is always in XSAVE form: x87 and SSE from the frame.
        put(&mut out, XSAVE_HEADER, FPSSE);
        return Some(out);
    }
    // XRSTOR: 64-byte aligned, a header it accepts.
    if !buf.is_multiple_of(64) {
        return None;
    }
    let mut header = [0u8; XSAVE_MIN - XSAVE_HEADER];
    mem.read(buf.wrapping_add(XSAVE_HEADER as u64), &mut header)
        .ok()?;
    let bv = get(&header, 0);
    let xcomp_bv = get(&header, 8);
    let compacted = xcomp_bv & XCOMP_BV_COMPACTED != 0;
    let accepted = if compacted {
        // SDM vol. 1, 13.8.1: the CPU must have XSAVEC, XCOMP_BV name
        // only XCR0's components, XSTATE_BV only XCOMP_BV's, bytes 16-63
        // be zero.
        layout.compacted
            && xcomp_bv & !XCOMP_BV_COMPACTED & !layout.xcr0 == 0
            && bv & !xcomp_bv == 0
            && header[16..].iter().all(|&b| b == 0)
    } else {
        bv & !layout.xcr0 == 0 && header[8..].iter().all(|&b| b == 0)
    };
    if !accepted {
        return None;
    }
    // The requested-feature bitmap: what XRSTOR touches. Linux then puts
    // every other component in its initial state, as `out` starts.
    let rfbm = xfeatures & layout.xcr0;
    let loaded = rfbm & bv;
    // Each loaded component's place in the frame's area.
    let offsets = if compacted {
        layout.compacted_offsets(xcomp_bv)
    } else {
        std::array::from_fn(|i| layout.components[i].offset as usize)
    };
    let size = |i: usize| layout.components[i].size as usize;
    let needed = (2..64)
        .filter(|&i| loaded & (1 << i) != 0)
        .map(|i| offsets[i] + size(i))
        .fold(XSAVE_MIN, usize::max);
    if needed > out.len() {
        return None;
    }
    let mut x = vec![0u8; needed];
    mem.read(buf, &mut x).ok()?;
    // MXCSR: the standard form loads it for SSE or AVX; the compacted
    // form with SSE's state only (else 0x1f80, SSE's initial value).
    let mxcsr = if compacted {
        loaded & 0b10 != 0
    } else {
        rfbm & 0b110 != 0
    };
    if mxcsr && get32(&x, MXCSR) & !mask != 0 {
        return None;
    }
    if mxcsr {
        out[MXCSR..MXCSR + 4].copy_from_slice(&x[MXCSR..MXCSR + 4]);
    }
    if loaded & 0b01 != 0 {
        out[..MXCSR].copy_from_slice(&x[..MXCSR]);
        out[X87_REGS..XMM_REGS].copy_from_slice(&x[X87_REGS..XMM_REGS]);
    }
    if loaded & 0b10 != 0 {
        out[XMM_REGS..XMM_END].copy_from_slice(&x[XMM_REGS..XMM_END]);
    }
    for i in (2..64).filter(|&i| loaded & (1 << i) != 0) {
        let to = layout.components[i].offset as usize;
        // Within `out` and `x` for every layout CPUID could give.
        let (Some(dst), Some(src)) = (
            out.get_mut(to..to + size(i)),
            x.get(offsets[i]..offsets[i] + size(i)),
        ) else {
            return None;
        };
        dst.copy_from_slice(src);
    }
    // x87 and SSE explicit (loaded or initial, as `out` holds them), so
    // that KVM takes MXCSR from here; the rest as loaded.
    put(&mut out, XSAVE_HEADER, FPSSE | (loaded & !FPSSE));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::paging::{PageFlags, PageTables};
    use crate::memory::{FrameAllocator, GuestRam};
    use crate::space::AddressSpace;
    use microvm_abi::layout::{MIN_MEMORY, PAGE_SIZE};
    use microvm_abi::linux::consts::{SA_NODEFER, SA_SIGINFO};

    /// The test's stack: four pages below this.
    const TOP: u64 = 0x1000_4000;

    fn with_stack(f: impl FnOnce(&UserMemory<'_>)) {
        let ram = GuestRam::new(MIN_MEMORY).unwrap();
        let mut space = AddressSpace::new(PageTables::new(), FrameAllocator::new(MIN_MEMORY));
        space
            .map(&ram, TOP - 4 * PAGE_SIZE, TOP, PageFlags::USER_RW)
            .unwrap();
        let mem = UserMemory::new(&ram, space.tables().root());
        f(&mem);
    }

    fn delivery(flags: u64) -> Delivery {
        Delivery {
            signal: Signal::SIGUSR1,
            action: Action {
                handler: 0x401000,
                flags: flags | SA_RESTORER,
                restorer: 0x402000,
                mask: 0,
            },
            info: siginfo_bytes(Signal::SIGUSR1, -6, 1),
            fault: None,
        }
    }

    /// A vCPU XSAVE area with recognisable x87/SSE and AVX bytes.
    fn xsave_area() -> Vec<u8> {
        let mut a: Vec<u8> = (0..4096u32).map(|i| (i * 13 + 5) as u8).collect();
        a[MXCSR..MXCSR + 4].copy_from_slice(&0x1f80u32.to_le_bytes());
        a[MXCSR_MASK..MXCSR_MASK + 4].copy_from_slice(&0xffffu32.to_le_bytes());
        a[XSAVE_HEADER..XSAVE_MIN].fill(0);
        a[XSAVE_HEADER] = 0b111;
        a
    }

    fn interrupted() -> TrapFrame {
        let mut r = TrapFrame::default();
        for (i, v) in [
            &mut r.rax, &mut r.rbx, &mut r.rcx, &mut r.rdx, &mut r.rsi, &mut r.rdi, &mut r.rbp,
            &mut r.r8, &mut r.r9, &mut r.r10, &mut r.r11, &mut r.r12, &mut r.r13, &mut r.r14,
            &mut r.r15,
        ]
        .into_iter()
        .enumerate()
        {
            *v = 0x1111 * (i as u64 + 1);
        }
        TrapFrame {
            rip: 0x401234,
            rsp: TOP - 0x101,
            rflags: 0x202 | 0x400 | 0x100 | 0x1,
            cs: u64::from(selector::USER_CS),
            ss: u64::from(selector::USER_DS),
            ..r
        }
    }

    #[test]
    fn a_frame_is_laid_out_and_read_back_as_linux_does() {
        with_stack(|mem| {
            let regs = interrupted();
            let fpu = xsave_area();
            let d = delivery(SA_SIGINFO);
            let e = build(
                mem,
                &regs,
                &fpu,
                &FpuLayout::avx(),
                &d,
                0x4000,
                AltStack::default(),
            )
            .unwrap();
            // The handler's entry: rsp ≡ 8 (mod 16), below the red zone and
            // the 64-byte aligned FP state; arguments as Linux sets them.
            assert_eq!(e.regs.rsp % 16, 8);
            assert!(e.regs.rsp + (FRAME_SIZE as u64) <= regs.rsp - RED_ZONE);
            assert_eq!(e.regs.rip, 0x401000);
            assert_eq!(e.regs.rdi, 10);
            assert_eq!(e.regs.rsi, e.frame + INFO as u64);
            assert_eq!(e.regs.rdx, e.frame + UC as u64);
            assert_eq!(e.regs.rax, 0);
            assert_eq!(e.regs.rflags, 0x203, "DF and TF cleared");
            assert_eq!(e.regs.rbx, regs.rbx);
            let mut f = [0u8; FRAME_SIZE];
            mem.read(e.frame, &mut f).unwrap();
            assert_eq!(get(&f, 0), 0x402000, "pretcode");
            assert_eq!(
                get(&f, UC),
                UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
            );
            assert_eq!(get(&f, SC + 16 * 8), regs.rip);
            assert_eq!(get(&f, SC + 15 * 8), regs.rsp);
            assert_eq!(get(&f, SC + 13 * 8), regs.rax);
            assert_eq!(get(&f, UC_SIGMASK), 0x4000);
            assert_eq!(get(&f, SC + SC_OLDMASK), 0x4000);
            assert_eq!(&f[INFO..INFO + 12], &d.info[..12]);
            let fpstate = get(&f, SC + SC_FPSTATE);
            assert_eq!(fpstate % 64, 0);
            assert!(fpstate > e.frame + FRAME_SIZE as u64 - 1);
            let mut sw = [0u8; 48];
            mem.read(fpstate + SW_BYTES as u64, &mut sw).unwrap();
            assert_eq!(u64::from(get32(&sw, 0)), FP_XSTATE_MAGIC1);
            assert_eq!(get32(&sw, 4), 836);
            assert_eq!(get32(&sw, 16), 832);
            let mut m2 = [0u8; 4];
            mem.read(fpstate + 832, &mut m2).unwrap();
            assert_eq!(u64::from(u32::from_le_bytes(m2)), FP_XSTATE_MAGIC2);

            // rt_sigreturn at the handler's `ret`: rsp = frame + 8.
            let back = read(mem, e.frame + 8, 0x202, &init_fpu(&fpu), &FpuLayout::avx()).unwrap();
            assert!(back.returnable);
            assert_eq!(back.mask, 0x4000);
            let want = TrapFrame { kind: 0, ..regs };
            assert_eq!(back.regs, want);
            let restored = back.fpu.unwrap();
            // x87, MXCSR (and the mask), XMM: what XRSTOR loads of the
            // legacy area (not its reserved bytes).
            assert_eq!(&restored[..XMM_END], &fpu[..XMM_END]);
            assert_eq!(&restored[XSAVE_MIN..832], &fpu[XSAVE_MIN..832]);
            assert_eq!(get(&restored, XSAVE_HEADER), 0b111);
        });
    }

    #[test]
    fn without_sa_siginfo_the_info_is_not_written_and_without_restorer_no_frame() {
        with_stack(|mem| {
            let e = build(
                mem,
                &interrupted(),
                &xsave_area(),
                &FpuLayout::avx(),
                &delivery(0),
                0,
                AltStack::default(),
            )
            .unwrap();
            let mut info = [0u8; SIGINFO_SIZE];
            mem.read(e.frame + INFO as u64, &mut info).unwrap();
            assert_eq!(info, [0; SIGINFO_SIZE]);
            let mut d = delivery(SA_NODEFER);
            d.action.flags &= !SA_RESTORER;
            let r = build(
                mem,
                &interrupted(),
                &xsave_area(),
                &FpuLayout::avx(),
                &d,
                0,
                AltStack::default(),
            );
            assert_eq!(r, Err(BadFrame));
        });
    }

    #[test]
    fn the_alternate_stack_takes_the_frame_or_refuses_one_that_does_not_fit() {
        with_stack(|mem| {
            let alt = AltStack {
                sp: TOP - 4 * PAGE_SIZE,
                size: 2 * PAGE_SIZE,
                flags: 0,
            };
            let regs = interrupted();
            let d = delivery(SA_ONSTACK);
            let e = build(mem, &regs, &xsave_area(), &FpuLayout::avx(), &d, 0, alt).unwrap();
            assert!(e.frame > alt.sp && e.frame < alt.sp + alt.size);
            // uc_stack reports SS_ONSTACK? No: the program was not on it.
            let mut f = [0u8; FRAME_SIZE];
            mem.read(e.frame, &mut f).unwrap();
            assert_eq!(get(&f, UC_STACK), alt.sp);
            assert_eq!(get32(&f, UC_STACK + 8), 0);
            // Already on it, near its bottom: no room, SIGSEGV.
            let low = TrapFrame {
                rsp: alt.sp + 0x200,
                ..regs
            };
            assert_eq!(
                build(mem, &low, &xsave_area(), &FpuLayout::avx(), &d, 0, alt),
                Err(BadFrame)
            );
            // An unmapped stack: the write fails.
            let nowhere = TrapFrame {
                rsp: 0x5000,
                ..regs
            };
            assert_eq!(
                build(
                    mem,
                    &nowhere,
                    &xsave_area(),
                    &FpuLayout::avx(),
                    &delivery(0),
                    0,
                    AltStack::default()
                ),
                Err(BadFrame)
            );
        });
    }

    #[test]
    fn sigreturn_refuses_what_iretq_and_xrstor_refuse() {
        with_stack(|mem| {
            let regs = interrupted();
            let fpu = xsave_area();
            let e = build(
                mem,
                &regs,
                &fpu,
                &FpuLayout::avx(),
                &delivery(0),
                0,
                AltStack::default(),
            )
            .unwrap();
            let sc = e.frame + SC as u64;
            let patch = |at: u64, bytes: &[u8]| mem.write(at, bytes).unwrap();
            let ok = |mem: &UserMemory<'_>| {
                read(mem, e.frame + 8, 0x202, &fpu, &FpuLayout::avx()).unwrap()
            };
            // The frame nowhere: bad.
            assert!(read(mem, 0x10, 0x202, &fpu, &FpuLayout::avx()).is_err());
            assert!(read(mem, u64::MAX, 0x202, &fpu, &FpuLayout::avx()).is_err());
            // A non-canonical rip, another code segment: not returnable.
            patch(sc + 16 * 8, &0x8000_0000_0000_0000u64.to_le_bytes());
            assert!(!ok(mem).returnable);
            patch(sc + 16 * 8, &regs.rip.to_le_bytes());
            patch(sc + SC_CS as u64, &0x10u16.to_le_bytes());
            assert!(!ok(mem).returnable);
            patch(sc + SC_CS as u64, &selector::USER_CS.to_le_bytes());
            assert!(ok(mem).returnable);
            // Only FIX_EFLAGS come from the frame: IF stays, IOPL does not
            // come.
            patch(sc + 17 * 8, &0x3000u64.to_le_bytes());
            assert_eq!(ok(mem).regs.rflags, 0x202);
            // The FP state: reserved MXCSR bits, header bits XRSTOR
            // refuses, misalignment.
            let fpstate = {
                let mut b = [0u8; 8];
                mem.read(sc + SC_FPSTATE as u64, &mut b).unwrap();
                u64::from_le_bytes(b)
            };
            let mut mx = [0u8; 4];
            mem.read(fpstate + MXCSR as u64, &mut mx).unwrap();
            patch(fpstate + MXCSR as u64, &0xffff_ffffu32.to_le_bytes());
            assert!(ok(mem).fpu.is_none());
            patch(fpstate + MXCSR as u64, &mx);
            assert!(ok(mem).fpu.is_some());
            patch(fpstate + XSAVE_HEADER as u64 + 8, &1u64.to_le_bytes());
            assert!(ok(mem).fpu.is_none());
            patch(fpstate + XSAVE_HEADER as u64 + 8, &0u64.to_le_bytes());
            patch(fpstate + XSAVE_HEADER as u64, &(1u64 << 9).to_le_bytes());
            assert!(ok(mem).fpu.is_none());
            patch(fpstate + XSAVE_HEADER as u64, &0b111u64.to_le_bytes());
            patch(sc + SC_FPSTATE as u64, &(fpstate + 16).to_le_bytes());
            assert!(ok(mem).fpu.is_none());
            // No FP state: the initial one.
            patch(sc + SC_FPSTATE as u64, &0u64.to_le_bytes());
            assert_eq!(ok(mem).fpu, Some(init_fpu(&fpu)));
            // A bad magic: FXRSTOR's x87 and SSE only, the rest initial.
            patch(sc + SC_FPSTATE as u64, &fpstate.to_le_bytes());
            patch(fpstate + SW_BYTES as u64, &0u32.to_le_bytes());
            let fx = ok(mem).fpu.unwrap();
            assert_eq!(&fx[..SW_BYTES], &fpu[..SW_BYTES]);
            assert_eq!(get(&fx, XSAVE_HEADER), FPSSE);
            assert!(fx[XSAVE_MIN..].iter().all(|&b| b == 0));
        });
    }

    /// A frame built for `layout`; where its FP state lies, and a reader
    /// of what rt_sigreturn restores from it.
    fn frame_for(mem: &UserMemory<'_>, layout: &FpuLayout) -> (u64, u64) {
        let regs = interrupted();
        let e = build(
            mem,
            &regs,
            &xsave_area(),
            layout,
            &delivery(0),
            0,
            AltStack::default(),
        )
        .unwrap();
        let mut b = [0u8; 8];
        mem.read(e.frame + (SC + SC_FPSTATE) as u64, &mut b)
            .unwrap();
        (e.frame + 8, u64::from_le_bytes(b))
    }

    #[test]
    fn a_compacted_area_is_read_as_xrstor_reads_it() {
        with_stack(|mem| {
            let layout = FpuLayout::avx512();
            let current = layout.blank_area(4096);
            let (rsp, fp) = frame_for(mem, &layout);
            let restore = |layout: &FpuLayout| read(mem, rsp, 0x202, &current, layout).unwrap().fpu;
            let header = |bv: u64, comp: u64| {
                let mut h = [0u8; 64];
                h[..8].copy_from_slice(&bv.to_le_bytes());
                h[8..16].copy_from_slice(&comp.to_le_bytes());
                mem.write(fp + XSAVE_HEADER as u64, &h).unwrap();
            };
            // x87, SSE and the opmask registers, compacted: the opmask
            // right after the header, not at its standard 1088.
            let opmask: Vec<u8> = (0..64).map(|i| i as u8 ^ 0x5a).collect();
            mem.write(fp + XSAVE_MIN as u64, &opmask).unwrap();
            header(0b10_0011, XCOMP_BV_COMPACTED | 0b10_0011);
            let out = restore(&layout).expect("XRSTOR takes the compacted form");
            assert_eq!(&out[1088..1152], &opmask[..]);
            assert!(out[XSAVE_MIN..1088].iter().all(|&b| b == 0), "AVX initial");
            assert_eq!(get(&out, XSAVE_HEADER), 0b10_0011);
            assert_eq!(
                get(&out, XSAVE_HEADER + 8),
                0,
                "KVM takes the standard form"
            );
            let mut xmm = [0u8; 256];
            mem.read(fp + XMM_REGS as u64, &mut xmm).unwrap();
            assert_eq!(&out[XMM_REGS..XMM_END], &xmm[..]);
            // AVX's 256 bytes first (XCOMP_BV names it), then the opmask.
            header(0b10_0111, XCOMP_BV_COMPACTED | 0b10_0111);
            mem.write(fp + XSAVE_MIN as u64 + 256, &opmask).unwrap();
            let out = restore(&layout).unwrap();
            assert_eq!(&out[1088..1152], &opmask[..]);
            // What XRSTOR refuses: a CPU without XSAVEC, XSTATE_BV beyond
            // XCOMP_BV, XCOMP_BV beyond XCR0, bytes 16-63 of the header.
            let no_xsavec = FpuLayout {
                compacted: false,
                ..layout
            };
            assert!(restore(&no_xsavec).is_none());
            header(0b10_0111, XCOMP_BV_COMPACTED | 0b10_0011);
            assert!(restore(&layout).is_none());
            header(0b11, XCOMP_BV_COMPACTED | 0b1_0000_0011);
            assert!(restore(&layout).is_none());
            header(0b11, XCOMP_BV_COMPACTED | 0b11);
            mem.write(fp + XSAVE_HEADER as u64 + 16, &[1]).unwrap();
            assert!(restore(&layout).is_none());
            // MXCSR: the compacted form loads it with SSE's state only,
            // else SSE's initial 0x1f80 (never the frame's bad bits).
            header(0b01, XCOMP_BV_COMPACTED | 0b11);
            mem.write(fp + MXCSR as u64, &0xffff_ffffu32.to_le_bytes())
                .unwrap();
            let out = restore(&layout).expect("MXCSR not loaded");
            assert_eq!(get32(&out, MXCSR), 0x1f80);
            header(0b11, XCOMP_BV_COMPACTED | 0b11);
            assert!(restore(&layout).is_none(), "MXCSR loaded: #GP");
        });
    }

    #[test]
    fn the_standard_form_loads_mxcsr_only_for_sse_or_avx() {
        with_stack(|mem| {
            let layout = FpuLayout::avx();
            let current = layout.blank_area(4096);
            let (rsp, fp) = frame_for(mem, &layout);
            mem.write(fp + MXCSR as u64, &0xffff_ffffu32.to_le_bytes())
                .unwrap();
            let restore = || read(mem, rsp, 0x202, &current, &layout).unwrap().fpu;
            assert!(restore().is_none(), "SSE asked for: #GP");
            // The frame asks for x87 only (fpx_sw_bytes.xfeatures): XRSTOR
            // leaves MXCSR alone and Linux puts SSE in its initial state.
            mem.write(fp + SW_BYTES as u64 + 8, &1u64.to_le_bytes())
                .unwrap();
            let out = restore().expect("MXCSR not loaded");
            assert_eq!(get32(&out, MXCSR), 0x1f80);
            assert_eq!(get(&out, XSAVE_HEADER), FPSSE);
            let mut x87 = [0u8; 24];
            mem.read(fp, &mut x87).unwrap();
            assert_eq!(&out[..24], &x87[..], "x87 loaded");
            assert!(
                out[XMM_REGS..XMM_END].iter().all(|&b| b == 0),
                "SSE initial"
            );
        });
    }

    #[test]
    fn any_frame_bytes_read_back_without_panic() {
        with_stack(|mem| {
            let fpu = xsave_area();
            let mut seed = 0x1234_5678_9abc_def0u64;
            for round in 0..200 {
                let mut junk = [0u8; 2048];
                for b in junk.iter_mut() {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    *b = seed as u8;
                }
                // Sometimes a plausible fpstate pointer into the stack.
                if round % 2 == 0 {
                    let p = TOP - 2 * PAGE_SIZE + (seed % 2048);
                    junk[SC + SC_FPSTATE..SC + SC_FPSTATE + 8].copy_from_slice(&p.to_le_bytes());
                }
                mem.write(TOP - 3 * PAGE_SIZE, &junk).unwrap();
                let _ = read(mem, TOP - 3 * PAGE_SIZE + 8, 0x202, &fpu, &FpuLayout::avx());
                let _ = read(
                    mem,
                    TOP - 3 * PAGE_SIZE + 8,
                    0x202,
                    &fpu,
                    &FpuLayout::FXSAVE,
                );
            }
        });
    }
}
