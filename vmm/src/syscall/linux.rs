//! The x86-64 Linux ABI the guest sees, for the structs and flags the
//! service fills in and the trace decodes: sizes and field offsets of the
//! kernel's structs, and flag values.
//!
//! The host is x86-64 Linux too, so the values come from the `libc` crate
//! (and the host kernel fills the structs itself, into byte buffers of the
//! kernel's size, which are copied to the guest as they are). Only what
//! `libc` lacks, or defines with the C library's layout rather than the
//! kernel's (`struct termios`), is written here.

use std::mem::{offset_of, size_of};

/// `struct stat` (x86-64: 144 bytes, as the kernel's `struct stat`).
pub mod stat {
    use super::*;
    /// Size of the struct.
    pub const SIZE: usize = 144;
    const _: () = assert!(size_of::<libc::stat>() == SIZE);
    /// `st_mode` (u32).
    pub const MODE: usize = offset_of!(libc::stat, st_mode);
    /// `st_size` (i64).
    pub const SIZE_FIELD: usize = offset_of!(libc::stat, st_size);
    /// `st_ino` (u64).
    pub const INO: usize = offset_of!(libc::stat, st_ino);
    /// `st_nlink` (u64).
    pub const NLINK: usize = offset_of!(libc::stat, st_nlink);
    /// `st_rdev` (u64).
    pub const RDEV: usize = offset_of!(libc::stat, st_rdev);
}

/// `struct statx` (256 bytes; the kernel always copies all of it).
pub mod statx {
    use super::*;
    /// Size of the struct.
    pub const SIZE: usize = 256;
    const _: () = assert!(size_of::<libc::statx>() <= SIZE);
    /// `stx_mask` (u32).
    pub const MASK: usize = offset_of!(libc::statx, stx_mask);
    /// `stx_mode` (u16).
    pub const MODE: usize = offset_of!(libc::statx, stx_mode);
    /// `stx_size` (u64).
    pub const SIZE_FIELD: usize = offset_of!(libc::statx, stx_size);
    /// `stx_attributes` (u64).
    pub const ATTRIBUTES: usize = offset_of!(libc::statx, stx_attributes);
    /// `STATX__RESERVED`: a mask bit reserved for future extension.
    pub const RESERVED: u64 = 0x8000_0000;
}

/// `struct utsname`: six NUL-terminated fields of 65 bytes.
pub mod utsname {
    use super::*;
    /// Bytes per field.
    pub const FIELD: usize = 65;
    /// Number of fields (sysname nodename release version machine domainname).
    pub const FIELDS: usize = 6;
    /// Size of the struct.
    pub const SIZE: usize = FIELD * FIELDS;
    const _: () = assert!(size_of::<libc::utsname>() == SIZE);
    /// Field names, in order.
    pub const NAMES: [&str; FIELDS] = [
        "sysname",
        "nodename",
        "release",
        "version",
        "machine",
        "domainname",
    ];
}

/// The kernel's `struct termios` (not glibc's larger one): four u32 flag
/// words, `c_line` and 19 control characters.
pub mod termios {
    /// Size of the struct.
    pub const SIZE: usize = 36;
    /// `c_iflag`, `c_oflag`, `c_cflag`, `c_lflag`: u32 each, from 0.
    pub const FLAGS: [&str; 4] = ["c_iflag", "c_oflag", "c_cflag", "c_lflag"];
    /// `c_line` (u8).
    pub const LINE: usize = 16;
}

/// `struct winsize`: four u16.
pub mod winsize {
    use super::*;
    /// Size of the struct.
    pub const SIZE: usize = 8;
    const _: () = assert!(size_of::<libc::winsize>() == SIZE);
    /// Field names, in order.
    pub const NAMES: [&str; 4] = ["ws_row", "ws_col", "ws_xpixel", "ws_ypixel"];
}

/// `struct timespec` / `struct timeval` / `struct rlimit` / `struct iovec`:
/// two 64-bit words.
pub const PAIR_SIZE: usize = 16;
const _: () = assert!(size_of::<libc::timespec>() == PAIR_SIZE);
const _: () = assert!(size_of::<libc::timeval>() == PAIR_SIZE);
const _: () = assert!(size_of::<libc::rlimit64>() == PAIR_SIZE);
const _: () = assert!(size_of::<libc::iovec>() == PAIR_SIZE);

