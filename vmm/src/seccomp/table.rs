//! The allow-lists: every host syscall a thread of `microvm run` may make
//! once the guest runs, each with the arguments it may have and why it is
//! there. `microvm info` and the README print these tables.
//!
//! To allow another host syscall, add one [`Allowed`] line to the table of
//! the thread that makes it — [`VCPU`] for the syscall service and the run
//! loop, [`SUPERVISOR`] for the thread that waits for the run's end,
//! [`BOTH`] for what the runtime does on either — with the narrowest
//! [`Args`] that fits and the reason. A syscall that is missing ends the
//! run with a line naming it and the thread; to see every one a command
//! needs at once, run it with `--seccomp log` and read the kernel log
//! (`dmesg | grep type=1326`: `comm=` is the thread, `syscall=` the number).
//! The whole test suite runs under the default (kill) filters, so it fails
//! on any entry a served syscall needs and does not have.

use libc::c_long;

/// Which thread a table is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Thread {
    /// The vCPU thread: KVM_RUN, the run loop, the syscall service, the
    /// trace writer.
    Vcpu,
    /// The calling thread, which supervises the run (signals, timeout) and
    /// finishes the trace after it.
    Supervisor,
}

impl Thread {
    /// The name messages use.
    pub fn name(self) -> &'static str {
        match self {
            Thread::Vcpu => "vcpu",
            Thread::Supervisor => "supervisor",
        }
    }
}

/// What the arguments of an allowed syscall must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Args {
    /// Any arguments.
    Any,
    /// The ioctl request (argument 1) is one of these, on any descriptor.
    Ioctl(&'static [(u64, &'static str)]),
    /// The ioctl request is one of these, on descriptors 0, 1 or 2 only.
    StdioIoctl(&'static [(u64, &'static str)]),
    /// Argument `arg` is one of these values.
    OneOf {
        /// Which argument (0-based).
        arg: u8,
        /// The values, with their names.
        values: &'static [(u64, &'static str)],
    },
    /// None of `bits` is set in argument `arg`.
    Without {
        /// Which argument (0-based).
        arg: u8,
        /// The bits that must be clear.
        bits: u64,
        /// Their names.
        what: &'static str,
    },
    /// mmap: anonymous (`MAP_ANONYMOUS`), never `PROT_EXEC`.
    AnonymousNoExec,
    /// Argument `arg` is the descriptor of the file view's root; not
    /// allowed at all without a view (`--no-fs`).
    ViewRoot {
        /// Which argument (0-based).
        arg: u8,
    },
    /// Any arguments, but only with a file view (not with `--no-fs`).
    WithView,
    /// Argument `arg` is the signal that kicks the vCPU out of KVM_RUN.
    KickSignal {
        /// Which argument (0-based).
        arg: u8,
    },
    /// As the inner arguments, only with `--gdb`.
    WithGdb(&'static Args),
}

/// One allowed host syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    /// Its number (`libc::SYS_*`).
    pub nr: c_long,
    /// What its arguments may be.
    pub args: Args,
    /// Why microvm makes it.
    pub why: &'static str,
}

const fn allow(nr: c_long, args: Args, why: &'static str) -> Allowed {
    Allowed { nr, args, why }
}

