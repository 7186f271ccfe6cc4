//! Signals as a single-threaded Linux process has them: 64 actions, the
//! blocked mask, the pending set with each pending signal's sender, the
//! alternate stack; and the syscalls that read and change them
//! (`rt_sigaction`, `rt_sigprocmask`, `sigaltstack`, `rt_sigpending`,
//! `kill`/`tkill`/`tgkill` to the process itself). Delivery (the frame on
//! the user stack) is [`super::sigframe`]'s and the run loop's.
//!
//! The process is pid 1, tid 1, uid 0. Signals come only from the process
//! itself (and from its faults, which the run loop forces): there are no
//! other processes, no timers. A realtime signal sent again while pending
//! is kept once (Linux queues each). Pending signals are never dropped for
//! being ignored when sent: strace's tracee keeps them (a traced process
//! gets every signal reported), and microvm reports each as strace does;
//! the ignoring happens at delivery.

use super::{Context, SysResult, GUEST_PID};
use crate::exception::{DefaultAction, Signal, NSIG};
use microvm_abi::linux::consts::{
    MINSIGSTKSZ, SA_NOCLDSTOP, SA_NOCLDWAIT, SA_NODEFER, SA_ONSTACK, SA_RESETHAND, SA_RESTART,
    SA_RESTORER, SA_SIGINFO, SIG_BLOCK, SIG_DFL, SIG_IGN, SIG_SETMASK, SIG_UNBLOCK, SI_TKILL,
    SI_USER, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK,
};
use microvm_abi::linux::nr;
use nix::errno::Errno;

/// `ERESTARTNOHAND` (`include/linux/errno.h`, kernel-internal: no header
/// a program sees has it): what rt_sigsuspend and pause return when a
/// signal interrupts them. strace shows it (`= ? ERESTARTNOHAND`); the
/// program gets EINTR when a handler runs, else the call restarts.
pub const ERESTARTNOHAND: i64 = 514;

/// The size of the kernel's `sigset_t` on x86-64.
pub const SIGSET_SIZE: u64 = 8;

/// The `sa_flags` bits Linux keeps (`UAPI_SA_FLAGS`); it clears the rest.
const KNOWN_FLAGS: u64 = SA_NOCLDSTOP
    | SA_NOCLDWAIT
    | SA_SIGINFO
    | SA_ONSTACK
    | SA_RESTART
    | SA_NODEFER
    | SA_RESETHAND
    | SA_RESTORER;

/// `struct sigaction` as the kernel takes it on x86-64: handler, flags,
/// restorer, mask, 8 bytes each.
const SIGACTION_SIZE: usize = 32;

/// `stack_t`: `ss_sp` (8), `ss_flags` (int, then 4 bytes of padding),
/// `ss_size` (8).
pub const STACK_T_SIZE: usize = 24;

/// The signals no one can block, catch or ignore.
pub const UNBLOCKABLE: u64 = Signal::SIGKILL.bit() | Signal::SIGSTOP.bit();

/// The signals a fault raises, delivered before any other pending one
/// (Linux's `SYNCHRONOUS_MASK`).
const SYNCHRONOUS: u64 = Signal::SIGSEGV.bit()
    | Signal::SIGBUS.bit()
    | Signal::SIGILL.bit()
    | Signal::SIGTRAP.bit()
    | Signal::SIGFPE.bit()
    | Signal::SIGSYS.bit();

/// What a signal does when it is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Action {
    /// `sa_handler` (`SIG_DFL` 0, `SIG_IGN` 1, or the handler's address).
    pub handler: u64,
    /// `sa_flags`.
    pub flags: u64,
    /// `sa_restorer`: where the handler returns to.
    pub restorer: u64,
    /// `sa_mask`: blocked while the handler runs.
    pub mask: u64,
}

impl Action {
    fn from_bytes(b: &[u8; SIGACTION_SIZE]) -> Action {
        let q = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        Action {
            handler: q(0),
            flags: q(1),
            restorer: q(2),
            mask: q(3),
        }
    }

    fn to_bytes(self) -> [u8; SIGACTION_SIZE] {
        let mut b = [0u8; SIGACTION_SIZE];
        for (i, v) in [self.handler, self.flags, self.restorer, self.mask]
            .into_iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        b
    }
}

/// The alternate signal stack (`sigaltstack(2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AltStack {
    /// `ss_sp`: its lowest address.
    pub sp: u64,
    /// `ss_size`: 0 when there is none.
    pub size: u64,
    /// The flags it was set with (`SS_AUTODISARM`).
    pub flags: u64,
}

