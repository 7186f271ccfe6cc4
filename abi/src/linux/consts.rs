//! Linux constants and their name tables (xlat), in strace's order.
//!
//! PROVISIONAL: typed in while `scripts/gen-linux-consts` is written; it
//! will generate this file from the system headers and a test will check it.

use super::xlat::{Xlat, XlatKind};

macro_rules! xlat {
    ($id:ident, $kind:expr, [$(($v:expr, $n:literal)),* $(,)?]) => {
        #[doc = concat!("Names of `", stringify!($id), "` values.")]
        pub static $id: Xlat = Xlat { kind: $kind, entries: &[$(($v, $n)),*] };
    };
}
const fn bits(zero: &'static str) -> XlatKind {
    XlatKind::Bits { zero }
}
const fn values(unknown: &'static str) -> XlatKind {
    XlatKind::Values { unknown }
}

/// `AT_FDCWD`.
pub const AT_FDCWD: i32 = -100;
/// `O_ACCMODE`.
pub const O_ACCMODE: u64 = 0o3;
/// `O_CREAT`.
pub const O_CREAT: u64 = 0o100;
/// `O_TMPFILE`.
pub const O_TMPFILE: u64 = 0o20200000;
/// `O_CLOEXEC`.
pub const O_CLOEXEC: u64 = 0o2000000;
/// `AT_STATX_SYNC_TYPE`.
pub const AT_STATX_SYNC_TYPE: u64 = 0x6000;
/// `F_GETFD`.
pub const F_GETFD: u64 = 1;
/// `F_GETFL`.
pub const F_GETFL: u64 = 3;
/// `FD_CLOEXEC`.
pub const FD_CLOEXEC: u64 = 1;