/// `_IO(KVMIO, 0x80)`: run the vCPU.
pub const KVM_RUN: u64 = kvm_ioctl(vmm_sys_util::ioctl::_IOC_NONE, 0x80, 0);
/// `_IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)`.
pub const KVM_SET_USER_MEMORY_REGION: u64 = kvm_ioctl(
    vmm_sys_util::ioctl::_IOC_WRITE,
    0x46,
    std::mem::size_of::<kvm_bindings::kvm_userspace_memory_region>(),
);
/// `_IOR(KVMIO, 0x81, struct kvm_regs)`.
pub const KVM_GET_REGS: u64 = kvm_ioctl(
    vmm_sys_util::ioctl::_IOC_READ,
    0x81,
    std::mem::size_of::<kvm_bindings::kvm_regs>(),
);
/// `_IOR(KVMIO, 0x83, struct kvm_sregs)`.
pub const KVM_GET_SREGS: u64 = kvm_ioctl(
    vmm_sys_util::ioctl::_IOC_READ,
    0x83,
    std::mem::size_of::<kvm_bindings::kvm_sregs>(),
);
/// `_IOR(KVMIO, 0xa4, struct kvm_xsave)`.
pub const KVM_GET_XSAVE: u64 = kvm_ioctl(
    vmm_sys_util::ioctl::_IOC_READ,
    0xa4,
    std::mem::size_of::<kvm_bindings::kvm_xsave>(),
);
/// `_IOW(KVMIO, 0xa5, struct kvm_xsave)`.
pub const KVM_SET_XSAVE: u64 = kvm_ioctl(
    vmm_sys_util::ioctl::_IOC_WRITE,
    0xa5,
    std::mem::size_of::<kvm_bindings::kvm_xsave>(),
);

/// The terminal ioctls the filter lets through, as it compares them.
/// `_IOW(KVMIO, 0x82, struct kvm_regs)`.
pub const KVM_SET_REGS: u64 = kvm_ioctl(
    vmm_sys_util::ioctl::_IOC_WRITE,
    0x82,
    std::mem::size_of::<kvm_bindings::kvm_regs>(),
);
/// `_IOW(KVMIO, 0x84, struct kvm_sregs)`.
pub const KVM_SET_SREGS: u64 = kvm_ioctl(
    vmm_sys_util::ioctl::_IOC_WRITE,
    0x84,
    std::mem::size_of::<kvm_bindings::kvm_sregs>(),
);
/// `_IOW(KVMIO, 0x9b, struct kvm_guest_debug)`.
pub const KVM_SET_GUEST_DEBUG: u64 = kvm_ioctl(
    vmm_sys_util::ioctl::_IOC_WRITE,
    0x9b,
    std::mem::size_of::<kvm_bindings::kvm_guest_debug>(),
);

pub use microvm_abi::linux::consts::{TCGETS, TIOCGWINSZ};

const fn kvm_ioctl(dir: u32, nr: u32, size: usize) -> u64 {
    vmm_sys_util::ioctl::ioctl_expr(dir, kvm_bindings::KVMIO, nr, size as u32) as u64
}

