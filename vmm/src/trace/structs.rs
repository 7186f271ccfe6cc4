//! The struct and special decoders the syscall table's rows name:
//! `{st_mode=S_IFREG|0644, st_size=2935, ...}`, `O_RDONLY|O_CREAT, 0644`,
//! `{tv_sec=1, tv_nsec=2}`, iovecs, fcntl and ioctl commands...
//!
//! Output structs are read from guest memory after the syscall returned,
//! and only when it succeeded; otherwise (or when the memory cannot be
//! read) the pointer is shown, as strace does. The `*_fields` functions
//! decode bytes in the x86-64 layouts of [`crate::syscall::linux`].

use super::decode::Call;
use super::format::{bits, buffer, octal, pointer, quoted, string, xlat};
use super::{dirent, futex, net, poll, prctl, select, sigargs, termios as term, wait};
use crate::syscall::linux::{self, stat, statx, utsname, winsize};
use crate::usermem::UserMemory;
use microvm_abi::linux::consts::{
    AT_FLAGS, AT_STATX_SYNC_TYPE, FD_CLOEXEC, F_GETFD, F_GETFL, OPEN_ACCESS_MODES, OPEN_MODE_FLAGS,
    O_ACCMODE, O_CREAT, O_TMPFILE,
};
use microvm_abi::linux::syscalls::{Arg, SpecialArg, Struct, Syscall};
use std::io::{self, Write};

/// How many iovecs of a readv/writev are shown.
const IOV_SHOWN: u64 = 8;

/// The limit that asks [`iovecs`] for the buffers' addresses, not their
/// bytes (no return value is this large).
const IOV_ADDRESSES: u64 = u64::MAX;

/// The most elements of an array shown with `-v` (without it, `-s`
/// elements are): a guest's count cannot make a line unbounded.
pub const MAX_ELEMENTS: u64 = 1024;

/// Read `N` guest bytes at `addr`, if ring 3 could.
pub fn read<const N: usize>(mem: &UserMemory<'_>, addr: u64) -> Option<[u8; N]> {
    let mut buf = [0u8; N];
    mem.read(addr, &mut buf).ok().map(|_| buf)
}

/// A struct the caller passed in: decoded if readable, else the pointer.
pub fn input(out: &mut impl Write, c: &Call<'_, '_>, kind: Struct, addr: u64) -> io::Result<()> {
    if addr == 0 {
        return pointer(out, addr);
    }
    let mem = c.mem;
    match kind {
        Struct::Stat => shown(out, mem, addr, |o, b: &[u8; stat::SIZE]| {
            stat_struct(o, b, c.style.verbose)
        }),
        Struct::Statx => shown(out, mem, addr, statx_fields::<_, { statx::SIZE }>),
        Struct::Utsname => shown(out, mem, addr, |o, b: &[u8; utsname::SIZE]| {
            utsname_struct(o, b, c.style.verbose)
        }),
        Struct::Timespec => shown(out, mem, addr, timespec_fields),
        Struct::Timeval => shown(out, mem, addr, timeval_fields),
        Struct::Timezone => shown(out, mem, addr, timezone_fields),
        Struct::Rlimit | Struct::Rlimit64 => shown(out, mem, addr, rlimit_fields),
        Struct::SigAction => shown(out, mem, addr, sigargs::sigaction_fields),
        Struct::StackT => shown(out, mem, addr, sigargs::stack_fields),
        Struct::FdPair => array(out, c, addr, 2, |o, b: &[u8; 4]| {
            c.fd(o, i32::from_le_bytes(*b) as u32 as u64)
        }),
        Struct::WaitStatus => shown(out, mem, addr, |o, b: &[u8; 4]| {
            o.write_all(b"[")?;
            wait::status(o, u32::from_le_bytes(*b))?;
            o.write_all(b"]")
        }),
        Struct::Rusage => shown(out, mem, addr, |o, b: &[u8; wait::RUSAGE_SIZE]| {
            wait::rusage_fields(o, b, c.style.verbose)
        }),
        Struct::Statfs => shown(out, mem, addr, statfs_fields),
        Struct::Sysinfo => shown(out, mem, addr, sysinfo_fields),
    }
}

/// strace's `printflags`: as [`flags_or_unknown`], with the table's own
/// name for 0 (`F_OK`).
pub fn print_flags(
    out: &mut impl Write,
    table: &microvm_abi::linux::xlat::Xlat,
    v: u64,
    unknown: &str,
) -> io::Result<()> {
    match table.kind {
        microvm_abi::linux::xlat::XlatKind::Bits { zero } if v == 0 => {
            out.write_all(zero.as_bytes())
        }
        _ => flags_or_unknown(out, table, v, unknown),
    }
}

