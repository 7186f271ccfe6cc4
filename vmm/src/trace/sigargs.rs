//! Signals as strace 6 shows them: numbers by name (`SIGINT`, `SIGRTMIN`,
//! `SIGRT_3`), sets (`[USR1 TERM]`, `~[KILL STOP]`, `[]`), the kernel's
//! `struct sigaction`, `stack_t` and the mask in a signal frame.

use super::decode::Call;
use super::format::{bits, pointer, xlat};
use crate::usermem::UserMemory;
use microvm_abi::linux::consts::{
    NSIG_BYTES, SA_HANDLER_VALUES, SA_RESTORER, SIGACT_FLAGS, SIGALTSTACK_FLAGS, SIGNALS, SIGRTMAX,
    SIGRTMIN,
};
use std::io::{self, Write};
use std::mem::{offset_of, size_of};

/// The kernel's `struct sigaction` on x86-64 (not the C library's, whose
/// mask is 128 bytes): handler, flags, restorer, then the 8-byte mask.
pub mod sigaction {
    /// `sa_handler`.
    pub const HANDLER: usize = 0;
    /// `sa_flags`.
    pub const FLAGS: usize = 8;
    /// `sa_restorer`.
    pub const RESTORER: usize = 16;
    /// `sa_mask`.
    pub const MASK: usize = 24;
    /// Its size.
    pub const SIZE: usize = 32;
}

/// Where rt_sigreturn finds the mask it restores: the signal frame starts
/// one word below the stack pointer (the handler's return address was
/// popped), with the `ucontext_t` after that word.
const FRAME_MASK_FROM_SP: u64 = offset_of!(libc::ucontext_t, uc_sigmask) as u64;

/// The name of signal `sig` without its `SIG` prefix when `short`.
fn name(sig: u64) -> Option<std::borrow::Cow<'static, str>> {
    if sig == SIGRTMIN {
        return Some("SIGRTMIN".into());
    }
    if sig > SIGRTMIN && sig <= SIGRTMAX {
        return Some(format!("SIGRT_{}", sig - SIGRTMIN).into());
    }
    SIGNALS.name(sig).map(Into::into)
}

/// A signal number (an `int`): `SIGINT`, `SIGRT_2`, else in decimal.
pub fn signal(out: &mut impl Write, v: u64) -> io::Result<()> {
    let sig = v as i32;
    match u64::try_from(sig).ok().filter(|&s| s > 0).and_then(name) {
        Some(n) => out.write_all(n.as_bytes()),
        None => write!(out, "{sig}"),
    }
}

/// The signals of a set of `bytes` bytes (at most the kernel's 8) held in
/// `mask`: `[USR1 TERM]`; when two thirds or more are set, those not set
/// after a `~`.
pub fn set(out: &mut impl Write, mask: u64, bytes: u64) -> io::Result<()> {
    let width = bytes.clamp(1, NSIG_BYTES).div_ceil(4) * 32;
    let all = if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let mut mask = mask & all;
    if u64::from(mask.count_ones()) >= width * 2 / 3 {
        out.write_all(b"~")?;
        mask = !mask & all;
    }
    out.write_all(b"[")?;
    let mut first = true;
    for bit in 0..width {
        if mask & (1 << bit) == 0 {
            continue;
        }
        if !first {
            out.write_all(b" ")?;
        }
        first = false;
        let sig = bit + 1;
        match name(sig) {
            Some(n) => out.write_all(n.trim_start_matches("SIG").as_bytes())?,
            None => write!(out, "{sig}")?,
        }
    }
    out.write_all(b"]")
}

