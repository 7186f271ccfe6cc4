//! prctl(2) as strace 6 shows it: the option by name and the arguments it
//! takes, decoded (`prctl(PR_SET_NAME, "worker")`, `prctl(PR_GET_NAME,
//! "misc")` after success, `prctl(PR_GET_DUMPABLE) = 1 (SUID_DUMP_USER)`);
//! options it has no decoder for show their four arguments in hex.

use super::decode::Call;
use super::format::{hex, pointer, string, xlat};
use super::sigargs::signal;
use super::structs::read;
use microvm_abi::linux::consts::{
    CAP, PRCTL_OPTIONS, PR_CAPBSET_DROP, PR_CAPBSET_READ, PR_DUMPABLE, PR_GET_CHILD_SUBREAPER,
    PR_GET_DUMPABLE, PR_GET_ENDIAN, PR_GET_FPEMU, PR_GET_FPEXC, PR_GET_FP_MODE, PR_GET_KEEPCAPS,
    PR_GET_NAME, PR_GET_PDEATHSIG, PR_GET_SECCOMP, PR_GET_SECUREBITS, PR_GET_TID_ADDRESS,
    PR_GET_TIMERSLACK, PR_GET_TIMING, PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, PR_SET_ENDIAN,
    PR_SET_FPEMU, PR_SET_FPEXC, PR_SET_IO_FLUSHER, PR_SET_KEEPCAPS, PR_SET_NAME,
    PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, PR_SET_PTRACER, PR_SET_THP_DISABLE, PR_SET_TIMERSLACK,
    PR_SET_TIMING, PR_SET_VMA, PR_SET_VMA_ANON_NAME, PR_SVE_GET_VL, PR_TASK_PERF_EVENTS_DISABLE,
    PR_TASK_PERF_EVENTS_ENABLE, SIGRTMAX,
};
use std::io::{self, Write};

/// The size of a task's name, its NUL included (the kernel's
/// `TASK_COMM_LEN`, which no installed header has; prctl(2) documents it
/// as 16 bytes).
const TASK_COMM_LEN: u64 = 16;

/// The highest value PR_SET_PDEATHSIG shows as a signal (strace's 128).
const MAX_SHOWN_SIGNAL: u64 = 2 * SIGRTMAX;