impl AltStack {
    /// True when `sp` lies on it (Linux's `on_sig_stack`; never with
    /// `SS_AUTODISARM`).
    pub fn on(&self, sp: u64) -> bool {
        self.flags & SS_AUTODISARM == 0 && sp > self.sp && sp - self.sp <= self.size
    }

    /// `ss_flags` as reported for a program at `sp` (`sas_ss_flags`).
    pub fn flags_at(&self, sp: u64) -> u64 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.on(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// The bytes of the `stack_t` reporting it to a program at `sp`.
    pub fn to_bytes(self, sp: u64) -> [u8; STACK_T_SIZE] {
        let mut b = [0u8; STACK_T_SIZE];
        b[..8].copy_from_slice(&self.sp.to_le_bytes());
        let flags = (self.flags_at(sp) | (self.flags & SS_AUTODISARM)) as u32;
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..].copy_from_slice(&self.size.to_le_bytes());
        b
    }
}

/// Who sent a pending signal, and how (its `siginfo_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// The signal.
    pub signal: Signal,
    /// `si_code`: `SI_USER` (kill), `SI_TKILL` (tkill, tgkill).
    pub code: i32,
    /// `si_pid`.
    pub pid: i32,
    /// `si_uid`.
    pub uid: u32,
    /// `si_value` (`si_int`, `si_ptr`), for rt_sigqueueinfo's `SI_QUEUE`.
    pub value: Option<u64>,
}

/// What delivering a signal does, from its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposal {
    /// Its default action.
    Default(DefaultAction),
    /// `SIG_IGN`.
    Ignore,
    /// Run this handler.
    Handler(Action),
}

/// The signal state of the process.
#[derive(Debug, Clone)]
pub struct Signals {
    actions: [Action; NSIG as usize],
    /// The blocked mask.
    blocked: u64,
    /// The mask rt_sigsuspend replaced, put back when its handler returns.
    saved: Option<u64>,
    pending: u64,
    sent: [Option<Sent>; NSIG as usize],
    altstack: AltStack,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            actions: [Action::default(); NSIG as usize],
            blocked: 0,
            saved: None,
            pending: 0,
            sent: [None; NSIG as usize],
            altstack: AltStack::default(),
        }
    }
}

impl Signals {
    /// True when a pending signal is not blocked: the one check the
    /// syscall path makes.
    #[inline]
    pub fn deliverable(&self) -> bool {
        self.pending & !self.blocked != 0
    }

    /// The blocked mask.
    pub fn blocked(&self) -> u64 {
        self.blocked
    }

    /// Set the blocked mask (rt_sigreturn); SIGKILL and SIGSTOP stay
    /// unblocked.
    pub fn set_blocked(&mut self, mask: u64) {
        self.blocked = mask & !UNBLOCKABLE;
    }

    /// The mask a signal frame saves: the one rt_sigsuspend replaced, if
    /// it did (taken: the handler's return restores it), else the blocked
    /// mask.
    pub fn mask_to_save(&mut self) -> u64 {
        self.saved.take().unwrap_or(self.blocked)
    }

    /// The alternate stack.
    pub fn altstack(&self) -> AltStack {
        self.altstack
    }

    /// Replace the alternate stack (rt_sigreturn restores it, as Linux's
    /// `restore_altstack`, and a delivery with `SS_AUTODISARM` clears it).
    pub fn set_altstack(&mut self, s: AltStack) {
        self.altstack = s;
    }

    /// The action of `signal`.
    pub fn action(&self, signal: Signal) -> Action {
        self.actions[signal.number() as usize - 1]
    }

    /// What delivering `signal` does.
    pub fn disposal(&self, signal: Signal) -> Disposal {
        let a = self.action(signal);
        match a.handler {
            SIG_DFL => Disposal::Default(signal.default_action()),
            SIG_IGN => Disposal::Ignore,
            _ => Disposal::Handler(a),
        }
    }

    /// Make `signal` pending, sent by `sent` (kept once while pending).
    pub fn send(&mut self, sent: Sent) {
        let bit = sent.signal.bit();
        if self.pending & bit == 0 {
            self.pending |= bit;
            self.sent[sent.signal.number() as usize - 1] = Some(sent);
        }
    }

