//! The x86-64 Linux ABI the guest sees, for the structs and flags the
//! service fills in and the trace decodes: sizes and field offsets of the
//! kernel's structs, and flag values.
//!
//! The constants and their names are the ABI crate's
//! (`microvm_abi::linux::consts`, generated from the C headers), re-exported
//! here under the names the service uses. The host is x86-64 Linux too, so
//! the struct layouts come from the `libc` crate (and the host kernel fills
//! the structs itself, into byte buffers of the kernel's size, which are
//! copied to the guest as they are). Only what `libc` lacks, or defines
//! with the C library's layout rather than the kernel's (`struct
//! termios`), is written here.

use microvm_abi::linux::consts;
use microvm_abi::linux::xlat::Xlat;
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
    /// `st_dev` (u64).
    pub const DEV: usize = offset_of!(libc::stat, st_dev);
    /// `st_uid` (u32).
    pub const UID: usize = offset_of!(libc::stat, st_uid);
    /// `st_gid` (u32).
    pub const GID: usize = offset_of!(libc::stat, st_gid);
    /// `st_blksize` (i64).
    pub const BLKSIZE: usize = offset_of!(libc::stat, st_blksize);
    /// `st_blocks` (i64).
    pub const BLOCKS: usize = offset_of!(libc::stat, st_blocks);
    /// `st_atime`, `st_mtime`, `st_ctime` (i64 seconds), each followed by
    /// its `_nsec` (i64).
    pub const TIMES: [(&str, usize, usize); 3] = [
        (
            "st_atime",
            offset_of!(libc::stat, st_atime),
            offset_of!(libc::stat, st_atime_nsec),
        ),
        (
            "st_mtime",
            offset_of!(libc::stat, st_mtime),
            offset_of!(libc::stat, st_mtime_nsec),
        ),
        (
            "st_ctime",
            offset_of!(libc::stat, st_ctime),
            offset_of!(libc::stat, st_ctime_nsec),
        ),
    ];
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
    pub const RESERVED: u64 = microvm_abi::linux::consts::STATX__RESERVED;
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
pub const IOV_MAX: u64 = consts::UIO_MAXIOV;

/// The longest path, NUL included (`PATH_MAX`).
pub const PATH_MAX: usize = consts::PATH_MAX;

/// A nanosecond count must be below this.
pub const NSEC_PER_SEC: i64 = 1_000_000_000;

/// `open(2)` flags.
pub mod o {
    pub use microvm_abi::linux::consts::{
        O_ACCMODE as ACCMODE, O_APPEND as APPEND, O_ASYNC as ASYNC, O_CLOEXEC as CLOEXEC,
        O_CREAT as CREAT, O_DIRECT as DIRECT, O_DIRECTORY as DIRECTORY, O_DSYNC as DSYNC,
        O_EXCL as EXCL, O_LARGEFILE as LARGEFILE, O_NOATIME as NOATIME, O_NOCTTY as NOCTTY,
        O_NOFOLLOW as NOFOLLOW, O_NONBLOCK as NONBLOCK, O_PATH as PATH, O_RDONLY as RDONLY,
        O_RDWR as RDWR, O_SYNC as SYNC, O_TMPFILE as TMPFILE, O_TRUNC as TRUNC, O_WRONLY as WRONLY,
    };
}

/// `*at(2)` flags and the current-directory descriptor.
pub mod at {
    pub use microvm_abi::linux::consts::{
        AT_EMPTY_PATH as EMPTY_PATH, AT_FDCWD as FDCWD, AT_NO_AUTOMOUNT as NO_AUTOMOUNT,
        AT_STATX_DONT_SYNC as STATX_DONT_SYNC, AT_STATX_FORCE_SYNC as STATX_FORCE_SYNC,
        AT_STATX_SYNC_TYPE as STATX_SYNC_TYPE, AT_SYMLINK_NOFOLLOW as SYMLINK_NOFOLLOW,
    };
}

/// `fcntl(2)` commands and descriptor flags.
pub mod f {
    pub use microvm_abi::linux::consts::{
        FD_CLOEXEC, F_DUPFD as DUPFD, F_DUPFD_CLOEXEC as DUPFD_CLOEXEC, F_GETFD as GETFD,
        F_GETFL as GETFL, F_SETFD as SETFD, F_SETFL as SETFL,
    };
    /// F_GETPIPE_SZ: a pipe's capacity.
    pub const GETPIPE_SZ: u64 = libc::F_GETPIPE_SZ as u64;
    /// F_SETPIPE_SZ: set a pipe's capacity.
    pub const SETPIPE_SZ: u64 = libc::F_SETPIPE_SZ as u64;
}

/// `lseek(2)` whence values, by number (`WHENCE_CODES` as an array).
pub const SEEK_NAMES: [&str; 5] = all(by_number(&consts::WHENCE_CODES));

/// Terminal ioctls served on the standard descriptors.
pub mod ioctl {
    pub use microvm_abi::linux::consts::{TCGETS, TIOCGWINSZ};
}

/// Clock ids Linux has, by number, with their names (`CLOCKS`); `None`
/// where there is no clock (CLOCK_SGI_CYCLE is a name without a clock).
pub const CLOCK_NAMES: [Option<&str>; 12] = {
    let mut names = by_number(&consts::CLOCKS);
    names[consts::CLOCK_SGI_CYCLE as usize] = None;
    names
};

pub use microvm_abi::linux::consts::TIMER_ABSTIME;

/// Resource limits, by number (`RESOURCES` as an array).
pub const RLIMIT_NAMES: [&str; consts::RLIM_NLIMITS] = all(by_number(&consts::RESOURCES));

pub use microvm_abi::linux::consts::{RLIMIT_NOFILE, RLIMIT_STACK, RLIM_INFINITY};

/// getrandom(2) flags.
pub mod grnd {
    pub use microvm_abi::linux::consts::{
        GRND_INSECURE as INSECURE, GRND_NONBLOCK as NONBLOCK, GRND_RANDOM as RANDOM,
    };
}

/// File type bits of a mode, and their names.
pub mod mode {
    use microvm_abi::linux::consts::{self, MODETYPES};
    pub use microvm_abi::linux::consts::{S_IFDIR as IFDIR, S_IFMT as IFMT, S_IFREG as IFREG};
    /// Names of the file types (`MODETYPES` as an array).
    pub const TYPES: [(u32, &str); 7] = {
        let mut out = [(0, ""); 7];
        let mut i = 0;
        while i < out.len() {
            let (v, name) = MODETYPES.entries[i];
            out[i] = (v as u32, name);
            i += 1;
        }
        assert!(MODETYPES.entries.len() == out.len() && out[0].0 == consts::S_IFREG);
        out
    };
}

/// The names of `xlat`'s values `0..N`, by value (the first name of a value).
const fn by_number<const N: usize>(xlat: &Xlat) -> [Option<&'static str>; N] {
    let mut out = [None; N];
    let mut i = 0;
    while i < xlat.entries.len() {
        let (v, name) = xlat.entries[i];
        if v < N as u64 && out[v as usize].is_none() {
            out[v as usize] = Some(name);
        }
        i += 1;
    }
    out
}

/// `names` without holes (a compile error if there is one).
const fn all<const N: usize>(names: [Option<&'static str>; N]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = match names[i] {
            Some(n) => n,
            None => panic!("a value without a name"),
        };
        i += 1;
    }
    out
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
