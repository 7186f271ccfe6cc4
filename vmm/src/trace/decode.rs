//! Interprets the syscall table's rows (`microvm_abi::linux::syscalls`):
//! each argument shown by its decoder, strace 6 style. This file knows no
//! syscall by name or number; everything about a syscall is in its row.

use super::format::{self, angle_path, buffer, buffer_as, fd, hex, octal, pointer, string, xlat};
use super::style::{FdPaths, HexStrings, Style};
use super::{poll, prctl, select, sigargs, structs};
use crate::usermem::UserMemory;
use microvm_abi::linux::syscalls::{by_nr, Arg, Len, Ret, Syscall};
use microvm_abi::TrapFrame;
use std::io::{self, Write};

/// One syscall as the trace sees it: its arguments, its result (None for a
/// call that does not return), and the memory its pointers point into.
pub struct Call<'a, 'm> {
    /// The program's memory, as ring 3 sees it.
    pub mem: &'a UserMemory<'m>,
    /// Its number.
    pub nr: u64,
    /// rdi, rsi, rdx, r10, r8, r9.
    pub args: [u64; 6],
    /// The stack pointer at the call (rt_sigreturn's frame is there).
    pub sp: u64,
    /// What rax returned, if it returned.
    pub ret: Option<i64>,
    /// How values are shown.
    pub style: &'a Style,
    /// With `-y`: the paths of its descriptors.
    pub fds: Option<&'a dyn FdPaths>,
}

impl<'a, 'm> Call<'a, 'm> {
    /// The call in `frame` (number in rax, arguments in the syscall
    /// registers).
    pub fn new(
        mem: &'a UserMemory<'m>,
        frame: &TrapFrame,
        ret: Option<i64>,
        style: &'a Style,
    ) -> Self {
        Call {
            mem,
            nr: frame.rax,
            args: frame.syscall_args(),
            sp: frame.rsp,
            ret,
            style,
            fds: None,
        }
    }

    /// Show descriptors with the paths `fds` gives (`-y`).
    pub fn with_fd_paths(mut self, fds: &'a dyn FdPaths) -> Self {
        self.fds = Some(fds);
        self
    }

    /// Descriptor `v` (an argument), with its path under `-y`.
    pub fn fd(&self, out: &mut impl Write, v: u64) -> io::Result<()> {
        fd(out, v)?;
        match self.fds.and_then(|f| f.path(v as i32)) {
            Some(path) => angle_path(out, path),
            None => Ok(()),
        }
    }

    /// True when it returned a value that is not an error.
    pub fn succeeded(&self) -> bool {
        self.ret.is_some_and(|r| format::errno(r).is_none())
    }

    /// Argument `i` (0 past the sixth).
    pub fn arg(&self, i: u8) -> u64 {
        self.args.get(usize::from(i)).copied().unwrap_or(0)
    }

    /// The return value as a byte count, when it succeeded.
    pub fn ret_len(&self) -> Option<u64> {
        self.ret
            .filter(|_| self.succeeded())
            .and_then(|r| u64::try_from(r).ok())
    }
}

/// `name(args...)`: the call part of the line, before ` = ret`.
pub fn call(out: &mut impl Write, c: &Call<'_, '_>) -> io::Result<()> {
    match by_nr(c.nr) {
        Some(row) => {
            write!(out, "{}(", row.name)?;
            let mut first = true;
            for i in 0..row.args.len() {
                if row.args[i] == Arg::Folded {
                    continue;
                }
                if !first {
                    out.write_all(b", ")?;
                }
                first = false;
                arg(out, c, row, i)?;
            }
        }
        None => {
            // strace's form for a number it does not know.
            write!(out, "syscall_{:#x}(", c.nr)?;
            for (i, a) in c.args.iter().enumerate() {
                if i > 0 {
                    out.write_all(b", ")?;
                }
                hex(out, *a)?;
            }
        }
    }
    out.write_all(b")")
}

