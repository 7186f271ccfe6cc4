//! The calls that would change the file system, answered as a read-only
//! file system answers them: every argument and path is checked in
//! Linux's order (EINVAL for bad flags, the lookup's own ENOENT, ENOTDIR,
//! ELOOP, EEXIST where a name to create is taken...), and what would then
//! write fails with EROFS. Nothing reaches the host but the lookups the
//! view makes anyway.
//!
//! Served: mkdir, mkdirat, mknod, mknodat, symlink, symlinkat, link,
//! linkat, unlink, unlinkat, rmdir, rename, renameat, renameat2, chmod,
//! fchmodat, chown, lchown, fchownat, truncate, utimensat, and the fd
//! forms fchmod, fchown, ftruncate, fallocate; creat, as the open(2) it
//! is (which answers as a read-only mount does).

use super::linux::{at, o, PATH_MAX};
use super::{read_path, split_last, Files, Kind, Object};
use crate::syscall::{nr, Context, SysResult};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use std::sync::atomic::Ordering;

/// What the last component of a path is, as Linux's path walk tells
/// (`LAST_NORM`, `LAST_DOT`, `LAST_DOTDOT`, `LAST_ROOT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Norm,
    Dot,
    DotDot,
    Root,
}

/// renameat2's flags.
const RENAME_FLAGS: u64 =
    (libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE | libc::RENAME_WHITEOUT) as u64;

impl Files {
    /// Serve `nr` if it is one of this module's.
    pub(super) fn handle_changes(
        &mut self,
        nr: u64,
        a: &[u64; 6],
        ctx: &mut Context<'_, '_>,
    ) -> Option<SysResult> {
        let cwd = at::FDCWD as u64;
        Some(match nr {
            nr::MKDIR => self.create(ctx, cwd, a[0], true),
            nr::MKDIRAT => self.create(ctx, a[0], a[1], true),
            nr::MKNOD => self.mknod(ctx, cwd, a[0], a[1]),
            nr::MKNODAT => self.mknod(ctx, a[0], a[1], a[2]),
            nr::SYMLINK => self.symlink(ctx, a[0], cwd, a[1]),
            nr::SYMLINKAT => self.symlink(ctx, a[0], a[1], a[2]),
            nr::LINK => self.link(ctx, cwd, a[0], cwd, a[1], 0),
            nr::LINKAT => self.link(ctx, a[0], a[1], a[2], a[3], a[4]),
            nr::UNLINK => self.remove(ctx, cwd, a[0], false),
            nr::RMDIR => self.remove(ctx, cwd, a[0], true),
            nr::UNLINKAT => {
                let flags = a[2] as u32 as u64;
                if flags & !(libc::AT_REMOVEDIR as u64) != 0 {
                    return Some(Err(Errno::EINVAL));
                }
                self.remove(ctx, a[0], a[1], flags != 0)
            }
            nr::RENAME => self.rename(ctx, cwd, a[0], cwd, a[1], 0),
            nr::RENAMEAT => self.rename(ctx, a[0], a[1], a[2], a[3], 0),
            nr::RENAMEAT2 => self.rename(ctx, a[0], a[1], a[2], a[3], a[4]),
            nr::CHMOD => self.change(ctx, cwd, a[0], 0),
            nr::FCHMODAT => self.change(ctx, a[0], a[1], 0),
            nr::CHOWN => self.change(ctx, cwd, a[0], 0),
            nr::LCHOWN => self.change(ctx, cwd, a[0], at::SYMLINK_NOFOLLOW),
            nr::FCHOWNAT => {
                let flags = a[4] as u32 as u64;
                if flags & !(at::SYMLINK_NOFOLLOW | at::EMPTY_PATH) != 0 {
                    return Some(Err(Errno::EINVAL));
                }
                self.change(ctx, a[0], a[1], flags)
            }
            nr::TRUNCATE => self.truncate(ctx, a[0], a[1]),
            nr::UTIMENSAT => self.utimensat(ctx, a[0], a[1], a[2], a[3]),
            nr::FCHMOD | nr::FCHOWN => self.change_fd(a[0]),
            nr::FTRUNCATE => self.ftruncate(a[0], a[1]),
            nr::FALLOCATE => self.fallocate(a[0], a[1], a[2], a[3]),
            // open(path, O_CREAT|O_WRONLY|O_TRUNC, mode).
            nr::CREAT => self.openat(ctx, cwd, a[0], o::CREAT | o::WRONLY | o::TRUNC),
            _ => return None,
        })
    }

