//! The one table of the Linux x86-64 system calls: for each, its number,
//! name, strace class, how each argument and the return value are shown.
//!
//! Everything that shows or selects a syscall reads this table — the text
//! and JSON trace, the `-c` summary, the `-e trace=` filter — and the
//! `nr` constants both sides use (the host serves them, the guest programs
//! make them) are generated from it. Numbers and names are the kernel's
//! (`asm/unistd_64.h`, checked against the installed header by a test in
//! the VMM); the classes are strace's (`%file`, `%desc`, ...), and the
//! argument decoders follow strace 6's output. Decoders are data here; the
//! VMM's trace interprets them (`vmm/src/trace/decode.rs`).

use super::consts::*;
use super::xlat::Xlat;

/// strace's syscall classes, as bits of [`Class`].
pub mod class {
    /// No class.
    pub const NONE: u32 = 0;
    /// `%desc`: takes or returns a file descriptor.
    pub const DESC: u32 = 1 << 0;
    /// `%file`: takes a file name.
    pub const FILE: u32 = 1 << 1;
    /// `%ipc`: System V IPC.
    pub const IPC: u32 = 1 << 2;
    /// `%network` (`%net`): sockets.
    pub const NETWORK: u32 = 1 << 3;
    /// `%process`: process management.
    pub const PROCESS: u32 = 1 << 4;
    /// `%signal`: signals.
    pub const SIGNAL: u32 = 1 << 5;
    /// `%memory`: memory mapping.
    pub const MEMORY: u32 = 1 << 6;
    /// `%clock`: reads or changes clocks.
    pub const CLOCK: u32 = 1 << 7;
    /// `%creds`: user and group ids, capabilities.
    pub const CREDS: u32 = 1 << 8;
    /// `%stat`: stat(2) variants taking a path.
    pub const STAT: u32 = 1 << 9;
    /// `%lstat`: lstat(2) variants.
    pub const LSTAT: u32 = 1 << 10;
    /// `%fstat`: fstat(2) variants.
    pub const FSTAT: u32 = 1 << 11;
    /// `%%stat`: every stat variant.
    pub const STAT_LIKE: u32 = 1 << 12;
    /// `%statfs`: statfs(2) variants taking a path.
    pub const STATFS: u32 = 1 << 13;
    /// `%fstatfs`: fstatfs(2) variants.
    pub const FSTATFS: u32 = 1 << 14;
    /// `%%statfs`: every statfs variant.
    pub const STATFS_LIKE: u32 = 1 << 15;
    /// `%pure`: takes no arguments and never fails.
    pub const PURE: u32 = 1 << 16;

    /// The class names strace accepts after `%` (and, for the plain ones,
    /// without it), with their bits.
    pub const NAMES: &[(&str, u32)] = &[
        ("desc", DESC),
        ("file", FILE),
        ("ipc", IPC),
        ("network", NETWORK),
        ("net", NETWORK),
        ("process", PROCESS),
        ("signal", SIGNAL),
        ("memory", MEMORY),
        ("clock", CLOCK),
        ("creds", CREDS),
        ("stat", STAT),
        ("lstat", LSTAT),
        ("fstat", FSTAT),
        ("%stat", STAT_LIKE),
        ("statfs", STATFS),
        ("fstatfs", FSTATFS),
        ("%statfs", STATFS_LIKE),
        ("pure", PURE),
    ];
}

/// The strace classes a syscall is in ([`class`] bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class(pub u32);

impl Class {
    /// True when the syscall is in every class of `bits`.
    #[must_use]
    pub const fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
}

/// Where a buffer's length comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    /// The return value (what the kernel filled).
    Ret,
    /// The argument at this index (0-based).
    Arg(u8),
}

/// A struct read from user memory and shown field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Struct {
    /// `struct stat`.
    Stat,
    /// `struct statx`.
    Statx,
    /// `struct utsname`.
    Utsname,
    /// `struct timespec`.
    Timespec,
    /// `struct timeval`.
    Timeval,
    /// `struct timezone`.
    Timezone,
    /// `struct rlimit` (getrlimit/setrlimit).
    Rlimit,
    /// `struct rlimit64` (prlimit64).
    Rlimit64,
    /// The kernel's `struct sigaction` (rt_sigaction).
    SigAction,
    /// `stack_t` (sigaltstack).
    StackT,
    /// Two file descriptors, `int[2]` (pipe, socketpair): `[3, 4]`.
    FdPair,
    /// A wait status, `int` (wait4): `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
    WaitStatus,
    /// `struct rusage`.
    Rusage,
    /// `struct statfs`.
    Statfs,
    /// `struct sysinfo`.
    Sysinfo,
}

/// Decoders that need more than their own argument (the other arguments or
/// the return value). The arguments a special decoder shows itself are
/// [`Arg::Folded`] in the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialArg {
    /// open/openat flags, then the mode when they create (`O_CREAT`,
    /// `O_TMPFILE`); the mode argument that follows is [`Arg::Folded`].
    OpenFlags,
    /// statx's `AT_*` flags with the sync type (`AT_STATX_SYNC_AS_STAT`).
    StatxAtFlags,
    /// A sleep's remaining time: shown when it was interrupted.
    Remaining,
    /// An iovec array; the count is the next argument. For reads, shown
    /// after success with the bytes read.
    Iovecs {
        /// True for readv: the buffers are the kernel's output.
        output: bool,
    },
    /// preadv/preadv2's iovecs; the count is the next argument: after
    /// success with the bytes read, after a failure with the buffers'
    /// addresses.
    PreadIovecs,
    /// fcntl's command and its argument (the argument is [`Arg::Folded`]).
    Fcntl,
    /// ioctl's request and its argument (the argument is [`Arg::Folded`]).
    Ioctl,
    /// A string the kernel wrote (getcwd), shown after success.
    OutString,
    /// A CPU mask (sched_getaffinity), its length the return value.
    CpuSet,
    /// A `time_t` the kernel wrote (time).
    TimeT,
    /// The signal set rt_sigpending fills: any size up to the kernel's
    /// (the next argument), shown after success.
    PendingSet,
    /// The mask rt_sigreturn restores, read from the signal frame on the
    /// stack: `{mask=[]}`.
    SigFrameMask,
    /// socket(2)'s type: `SOCK_STREAM|SOCK_CLOEXEC`.
    SockType,
    /// A socket protocol, named by the family in the first argument.
    SockProtocol,
    /// A socket address the caller passes, its length the next argument:
    /// `{sa_family=AF_INET, sin_port=htons(80),
    /// sin_addr=inet_addr("127.0.0.1")}`.
    SockAddr,
    /// A socket address the kernel fills and, in the next argument
    /// ([`Arg::Folded`]), the pointer to its length: `{sa_family=...},
    /// [16]` after success, else the pointer and `[128]`.
    OutSockAddr,
    /// A `struct pollfd` array; the count is the next argument. The
    /// `revents` are shown in the result ([`Ret::Poll`]).
    PollFds,
    /// mremap's flags, then the new address when they say `MREMAP_FIXED`
    /// (that argument is [`Arg::Folded`]).
    MremapFlags,
    /// futex's operation and the arguments it takes (the rest are
    /// [`Arg::Folded`]).
    Futex,
    /// prctl's option and the arguments it takes (the rest are
    /// [`Arg::Folded`]).
    Prctl,
    /// select's three fd sets (this argument and the two [`Arg::Folded`]
    /// after it), each `nfds` (the first argument) bits: `[0 1]`.
    FdSets,
    /// clone's arguments by name: `child_stack=NULL,
    /// flags=CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x...` (the flags
    /// say which; the rest are [`Arg::Folded`]).
    Clone,
    /// pselect6's `{sigmask=[...], sigsetsize=8}`.
    SigmaskSize,
    /// A directory-entry buffer filled by getdents64 (`wide`) or getdents,
    /// its length the return value: `0x... /* 9 entries */`, or the
    /// entries with `-v`.
    Dirents {
        /// `struct linux_dirent64` rather than `struct linux_dirent`.
        wide: bool,
    },
    /// Flags as strace's `printflags` shows them: the names of the bits
    /// set, the table's zero name for 0, and a value with no named bit in
    /// hex with `/* {unknown} */` (`0x8 /* ?_OK */`).
    PrintFlags {
        /// The names.
        table: &'static Xlat,
        /// The comment after a value with no named bit.
        unknown: &'static str,
    },
    /// A NUL-terminated string shown as strace's `printstr`, cut at `-s`
    /// (an extended attribute's name).
    Str,
    /// A file offset split in two registers (preadv's `pos_l`, `pos_h`):
    /// on x86-64 the first holds all of it, shown as a signed number; the
    /// second is [`Arg::Folded`].
    LowHigh,
}