/// The syscalls both threads make: the memory allocator, locks, a
/// thread's exit, and the one-line message of a refused syscall.
pub static BOTH: &[Allowed] = &[
    allow(
        libc::SYS_write,
        Args::Any,
        "program output (fds 1, 2), the trace, the eventfds that wake the supervisor and stop waits, messages",
    ),
    allow(
        libc::SYS_close,
        Args::Any,
        "a guest close drops microvm's host descriptor for it; the exit path closes KVM, the trace, the view",
    ),
    allow(
        libc::SYS_fcntl,
        Args::OneOf {
            arg: 1,
            values: &[(libc::F_GETFD as u64, "F_GETFD")],
        },
        "Rust's debug builds check that a descriptor is open before closing it",
    ),
    allow(
        libc::SYS_futex,
        Args::Any,
        "locks (the stop handle's) and joining the vCPU thread",
    ),
    allow(
        libc::SYS_mmap,
        Args::AnonymousNoExec,
        "the memory allocator: anonymous memory only, never executable",
    ),
    allow(
        libc::SYS_mprotect,
        Args::Without {
            arg: 2,
            bits: libc::PROT_EXEC as u64,
            what: "PROT_EXEC",
        },
        "the allocator grows a thread's heap; guest RAM goes read-only and back so that KVM drops stale translations; never executable",
    ),
    allow(
        libc::SYS_munmap,
        Args::Any,
        "the allocator; a thread's signal stack when it ends; guest RAM and kvm_run at exit",
    ),
    allow(
        libc::SYS_mremap,
        Args::OneOf {
            arg: 3,
            values: &[(libc::MREMAP_MAYMOVE as u64, "MREMAP_MAYMOVE")],
        },
        "the allocator grows a large block (realloc)",
    ),
    allow(libc::SYS_brk, Args::Any, "the allocator's main heap"),
    allow(
        libc::SYS_madvise,
        Args::OneOf {
            arg: 2,
            values: &[(libc::MADV_DONTNEED as u64, "MADV_DONTNEED")],
        },
        "the allocator gives memory back; a thread's stack is dropped when it ends; guest frames the program unmapped are zeroed",
    ),
    allow(
        libc::SYS_rt_sigprocmask,
        Args::Any,
        "glibc blocks signals around a thread's exit and pthread_kill; the supervisor restores its mask",
    ),
    allow(
        libc::SYS_sigaltstack,
        Args::Any,
        "Rust takes down a thread's signal stack when the thread ends",
    ),
    allow(
        libc::SYS_rt_sigreturn,
        Args::Any,
        "return from a signal handler (the vCPU's kick)",
    ),
    allow(
        libc::SYS_clock_gettime,
        Args::Any,
        "the clock, where the vDSO cannot answer (guest clock_gettime, time, gettimeofday; timeouts; --summary)",
    ),
    allow(
        libc::SYS_ppoll,
        Args::Any,
        "a guest read of stdin or a pipe, a sleep, or output (the program's, the trace, microvm's lines) to a full pipe, socket or terminal waits with the stop eventfd",
    ),
    allow(
        libc::SYS_pwritev2,
        Args::OneOf {
            arg: 5,
            values: &[(libc::RWF_NOWAIT as u64, "RWF_NOWAIT")],
        },
        "output (the program's on fds 1 and 2, the trace and microvm's lines on stderr) to a pipe, without blocking (the shared description stays blocking)",
    ),
    allow(
        libc::SYS_sendto,
        Args::OneOf {
            arg: 3,
            values: &[(
                (libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) as u64,
                "MSG_DONTWAIT|MSG_NOSIGNAL",
            )],
        },
        "output (the program's, the trace, microvm's lines) to a socket, without blocking",
    ),
];

