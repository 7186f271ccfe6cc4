//! The read-only view of a host directory that `--fs-root DIR` gives the
//! program: its "/" is DIR.
//!
//! Every guest path is resolved by the host kernel, with openat2(2) and
//! `RESOLVE_IN_ROOT` relative to an `O_PATH` descriptor of DIR: `..` at the
//! top stays at the top, and absolute symlinks are taken relative to DIR, so
//! neither `..`, nor absolute symlinks, nor symlinks that climb out can
//! reach anything outside DIR. `RESOLVE_NO_MAGICLINKS` refuses the
//! `/proc/PID/fd/N` kind of links, which would otherwise jump anywhere.
//! The view only ever opens read-only (or `O_PATH`); the caller refuses
//! writes and creation.
//!
//! The host's processes are not in the view: whatever path reaches a
//! procfs (`/proc` of `--fs-root /`, or any other mount of it), a file in
//! or under one of its process directories (`/proc/PID`, which
//! `/proc/self`, `/proc/thread-self`, `/proc/net`, `/proc/mounts`,
//! `/dev/fd` and `/dev/stdin` lead to) is ENOENT, as in a pid namespace
//! where the host's processes do not exist. That is checked on the file
//! each open ends at, after the host kernel resolved every `..` and
//! symlink, so no spelling of the path gets around it; and listings of a
//! procfs root leave those directories out. microvm's own process is
//! among them: its memory, environment and descriptors stay out of
//! reach. (What the guest sees as `/proc/self/exe` is answered from
//! microvm's model of the guest, in the file service.)

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// How every path in the view is resolved.
fn resolve_flags() -> ResolveFlag {
    ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS
}

/// How many times an open is retried when the kernel reports a race with
/// a concurrent rename (openat2 then fails with EAGAIN).
const RACE_RETRIES: usize = 8;

/// A host directory seen as the program's root, read-only.
#[derive(Debug)]
pub struct View {
    /// DIR, opened `O_PATH`.
    root: OwnedFd,
    /// DIR's host path as the kernel names it (for turning an open
    /// descriptor back into a path in the view).
    host_root: Vec<u8>,
}

impl View {
    /// The view of `dir`. Fails if `dir` is not a directory microvm can
    /// open, or if the host kernel lacks openat2 (Linux 5.6 and later have
    /// it).
    pub fn new(dir: &Path) -> crate::Result<View> {
        let fail = |reason: String| crate::Error::FsRoot {
            path: dir.to_path_buf(),
            reason,
        };
        let root = nix::fcntl::open(
            dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| fail(e.desc().to_string()))?;
        // Judged from the host's "/": the view cannot see above its root.
        let host = nix::fcntl::open(
            "/",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map(|root| View {
            root,
            host_root: b"/".to_vec(),
        });
        if host.is_ok_and(|h| h.proc_place(root.as_fd()) == Ok(ProcPlace::Process)) {
            return Err(fail(
                "it is in a process directory of /proc, which the view never shows".into(),
            ));
        }
        let host_root = fd_path(root.as_fd())
            .map_err(|e| fail(format!("cannot name the directory: {}", e.desc())))?;
        let view = View { root, host_root };
        match view.open(b"/", OFlag::O_PATH | OFlag::O_DIRECTORY) {
            Ok(_) => Ok(view),
            Err(Errno::ENOSYS) => Err(fail(
                "this host kernel has no openat2(2), which --fs-root needs (Linux 5.6 or later)"
                    .into(),
            )),
            Err(e) => Err(fail(e.desc().to_string())),
        }
    }

    /// Open `path` (absolute in the view, or relative to its root) with
    /// the host open `flags` (`O_CLOEXEC` is always added). The caller
    /// never passes a flag that writes or creates.
    pub fn open(&self, path: &[u8], flags: OFlag) -> Result<OwnedFd, Errno> {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(resolve_flags());
        let path = OsStr::from_bytes(path);
        let mut tries = 0;
        loop {
            match nix::fcntl::openat2(self.root.as_fd(), path, how) {
                Err(Errno::EAGAIN) if tries < RACE_RETRIES => tries += 1,
                Err(Errno::EINTR) => {}
                Ok(fd) => {
                    return match self.proc_place(fd.as_fd())? {
                        ProcPlace::Process => Err(Errno::ENOENT),
                        ProcPlace::Root | ProcPlace::Outside | ProcPlace::Other => Ok(fd),
                    }
                }
                // A failure inside a process directory (EACCES on another
                // user's file, ELOOP on a /proc/PID/fd link) would tell
                // that the directory is there.
                Err(e) if e != Errno::ENOENT && self.under_process(path) => {
                    return Err(Errno::ENOENT)
                }
                other => return other,
            }
        }
    }

    /// The descriptor of the view's root (`O_PATH`), which every lookup
    /// starts from.
    pub fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// Where `fd`, a descriptor opened through this view, is with respect
    /// to procfs. For a file on a procfs, the kernel's name for it (a
    /// path without symlinks or `..`) is climbed one directory at a time,
    /// each opened through the view, up to the procfs root; the entry
    /// right below that root names a process or not. Whatever cannot be
    /// told is taken as a process's. (Only openat2 relative to the view's
    /// root, fstat, fstatfs and readlink: what the file service's seccomp
    /// filter allows.)
    pub fn proc_place(&self, fd: BorrowedFd<'_>) -> Result<ProcPlace, Errno> {
        if !on_procfs(fd)? {
            return Ok(ProcPlace::Outside);
        }
        if inode(fd)? == PROC_ROOT_INO {
            return Ok(ProcPlace::Root);
        }
        let Ok(path) = self.path_of(fd) else {
            return Ok(ProcPlace::Process);
        };
        let parts: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|p| !p.is_empty())
            .collect();
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
            .resolve(resolve_flags());
        for k in (0..parts.len()).rev() {
            let mut dir = b"/".to_vec();
            dir.extend(parts[..k].join(&b'/'));
            let Ok(dir) = nix::fcntl::openat2(self.root.as_fd(), OsStr::from_bytes(&dir), how)
            else {
                return Ok(ProcPlace::Process);
            };
            if !on_procfs(dir.as_fd())? {
                // Left procfs without meeting its root.
                return Ok(ProcPlace::Process);
            }
            if inode(dir.as_fd())? == PROC_ROOT_INO {
                return Ok(if is_process_entry(parts[k]) {
                    ProcPlace::Process
                } else {
                    ProcPlace::Other
                });
            }
        }
        Ok(ProcPlace::Process)
    }

