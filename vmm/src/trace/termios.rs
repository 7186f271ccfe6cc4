//! The kernel's `struct termios` as strace 6 shows it (TCGETS, TCSETS...):
//! `{c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR,
//! c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|..., ...}`, and with `-v`
//! `c_line` and `c_cc` too.

use crate::syscall::linux::termios;
use microvm_abi::linux::consts::{
    BAUD_OPTIONS, BSDLY, CBAUD, CIBAUD, CRDLY, CSIZE, FFDLY, IBSHIFT, NCCS, NLDLY, TABDLY,
    TERMIOS_CC, TERM_CFLAGS, TERM_CFLAGS_CSIZE, TERM_IFLAGS, TERM_LFLAGS, TERM_LINE_DISCS,
    TERM_OFLAGS, TERM_OFLAGS_BSDLY, TERM_OFLAGS_CRDLY, TERM_OFLAGS_FFDLY, TERM_OFLAGS_NLDLY,
    TERM_OFLAGS_TABDLY, TERM_OFLAGS_VTDLY, VTDLY,
};
use microvm_abi::linux::xlat::{Xlat, XlatKind};
use std::io::{self, Write};

/// The size of the kernel's `struct termios`.
pub const SIZE: usize = termios::SIZE;
/// Where `c_line` is.
const LINE: usize = termios::LINE;
/// Where `c_cc` starts.
const CC: usize = LINE + 1;
const _: () = assert!(CC + NCCS == SIZE);

/// strace's `printflags64(table, v, NULL)`: names joined by `|` (an entry
/// of value 0 names 0), the bits left in hex; nothing at all for 0 with
/// no name (strace prints `c_iflag=, ` then).
fn flags(out: &mut impl Write, table: &Xlat, mut v: u64) -> io::Result<()> {
    let mut n = 0;
    for &(bit, name) in table.entries {
        if !(v == bit || (bit != 0 && v & bit == bit)) {
            continue;
        }
        if n > 0 {
            out.write_all(b"|")?;
        }
        out.write_all(name.as_bytes())?;
        n += 1;
        v &= !bit;
        if v == 0 {
            break;
        }
    }
    match (n, v) {
        (_, 0) => Ok(()),
        (0, v) => write!(out, "{v:#x}"),
        (_, v) => write!(out, "|{v:#x}"),
    }
}

/// strace's `printxval64`: the name, or the number and the table's
/// `/* ??? */`.
fn value(out: &mut impl Write, table: &Xlat, v: u64) -> io::Result<()> {
    match table.name(v) {
        Some(n) => out.write_all(n.as_bytes()),
        None => {
            write!(out, "{v:#x}")?;
            match table.kind {
                XlatKind::Values { unknown } if !unknown.is_empty() => {
                    write!(out, " /* {unknown} */")
                }
                _ => Ok(()),
            }
        }
    }
}

/// `c_oflag`: each delay by name, then the flags.
fn oflag(out: &mut impl Write, mut v: u64) -> io::Result<()> {
    for (table, mask) in [
        (&TERM_OFLAGS_NLDLY, NLDLY),
        (&TERM_OFLAGS_CRDLY, CRDLY),
        (&TERM_OFLAGS_TABDLY, TABDLY),
        (&TERM_OFLAGS_BSDLY, BSDLY),
        (&TERM_OFLAGS_VTDLY, VTDLY),
        (&TERM_OFLAGS_FFDLY, FFDLY),
    ] {
        value(out, table, v & mask)?;
        out.write_all(b"|")?;
        v &= !mask;
    }
    flags(out, &TERM_OFLAGS, v)
}

/// `c_cflag`: the speed (and the input speed when set), the character
/// size, then the flags.
fn cflag(out: &mut impl Write, v: u64) -> io::Result<()> {
    value(out, &BAUD_OPTIONS, v & CBAUD)?;
    out.write_all(b"|")?;
    if v & CIBAUD != 0 {
        value(out, &BAUD_OPTIONS, (v & CIBAUD) >> IBSHIFT)?;
        out.write_all(b"<<IBSHIFT|")?;
    }
    value(out, &TERM_CFLAGS_CSIZE, v & CSIZE)?;
    out.write_all(b"|")?;
    flags(out, &TERM_CFLAGS, v & !(CBAUD | CIBAUD | CSIZE))
}