    /// Take the next pending unblocked signal: a fault's first, then the
    /// lowest number (as Linux's `next_signal`).
    pub fn take_next(&mut self) -> Option<Sent> {
        let ready = self.pending & !self.blocked;
        let pick = if ready & SYNCHRONOUS != 0 {
            ready & SYNCHRONOUS
        } else {
            ready
        };
        if pick == 0 {
            return None;
        }
        let n = pick.trailing_zeros() as usize;
        self.pending &= !(1 << n);
        self.sent[n].take()
    }

    /// A fault raises `signal` (Linux's `force_sig`): if it is blocked or
    /// ignored it is unblocked and its action reset to the default, so it
    /// ends the program.
    pub fn force(&mut self, signal: Signal) {
        let bit = signal.bit();
        let a = &mut self.actions[signal.number() as usize - 1];
        if self.blocked & bit != 0 || a.handler == SIG_IGN {
            a.handler = SIG_DFL;
            self.blocked &= !bit;
        }
    }

    /// Reset the action of `signal` to the default.
    pub fn reset(&mut self, signal: Signal) {
        self.actions[signal.number() as usize - 1] = Action::default();
    }

    /// Put back the alternate stack a signal frame saved (`stack_t`
    /// bytes), for a program at `sp`, as Linux's `restore_altstack`: what
    /// sigaltstack would refuse is ignored.
    pub fn restore_altstack(&mut self, b: &[u8; STACK_T_SIZE], sp: u64) {
        let _ = self.change_altstack(b, sp);
    }

    /// A handler for `signal` with `action` has been entered: its mask
    /// (and the signal, unless `SA_NODEFER`) blocked, its action reset
    /// with `SA_RESETHAND`.
    pub fn enter_handler(&mut self, signal: Signal, action: &Action) {
        let mut mask = action.mask;
        if action.flags & SA_NODEFER == 0 {
            mask |= signal.bit();
        }
        self.set_blocked(self.blocked | mask);
        if action.flags & SA_RESETHAND != 0 {
            self.actions[signal.number() as usize - 1] = Action::default();
        }
    }

    /// Serve the signal syscalls; `sp` is the program's stack pointer
    /// (sigaltstack reports and refuses by it). `None` for other numbers.
    pub fn handle(
        &mut self,
        nr: u64,
        a: &[u64; 6],
        sp: u64,
        ctx: &mut Context<'_, '_>,
    ) -> Option<SysResult> {
        Some(match nr {
            nr::RT_SIGACTION => self.sigaction(a[0], a[1], a[2], a[3], ctx),
            nr::RT_SIGPROCMASK => self.sigprocmask(a[0], a[1], a[2], a[3], ctx),
            nr::SIGALTSTACK => self.sigaltstack(a[0], a[1], sp, ctx),
            nr::RT_SIGPENDING => self.sigpending(a[0], a[1], ctx),
            nr::KILL => self.kill(a[0] as i32, a[1] as i32),
            nr::TKILL => self.tkill(a[0] as i32, a[1] as i32),
            nr::TGKILL => self.tgkill(a[0] as i32, a[1] as i32, a[2] as i32),
            nr::RT_SIGQUEUEINFO => self.sigqueueinfo(a[0] as i32, None, a[1] as i32, a[2], ctx),
            nr::RT_TGSIGQUEUEINFO => {
                self.sigqueueinfo(a[0] as i32, Some(a[1] as i32), a[2] as i32, a[3], ctx)
            }
            nr::RT_SIGSUSPEND => self.sigsuspend(a[0], a[1], ctx),
            nr::PAUSE => self.suspend(ctx),
            _ => return None,
        })
    }

    fn sigaction(
        &mut self,
        sig: u64,
        act: u64,
        oact: u64,
        size: u64,
        ctx: &mut Context<'_, '_>,
    ) -> SysResult {
        if size != SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        let new = if act != 0 {
            let mut b = [0u8; SIGACTION_SIZE];
            ctx.mem.read(act, &mut b).map_err(|_| Errno::EFAULT)?;
            Some(Action::from_bytes(&b))
        } else {
            None
        };
        let signal = Signal::new(sig as i32 as i64).ok_or(Errno::EINVAL)?;
        if new.is_some() && signal.bit() & UNBLOCKABLE != 0 {
            return Err(Errno::EINVAL);
        }
        let slot = &mut self.actions[signal.number() as usize - 1];
        let old = *slot;
        if let Some(mut n) = new {
            n.flags &= KNOWN_FLAGS;
            n.mask &= !UNBLOCKABLE;
            *slot = n;
            // POSIX: an action set to ignore discards the pending signal.
            let ignored = n.handler == SIG_IGN
                || (n.handler == SIG_DFL && signal.default_action() == DefaultAction::Ignore);
            if ignored {
                self.pending &= !signal.bit();
                self.sent[signal.number() as usize - 1] = None;
            }
        }
        if oact != 0 {
            ctx.mem
                .write(oact, &old.to_bytes())
                .map_err(|_| Errno::EFAULT)?;
        }
        Ok(0)
    }

