//! wait4's status and `struct rusage` as strace 6 shows them:
//! `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`, `{ru_utime={tv_sec=0,
//! tv_usec=106}, ru_stime={...}, ...}`.

use super::format::hex;
use super::structs::timeval_fields;
use std::io::{self, Write};
use std::mem::{offset_of, size_of};

/// The size of `struct rusage`.
pub const RUSAGE_SIZE: usize = size_of::<libc::rusage>();

/// The status as the W* macros take it apart.
pub fn status(out: &mut impl Write, s: u32) -> io::Result<()> {
    let sig_name = |sig: u32| {
        let mut v = Vec::new();
        super::sigargs::signal(&mut v, u64::from(sig))?;
        Ok::<_, io::Error>(String::from_utf8_lossy(&v).into_owned())
    };
    let status = s as i32;
    let mut rest = s;
    if libc::WIFSTOPPED(status) {
        let sig = libc::WSTOPSIG(status) as u32;
        write!(
            out,
            "{{WIFSTOPPED(s) && WSTOPSIG(s) == {}{}}}",
            sig_name(sig & 0x7f)?,
            if sig & 0x80 != 0 { " | 0x80" } else { "" }
        )?;
        rest &= !((sig << 8) | 0x7f);
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status) as u32;
        write!(
            out,
            "{{WIFSIGNALED(s) && WTERMSIG(s) == {}{}}}",
            sig_name(sig)?,
            if libc::WCOREDUMP(status) {
                " && WCOREDUMP(s)"
            } else {
                ""
            }
        )?;
        rest &= !(sig | 0x80);
    } else if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status) as u32;
        write!(out, "{{WIFEXITED(s) && WEXITSTATUS(s) == {code}}}")?;
        rest &= !(code << 8);
    } else if libc::WIFCONTINUED(status) {
        out.write_all(b"{WIFCONTINUED(s)}")?;
        rest &= !0xffff;
    } else {
        return hex(out, u64::from(s));
    }
    let event = rest >> 16;
    if event != 0 {
        // strace names the ptrace events; a guest has none to report.
        write!(out, " | {event:#x}<<16")?;
        rest &= 0xffff;
    }
    if rest != 0 {
        write!(out, " | {rest:#x}")?;
    }
    Ok(())
}

/// `{ru_utime=..., ru_stime=..., ...}`; with `-v` every field.
pub fn rusage_fields(out: &mut impl Write, b: &[u8; RUSAGE_SIZE], verbose: bool) -> io::Result<()> {
    let tv = |o: usize| {
        let mut t = [0u8; 16];
        t.copy_from_slice(&b[o..o + 16]);
        t
    };
    out.write_all(b"{ru_utime=")?;
    timeval_fields(out, &tv(offset_of!(libc::rusage, ru_utime)))?;
    out.write_all(b", ru_stime=")?;
    timeval_fields(out, &tv(offset_of!(libc::rusage, ru_stime)))?;
    if !verbose {
        return out.write_all(b", ...}");
    }
    let longs = [
        ("ru_maxrss", offset_of!(libc::rusage, ru_maxrss)),
        ("ru_ixrss", offset_of!(libc::rusage, ru_ixrss)),
        ("ru_idrss", offset_of!(libc::rusage, ru_idrss)),
        ("ru_isrss", offset_of!(libc::rusage, ru_isrss)),
        ("ru_minflt", offset_of!(libc::rusage, ru_minflt)),
        ("ru_majflt", offset_of!(libc::rusage, ru_majflt)),
        ("ru_nswap", offset_of!(libc::rusage, ru_nswap)),
        ("ru_inblock", offset_of!(libc::rusage, ru_inblock)),
        ("ru_oublock", offset_of!(libc::rusage, ru_oublock)),
        ("ru_msgsnd", offset_of!(libc::rusage, ru_msgsnd)),
        ("ru_msgrcv", offset_of!(libc::rusage, ru_msgrcv)),
        ("ru_nsignals", offset_of!(libc::rusage, ru_nsignals)),
        ("ru_nvcsw", offset_of!(libc::rusage, ru_nvcsw)),
        ("ru_nivcsw", offset_of!(libc::rusage, ru_nivcsw)),
    ];
    for (name, o) in longs {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[o..o + 8]);
        write!(out, ", {name}={}", u64::from_le_bytes(w))?;
    }
    out.write_all(b"}")
}