xlat!(
    OPEN_ACCESS_MODES,
    values("O_???"),
    [
        (0, "O_RDONLY"),
        (1, "O_WRONLY"),
        (2, "O_RDWR"),
        (3, "O_ACCMODE")
    ]
);
xlat!(
    OPEN_MODE_FLAGS,
    bits("0"),
    [
        (0o100, "O_CREAT"),
        (0o200, "O_EXCL"),
        (0o400, "O_NOCTTY"),
        (0o1000, "O_TRUNC"),
        (0o2000, "O_APPEND"),
        (0o4000, "O_NONBLOCK"),
        (0o4010000, "O_SYNC"),
        (0o10000, "O_DSYNC"),
        (0o20000, "O_ASYNC"),
        (0o40000, "O_DIRECT"),
        (0o100000, "O_LARGEFILE"),
        (0o20200000, "O_TMPFILE"),
        (0o200000, "O_DIRECTORY"),
        (0o400000, "O_NOFOLLOW"),
        (0o1000000, "O_NOATIME"),
        (0o2000000, "O_CLOEXEC"),
        (0o10000000, "O_PATH"),
    ]
);
xlat!(
    AT_FLAGS,
    bits("0"),
    [
        (0x100, "AT_SYMLINK_NOFOLLOW"),
        (0x800, "AT_NO_AUTOMOUNT"),
        (0x1000, "AT_EMPTY_PATH"),
        (0x2000, "AT_STATX_FORCE_SYNC"),
        (0x4000, "AT_STATX_DONT_SYNC"),
    ]
);
xlat!(
    STATX_MASK,
    bits("0"),
    [
        (0xfff, "STATX_ALL"),
        (0x7ff, "STATX_BASIC_STATS"),
        (0x1, "STATX_TYPE"),
        (0x2, "STATX_MODE"),
        (0x4, "STATX_NLINK"),
        (0x8, "STATX_UID"),
        (0x10, "STATX_GID"),
        (0x20, "STATX_ATIME"),
        (0x40, "STATX_MTIME"),
        (0x80, "STATX_CTIME"),
        (0x100, "STATX_INO"),
        (0x200, "STATX_SIZE"),
        (0x400, "STATX_BLOCKS"),
        (0x800, "STATX_BTIME"),
        (0x1000, "STATX_MNT_ID"),
        (0x2000, "STATX_DIOALIGN"),
    ]
);
xlat!(
    CLOCKS,
    values("CLOCK_???"),
    [
        (0, "CLOCK_REALTIME"),
        (1, "CLOCK_MONOTONIC"),
        (2, "CLOCK_PROCESS_CPUTIME_ID"),
        (3, "CLOCK_THREAD_CPUTIME_ID"),
        (4, "CLOCK_MONOTONIC_RAW"),
        (5, "CLOCK_REALTIME_COARSE"),
        (6, "CLOCK_MONOTONIC_COARSE"),
        (7, "CLOCK_BOOTTIME"),
        (8, "CLOCK_REALTIME_ALARM"),
        (9, "CLOCK_BOOTTIME_ALARM"),
        (11, "CLOCK_TAI"),
    ]
);
xlat!(TIMER_FLAGS, bits("0"), [(1, "TIMER_ABSTIME")]);
xlat!(
    WHENCE,
    values("SEEK_???"),
    [
        (0, "SEEK_SET"),
        (1, "SEEK_CUR"),
        (2, "SEEK_END"),
        (3, "SEEK_DATA"),
        (4, "SEEK_HOLE")
    ]
);
xlat!(
    GETRANDOM_FLAGS,
    bits("0"),
    [
        (1, "GRND_NONBLOCK"),
        (2, "GRND_RANDOM"),
        (4, "GRND_INSECURE")
    ]
);
xlat!(
    RESOURCES,
    values("RLIMIT_???"),
    [
        (0, "RLIMIT_CPU"),
        (1, "RLIMIT_FSIZE"),
        (2, "RLIMIT_DATA"),
        (3, "RLIMIT_STACK"),
        (4, "RLIMIT_CORE"),
        (5, "RLIMIT_RSS"),
        (6, "RLIMIT_NPROC"),
        (7, "RLIMIT_NOFILE"),
        (8, "RLIMIT_MEMLOCK"),
        (9, "RLIMIT_AS"),
        (10, "RLIMIT_LOCKS"),
        (11, "RLIMIT_SIGPENDING"),
        (12, "RLIMIT_MSGQUEUE"),
        (13, "RLIMIT_NICE"),
        (14, "RLIMIT_RTPRIO"),
        (15, "RLIMIT_RTTIME"),
    ]
);
xlat!(DUP3_FLAGS, bits("0"), [(0o2000000, "O_CLOEXEC")]);
xlat!(
    MMAP_PROT,
    bits("PROT_NONE"),
    [(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")]
);
xlat!(
    MMAP_FLAGS,
    bits("0"),
    [
        (0x1, "MAP_SHARED"),
        (0x2, "MAP_PRIVATE"),
        (0x10, "MAP_FIXED"),
        (0x20, "MAP_ANONYMOUS"),
        (0x100, "MAP_GROWSDOWN"),
        (0x800, "MAP_DENYWRITE"),
        (0x1000, "MAP_EXECUTABLE"),
        (0x2000, "MAP_LOCKED"),
        (0x4000, "MAP_NORESERVE"),
        (0x8000, "MAP_POPULATE"),
        (0x20000, "MAP_STACK"),
        (0x100000, "MAP_FIXED_NOREPLACE"),
    ]
);
xlat!(
    ARCH_PRCTL_CODES,
    values("ARCH_???"),
    [
        (0x1001, "ARCH_SET_GS"),
        (0x1002, "ARCH_SET_FS"),
        (0x1003, "ARCH_GET_FS"),
        (0x1004, "ARCH_GET_GS"),
    ]
);
/// `F_DUPFD`.
pub const F_DUPFD: u64 = 0;
/// `F_SETFD`.
pub const F_SETFD: u64 = 2;
/// `F_SETFL`.
pub const F_SETFL: u64 = 4;
/// `F_DUPFD_CLOEXEC`.
pub const F_DUPFD_CLOEXEC: u64 = 1030;
/// `TCGETS`.
pub const TCGETS: u64 = 0x5401;
/// `TIOCGWINSZ`.
pub const TIOCGWINSZ: u64 = 0x5413;
xlat!(
    FCNTLCMDS,
    values("F_???"),
    [
        (0, "F_DUPFD"),
        (1, "F_GETFD"),
        (2, "F_SETFD"),
        (3, "F_GETFL"),
        (4, "F_SETFL"),
        (1030, "F_DUPFD_CLOEXEC")
    ]
);
xlat!(FDFLAGS, bits("0"), [(1, "FD_CLOEXEC")]);
xlat!(
    IOCTL_REQUESTS,
    values("???"),
    [(0x5401, "TCGETS"), (0x5413, "TIOCGWINSZ")]
);
