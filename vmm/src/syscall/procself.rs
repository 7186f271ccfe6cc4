//! The guest's own `/proc/self`, answered from microvm's model of the
//! guest (never the host's: the view hides every host process, see
//! [`super::view`]). `/proc/self`, `/proc/thread-self` and `/proc/1` (the
//! guest's pid) name it; the files served are `cmdline`, `environ`,
//! `comm`, `status`, `maps` and `auxv` (read-only, as Linux's), and the
//! links `exe`, `cwd` and `fd/N` (through readlink), listed in the
//! directory `fd`. Everything else under it is ENOENT.
//!
//! Only the plain spelling is recognised, after `.`, `..` and repeated
//! slashes are taken out of the path lexically: a path that reaches /proc
//! through a symlink goes to the view, which refuses it.

use super::GUEST_PID;
use crate::arch::paging::PageFlags;
use microvm_abi::layout::USER_STACK_TOP;

/// A file of the guest's `/proc/self`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// argv, each NUL-terminated.
    Cmdline,
    /// The environment, each NUL-terminated.
    Environ,
    /// The program's name and a newline.
    Comm,
    /// The `Name:`/`Pid:`/... lines.
    Status,
    /// The mappings, one line each.
    Maps,
    /// The auxiliary vector the program started with.
    Auxv,
    /// The link to the program.
    Exe,
    /// The link to the current directory.
    Cwd,
    /// The link to what fd N is.
    Fd(u32),
    /// The directory of those links.
    FdDir,
}

impl Entry {
    /// Its name in the directory.
    pub fn name(self) -> String {
        match self {
            Entry::Cmdline => "cmdline".into(),
            Entry::Environ => "environ".into(),
            Entry::Comm => "comm".into(),
            Entry::Status => "status".into(),
            Entry::Maps => "maps".into(),
            Entry::Auxv => "auxv".into(),
            Entry::Exe => "exe".into(),
            Entry::Cwd => "cwd".into(),
            Entry::Fd(n) => format!("fd/{n}"),
            Entry::FdDir => "fd".into(),
        }
    }

    /// Whether it is a link (read with readlink), not a file.
    pub fn is_link(self) -> bool {
        matches!(self, Entry::Exe | Entry::Cwd | Entry::Fd(_))
    }
}

