//! Turning an allow-list ([`super::table`]) into a seccomp BPF program
//! with seccompiler, for one thread of one run.
//!
//! seccompiler lays the syscalls out in number order; the vCPU's program
//! gets a short prefix that allows `ioctl(_, KVM_RUN)` before anything
//! else (five instructions after the architecture check), so that the
//! guest's syscall round trip does not walk the whole list.

use super::table::{self, Allowed, Args, Thread};
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;
use std::os::fd::RawFd;

/// What a program depends on besides the table.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The descriptor of the file view's root (`--fs-root`), if any.
    pub view_root: Option<RawFd>,
    /// The signal that kicks the vCPU out of KVM_RUN.
    pub kick_signal: libc::c_int,
    /// Whether gdb is served (`--gdb`).
    pub gdb: bool,
}

/// A compile error, as text (seccompiler's errors are plain values).
pub type Error = String;

/// Offset of `seccomp_data.args[1]`'s low half (see `<linux/seccomp.h>`).
const ARG1_LOW: u32 = 16 + 8;

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, Error> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(|e| e.to_string())
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, Error> {
    SeccompRule::new(conditions).map_err(|e| e.to_string())
}

/// The rules for one entry: `None` if the entry does not apply to this run
/// (it needs a view there is not), an empty list if any arguments do.
fn entry_rules(entry: &Allowed, ctx: &Context) -> Result<Option<Vec<SeccompRule>>, Error> {
    let one_of = |arg: u8, values: &[(u64, &str)], extra: &dyn Fn() -> Vec<SeccompCondition>| {
        values
            .iter()
            .map(|&(v, _)| {
                let mut c = extra();
                c.push(cond(arg, SeccompCmpOp::Eq, v)?);
                rule(c)
            })
            .collect::<Result<Vec<_>, Error>>()
    };
    let rules = match entry.args {
        Args::Any => vec![],
        Args::Ioctl(reqs) => one_of(1, reqs, &Vec::new)?,
        Args::StdioIoctl(reqs) => {
            let stdio = cond(0, SeccompCmpOp::Le, 2)?;
            one_of(1, reqs, &|| vec![stdio.clone()])?
        }
        Args::OneOf { arg, values } => one_of(arg, values, &Vec::new)?,
        Args::Without { arg, bits, .. } => {
            vec![rule(vec![cond(arg, SeccompCmpOp::MaskedEq(bits), 0)?])?]
        }
        Args::AnonymousNoExec => {
            let exec = libc::PROT_EXEC as u64;
            let anon = libc::MAP_ANONYMOUS as u64;
            vec![rule(vec![
                cond(2, SeccompCmpOp::MaskedEq(exec), 0)?,
                cond(3, SeccompCmpOp::MaskedEq(anon), anon)?,
            ])?]
        }
        Args::ViewRoot { arg } => match ctx.view_root {
            Some(fd) => vec![rule(vec![cond(arg, SeccompCmpOp::Eq, fd as u64)?])?],
            None => return Ok(None),
        },
        Args::WithView if ctx.view_root.is_none() => return Ok(None),
        Args::WithView => vec![],
        Args::WithGdb(_) if !ctx.gdb => return Ok(None),
        Args::WithGdb(inner) => {
            let inner = Allowed {
                args: *inner,
                ..*entry
            };
            return entry_rules(&inner, ctx);
        }
        Args::KickSignal { arg } => {
            vec![rule(vec![cond(
                arg,
                SeccompCmpOp::Eq,
                ctx.kick_signal as u64,
            )?])?]
        }
    };
    Ok(Some(rules))
}

/// The syscall -> rules map for `thread`. An empty rule list allows any
/// arguments; entries for the same syscall add up. What [`table::REFUSED`]
/// lists is let through here, to fail in the stacked program (the kernel
/// takes the most restrictive answer, and a trap here would beat its
/// errno).
fn rules(thread: Thread, ctx: &Context) -> Result<BTreeMap<i64, Vec<SeccompRule>>, Error> {
    let mut any = std::collections::BTreeSet::new();
    let mut map: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for entry in table::entries(thread).chain(table::REFUSED) {
        let Some(rules) = entry_rules(entry, ctx)? else {
            continue;
        };
        if rules.is_empty() {
            any.insert(entry.nr);
        }
        map.entry(entry.nr).or_default().extend(rules);
    }
    for nr in any {
        map.insert(nr, vec![]);
    }
    Ok(map)
}

/// The BPF program for `thread`: what its table allows is allowed, every
/// other syscall gets `mismatch`.
pub fn compile(
    thread: Thread,
    ctx: &Context,
    mismatch: SeccompAction,
) -> Result<BpfProgram, Error> {
    let arch = TargetArch::x86_64;
    let filter = SeccompFilter::new(
        rules(thread, ctx)?,
        mismatch.clone(),
        SeccompAction::Allow,
        arch,
    )
    .map_err(|e| e.to_string())?;
    let mut program: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    if thread == Thread::Vcpu {
        let at = arch_check_len(mismatch)?;
        program.splice(at..at, kvm_run_first());
    }
    Ok(program)
}