/// `struct statfs` (x86-64: eleven 8-byte words, then spare ones), as
/// strace 6 shows it: `{f_type=TMPFS_MAGIC, f_bsize=4096, ...,
/// f_fsid={val=[0x1, 0x2]}, f_namelen=255, f_frsize=4096,
/// f_flags=ST_VALID|ST_RDONLY}`.
fn statfs_fields(out: &mut impl Write, b: &[u8; STATFS_SIZE]) -> io::Result<()> {
    use microvm_abi::linux::consts::{FSMAGIC, STATFS_FLAGS};
    let word = |k: usize| linux::u64_at(b, k * 8);
    let f_type = word(0);
    out.write_all(b"{f_type=")?;
    match FSMAGIC.name(f_type) {
        Some(name) => out.write_all(name.as_bytes())?,
        None => write!(out, "{f_type:#x}")?,
    }
    write!(
        out,
        ", f_bsize={}, f_blocks={}, f_bfree={}, f_bavail={}, f_files={}, f_ffree={}, f_fsid={{val=[",
        word(1) as i64,
        word(2),
        word(3),
        word(4),
        word(5),
        word(6)
    )?;
    let fsid = word(7);
    hex_or_zero(out, fsid & 0xffff_ffff)?;
    out.write_all(b", ")?;
    hex_or_zero(out, fsid >> 32)?;
    write!(
        out,
        "]}}, f_namelen={}, f_frsize={}, f_flags=",
        word(8) as i64,
        word(9) as i64
    )?;
    bits(out, &STATFS_FLAGS, word(10), "0")?;
    out.write_all(b"}")
}

/// `struct sysinfo` (x86-64), as strace 6 shows it: `{uptime=1,
/// loads=[0, 0, 0], totalram=..., ..., procs=1, totalhigh=0, freehigh=0,
/// mem_unit=1}`.
fn sysinfo_fields(out: &mut impl Write, b: &[u8; SYSINFO_SIZE]) -> io::Result<()> {
    let word = |at: usize| linux::u64_at(b, at);
    write!(
        out,
        "{{uptime={}, loads=[{}, {}, {}], totalram={}, freeram={}, sharedram={}, \
         bufferram={}, totalswap={}, freeswap={}, procs={}, totalhigh={}, freehigh={}, \
         mem_unit={}}}",
        word(std::mem::offset_of!(libc::sysinfo, uptime)) as i64,
        word(std::mem::offset_of!(libc::sysinfo, loads)),
        word(std::mem::offset_of!(libc::sysinfo, loads) + 8),
        word(std::mem::offset_of!(libc::sysinfo, loads) + 16),
        word(std::mem::offset_of!(libc::sysinfo, totalram)),
        word(std::mem::offset_of!(libc::sysinfo, freeram)),
        word(std::mem::offset_of!(libc::sysinfo, sharedram)),
        word(std::mem::offset_of!(libc::sysinfo, bufferram)),
        word(std::mem::offset_of!(libc::sysinfo, totalswap)),
        word(std::mem::offset_of!(libc::sysinfo, freeswap)),
        linux::u16_at(b, std::mem::offset_of!(libc::sysinfo, procs)),
        word(std::mem::offset_of!(libc::sysinfo, totalhigh)),
        word(std::mem::offset_of!(libc::sysinfo, freehigh)),
        linux::u32_at(b, std::mem::offset_of!(libc::sysinfo, mem_unit)),
    )
}

/// `struct sysinfo`'s size on x86-64.
const SYSINFO_SIZE: usize = std::mem::size_of::<libc::sysinfo>();

/// `struct statfs`'s size on x86-64.
const STATFS_SIZE: usize = std::mem::size_of::<libc::statfs>();

/// A number in hex, `0` for zero (strace's `%#x`).
fn hex_or_zero(out: &mut impl Write, v: u64) -> io::Result<()> {
    if v == 0 {
        out.write_all(b"0")
    } else {
        write!(out, "{v:#x}")
    }
}

/// A struct the kernel fills: decoded after success, else the pointer.
pub fn output(out: &mut impl Write, c: &Call<'_, '_>, kind: Struct, addr: u64) -> io::Result<()> {
    if !c.succeeded() {
        return pointer(out, addr);
    }
    // wait4 fills the status and usage only when it returns a child.
    if matches!(kind, Struct::WaitStatus | Struct::Rusage) && c.ret_len() == Some(0) {
        return pointer(out, addr);
    }
    input(out, c, kind, addr)
}

/// `show` the `N` bytes at `addr`, or the pointer when they cannot be read.
fn shown<W: Write, const N: usize>(
    out: &mut W,
    mem: &UserMemory<'_>,
    addr: u64,
    show: impl FnOnce(&mut W, &[u8; N]) -> io::Result<()>,
) -> io::Result<()> {
    match read::<N>(mem, addr) {
        Some(b) => show(out, &b),
        None => pointer(out, addr),
    }
}