/// A decimal fd number as /proc/self/fd names it (no sign, no leading
/// zero).
fn fd_number(name: &[u8]) -> Option<u32> {
    if name.is_empty() || (name.len() > 1 && name[0] == b'0') {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// What the guest process is, for its `/proc/self`.
#[derive(Debug, Clone, Default)]
pub struct GuestProcess {
    /// argv, `argv[0]` first.
    pub argv: Vec<String>,
    /// KEY=VALUE strings.
    pub envp: Vec<String>,
    /// The name prctl(PR_SET_NAME) gave it, if any (else argv\[0\]'s).
    pub comm: Option<Vec<u8>>,
}

/// `path` (absolute) with `.`, `..` and empty components taken out.
fn components(path: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// The entry the absolute view path `path` names, if it is one.
pub fn lookup(path: &[u8]) -> Option<Entry> {
    let parts = components(path);
    let pid = GUEST_PID.to_string();
    let me = |who: &[u8]| who == b"self" || who == b"thread-self" || who == pid.as_bytes();
    match parts.as_slice() {
        [b"proc", who, b"fd", n] if me(who) => fd_number(n).map(Entry::Fd),
        [b"proc", who, b"fd"] if me(who) => Some(Entry::FdDir),
        [b"proc", who, name] if me(who) => match *name {
            b"cmdline" => Some(Entry::Cmdline),
            b"environ" => Some(Entry::Environ),
            b"comm" => Some(Entry::Comm),
            b"status" => Some(Entry::Status),
            b"maps" => Some(Entry::Maps),
            b"auxv" => Some(Entry::Auxv),
            b"exe" => Some(Entry::Exe),
            b"cwd" => Some(Entry::Cwd),
            _ => None,
        },
        _ => None,
    }
}

/// The name Linux gives the process: the one prctl(PR_SET_NAME) set, else
/// argv\[0\]'s last component (the program's file name, as exec names it),
/// at most 15 bytes (TASK_COMM_LEN - 1).
pub fn comm(process: &GuestProcess) -> Vec<u8> {
    if let Some(comm) = &process.comm {
        return comm.clone();
    }
    let argv0 = process.argv.first().map_or("", String::as_str);
    let name = argv0.rsplit('/').next().unwrap_or_default().as_bytes();
    name[..name.len().min(15)].to_vec()
}

/// The bytes of `entry` (a file, not a link); `fds` is how many fds are open.
pub fn contents(entry: Entry, process: &GuestProcess, fds: usize) -> Vec<u8> {
    let nul_joined = |strings: &[String]| {
        let mut out = Vec::new();
        for s in strings {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        out
    };
    match entry {
        Entry::Cmdline => nul_joined(&process.argv),
        Entry::Environ => nul_joined(&process.envp),
        Entry::Comm => {
            let mut c = comm(process);
            c.push(b'\n');
            c
        }
        Entry::Status => {
            // Escaped as Linux escapes the name: no newline can end the
            // line early.
            let name: String = comm(process)
                .iter()
                .map(|&b| match b {
                    b'\n' => "\\n".to_string(),
                    b'\\' => "\\\\".to_string(),
                    b => (b as char).to_string(),
                })
                .collect();
            format!(
                "Name:\t{name}\nUmask:\t0022\nState:\tR (running)\nTgid:\t{pid}\nNgid:\t0\n\
                 Pid:\t{pid}\nPPid:\t0\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n\
                 FDSize:\t{fdsize}\nGroups:\t\nNSpid:\t{pid}\nNSpgid:\t{pid}\nNSsid:\t{pid}\n\
                 Threads:\t1\n",
                pid = GUEST_PID,
                fdsize = fds.next_multiple_of(64).max(64),
            )
            .into_bytes()
        }
        Entry::Maps | Entry::Auxv | Entry::Exe | Entry::Cwd | Entry::Fd(_) | Entry::FdDir => {
            Vec::new()
        }
    }
}

/// /proc/self/maps for `mappings` (start, end, rights; `None` for
/// PROT_NONE), as Linux lays it out: private, offset 0, no device, no
/// inode; the one holding the top of the stack is `[stack]`, those inside
/// the vDSO's pages `[vvar]` and `[vdso]`.
pub fn maps(
    mappings: impl Iterator<Item = (u64, u64, Option<PageFlags>)>,
    vdso: Option<crate::vdso::VdsoMapping>,
) -> Vec<u8> {
    // Where Linux pads the name to (25 + 6 pointer widths - 1).
    const NAME_COLUMN: usize = 72;
    let mut out = String::new();
    for (start, end, prot) in mappings {
        let (r, w, x) = match prot {
            Some(f) => (
                'r',
                if f.write { 'w' } else { '-' },
                if f.exec { 'x' } else { '-' },
            ),
            None => ('-', '-', '-'),
        };
        let mut line = format!("{start:08x}-{end:08x} {r}{w}{x}p 00000000 00:00 0 ");
        let within = |s: u64, e: u64| s <= start && end <= e;
        let name = if (start..end).contains(&(USER_STACK_TOP - 1)) {
            Some("[stack]")
        } else {
            vdso.and_then(|v| {
                if within(v.vvar, v.base) {
                    Some("[vvar]")
                } else if within(v.base, v.end) {
                    Some("[vdso]")
                } else {
                    None
                }
            })
        };
        if let Some(name) = name {
            while line.len() < NAME_COLUMN {
                line.push(' ');
            }
            line.push(' ');
            line.push_str(name);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.into_bytes()
}

/// The `linux_dirent64` records of /proc/self/fd listing `fds`: `.`,
/// `..`, then one symlink per fd, each record's d_off the offset of the
/// next (what lseek takes back to it).
pub fn fd_dir(fds: impl Iterator<Item = u32>) -> Vec<u8> {
    // d_ino u64, d_off i64, d_reclen u16, d_type u8, then the name.
    const NAME: usize = 19;
    let mut out = Vec::new();
    let names = [
        (".".to_string(), libc::DT_DIR),
        ("..".to_string(), libc::DT_DIR),
    ]
    .into_iter()
    .chain(fds.map(|fd| (fd.to_string(), libc::DT_LNK)));
    for (i, (name, kind)) in names.enumerate() {
        let reclen = (NAME + name.len() + 1).next_multiple_of(8);
        let next = (out.len() + reclen) as u64;
        out.extend_from_slice(&(FD_DIR_INO + i as u64).to_le_bytes());
        out.extend_from_slice(&next.to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(kind);
        out.extend_from_slice(name.as_bytes());
        out.resize(next as usize, 0);
    }
    out
}

/// The inode numbers the fd directory's entries show.
const FD_DIR_INO: u64 = 0x5ec0_0000;

/// The most auxv pairs read back (the loader writes fewer than 32).
const MAX_AUXV_PAIRS: usize = 64;

/// /proc/self/auxv: the (key, value) pairs up to and with AT_NULL, read
/// from where the loader laid them out on the initial stack (`sp` points
/// at argc; `argc` and `envc` strings' pointers and two NULLs come
/// before them). At most [`MAX_AUXV_PAIRS`]; what cannot be read ends it.
pub fn auxv(mem: &crate::usermem::UserMemory<'_>, sp: u64, argc: usize, envc: usize) -> Vec<u8> {
    let mut out = Vec::new();
    // The model's argc must be the one on the stack, or the layout is not
    // the one this reads.
    let mut first = [0u8; 8];
    if mem.read(sp, &mut first).is_err() || u64::from_le_bytes(first) != argc as u64 {
        return out;
    }
    let words = 3 + argc as u64 + envc as u64;
    let Some(mut at) = words.checked_mul(8).and_then(|o| sp.checked_add(o)) else {
        return out;
    };
    for _ in 0..MAX_AUXV_PAIRS {
        let mut pair = [0u8; 16];
        if mem.read(at, &mut pair).is_err() {
            break;
        }
        out.extend_from_slice(&pair);
        if pair[..8] == [0; 8] {
            break;
        }
        at += 16;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_guest_s_own_spellings() {
        assert_eq!(lookup(b"/proc/self/cmdline"), Some(Entry::Cmdline));
        assert_eq!(lookup(b"//proc/./self//environ"), Some(Entry::Environ));
        assert_eq!(lookup(b"/proc/1/status"), Some(Entry::Status));
        assert_eq!(lookup(b"/proc/thread-self/comm"), Some(Entry::Comm));
        assert_eq!(lookup(b"/proc/x/../self/exe"), Some(Entry::Exe));
        assert_eq!(lookup(b"/../proc/self/cwd"), Some(Entry::Cwd));
        assert_eq!(lookup(b"/proc/self/fd/0"), Some(Entry::Fd(0)));
        assert_eq!(lookup(b"/proc/self/fd/"), Some(Entry::FdDir));
        assert_eq!(lookup(b"/proc/1/fd/1023"), Some(Entry::Fd(1023)));
        assert_eq!(lookup(b"/proc/self/fd/01"), None);
        assert_eq!(lookup(b"/proc/self/fd/-1"), None);
        assert_eq!(lookup(b"/proc/self/fd/99999999999"), None);
        assert_eq!(lookup(b"/proc/2/cmdline"), None);
        assert_eq!(lookup(b"/proc/self/maps"), Some(Entry::Maps));
        assert_eq!(lookup(b"/proc/self/auxv"), Some(Entry::Auxv));
        assert_eq!(lookup(b"/proc/self/mem"), None);
        assert_eq!(lookup(b"/proc/self"), None);
        assert_eq!(lookup(b"/tmp/proc/self/cmdline"), None);
    }

    #[test]
    fn contents_as_linux_lays_them_out() {
        let p = GuestProcess {
            argv: vec!["/bin/a-very-long-program-name".into(), "x".into()],
            envp: vec!["A=1".into()],
            comm: None,
        };
        assert_eq!(
            contents(Entry::Cmdline, &p, 3),
            b"/bin/a-very-long-program-name\0x\0"
        );
        assert_eq!(contents(Entry::Environ, &p, 3), b"A=1\0");
        assert_eq!(contents(Entry::Comm, &p, 3), b"a-very-long-pro\n");
        let status = String::from_utf8(contents(Entry::Status, &p, 3)).unwrap();
        assert!(status.starts_with("Name:\ta-very-long-pro\n"), "{status}");
        assert!(status.contains("\nPid:\t1\nPPid:\t0\n"), "{status}");
        assert!(status.contains("\nFDSize:\t64\n"), "{status}");
    }

    #[test]
    fn the_fd_directory_lists_dot_dotdot_and_each_fd() {
        let d = fd_dir([0, 1, 10].into_iter());
        let mut at = 0;
        let mut names = Vec::new();
        while at < d.len() {
            let reclen = usize::from(u16::from_le_bytes([d[at + 16], d[at + 17]]));
            let next = u64::from_le_bytes(d[at + 8..at + 16].try_into().unwrap());
            assert_eq!(next as usize, at + reclen);
            assert_eq!(reclen % 8, 0);
            let name = &d[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap()];
            names.push((String::from_utf8(name.to_vec()).unwrap(), d[at + 18]));
            at += reclen;
        }
        let want = [
            (".", libc::DT_DIR),
            ("..", libc::DT_DIR),
            ("0", libc::DT_LNK),
            ("1", libc::DT_LNK),
            ("10", libc::DT_LNK),
        ];
        assert_eq!(names, want.map(|(n, t)| (n.to_string(), t)));
    }

    #[test]
    fn maps_as_linux_lays_them_out() {
        let ro = PageFlags {
            write: false,
            exec: true,
            user: true,
        };
        let vdso = crate::vdso::VdsoMapping {
            vvar: 0x7fff_f7ff_d000,
            base: 0x7fff_f7ff_e000,
            end: 0x7fff_f7ff_f000,
        };
        let m = maps(
            [
                (0x40_0000, 0x40_1000, Some(ro)),
                (0x7fff_0000_0000, 0x7fff_0001_0000, None),
                (vdso.vvar, vdso.base, Some(PageFlags { exec: false, ..ro })),
                (vdso.base, vdso.end, Some(ro)),
                (
                    USER_STACK_TOP - 0x2_0000,
                    USER_STACK_TOP,
                    Some(PageFlags::USER_RW),
                ),
            ]
            .into_iter(),
            Some(vdso),
        );
        let m = String::from_utf8(m).unwrap();
        let lines: Vec<&str> = m.lines().collect();
        assert_eq!(lines[0], "00400000-00401000 r-xp 00000000 00:00 0 ");
        assert_eq!(lines[1], "7fff00000000-7fff00010000 ---p 00000000 00:00 0 ");
        assert_eq!(
            lines[2],
            "7ffff7ffd000-7ffff7ffe000 r--p 00000000 00:00 0                          [vvar]"
        );
        assert_eq!(
            lines[3],
            "7ffff7ffe000-7ffff7fff000 r-xp 00000000 00:00 0                          [vdso]"
        );
        assert_eq!(
            lines[4],
            "7ffffffdf000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]"
        );
    }
}
