//! futex(2) as strace 6 shows it: the operation by name and only the
//! arguments it takes, `futex(0x..., FUTEX_WAKE_PRIVATE, 1)`,
//! `futex(0x..., FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0,
//! {tv_sec=..., tv_nsec=...}, FUTEX_BITSET_MATCH_ANY)`.

use super::decode::Call;
use super::format::{hex, pointer, xlat};
use super::structs::input;
use microvm_abi::linux::consts::{
    FUTEX_BITSET, FUTEX_CMP_REQUEUE, FUTEX_CMP_REQUEUE_PI, FUTEX_FD, FUTEX_LOCK_PI, FUTEX_LOCK_PI2,
    FUTEX_OPS, FUTEX_OP_OPARG_SHIFT, FUTEX_PRIVATE_FLAG, FUTEX_REQUEUE, FUTEX_TRYLOCK_PI,
    FUTEX_UNLOCK_PI, FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_WAKE,
    FUTEX_WAKE_BITSET, FUTEX_WAKE_CMPS, FUTEX_WAKE_OP, FUTEX_WAKE_OPS,
};
use microvm_abi::linux::syscalls::Struct;
use std::io::{self, Write};

/// The command bits of an operation as strace takes them (`op & 127`,
/// where the kernel's `FUTEX_CMD_MASK` also keeps the bits above the
/// clock flag).
const COMMAND: u64 = FUTEX_PRIVATE_FLAG - 1;

/// The operation (argument `i`) and the arguments after it that it takes.
pub fn args(out: &mut impl Write, c: &Call<'_, '_>, i: usize) -> io::Result<()> {
    let arg = |k: usize| c.args.get(i + k).copied().unwrap_or(0);
    let op = arg(0);
    let val = arg(1) as u32;
    let (timeout, val2) = (arg(2), arg(2) as u32);
    let uaddr2 = arg(3);
    let val3 = arg(4) as u32;
    xlat(out, &FUTEX_OPS, op)?;
    match op & COMMAND {
        FUTEX_WAIT => {
            write!(out, ", {val}, ")?;
            input(out, c, Struct::Timespec, timeout)
        }
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => {
            out.write_all(b", ")?;
            input(out, c, Struct::Timespec, timeout)
        }
        FUTEX_WAIT_BITSET => {
            write!(out, ", {val}, ")?;
            input(out, c, Struct::Timespec, timeout)?;
            out.write_all(b", ")?;
            bitset(out, val3)
        }
        FUTEX_WAKE_BITSET => {
            write!(out, ", {val}, ")?;
            bitset(out, val3)
        }
        FUTEX_REQUEUE => {
            write!(out, ", {val}, {val2}, ")?;
            pointer(out, uaddr2)
        }
        FUTEX_CMP_REQUEUE | FUTEX_CMP_REQUEUE_PI => {
            write!(out, ", {val}, {val2}, ")?;
            pointer(out, uaddr2)?;
            write!(out, ", {val3}")
        }
        FUTEX_WAKE_OP => {
            write!(out, ", {val}, {val2}, ")?;
            pointer(out, uaddr2)?;
            out.write_all(b", ")?;
            wake_op(out, val3)
        }
        FUTEX_WAIT_REQUEUE_PI => {
            write!(out, ", {val}, ")?;
            input(out, c, Struct::Timespec, timeout)?;
            out.write_all(b", ")?;
            pointer(out, uaddr2)
        }
        FUTEX_FD | FUTEX_WAKE => write!(out, ", {val}"),
        FUTEX_UNLOCK_PI | FUTEX_TRYLOCK_PI => Ok(()),
        _ => {
            write!(out, ", {val}, ")?;
            pointer(out, timeout)?;
            out.write_all(b", ")?;
            pointer(out, uaddr2)?;
            out.write_all(b", ")?;
            hex(out, u64::from(val3))
        }
    }
}

/// `x<<shift` with `x` by name, or in hex with `/* {unknown} */`.
fn shifted(
    out: &mut impl Write,
    table: &microvm_abi::linux::xlat::Xlat,
    x: u64,
    shift: u32,
    unknown: &str,
) -> io::Result<()> {
    match table.name(x) {
        Some(n) => write!(out, "{n}<<{shift}"),
        None => {
            hex(out, x)?;
            write!(out, "<<{shift} /* {unknown} */")
        }
    }
}

/// A bitset: `FUTEX_BITSET_MATCH_ANY`, else in hex.
fn bitset(out: &mut impl Write, v: u32) -> io::Result<()> {
    match FUTEX_BITSET.name(u64::from(v)) {
        Some(n) => out.write_all(n.as_bytes()),
        None => hex(out, u64::from(v)),
    }
}