/// `struct timezone`: two i32.
pub const TIMEZONE_SIZE: usize = 8;

/// The most iovecs one readv/writev takes (`UIO_MAXIOV`).
pub const IOV_MAX: u64 = libc::UIO_MAXIOV as u64;

/// The longest path, NUL included (`PATH_MAX`).
pub const PATH_MAX: usize = libc::PATH_MAX as usize;

/// A nanosecond count must be below this.
pub const NSEC_PER_SEC: i64 = 1_000_000_000;

/// `open(2)` flags.
pub mod o {
    /// Access mode mask.
    pub const ACCMODE: u64 = libc::O_ACCMODE as u64;
    /// Read only.
    pub const RDONLY: u64 = libc::O_RDONLY as u64;
    /// Write only.
    pub const WRONLY: u64 = libc::O_WRONLY as u64;
    /// Read and write.
    pub const RDWR: u64 = libc::O_RDWR as u64;
    /// Create.
    pub const CREAT: u64 = libc::O_CREAT as u64;
    /// Fail if it exists.
    pub const EXCL: u64 = libc::O_EXCL as u64;
    /// No controlling terminal.
    pub const NOCTTY: u64 = libc::O_NOCTTY as u64;
    /// Truncate.
    pub const TRUNC: u64 = libc::O_TRUNC as u64;
    /// Append.
    pub const APPEND: u64 = libc::O_APPEND as u64;
    /// Non-blocking.
    pub const NONBLOCK: u64 = libc::O_NONBLOCK as u64;
    /// Synchronous data writes.
    pub const DSYNC: u64 = libc::O_DSYNC as u64;
    /// Signal-driven I/O.
    pub const ASYNC: u64 = libc::O_ASYNC as u64;
    /// Direct I/O.
    pub const DIRECT: u64 = libc::O_DIRECT as u64;
    /// Large file (forced by 64-bit kernels; 0o100000 on x86-64).
    pub const LARGEFILE: u64 = 0o100000;
    /// Must be a directory.
    pub const DIRECTORY: u64 = libc::O_DIRECTORY as u64;
    /// Do not follow a final symlink.
    pub const NOFOLLOW: u64 = libc::O_NOFOLLOW as u64;
    /// No access time update.
    pub const NOATIME: u64 = libc::O_NOATIME as u64;
    /// Close on exec.
    pub const CLOEXEC: u64 = libc::O_CLOEXEC as u64;
    /// Synchronous writes (includes O_DSYNC).
    pub const SYNC: u64 = libc::O_SYNC as u64;
    /// A location only.
    pub const PATH: u64 = libc::O_PATH as u64;
    /// An unnamed temporary file (includes O_DIRECTORY).
    pub const TMPFILE: u64 = libc::O_TMPFILE as u64;
}

/// `*at(2)` flags and the current-directory descriptor.
pub mod at {
    /// The current directory, as a dirfd.
    pub const FDCWD: i32 = libc::AT_FDCWD;
    /// Do not follow a final symlink.
    pub const SYMLINK_NOFOLLOW: u64 = libc::AT_SYMLINK_NOFOLLOW as u64;
    /// Do not automount the final component.
    pub const NO_AUTOMOUNT: u64 = libc::AT_NO_AUTOMOUNT as u64;
    /// An empty path means the dirfd itself.
    pub const EMPTY_PATH: u64 = libc::AT_EMPTY_PATH as u64;
    /// statx: the synchronisation type mask.
    pub const STATX_SYNC_TYPE: u64 = 0x6000;
    /// statx: force a sync with the server.
    pub const STATX_FORCE_SYNC: u64 = 0x2000;
    /// statx: do not sync.
    pub const STATX_DONT_SYNC: u64 = 0x4000;
}

/// `fcntl(2)` commands and descriptor flags.
pub mod f {
    /// Duplicate to the lowest free fd >= arg.
    pub const DUPFD: u64 = libc::F_DUPFD as u64;
    /// The same, with close-on-exec.
    pub const DUPFD_CLOEXEC: u64 = libc::F_DUPFD_CLOEXEC as u64;
    /// Get the descriptor flags.
    pub const GETFD: u64 = libc::F_GETFD as u64;
    /// Set the descriptor flags.
    pub const SETFD: u64 = libc::F_SETFD as u64;
    /// Get the status flags.
    pub const GETFL: u64 = libc::F_GETFL as u64;
    /// Set the status flags.
    pub const SETFL: u64 = libc::F_SETFL as u64;
    /// The close-on-exec descriptor flag.
    pub const FD_CLOEXEC: u64 = libc::FD_CLOEXEC as u64;
}