/// Argument `i` of `row`, a [`SpecialArg`].
pub fn special(
    out: &mut impl Write,
    c: &Call<'_, '_>,
    row: &Syscall,
    kind: SpecialArg,
    i: usize,
) -> io::Result<()> {
    let v = c.args[i];
    let next = c.args.get(i + 1).copied().unwrap_or(0);
    match kind {
        SpecialArg::OpenFlags => {
            open_flags(out, v)?;
            let creates = v & O_CREAT != 0 || v & O_TMPFILE == O_TMPFILE;
            if creates && row.args.get(i + 1) == Some(&Arg::Folded) {
                out.write_all(b", ")?;
                octal(out, next as u32 as u64)?;
            }
            Ok(())
        }
        SpecialArg::StatxAtFlags => statx_at_flags(out, v),
        SpecialArg::Remaining => {
            if c.ret == Some(-i64::from(libc::EINTR)) {
                input(out, c, Struct::Timespec, v)
            } else {
                pointer(out, v)
            }
        }
        SpecialArg::Iovecs { output } => {
            if !output {
                iovecs(out, c, v, next, None)
            } else if let Some(n) = c.ret_len() {
                iovecs(out, c, v, next, Some(n))
            } else {
                pointer(out, v)
            }
        }
        // preadv/preadv2: after a failure, the iovecs with their addresses.
        SpecialArg::PreadIovecs => match c.ret_len() {
            Some(n) => iovecs(out, c, v, next, Some(n)),
            None => iovecs(out, c, v, next, Some(IOV_ADDRESSES)),
        },
        SpecialArg::Fcntl => fcntl_args(out, v, next),
        SpecialArg::Ioctl => ioctl_args(out, c, v, next),
        SpecialArg::OutString => {
            if c.succeeded() {
                string(out, c.mem, v, c.style)
            } else {
                pointer(out, v)
            }
        }
        SpecialArg::CpuSet => match c.ret_len().filter(|&n| n > 0) {
            Some(n) => cpu_list(out, c.mem, v, n),
            None => pointer(out, v),
        },
        SpecialArg::TimeT => match read::<8>(c.mem, v).filter(|_| c.succeeded()) {
            Some(b) => {
                let t = i64::from_le_bytes(b);
                write!(out, "[{t}")?;
                super::format::time_comment(out, t, 0)?;
                out.write_all(b"]")
            }
            None => pointer(out, v),
        },
        SpecialArg::PendingSet => sigargs::pending(out, c, v, next),
        SpecialArg::SigFrameMask => sigargs::frame_mask(out, c),
        SpecialArg::SockType => net::sock_type(out, v),
        SpecialArg::SockProtocol => net::protocol(out, c.args[0], v),
        SpecialArg::SockAddr => net::sockaddr(out, c, v, next as i32),
        SpecialArg::OutSockAddr => net::out_sockaddr(out, c, v, next),
        SpecialArg::PollFds => poll::fds(out, c, v, next),
        SpecialArg::MremapFlags => mremap_flags(out, v, next),
        SpecialArg::Futex => futex::args(out, c, i),
        SpecialArg::Prctl => prctl::args(out, c, i),
        SpecialArg::Dirents { wide } => dirent::entries(out, c, v, wide),
        SpecialArg::FdSets => select::sets(out, c),
        SpecialArg::Clone => clone_args(out, c, i),
        SpecialArg::SigmaskSize => select::sigmask_size(out, c, v),
        SpecialArg::PrintFlags { table, unknown } => {
            print_flags(out, table, v as u32 as u64, unknown)
        }
        SpecialArg::LowHigh => write!(out, "{}", v as i64),
        SpecialArg::Str => string(out, c.mem, v, c.style),
    }
}

/// strace's `print_array`: `[a, b, ...]`, `NULL`, `[]`; the pointer when
/// the first element cannot be read, `... /* 0x... */` when a later one
/// cannot; after `-s` elements (`-v`: [`MAX_ELEMENTS`]) `...`.
pub fn array<W: Write, const N: usize>(
    out: &mut W,
    c: &Call<'_, '_>,
    addr: u64,
    count: u64,
    mut elem: impl FnMut(&mut W, &[u8; N]) -> io::Result<()>,
) -> io::Result<()> {
    if addr == 0 {
        return pointer(out, addr);
    }
    if count == 0 {
        return out.write_all(b"[]");
    }
    let fits = count
        .checked_mul(N as u64)
        .and_then(|size| addr.checked_add(size))
        .is_some();
    if !fits {
        return pointer(out, addr);
    }
    let limit = if c.style.verbose {
        MAX_ELEMENTS
    } else {
        (c.style.string_limit as u64).min(MAX_ELEMENTS)
    };
    for i in 0..count {
        let cur = addr + i * N as u64;
        if i > 0 {
            out.write_all(b", ")?;
        }
        let Some(b) = read::<N>(c.mem, cur) else {
            if i == 0 {
                return pointer(out, cur);
            }
            write!(out, "... /* {cur:#x} */")?;
            break;
        };
        if i == 0 {
            out.write_all(b"[")?;
        }
        if i >= limit {
            out.write_all(b"...")?;
            break;
        }
        elem(out, &b)?;
    }
    out.write_all(b"]")
}

/// strace's `printflags`: the names of the bits set joined by `|` and any
/// bits left in hex; when no bit has a name, the number with
/// `/* {unknown} */`; 0 as `0`.
pub fn flags_or_unknown(
    out: &mut impl Write,
    table: &microvm_abi::linux::xlat::Xlat,
    v: u64,
    unknown: &str,
) -> io::Result<()> {
    let named = table
        .entries
        .iter()
        .any(|&(bit, _)| bit != 0 && v & bit == bit);
    if v != 0 && !named {
        return write!(out, "{v:#x} /* {unknown} */");
    }
    bits(out, table, v, "0")
}

