//! strace-style text: arguments decoded by type, buffers as quoted escaped
//! strings, errors with their errno name and message.

use super::structs;
use super::sysent::{self, Arg};
use crate::exception;
use crate::syscall::mm;
use crate::usermem::UserMemory;
use microvm_abi::TrapFrame;
use std::io::{self, Write};

/// How many bytes of a buffer or string are shown before "...".
pub const STRING_LIMIT: usize = 32;

/// Linux's AT_FDCWD.
const AT_FDCWD: i32 = crate::syscall::linux::at::FDCWD;

/// The largest errno a syscall returns (-4095..-1 are errors).
const MAX_ERRNO: i64 = 4095;

/// Name and message of each errno, built on first use from nix's names and
/// the C library's messages (the same strerror text strace prints).
fn errno_table() -> &'static [(String, String)] {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Vec<(String, String)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=MAX_KNOWN_ERRNO)
            .map(|n| {
                let name = format!("{:?}", nix::errno::Errno::from_raw(n));
                let message = std::io::Error::from_raw_os_error(n).to_string();
                let suffix = format!(" (os error {n})");
                let message = message
                    .strip_suffix(&suffix)
                    .unwrap_or(&message)
                    .to_string();
                (name, message)
            })
            .collect()
    })
}

/// The highest errno Linux defines (EHWPOISON).
const MAX_KNOWN_ERRNO: i32 = 133;

/// `("ENOSYS", "Function not implemented")` for a syscall return value that
/// is an error Linux defines.
pub fn errno(ret: i64) -> Option<(&'static str, &'static str)> {
    if !(-MAX_ERRNO..0).contains(&ret) || -ret > i64::from(MAX_KNOWN_ERRNO) {
        return None;
    }
    let (name, message) = &errno_table()[(-ret) as usize];
    Some((name.as_str(), message.as_str()))
}

/// "ENOSYS" for a syscall return value that is an error.
pub fn errno_name(ret: i64) -> Option<&'static str> {
    errno(ret).map(|(name, _)| name)
}

/// Write `bytes` as a C string literal, strace style.
pub fn quoted(out: &mut impl Write, bytes: &[u8], truncated: bool) -> io::Result<()> {
    out.write_all(b"\"")?;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\n' => out.write_all(b"\\n")?,
            b'\t' => out.write_all(b"\\t")?,
            b'\r' => out.write_all(b"\\r")?,
            0x0b => out.write_all(b"\\v")?,
            0x0c => out.write_all(b"\\f")?,
            b'"' => out.write_all(b"\\\"")?,
            b'\\' => out.write_all(b"\\\\")?,
            0x20..=0x7e => out.write_all(&[b])?,
            _ => {
                let next_is_digit = bytes.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                if next_is_digit {
                    write!(out, "\\{b:03o}")?
                } else {
                    write!(out, "\\{b:o}")?
                }
            }
        }
    }
    out.write_all(b"\"")?;
    if truncated {
        out.write_all(b"...")?;
    }
    Ok(())
}

/// A pointer: hex, or NULL.
pub fn pointer(out: &mut impl Write, v: u64) -> io::Result<()> {
    if v == 0 {
        out.write_all(b"NULL")
    } else {
        write!(out, "{v:#x}")
    }
}

/// open(2) flags by name.
pub fn open_flags(out: &mut impl Write, v: u64) -> io::Result<()> {
    use crate::syscall::linux::o;
    const FLAGS: [(u64, &str); 13] = [
        (o::CREAT, "O_CREAT"),
        (o::EXCL, "O_EXCL"),
        (o::NOCTTY, "O_NOCTTY"),
        (o::TRUNC, "O_TRUNC"),
        (o::APPEND, "O_APPEND"),
        (o::NONBLOCK, "O_NONBLOCK"),
        (o::DSYNC, "O_DSYNC"),
        (o::DIRECT, "O_DIRECT"),
        (o::DIRECTORY, "O_DIRECTORY"),
        (o::NOFOLLOW, "O_NOFOLLOW"),
        (o::NOATIME, "O_NOATIME"),
        (o::CLOEXEC, "O_CLOEXEC"),
        (o::PATH, "O_PATH"),
    ];
    let mode = match v & o::ACCMODE {
        o::RDONLY => "O_RDONLY",
        o::WRONLY => "O_WRONLY",
        o::RDWR => "O_RDWR",
        _ => "O_ACCMODE",
    };
    out.write_all(mode.as_bytes())?;
    let mut rest = v & !o::ACCMODE;
    // O_LARGEFILE is implied on x86-64; strace shows it too.
    if rest & o::LARGEFILE != 0 {
        out.write_all(b"|O_LARGEFILE")?;
        rest &= !o::LARGEFILE;
    }
    for (bit, name) in FLAGS {
        if rest & bit != 0 {
            write!(out, "|{name}")?;
            rest &= !bit;
        }
    }
    if rest != 0 {
        write!(out, "|{rest:#o}")?;
    }
    Ok(())
}