    fn sigprocmask(
        &mut self,
        how: u64,
        set: u64,
        oset: u64,
        size: u64,
        ctx: &mut Context<'_, '_>,
    ) -> SysResult {
        if size != SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        let old = self.blocked;
        if set != 0 {
            let new = read_u64(ctx, set)? & !UNBLOCKABLE;
            self.blocked = match how {
                SIG_BLOCK => old | new,
                SIG_UNBLOCK => old & !new,
                SIG_SETMASK => new,
                _ => return Err(Errno::EINVAL),
            };
        }
        if oset != 0 {
            ctx.mem
                .write(oset, &old.to_le_bytes())
                .map_err(|_| Errno::EFAULT)?;
        }
        Ok(0)
    }

    fn sigaltstack(&mut self, ss: u64, oss: u64, sp: u64, ctx: &mut Context<'_, '_>) -> SysResult {
        let old = self.altstack;
        if ss != 0 {
            let mut b = [0u8; STACK_T_SIZE];
            ctx.mem.read(ss, &mut b).map_err(|_| Errno::EFAULT)?;
            self.change_altstack(&b, sp)?;
        }
        if oss != 0 {
            ctx.mem
                .write(oss, &old.to_bytes(sp))
                .map_err(|_| Errno::EFAULT)?;
        }
        Ok(0)
    }