/// The signal set of `len` bytes at `addr`, shown when `min <= len <= 8`
/// and readable; else the pointer.
pub fn sigset_at(
    out: &mut impl Write,
    mem: &UserMemory<'_>,
    addr: u64,
    len: u64,
    min: u64,
) -> io::Result<()> {
    if addr == 0 || len < min || len > NSIG_BYTES {
        return pointer(out, addr);
    }
    let mut b = [0u8; NSIG_BYTES as usize];
    match mem.read(addr, &mut b[..len as usize]) {
        Ok(()) => set(out, u64::from_le_bytes(b), len),
        Err(_) => pointer(out, addr),
    }
}

/// A sigset argument of a call (strace's minimum size is a word).
pub fn sigset_arg(
    out: &mut impl Write,
    c: &Call<'_, '_>,
    addr: u64,
    len: u64,
    min: u64,
) -> io::Result<()> {
    sigset_at(out, c.mem, addr, len, min)
}

/// rt_sigpending's set: any size from one byte, shown after success.
pub fn pending(out: &mut impl Write, c: &Call<'_, '_>, addr: u64, len: u64) -> io::Result<()> {
    if !c.succeeded() {
        return pointer(out, addr);
    }
    sigset_at(out, c.mem, addr, len, 1)
}

/// rt_sigreturn's `{mask=[...]}`, read from the frame at the stack
/// pointer.
pub fn frame_mask(out: &mut impl Write, c: &Call<'_, '_>) -> io::Result<()> {
    out.write_all(b"{mask=")?;
    // strace computes the address as the kernel's unsigned long: wrapping.
    let addr = c.sp.wrapping_add(FRAME_MASK_FROM_SP);
    sigset_at(out, c.mem, addr, NSIG_BYTES, NSIG_BYTES)?;
    out.write_all(b"}")
}

/// `{sa_handler=0x401615, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART,
/// sa_restorer=0x...}`; `SIG_DFL`, `SIG_IGN` by name.
pub fn sigaction_fields(out: &mut impl Write, b: &[u8; sigaction::SIZE]) -> io::Result<()> {
    let at = |o: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(w)
    };
    let handler = at(sigaction::HANDLER);
    out.write_all(b"{sa_handler=")?;
    match SA_HANDLER_VALUES.name(handler) {
        Some(n) => out.write_all(n.as_bytes())?,
        None => pointer(out, handler)?,
    }
    out.write_all(b", sa_mask=")?;
    set(out, at(sigaction::MASK), NSIG_BYTES)?;
    out.write_all(b", sa_flags=")?;
    let flags = at(sigaction::FLAGS);
    bits(out, &SIGACT_FLAGS, flags, "0")?;
    if flags & SA_RESTORER != 0 {
        out.write_all(b", sa_restorer=")?;
        pointer(out, at(sigaction::RESTORER))?;
    }
    out.write_all(b"}")
}

/// The size of `stack_t`.
pub const STACK_T_SIZE: usize = size_of::<libc::stack_t>();