/// `len` guest bytes at `addr` as a quoted string (cut at
/// [`STRING_LIMIT`]), or the pointer if they cannot be read.
pub fn buffer(out: &mut impl Write, mem: &UserMemory<'_>, addr: u64, len: u64) -> io::Result<()> {
    let shown = (len as usize).min(STRING_LIMIT);
    let mut buf = [0u8; STRING_LIMIT];
    match mem.read(addr, &mut buf[..shown]) {
        Ok(()) => quoted(out, &buf[..shown], len as usize > shown),
        Err(_) => pointer(out, addr),
    }
}

/// The NUL-terminated guest string at `addr`, quoted, or the pointer.
pub fn string(out: &mut impl Write, mem: &UserMemory<'_>, addr: u64) -> io::Result<()> {
    let mut buf = [0u8; STRING_LIMIT];
    match mem.read_cstr(addr, &mut buf) {
        Ok((n, found)) => quoted(out, &buf[..n], !found),
        Err(_) => pointer(out, addr),
    }
}

/// A file descriptor (an int), `AT_FDCWD` by name.
pub fn fd(out: &mut impl Write, v: u64) -> io::Result<()> {
    if v as i32 == AT_FDCWD {
        out.write_all(b"AT_FDCWD")
    } else {
        write!(out, "{}", v as i32)
    }
}

/// An octal mode as C's `%#03o` writes it: `0644`, `000`.
pub fn octal(out: &mut impl Write, v: u64) -> io::Result<()> {
    if v == 0 {
        out.write_all(b"000")
    } else {
        write!(out, "0{v:02o}")
    }
}

/// One argument.
fn arg(
    out: &mut impl Write,
    mem: &UserMemory<'_>,
    kind: Arg,
    args: &[u64; 6],
    i: usize,
    ret: Option<i64>,
) -> io::Result<()> {
    let v = args[i];
    match kind {
        Arg::Int => write!(out, "{}", v as i64),
        Arg::UInt => write!(out, "{v}"),
        Arg::Hex => write!(out, "{v:#x}"),
        Arg::Mode => octal(out, v),
        Arg::Fd => fd(out, v),
        Arg::Ptr => pointer(out, v),
        Arg::Str => string(out, mem, v),
        Arg::InBuf(len_arg) => {
            let len = args.get(len_arg as usize).copied().unwrap_or(0);
            buffer(out, mem, v, len)
        }
        Arg::OutBuf => match ret {
            Some(n) if n >= 0 => buffer(out, mem, v, n as u64),
            _ => pointer(out, v),
        },
        Arg::OpenFlags => open_flags(out, v),
    }
}

/// Write `v` as the names of the `bits` set in it, joined by `|`; bits
/// without a name are shown in hex; `zero` is shown for 0.
pub fn bit_names(out: &mut impl Write, v: u64, bits: &[(u64, &str)], zero: &str) -> io::Result<()> {
    if v == 0 {
        return out.write_all(zero.as_bytes());
    }
    let mut rest = v;
    let mut first = true;
    for &(bit, name) in bits {
        if rest & bit == bit && bit != 0 {
            if !first {
                out.write_all(b"|")?;
            }
            out.write_all(name.as_bytes())?;
            rest &= !bit;
            first = false;
        }
    }
    if rest != 0 {
        if !first {
            out.write_all(b"|")?;
        }
        write!(out, "{rest:#x}")?;
    }
    Ok(())
}

/// mmap/mprotect protections.
const PROT: [(u64, &str); 3] = [
    (mm::PROT_READ, "PROT_READ"),
    (mm::PROT_WRITE, "PROT_WRITE"),
    (mm::PROT_EXEC, "PROT_EXEC"),
];