/// `name(args... <unfinished ...>)`: the call part of the line of a call
/// that never returned, as strace 6 shows one whose process died inside
/// it. The arguments strace shows on entry are shown; those it shows on
/// exit (output buffers and structs) are not, and where there were any,
/// or the result shows more (poll's revents, select's sets), `
/// <unfinished ...>` marks the cut: `read(3,  <unfinished ...>)`,
/// `poll([{fd=3, events=POLLIN}], 1, -1 <unfinished ...>)`; a call shown
/// whole on entry is shown as [`call`] shows it: `futex(0x4a62d0,
/// FUTEX_WAIT_PRIVATE, 0, NULL)`.
pub fn unfinished_call(out: &mut impl Write, c: &Call<'_, '_>) -> io::Result<()> {
    let Some(row) = by_nr(c.nr) else {
        return call(out, c);
    };
    write!(out, "{}(", row.name)?;
    let exit_arg = row.args.iter().position(shown_on_exit);
    let shown = exit_arg.unwrap_or(row.args.len());
    let mut first = true;
    for i in 0..shown {
        if row.args[i] == Arg::Folded {
            continue;
        }
        if !first {
            out.write_all(b", ")?;
        }
        first = false;
        arg(out, c, row, i)?;
    }
    if exit_arg.is_some() && shown > 0 {
        out.write_all(b", ")?;
    }
    let cut = exit_arg.is_some() || matches!(row.ret, Ret::Poll | Ret::PollLeft | Ret::Select);
    if cut {
        out.write_all(b" <unfinished ...>")?;
    }
    out.write_all(b")")
}

/// True for an argument strace shows when the call returns.
fn shown_on_exit(a: &Arg) -> bool {
    matches!(
        a,
        Arg::OutBuf(_)
            | Arg::OutBytes(_)
            | Arg::Out(_)
            | Arg::OutSigSet(_)
            | Arg::Special(microvm_abi::linux::syscalls::SpecialArg::Remaining)
    )
}

/// Each argument as the text line shows it (those a special decoder folds
/// into the one before are left out), for the JSON trace.
pub fn shown_args(c: &Call<'_, '_>) -> Vec<String> {
    let mut shown = Vec::with_capacity(6);
    let mut text = Vec::new();
    match by_nr(c.nr) {
        Some(row) => {
            for i in 0..row.args.len() {
                if row.args[i] == Arg::Folded {
                    continue;
                }
                text.clear();
                // Writing to a Vec cannot fail.
                let _ = arg(&mut text, c, row, i);
                shown.push(String::from_utf8_lossy(&text).into_owned());
            }
        }
        None => {
            for a in c.args {
                text.clear();
                let _ = hex(&mut text, a);
                shown.push(String::from_utf8_lossy(&text).into_owned());
            }
        }
    }
    shown
}

/// The result as the text line shows it after `= `, for the JSON trace.
pub fn shown_result(c: &Call<'_, '_>) -> String {
    let mut text = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = result(&mut text, c);
    let text = String::from_utf8_lossy(&text);
    text.strip_prefix("= ").unwrap_or(&text).to_string()
}

/// `= 3`, `= 0x7f00...`, `= -1 ENOENT (No such file or directory)`, `= ?`.
pub fn result(out: &mut impl Write, c: &Call<'_, '_>) -> io::Result<()> {
    let Some(r) = c.ret else {
        return out.write_all(b"= ?");
    };
    if r == -crate::syscall::signal::ERESTARTNOHAND {
        // Interrupted by a signal: strace's words for the kernel's code.
        return out.write_all(b"= ? ERESTARTNOHAND (To be restarted if no handler)");
    }
    if let Some((name, msg)) = format::errno(r) {
        return write!(out, "= -1 {name} ({msg})");
    }
    match by_nr(c.nr).map_or(Ret::Int, |row| row.ret) {
        Ret::Fd => {
            write!(out, "= {r}")?;
            match c.fds.and_then(|f| f.returned(r as i32)) {
                Some(path) => angle_path(out, path),
                None => Ok(()),
            }
        }
        Ret::Int => write!(out, "= {r}"),
        Ret::Addr => write!(out, "= {r:#x}"),
        Ret::Fcntl => structs::fcntl_ret(out, c, r),
        Ret::Poll => poll::result(out, c, r, false),
        Ret::PollLeft => poll::result(out, c, r, true),
        Ret::Prctl => prctl::result(out, c, r),
        Ret::Select => select::result(out, c, r),
        Ret::Time => structs::time_ret(out, r),
    }
}

/// An output buffer of `len` bytes at `addr`, after success; else the
/// pointer.
fn out_buffer(
    out: &mut impl Write,
    c: &Call<'_, '_>,
    addr: u64,
    len: Len,
    hex: HexStrings,
) -> io::Result<()> {
    let Some(n) = c.ret_len() else {
        return pointer(out, addr);
    };
    let len = match len {
        Len::Ret => n,
        Len::Arg(j) => c.args.get(usize::from(j)).copied().unwrap_or(0),
    };
    buffer_as(out, c.mem, addr, len, c.style, hex)
}

/// A path: quoted whole (strace's printpath is not cut at `-s`), up to
/// `PATH_MAX` bytes.
fn path(out: &mut impl Write, c: &Call<'_, '_>, addr: u64) -> io::Result<()> {
    let style = Style {
        string_limit: microvm_abi::linux::consts::PATH_MAX,
        ..*c.style
    };
    string(out, c.mem, addr, &style)
}