/// `lseek(2)` whence values, by number.
pub const SEEK_NAMES: [&str; 5] = ["SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE"];

/// Terminal ioctls served on the standard descriptors.
pub mod ioctl {
    /// Get the terminal attributes (`struct termios`).
    pub const TCGETS: u64 = libc::TCGETS;
    /// Get the window size (`struct winsize`).
    pub const TIOCGWINSZ: u64 = libc::TIOCGWINSZ;
}

/// Clock ids, by number (`None` where there is no clock).
pub const CLOCK_NAMES: [Option<&str>; 12] = [
    Some("CLOCK_REALTIME"),
    Some("CLOCK_MONOTONIC"),
    Some("CLOCK_PROCESS_CPUTIME_ID"),
    Some("CLOCK_THREAD_CPUTIME_ID"),
    Some("CLOCK_MONOTONIC_RAW"),
    Some("CLOCK_REALTIME_COARSE"),
    Some("CLOCK_MONOTONIC_COARSE"),
    Some("CLOCK_BOOTTIME"),
    Some("CLOCK_REALTIME_ALARM"),
    Some("CLOCK_BOOTTIME_ALARM"),
    None,
    Some("CLOCK_TAI"),
];

/// `clock_nanosleep(2)`: the time is absolute.
pub const TIMER_ABSTIME: u64 = libc::TIMER_ABSTIME as u64;

/// Resource limits, by number (`RLIMIT_*`).
pub const RLIMIT_NAMES: [&str; 16] = [
    "RLIMIT_CPU",
    "RLIMIT_FSIZE",
    "RLIMIT_DATA",
    "RLIMIT_STACK",
    "RLIMIT_CORE",
    "RLIMIT_RSS",
    "RLIMIT_NPROC",
    "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",
    "RLIMIT_AS",
    "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
];

/// `RLIMIT_STACK`.
pub const RLIMIT_STACK: u64 = libc::RLIMIT_STACK as u64;
/// `RLIMIT_NOFILE`.
pub const RLIMIT_NOFILE: u64 = libc::RLIMIT_NOFILE as u64;
/// No limit.
pub const RLIM_INFINITY: u64 = libc::RLIM64_INFINITY;

/// getrandom(2) flags.
pub mod grnd {
    /// Do not block.
    pub const NONBLOCK: u64 = libc::GRND_NONBLOCK as u64;
    /// Use the blocking pool.
    pub const RANDOM: u64 = libc::GRND_RANDOM as u64;
    /// Never block, even before the pool is initialised.
    pub const INSECURE: u64 = libc::GRND_INSECURE as u64;
}

/// File type bits of a mode, and their names.
pub mod mode {
    /// The file type mask.
    pub const IFMT: u32 = libc::S_IFMT;
    /// Regular file.
    pub const IFREG: u32 = libc::S_IFREG;
    /// Directory.
    pub const IFDIR: u32 = libc::S_IFDIR;
    /// Names of the file types.
    pub const TYPES: [(u32, &str); 7] = [
        (libc::S_IFREG, "S_IFREG"),
        (libc::S_IFDIR, "S_IFDIR"),
        (libc::S_IFCHR, "S_IFCHR"),
        (libc::S_IFBLK, "S_IFBLK"),
        (libc::S_IFIFO, "S_IFIFO"),
        (libc::S_IFLNK, "S_IFLNK"),
        (libc::S_IFSOCK, "S_IFSOCK"),
    ];
}

/// A little-endian u64 at `off` in `b` (0 if out of range).
pub fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off.saturating_add(8))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// A little-endian u32 at `off` in `b` (0 if out of range).
pub fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off.saturating_add(4))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

/// A little-endian u16 at `off` in `b` (0 if out of range).
pub fn u16_at(b: &[u8], off: usize) -> u16 {
    b.get(off..off.saturating_add(2))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

/// Two 64-bit words as the 16 bytes of a timespec, timeval, rlimit...
pub fn pair(a: u64, b: u64) -> [u8; PAIR_SIZE] {
    let mut out = [0u8; PAIR_SIZE];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes());
    out
}