/// How one argument is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A signed `int`, in decimal.
    Int,
    /// A signed `long` (offsets), in decimal.
    Long,
    /// An `unsigned int`, in decimal.
    UInt,
    /// An `unsigned long` or `size_t`, in decimal.
    ULong,
    /// A number shown in hex (`0` for zero).
    Hex,
    /// An address: `NULL` or hex.
    Ptr,
    /// A file mode, in octal.
    Mode,
    /// A file descriptor; `AT_FDCWD` by name.
    Fd,
    /// A NUL-terminated path or string.
    Path,
    /// A set of flags, by name.
    Flags(&'static Xlat),
    /// One value of an enumeration, by name.
    Enum(&'static Xlat),
    /// An input buffer whose length is the argument at this index.
    InBuf(u8),
    /// An output buffer, shown after success.
    OutBuf(Len),
    /// An output buffer of binary data, shown after success in hex
    /// (`"\x53\xf7"`) whatever `-x` says, as strace shows getrandom's.
    OutBytes(Len),
    /// A struct the caller passes in.
    In(Struct),
    /// A struct the kernel fills, shown after success.
    Out(Struct),
    /// A signal number: `SIGINT`, `SIGRT_3`, or the number.
    Signal,
    /// A signal set the caller passes; its size in bytes is the argument
    /// at this index: `[USR1 TERM]`, `~[KILL]`, `[]`.
    SigSet(u8),
    /// A signal set the kernel fills, shown after success; its size is the
    /// argument at this index.
    OutSigSet(u8),
    /// A decoder that reads other arguments or the return value.
    Special(SpecialArg),
    /// An argument the special decoder before it has shown.
    Folded,
}

/// How the return value is shown (errors are always `-1 ENAME (message)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// A number, in decimal.
    Int,
    /// An address, in hex.
    Addr,
    /// A new file descriptor.
    Fd,
    /// fcntl: flags decoded for `F_GETFD`/`F_GETFL`.
    Fcntl,
    /// poll: `0 (Timeout)`, or the fds with events: `1 ([{fd=0, revents=POLLIN}])`.
    Poll,
    /// ppoll: as [`Ret::Poll`], with the time left (`left {tv_sec=0, ...}`).
    PollLeft,
    /// select/pselect6: `0 (Timeout)`, or the fds ready and the time left
    /// (`1 (in [0], left {tv_sec=0, tv_usec=99})`, the timeout argument's
    /// struct).
    Select,
    /// time: the seconds and their date, `1795843193 (2026-11-28T05:19:53+0000)`.
    Time,
    /// prctl: what some options return, by name (`1 (SUID_DUMP_USER)`).
    Prctl,
}

/// One syscall: its row in the table.
#[derive(Debug)]
pub struct Syscall {
    /// Its number on x86-64.
    pub nr: u64,
    /// Its name, as in `__NR_<name>` (and strace).
    pub name: &'static str,
    /// Its strace classes.
    pub class: Class,
    /// How each argument is shown; as many as the syscall takes.
    pub args: &'static [Arg],
    /// How its return value is shown.
    pub ret: Ret,
}

/// The row of syscall `nr`, if x86-64 has one.
#[must_use]
pub fn by_nr(nr: u64) -> Option<&'static Syscall> {
    let i = *INDEX.get(usize::try_from(nr).ok()?)?;
    SYSCALLS.get(usize::from(i))
}

/// The row of the syscall called `name`.
#[must_use]
pub fn by_name(name: &str) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.name == name)
}

/// The highest syscall number in the table.
pub const MAX_NR: u64 = SYSCALLS[SYSCALLS.len() - 1].nr;

/// Number -> row index (`u16::MAX` for numbers with no syscall), checking
/// the table as it is built: sorted by number, at most six arguments, each
/// constant named after its syscall.
static INDEX: [u16; MAX_NR as usize + 1] = {
    let mut index = [u16::MAX; MAX_NR as usize + 1];
    let mut i = 0;
    while i < SYSCALLS.len() {
        let s = &SYSCALLS[i];
        assert!(i == 0 || SYSCALLS[i - 1].nr < s.nr, "not sorted by number");
        assert!(s.args.len() <= 6, "a syscall takes at most six arguments");
        assert!(i < u16::MAX as usize);
        index[s.nr as usize] = i as u16;
        i += 1;
    }
    index
};

/// `a` equals `b` with ASCII letters upper-cased, in a `const fn`.
const fn upper_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i].to_ascii_uppercase() != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