/// The option (argument `i`) and the arguments that follow as it takes
/// them.
pub fn args(out: &mut impl Write, c: &Call<'_, '_>, i: usize) -> io::Result<()> {
    let arg = |k: usize| c.args.get(i + k).copied().unwrap_or(0);
    let option = arg(0) as u32 as u64;
    let arg2 = arg(1);
    xlat(out, &PRCTL_OPTIONS, option)?;
    let hex_from = |out: &mut dyn Write, first: usize| -> io::Result<()> {
        for k in first..5 {
            let mut v = Vec::new();
            hex(&mut v, arg(k))?;
            out.write_all(b", ")?;
            out.write_all(&v)?;
        }
        Ok(())
    };
    match option {
        PR_GET_KEEPCAPS
        | PR_GET_SECCOMP
        | PR_GET_TIMERSLACK
        | PR_GET_TIMING
        | PR_GET_DUMPABLE
        | PR_GET_SECUREBITS
        | PR_GET_FP_MODE
        | PR_SVE_GET_VL
        | PR_TASK_PERF_EVENTS_DISABLE
        | PR_TASK_PERF_EVENTS_ENABLE => Ok(()),
        PR_GET_CHILD_SUBREAPER | PR_GET_ENDIAN | PR_GET_FPEMU | PR_GET_FPEXC => {
            out.write_all(b", ")?;
            out_int(out, c, arg2, |o, v| write!(o, "{v}"))
        }
        PR_GET_PDEATHSIG => {
            out.write_all(b", ")?;
            out_int(out, c, arg2, |o, v| signal(o, u64::from(v)))
        }
        PR_GET_NAME => {
            out.write_all(b", ")?;
            if c.succeeded() {
                name(out, c, arg2, TASK_COMM_LEN)
            } else {
                pointer(out, arg2)
            }
        }
        PR_GET_TID_ADDRESS => {
            out.write_all(b", ")?;
            match read::<8>(c.mem, arg2).filter(|_| c.succeeded()) {
                Some(b) => {
                    out.write_all(b"[")?;
                    pointer(out, u64::from_le_bytes(b))?;
                    out.write_all(b"]")
                }
                None => pointer(out, arg2),
            }
        }
        PR_SET_CHILD_SUBREAPER
        | PR_SET_ENDIAN
        | PR_SET_FPEMU
        | PR_SET_FPEXC
        | PR_SET_KEEPCAPS
        | PR_SET_TIMING => write!(out, ", {arg2}"),
        PR_SET_DUMPABLE => {
            out.write_all(b", ")?;
            xlat64(out, &PR_DUMPABLE, arg2)
        }
        PR_CAPBSET_DROP | PR_CAPBSET_READ => {
            out.write_all(b", ")?;
            xlat64(out, &CAP, arg2)
        }
        PR_SET_NAME => {
            out.write_all(b", ")?;
            name(out, c, arg2, TASK_COMM_LEN - 1)
        }
        PR_SET_VMA => {
            if arg2 == PR_SET_VMA_ANON_NAME {
                out.write_all(b", PR_SET_VMA_ANON_NAME, ")?;
                pointer(out, arg(2))?;
                write!(out, ", {}, ", arg(3))?;
                string(out, c.mem, arg(4), c.style)
            } else {
                write!(out, ", {arg2:#x} /* PR_SET_VMA_??? */")?;
                hex_from(out, 2)
            }
        }
        PR_SET_PDEATHSIG if arg2 > MAX_SHOWN_SIGNAL => write!(out, ", {arg2}"),
        PR_SET_PDEATHSIG => {
            out.write_all(b", ")?;
            signal(out, arg2)
        }
        PR_SET_PTRACER if arg2 as i32 == -1 => out.write_all(b", PR_SET_PTRACER_ANY"),
        PR_SET_PTRACER => write!(out, ", {}", arg2 as i32),
        PR_SET_TIMERSLACK => write!(out, ", {}", arg2 as i64),
        PR_SET_NO_NEW_PRIVS | PR_SET_THP_DISABLE | PR_SET_IO_FLUSHER => {
            write!(out, ", {arg2}")?;
            hex_from(out, 2)
        }
        _ => hex_from(out, 1),
    }
}

/// `[v]`: the `int` the kernel wrote at `addr`, after success.
fn out_int<W: Write>(
    out: &mut W,
    c: &Call<'_, '_>,
    addr: u64,
    show: impl FnOnce(&mut W, u32) -> io::Result<()>,
) -> io::Result<()> {
    match read::<4>(c.mem, addr).filter(|_| c.succeeded()) {
        Some(b) => {
            out.write_all(b"[")?;
            show(out, u32::from_le_bytes(b))?;
            out.write_all(b"]")
        }
        None => pointer(out, addr),
    }
}

/// A task name of at most `len` bytes (up to its NUL), cut at `-s`.
fn name(out: &mut impl Write, c: &Call<'_, '_>, addr: u64, len: u64) -> io::Result<()> {
    let mut style = *c.style;
    style.string_limit = style
        .string_limit
        .min(usize::try_from(len).unwrap_or(usize::MAX));
    string(out, c.mem, addr, &style)
}

/// A 64-bit value by name, else in hex with the table's comment.
fn xlat64(out: &mut impl Write, table: &microvm_abi::linux::xlat::Xlat, v: u64) -> io::Result<()> {
    use microvm_abi::linux::xlat::XlatKind;
    match (table.name(v), table.kind) {
        (Some(n), _) => out.write_all(n.as_bytes()),
        (None, XlatKind::Values { unknown }) => write!(out, "{v:#x} /* {unknown} */"),
        (None, XlatKind::Bits { .. }) => write!(out, "{v:#x}"),
    }
}