/// clone(2) on x86-64 (flags, stack, parent_tid, child_tid, tls), as
/// strace names them; the pointers the flags use, the parent's tid after
/// success.
fn clone_args(out: &mut impl Write, c: &Call<'_, '_>, i: usize) -> io::Result<()> {
    use microvm_abi::linux::consts::{
        CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_FLAGS, CLONE_PARENT_SETTID, CLONE_PIDFD,
        CLONE_SETTLS, CSIGNAL,
    };
    let arg = |k: usize| c.args.get(i + k).copied().unwrap_or(0);
    let (flags, sig) = (arg(0) & !CSIGNAL, arg(0) & CSIGNAL);
    out.write_all(b"child_stack=")?;
    pointer(out, arg(1))?;
    out.write_all(b", flags=")?;
    if flags != 0 {
        flags_or_unknown(out, &CLONE_FLAGS, flags, "CLONE_???")?;
        if sig != 0 {
            out.write_all(b"|")?;
            sigargs::signal(out, sig)?;
        }
    } else {
        sigargs::signal(out, sig)?;
    }
    if flags & (CLONE_PARENT_SETTID | CLONE_PIDFD) != 0 {
        out.write_all(b", parent_tid=")?;
        match read::<4>(c.mem, arg(2)).filter(|_| c.succeeded()) {
            Some(b) => write!(out, "[{}]", i32::from_le_bytes(b))?,
            None => pointer(out, arg(2))?,
        }
    }
    if flags & CLONE_SETTLS != 0 {
        out.write_all(b", tls=")?;
        pointer(out, arg(4))?;
    }
    if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
        out.write_all(b", child_tidptr=")?;
        pointer(out, arg(3))?;
    }
    Ok(())
}

/// mremap's flags, and the new address when they ask for a fixed one.
fn mremap_flags(out: &mut impl Write, flags: u64, new: u64) -> io::Result<()> {
    use microvm_abi::linux::consts::{MREMAP_FIXED, MREMAP_FLAGS, MREMAP_MAYMOVE};
    flags_or_unknown(out, &MREMAP_FLAGS, flags, "MREMAP_???")?;
    let both = MREMAP_MAYMOVE | MREMAP_FIXED;
    if flags & both == both {
        out.write_all(b", ")?;
        pointer(out, new)?;
    }
    Ok(())
}

/// time's result: the seconds and their date, `= 1795843193
/// (2026-11-28T05:19:53+0000)`.
pub fn time_ret(out: &mut impl Write, r: i64) -> io::Result<()> {
    write!(out, "= {r}")?;
    let mut comment = Vec::new();
    super::format::time_comment(&mut comment, r, 0)?;
    let date = comment
        .strip_prefix(b" /* ")
        .and_then(|d| d.strip_suffix(b" */"));
    if let Some(date) = date {
        out.write_all(b" (")?;
        out.write_all(date)?;
        out.write_all(b")")?;
    }
    Ok(())
}

/// fcntl's return value: the flags `F_GETFD` and `F_GETFL` return, decoded.
pub fn fcntl_ret(out: &mut impl Write, c: &Call<'_, '_>, ret: i64) -> io::Result<()> {
    match c.args[1] as u32 as u64 {
        F_GETFD if ret != 0 => {
            write!(out, "= {ret:#x}")?;
            if ret as u64 & FD_CLOEXEC != 0 {
                out.write_all(b" (flags FD_CLOEXEC)")?;
            }
            Ok(())
        }
        F_GETFL => {
            write!(out, "= {ret:#x} (flags ")?;
            open_flags(out, ret as u64)?;
            out.write_all(b")")
        }
        _ => write!(out, "= {ret}"),
    }
}

/// open(2) flags as strace shows them: the access mode, then the flags.
pub fn open_flags(out: &mut impl Write, v: u64) -> io::Result<()> {
    let v = v as u32 as u64;
    xlat(out, &OPEN_ACCESS_MODES, v & O_ACCMODE)?;
    let rest = v & !O_ACCMODE;
    if rest != 0 {
        out.write_all(b"|")?;
        bits(out, &OPEN_MODE_FLAGS, rest, "0")?;
    }
    Ok(())
}

/// statx's flags as strace shows them: the sync type first
/// (`AT_STATX_SYNC_AS_STAT` for none), then the `AT_*` flags.
fn statx_at_flags(out: &mut impl Write, v: u64) -> io::Result<()> {
    use microvm_abi::linux::consts::AT_STATX_SYNC_TYPES;
    let v = v as u32 as u64;
    xlat(out, &AT_STATX_SYNC_TYPES, v & AT_STATX_SYNC_TYPE)?;
    let rest = v & !AT_STATX_SYNC_TYPE;
    if rest != 0 {
        out.write_all(b"|")?;
        xlat(out, &AT_FLAGS, rest)?;
    }
    Ok(())
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
    // strace's `%#x`: 0 as `0`.
    out.write_all(b"makedev(")?;
    super::format::hex(out, major)?;
    out.write_all(b", ")?;
    super::format::hex(out, minor)?;
    out.write_all(b")")
}