/// The vCPU thread: KVM_RUN first, then what the syscall service does for
/// the guest.
pub static VCPU: &[Allowed] = &[
    allow(
        libc::SYS_ioctl,
        Args::Ioctl(&[(KVM_RUN, "KVM_RUN")]),
        "run the vCPU: one KVM_RUN per guest syscall",
    ),
    allow(
        libc::SYS_ioctl,
        Args::Ioctl(&[
            (KVM_GET_REGS, "KVM_GET_REGS"),
            (KVM_GET_SREGS, "KVM_GET_SREGS"),
            (KVM_GET_XSAVE, "KVM_GET_XSAVE"),
        ]),
        "read the registers to report a ring-3 port access, the FPU exception of a ring-3 #MF \
         or #XM (its si_code), or a guest kernel failure",
    ),
    allow(
        libc::SYS_ioctl,
        Args::Ioctl(&[(KVM_SET_XSAVE, "KVM_SET_XSAVE")]),
        "signal delivery and rt_sigreturn: the handler starts with a clean FPU, sigreturn \
         restores the program's extended state (never on the syscall hot path)",
    ),
    allow(
        libc::SYS_ioctl,
        Args::Ioctl(&[(KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION")]),
        "drop KVM's shadow page tables by taking guest RAM's slot away and back (memory::GuestRam::flush_shadow) when the address space reuses page tables",
    ),
    allow(
        libc::SYS_ioctl,
        Args::StdioIoctl(&[
            (TCGETS, "TCGETS"),
            (TIOCGWINSZ, "TIOCGWINSZ"),
        ]),
        "the guest's terminal ioctls, answered by microvm's own stdin, stdout and stderr",
    ),
    allow(
        libc::SYS_read,
        Args::Any,
        "guest read/readv: stdin and files of the view",
    ),
    allow(libc::SYS_pread64, Args::Any, "guest pread64"),
    allow(libc::SYS_lseek, Args::Any, "guest lseek"),
    allow(
        libc::SYS_fstat,
        Args::Any,
        "guest fstat/stat/newfstatat, and the type of each file opened",
    ),
    allow(libc::SYS_statx, Args::Any, "guest statx"),
    allow(libc::SYS_getdents64, Args::Any, "guest getdents64"),
    allow(
        libc::SYS_openat2,
        Args::ViewRoot { arg: 0 },
        "every guest path lookup (open, stat, readlink, chdir), RESOLVE_IN_ROOT below the view's root",
    ),
    allow(
        libc::SYS_readlink,
        Args::WithView,
        "the view names a directory descriptor through /proc/self/fd/N (*at dirfds, chdir)",
    ),
    allow(
        libc::SYS_readlinkat,
        Args::WithView,
        "guest readlink of a symlink in the view, through its O_PATH descriptor",
    ),
    allow(
        libc::SYS_fstatfs,
        Args::Any,
        "guest statfs/fstatfs; the view tells a file on a procfs (the host's processes are hidden) from others",
    ),
    allow(
        libc::SYS_faccessat2,
        Args::OneOf {
            arg: 3,
            values: &[
                (libc::AT_EMPTY_PATH as u64, "AT_EMPTY_PATH"),
                (
                    (libc::AT_EMPTY_PATH | libc::AT_EACCESS) as u64,
                    "AT_EMPTY_PATH|AT_EACCESS",
                ),
            ],
        },
        "guest access/faccessat/faccessat2: the host's read and execute check of the file the view resolved (or of fd 0-2)",
    ),
    allow(
        libc::SYS_getxattr,
        Args::WithView,
        "guest getxattr/lgetxattr of a file the view resolved, through its /proc/self/fd/N link",
    ),
    allow(
        libc::SYS_listxattr,
        Args::WithView,
        "guest listxattr/llistxattr of a file the view resolved, through its /proc/self/fd/N link",
    ),
    allow(libc::SYS_fgetxattr, Args::Any, "guest fgetxattr"),
    allow(libc::SYS_flistxattr, Args::Any, "guest flistxattr"),
    allow(libc::SYS_uname, Args::Any, "guest uname"),
    allow(libc::SYS_clock_getres, Args::Any, "guest clock_getres"),
    allow(libc::SYS_getrandom, Args::Any, "guest getrandom"),
    allow(libc::SYS_exit, Args::Any, "the vCPU thread ends"),
    allow(
        libc::SYS_ioctl,
        Args::WithGdb(&Args::Ioctl(&[
            (KVM_SET_GUEST_DEBUG, "KVM_SET_GUEST_DEBUG"),
            (KVM_SET_REGS, "KVM_SET_REGS"),
            (KVM_SET_SREGS, "KVM_SET_SREGS"),
        ])),
        "gdb: breakpoints, watchpoints and single steps; its register writes",
    ),
    allow(
        libc::SYS_recvfrom,
        Args::WithGdb(&Args::Any),
        "gdb: read its packets from the connection",
    ),
    allow(
        libc::SYS_sendto,
        Args::WithGdb(&Args::OneOf {
            arg: 3,
            values: &[(libc::MSG_NOSIGNAL as u64, "MSG_NOSIGNAL")],
        }),
        "gdb: send the replies",
    ),
];

/// The supervisor: it waits, kicks the vCPU on a stop, then finishes the
/// trace and exits.
pub static SUPERVISOR: &[Allowed] = &[
    allow(
        libc::SYS_poll,
        Args::Any,
        "wait for the run's end (eventfd), SIGINT/SIGTERM (signalfd) or the timeout",
    ),
    allow(
        libc::SYS_read,
        Args::Any,
        "read SIGINT/SIGTERM from the signalfd",
    ),
    allow(
        libc::SYS_getpid,
        Args::Any,
        "pthread_kill names the process",
    ),
    allow(
        libc::SYS_tgkill,
        Args::KickSignal { arg: 2 },
        "kick the vCPU thread out of KVM_RUN on a stop (the kick signal only)",
    ),
    allow(libc::SYS_exit_group, Args::Any, "microvm exits"),
    allow(
        libc::SYS_accept4,
        Args::WithGdb(&Args::Any),
        "gdb: accept its connection (one; the listener closes then)",
    ),
    allow(
        libc::SYS_setsockopt,
        Args::WithGdb(&Args::OneOf {
            arg: 2,
            values: &[(libc::TCP_NODELAY as u64, "TCP_NODELAY")],
        }),
        "gdb: its small packets go out at once",
    ),
    allow(
        libc::SYS_fcntl,
        Args::WithGdb(&Args::OneOf {
            arg: 1,
            values: &[(libc::F_DUPFD_CLOEXEC as u64, "F_DUPFD_CLOEXEC")],
        }),
        "gdb: a second descriptor of the connection, to watch for Ctrl-C while the guest runs",
    ),
];

/// What fails with `EACCES` on both threads instead of ending microvm (a
/// second, stacked filter): what the C library tries on its own and does
/// without.
pub static REFUSED: &[Allowed] = &[allow(
    libc::SYS_openat,
    Args::Any,
    "glibc's malloc reads /proc/sys/vm/overcommit_memory the first time a thread's heap shrinks, and does without it",
)];

/// The errno of [`REFUSED`].
pub const REFUSED_ERRNO: i32 = libc::EACCES;
/// Its name.
pub const REFUSED_ERRNO_NAME: &str = "EACCES";

/// The entries for `thread`: its own, then those of both threads.
pub fn entries(thread: Thread) -> impl Iterator<Item = &'static Allowed> {
    let own = match thread {
        Thread::Vcpu => VCPU,
        Thread::Supervisor => SUPERVISOR,
    };
    own.iter().chain(BOTH.iter())
}

/// The name of host syscall `nr`.
pub fn syscall_name(nr: c_long) -> &'static str {
    u64::try_from(nr)
        .ok()
        .and_then(microvm_abi::linux::syscalls::by_nr)
        .map_or("unknown", |e| e.name)
}

impl Args {
    /// What the arguments may be, in words.
    pub fn describe(&self) -> String {
        let names = |values: &[(u64, &str)]| {
            values
                .iter()
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Args::Any => "any arguments".into(),
            Args::Ioctl(reqs) => format!("request {}", names(reqs)),
            Args::StdioIoctl(reqs) => format!("request {} on fd 0, 1 or 2", names(reqs)),
            Args::OneOf { arg, values } => format!("arg {arg} is {}", names(values)),
            Args::Without { arg, what, .. } => format!("arg {arg} without {what}"),
            Args::AnonymousNoExec => "MAP_ANONYMOUS, without PROT_EXEC".into(),
            Args::ViewRoot { arg } => {
                format!("arg {arg} is the view's root fd; not with --no-fs")
            }
            Args::WithView => "only with a file view (not with --no-fs)".into(),
            Args::KickSignal { arg } => format!("arg {arg} is the kick signal (SIGRTMIN)"),
            Args::WithGdb(inner) => format!("only with --gdb: {}", inner.describe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kvm_ioctl_numbers_are_the_kernels() {
        // From <linux/kvm.h> on x86-64, as strace decodes them.
        assert_eq!(KVM_RUN, 0xae80);
        assert_eq!(KVM_GET_REGS, 0x8090_ae81);
        assert_eq!(KVM_GET_SREGS, 0x8138_ae83);
        assert_eq!(KVM_GET_XSAVE, 0x9000_aea4);
        assert_eq!(KVM_SET_XSAVE, 0x5000_aea5);
        assert_eq!(KVM_SET_USER_MEMORY_REGION, 0x4020_ae46);
    }

    #[test]
    fn every_entry_has_a_name_and_a_reason() {
        for thread in [Thread::Vcpu, Thread::Supervisor] {
            for e in entries(thread) {
                assert_ne!(syscall_name(e.nr), "unknown", "{}", e.nr);
                assert!(!e.why.is_empty());
            }
        }
    }

    #[test]
    fn kvm_run_comes_first_on_the_vcpu() {
        assert_eq!(VCPU[0].nr, libc::SYS_ioctl);
        assert_eq!(VCPU[0].args, Args::Ioctl(&[(KVM_RUN, "KVM_RUN")]));
    }
}