/// Argument `i` of `row`, shown by its decoder.
pub fn arg(out: &mut impl Write, c: &Call<'_, '_>, row: &Syscall, i: usize) -> io::Result<()> {
    let v = c.args[i];
    match row.args[i] {
        Arg::Int => write!(out, "{}", v as i32),
        Arg::Long => write!(out, "{}", v as i64),
        Arg::UInt => write!(out, "{}", v as u32),
        Arg::ULong => write!(out, "{v}"),
        Arg::Hex => hex(out, v),
        Arg::Ptr => pointer(out, v),
        Arg::Mode => octal(out, v as u32 as u64),
        Arg::Fd => c.fd(out, v),
        Arg::Path => path(out, c, v),
        Arg::Flags(table) | Arg::Enum(table) => xlat(out, table, v),
        Arg::InBuf(len) => {
            let len = c.args.get(usize::from(len)).copied().unwrap_or(0);
            buffer(out, c.mem, v, len, c.style)
        }
        Arg::OutBuf(len) => out_buffer(out, c, v, len, c.style.hex),
        Arg::OutBytes(len) => out_buffer(out, c, v, len, HexStrings::All),
        Arg::In(kind) => structs::input(out, c, kind, v),
        Arg::Out(kind) => structs::output(out, c, kind, v),
        Arg::Signal => sigargs::signal(out, v),
        Arg::SigSet(size) => sigargs::sigset_arg(out, c, v, c.arg(size), 8),
        Arg::OutSigSet(size) => {
            if c.succeeded() {
                sigargs::sigset_arg(out, c, v, c.arg(size), 8)
            } else {
                pointer(out, v)
            }
        }
        Arg::Special(kind) => structs::special(out, c, row, kind, i),
        Arg::Folded => Ok(()),
    }
}

#[cfg(test)]
mod table_tests {
    use microvm_abi::linux::syscalls::{by_name, by_nr, Arg, Len, SYSCALLS};

    /// The kernel's numbers, from the installed UAPI header.
    const HEADER: &str = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";

    /// Every `__NR_name number` in [`HEADER`].
    fn header() -> Option<Vec<(u64, String)>> {
        let text = match std::fs::read_to_string(HEADER) {
            Ok(text) => text,
            Err(err) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{HEADER}: {err} (install linux-libc-dev)"
                );
                println!("skipping: cannot read {HEADER} ({err}); install linux-libc-dev");
                return None;
            }
        };
        let mut found = Vec::new();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if let (Some("#define"), Some(name), Some(value)) =
                (words.next(), words.next(), words.next())
            {
                if let (Some(name), Ok(nr)) = (name.strip_prefix("__NR_"), value.parse()) {
                    found.push((nr, name.to_string()));
                }
            }
        }
        assert!(!found.is_empty(), "no __NR_ definitions in {HEADER}");
        found.sort();
        Some(found)
    }

    #[test]
    fn the_table_is_the_installed_kernel_header() {
        let Some(header) = header() else { return };
        let table: Vec<(u64, String)> = SYSCALLS
            .iter()
            .map(|s| (s.nr, s.name.to_string()))
            .collect();
        assert_eq!(
            table, header,
            "abi/src/linux/syscalls.rs differs from {HEADER}"
        );
        for (nr, name) in &header {
            assert_eq!(by_nr(*nr).map(|s| s.name), Some(name.as_str()));
            assert_eq!(by_name(name).map(|s| s.nr), Some(*nr));
        }
    }

    #[test]
    fn every_row_is_well_formed() {
        for s in SYSCALLS {
            for (i, arg) in s.args.iter().enumerate() {
                match *arg {
                    Arg::InBuf(j) | Arg::OutBuf(Len::Arg(j)) | Arg::OutBytes(Len::Arg(j)) => {
                        let j = usize::from(j);
                        assert!(
                            j < s.args.len() && j != i,
                            "{}: length argument {j}",
                            s.name
                        );
                    }
                    Arg::Folded => assert!(
                        i > 0 && matches!(s.args[i - 1], Arg::Special(_) | Arg::Folded),
                        "{}: argument {i} is folded into no special decoder",
                        s.name
                    ),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn well_known_rows() {
        use microvm_abi::linux::nr;
        assert_eq!((nr::READ, nr::DUP, nr::GETPPID), (0, 32, 110));
        assert_eq!(by_nr(nr::WRITE).map(|s| s.args.len()), Some(3));
        assert!(by_nr(335).is_none(), "335..=423 are reserved");
        assert!(by_nr(u64::MAX).is_none());
        assert!(by_name("no_such_call").is_none());
    }
}