/// `{st_mode=S_IFREG|0644, st_size=2935, ...}` (device files show
/// st_rdev instead of st_size).
pub fn stat_fields<W: Write, const N: usize>(out: &mut W, b: &[u8; N]) -> io::Result<()> {
    stat_struct(out, b, false)
}

/// `struct stat` as strace shows it: abbreviated, or with `-v` every field
/// (`{st_dev=makedev(0x8, 0x1), st_ino=..., ..., st_ctime_nsec=...}`).
fn stat_struct(out: &mut impl Write, b: &[u8], verbose: bool) -> io::Result<()> {
    let m = linux::u32_at(b, stat::MODE);
    out.write_all(b"{")?;
    if verbose {
        out.write_all(b"st_dev=")?;
        makedev(out, linux::u64_at(b, stat::DEV))?;
        write!(out, ", st_ino={}, st_mode=", linux::u64_at(b, stat::INO))?;
        mode(out, m)?;
        write!(
            out,
            ", st_nlink={}, st_uid={}, st_gid={}, st_blksize={}, st_blocks={}",
            linux::u64_at(b, stat::NLINK),
            linux::u32_at(b, stat::UID),
            linux::u32_at(b, stat::GID),
            linux::u64_at(b, stat::BLKSIZE),
            linux::u64_at(b, stat::BLOCKS),
        )?;
    } else {
        out.write_all(b"st_mode=")?;
        mode(out, m)?;
    }
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
    if !verbose {
        return out.write_all(b", ...}");
    }
    for (name, sec, nsec) in stat::TIMES {
        let (sec, nsec) = (linux::u64_at(b, sec) as i64, linux::u64_at(b, nsec));
        write!(out, ", {name}={sec}")?;
        super::format::time_comment(out, sec, nsec)?;
        write!(out, ", {name}_nsec={nsec}")?;
    }
    out.write_all(b"}")
}

/// `{stx_mask=..., stx_attributes=0, stx_mode=S_IFREG|0644, stx_size=2935, ...}`.
pub fn statx_fields<W: Write, const N: usize>(out: &mut W, b: &[u8; N]) -> io::Result<()> {
    out.write_all(b"{stx_mask=")?;
    xlat(
        out,
        &microvm_abi::linux::consts::STATX_MASK,
        u64::from(linux::u32_at(b, statx::MASK)),
    )?;
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
    utsname_struct(out, b, false)
}

