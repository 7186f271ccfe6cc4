//! Socket arguments as strace 6 shows them: `AF_INET, SOCK_STREAM|SOCK_CLOEXEC,
//! IPPROTO_IP`.

use super::format::{bits, xlat};
use microvm_abi::linux::consts::{
    AF_INET, AF_INET6, AF_NETLINK, INET_PROTOCOLS, NETLINK_PROTOCOLS, SOCKETTYPES, SOCK_TYPE_FLAGS,
};
use std::io::{self, Write};

/// The type bits of socket(2)'s type argument (the kernel's
/// `SOCK_TYPE_MASK`, in include/linux/net.h, which no installed header
/// has): what the flags leave.
const SOCK_TYPE_MASK: u64 = 0xf;

/// socket(2)'s type: the type by name, then its flags; bits nothing names
/// in hex with `/* SOCK_??? */`.
pub fn sock_type(out: &mut impl Write, v: u64) -> io::Result<()> {
    let mut flags = v as u32 as u64;
    if let Some(name) = SOCKETTYPES.name(flags & SOCK_TYPE_MASK) {
        out.write_all(name.as_bytes())?;
        flags &= !SOCK_TYPE_MASK;
        if flags == 0 {
            return Ok(());
        }
        out.write_all(b"|")?;
    }
    let known = SOCK_TYPE_FLAGS
        .entries
        .iter()
        .fold(0, |acc, &(bit, _)| acc | bit);
    if flags & known == 0 {
        // Nothing named: strace's printflags shows the number and what it
        // should have been.
        return write!(out, "{flags:#x} /* SOCK_??? */");
    }
    bits(out, &SOCK_TYPE_FLAGS, flags, "0")
}

/// socket(2)'s protocol, named for the families strace names it for.
pub fn protocol(out: &mut impl Write, family: u64, v: u64) -> io::Result<()> {
    match family as u32 as u64 {
        AF_INET | AF_INET6 => xlat(out, &INET_PROTOCOLS, v),
        AF_NETLINK => xlat(out, &NETLINK_PROTOCOLS, v),
        _ => write!(out, "{v}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::trace::testing::{Memory, USER};
    use microvm_abi::linux::nr;

    #[test]
    fn socket_lines_like_strace() {
        let m = Memory::new();
        let s = |a: [u64; 3], r: i64| m.line(nr::SOCKET, [a[0], a[1], a[2], 0, 0, 0], Some(r));
        assert_eq!(
            s([2, 1, 0], 3),
            "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3"
        );
        assert_eq!(
            s([2, 2, 17], 3),
            "socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3"
        );
        assert_eq!(
            s([10, 0x801, 6], 3),
            "socket(AF_INET6, SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 3"
        );
        assert_eq!(
            s([1, 0x80002, 0], -38),
            "socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC, 0) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            s([16, 3, 0], 3),
            "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) = 3"
        );
        assert_eq!(
            s([99, 77, 5], -22),
            "socket(0x63 /* AF_??? */, 0x4d /* SOCK_??? */, 5) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            s([2, 0x40001, 999], -22),
            "socket(AF_INET, SOCK_STREAM|0x40000 /* SOCK_??? */, 0x3e7 /* IPPROTO_??? */) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            s([1, 1, 7], -93),
            "socket(AF_UNIX, SOCK_STREAM, 7) = -1 EPROTONOSUPPORT (Protocol not supported)"
        );
    }

    #[test]
    fn fd_pairs() {
        let mut m = Memory::new();
        let sv = m.put(USER, &[3, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(
            m.line(nr::SOCKETPAIR, [1, 1, 0, sv, 0, 0], Some(0)),
            "socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0"
        );
        assert_eq!(
            m.line(nr::SOCKETPAIR, [2, 1, 0, sv, 0, 0], Some(-95)),
            "socketpair(AF_INET, SOCK_STREAM, 0, 0x10000000) = -1 EOPNOTSUPP (Operation not supported)"
        );
        assert_eq!(
            m.line(nr::PIPE2, [sv, 0o2004000, 0, 0, 0, 0], Some(0)),
            "pipe2([3, 4], O_NONBLOCK|O_CLOEXEC) = 0"
        );
        assert_eq!(
            m.line(nr::PIPE2, [sv, 0, 0, 0, 0, 0], Some(0)),
            "pipe2([3, 4], 0) = 0"
        );
        assert_eq!(
            m.line(nr::PIPE, [sv, 0, 0, 0, 0, 0], Some(0)),
            "pipe([3, 4]) = 0"
        );
        assert_eq!(
            m.line(nr::PIPE, [0x10, 0, 0, 0, 0, 0], Some(-14)),
            "pipe(0x10) = -1 EFAULT (Bad address)"
        );
        // Succeeded, but the pair cannot be read: the pointer.
        assert_eq!(
            m.line(nr::PIPE, [0x10, 0, 0, 0, 0, 0], Some(0)),
            "pipe(0x10) = 0"
        );
    }
}