/// FUTEX_WAKE_OP's encoded operation:
/// `FUTEX_OP_ADD<<28|0x1<<12|FUTEX_OP_CMP_GT<<24|0`.
fn wake_op(out: &mut impl Write, v: u32) -> io::Result<()> {
    let v = u64::from(v);
    if (v >> 28) & FUTEX_OP_OPARG_SHIFT != 0 {
        out.write_all(b"FUTEX_OP_OPARG_SHIFT<<28|")?;
    }
    shifted(out, &FUTEX_WAKE_OPS, (v >> 28) & 0x7, 28, "FUTEX_OP_???")?;
    out.write_all(b"|")?;
    hex(out, (v >> 12) & 0xfff)?;
    out.write_all(b"<<12|")?;
    shifted(
        out,
        &FUTEX_WAKE_CMPS,
        (v >> 24) & 0xf,
        24,
        "FUTEX_OP_CMP_???",
    )?;
    out.write_all(b"|")?;
    hex(out, v & 0xfff)
}

#[cfg(test)]
mod tests {
    use crate::syscall::linux::pair;
    use crate::trace::testing::{Memory, USER};
    use microvm_abi::linux::nr;

    #[test]
    fn futex_lines_like_strace() {
        let mut m = Memory::new();
        let f = USER;
        let ts = m.put(USER + 0x100, &pair(0, 1000));
        let abs = m.put(USER + 0x200, &pair(1795840782, 602461354));
        let l = |args: [u64; 5], r: i64| {
            m.line(
                nr::FUTEX,
                [f, args[0], args[1], args[2], args[3], args[4]],
                Some(r),
            )
        };
        assert_eq!(
            l([129, 1, 0, 0, 0], 0),
            "futex(0x10000000, FUTEX_WAKE_PRIVATE, 1) = 0"
        );
        assert_eq!(
            l([1, 2147483647, 0, 0, 0], 0),
            "futex(0x10000000, FUTEX_WAKE, 2147483647) = 0"
        );
        assert_eq!(
            l([128, 0, ts, 0, 0], -110),
            "futex(0x10000000, FUTEX_WAIT_PRIVATE, 0, {tv_sec=0, tv_nsec=1000}) = -1 ETIMEDOUT (Connection timed out)"
        );
        assert_eq!(
            l([0, 1, 0, 0, 0], -11),
            "futex(0x10000000, FUTEX_WAIT, 1, NULL) = -1 EAGAIN (Resource temporarily unavailable)"
        );
        assert_eq!(
            l([393, 0, abs, 0, 0xffff_ffff], -110),
            "futex(0x10000000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, {tv_sec=1795840782, tv_nsec=602461354}, FUTEX_BITSET_MATCH_ANY) = -1 ETIMEDOUT (Connection timed out)"
        );
        assert_eq!(
            l([9, 0, abs, 0, 1], -110),
            "futex(0x10000000, FUTEX_WAIT_BITSET, 0, {tv_sec=1795840782, tv_nsec=602461354}, 0x1) = -1 ETIMEDOUT (Connection timed out)"
        );
        assert_eq!(
            l([138, 1, 0, 0, 3], 0),
            "futex(0x10000000, FUTEX_WAKE_BITSET_PRIVATE, 1, 0x3) = 0"
        );
        assert_eq!(
            l([132, 1, 2, 0x7ffc_7f82_44bc, 0], 0),
            "futex(0x10000000, FUTEX_CMP_REQUEUE_PRIVATE, 1, 2, 0x7ffc7f8244bc, 0) = 0"
        );
        assert_eq!(
            l([3, 1, 2, 0x7ffc_7f82_44bc, 0], 0),
            "futex(0x10000000, FUTEX_REQUEUE, 1, 2, 0x7ffc7f8244bc) = 0"
        );
        assert_eq!(
            l([133, 1, 1, 0x7ffc_7f82_44bc, 0x1400_1000], 0),
            "futex(0x10000000, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x7ffc7f8244bc, FUTEX_OP_ADD<<28|0x1<<12|FUTEX_OP_CMP_GT<<24|0) = 0"
        );
        assert_eq!(
            l([7, 0, 0, 0, 0], -1),
            "futex(0x10000000, FUTEX_UNLOCK_PI) = -1 EPERM (Operation not permitted)"
        );
        assert_eq!(
            l([6, 0, ts, 0, 0], 0),
            "futex(0x10000000, FUTEX_LOCK_PI, {tv_sec=0, tv_nsec=1000}) = 0"
        );
        assert_eq!(
            l([77, 5, 0x20, 0x30, 0x40], -38),
            "futex(0x10000000, 0x4d /* FUTEX_??? */, 5, 0x20, 0x30, 0x40) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            l([0, 1, 0x10, 0, 0], -14),
            "futex(0x10000000, FUTEX_WAIT, 1, 0x10) = -1 EFAULT (Bad address)"
        );
    }
}
