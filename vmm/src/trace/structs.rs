//! strace-style decoding of the syscalls whose arguments are structs or
//! flags: `fstat(3, {st_mode=S_IFREG|0644, st_size=2935, ...})`,
//! `openat(AT_FDCWD, "/etc/passwd", O_RDONLY)`,
//! `clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=2})`, ...
//!
//! [`args`] is the one entry point for arguments: [`super::format`] calls it
//! first and falls back to the per-argument formatting of the syscall table
//! when it returns false. [`ret`] does the same for the few return values
//! strace decorates (fcntl's flags).
//!
//! Output structs are read from guest memory after the syscall returned,
//! and only when it succeeded; otherwise (or when the memory cannot be
//! read) the pointer is shown, as strace does. The `*_fields` functions
//! decode bytes in the x86-64 layouts of [`crate::syscall::linux`].

use super::format::{
    bit_names, buffer, fd, octal, open_flags, pointer, quoted, string, STRING_LIMIT,
};
use crate::syscall::linux::{self, at, f, grnd, o, stat, statx, termios, utsname, winsize};
use crate::syscall::nr;
use crate::usermem::UserMemory;
use std::io::{self, Write};

/// How many iovecs of a readv/writev are shown.
const IOV_SHOWN: u64 = 8;

/// Read `N` guest bytes at `addr`, if ring 3 could.
fn read<const N: usize>(mem: &UserMemory<'_>, addr: u64) -> Option<[u8; N]> {
    let mut buf = [0u8; N];
    mem.read(addr, &mut buf).ok().map(|_| buf)
}

/// True when `ret` is a successful return.
fn ok(ret: Option<i64>) -> bool {
    ret.is_some_and(|r| r >= 0)
}