/// `struct utsname`: sysname and nodename, or with `-v` all six fields.
fn utsname_struct(out: &mut impl Write, b: &[u8], verbose: bool) -> io::Result<()> {
    let shown = if verbose { utsname::FIELDS } else { 2 };
    out.write_all(b"{")?;
    for (i, name) in utsname::NAMES.iter().take(shown).enumerate() {
        let field = b
            .get(i * utsname::FIELD..(i + 1) * utsname::FIELD)
            .unwrap_or(&[]);
        let len = field.iter().position(|&c| c == 0).unwrap_or(field.len());
        if i > 0 {
            out.write_all(b", ")?;
        }
        write!(out, "{name}=")?;
        quoted(out, &field[..len], false)?;
    }
    out.write_all(if verbose { b"}" } else { b", ...}" })
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

/// `{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}`: a 64-bit program's
/// limits are 64-bit for getrlimit/setrlimit too, and strace names them so.
pub fn rlimit_fields(out: &mut impl Write, b: &[u8; 16]) -> io::Result<()> {
    let one = |out: &mut dyn Write, v: u64| {
        if v == linux::RLIM_INFINITY {
            out.write_all(b"RLIM64_INFINITY")
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

/// fcntl's command and, for the commands that take one, its argument.
fn fcntl_args(out: &mut impl Write, cmd: u64, arg: u64) -> io::Result<()> {
    use microvm_abi::linux::consts::{
        FCNTLCMDS, FDFLAGS, F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, F_SETFL,
    };
    let cmd = cmd as u32 as u64;
    xlat(out, &FCNTLCMDS, cmd)?;
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => write!(out, ", {}", arg as i32),
        F_SETFD => {
            out.write_all(b", ")?;
            xlat(out, &FDFLAGS, arg)
        }
        F_SETFL => {
            out.write_all(b", ")?;
            open_flags(out, arg)
        }
        F_GETFD | F_GETFL => Ok(()),
        // As strace: the pipe size in decimal, none to get it.
        c if c == libc::F_SETPIPE_SZ as u64 => write!(out, ", {}", arg as i32),
        c if c == libc::F_GETPIPE_SZ as u64 => Ok(()),
        _ => {
            out.write_all(b", ")?;
            super::format::hex(out, arg)
        }
    }
}

/// ioctl's request and its argument: the terminal structs decoded.
fn ioctl_args(out: &mut impl Write, c: &Call<'_, '_>, req: u64, arg: u64) -> io::Result<()> {
    use microvm_abi::linux::consts::{
        IOCTL_REQUESTS, TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGWINSZ,
    };
    let req = req as u32 as u64;
    match IOCTL_REQUESTS.name(req) {
        Some(name) => out.write_all(name.as_bytes())?,
        None => write!(out, "{req:#x}")?,
    }
    out.write_all(b", ")?;
    let filled = c.succeeded() && arg != 0;
    match req {
        TCGETS if filled => shown(out, c.mem, arg, |o, b| term::fields(o, b, c.style.verbose)),
        TCSETS | TCSETSW | TCSETSF if arg != 0 => {
            shown(out, c.mem, arg, |o, b| term::fields(o, b, c.style.verbose))
        }
        TIOCGWINSZ if filled => shown(out, c.mem, arg, winsize_fields),
        _ => pointer(out, arg),
    }
}

/// `[{iov_base="hello", iov_len=5}, ...]`; with `limit`, only that many
/// bytes of data are shown in all (what a readv returned).
fn iovecs(
    out: &mut impl Write,
    c: &Call<'_, '_>,
    iov: u64,
    count: u64,
    limit: Option<u64>,
) -> io::Result<()> {
    if iov == 0 {
        return pointer(out, iov);
    }
    let count = count as u32 as u64;
    let entry = |i: u64| {
        iov.checked_add(i * linux::PAIR_SIZE as u64)
            .and_then(|a| read::<16>(c.mem, a))
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
        if limit == Some(IOV_ADDRESSES) {
            pointer(out, base)?;
        } else {
            let shown = len.min(left);
            buffer(out, c.mem, base, shown, c.style)?;
            left -= shown;
        }
        write!(out, ", iov_len={len}}}")?;
    }
    if count > IOV_SHOWN {
        out.write_all(b", ...")?;
    }
    out.write_all(b"]")
}

/// The CPUs set in the `len`-byte mask at `addr`: `[0]`, `[0, 1]`.
fn cpu_list(out: &mut impl Write, mem: &UserMemory<'_>, addr: u64, len: u64) -> io::Result<()> {
    const MAX: usize = 128;
    let len = len.min(MAX as u64) as usize;
    let mut buf = [0u8; MAX];
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

    use crate::trace::testing::text;

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
            text(|o| rlimit_fields(o, &b)),
            "{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}"
        );
        let b = linux::pair(1000, 0);
        assert_eq!(
            text(|o| rlimit_fields(o, &b)),
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
    }

    use crate::trace::testing::{Memory, USER};
    use microvm_abi::linux::nr;

    #[test]
    fn flag_sets() {
        let mut m = Memory::new();
        let path = m.put(USER, b"/etc/passwd\0");
        let at = |flags| [3, path, USER + 0x100, flags, 0, 0];
        assert_eq!(
            m.line(nr::NEWFSTATAT, at(0x1000), Some(-2)),
            "newfstatat(3, \"/etc/passwd\", 0x10000100, AT_EMPTY_PATH) = -1 ENOENT (No such file or directory)"
        );
        assert!(m
            .line(nr::NEWFSTATAT, at(0x8000_0100), Some(-2))
            .ends_with("AT_SYMLINK_NOFOLLOW|0x80000000) = -1 ENOENT (No such file or directory)"));
        let statx = |flags, mask| [3, path, flags, mask, 0, 0];
        assert_eq!(
            m.line(nr::STATX, statx(0, 0xfff), Some(-9)),
            "statx(3, \"/etc/passwd\", AT_STATX_SYNC_AS_STAT, STATX_ALL, NULL) = -1 EBADF (Bad file descriptor)"
        );
        assert!(m
            .line(nr::STATX, statx(0x1000, 0x17ff), Some(-9))
            .contains("AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH, STATX_BASIC_STATS|STATX_MNT_ID"));
        assert!(m
            .line(nr::STATX, statx(0x4100, 0x1), Some(-9))
            .contains("AT_STATX_DONT_SYNC|AT_SYMLINK_NOFOLLOW, STATX_TYPE"));
        assert_eq!(
            m.line(
                nr::OPENAT,
                [(-100i64) as u64, path, 0, 0o644, 0, 0],
                Some(3)
            ),
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY) = 3"
        );
        assert_eq!(
            m.line(nr::OPEN, [path, 0o2000101, 0o644, 0, 0, 0], Some(3)),
            "open(\"/etc/passwd\", O_WRONLY|O_CREAT|O_CLOEXEC, 0644) = 3"
        );
        assert_eq!(
            m.line(nr::MMAP, [0, 8192, 3, 0x22, u64::MAX, 0], Some(0x7000_0000)),
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x70000000"
        );
    }

    #[test]
    fn verbose_shows_every_field() {
        use crate::trace::style::Style;
        let mut m = Memory::new();
        let mut uts = [0u8; utsname::SIZE];
        for (i, v) in [
            &b"Linux"[..],
            b"microvm",
            b"6.1",
            b"#1",
            b"x86_64",
            b"(none)",
        ]
        .iter()
        .enumerate()
        {
            uts[i * utsname::FIELD..][..v.len()].copy_from_slice(v);
        }
        let at = m.put(USER, &uts);
        let v = Style {
            verbose: true,
            ..Style::default()
        };
        assert_eq!(
            m.line_with(&v, nr::UNAME, [at, 0, 0, 0, 0, 0], Some(0)),
            r##"uname({sysname="Linux", nodename="microvm", release="6.1", version="#1", machine="x86_64", domainname="(none)"}) = 0"##
        );
        assert_eq!(
            m.line(nr::UNAME, [at, 0, 0, 0, 0, 0], Some(0)),
            r#"uname({sysname="Linux", nodename="microvm", ...}) = 0"#
        );
    }

    #[test]
    fn memory_advice_and_remaps() {
        let m = Memory::new();
        let a = 0x7f45_c5ef_c000u64;
        assert_eq!(
            m.line(nr::MADVISE, [a, 4096, 4, 0, 0, 0], Some(0)),
            "madvise(0x7f45c5efc000, 4096, MADV_DONTNEED) = 0"
        );
        assert_eq!(
            m.line(nr::MADVISE, [a, 4096, 14, 0, 0, 0], Some(-38)),
            "madvise(0x7f45c5efc000, 4096, MADV_HUGEPAGE) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            m.line(nr::MADVISE, [a, 4096, 77, 0, 0, 0], Some(-22)),
            "madvise(0x7f45c5efc000, 4096, 0x4d /* MADV_??? */) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::MREMAP, [a, 4096, 8192, 1, 0x1234, 0], Some(a as i64)),
            "mremap(0x7f45c5efc000, 4096, 8192, MREMAP_MAYMOVE) = 0x7f45c5efc000"
        );
        assert_eq!(
            m.line(nr::MREMAP, [u64::MAX, 8192, 4096, 0, 0, 0], Some(-22)),
            "mremap(0xffffffffffffffff, 8192, 4096, 0) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::MREMAP, [u64::MAX, 4096, 4096, 3, 0xffff, 0], Some(-22)),
            "mremap(0xffffffffffffffff, 4096, 4096, MREMAP_MAYMOVE|MREMAP_FIXED, 0xffff) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::MREMAP, [a, 4096, 4096, 0x40, 0xffff, 0], Some(-22)),
            "mremap(0x7f45c5efc000, 4096, 4096, 0x40 /* MREMAP_??? */) = -1 EINVAL (Invalid argument)"
        );
    }

    #[test]
    fn clone_lines_like_strace() {
        let mut m = Memory::new();
        let ptid = m.put(USER, &26140u32.to_le_bytes());
        let l = |a: [u64; 5], r: i64| m.line(nr::CLONE, [a[0], a[1], a[2], a[3], a[4], 0], Some(r));
        assert_eq!(
            l([0x0120_0011, 0, 0, 0x7f84_d322_3a10, 0], 26139),
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f84d3223a10) = 26139"
        );
        assert_eq!(
            l([0x0010_0011, 0, ptid, 0, 0], 26140),
            "clone(child_stack=NULL, flags=CLONE_PARENT_SETTID|SIGCHLD, parent_tid=[26140]) = 26140"
        );
        assert_eq!(
            l([0x0010_0011, 0, ptid, 0, 0], -38),
            "clone(child_stack=NULL, flags=CLONE_PARENT_SETTID|SIGCHLD, parent_tid=0x10000000) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            l([0, 0, 0, 0, 0x1234], 26141),
            "clone(child_stack=NULL, flags=0) = 26141"
        );
        assert_eq!(
            l([0x0400_0008_0100, 0x1000, ptid, 0x2000, 0x1234], 26142),
            "clone(child_stack=0x1000, flags=CLONE_VM|CLONE_SETTLS|0x40000000000, tls=0x1234) = 26142"
        );
        assert_eq!(
            l([0x3010_000a, 0, 0x10, 0, 0], 26143),
            "clone(child_stack=NULL, flags=CLONE_PARENT_SETTID|CLONE_NEWUSER|CLONE_NEWPID|SIGUSR1, parent_tid=0x10) = 26143"
        );
    }

    #[test]
    fn strace_number_and_path_forms() {
        let mut m = Memory::new();
        // No iovecs at NULL: NULL, as strace's print_array.
        assert_eq!(
            m.line(nr::WRITEV, [1, 0, 0, 0, 0, 0], Some(0)),
            "writev(1, NULL, 0) = 0"
        );
        let t = m.put(USER, &1795843193i64.to_le_bytes());
        assert_eq!(
            m.line(nr::TIME, [t, 0, 0, 0, 0, 0], Some(1795843193)),
            "time([1795843193 /* 2026-11-28T05:19:53+0000 */]) = 1795843193 (2026-11-28T05:19:53+0000)"
        );
        assert_eq!(
            m.line(nr::TIME, [0, 0, 0, 0, 0, 0], Some(1795843193)),
            "time(NULL) = 1795843193 (2026-11-28T05:19:53+0000)"
        );
        // Paths are not cut at -s.
        let p = m.put(USER + 0x100, b"/tmp/microvm-strace-files-27622/dir\0");
        assert_eq!(
            m.line(nr::OPENAT, [(-100i64) as u64, p, 0o2200000, 0, 0, 0], Some(3)),
            "openat(AT_FDCWD, \"/tmp/microvm-strace-files-27622/dir\", O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 3"
        );
        let r = m.put(USER + 0x200, &[0xff; 16]);
        assert_eq!(
            m.line(nr::GETRLIMIT, [4, r, 0, 0, 0, 0], Some(0)),
            "getrlimit(RLIMIT_CORE, {rlim_cur=RLIM64_INFINITY, rlim_max=RLIM64_INFINITY}) = 0"
        );
    }

    /// Every row's decoders over hostile values: pointers into the user
    /// pages (filled with a byte pattern), at their end, nowhere; sizes and
    /// counts absurd; results of every kind. No panic, and lines bounded.
    #[test]
    fn every_row_survives_hostile_arguments() {
        use crate::trace::style::Style;
        use microvm_abi::layout::PAGE_SIZE;
        use microvm_abi::linux::syscalls::SYSCALLS;
        let mut m = Memory::new();
        let end = USER + crate::trace::testing::PAGES * PAGE_SIZE;
        for (i, fill) in [0xffu8, 0x01, 0x7f].iter().enumerate() {
            let page = [*fill; PAGE_SIZE as usize];
            m.put(USER + i as u64 * PAGE_SIZE, &page);
        }
        let values = [
            0,
            8,
            USER + 0x123,
            end - 8,
            end,
            u32::MAX as u64,
            i32::MAX as u64,
            u64::MAX - 7,
        ];
        let verbose = Style {
            verbose: true,
            string_limit: 4096,
            ..Style::default()
        };
        let mut n = 0u64;
        for row in SYSCALLS {
            for (k, &a) in values.iter().enumerate() {
                let b = values[(k * 7 + 3) % values.len()];
                let args = [a, b, a ^ b, b, a, b.wrapping_add(a)];
                for ret in [Some(0), Some(1), Some(i64::MAX), Some(4096), None] {
                    for style in [&Style::default(), &verbose] {
                        let l = m.line_with(style, row.nr, args, ret);
                        assert!(l.len() < 1 << 20, "{}: {} bytes", row.name, l.len());
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 3_000);
    }

    #[test]
    fn fcntl_lines() {
        let m = Memory::new();
        let f = |cmd: u64, arg: u64, ret: i64| m.line(nr::FCNTL, [3, cmd, arg, 0, 0, 0], Some(ret));
        assert_eq!(f(1, 0, 0), "fcntl(3, F_GETFD) = 0");
        assert_eq!(f(1032, 7, 65536), "fcntl(3, F_GETPIPE_SZ) = 65536");
        assert_eq!(f(1031, 4096, 4096), "fcntl(3, F_SETPIPE_SZ, 4096) = 4096");
        assert_eq!(f(1, 0, 1), "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)");
        assert_eq!(f(2, 1, 0), "fcntl(3, F_SETFD, FD_CLOEXEC) = 0");
        assert_eq!(f(1030, 10, 10), "fcntl(3, F_DUPFD_CLOEXEC, 10) = 10");
        assert_eq!(
            f(4, 0o4000, 0),
            "fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK) = 0"
        );
        assert_eq!(
            f(3, 0, 0x8000),
            "fcntl(3, F_GETFL) = 0x8000 (flags O_RDONLY|O_LARGEFILE)"
        );
        assert_eq!(f(0, 0, 5), "fcntl(3, F_DUPFD, 0) = 5");
    }

    #[test]
    fn buffers_strings_and_styles() {
        use crate::trace::style::{HexStrings, Style};
        let mut m = Memory::new();
        let buf = m.put(USER, b"hi\x01\n");
        assert_eq!(
            m.line(nr::WRITE, [1, buf, 4, 0, 0, 0], Some(4)),
            "write(1, \"hi\\1\\n\", 4) = 4"
        );
        let x = Style {
            hex: HexStrings::NonAscii,
            ..Style::default()
        };
        assert_eq!(
            m.line_with(&x, nr::WRITE, [1, buf, 4, 0, 0, 0], Some(4)),
            "write(1, \"\\x68\\x69\\x01\\x0a\", 4) = 4"
        );
        let s2 = Style {
            string_limit: 2,
            ..Style::default()
        };
        assert_eq!(
            m.line_with(&s2, nr::WRITE, [1, buf, 4, 0, 0, 0], Some(4)),
            "write(1, \"hi\"..., 4) = 4"
        );
        // A zero-length iovec at NULL is NULL, as strace shows it.
        let iov = m.put(USER + 0x100, &[0u8; 16]);
        assert_eq!(
            m.line(nr::WRITEV, [1, iov, 1, 0, 0, 0], Some(0)),
            "writev(1, [{iov_base=NULL, iov_len=0}], 1) = 0"
        );
        // getrandom's bytes in hex, whatever -x says.
        let r = m.put(USER + 0x200, b"\x53\xf7");
        assert_eq!(
            m.line(nr::GETRANDOM, [r, 2, 1, 0, 0, 0], Some(2)),
            "getrandom(\"\\x53\\xf7\", 2, GRND_NONBLOCK) = 2"
        );
        // A number x86-64 has no syscall for.
        assert_eq!(
            m.line(500, [0, 1, 2, 3, 4, 5], Some(-38)),
            "syscall_0x1f4(0, 0x1, 0x2, 0x3, 0x4, 0x5) = -1 ENOSYS (Function not implemented)"
        );
    }
}