/// The program stacked on both threads' filters: what [`table::REFUSED`]
/// lists fails with [`table::REFUSED_ERRNO`] (the kernel takes the most
/// restrictive answer of all filters), everything else is left to the
/// allow-list.
pub fn compile_refusals() -> Result<BpfProgram, Error> {
    let rules = table::REFUSED.iter().map(|e| (e.nr, vec![])).collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(table::REFUSED_ERRNO as u32),
        TargetArch::x86_64,
    )
    .map_err(|e| e.to_string())?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())
}

/// The length of the architecture check seccompiler starts every program
/// with: the program of an empty filter, less its final return.
fn arch_check_len(mismatch: SeccompAction) -> Result<usize, Error> {
    let empty = SeccompFilter::new(
        BTreeMap::new(),
        mismatch,
        SeccompAction::Allow,
        TargetArch::x86_64,
    )
    .map_err(|e| e.to_string())?;
    let program: BpfProgram = empty
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    Ok(program.len() - 1)
}

fn stmt(code: u32, k: u32) -> sock_filter {
    sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// `if (nr == ioctl && (u32)args[1] == KVM_RUN) return ALLOW;` — then on
/// to the rest of the program (which loads the number again).
fn kvm_run_first() -> Vec<sock_filter> {
    use libc::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    vec![
        stmt(BPF_LD | BPF_W | BPF_ABS, 0),
        jump(BPF_JMP | BPF_JEQ | BPF_K, libc::SYS_ioctl as u32, 0, 3),
        stmt(BPF_LD | BPF_W | BPF_ABS, ARG1_LOW),
        jump(BPF_JMP | BPF_JEQ | BPF_K, table::KVM_RUN as u32, 0, 1),
        stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `AUDIT_ARCH_X86_64` (`<linux/audit.h>`: EM_X86_64 | 64-bit | LE).
    const ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;

    /// A classic-BPF interpreter for what seccompiler emits, over one
    /// `seccomp_data` (nr, arch, ip, args): the action the kernel would take.
    pub(crate) fn run(program: &[sock_filter], nr: i64, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&(nr as u32).to_le_bytes());
        data[4..8].copy_from_slice(&ARCH_X86_64.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let i = &program[pc];
            let code = u32::from(i.code);
            pc += 1;
            match code {
                c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => {
                    let k = i.k as usize;
                    acc = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                }
                c if c == libc::BPF_ALU | libc::BPF_AND | libc::BPF_K => acc &= i.k,
                c if c == libc::BPF_JMP | libc::BPF_JA => pc += i.k as usize,
                c if c & 0x07 == libc::BPF_JMP => {
                    let taken = match c & 0xf0 {
                        x if x == libc::BPF_JEQ => acc == i.k,
                        x if x == libc::BPF_JGT => acc > i.k,
                        x if x == libc::BPF_JGE => acc >= i.k,
                        x if x == libc::BPF_JSET => acc & i.k != 0,
                        other => panic!("jump op {other:#x}"),
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                c if c == libc::BPF_RET | libc::BPF_K => return i.k,
                other => panic!("BPF op {other:#x}"),
            }
        }
    }

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const TRAP: u32 = libc::SECCOMP_RET_TRAP;

    fn ctx(view_root: Option<RawFd>) -> Context {
        Context {
            view_root,
            kick_signal: 34,
            gdb: false,
        }
    }

    #[test]
    fn the_vcpu_program_allows_what_its_table_says_and_nothing_else() {
        let p = compile(Thread::Vcpu, &ctx(Some(7)), SeccompAction::Trap).unwrap();
        let ioctl = |fd: u64, req: u64| run(&p, libc::SYS_ioctl, [fd, req, 0, 0, 0, 0]);
        assert_eq!(ioctl(6, table::KVM_RUN), ALLOW);
        // Only the low 32 bits of the request count, as in the kernel.
        assert_eq!(ioctl(6, table::KVM_RUN | 1 << 32), ALLOW);
        assert_eq!(ioctl(6, table::KVM_GET_REGS), ALLOW);
        assert_eq!(ioctl(1, table::TCGETS), ALLOW);
        assert_eq!(ioctl(5, table::TCGETS), TRAP);
        assert_eq!(ioctl(6, 0x4090_ae82), TRAP, "KVM_SET_REGS");
        let openat2 = |dirfd: u64| run(&p, libc::SYS_openat2, [dirfd, 0, 0, 0, 0, 0]);
        assert_eq!(openat2(7), ALLOW);
        assert_eq!(openat2(libc::AT_FDCWD as u64), TRAP);
        assert_eq!(openat2(8), TRAP);
        let anon = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
        let mmap =
            |prot: i32, flags: u64| run(&p, libc::SYS_mmap, [0, 4096, prot as u64, flags, 0, 0]);
        assert_eq!(mmap(libc::PROT_READ | libc::PROT_WRITE, anon), ALLOW);
        assert_eq!(mmap(libc::PROT_READ | libc::PROT_EXEC, anon), TRAP);
        assert_eq!(mmap(libc::PROT_READ, libc::MAP_PRIVATE as u64), TRAP);
        let mprotect = |prot: i32| run(&p, libc::SYS_mprotect, [0, 4096, prot as u64, 0, 0, 0]);
        assert_eq!(mprotect(libc::PROT_READ), ALLOW);
        assert_eq!(mprotect(libc::PROT_READ | libc::PROT_EXEC), TRAP);
        let madvise = |advice: i32| run(&p, libc::SYS_madvise, [0, 4096, advice as u64, 0, 0, 0]);
        assert_eq!(madvise(libc::MADV_DONTNEED), ALLOW);
        assert_eq!(madvise(libc::MADV_DODUMP), TRAP);
        for nr in [
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_readlink,
            libc::SYS_exit,
        ] {
            assert_eq!(run(&p, nr, [0; 6]), ALLOW, "{}", table::syscall_name(nr));
        }
        for nr in [
            libc::SYS_socket,
            libc::SYS_execve,
            libc::SYS_open,
            libc::SYS_clone3,
            libc::SYS_tgkill,
            libc::SYS_exit_group,
            libc::SYS_ptrace,
        ] {
            assert_eq!(run(&p, nr, [0; 6]), TRAP, "{}", table::syscall_name(nr));
        }
        // x32 numbers (bit 30) never match.
        assert_eq!(run(&p, libc::SYS_read | 0x4000_0000, [0; 6]), TRAP);
    }

    #[test]
    fn without_a_view_no_path_is_looked_up() {
        let p = compile(Thread::Vcpu, &ctx(None), SeccompAction::Trap).unwrap();
        for nr in [libc::SYS_openat2, libc::SYS_readlink, libc::SYS_readlinkat] {
            for fd in [0u64, 3, 7, libc::AT_FDCWD as u64] {
                assert_eq!(run(&p, nr, [fd, 0, 0, 0, 0, 0]), TRAP);
            }
        }
    }

    #[test]
    fn the_supervisor_program_kicks_with_the_kick_signal_only() {
        let p = compile(Thread::Supervisor, &ctx(Some(7)), SeccompAction::Trap).unwrap();
        let tgkill = |sig: u64| run(&p, libc::SYS_tgkill, [1, 2, sig, 0, 0, 0]);
        assert_eq!(tgkill(34), ALLOW);
        assert_eq!(tgkill(libc::SIGKILL as u64), TRAP);
        // ppoll: the trace on a full stderr waits for room with the stop.
        for nr in [
            libc::SYS_poll,
            libc::SYS_ppoll,
            libc::SYS_exit_group,
            libc::SYS_futex,
        ] {
            assert_eq!(run(&p, nr, [0; 6]), ALLOW);
        }
        let pwritev2 = |flags: u64| run(&p, libc::SYS_pwritev2, [2, 0, 1, u64::MAX, 0, flags]);
        assert_eq!(pwritev2(libc::RWF_NOWAIT as u64), ALLOW);
        assert_eq!(pwritev2(0), TRAP);
        for nr in [
            libc::SYS_ioctl,
            libc::SYS_openat2,
            libc::SYS_pread64,
            libc::SYS_socket,
        ] {
            assert_eq!(run(&p, nr, [0; 6]), TRAP, "{}", table::syscall_name(nr));
        }
    }

    #[test]
    fn the_stacked_program_refuses_openat_and_leaves_the_rest() {
        // The allow-lists let openat through, to fail here.
        for thread in [Thread::Vcpu, Thread::Supervisor] {
            let p = compile(thread, &ctx(None), SeccompAction::Trap).unwrap();
            assert_eq!(run(&p, libc::SYS_openat, [0; 6]), ALLOW);
        }
        let p = compile_refusals().unwrap();
        let eacces = libc::SECCOMP_RET_ERRNO | libc::EACCES as u32;
        assert_eq!(run(&p, libc::SYS_openat, [0; 6]), eacces);
        for nr in [libc::SYS_ioctl, libc::SYS_socket, libc::SYS_openat2] {
            assert_eq!(run(&p, nr, [0; 6]), ALLOW);
        }
    }

    #[test]
    fn log_mode_logs_instead_of_trapping() {
        let p = compile(Thread::Vcpu, &ctx(None), SeccompAction::Log).unwrap();
        assert_eq!(run(&p, libc::SYS_socket, [0; 6]), libc::SECCOMP_RET_LOG);
        assert_eq!(
            run(&p, libc::SYS_ioctl, [6, table::KVM_RUN, 0, 0, 0, 0]),
            ALLOW
        );
    }

    #[test]
    fn kvm_run_is_decided_right_after_the_architecture_check() {
        let p = compile(Thread::Vcpu, &ctx(None), SeccompAction::Trap).unwrap();
        let at = arch_check_len(SeccompAction::Trap).unwrap();
        // The architecture check loads seccomp_data.arch (offset 4).
        assert_eq!(
            u32::from(p[0].code),
            libc::BPF_LD | libc::BPF_W | libc::BPF_ABS
        );
        assert_eq!(p[0].k, 4);
        assert!(at <= 4, "the architecture check is {at} instructions");
        assert_eq!(&p[at..at + 5], &kvm_run_first()[..]);
    }
}