    /// Set the alternate stack from the `stack_t` bytes `b` for a program
    /// at `sp` (`do_sigaltstack`).
    fn change_altstack(&mut self, b: &[u8; STACK_T_SIZE], sp: u64) -> Result<(), Errno> {
        let old = self.altstack;
        {
            let q = |r: std::ops::Range<usize>| {
                let mut w = [0u8; 8];
                w[..r.len()].copy_from_slice(&b[r]);
                u64::from_le_bytes(w)
            };
            let (new_sp, flags, new_size) = (q(0..8), q(8..12), q(16..24));
            if old.on(sp) {
                return Err(Errno::EPERM);
            }
            let mode = flags & !SS_AUTODISARM;
            if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
                return Err(Errno::EINVAL);
            }
            let unchanged = old.sp == new_sp && old.size == new_size && old.flags == flags;
            if !unchanged {
                self.altstack = if mode == SS_DISABLE {
                    AltStack {
                        sp: 0,
                        size: 0,
                        flags,
                    }
                } else if new_size < MINSIGSTKSZ {
                    return Err(Errno::ENOMEM);
                } else {
                    AltStack {
                        sp: new_sp,
                        size: new_size,
                        flags,
                    }
                };
            }
        }
        Ok(())
    }

    fn sigsuspend(&mut self, set: u64, size: u64, ctx: &mut Context<'_, '_>) -> SysResult {
        if size != SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        let mask = read_u64(ctx, set)?;
        let old = self.blocked;
        self.set_blocked(mask);
        let r = self.suspend(ctx);
        if r == Err(Errno::EINTR) {
            self.blocked = old;
        } else {
            // The handler's frame saves it; sigreturn puts it back.
            self.saved = Some(old);
        }
        r
    }

    /// Wait for a signal: one is deliverable now (the run loop delivers it
    /// as the call returns `ERESTARTNOHAND`), or none can ever come (the
    /// process sends its own signals only, and it is waiting): the run
    /// ends with the "waits forever" line, as an untimed futex wait does.
    fn suspend(&mut self, ctx: &mut Context<'_, '_>) -> SysResult {
        if self.deliverable() {
            return Ok((-ERESTARTNOHAND) as u64);
        }
        ctx.waits_forever("with no signal that can arrive")
    }

    /// After a delivery: a mask rt_sigsuspend replaced and no handler's
    /// frame saved is put back (Linux's `restore_saved_sigmask`).
    pub fn restore_saved(&mut self) {
        if let Some(old) = self.saved.take() {
            self.blocked = old;
        }
    }

    fn sigpending(&mut self, set: u64, size: u64, ctx: &mut Context<'_, '_>) -> SysResult {
        if size > SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        let pending = (self.pending & self.blocked).to_le_bytes();
        ctx.mem
            .write(set, &pending[..size as usize])
            .map_err(|_| Errno::EFAULT)?;
        Ok(0)
    }

    /// Send `sig` to the process itself (0 only checks it could).
    fn send_self(&mut self, sig: i32, code: i32) -> SysResult {
        self.send_self_as(
            sig,
            Sent {
                signal: Signal::SIGKILL,
                code,
                pid: GUEST_PID,
                uid: 0,
                value: None,
            },
        )
    }

    /// Send `sig` to the process itself with the siginfo of `sent` (its
    /// signal replaced); 0 only checks it could.
    fn send_self_as(&mut self, sig: i32, sent: Sent) -> SysResult {
        if sig == 0 {
            return Ok(0);
        }
        let signal = Signal::new(i64::from(sig)).ok_or(Errno::EINVAL)?;
        self.send(Sent { signal, ..sent });
        Ok(0)
    }

    /// rt_sigqueueinfo (`tid` None) and rt_tgsigqueueinfo to the process
    /// itself: the sender's `siginfo_t` as it gave it (`si_code`,
    /// `si_pid`, `si_uid`, `si_value`). Another process may not be sent a
    /// code the kernel or kill(2) would use (EPERM), and there is none.
    fn sigqueueinfo(
        &mut self,
        pid: i32,
        tid: Option<i32>,
        sig: i32,
        uinfo: u64,
        ctx: &mut Context<'_, '_>,
    ) -> SysResult {
        let mut info = [0u8; 32];
        ctx.mem.read(uinfo, &mut info).map_err(|_| Errno::EFAULT)?;
        let word =
            |at: usize| i32::from_le_bytes([info[at], info[at + 1], info[at + 2], info[at + 3]]);
        let code = word(8);
        let target = match tid {
            Some(t) if t <= 0 || pid <= 0 => return Err(Errno::EINVAL),
            Some(t) => t,
            None => pid,
        };
        if (code >= 0 || code == SI_TKILL) && target != GUEST_PID {
            return Err(Errno::EPERM);
        }
        if pid != GUEST_PID || target != GUEST_PID {
            return Err(Errno::ESRCH);
        }
        let mut value = [0u8; 8];
        value.copy_from_slice(&info[24..32]);
        self.send_self_as(
            sig,
            Sent {
                signal: Signal::SIGKILL,
                code,
                pid: word(16),
                uid: word(20) as u32,
                value: Some(u64::from_le_bytes(value)),
            },
        )
    }

    /// kill(2): pid 1 and 0 (its process group) are the process; -1
    /// means every process but itself, and there is none: ESRCH.
    fn kill(&mut self, pid: i32, sig: i32) -> SysResult {
        match pid {
            GUEST_PID | 0 => self.send_self(sig, SI_USER),
            i32::MIN => Err(Errno::ESRCH),
            // -1: every process but the caller; a group -1 is ours.
            -1 => Err(Errno::ESRCH),
            p if p == -GUEST_PID => self.send_self(sig, SI_USER),
            _ => Err(Errno::ESRCH),
        }
    }

    fn tkill(&mut self, tid: i32, sig: i32) -> SysResult {
        if tid <= 0 {
            return Err(Errno::EINVAL);
        }
        if tid != GUEST_PID {
            return Err(Errno::ESRCH);
        }
        self.send_self(sig, SI_TKILL)
    }

    fn tgkill(&mut self, tgid: i32, tid: i32, sig: i32) -> SysResult {
        if tgid <= 0 || tid <= 0 {
            return Err(Errno::EINVAL);
        }
        if tgid != GUEST_PID || tid != GUEST_PID {
            return Err(Errno::ESRCH);
        }
        self.send_self(sig, SI_TKILL)
    }
}