macro_rules! table {
    ($($id:ident = $nr:literal, $name:literal, $class:expr, [$($arg:expr),* $(,)?], $ret:ident;)*) => {
        /// Syscall numbers, one constant per row of the table.
        pub mod nr {
            $(
                #[doc = concat!("`", $name, "`")]
                pub const $id: u64 = $nr;
                const _: () = assert!(super::upper_eq($name, stringify!($id)));
            )*
        }

        /// Every syscall, sorted by number.
        pub static SYSCALLS: &[Syscall] = {
            #[allow(unused_imports)]
            use {class::*, Arg::*, SpecialArg::*, Struct::*};
            &[$(Syscall {
                nr: $nr,
                name: $name,
                class: Class($class),
                args: &[$($arg),*],
                ret: Ret::$ret,
            }),*]
        };
    };
}

table! {
    READ = 0, "read", DESC, [Fd, OutBuf(Len::Ret), ULong], Int;
    WRITE = 1, "write", DESC, [Fd, InBuf(2), ULong], Int;
    OPEN = 2, "open", DESC|FILE, [Path, Special(OpenFlags), Folded], Fd;
    CLOSE = 3, "close", DESC, [Fd], Int;
    STAT = 4, "stat", FILE|STAT|STAT_LIKE, [Path, Out(Stat)], Int;
    FSTAT = 5, "fstat", DESC|FSTAT|STAT_LIKE, [Fd, Out(Stat)], Int;
    LSTAT = 6, "lstat", FILE|LSTAT|STAT_LIKE, [Path, Out(Stat)], Int;
    POLL = 7, "poll", DESC, [Special(PollFds), UInt, Int], Poll;
    LSEEK = 8, "lseek", DESC, [Fd, Long, Enum(&WHENCE)], Int;
    MMAP = 9, "mmap", DESC|MEMORY, [Ptr, ULong, Flags(&MMAP_PROT), Flags(&MMAP_FLAGS), Fd, Hex], Addr;
    MPROTECT = 10, "mprotect", MEMORY, [Ptr, ULong, Flags(&MMAP_PROT)], Int;
    MUNMAP = 11, "munmap", MEMORY, [Ptr, ULong], Int;
    BRK = 12, "brk", MEMORY, [Ptr], Addr;
    RT_SIGACTION = 13, "rt_sigaction", SIGNAL, [Signal, In(SigAction), Out(SigAction), ULong], Int;
    RT_SIGPROCMASK = 14, "rt_sigprocmask", SIGNAL, [Enum(&SIGPROCMASK_FLAGS), SigSet(3), OutSigSet(3), ULong], Int;
    RT_SIGRETURN = 15, "rt_sigreturn", SIGNAL, [Special(SigFrameMask)], Int;
    IOCTL = 16, "ioctl", DESC, [Fd, Special(Ioctl), Folded], Int;
    PREAD64 = 17, "pread64", DESC, [Fd, OutBuf(Len::Ret), ULong, Long], Int;
    PWRITE64 = 18, "pwrite64", DESC, [Fd, InBuf(2), ULong, Int], Int;
    READV = 19, "readv", DESC, [Fd, Special(Iovecs { output: true }), UInt], Int;
    WRITEV = 20, "writev", DESC, [Fd, Special(Iovecs { output: false }), UInt], Int;
    ACCESS = 21, "access", FILE, [Path, Special(PrintFlags { table: &ACCESS_MODES, unknown: "?_OK" })], Int;
    PIPE = 22, "pipe", DESC, [Out(FdPair)], Int;
    SELECT = 23, "select", DESC, [Int, Special(FdSets), Folded, Folded, In(Timeval)], Select;
    SCHED_YIELD = 24, "sched_yield", NONE, [], Int;
    MREMAP = 25, "mremap", MEMORY, [Ptr, ULong, ULong, Special(MremapFlags), Folded], Addr;
    MSYNC = 26, "msync", MEMORY, [Ptr, ULong, Hex], Int;
    MINCORE = 27, "mincore", MEMORY, [Ptr, ULong, Ptr], Int;
    MADVISE = 28, "madvise", MEMORY, [Ptr, ULong, Enum(&MADVISE_CMDS)], Int;
    SHMGET = 29, "shmget", IPC, [Hex, ULong, Hex], Int;
    SHMAT = 30, "shmat", IPC|MEMORY, [Int, Ptr, Hex], Addr;
    SHMCTL = 31, "shmctl", IPC, [Int, Int, Ptr], Int;
    DUP = 32, "dup", DESC, [Fd], Fd;
    DUP2 = 33, "dup2", DESC, [Fd, Fd], Fd;
    PAUSE = 34, "pause", SIGNAL, [], Int;
    NANOSLEEP = 35, "nanosleep", NONE, [In(Timespec), Special(Remaining)], Int;
    GETITIMER = 36, "getitimer", NONE, [Int, Ptr], Int;
    ALARM = 37, "alarm", NONE, [ULong], Int;
    SETITIMER = 38, "setitimer", NONE, [Int, Ptr, Ptr], Int;
    GETPID = 39, "getpid", PURE, [], Int;
    SENDFILE = 40, "sendfile", DESC|NETWORK, [Fd, Fd, Ptr, ULong], Int;
    SOCKET = 41, "socket", NETWORK, [Enum(&ADDRFAMS), Special(SockType), Special(SockProtocol)], Fd;
    CONNECT = 42, "connect", NETWORK, [Fd, Special(SockAddr), Int], Int;
    ACCEPT = 43, "accept", NETWORK, [Fd, Special(OutSockAddr), Folded], Fd;
    SENDTO = 44, "sendto", NETWORK, [Fd, InBuf(2), ULong, Flags(&MSG_FLAGS), Special(SockAddr), Int], Int;
    RECVFROM = 45, "recvfrom", NETWORK, [Fd, OutBuf(Len::Ret), ULong, Flags(&MSG_FLAGS), Special(OutSockAddr), Folded], Int;
    SENDMSG = 46, "sendmsg", NETWORK, [Fd, Ptr, Hex], Int;
    RECVMSG = 47, "recvmsg", NETWORK, [Fd, Ptr, Hex], Int;
    SHUTDOWN = 48, "shutdown", NETWORK, [Fd, Int], Int;
    BIND = 49, "bind", NETWORK, [Fd, Special(SockAddr), Int], Int;
    LISTEN = 50, "listen", NETWORK, [Fd, Int], Int;
    GETSOCKNAME = 51, "getsockname", NETWORK, [Fd, Special(OutSockAddr), Folded], Int;
    GETPEERNAME = 52, "getpeername", NETWORK, [Fd, Special(OutSockAddr), Folded], Int;
    SOCKETPAIR = 53, "socketpair", NETWORK, [Enum(&ADDRFAMS), Special(SockType), ULong, Out(FdPair)], Int;
    SETSOCKOPT = 54, "setsockopt", NETWORK, [Fd, Int, Int, Ptr, ULong], Int;
    GETSOCKOPT = 55, "getsockopt", NETWORK, [Fd, Int, Int, Ptr, Ptr], Int;
    CLONE = 56, "clone", PROCESS, [Special(Clone), Folded, Folded, Folded, Folded], Int;
    FORK = 57, "fork", PROCESS, [], Int;
    VFORK = 58, "vfork", PROCESS, [], Int;
    EXECVE = 59, "execve", FILE|PROCESS, [Path, Ptr, Ptr], Int;
    EXIT = 60, "exit", PROCESS, [Int], Int;
    WAIT4 = 61, "wait4", PROCESS, [Int, Out(WaitStatus), Flags(&WAIT4_OPTIONS), Out(Rusage)], Int;
    KILL = 62, "kill", SIGNAL|PROCESS, [Int, Signal], Int;
    UNAME = 63, "uname", NONE, [Out(Utsname)], Int;
    SEMGET = 64, "semget", IPC, [Hex, Int, Hex], Int;
    SEMOP = 65, "semop", IPC, [Int, Ptr, ULong], Int;
    SEMCTL = 66, "semctl", IPC, [Int, Int, Int, Hex], Int;
    SHMDT = 67, "shmdt", IPC|MEMORY, [Ptr], Int;
    MSGGET = 68, "msgget", IPC, [Hex, Hex], Int;
    MSGSND = 69, "msgsnd", IPC, [Int, Ptr, ULong, Hex], Int;
    MSGRCV = 70, "msgrcv", IPC, [Int, Ptr, ULong, Int, Hex], Int;
    MSGCTL = 71, "msgctl", IPC, [Int, Int, Ptr], Int;
    FCNTL = 72, "fcntl", DESC, [Fd, Special(Fcntl), Folded], Fcntl;
    FLOCK = 73, "flock", DESC, [Fd, Hex], Int;
    FSYNC = 74, "fsync", DESC, [Fd], Int;
    FDATASYNC = 75, "fdatasync", DESC, [Fd], Int;
    TRUNCATE = 76, "truncate", FILE, [Path, Int], Int;
    FTRUNCATE = 77, "ftruncate", DESC, [Fd, Int], Int;
    GETDENTS = 78, "getdents", DESC, [Fd, Special(Dirents { wide: false }), UInt], Int;
    GETCWD = 79, "getcwd", FILE, [Special(OutString), ULong], Int;
    CHDIR = 80, "chdir", FILE, [Path], Int;
    FCHDIR = 81, "fchdir", DESC, [Fd], Int;
    RENAME = 82, "rename", FILE, [Path, Path], Int;
    MKDIR = 83, "mkdir", FILE, [Path, Mode], Int;
    RMDIR = 84, "rmdir", FILE, [Path], Int;
    CREAT = 85, "creat", DESC|FILE, [Path, Mode], Int;
    LINK = 86, "link", FILE, [Path, Path], Int;
    UNLINK = 87, "unlink", FILE, [Path], Int;
    SYMLINK = 88, "symlink", FILE, [Path, Path], Int;
    READLINK = 89, "readlink", FILE, [Path, OutBuf(Len::Ret), ULong], Int;
    CHMOD = 90, "chmod", FILE, [Path, Mode], Int;
    FCHMOD = 91, "fchmod", DESC, [Fd, Mode], Int;
    CHOWN = 92, "chown", FILE, [Path, ULong, ULong], Int;
    FCHOWN = 93, "fchown", DESC, [Fd, ULong, ULong], Int;
    LCHOWN = 94, "lchown", FILE, [Path, ULong, ULong], Int;
    UMASK = 95, "umask", NONE, [Mode], Int;
    GETTIMEOFDAY = 96, "gettimeofday", CLOCK, [Out(Timeval), Out(Timezone)], Int;
    GETRLIMIT = 97, "getrlimit", NONE, [Enum(&RESOURCES), Out(Rlimit)], Int;
    GETRUSAGE = 98, "getrusage", NONE, [Int, Ptr], Int;
    SYSINFO = 99, "sysinfo", NONE, [Out(Sysinfo)], Int;
    TIMES = 100, "times", NONE, [Ptr], Int;
    PTRACE = 101, "ptrace", NONE, [Int, Int, Ptr, Ptr], Int;
    GETUID = 102, "getuid", CREDS|PURE, [], Int;
    SYSLOG = 103, "syslog", NONE, [Int, OutBuf(Len::Ret), Int], Int;
    GETGID = 104, "getgid", CREDS|PURE, [], Int;
    SETUID = 105, "setuid", CREDS, [ULong], Int;
    SETGID = 106, "setgid", CREDS, [ULong], Int;
    GETEUID = 107, "geteuid", CREDS|PURE, [], Int;
    GETEGID = 108, "getegid", CREDS|PURE, [], Int;
    SETPGID = 109, "setpgid", NONE, [Int, Int], Int;
    GETPPID = 110, "getppid", PURE, [], Int;
    GETPGRP = 111, "getpgrp", PURE, [], Int;
    SETSID = 112, "setsid", NONE, [], Int;
    SETREUID = 113, "setreuid", CREDS, [ULong, ULong], Int;
    SETREGID = 114, "setregid", CREDS, [ULong, ULong], Int;
    GETGROUPS = 115, "getgroups", CREDS, [Int, Ptr], Int;
    SETGROUPS = 116, "setgroups", CREDS, [Int, Ptr], Int;
    SETRESUID = 117, "setresuid", CREDS, [ULong, ULong, ULong], Int;
    GETRESUID = 118, "getresuid", CREDS, [Ptr, Ptr, Ptr], Int;
    SETRESGID = 119, "setresgid", CREDS, [ULong, ULong, ULong], Int;
    GETRESGID = 120, "getresgid", CREDS, [Ptr, Ptr, Ptr], Int;
    GETPGID = 121, "getpgid", NONE, [Int], Int;
    SETFSUID = 122, "setfsuid", CREDS, [ULong], Int;
    SETFSGID = 123, "setfsgid", CREDS, [ULong], Int;
    GETSID = 124, "getsid", NONE, [Int], Int;
    CAPGET = 125, "capget", CREDS, [Ptr, Ptr], Int;
    CAPSET = 126, "capset", CREDS, [Ptr, Ptr], Int;
    RT_SIGPENDING = 127, "rt_sigpending", SIGNAL, [Special(PendingSet), ULong], Int;
    RT_SIGTIMEDWAIT = 128, "rt_sigtimedwait", SIGNAL, [SigSet(3), Ptr, In(Timespec), ULong], Int;
    RT_SIGQUEUEINFO = 129, "rt_sigqueueinfo", SIGNAL|PROCESS, [Int, Signal, Ptr], Int;
    RT_SIGSUSPEND = 130, "rt_sigsuspend", SIGNAL, [SigSet(1), ULong], Int;
    SIGALTSTACK = 131, "sigaltstack", SIGNAL, [In(StackT), Out(StackT)], Int;
    UTIME = 132, "utime", FILE, [Path, Ptr], Int;
    MKNOD = 133, "mknod", FILE, [Path, Mode, Hex], Int;
    USELIB = 134, "uselib", FILE, [Path], Int;
    PERSONALITY = 135, "personality", NONE, [Hex], Int;
    USTAT = 136, "ustat", STATFS_LIKE, [Hex, Ptr], Int;
    STATFS = 137, "statfs", FILE|STATFS|STATFS_LIKE, [Path, Out(Statfs)], Int;
    FSTATFS = 138, "fstatfs", DESC|FSTATFS|STATFS_LIKE, [Fd, Out(Statfs)], Int;
    SYSFS = 139, "sysfs", NONE, [Int, Hex, Hex], Int;
    GETPRIORITY = 140, "getpriority", NONE, [Int, Int], Int;
    SETPRIORITY = 141, "setpriority", NONE, [Int, Int, Int], Int;
    SCHED_SETPARAM = 142, "sched_setparam", NONE, [Int, Ptr], Int;
    SCHED_GETPARAM = 143, "sched_getparam", NONE, [Int, Ptr], Int;
    SCHED_SETSCHEDULER = 144, "sched_setscheduler", NONE, [Int, Int, Ptr], Int;
    SCHED_GETSCHEDULER = 145, "sched_getscheduler", NONE, [Int], Int;
    SCHED_GET_PRIORITY_MAX = 146, "sched_get_priority_max", NONE, [Int], Int;
    SCHED_GET_PRIORITY_MIN = 147, "sched_get_priority_min", NONE, [Int], Int;
    SCHED_RR_GET_INTERVAL = 148, "sched_rr_get_interval", NONE, [Int, Ptr], Int;
    MLOCK = 149, "mlock", MEMORY, [Ptr, ULong], Int;
    MUNLOCK = 150, "munlock", MEMORY, [Ptr, ULong], Int;
    MLOCKALL = 151, "mlockall", MEMORY, [Hex], Int;
    MUNLOCKALL = 152, "munlockall", MEMORY, [], Int;
    VHANGUP = 153, "vhangup", NONE, [], Int;
    MODIFY_LDT = 154, "modify_ldt", NONE, [Int, Ptr, ULong], Int;
    PIVOT_ROOT = 155, "pivot_root", FILE, [Path, Path], Int;
    _SYSCTL = 156, "_sysctl", NONE, [Ptr], Int;
    PRCTL = 157, "prctl", CREDS, [Special(Prctl), Folded, Folded, Folded, Folded], Prctl;
    ARCH_PRCTL = 158, "arch_prctl", NONE, [Enum(&ARCH_PRCTL_CODES), Hex], Int;
    ADJTIMEX = 159, "adjtimex", CLOCK, [Ptr], Int;
    SETRLIMIT = 160, "setrlimit", NONE, [Enum(&RESOURCES), In(Rlimit)], Int;
    CHROOT = 161, "chroot", FILE, [Path], Int;
    SYNC = 162, "sync", NONE, [], Int;
    ACCT = 163, "acct", FILE, [Path], Int;
    SETTIMEOFDAY = 164, "settimeofday", CLOCK, [Ptr, Ptr], Int;
    MOUNT = 165, "mount", FILE, [Path, Path, Path, Hex, Ptr], Int;
    UMOUNT2 = 166, "umount2", FILE, [Path, Hex], Int;
    SWAPON = 167, "swapon", FILE, [Path, Hex], Int;
    SWAPOFF = 168, "swapoff", FILE, [Path], Int;
    REBOOT = 169, "reboot", NONE, [Hex, Hex, Hex, Ptr], Int;
    SETHOSTNAME = 170, "sethostname", NONE, [InBuf(1), ULong], Int;
    SETDOMAINNAME = 171, "setdomainname", NONE, [InBuf(1), ULong], Int;
    IOPL = 172, "iopl", NONE, [ULong], Int;
    IOPERM = 173, "ioperm", NONE, [Hex, ULong, Int], Int;
    CREATE_MODULE = 174, "create_module", NONE, [Path, ULong], Int;
    INIT_MODULE = 175, "init_module", NONE, [Ptr, ULong, Path], Int;
    DELETE_MODULE = 176, "delete_module", NONE, [Path, Hex], Int;
    GET_KERNEL_SYMS = 177, "get_kernel_syms", NONE, [Ptr], Int;
    QUERY_MODULE = 178, "query_module", NONE, [Path, Int, Ptr, ULong, Ptr], Int;
    QUOTACTL = 179, "quotactl", FILE, [Hex, Path, Int, Ptr], Int;
    NFSSERVCTL = 180, "nfsservctl", NONE, [Int, Ptr, Ptr], Int;
    GETPMSG = 181, "getpmsg", NETWORK, [Hex, Hex, Hex, Hex, Hex], Int;
    PUTPMSG = 182, "putpmsg", NETWORK, [Hex, Hex, Hex, Hex, Hex], Int;
    AFS_SYSCALL = 183, "afs_syscall", NONE, [Hex, Hex, Hex, Hex, Hex], Int;
    TUXCALL = 184, "tuxcall", NONE, [Hex, Hex, Hex], Int;
    SECURITY = 185, "security", NONE, [Hex, Hex, Hex], Int;
    GETTID = 186, "gettid", PURE, [], Int;
    READAHEAD = 187, "readahead", DESC, [Fd, Int, ULong], Int;
    SETXATTR = 188, "setxattr", FILE, [Path, Special(Str), InBuf(3), ULong, Flags(&XATTR_FLAGS)], Int;
    LSETXATTR = 189, "lsetxattr", FILE, [Path, Special(Str), InBuf(3), ULong, Flags(&XATTR_FLAGS)], Int;
    FSETXATTR = 190, "fsetxattr", DESC, [Fd, Special(Str), InBuf(3), ULong, Flags(&XATTR_FLAGS)], Int;
    GETXATTR = 191, "getxattr", FILE, [Path, Special(Str), OutBuf(Len::Ret), ULong], Int;
    LGETXATTR = 192, "lgetxattr", FILE, [Path, Special(Str), OutBuf(Len::Ret), ULong], Int;
    FGETXATTR = 193, "fgetxattr", DESC, [Fd, Special(Str), OutBuf(Len::Ret), ULong], Int;
    LISTXATTR = 194, "listxattr", FILE, [Path, OutBuf(Len::Ret), ULong], Int;
    LLISTXATTR = 195, "llistxattr", FILE, [Path, OutBuf(Len::Ret), ULong], Int;
    FLISTXATTR = 196, "flistxattr", DESC, [Fd, OutBuf(Len::Ret), ULong], Int;
    REMOVEXATTR = 197, "removexattr", FILE, [Path, Special(Str)], Int;
    LREMOVEXATTR = 198, "lremovexattr", FILE, [Path, Special(Str)], Int;
    FREMOVEXATTR = 199, "fremovexattr", DESC, [Fd, Special(Str)], Int;
    TKILL = 200, "tkill", SIGNAL|PROCESS, [Int, Signal], Int;
    TIME = 201, "time", CLOCK, [Special(TimeT)], Time;
    FUTEX = 202, "futex", NONE, [Ptr, Special(Futex), Folded, Folded, Folded, Folded], Int;
    SCHED_SETAFFINITY = 203, "sched_setaffinity", NONE, [Int, ULong, Ptr], Int;
    SCHED_GETAFFINITY = 204, "sched_getaffinity", NONE, [Int, UInt, Special(CpuSet)], Int;
    SET_THREAD_AREA = 205, "set_thread_area", NONE, [Ptr], Int;
    IO_SETUP = 206, "io_setup", MEMORY, [ULong, Ptr], Int;
    IO_DESTROY = 207, "io_destroy", MEMORY, [Hex], Int;
    IO_GETEVENTS = 208, "io_getevents", NONE, [Hex, Int, Int, Ptr, Ptr], Int;
    IO_SUBMIT = 209, "io_submit", NONE, [Hex, Int, Ptr], Int;
    IO_CANCEL = 210, "io_cancel", NONE, [Hex, Ptr, Ptr], Int;
    GET_THREAD_AREA = 211, "get_thread_area", NONE, [Ptr], Int;
    LOOKUP_DCOOKIE = 212, "lookup_dcookie", NONE, [Hex, OutBuf(Len::Ret), ULong], Int;
    EPOLL_CREATE = 213, "epoll_create", DESC, [Int], Int;
    EPOLL_CTL_OLD = 214, "epoll_ctl_old", NONE, [Fd, Int, Fd, Ptr], Int;
    EPOLL_WAIT_OLD = 215, "epoll_wait_old", NONE, [Fd, Ptr, Int, Int], Int;
    REMAP_FILE_PAGES = 216, "remap_file_pages", MEMORY, [Ptr, ULong, Hex, ULong, Hex], Int;
    GETDENTS64 = 217, "getdents64", DESC, [Fd, Special(Dirents { wide: true }), UInt], Int;
    SET_TID_ADDRESS = 218, "set_tid_address", NONE, [Ptr], Int;
    RESTART_SYSCALL = 219, "restart_syscall", NONE, [], Int;
    SEMTIMEDOP = 220, "semtimedop", IPC, [Int, Ptr, ULong, Ptr], Int;
    FADVISE64 = 221, "fadvise64", DESC, [Fd, Int, ULong, Int], Int;
    TIMER_CREATE = 222, "timer_create", NONE, [Int, Ptr, Ptr], Int;
    TIMER_SETTIME = 223, "timer_settime", NONE, [Int, Hex, Ptr, Ptr], Int;
    TIMER_GETTIME = 224, "timer_gettime", NONE, [Int, Ptr], Int;
    TIMER_GETOVERRUN = 225, "timer_getoverrun", NONE, [Int], Int;
    TIMER_DELETE = 226, "timer_delete", NONE, [Int], Int;
    CLOCK_SETTIME = 227, "clock_settime", CLOCK, [Int, Ptr], Int;
    CLOCK_GETTIME = 228, "clock_gettime", CLOCK, [Enum(&CLOCKS), Out(Timespec)], Int;
    CLOCK_GETRES = 229, "clock_getres", CLOCK, [Enum(&CLOCKS), Out(Timespec)], Int;
    CLOCK_NANOSLEEP = 230, "clock_nanosleep", NONE, [Enum(&CLOCKS), Flags(&TIMER_FLAGS), In(Timespec), Special(Remaining)], Int;
    EXIT_GROUP = 231, "exit_group", PROCESS, [Int], Int;
    EPOLL_WAIT = 232, "epoll_wait", DESC, [Fd, Ptr, Int, Int], Int;
    EPOLL_CTL = 233, "epoll_ctl", DESC, [Fd, Int, Fd, Ptr], Int;
    TGKILL = 234, "tgkill", SIGNAL|PROCESS, [Int, Int, Signal], Int;
    UTIMES = 235, "utimes", FILE, [Path, Ptr], Int;
    VSERVER = 236, "vserver", NONE, [Hex, Hex, Hex, Hex, Hex], Int;
    MBIND = 237, "mbind", MEMORY, [Ptr, ULong, Int, Ptr, ULong, Hex], Int;
    SET_MEMPOLICY = 238, "set_mempolicy", MEMORY, [Int, Ptr, ULong], Int;
    GET_MEMPOLICY = 239, "get_mempolicy", MEMORY, [Ptr, Ptr, ULong, Ptr, Hex], Int;
    MQ_OPEN = 240, "mq_open", DESC, [Path, Special(OpenFlags), Folded, Ptr], Int;
    MQ_UNLINK = 241, "mq_unlink", NONE, [Path], Int;
    MQ_TIMEDSEND = 242, "mq_timedsend", DESC, [Fd, InBuf(2), ULong, ULong, Ptr], Int;
    MQ_TIMEDRECEIVE = 243, "mq_timedreceive", DESC, [Fd, OutBuf(Len::Ret), ULong, Ptr, Ptr], Int;
    MQ_NOTIFY = 244, "mq_notify", DESC, [Fd, Ptr], Int;
    MQ_GETSETATTR = 245, "mq_getsetattr", DESC, [Fd, Ptr, Ptr], Int;
    KEXEC_LOAD = 246, "kexec_load", NONE, [Ptr, ULong, Ptr, Hex], Int;
    WAITID = 247, "waitid", PROCESS, [Int, Int, Ptr, Hex, Ptr], Int;
    ADD_KEY = 248, "add_key", NONE, [Path, Path, InBuf(3), ULong, Int], Int;
    REQUEST_KEY = 249, "request_key", NONE, [Path, Path, Path, Int], Int;
    KEYCTL = 250, "keyctl", NONE, [Int, Hex, Hex, Hex, Hex], Int;
    IOPRIO_SET = 251, "ioprio_set", NONE, [Int, Int, Hex], Int;
    IOPRIO_GET = 252, "ioprio_get", NONE, [Int, Int], Int;
    INOTIFY_INIT = 253, "inotify_init", DESC, [], Int;
    INOTIFY_ADD_WATCH = 254, "inotify_add_watch", DESC|FILE, [Fd, Path, Hex], Int;
    INOTIFY_RM_WATCH = 255, "inotify_rm_watch", DESC, [Fd, Int], Int;
    MIGRATE_PAGES = 256, "migrate_pages", MEMORY, [Int, ULong, Ptr, Ptr], Int;
    OPENAT = 257, "openat", DESC|FILE, [Fd, Path, Special(OpenFlags), Folded], Fd;
    MKDIRAT = 258, "mkdirat", DESC|FILE, [Fd, Path, Mode], Int;
    MKNODAT = 259, "mknodat", DESC|FILE, [Fd, Path, Mode, Hex], Int;
    FCHOWNAT = 260, "fchownat", DESC|FILE, [Fd, Path, ULong, ULong, Hex], Int;
    FUTIMESAT = 261, "futimesat", DESC|FILE, [Fd, Path, Ptr], Int;
    NEWFSTATAT = 262, "newfstatat", DESC|FILE|FSTAT|STAT_LIKE, [Fd, Path, Out(Stat), Flags(&AT_FLAGS)], Int;
    UNLINKAT = 263, "unlinkat", DESC|FILE, [Fd, Path, Hex], Int;
    RENAMEAT = 264, "renameat", DESC|FILE, [Fd, Path, Fd, Path], Int;
    LINKAT = 265, "linkat", DESC|FILE, [Fd, Path, Fd, Path, Hex], Int;
    SYMLINKAT = 266, "symlinkat", DESC|FILE, [Path, Fd, Path], Int;
    READLINKAT = 267, "readlinkat", DESC|FILE, [Fd, Path, OutBuf(Len::Ret), ULong], Int;
    FCHMODAT = 268, "fchmodat", DESC|FILE, [Fd, Path, Mode], Int;
    FACCESSAT = 269, "faccessat", DESC|FILE, [Fd, Path, Special(PrintFlags { table: &ACCESS_MODES, unknown: "?_OK" })], Int;
    PSELECT6 = 270, "pselect6", DESC, [Int, Special(FdSets), Folded, Folded, In(Timespec), Special(SigmaskSize)], Select;
    PPOLL = 271, "ppoll", DESC, [Special(PollFds), UInt, In(Timespec), SigSet(4), ULong], PollLeft;
    UNSHARE = 272, "unshare", NONE, [Hex], Int;
    SET_ROBUST_LIST = 273, "set_robust_list", NONE, [Ptr, ULong], Int;
    GET_ROBUST_LIST = 274, "get_robust_list", NONE, [Int, Ptr, Ptr], Int;
    SPLICE = 275, "splice", DESC, [Fd, Ptr, Fd, Ptr, ULong, Hex], Int;
    TEE = 276, "tee", DESC, [Fd, Fd, ULong, Hex], Int;
    SYNC_FILE_RANGE = 277, "sync_file_range", DESC, [Fd, Int, Int, Hex], Int;
    VMSPLICE = 278, "vmsplice", DESC, [Fd, Ptr, ULong, Hex], Int;
    MOVE_PAGES = 279, "move_pages", MEMORY, [Int, ULong, Ptr, Ptr, Ptr, Hex], Int;
    UTIMENSAT = 280, "utimensat", DESC|FILE, [Fd, Path, Ptr, Hex], Int;
    EPOLL_PWAIT = 281, "epoll_pwait", DESC, [Fd, Ptr, Int, Int, Ptr, ULong], Int;
    SIGNALFD = 282, "signalfd", DESC|SIGNAL, [Fd, Ptr, ULong], Int;
    TIMERFD_CREATE = 283, "timerfd_create", DESC, [Int, Hex], Int;
    EVENTFD = 284, "eventfd", DESC, [ULong], Int;
    FALLOCATE = 285, "fallocate", DESC, [Fd, Hex, Int, Int], Int;
    TIMERFD_SETTIME = 286, "timerfd_settime", DESC, [Fd, Hex, Ptr, Ptr], Int;
    TIMERFD_GETTIME = 287, "timerfd_gettime", DESC, [Fd, Ptr], Int;
    ACCEPT4 = 288, "accept4", NETWORK, [Fd, Special(OutSockAddr), Folded, Flags(&SOCK_TYPE_FLAGS)], Fd;
    SIGNALFD4 = 289, "signalfd4", DESC|SIGNAL, [Fd, Ptr, ULong, Hex], Int;
    EVENTFD2 = 290, "eventfd2", DESC, [ULong, Hex], Int;
    EPOLL_CREATE1 = 291, "epoll_create1", DESC, [Hex], Int;
    DUP3 = 292, "dup3", DESC, [Fd, Fd, Flags(&DUP3_FLAGS)], Fd;
    PIPE2 = 293, "pipe2", DESC, [Out(FdPair), Flags(&OPEN_MODE_FLAGS)], Int;
    INOTIFY_INIT1 = 294, "inotify_init1", DESC, [Hex], Int;
    PREADV = 295, "preadv", DESC, [Fd, Special(PreadIovecs), ULong, Special(LowHigh), Folded], Int;
    PWRITEV = 296, "pwritev", DESC, [Fd, Ptr, ULong, Int, Int], Int;
    RT_TGSIGQUEUEINFO = 297, "rt_tgsigqueueinfo", PROCESS|SIGNAL, [Int, Int, Signal, Ptr], Int;
    PERF_EVENT_OPEN = 298, "perf_event_open", DESC, [Ptr, Int, Int, Fd, Hex], Int;
    RECVMMSG = 299, "recvmmsg", NETWORK, [Fd, Ptr, ULong, Hex, Ptr], Int;
    FANOTIFY_INIT = 300, "fanotify_init", DESC, [Hex, Special(OpenFlags)], Int;
    FANOTIFY_MARK = 301, "fanotify_mark", DESC|FILE, [Fd, Hex, Hex, Fd, Path], Int;
    PRLIMIT64 = 302, "prlimit64", NONE, [Int, Enum(&RESOURCES), In(Rlimit64), Out(Rlimit64)], Int;
    NAME_TO_HANDLE_AT = 303, "name_to_handle_at", DESC|FILE, [Fd, Path, Ptr, Ptr, Hex], Int;
    OPEN_BY_HANDLE_AT = 304, "open_by_handle_at", DESC, [Fd, Ptr, Special(OpenFlags)], Int;
    CLOCK_ADJTIME = 305, "clock_adjtime", CLOCK, [Int, Ptr], Int;
    SYNCFS = 306, "syncfs", DESC, [Fd], Int;
    SENDMMSG = 307, "sendmmsg", NETWORK, [Fd, Ptr, ULong, Hex], Int;
    SETNS = 308, "setns", DESC, [Fd, Hex], Int;
    GETCPU = 309, "getcpu", NONE, [Ptr, Ptr, Ptr], Int;
    PROCESS_VM_READV = 310, "process_vm_readv", NONE, [Int, Ptr, ULong, Ptr, ULong, Hex], Int;
    PROCESS_VM_WRITEV = 311, "process_vm_writev", NONE, [Int, Ptr, ULong, Ptr, ULong, Hex], Int;
    KCMP = 312, "kcmp", NONE, [Int, Int, Int, Hex, Hex], Int;
    FINIT_MODULE = 313, "finit_module", DESC, [Fd, Path, Hex], Int;
    SCHED_SETATTR = 314, "sched_setattr", NONE, [Int, Ptr, Hex], Int;
    SCHED_GETATTR = 315, "sched_getattr", NONE, [Int, Ptr, ULong, Hex], Int;
    RENAMEAT2 = 316, "renameat2", DESC|FILE, [Fd, Path, Fd, Path, Hex], Int;
    SECCOMP = 317, "seccomp", NONE, [ULong, Hex, Ptr], Int;
    GETRANDOM = 318, "getrandom", NONE, [OutBytes(Len::Ret), ULong, Flags(&GETRANDOM_FLAGS)], Int;
    MEMFD_CREATE = 319, "memfd_create", DESC, [Path, Hex], Int;
    KEXEC_FILE_LOAD = 320, "kexec_file_load", DESC, [Fd, Fd, ULong, Path, Hex], Int;
    BPF = 321, "bpf", DESC, [Int, Ptr, ULong], Int;
    EXECVEAT = 322, "execveat", DESC|FILE|PROCESS, [Fd, Path, Ptr, Ptr, Hex], Int;
    USERFAULTFD = 323, "userfaultfd", DESC, [Hex], Int;
    MEMBARRIER = 324, "membarrier", NONE, [Int, Hex, Int], Int;
    MLOCK2 = 325, "mlock2", MEMORY, [Ptr, ULong, Hex], Int;
    COPY_FILE_RANGE = 326, "copy_file_range", DESC, [Fd, Ptr, Fd, Ptr, ULong, Hex], Int;
    PREADV2 = 327, "preadv2", DESC, [Fd, Special(PreadIovecs), ULong, Special(LowHigh), Folded, Special(PrintFlags { table: &RWF_FLAGS, unknown: "RWF_???" })], Int;
    PWRITEV2 = 328, "pwritev2", DESC, [Fd, Ptr, ULong, Int, Int, Hex], Int;
    PKEY_MPROTECT = 329, "pkey_mprotect", MEMORY, [Ptr, ULong, Flags(&MMAP_PROT), Int], Int;
    PKEY_ALLOC = 330, "pkey_alloc", NONE, [Hex, Hex], Int;
    PKEY_FREE = 331, "pkey_free", NONE, [Int], Int;
    STATX = 332, "statx", DESC|FILE|FSTAT|STAT_LIKE, [Fd, Path, Special(StatxAtFlags), Flags(&STATX_MASK), Out(Statx)], Int;
    IO_PGETEVENTS = 333, "io_pgetevents", NONE, [Hex, Int, Int, Ptr, Ptr, Ptr], Int;
    RSEQ = 334, "rseq", NONE, [Hex, Hex, Hex, Hex], Int;
    PIDFD_SEND_SIGNAL = 424, "pidfd_send_signal", DESC|SIGNAL|PROCESS, [Fd, Int, Ptr, Hex], Int;
    IO_URING_SETUP = 425, "io_uring_setup", DESC, [ULong, Ptr], Int;
    IO_URING_ENTER = 426, "io_uring_enter", DESC|SIGNAL, [Fd, ULong, ULong, Hex, Ptr, ULong], Int;
    IO_URING_REGISTER = 427, "io_uring_register", DESC|MEMORY, [Fd, ULong, Ptr, ULong], Int;
    OPEN_TREE = 428, "open_tree", DESC|FILE, [Fd, Path, Hex], Int;
    MOVE_MOUNT = 429, "move_mount", DESC|FILE, [Fd, Path, Fd, Path, Hex], Int;
    FSOPEN = 430, "fsopen", DESC, [Path, Hex], Int;
    FSCONFIG = 431, "fsconfig", DESC|FILE, [Fd, ULong, Path, Ptr, Int], Int;
    FSMOUNT = 432, "fsmount", DESC, [Fd, Hex, Hex], Int;
    FSPICK = 433, "fspick", DESC|FILE, [Fd, Path, Hex], Int;
    PIDFD_OPEN = 434, "pidfd_open", DESC, [Int, Hex], Int;
    CLONE3 = 435, "clone3", PROCESS, [Ptr, ULong], Int;
    CLOSE_RANGE = 436, "close_range", NONE, [Fd, ULong, Hex], Int;
    OPENAT2 = 437, "openat2", DESC|FILE, [Fd, Path, Ptr, ULong], Int;
    PIDFD_GETFD = 438, "pidfd_getfd", DESC, [Fd, Fd, Hex], Int;
    FACCESSAT2 = 439, "faccessat2", DESC|FILE, [Fd, Path, Special(PrintFlags { table: &ACCESS_MODES, unknown: "?_OK" }), Special(PrintFlags { table: &FACCESSAT_FLAGS, unknown: "AT_???" })], Int;
    PROCESS_MADVISE = 440, "process_madvise", DESC, [Fd, Ptr, ULong, Int, Hex], Int;
    EPOLL_PWAIT2 = 441, "epoll_pwait2", DESC, [Fd, Ptr, Int, Ptr, Ptr, ULong], Int;
    MOUNT_SETATTR = 442, "mount_setattr", DESC|FILE, [Fd, Path, Hex, Ptr, ULong], Int;
    QUOTACTL_FD = 443, "quotactl_fd", DESC, [Fd, Hex, Int, Ptr], Int;
    LANDLOCK_CREATE_RULESET = 444, "landlock_create_ruleset", DESC, [Ptr, ULong, Hex], Int;
    LANDLOCK_ADD_RULE = 445, "landlock_add_rule", DESC, [Fd, Int, Ptr, Hex], Int;
    LANDLOCK_RESTRICT_SELF = 446, "landlock_restrict_self", DESC, [Fd, Hex], Int;
    MEMFD_SECRET = 447, "memfd_secret", DESC, [Hex], Int;
    PROCESS_MRELEASE = 448, "process_mrelease", DESC, [Fd, Hex], Int;
    FUTEX_WAITV = 449, "futex_waitv", NONE, [Ptr, ULong, Hex, Ptr, Int], Int;
    SET_MEMPOLICY_HOME_NODE = 450, "set_mempolicy_home_node", MEMORY, [Ptr, ULong, ULong, Hex], Int;
}