    /// The parent directory of `path` from `dirfd` resolved (its errors
    /// are the call's), and what the last component is.
    fn parent(&self, ctx: &Context<'_, '_>, dirfd: u64, path: u64) -> Result<Parent, Errno> {
        let mut buf = [0u8; PATH_MAX];
        let path = read_path(ctx.mem, path, &mut buf)?;
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let (dir, last) = split_last(path);
        self.lookup(dirfd, dir, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
        let kind = match last {
            b"" => Last::Root,
            b"." => Last::Dot,
            b".." => Last::DotDot,
            _ => Last::Norm,
        };
        let trailing_slash = path.len() > 1 && path.ends_with(b"/");
        Ok(Parent {
            path: path.to_vec(),
            last: kind,
            trailing_slash,
        })
    }

    /// Whether `path` (its parent resolved) names something, not
    /// following a final symlink.
    fn exists(&self, dirfd: u64, p: &Parent) -> bool {
        let path = p.path.strip_suffix(b"/").unwrap_or(&p.path);
        self.lookup(dirfd, path, OFlag::O_PATH | OFlag::O_NOFOLLOW)
            .is_ok()
    }

    /// A name to create (mkdir's `dir`, mknod, symlink, link's new
    /// name), as Linux's `filename_create`: EEXIST if it is taken (or is
    /// `.`, `..`, `/`), ENOENT for a missing name with a trailing slash
    /// unless a directory is made, else EROFS.
    fn create(&self, ctx: &Context<'_, '_>, dirfd: u64, path: u64, dir: bool) -> SysResult {
        let p = self.parent(ctx, dirfd, path)?;
        if p.last != Last::Norm || self.exists(dirfd, &p) {
            return Err(Errno::EEXIST);
        }
        if p.trailing_slash && !dir {
            return Err(Errno::ENOENT);
        }
        Err(Errno::EROFS)
    }

    /// mknod(at): the file type is checked first (a directory is EPERM,
    /// an unknown type EINVAL), as Linux's `may_mknod`.
    fn mknod(&self, ctx: &Context<'_, '_>, dirfd: u64, path: u64, mode: u64) -> SysResult {
        match mode as u32 & libc::S_IFMT {
            0 | libc::S_IFREG | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK => {}
            libc::S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        }
        self.create(ctx, dirfd, path, false)
    }

    /// symlink(at): the target is read first (EFAULT, ENOENT if empty).
    fn symlink(&self, ctx: &Context<'_, '_>, target: u64, dirfd: u64, path: u64) -> SysResult {
        let mut buf = [0u8; PATH_MAX];
        if read_path(ctx.mem, target, &mut buf)?.is_empty() {
            return Err(Errno::ENOENT);
        }
        self.create(ctx, dirfd, path, false)
    }

    /// link(at): the existing file, then the new name.
    fn link(
        &self,
        ctx: &Context<'_, '_>,
        olddir: u64,
        old: u64,
        newdir: u64,
        new: u64,
        flags: u64,
    ) -> SysResult {
        let flags = flags as u32 as u64;
        if flags & !((libc::AT_SYMLINK_FOLLOW as u64) | at::EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let follow = if flags & (libc::AT_SYMLINK_FOLLOW as u64) != 0 {
            0
        } else {
            at::SYMLINK_NOFOLLOW
        };
        self.with_target(ctx, olddir, old, follow | (flags & at::EMPTY_PATH), |_| {
            Ok(())
        })?;
        self.create(ctx, newdir, new, false)
    }

    /// unlink, unlinkat and rmdir (`dir`): what the last component is
    /// decides before EROFS; whether it exists does not (Linux asks for
    /// write access to the mount before it looks).
    fn remove(&self, ctx: &Context<'_, '_>, dirfd: u64, path: u64, dir: bool) -> SysResult {
        let p = self.parent(ctx, dirfd, path)?;
        match (p.last, dir) {
            (Last::Norm, _) => Err(Errno::EROFS),
            (_, false) => Err(Errno::EISDIR),
            (Last::Dot, true) => Err(Errno::EINVAL),
            (Last::DotDot, true) => Err(Errno::ENOTEMPTY),
            (Last::Root, true) => Err(Errno::EBUSY),
        }
    }

    /// rename, renameat, renameat2: the flags, both parents, the last
    /// components, then EROFS.
    fn rename(
        &self,
        ctx: &Context<'_, '_>,
        olddir: u64,
        old: u64,
        newdir: u64,
        new: u64,
        flags: u64,
    ) -> SysResult {
        let flags = flags as u32 as u64;
        let noreplace = libc::RENAME_NOREPLACE as u64;
        let exchange = libc::RENAME_EXCHANGE as u64;
        if flags & !RENAME_FLAGS != 0
            || (flags & noreplace != 0 && flags & exchange != 0)
            || (flags & exchange != 0 && flags & libc::RENAME_WHITEOUT as u64 != 0)
        {
            return Err(Errno::EINVAL);
        }
        let from = self.parent(ctx, olddir, old)?;
        let to = self.parent(ctx, newdir, new)?;
        if from.last != Last::Norm {
            return Err(Errno::EBUSY);
        }
        if to.last != Last::Norm {
            return Err(if flags & noreplace != 0 {
                Errno::EEXIST
            } else {
                Errno::EBUSY
            });
        }
        Err(Errno::EROFS)
    }

    /// chmod, fchmodat, chown, lchown, fchownat: the file, then EROFS.
    fn change(&self, ctx: &Context<'_, '_>, dirfd: u64, path: u64, flags: u64) -> SysResult {
        self.with_target(ctx, dirfd, path, flags, |_| Ok(()))?;
        Err(Errno::EROFS)
    }

    /// truncate: a negative length is EINVAL; then the file (followed),
    /// EISDIR for a directory, EINVAL for what is not a regular file, and
    /// EROFS.
    fn truncate(&self, ctx: &Context<'_, '_>, path: u64, length: u64) -> SysResult {
        if (length as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        self.with_target(ctx, at::FDCWD as u64, path, 0, |t| match t {
            super::Target::Fd(fd) => match super::file_type(fd)? {
                libc::S_IFDIR => Err(Errno::EISDIR),
                libc::S_IFREG => Err(Errno::EROFS),
                _ => Err(Errno::EINVAL),
            },
            super::Target::Synthetic { dir: true } => Err(Errno::EISDIR),
            super::Target::Synthetic { dir: false } => Err(Errno::EROFS),
        })
    }

    /// utimensat: the flags, the times (both `UTIME_OMIT` changes nothing
    /// and succeeds, as on Linux), the file (a NULL path is `dirfd`
    /// itself), then EROFS.
    fn utimensat(
        &self,
        ctx: &Context<'_, '_>,
        dirfd: u64,
        path: u64,
        times: u64,
        flags: u64,
    ) -> SysResult {
        let flags = flags as u32 as u64;
        if flags & !(at::SYMLINK_NOFOLLOW | at::EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        if times != 0 {
            let mut raw = [0u8; 2 * super::linux::PAIR_SIZE];
            ctx.mem.read(times, &mut raw).map_err(|_| Errno::EFAULT)?;
            let nsec = |k: usize| super::linux::u64_at(&raw, k * super::linux::PAIR_SIZE + 8);
            let valid = |n: u64| {
                n < super::linux::NSEC_PER_SEC as u64
                    || n == libc::UTIME_NOW as u64
                    || n == libc::UTIME_OMIT as u64
            };
            if !valid(nsec(0)) || !valid(nsec(1)) {
                return Err(Errno::EINVAL);
            }
            if nsec(0) == libc::UTIME_OMIT as u64 && nsec(1) == libc::UTIME_OMIT as u64 {
                return Ok(0);
            }
        }
        if path == 0 {
            // The file dirfd is open on.
            let file = self.file(dirfd)?;
            if file.status.load(Ordering::Relaxed) & o::PATH != 0 {
                return Err(Errno::EBADF);
            }
            return Err(Errno::EROFS);
        }
        self.change(ctx, dirfd, path, flags)
    }

    /// fchmod, fchown: EBADF for no file (or an `O_PATH` one), else EROFS:
    /// microvm changes no host file, its own standard streams included.
    fn change_fd(&self, fd: u64) -> SysResult {
        let file = self.file(fd)?;
        if file.status.load(Ordering::Relaxed) & o::PATH != 0 {
            return Err(Errno::EBADF);
        }
        Err(Errno::EROFS)
    }

    /// ftruncate: EBADF, then EINVAL for a negative length, for what is
    /// not a regular file or not open for writing (every file of the
    /// view); microvm's own stdout or stderr, when a regular file, is not
    /// truncated either (EPERM).
    fn ftruncate(&self, fd: u64, length: u64) -> SysResult {
        let file = self.file(fd)?;
        if file.status.load(Ordering::Relaxed) & o::PATH != 0 {
            return Err(Errno::EBADF);
        }
        if (length as i64) < 0 || file.kind() != Kind::Regular {
            return self.stdio_regular(&file).map_or(Err(Errno::EINVAL), Err);
        }
        Err(Errno::EINVAL)
    }

    /// EPERM for microvm's own stdout or stderr when it is a regular file
    /// open for writing (which Linux would let the program change).
    fn stdio_regular(&self, file: &super::OpenFile) -> Option<Errno> {
        let writable = file.status.load(Ordering::Relaxed) & o::ACCMODE != o::RDONLY;
        let regular = file
            .host_fd()
            .is_some_and(|fd| super::file_type(fd) == Ok(libc::S_IFREG));
        (matches!(file.object, Object::Stdout | Object::Stderr) && writable && regular)
            .then_some(Errno::EPERM)
    }

    /// fallocate: EBADF, EINVAL for a bad range, then EBADF for a file not
    /// open for writing (every file of the view), as Linux's
    /// `vfs_fallocate`.
    fn fallocate(&self, fd: u64, _mode: u64, offset: u64, len: u64) -> SysResult {
        let file = self.file(fd)?;
        if file.status.load(Ordering::Relaxed) & o::PATH != 0 {
            return Err(Errno::EBADF);
        }
        if (offset as i64) < 0 || (len as i64) <= 0 {
            return Err(Errno::EINVAL);
        }
        Err(self.stdio_regular(&file).unwrap_or(Errno::EBADF))
    }
}

/// A path whose parent directory resolved.
struct Parent {
    /// The whole path.
    path: Vec<u8>,
    /// What its last component is.
    last: Last,
    /// It ends with `/`.
    trailing_slash: bool,
}