fn read_u64(ctx: &Context<'_, '_>, addr: u64) -> Result<u64, Errno> {
    let mut b = [0u8; 8];
    ctx.mem.read(addr, &mut b).map_err(|_| Errno::EFAULT)?;
    Ok(u64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(signal: Signal) -> Sent {
        Sent {
            signal,
            code: SI_USER,
            pid: 1,
            uid: 0,
            value: None,
        }
    }

    #[test]
    fn faults_first_then_the_lowest_and_blocked_ones_wait() {
        let mut s = Signals::default();
        s.send(sent(Signal::SIGTERM));
        s.send(sent(Signal::SIGUSR1));
        s.send(sent(Signal::SIGSEGV));
        s.set_blocked(Signal::SIGUSR1.bit());
        assert!(s.deliverable());
        assert_eq!(s.take_next().map(|x| x.signal), Some(Signal::SIGSEGV));
        assert_eq!(s.take_next().map(|x| x.signal), Some(Signal::SIGTERM));
        assert_eq!(s.take_next(), None);
        assert!(!s.deliverable());
        s.set_blocked(0);
        assert_eq!(s.take_next().map(|x| x.signal), Some(Signal::SIGUSR1));
    }

    #[test]
    fn sigkill_and_sigstop_are_never_blocked() {
        let mut s = Signals::default();
        s.set_blocked(u64::MAX);
        assert_eq!(s.blocked() & UNBLOCKABLE, 0);
    }

    #[test]
    fn a_forced_blocked_or_ignored_fault_reverts_to_the_default() {
        let mut s = Signals::default();
        s.actions[10].handler = 0x401000;
        s.set_blocked(Signal::SIGSEGV.bit());
        s.force(Signal::SIGSEGV);
        assert_eq!(
            s.disposal(Signal::SIGSEGV),
            Disposal::Default(DefaultAction::CoreDump)
        );
        assert_eq!(s.blocked(), 0);
        s.actions[3].handler = SIG_IGN;
        s.force(Signal::SIGILL);
        assert_eq!(
            s.disposal(Signal::SIGILL),
            Disposal::Default(DefaultAction::CoreDump)
        );
        // Handled and unblocked: kept.
        s.actions[7].handler = 0x401000;
        s.force(Signal::SIGFPE);
        assert!(matches!(s.disposal(Signal::SIGFPE), Disposal::Handler(_)));
    }

    #[test]
    fn entering_a_handler_blocks_its_mask_and_resethand_resets() {
        let mut s = Signals::default();
        let a = Action {
            handler: 0x401000,
            flags: SA_RESETHAND,
            restorer: 0,
            mask: Signal::SIGUSR2.bit(),
        };
        s.actions[9] = a;
        s.enter_handler(Signal::SIGUSR1, &a);
        assert_eq!(s.blocked(), Signal::SIGUSR1.bit() | Signal::SIGUSR2.bit());
        assert_eq!(s.action(Signal::SIGUSR1), Action::default());
        let mut s = Signals::default();
        let a = Action {
            flags: SA_NODEFER,
            ..a
        };
        s.enter_handler(Signal::SIGUSR1, &a);
        assert_eq!(s.blocked(), Signal::SIGUSR2.bit());
    }

    #[test]
    fn altstack_reports_where_the_program_is() {
        let a = AltStack {
            sp: 0x1000,
            size: 0x1000,
            flags: 0,
        };
        assert_eq!(a.flags_at(0x1800), SS_ONSTACK);
        assert_eq!(a.flags_at(0x2000), SS_ONSTACK);
        assert_eq!(a.flags_at(0x1000), 0);
        assert_eq!(a.flags_at(0x3000), 0);
        assert_eq!(AltStack::default().flags_at(0x1800), SS_DISABLE);
        let auto = AltStack {
            flags: SS_AUTODISARM,
            ..a
        };
        assert!(!auto.on(0x1800));
    }

    #[test]
    fn kill_reaches_only_the_process_itself() {
        let mut s = Signals::default();
        assert_eq!(s.kill(1, 0), Ok(0));
        assert_eq!(s.pending, 0);
        assert_eq!(s.kill(2, 10), Err(Errno::ESRCH));
        assert_eq!(s.kill(-1, 10), Err(Errno::ESRCH));
        assert_eq!(s.kill(1, 65), Err(Errno::EINVAL));
        assert_eq!(s.kill(1, -1), Err(Errno::EINVAL));
        // As Linux: no such process before a bad signal.
        assert_eq!(s.kill(2, 65), Err(Errno::ESRCH));
        assert_eq!(s.tkill(0, 10), Err(Errno::EINVAL));
        assert_eq!(s.tkill(2, 10), Err(Errno::ESRCH));
        assert_eq!(s.tgkill(1, 0, 10), Err(Errno::EINVAL));
        assert_eq!(s.tgkill(2, 1, 10), Err(Errno::ESRCH));
        assert_eq!(s.tgkill(1, 1, 10), Ok(0));
        assert_eq!(s.kill(0, 12), Ok(0));
        let first = s.take_next().unwrap();
        assert_eq!((first.signal, first.code), (Signal::SIGUSR1, SI_TKILL));
        let second = s.take_next().unwrap();
        assert_eq!((second.signal, second.code), (Signal::SIGUSR2, SI_USER));
    }
}