/// Write the arguments of syscall `nr` (between its parentheses) if it is
/// decoded here; false leaves them to the generic formatting.
pub fn args(
    out: &mut impl Write,
    mem: &UserMemory<'_>,
    nr: u64,
    a: &[u64; 6],
    ret: Option<i64>,
) -> io::Result<bool> {
    match nr {
        nr::OPEN => {
            string(out, mem, a[0])?;
            out.write_all(b", ")?;
            open_args(out, a[1], a[2])?;
        }
        nr::OPENAT => {
            fd(out, a[0])?;
            out.write_all(b", ")?;
            string(out, mem, a[1])?;
            out.write_all(b", ")?;
            open_args(out, a[2], a[3])?;
        }
        nr::FSTAT => {
            fd(out, a[0])?;
            out.write_all(b", ")?;
            out_struct(out, mem, a[1], ret, stat_fields::<_, { stat::SIZE }>)?;
        }
        nr::STAT | nr::LSTAT => {
            string(out, mem, a[0])?;
            out.write_all(b", ")?;
            out_struct(out, mem, a[1], ret, stat_fields::<_, { stat::SIZE }>)?;
        }
        nr::NEWFSTATAT => {
            fd(out, a[0])?;
            out.write_all(b", ")?;
            string(out, mem, a[1])?;
            out.write_all(b", ")?;
            out_struct(out, mem, a[2], ret, stat_fields::<_, { stat::SIZE }>)?;
            out.write_all(b", ")?;
            at_flags(out, a[3], false)?;
        }
        nr::STATX => {
            fd(out, a[0])?;
            out.write_all(b", ")?;
            string(out, mem, a[1])?;
            out.write_all(b", ")?;
            at_flags(out, a[2], true)?;
            out.write_all(b", ")?;
            statx_mask(out, a[3])?;
            out.write_all(b", ")?;
            out_struct(out, mem, a[4], ret, statx_fields::<_, { statx::SIZE }>)?;
        }
        nr::UNAME => out_struct(out, mem, a[0], ret, utsname_fields::<_, { utsname::SIZE }>)?,
        nr::CLOCK_GETTIME | nr::CLOCK_GETRES => {
            clock(out, a[0])?;
            out.write_all(b", ")?;
            out_struct(out, mem, a[1], ret, timespec_fields)?;
        }
        nr::GETTIMEOFDAY => {
            out_struct(out, mem, a[0], ret, timeval_fields)?;
            out.write_all(b", ")?;
            out_struct(out, mem, a[1], ret, timezone_fields)?;
        }
        nr::TIME => match read::<8>(mem, a[0]).filter(|_| ok(ret)) {
            Some(b) => write!(out, "[{}]", i64::from_le_bytes(b))?,
            None => pointer(out, a[0])?,
        },
        nr::NANOSLEEP => {
            in_struct(out, mem, a[0], timespec_fields)?;
            out.write_all(b", ")?;
            remaining(out, mem, a[1], ret)?;
        }
        nr::CLOCK_NANOSLEEP => {
            clock(out, a[0])?;
            out.write_all(b", ")?;
            flags(
                out,
                a[1] as u32 as u64,
                &[(linux::TIMER_ABSTIME, "TIMER_ABSTIME")],
            )?;
            out.write_all(b", ")?;
            in_struct(out, mem, a[2], timespec_fields)?;
            out.write_all(b", ")?;
            remaining(out, mem, a[3], ret)?;
        }
        nr::FCNTL => fcntl_args(out, a)?,
        nr::IOCTL => ioctl_args(out, mem, a, ret)?,
        nr::LSEEK => {
            fd(out, a[0])?;
            write!(out, ", {}, ", a[1] as i64)?;
            match linux::SEEK_NAMES.get(a[2] as u32 as usize) {
                Some(name) => out.write_all(name.as_bytes())?,
                None => write!(out, "{:#x}", a[2] as u32)?,
            }
        }
        nr::READV | nr::WRITEV => {
            fd(out, a[0])?;
            out.write_all(b", ")?;
            if nr == nr::WRITEV {
                iovecs(out, mem, a[1], a[2], None)?;
            } else if let Some(n) = ret.filter(|&r| r >= 0) {
                iovecs(out, mem, a[1], a[2], Some(n as u64))?;
            } else {
                pointer(out, a[1])?;
            }
            write!(out, ", {}", a[2] as u32)?;
        }
        nr::GETRANDOM => {
            match ret {
                Some(n) if n > 0 => buffer(out, mem, a[0], n as u64)?,
                _ => pointer(out, a[0])?,
            }
            write!(out, ", {}, ", a[1])?;
            flags(
                out,
                a[2] as u32 as u64,
                &[
                    (grnd::NONBLOCK, "GRND_NONBLOCK"),
                    (grnd::RANDOM, "GRND_RANDOM"),
                    (grnd::INSECURE, "GRND_INSECURE"),
                ],
            )?;
        }
        nr::PRLIMIT64 => {
            write!(out, "{}, ", a[0] as i32)?;
            resource(out, a[1])?;
            out.write_all(b", ")?;
            in_struct(out, mem, a[2], |o, b: &[u8; 16]| rlimit_fields(o, b, true))?;
            out.write_all(b", ")?;
            out_struct(out, mem, a[3], ret, |o, b: &[u8; 16]| {
                rlimit_fields(o, b, true)
            })?;
        }
        nr::GETRLIMIT | nr::SETRLIMIT => {
            resource(out, a[0])?;
            out.write_all(b", ")?;
            let show = |o: &mut _, b: &[u8; 16]| rlimit_fields(o, b, false);
            if nr == nr::SETRLIMIT {
                in_struct(out, mem, a[1], show)?;
            } else {
                out_struct(out, mem, a[1], ret, show)?;
            }
        }
        nr::SCHED_GETAFFINITY => {
            write!(out, "{}, {}, ", a[0] as i32, a[1] as u32)?;
            match ret.filter(|&r| r > 0) {
                Some(n) => cpu_list(out, mem, a[2], n as u64)?,
                None => pointer(out, a[2])?,
            }
        }
        nr::DUP3 => {
            fd(out, a[0])?;
            out.write_all(b", ")?;
            fd(out, a[1])?;
            out.write_all(b", ")?;
            flags(out, a[2] as u32 as u64, &[(o::CLOEXEC, "O_CLOEXEC")])?;
        }
        nr::GETCWD => {
            if ok(ret) {
                string(out, mem, a[0])?;
            } else {
                pointer(out, a[0])?;
            }
            write!(out, ", {}", a[1])?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Write ` = value` for a successful return of `nr` if it is decorated
/// here (fcntl's F_GETFD and F_GETFL); false leaves it to the caller.
pub fn ret(out: &mut impl Write, nr: u64, a: &[u64; 6], ret: i64) -> io::Result<bool> {
    if nr != nr::FCNTL || ret < 0 {
        return Ok(false);
    }
    match a[1] as u32 as u64 {
        f::GETFD if ret == 0 => out.write_all(b" = 0")?,
        f::GETFD => {
            write!(out, " = {ret:#x}")?;
            if ret as u64 & f::FD_CLOEXEC != 0 {
                out.write_all(b" (flags FD_CLOEXEC)")?;
            }
        }
        f::GETFL => {
            write!(out, " = {ret:#x} (flags ")?;
            open_flags(out, ret as u64)?;
            out.write_all(b")")?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Open flags, and the mode when it matters (O_CREAT, O_TMPFILE).
fn open_args(out: &mut impl Write, flags: u64, mode: u64) -> io::Result<()> {
    let flags = flags as u32 as u64;
    open_flags(out, flags)?;
    if flags & o::CREAT != 0 || flags & o::TMPFILE == o::TMPFILE {
        out.write_all(b", ")?;
        octal(out, mode as u32 as u64)?;
    }
    Ok(())
}

/// `A|B|0x40` from a table of bit names; `0` for no bits.
fn flags(out: &mut impl Write, v: u64, names: &[(u64, &str)]) -> io::Result<()> {
    bit_names(out, v, names, "0")
}

/// `AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW`; for statx, the sync type too
/// (`AT_STATX_SYNC_AS_STAT` when it is 0).
fn at_flags(out: &mut impl Write, v: u64, statx: bool) -> io::Result<()> {
    let v = v as u32 as u64;
    let names = [
        (at::SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"),
        (at::NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"),
        (at::EMPTY_PATH, "AT_EMPTY_PATH"),
        (at::STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"),
        (at::STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"),
    ];
    if statx && v & at::STATX_SYNC_TYPE == 0 {
        out.write_all(b"AT_STATX_SYNC_AS_STAT")?;
        if v != 0 {
            out.write_all(b"|")?;
            flags(out, v, &names)?;
        }
        return Ok(());
    }
    flags(out, v, &names)
}

/// statx's mask: `STATX_ALL`, `STATX_BASIC_STATS|STATX_BTIME`, ...
fn statx_mask(out: &mut impl Write, v: u64) -> io::Result<()> {
    flags(
        out,
        v as u32 as u64,
        &[
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
            (0x4000, "STATX_MNT_ID_UNIQUE"),
            (0x8000, "STATX_SUBVOL"),
        ],
    )
}

/// A clock id by name.
fn clock(out: &mut impl Write, v: u64) -> io::Result<()> {
    let id = v as i32;
    match usize::try_from(id)
        .ok()
        .and_then(|i| linux::CLOCK_NAMES.get(i).copied().flatten())
    {
        Some(name) => out.write_all(name.as_bytes()),
        None => write!(out, "{id}"),
    }
}

/// A resource by name.
fn resource(out: &mut impl Write, v: u64) -> io::Result<()> {
    match linux::RLIMIT_NAMES.get(v as u32 as usize) {
        Some(name) => out.write_all(name.as_bytes()),
        None => write!(out, "{:#x} /* RLIMIT_??? */", v as u32),
    }
}

/// An output struct: decoded after a successful return, else the pointer.
fn out_struct<W: Write, const N: usize>(
    out: &mut W,
    mem: &UserMemory<'_>,
    addr: u64,
    ret: Option<i64>,
    show: impl FnOnce(&mut W, &[u8; N]) -> io::Result<()>,
) -> io::Result<()> {
    if addr == 0 || !ok(ret) {
        return pointer(out, addr);
    }
    in_struct(out, mem, addr, show)
}

/// An input struct (or an output one known to be filled): decoded if
/// readable, else the pointer.
fn in_struct<W: Write, const N: usize>(
    out: &mut W,
    mem: &UserMemory<'_>,
    addr: u64,
    show: impl FnOnce(&mut W, &[u8; N]) -> io::Result<()>,
) -> io::Result<()> {
    if addr == 0 {
        return pointer(out, addr);
    }
    match read::<N>(mem, addr) {
        Some(b) => show(out, &b),
        None => pointer(out, addr),
    }
}

/// A sleep's remaining time: shown when it was interrupted.
fn remaining(
    out: &mut impl Write,
    mem: &UserMemory<'_>,
    addr: u64,
    ret: Option<i64>,
) -> io::Result<()> {
    if ret == Some(-i64::from(libc::EINTR)) {
        in_struct(out, mem, addr, timespec_fields)
    } else {
        pointer(out, addr)
    }
}

/// `S_IFREG|0644`.
pub fn mode(out: &mut impl Write, m: u32) -> io::Result<()> {
    let kind = m & linux::mode::IFMT;
    match linux::mode::TYPES.iter().find(|(t, _)| *t == kind) {
        Some((_, name)) => write!(out, "{name}|")?,
        None if kind != 0 => write!(out, "{kind:#o}|")?,
        None => {}
    }
    for (bit, name) in [
        (libc::S_ISUID, "S_ISUID"),
        (libc::S_ISGID, "S_ISGID"),
        (libc::S_ISVTX, "S_ISVTX"),
    ] {
        if m & bit != 0 {
            write!(out, "{name}|")?;
        }
    }
    octal(out, u64::from(m & 0o777))
}

/// `makedev(0x88, 0x3)` for a device number.
fn makedev(out: &mut impl Write, dev: u64) -> io::Result<()> {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    write!(out, "makedev({major:#x}, {minor:#x})")
}

/// `{st_mode=S_IFREG|0644, st_size=2935, ...}` (device files show
/// st_rdev instead of st_size).
pub fn stat_fields<W: Write, const N: usize>(out: &mut W, b: &[u8; N]) -> io::Result<()> {
    let m = linux::u32_at(b, stat::MODE);
    out.write_all(b"{st_mode=")?;
    mode(out, m)?;
    let kind = m & linux::mode::IFMT;
    if kind == libc::S_IFCHR || kind == libc::S_IFBLK {
        out.write_all(b", st_rdev=")?;
        makedev(out, linux::u64_at(b, stat::RDEV))?;
    } else {
        write!(
            out,
            ", st_size={}",
            linux::u64_at(b, stat::SIZE_FIELD) as i64
        )?;
    }
    out.write_all(b", ...}")
}

/// `{stx_mask=..., stx_attributes=0, stx_mode=S_IFREG|0644, stx_size=2935, ...}`.
pub fn statx_fields<W: Write, const N: usize>(out: &mut W, b: &[u8; N]) -> io::Result<()> {
    out.write_all(b"{stx_mask=")?;
    statx_mask(out, u64::from(linux::u32_at(b, statx::MASK)))?;
    match linux::u64_at(b, statx::ATTRIBUTES) {
        0 => out.write_all(b", stx_attributes=0, stx_mode=")?,
        v => write!(out, ", stx_attributes={v:#x}, stx_mode=")?,
    }
    mode(out, u32::from(linux::u16_at(b, statx::MODE)))?;
    write!(
        out,
        ", stx_size={}, ...}}",
        linux::u64_at(b, statx::SIZE_FIELD)
    )
}

/// `{sysname="Linux", nodename="microvm", ...}`.
pub fn utsname_fields<W: Write, const N: usize>(out: &mut W, b: &[u8; N]) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, name) in utsname::NAMES.iter().take(2).enumerate() {
        let field = b
            .get(i * utsname::FIELD..(i + 1) * utsname::FIELD)
            .unwrap_or(&[]);
        let len = field.iter().position(|&c| c == 0).unwrap_or(field.len());
        write!(out, "{name}=")?;
        quoted(out, &field[..len], false)?;
        out.write_all(b", ")?;
    }
    out.write_all(b"...}")
}

/// `{tv_sec=1, tv_nsec=500}`.
pub fn timespec_fields(out: &mut impl Write, b: &[u8; 16]) -> io::Result<()> {
    write!(
        out,
        "{{tv_sec={}, tv_nsec={}}}",
        linux::u64_at(b, 0) as i64,
        linux::u64_at(b, 8) as i64
    )
}

/// `{tv_sec=1, tv_usec=500}`.
pub fn timeval_fields(out: &mut impl Write, b: &[u8; 16]) -> io::Result<()> {
    write!(
        out,
        "{{tv_sec={}, tv_usec={}}}",
        linux::u64_at(b, 0) as i64,
        linux::u64_at(b, 8) as i64
    )
}

/// `{tz_minuteswest=0, tz_dsttime=0}`.
fn timezone_fields(out: &mut impl Write, b: &[u8; linux::TIMEZONE_SIZE]) -> io::Result<()> {
    write!(
        out,
        "{{tz_minuteswest={}, tz_dsttime={}}}",
        linux::u32_at(b, 0) as i32,
        linux::u32_at(b, 4) as i32
    )
}

/// `{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}` (`RLIM_INFINITY` for
/// getrlimit/setrlimit, as strace names it).
pub fn rlimit_fields(out: &mut impl Write, b: &[u8; 16], wide: bool) -> io::Result<()> {
    let one = |out: &mut dyn Write, v: u64| {
        if v == linux::RLIM_INFINITY {
            out.write_all(if wide {
                b"RLIM64_INFINITY"
            } else {
                b"RLIM_INFINITY"
            })
        } else if v > 1024 && v & 1023 == 0 {
            write!(out, "{}*1024", v / 1024)
        } else {
            write!(out, "{v}")
        }
    };
    out.write_all(b"{rlim_cur=")?;
    one(out, linux::u64_at(b, 0))?;
    out.write_all(b", rlim_max=")?;
    one(out, linux::u64_at(b, 8))?;
    out.write_all(b"}")
}

/// `{ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}`.
pub fn winsize_fields(out: &mut impl Write, b: &[u8; winsize::SIZE]) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, name) in winsize::NAMES.iter().enumerate() {
        if i > 0 {
            out.write_all(b", ")?;
        }
        write!(out, "{name}={}", linux::u16_at(b, i * 2))?;
    }
    out.write_all(b"}")
}

/// `{c_iflag=0x500, c_oflag=0x5, c_cflag=0xbf, c_lflag=0x8a3b, c_line=0, ...}`.
pub fn termios_fields(out: &mut impl Write, b: &[u8; termios::SIZE]) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, name) in termios::FLAGS.iter().enumerate() {
        write!(out, "{name}={:#x}, ", linux::u32_at(b, i * 4))?;
    }
    write!(out, "c_line={}, ...}}", b[termios::LINE])
}

fn fcntl_args(out: &mut impl Write, a: &[u64; 6]) -> io::Result<()> {
    fd(out, a[0])?;
    let cmd = a[1] as u32 as u64;
    let name = match cmd {
        f::DUPFD => "F_DUPFD",
        f::GETFD => "F_GETFD",
        f::SETFD => "F_SETFD",
        f::GETFL => "F_GETFL",
        f::SETFL => "F_SETFL",
        f::DUPFD_CLOEXEC => "F_DUPFD_CLOEXEC",
        _ => {
            return write!(out, ", {:#x} /* F_??? */, {:#x}", cmd, a[2]);
        }
    };
    write!(out, ", {name}")?;
    match cmd {
        f::DUPFD | f::DUPFD_CLOEXEC => write!(out, ", {}", a[2] as i32),
        f::SETFD => {
            out.write_all(b", ")?;
            flags(out, a[2] as u32 as u64, &[(f::FD_CLOEXEC, "FD_CLOEXEC")])
        }
        f::SETFL => {
            out.write_all(b", ")?;
            open_flags(out, a[2] as u32 as u64)
        }
        _ => Ok(()),
    }
}

fn ioctl_args(
    out: &mut impl Write,
    mem: &UserMemory<'_>,
    a: &[u64; 6],
    ret: Option<i64>,
) -> io::Result<()> {
    fd(out, a[0])?;
    match a[1] as u32 as u64 {
        linux::ioctl::TCGETS => {
            out.write_all(b", TCGETS, ")?;
            out_struct(out, mem, a[2], ret, termios_fields)
        }
        linux::ioctl::TIOCGWINSZ => {
            out.write_all(b", TIOCGWINSZ, ")?;
            out_struct(out, mem, a[2], ret, winsize_fields)
        }
        req => {
            write!(out, ", {req:#x}, ")?;
            pointer(out, a[2])
        }
    }
}

/// `[{iov_base="hello", iov_len=5}, ...]`; with `limit`, only that many
/// bytes of data are shown in all (what a readv returned).
fn iovecs(
    out: &mut impl Write,
    mem: &UserMemory<'_>,
    iov: u64,
    count: u64,
    limit: Option<u64>,
) -> io::Result<()> {
    let count = count as u32 as u64;
    let entry = |i: u64| {
        iov.checked_add(i * linux::PAIR_SIZE as u64)
            .and_then(|a| read::<16>(mem, a))
    };
    if count > 0 && entry(0).is_none() {
        // Not even the first iovec is readable: the pointer, as strace.
        return pointer(out, iov);
    }
    let mut left = limit.unwrap_or(u64::MAX);
    out.write_all(b"[")?;
    for i in 0..count.min(IOV_SHOWN) {
        let Some(raw) = entry(i) else { break };
        if i > 0 {
            out.write_all(b", ")?;
        }
        let (base, len) = (linux::u64_at(&raw, 0), linux::u64_at(&raw, 8));
        out.write_all(b"{iov_base=")?;
        let shown = len.min(left);
        buffer(out, mem, base, shown)?;
        left -= shown;
        write!(out, ", iov_len={len}}}")?;
    }
    if count > IOV_SHOWN {
        out.write_all(b", ...")?;
    }
    out.write_all(b"]")
}

/// The CPUs set in the `len`-byte mask at `addr`: `[0]`, `[0, 1]`.
fn cpu_list(out: &mut impl Write, mem: &UserMemory<'_>, addr: u64, len: u64) -> io::Result<()> {
    let len = len.min(STRING_LIMIT as u64) as usize;
    let mut buf = [0u8; STRING_LIMIT];
    if mem.read(addr, &mut buf[..len]).is_err() {
        return pointer(out, addr);
    }
    out.write_all(b"[")?;
    let mut first = true;
    for (i, byte) in buf[..len].iter().enumerate() {
        for bit in 0..8 {
            if byte & (1 << bit) != 0 {
                if !first {
                    out.write_all(b", ")?;
                }
                write!(out, "{}", i * 8 + bit)?;
                first = false;
            }
        }
    }
    out.write_all(b"]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut v = Vec::new();
        f(&mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    fn stat_bytes(mode: u32, size: i64, rdev: u64) -> [u8; stat::SIZE] {
        let mut b = [0u8; stat::SIZE];
        b[stat::MODE..stat::MODE + 4].copy_from_slice(&mode.to_le_bytes());
        b[stat::SIZE_FIELD..stat::SIZE_FIELD + 8].copy_from_slice(&size.to_le_bytes());
        b[stat::RDEV..stat::RDEV + 8].copy_from_slice(&rdev.to_le_bytes());
        b
    }

    #[test]
    fn stat_like_strace() {
        let b = stat_bytes(libc::S_IFREG | 0o644, 2935, 0);
        assert_eq!(
            text(|o| stat_fields(o, &b)),
            "{st_mode=S_IFREG|0644, st_size=2935, ...}"
        );
        let b = stat_bytes(libc::S_IFDIR | libc::S_ISVTX | 0o777, 4096, 0);
        assert_eq!(
            text(|o| stat_fields(o, &b)),
            "{st_mode=S_IFDIR|S_ISVTX|0777, st_size=4096, ...}"
        );
        // /dev/pts/3: major 136, minor 3.
        let b = stat_bytes(libc::S_IFCHR | 0o620, 0, libc::makedev(136, 3));
        assert_eq!(
            text(|o| stat_fields(o, &b)),
            "{st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0x3), ...}"
        );
    }

    #[test]
    fn the_host_stat_decodes() {
        let mut b = [0u8; stat::SIZE];
        let fd = std::fs::File::open("/proc/self/exe").unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: fstat writes one struct stat into `b`.
        let r = unsafe { libc::syscall(libc::SYS_fstat, fd.as_raw_fd(), b.as_mut_ptr()) };
        assert_eq!(r, 0);
        let len = fd.metadata().unwrap().len();
        let t = text(|o| stat_fields(o, &b));
        assert!(t.starts_with("{st_mode=S_IFREG|0"), "{t}");
        assert!(t.ends_with(&format!(", st_size={len}, ...}}")), "{t}");
    }

    #[test]
    fn utsname_shows_two_fields() {
        let mut b = [0u8; utsname::SIZE];
        b[..5].copy_from_slice(b"Linux");
        b[65..72].copy_from_slice(b"microvm");
        b[130..134].copy_from_slice(b"6.1.");
        assert_eq!(
            text(|o| utsname_fields(o, &b)),
            r#"{sysname="Linux", nodename="microvm", ...}"#
        );
    }

    #[test]
    fn time_structs() {
        let b = linux::pair(12, 345);
        assert_eq!(text(|o| timespec_fields(o, &b)), "{tv_sec=12, tv_nsec=345}");
        assert_eq!(text(|o| timeval_fields(o, &b)), "{tv_sec=12, tv_usec=345}");
    }

    #[test]
    fn limits() {
        let b = linux::pair(8 << 20, linux::RLIM_INFINITY);
        assert_eq!(
            text(|o| rlimit_fields(o, &b, true)),
            "{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}"
        );
        let b = linux::pair(1000, 0);
        assert_eq!(
            text(|o| rlimit_fields(o, &b, false)),
            "{rlim_cur=1000, rlim_max=0}"
        );
    }

    #[test]
    fn terminal_structs() {
        let mut b = [0u8; winsize::SIZE];
        b[0] = 24;
        b[2] = 80;
        assert_eq!(
            text(|o| winsize_fields(o, &b)),
            "{ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}"
        );
        let mut t = [0u8; termios::SIZE];
        t[0] = 0x5;
        t[12..16].copy_from_slice(&0x8a3bu32.to_le_bytes());
        assert_eq!(
            text(|o| termios_fields(o, &t)),
            "{c_iflag=0x5, c_oflag=0x0, c_cflag=0x0, c_lflag=0x8a3b, c_line=0, ...}"
        );
    }

    #[test]
    fn flag_sets() {
        assert_eq!(
            text(|o| at_flags(o, at::EMPTY_PATH, false)),
            "AT_EMPTY_PATH"
        );
        assert_eq!(text(|o| at_flags(o, 0, false)), "0");
        assert_eq!(
            text(|o| at_flags(o, at::SYMLINK_NOFOLLOW | 0x8000_0000, false)),
            "AT_SYMLINK_NOFOLLOW|0x80000000"
        );
        assert_eq!(text(|o| at_flags(o, 0, true)), "AT_STATX_SYNC_AS_STAT");
        assert_eq!(
            text(|o| at_flags(o, at::EMPTY_PATH, true)),
            "AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH"
        );
        assert_eq!(text(|o| statx_mask(o, 0xfff)), "STATX_ALL");
        assert_eq!(
            text(|o| statx_mask(o, 0x17ff)),
            "STATX_BASIC_STATS|STATX_MNT_ID"
        );
        assert_eq!(text(|o| open_args(o, 0, 0o644)), "O_RDONLY");
        assert_eq!(
            text(|o| open_args(o, o::WRONLY | o::CREAT, 0o644)),
            "O_WRONLY|O_CREAT, 0644"
        );
        assert_eq!(text(|o| mode(o, 0)), "000");
    }

    #[test]
    fn fcntl_lines() {
        let a = |cmd: u64, arg: u64| [3, cmd, arg, 0, 0, 0];
        assert_eq!(text(|o| fcntl_args(o, &a(f::GETFD, 0))), "3, F_GETFD");
        assert_eq!(
            text(|o| fcntl_args(o, &a(f::SETFD, 1))),
            "3, F_SETFD, FD_CLOEXEC"
        );
        assert_eq!(
            text(|o| fcntl_args(o, &a(f::DUPFD_CLOEXEC, 10))),
            "3, F_DUPFD_CLOEXEC, 10"
        );
        assert_eq!(
            text(|o| fcntl_args(o, &a(f::SETFL, o::NONBLOCK))),
            "3, F_SETFL, O_RDONLY|O_NONBLOCK"
        );
        assert_eq!(
            text(|o| ret(o, nr::FCNTL, &a(f::GETFL, 0), 0x8000).map(|_| ())),
            " = 0x8000 (flags O_RDONLY|O_LARGEFILE)"
        );
        assert_eq!(
            text(|o| ret(o, nr::FCNTL, &a(f::GETFD, 0), 1).map(|_| ())),
            " = 0x1 (flags FD_CLOEXEC)"
        );
        assert_eq!(
            text(|o| ret(o, nr::FCNTL, &a(f::DUPFD, 0), 5).map(|_| ())),
            ""
        );
    }
}