    /// Whether the longest leading part of `path` (cut at a `/`) that
    /// opens is in a process directory. The parts that open are the first
    /// ones (the kernel resolves left to right), so a binary search finds
    /// it in a few opens, whatever the path's length.
    fn under_process(&self, path: &OsStr) -> bool {
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(resolve_flags());
        let path = path.as_bytes();
        // Leading parts: the root, then the path up to each later '/'.
        let cuts: Vec<usize> = std::iter::once(0)
            .chain(
                path.iter()
                    .enumerate()
                    .filter(|&(i, &b)| b == b'/' && i > 0)
                    .map(|(i, _)| i),
            )
            .collect();
        let open = |k: usize| {
            let part: &[u8] = if cuts[k] == 0 { b"/" } else { &path[..cuts[k]] };
            nix::fcntl::openat2(self.root.as_fd(), OsStr::from_bytes(part), how).ok()
        };
        // Invariant: part `lo` opens (the root does); parts past `hi` do not.
        let (mut lo, mut hi) = (0, cuts.len() - 1);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if open(mid).is_some() {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        open(lo).is_some_and(|fd| self.proc_place(fd.as_fd()) == Ok(ProcPlace::Process))
    }

    /// Where microvm's own working directory is in the view: its absolute
    /// path there when it lies under the view's root and the view shows it
    /// (the same directory opens through the view), else `None` (outside
    /// the root, removed, or in a process directory of /proc).
    pub fn host_cwd(&self) -> Option<Vec<u8>> {
        let here = nix::fcntl::open(
            ".",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok()?;
        let path = self.path_of(here.as_fd()).ok()?;
        let there = self.open(&path, OFlag::O_PATH | OFlag::O_DIRECTORY).ok()?;
        (identity(here.as_fd()).ok()? == identity(there.as_fd()).ok()?).then_some(path)
    }

    /// The absolute path in the view of `fd`, a descriptor opened through
    /// this view (for a directory used as a dirfd, or the new cwd).
    pub fn path_of(&self, fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
        let host = fd_path(fd)?;
        view_path(&self.host_root, &host).ok_or(Errno::ENOENT)
    }
}

/// Where a file is with respect to procfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcPlace {
    /// Not on a procfs.
    Outside,
    /// The root directory of a procfs.
    Root,
    /// In or under a process directory of a procfs (`/proc/PID/...`).
    Process,
    /// Elsewhere on a procfs (`/proc/cpuinfo`, `/proc/sys/...`).
    Other,
}

/// The inode number of a procfs root (Linux's PROC_ROOT_INO).
const PROC_ROOT_INO: u64 = 1;

/// Whether a name at the top of procfs is a process directory (or the
/// `self`/`thread-self` links to one).
pub fn is_process_entry(name: &[u8]) -> bool {
    name == b"self"
        || name == b"thread-self"
        || (!name.is_empty() && name.iter().all(u8::is_ascii_digit))
}

/// The inode number of `fd` (with fstat(2) itself, not the newfstatat
/// libc may use for it).
fn inode(fd: BorrowedFd<'_>) -> Result<u64, Errno> {
    identity(fd).map(|(_, ino)| ino)
}

/// The device and inode numbers of `fd`: which file it is.
fn identity(fd: BorrowedFd<'_>) -> Result<(u64, u64), Errno> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: fstat writes one struct stat into `st`, which has room for it.
    let r = unsafe { libc::syscall(libc::SYS_fstat, fd.as_raw_fd(), st.as_mut_ptr()) };
    Errno::result(r)?;
    // SAFETY: zero-initialised, then filled by the successful fstat.
    let st = unsafe { st.assume_init() };
    Ok((st.st_dev, st.st_ino))
}

/// Whether `fd` is on a procfs.
fn on_procfs(fd: BorrowedFd<'_>) -> Result<bool, Errno> {
    let fs = nix::sys::statfs::fstatfs(fd)?;
    Ok(fs.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
}

/// The host path of `fd`, as `/proc/self/fd/N` names it.
fn fd_path(fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let path = nix::fcntl::readlink(link.as_str())?;
    Ok(path.into_vec())
}

/// `host` (a host path under `root`) as a path in the view of `root`.
fn view_path(root: &[u8], host: &[u8]) -> Option<Vec<u8>> {
    if root == b"/" {
        return host.starts_with(b"/").then(|| host.to_vec());
    }
    let rest = host.strip_prefix(root)?;
    match rest {
        [] => Some(b"/".to_vec()),
        [b'/', ..] => Some(rest.to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tempdir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("microvm-view-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn read(view: &View, path: &str) -> Result<String, Errno> {
        let fd = view.open(path.as_bytes(), OFlag::O_RDONLY)?;
        Ok(std::fs::read_to_string(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap())
    }

    #[test]
    fn view_paths() {
        assert_eq!(view_path(b"/", b"/etc"), Some(b"/etc".to_vec()));
        assert_eq!(view_path(b"/tmp/r", b"/tmp/r"), Some(b"/".to_vec()));
        assert_eq!(view_path(b"/tmp/r", b"/tmp/r/a/b"), Some(b"/a/b".to_vec()));
        assert_eq!(view_path(b"/tmp/r", b"/tmp/rx"), None);
        assert_eq!(view_path(b"/tmp/r", b"/etc"), None);
    }

    #[test]
    fn nothing_escapes_the_root() {
        let dir = tempdir("escape");
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("etc/passwd"), "inside\n").unwrap();
        symlink("/etc/passwd", dir.join("abs")).unwrap();
        symlink("../../../../../../etc/passwd", dir.join("sub/rel")).unwrap();
        let view = View::new(&dir).unwrap();
        for path in [
            "/etc/passwd",
            "etc/passwd",
            "../../etc/passwd",
            "/../../../etc/passwd",
            "/abs",
            "/sub/rel",
            "sub/../sub/../../etc/passwd",
        ] {
            assert_eq!(read(&view, path).as_deref(), Ok("inside\n"), "{path}");
        }
        let sub = view
            .open(b"/sub/../sub", OFlag::O_PATH | OFlag::O_DIRECTORY)
            .unwrap();
        assert_eq!(view.path_of(sub.as_fd()).unwrap(), b"/sub");
        let top = view.open(b"/..", OFlag::O_PATH).unwrap();
        assert_eq!(view.path_of(top.as_fd()).unwrap(), b"/");
        assert_eq!(read(&view, "/nope").unwrap_err(), Errno::ENOENT);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_root_is_refused() {
        let err = View::new(Path::new("/nonexistent-microvm-root")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--fs-root /nonexistent-microvm-root: No such file or directory"
        );
        let err = View::new(Path::new("/etc/passwd")).unwrap_err();
        assert!(err.to_string().contains("Not a directory"), "{err}");
    }
}