/// The struct in `b`; `verbose` (`-v`) adds `c_line` and `c_cc`.
pub fn fields(out: &mut impl Write, b: &[u8; SIZE], verbose: bool) -> io::Result<()> {
    let word = |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    out.write_all(b"{c_iflag=")?;
    flags(out, &TERM_IFLAGS, word(0))?;
    out.write_all(b", c_oflag=")?;
    oflag(out, word(4))?;
    out.write_all(b", c_cflag=")?;
    cflag(out, word(8))?;
    out.write_all(b", c_lflag=")?;
    flags(out, &TERM_LFLAGS, word(12))?;
    if !verbose {
        return out.write_all(b", ...}");
    }
    out.write_all(b", c_line=")?;
    value(out, &TERM_LINE_DISCS, u64::from(b[LINE]))?;
    out.write_all(b", c_cc=[")?;
    for (i, &c) in b[CC..].iter().enumerate() {
        if i > 0 {
            out.write_all(b", ")?;
        }
        match TERMIOS_CC.name(i as u64) {
            Some(n) => write!(out, "[{n}]=")?,
            None => write!(out, "[{i}]=")?,
        }
        super::format::hex(out, u64::from(c))?;
    }
    out.write_all(b"]}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::style::Style;
    use crate::trace::testing::{Memory, USER};
    use microvm_abi::linux::nr;

    /// The termios of a fresh pty, as TCGETS returned it natively.
    fn pty() -> [u8; SIZE] {
        let mut b = [0u8; SIZE];
        for (i, v) in [0x500u32, 0x5, 0xbf, 0x8a3b].iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        let cc = [
            3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0xf, 0x17, 0x16, 0, 0, 0,
        ];
        b[CC..].copy_from_slice(&cc);
        b
    }

    #[test]
    fn tcgets_like_strace() {
        let mut m = Memory::new();
        let t = m.put(USER, &pty());
        assert_eq!(
            m.line(nr::IOCTL, [0, 0x5401, t, 0, 0, 0], Some(0)),
            "ioctl(0, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}) = 0"
        );
        let v = Style {
            verbose: true,
            ..Style::default()
        };
        assert_eq!(
            m.line_with(&v, nr::IOCTL, [0, 0x5401, t, 0, 0, 0], Some(0)),
            "ioctl(0, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, c_line=N_TTY, c_cc=[[VINTR]=0x3, [VQUIT]=0x1c, [VERASE]=0x7f, [VKILL]=0x15, [VEOF]=0x4, [VTIME]=0, [VMIN]=0x1, [VSWTC]=0, [VSTART]=0x11, [VSTOP]=0x13, [VSUSP]=0x1a, [VEOL]=0, [VREPRINT]=0x12, [VDISCARD]=0xf, [VWERASE]=0x17, [VLNEXT]=0x16, [VEOL2]=0, [17]=0, [18]=0]}) = 0"
        );
        // Not a terminal: the pointer.
        assert_eq!(
            m.line(nr::IOCTL, [3, 0x5401, t, 0, 0, 0], Some(-25)),
            "ioctl(3, TCGETS, 0x10000000) = -1 ENOTTY (Inappropriate ioctl for device)"
        );
    }

    #[test]
    fn tcsets_and_odd_values() {
        let mut m = Memory::new();
        let zero = m.put(USER, &[0u8; SIZE]);
        // strace names 0x5402 "SNDCTL_TMR_START or TCSETS" (two ioctls
        // share the number); the request's name is the ioctl table's.
        assert!(m
            .line(nr::IOCTL, [0, 0x5402, zero, 0, 0, 0], Some(0))
            .ends_with("TCSETS, {c_iflag=, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|, c_cflag=B0|CS5|, c_lflag=, ...}) = 0"));
        let mut b = [0u8; SIZE];
        for (i, v) in [0x8000_0000u32, 0x8000_0000, 0x100f_00bf, 0x8000_0000]
            .iter()
            .enumerate()
        {
            b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        b[LINE] = 77;
        b[CC + 17] = 5;
        let odd = m.put(USER + 0x100, &b);
        let v = Style {
            verbose: true,
            ..Style::default()
        };
        let l = m.line_with(&v, nr::IOCTL, [0, 0x5402, odd, 0, 0, 0], Some(0));
        assert!(l.contains("TCSETS, {c_iflag=0x80000000, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|0x80000000, c_cflag=B38400|B4000000<<IBSHIFT|CS8|CREAD, c_lflag=0x80000000, c_line=0x4d /* N_??? */, c_cc=[[VINTR]=0, "), "{l}");
        assert!(l.ends_with("[VEOL2]=0, [17]=0x5, [18]=0]}) = 0"), "{l}");
    }
}