#[cfg(test)]
mod tests {
    use crate::trace::style::Style;
    use crate::trace::testing::{Memory, USER};
    use microvm_abi::linux::nr;

    #[test]
    fn wait4_lines_like_strace() {
        let mut m = Memory::new();
        let st = m.put(USER, &(3u32 << 8).to_le_bytes());
        assert_eq!(
            m.line(nr::WAIT4, [20236, st, 0, 0, 0, 0], Some(20236)),
            "wait4(20236, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 20236"
        );
        let killed = m.put(USER + 0x10, &9u32.to_le_bytes());
        assert_eq!(
            m.line(nr::WAIT4, [20237, killed, 0x4000_0001, 0, 0, 0], Some(20237)),
            "wait4(20237, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], WNOHANG|__WALL, NULL) = 20237"
        );
        assert_eq!(
            m.line(nr::WAIT4, [20237, killed, 0, 0, 0, 0], Some(-10)),
            "wait4(20237, 0x10000010, 0, NULL) = -1 ECHILD (No child processes)"
        );
        // WNOHANG and nothing to report: the pointers.
        assert_eq!(
            m.line(
                nr::WAIT4,
                [u64::MAX, killed, 1, USER + 0x100, 0, 0],
                Some(0)
            ),
            "wait4(-1, 0x10000010, WNOHANG, 0x10000100) = 0"
        );
        let stopped = m.put(USER + 0x20, &((19u32 << 8) | 0x7f).to_le_bytes());
        assert_eq!(
            m.line(nr::WAIT4, [5, stopped, 2, 0, 0, 0], Some(5)),
            "wait4(5, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}], WSTOPPED, NULL) = 5"
        );
        let core = m.put(USER + 0x30, &(0x80u32 | 11).to_le_bytes());
        assert!(m
            .line(nr::WAIT4, [5, core, 0, 0, 0, 0], Some(5))
            .contains("[{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}]"));
        let cont = m.put(USER + 0x40, &0xffffu32.to_le_bytes());
        assert!(m
            .line(nr::WAIT4, [5, cont, 8, 0, 0, 0], Some(5))
            .contains("[{WIFCONTINUED(s)}], WCONTINUED"));
    }

    #[test]
    fn rusage_like_strace() {
        let mut m = Memory::new();
        let st = m.put(USER, &0u32.to_le_bytes());
        let mut ru = [0u8; super::RUSAGE_SIZE];
        ru[8..16].copy_from_slice(&106u64.to_le_bytes());
        ru[32..40].copy_from_slice(&288u64.to_le_bytes());
        ru[64..72].copy_from_slice(&18u64.to_le_bytes());
        ru[128..136].copy_from_slice(&1u64.to_le_bytes());
        let ru = m.put(USER + 0x100, &ru);
        assert_eq!(
            m.line(nr::WAIT4, [u64::MAX, st, 0, ru, 0, 0], Some(25508)),
            "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, {ru_utime={tv_sec=0, tv_usec=106}, ru_stime={tv_sec=0, tv_usec=0}, ...}) = 25508"
        );
        let v = Style {
            verbose: true,
            ..Style::default()
        };
        assert_eq!(
            m.line_with(&v, nr::WAIT4, [u64::MAX, st, 0, ru, 0, 0], Some(25515)),
            "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, {ru_utime={tv_sec=0, tv_usec=106}, ru_stime={tv_sec=0, tv_usec=0}, ru_maxrss=288, ru_ixrss=0, ru_idrss=0, ru_isrss=0, ru_minflt=18, ru_majflt=0, ru_nswap=0, ru_inblock=0, ru_oublock=0, ru_msgsnd=0, ru_msgrcv=0, ru_nsignals=0, ru_nvcsw=1, ru_nivcsw=0}) = 25515"
        );
    }
}