/// `{ss_sp=0x..., ss_flags=SS_ONSTACK, ss_size=65536}`.
pub fn stack_fields(out: &mut impl Write, b: &[u8; STACK_T_SIZE]) -> io::Result<()> {
    let word = |o: usize, n: usize| {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(&b[o..o + n]);
        u64::from_le_bytes(w)
    };
    out.write_all(b"{ss_sp=")?;
    pointer(out, word(offset_of!(libc::stack_t, ss_sp), 8))?;
    out.write_all(b", ss_flags=")?;
    xlat(
        out,
        &SIGALTSTACK_FLAGS,
        word(offset_of!(libc::stack_t, ss_flags), 4),
    )?;
    write!(
        out,
        ", ss_size={}}}",
        word(offset_of!(libc::stack_t, ss_size), 8)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::testing::{Memory, USER};
    use microvm_abi::linux::nr;

    use crate::trace::testing::text;

    fn bit(sig: u64) -> u64 {
        1 << (sig - 1)
    }

    #[test]
    fn signal_numbers_like_strace() {
        let s = |v: u64| text(|o| signal(o, v));
        assert_eq!(s(2), "SIGINT");
        assert_eq!(s(31), "SIGSYS");
        assert_eq!(s(32), "SIGRTMIN");
        assert_eq!(s(33), "SIGRT_1");
        assert_eq!(s(64), "SIGRT_32");
        assert_eq!(s(65), "65");
        assert_eq!(s(0), "0");
        assert_eq!(s(-3i64 as u64), "-3");
        assert_eq!(s(0xffff_ffff_0000_0002), "SIGINT");
    }

    #[test]
    fn sets_like_strace() {
        let s = |m: u64, n: u64| text(|o| set(o, m, n));
        assert_eq!(s(0, 8), "[]");
        assert_eq!(s(bit(10) | bit(15), 8), "[USR1 TERM]");
        assert_eq!(s(u64::MAX, 8), "~[]");
        assert_eq!(s(!(bit(32) | bit(33)), 8), "~[RTMIN RT_1]");
        assert_eq!(s(1 << 63, 8), "[RT_32]");
        // 33 of 64 set: still listed; 42 (two thirds) set: the complement.
        assert!(s(0x1_ffff_ffff, 8).ends_with(" SYS RTMIN RT_1]"));
        assert!(s(0x1_ffff_ffff, 8).starts_with("[HUP INT "));
        assert!(s((1 << 41) - 1, 8).starts_with("[HUP INT "));
        assert!(s((1 << 42) - 1, 8).starts_with("~[RT_11 RT_12 "));
        assert_eq!(s((1 << 43) - 1, 8), "~[RT_12 RT_13 RT_14 RT_15 RT_16 RT_17 RT_18 RT_19 RT_20 RT_21 RT_22 RT_23 RT_24 RT_25 RT_26 RT_27 RT_28 RT_29 RT_30 RT_31 RT_32]");
        // A 4-byte set: only the first 32 signals count.
        assert_eq!(s(u64::MAX, 4), "~[]");
        assert_eq!(s(bit(1) | 1 << 40, 4), "[HUP]");
    }

    #[test]
    fn rt_sigaction_lines() {
        let mut m = Memory::new();
        let mut act = [0u8; sigaction::SIZE];
        act[0..8].copy_from_slice(&0x401615u64.to_le_bytes());
        act[8..16].copy_from_slice(&0x1400_0000u64.to_le_bytes());
        act[16..24].copy_from_slice(&0x7f2c_0c7e_4050u64.to_le_bytes());
        let new = m.put(USER, &act);
        assert_eq!(
            m.line(nr::RT_SIGACTION, [2, new, 0, 8, 0, 0], Some(0)),
            "rt_sigaction(SIGINT, {sa_handler=0x401615, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f2c0c7e4050}, NULL, 8) = 0"
        );
        // The old action is the kernel's output: shown after success only.
        let mut old = [0u8; sigaction::SIZE];
        old[24..32].copy_from_slice(&(bit(10) | bit(15)).to_le_bytes());
        old[8..16].copy_from_slice(&0x0800_0004u64.to_le_bytes());
        let old = m.put(USER + 0x100, &old);
        assert_eq!(
            m.line(nr::RT_SIGACTION, [12, 0, old, 8, 0, 0], Some(0)),
            "rt_sigaction(SIGUSR2, NULL, {sa_handler=SIG_DFL, sa_mask=[USR1 TERM], sa_flags=SA_ONSTACK|SA_SIGINFO}, 8) = 0"
        );
        assert_eq!(
            m.line(nr::RT_SIGACTION, [12, 0, old, 8, 0, 0], Some(-38)),
            "rt_sigaction(SIGUSR2, NULL, 0x10000100, 8) = -1 ENOSYS (Function not implemented)"
        );
        let mut ign = [0u8; sigaction::SIZE];
        ign[0] = 1;
        let ign = m.put(USER + 0x200, &ign);
        assert_eq!(
            m.line(nr::RT_SIGACTION, [34, ign, 0, 8, 0, 0], Some(0)),
            "rt_sigaction(SIGRT_2, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=0}, NULL, 8) = 0"
        );
        assert_eq!(
            m.line(nr::RT_SIGACTION, [2, 0x10, 0, 8, 0, 0], Some(-14)),
            "rt_sigaction(SIGINT, 0x10, NULL, 8) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            m.line(nr::RT_SIGACTION, [65, 0, 0, 8, 0, 0], Some(-22)),
            "rt_sigaction(65, NULL, NULL, 8) = -1 EINVAL (Invalid argument)"
        );
    }

    #[test]
    fn rt_sigprocmask_lines() {
        let mut m = Memory::new();
        let set = m.put(USER, &(bit(10) | bit(15)).to_le_bytes());
        let old = m.put(USER + 0x100, &0u64.to_le_bytes());
        assert_eq!(
            m.line(nr::RT_SIGPROCMASK, [0, set, old, 8, 0, 0], Some(0)),
            "rt_sigprocmask(SIG_BLOCK, [USR1 TERM], [], 8) = 0"
        );
        assert_eq!(
            m.line(nr::RT_SIGPROCMASK, [1, set, 0, 8, 0, 0], Some(0)),
            "rt_sigprocmask(SIG_UNBLOCK, [USR1 TERM], NULL, 8) = 0"
        );
        // Refused: the old set is not shown, the pointer is.
        assert_eq!(
            m.line(nr::RT_SIGPROCMASK, [0, set, old, 8, 0, 0], Some(-38)),
            "rt_sigprocmask(SIG_BLOCK, [USR1 TERM], 0x10000100, 8) = -1 ENOSYS (Function not implemented)"
        );
        let all = m.put(
            USER + 0x200,
            &(!(bit(9) | bit(32) | bit(33) | bit(35))).to_le_bytes(),
        );
        assert_eq!(
            m.line(nr::RT_SIGPROCMASK, [2, all, 0, 8, 0, 0], Some(0)),
            "rt_sigprocmask(SIG_SETMASK, ~[KILL RTMIN RT_1 RT_3], NULL, 8) = 0"
        );
        // A size other than 8, an unknown how, an unreadable set.
        assert_eq!(
            m.line(nr::RT_SIGPROCMASK, [2, set, old, 4, 0, 0], Some(-22)),
            "rt_sigprocmask(SIG_SETMASK, 0x10000000, 0x10000100, 4) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::RT_SIGPROCMASK, [2, set, old, 16, 0, 0], Some(-22)),
            "rt_sigprocmask(SIG_SETMASK, 0x10000000, 0x10000100, 16) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::RT_SIGPROCMASK, [7, set, 0, 8, 0, 0], Some(-22)),
            "rt_sigprocmask(0x7 /* SIG_??? */, [USR1 TERM], NULL, 8) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::RT_SIGPROCMASK, [2, 0x10, 0x20, 8, 0, 0], Some(-14)),
            "rt_sigprocmask(SIG_SETMASK, 0x10, 0x20, 8) = -1 EFAULT (Bad address)"
        );
    }

    #[test]
    fn other_signal_calls() {
        let mut m = Memory::new();
        assert_eq!(
            m.line(nr::KILL, [4730, 0, 0, 0, 0, 0], Some(0)),
            "kill(4730, 0) = 0"
        );
        assert_eq!(
            m.line(nr::KILL, [4730, 17, 0, 0, 0, 0], Some(0)),
            "kill(4730, SIGCHLD) = 0"
        );
        assert_eq!(
            m.line(nr::KILL, [4730, 99, 0, 0, 0, 0], Some(-22)),
            "kill(4730, 99) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::KILL, [4730, u64::MAX, 0, 0, 0, 0], Some(-22)),
            "kill(4730, -1) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::TKILL, [4730, 23, 0, 0, 0, 0], Some(0)),
            "tkill(4730, SIGURG) = 0"
        );
        assert_eq!(
            m.line(nr::TGKILL, [1, 1, 6, 0, 0, 0], Some(-38)),
            "tgkill(1, 1, SIGABRT) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            m.line(nr::TGKILL, [4730, 4730, 37, 0, 0, 0], Some(0)),
            "tgkill(4730, 4730, SIGRT_5) = 0"
        );
        let none = m.put(USER, &0u64.to_le_bytes());
        assert_eq!(
            m.line(nr::RT_SIGPENDING, [none, 8, 0, 0, 0, 0], Some(0)),
            "rt_sigpending([], 8) = 0"
        );
        assert_eq!(
            m.line(nr::RT_SIGPENDING, [none, 4, 0, 0, 0, 0], Some(0)),
            "rt_sigpending([], 4) = 0"
        );
        assert_eq!(
            m.line(nr::RT_SIGPENDING, [0x10, 8, 0, 0, 0, 0], Some(-14)),
            "rt_sigpending(0x10, 8) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            m.line(nr::RT_SIGSUSPEND, [none, 8, 0, 0, 0, 0], Some(-4)),
            "rt_sigsuspend([], 8) = -1 EINTR (Interrupted system call)"
        );
        assert_eq!(
            m.line(nr::RT_SIGSUSPEND, [none, 7, 0, 0, 0, 0], Some(-22)),
            "rt_sigsuspend(0x10000000, 7) = -1 EINVAL (Invalid argument)"
        );
    }

    #[test]
    fn sigaltstack_lines() {
        let mut m = Memory::new();
        let mut ss = [0u8; STACK_T_SIZE];
        ss[0..8].copy_from_slice(&0x563d_251f_72a0u64.to_le_bytes());
        ss[16..24].copy_from_slice(&65536u64.to_le_bytes());
        let new = m.put(USER, &ss);
        let mut os = [0u8; STACK_T_SIZE];
        os[8] = 2;
        let old = m.put(USER + 0x100, &os);
        assert_eq!(
            m.line(nr::SIGALTSTACK, [new, old, 0, 0, 0, 0], Some(0)),
            "sigaltstack({ss_sp=0x563d251f72a0, ss_flags=0, ss_size=65536}, {ss_sp=NULL, ss_flags=SS_DISABLE, ss_size=0}) = 0"
        );
        ss[8] = 7;
        let new = m.put(USER, &ss);
        assert_eq!(
            m.line(nr::SIGALTSTACK, [new, 0, 0, 0, 0, 0], Some(-22)),
            "sigaltstack({ss_sp=0x563d251f72a0, ss_flags=SS_ONSTACK|SS_DISABLE|0x4, ss_size=65536}, NULL) = -1 EINVAL (Invalid argument)"
        );
    }

    #[test]
    fn rt_sigreturn_shows_the_frame_mask() {
        let mut m = Memory::new();
        m.sp = USER + 0x100;
        m.put(m.sp + FRAME_MASK_FROM_SP, &bit(10).to_le_bytes());
        assert_eq!(
            m.line(nr::RT_SIGRETURN, [0; 6], Some(-4)),
            "rt_sigreturn({mask=[USR1]}) = -1 EINTR (Interrupted system call)"
        );
        // A stack pointer nowhere: the mask's address, as strace shows it.
        m.sp = 0x10;
        assert_eq!(
            m.line(nr::RT_SIGRETURN, [0; 6], Some(0)),
            format!(
                "rt_sigreturn({{mask={:#x}}}) = 0",
                0x10 + FRAME_MASK_FROM_SP
            )
        );
        m.sp = u64::MAX;
        assert_eq!(
            m.line(nr::RT_SIGRETURN, [0; 6], Some(0)),
            format!("rt_sigreturn({{mask={:#x}}}) = 0", FRAME_MASK_FROM_SP - 1)
        );
    }
}
