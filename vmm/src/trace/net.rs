//! Socket arguments as strace 6 shows them: `AF_INET, SOCK_STREAM|SOCK_CLOEXEC,
//! IPPROTO_IP`.

use super::decode::Call;
use super::format::{bits, pointer, quoted_as, xlat};
use microvm_abi::linux::consts::{
    ADDRFAMS, AF_INET, AF_INET6, AF_NETLINK, AF_UNIX, INET_PROTOCOLS, NETLINK_PROTOCOLS,
    SOCKETTYPES, SOCK_TYPE_FLAGS,
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

/// The most bytes of a socket address read (`struct sockaddr_storage`).
const SOCKADDR_MAX: usize = std::mem::size_of::<libc::sockaddr_storage>();
/// The size of `sa_family`.
const FAMILY: usize = std::mem::size_of::<libc::sa_family_t>();
/// The shortest `sockaddr_in6` strace decodes (without `sin6_scope_id`).
const SIN6_MIN_LEN: usize = 24;

/// A socket address of `len` bytes at `addr`, as the caller passed it.
pub fn sockaddr(out: &mut impl Write, c: &Call<'_, '_>, addr: u64, len: i32) -> io::Result<()> {
    let Some(len) = usize::try_from(len).ok().filter(|&l| l >= FAMILY) else {
        return pointer(out, addr);
    };
    let len = len.min(SOCKADDR_MAX);
    // One zero byte past the largest address ends a full-length path.
    let mut b = [0u8; SOCKADDR_MAX + 1];
    if addr == 0 || c.mem.read(addr, &mut b[..len]).is_err() {
        return pointer(out, addr);
    }
    let family = u64::from(u16::from_le_bytes([b[0], b[1]]));
    out.write_all(b"{sa_family=")?;
    xlat(out, &ADDRFAMS, family)?;
    if len > FAMILY {
        out.write_all(b", ")?;
        match family {
            AF_UNIX => unix(out, c, &b, len)?,
            AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
                let port = u16::from_be_bytes([b[2], b[3]]);
                let ip = std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]);
                write!(out, "sin_port=htons({port}), sin_addr=inet_addr(\"{ip}\")")?;
            }
            AF_INET6 if len >= SIN6_MIN_LEN => {
                let port = u16::from_be_bytes([b[2], b[3]]);
                let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                let mut a = [0u8; 16];
                a.copy_from_slice(&b[8..24]);
                let ip = std::net::Ipv6Addr::from(a);
                write!(
                    out,
                    "sin6_port=htons({port}), sin6_flowinfo=htonl({flow}), inet_pton(AF_INET6, \"{ip}\", &sin6_addr)"
                )?;
                if len > SIN6_MIN_LEN {
                    let scope = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
                    write!(out, ", sin6_scope_id={scope}")?;
                }
            }
            _ => {
                out.write_all(b"sa_data=")?;
                quoted_as(out, &b[FAMILY..len], false, c.style.hex)?;
            }
        }
    }
    out.write_all(b"}")
}

/// An address the kernel fills (accept, getsockname, recvfrom...) and its
/// length: `{sa_family=AF_INET, ...}, [16]` after success; the pointer and
/// `[128]` otherwise. The length is read after the call, so a length the
/// kernel changed shows as its new value (strace, reading it before too,
/// shows `[128 => 16]`).
pub fn out_sockaddr(
    out: &mut impl Write,
    c: &Call<'_, '_>,
    addr: u64,
    len_at: u64,
) -> io::Result<()> {
    let len = (addr != 0 && len_at != 0)
        .then(|| super::structs::read::<4>(c.mem, len_at))
        .flatten()
        .map(i32::from_le_bytes);
    let Some(len) = len else {
        pointer(out, addr)?;
        out.write_all(b", ")?;
        return pointer(out, len_at);
    };
    if c.succeeded() {
        sockaddr(out, c, addr, len)?;
    } else {
        pointer(out, addr)?;
    }
    write!(out, ", [{len}]")
}