/// mmap flags.
const MAP: [(u64, &str); 12] = [
    (mm::MAP_SHARED, "MAP_SHARED"),
    (mm::MAP_PRIVATE, "MAP_PRIVATE"),
    (mm::MAP_FIXED, "MAP_FIXED"),
    (mm::MAP_ANONYMOUS, "MAP_ANONYMOUS"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x2_0000, "MAP_STACK"),
    (mm::MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"),
];

/// The memory syscalls' flag arguments, by name as strace shows them.
/// Returns false when argument `i` of `name` is not one of them.
fn memory_arg(out: &mut impl Write, name: &str, i: usize, v: u64) -> io::Result<bool> {
    match (name, i) {
        ("mmap", 2) | ("mprotect", 2) | ("pkey_mprotect", 2) => {
            bit_names(out, v, &PROT, "PROT_NONE")?
        }
        ("mmap", 3) => bit_names(out, v, &MAP, "0")?,
        ("mmap", 4) => write!(out, "{}", v as i32)?,
        ("mmap", 5) => write!(out, "{v}")?,
        ("arch_prctl", 0) => {
            let code = match v {
                mm::ARCH_SET_GS => "ARCH_SET_GS",
                mm::ARCH_SET_FS => "ARCH_SET_FS",
                mm::ARCH_GET_FS => "ARCH_GET_FS",
                mm::ARCH_GET_GS => "ARCH_GET_GS",
                _ => return write!(out, "{v:#x}").map(|()| true),
            };
            out.write_all(code.as_bytes())?
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// True for syscalls whose result is an address.
fn returns_pointer(name: &str) -> bool {
    matches!(name, "mmap" | "mremap" | "brk" | "shmat")
}

/// `name(args...) = ret`, without the newline. `ret` is None for a syscall
/// that does not return (exit). Syscalls with structs or flags are decoded
/// by [`structs`]; the rest argument by argument from the syscall table.
pub fn syscall_line(
    out: &mut impl Write,
    mem: &UserMemory<'_>,
    frame: &TrapFrame,
    ret: Option<i64>,
) -> io::Result<()> {
    let args = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let ent = sysent::sysent(frame.rax);
    match ent {
        Some(e) => {
            write!(out, "{}(", e.name)?;
            if !structs::args(out, mem, frame.rax, &args, ret)? {
                for (i, &kind) in e.args.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b", ")?;
                    }
                    if !memory_arg(out, e.name, i, args[i])? {
                        arg(out, mem, kind, &args, i, ret)?;
                    }
                }
            }
        }
        None => {
            write!(out, "syscall_{:#x}(", frame.rax)?;
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.write_all(b", ")?;
                }
                write!(out, "{a:#x}")?;
            }
        }
    }
    out.write_all(b")")?;
    match ret {
        None => out.write_all(b" = ?"),
        Some(r) => {
            if let Some((name, msg)) = errno(r) {
                write!(out, " = -1 {name} ({msg})")
            } else if structs::ret(out, frame.rax, &args, r)? {
                Ok(())
            } else if ent.is_some_and(|e| returns_pointer(e.name)) {
                write!(out, " = {r:#x}")
            } else {
                write!(out, " = {r}")
            }
        }
    }
}

/// `--- #PF page fault (err=0x6 write user not-present) addr=0x.. rip=0x.. ---`
pub fn exception_line(out: &mut impl Write, frame: &TrapFrame) -> io::Result<()> {
    let v = exception::vector(frame.vector);
    write!(out, "--- {} {}", v.mnemonic, v.name)?;
    if frame.vector == 14 {
        write!(
            out,
            " (err={:#x} {}) addr={:#x}",
            frame.error_code,
            exception::page_fault_error(frame.error_code),
            frame.cr2
        )?;
    } else if frame.error_code != 0 {
        write!(out, " (err={:#x})", frame.error_code)?;
    }
    write!(out, " rip={:#x} ---", frame.rip)
}

/// `  [rax=.. ... cs=0x23 (rpl 3) ss=0x1b (rpl 3)]`
pub fn regs(out: &mut impl Write, f: &TrapFrame) -> io::Result<()> {
    write!(
        out,
        "  [rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} rsi={:#x} rdi={:#x} rbp={:#x} rsp={:#x} \
         r8={:#x} r9={:#x} r10={:#x} r11={:#x} r12={:#x} r13={:#x} r14={:#x} r15={:#x} \
         rip={:#x} rflags={:#x} cs={:#x} (rpl {}) ss={:#x} (rpl {})]",
        f.rax,
        f.rbx,
        f.rcx,
        f.rdx,
        f.rsi,
        f.rdi,
        f.rbp,
        f.rsp,
        f.r8,
        f.r9,
        f.r10,
        f.r11,
        f.r12,
        f.r13,
        f.r14,
        f.r15,
        f.rip,
        f.rflags,
        f.cs,
        f.cs & 3,
        f.ss,
        f.ss & 3
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(bytes: &[u8], truncated: bool) -> String {
        let mut v = Vec::new();
        quoted(&mut v, bytes, truncated).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn quoting_like_strace() {
        assert_eq!(q(b"hi\n", false), r#""hi\n""#);
        assert_eq!(q(b"a\"b\\", true), r#""a\"b\\"..."#);
        assert_eq!(q(b"\x7fELF\x02\x01", false), r#""\177ELF\2\1""#);
        assert_eq!(q(b"\x001", false), r#""\0001""#);
    }

    #[test]
    fn errnos() {
        assert_eq!(errno_name(-38), Some("ENOSYS"));
        assert_eq!(errno_name(-14), Some("EFAULT"));
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(-5000), None);
        assert_eq!(errno(-38), Some(("ENOSYS", "Function not implemented")));
        assert_eq!(errno(-9), Some(("EBADF", "Bad file descriptor")));
        assert_eq!(errno(-200), None);
    }

    #[test]
    fn flags() {
        let mut v = Vec::new();
        open_flags(&mut v, 0).unwrap();
        assert_eq!(v, b"O_RDONLY");
        v.clear();
        open_flags(&mut v, 0o2000101).unwrap();
        assert_eq!(String::from_utf8(v).unwrap(), "O_WRONLY|O_CREAT|O_CLOEXEC");
    }
}