/// The result of the options that return something to name.
pub fn result(out: &mut impl Write, c: &Call<'_, '_>, r: i64) -> io::Result<()> {
    write!(out, "= {r}")?;
    if c.args[0] as u32 as u64 == PR_GET_DUMPABLE {
        if let Some(n) = PR_DUMPABLE.name(r as u64) {
            write!(out, " ({n})")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::trace::testing::{Memory, USER};
    use microvm_abi::linux::nr;

    #[test]
    fn prctl_lines_like_strace() {
        let mut m = Memory::new();
        let name = m.put(USER, b"misc\0\0\0\0\0\0\0\0\0\0\0\0");
        let worker = m.put(USER + 0x100, b"worker\0");
        let long = m.put(USER + 0x200, b"a-very-long-thread-name-here\0");
        let int = m.put(USER + 0x300, &15u32.to_le_bytes());
        let zero = m.put(USER + 0x400, &0u64.to_le_bytes());
        let tid = m.put(USER + 0x500, &0x7f45_c5d1_2a10u64.to_le_bytes());
        let heap = m.put(USER + 0x600, b"heap\0");
        let p = |a: [u64; 5], r: i64| m.line(nr::PRCTL, [a[0], a[1], a[2], a[3], a[4], 0], Some(r));
        assert_eq!(
            p([16, name, 0, 0, 0], 0),
            "prctl(PR_GET_NAME, \"misc\") = 0"
        );
        assert_eq!(
            p([16, name, 0, 0, 0], -38),
            "prctl(PR_GET_NAME, 0x10000000) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            p([16, 0x10, 0, 0, 0], -14),
            "prctl(PR_GET_NAME, 0x10) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            p([15, worker, 0, 0, 0], 0),
            "prctl(PR_SET_NAME, \"worker\") = 0"
        );
        assert_eq!(
            p([15, long, 0, 0, 0], 0),
            "prctl(PR_SET_NAME, \"a-very-long-thr\"...) = 0"
        );
        assert_eq!(
            p([3, 0, 0, 0, 0], 1),
            "prctl(PR_GET_DUMPABLE) = 1 (SUID_DUMP_USER)"
        );
        assert_eq!(
            p([4, 1, 0, 0, 0], 0),
            "prctl(PR_SET_DUMPABLE, SUID_DUMP_USER) = 0"
        );
        assert_eq!(
            p([1, 15, 0, 0, 0], 0),
            "prctl(PR_SET_PDEATHSIG, SIGTERM) = 0"
        );
        assert_eq!(
            p([2, int, 0, 0, 0], 0),
            "prctl(PR_GET_PDEATHSIG, [SIGTERM]) = 0"
        );
        assert_eq!(
            p([38, 1, 0, 0, 0], 0),
            "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) = 0"
        );
        assert_eq!(
            p([39, 0, 0, 0, 0], 1),
            "prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) = 1"
        );
        assert_eq!(p([7, 0, 0, 0, 0], 0), "prctl(PR_GET_KEEPCAPS) = 0");
        assert_eq!(p([8, 0, 0, 0, 0], 0), "prctl(PR_SET_KEEPCAPS, 0) = 0");
        assert_eq!(
            p([29, 50000, 0, 0, 0], 0),
            "prctl(PR_SET_TIMERSLACK, 50000) = 0"
        );
        assert_eq!(
            p([30, 0, 0, 0, 0], 50000),
            "prctl(PR_GET_TIMERSLACK) = 50000"
        );
        assert_eq!(
            p([37, zero, 0, 0, 0], 0),
            "prctl(PR_GET_CHILD_SUBREAPER, [0]) = 0"
        );
        assert_eq!(
            p([36, 1, 0, 0, 0], 0),
            "prctl(PR_SET_CHILD_SUBREAPER, 1) = 0"
        );
        assert_eq!(
            p([0x5961_6d61, u64::MAX, 0, 0, 0], -22),
            "prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            p([23, 21, 0, 0, 0], 1),
            "prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) = 1"
        );
        assert_eq!(
            p([1234, 1, 2, 3, 4], -22),
            "prctl(0x4d2 /* PR_??? */, 0x1, 0x2, 0x3, 0x4) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            p([0x5356_4d41, 0, u64::MAX, 4096, heap], -22),
            "prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0xffffffffffffffff, 4096, \"heap\") = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            p([27, 0, 0, 0x433f8d, 0x47b028], 0),
            "prctl(PR_GET_SECUREBITS) = 0"
        );
        assert_eq!(
            p([40, tid, 0, 0, 0], 0),
            "prctl(PR_GET_TID_ADDRESS, [0x7f45c5d12a10]) = 0"
        );
    }
}