/// `sun_path="/path"`, or `sun_path=@"name"` for an abstract address.
fn unix(out: &mut impl Write, c: &Call<'_, '_>, b: &[u8], len: usize) -> io::Result<()> {
    let un_len = len.min(std::mem::size_of::<libc::sockaddr_un>());
    let path = &b[FAMILY..un_len];
    out.write_all(b"sun_path=")?;
    if path.first().is_some_and(|&c| c != 0) {
        let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
        quoted_as(out, &path[..end], false, c.style.hex)
    } else {
        out.write_all(b"@")?;
        quoted_as(out, path.get(1..).unwrap_or(&[]), false, c.style.hex)
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
    fn socket_addresses_like_strace() {
        let mut m = Memory::new();
        let mut un = [0u8; 110];
        un[0] = 1;
        un[2..22].copy_from_slice(b"/var/run/nscd/socket");
        let un = m.put(USER, &un);
        assert_eq!(
            m.line(nr::CONNECT, [3, un, 110, 0, 0, 0], Some(-2)),
            "connect(3, {sa_family=AF_UNIX, sun_path=\"/var/run/nscd/socket\"}, 110) = -1 ENOENT (No such file or directory)"
        );
        assert_eq!(
            m.line(nr::CONNECT, [3, un, 2, 0, 0, 0], Some(-22)),
            "connect(3, {sa_family=AF_UNIX}, 2) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::CONNECT, [3, un, 1, 0, 0, 0], Some(-22)),
            "connect(3, 0x10000000, 1) = -1 EINVAL (Invalid argument)"
        );
        let abs = m.put(USER + 0x100, b"\x01\0\0abs\0x");
        assert_eq!(
            m.line(nr::CONNECT, [3, abs, 8, 0, 0, 0], Some(-111)),
            "connect(3, {sa_family=AF_UNIX, sun_path=@\"abs\\0x\"}, 8) = -1 ECONNREFUSED (Connection refused)"
        );
        let inet = m.put(
            USER + 0x200,
            &[2, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        assert_eq!(
            m.line(nr::CONNECT, [4, inet, 16, 0, 0, 0], Some(-111)),
            "connect(4, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = -1 ECONNREFUSED (Connection refused)"
        );
        assert_eq!(
            m.line(nr::BIND, [4, inet, 8, 0, 0, 0], Some(-22)),
            "bind(4, {sa_family=AF_INET, sa_data=\"\\0P\\177\\0\\0\\1\"}, 8) = -1 EINVAL (Invalid argument)"
        );
        let x = m.put(USER + 0x300, b"x");
        assert_eq!(
            m.line(nr::SENDTO, [4, x, 1, 0, inet, 16], Some(-32)),
            "sendto(4, \"x\", 1, 0, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = -1 EPIPE (Broken pipe)"
        );
        let mut in6 = [0u8; 28];
        in6[0] = 10;
        in6[2..4].copy_from_slice(&443u16.to_be_bytes());
        in6[23] = 1;
        let in6 = m.put(USER + 0x400, &in6);
        assert_eq!(
            m.line(nr::CONNECT, [5, in6, 28, 0, 0, 0], Some(0)),
            "connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"::1\", &sin6_addr), sin6_scope_id=0}, 28) = 0"
        );
        assert_eq!(
            m.line(nr::CONNECT, [5, in6, 24, 0, 0, 0], Some(0)),
            "connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"::1\", &sin6_addr)}, 24) = 0"
        );
        let raw = m.put(USER + 0x500, b"\x63\0hello\0\0\0\0\0\0\0\0\0");
        assert_eq!(
            m.line(nr::CONNECT, [5, raw, 16, 0, 0, 0], Some(-22)),
            "connect(5, {sa_family=0x63 /* AF_??? */, sa_data=\"hello\\0\\0\\0\\0\\0\\0\\0\\0\\0\"}, 16) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::CONNECT, [5, 0x10, 16, 0, 0, 0], Some(-14)),
            "connect(5, 0x10, 16) = -1 EFAULT (Bad address)"
        );
        // A hostile length: at most a sockaddr_storage is read.
        assert!(m
            .line(
                nr::CONNECT,
                [5, raw, u32::MAX as u64 >> 1, 0, 0, 0],
                Some(-22)
            )
            .starts_with("connect(5, {sa_family=0x63 /* AF_??? */, sa_data=\"hello\\0"));
    }

    #[test]
    fn addresses_the_kernel_fills() {
        let mut m = Memory::new();
        let sa = m.put(
            USER,
            &[2, 0, 0x9f, 0x87, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        let len = m.put(USER + 0x100, &16u32.to_le_bytes());
        let l128 = m.put(USER + 0x110, &128u32.to_le_bytes());
        assert_eq!(
            m.line(nr::GETSOCKNAME, [3, sa, len, 0, 0, 0], Some(0)),
            "getsockname(3, {sa_family=AF_INET, sin_port=htons(40839), sin_addr=inet_addr(\"127.0.0.1\")}, [16]) = 0"
        );
        assert_eq!(
            m.line(nr::ACCEPT, [3, sa, l128, 0, 0, 0], Some(-22)),
            "accept(3, 0x10000000, [128]) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::ACCEPT4, [3, sa, l128, 0x80000, 0, 0], Some(-22)),
            "accept4(3, 0x10000000, [128], SOCK_CLOEXEC) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::ACCEPT, [3, 0, 0, 0, 0, 0], Some(-22)),
            "accept(3, NULL, NULL) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            m.line(nr::GETPEERNAME, [3, sa, len, 0, 0, 0], Some(-107)),
            "getpeername(3, 0x10000000, [16]) = -1 ENOTCONN (Transport endpoint is not connected)"
        );
        assert_eq!(
            m.line(nr::GETSOCKNAME, [3, sa, 0, 0, 0, 0], Some(-14)),
            "getsockname(3, 0x10000000, NULL) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            m.line(nr::GETSOCKNAME, [3, sa, 0x10, 0, 0, 0], Some(-14)),
            "getsockname(3, 0x10000000, 0x10) = -1 EFAULT (Bad address)"
        );
        let b = USER + 0x200;
        assert_eq!(
            m.line(nr::RECVFROM, [4, b, 4, 0x40, sa, l128], Some(-11)),
            "recvfrom(4, 0x10000200, 4, MSG_DONTWAIT, 0x10000000, [128]) = -1 EAGAIN (Resource temporarily unavailable)"
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
