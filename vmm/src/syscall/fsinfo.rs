//! What a program asks about files without opening them, on the
//! read-only view: access(2) and faccessat(2)/faccessat2(2), statfs(2) and
//! fstatfs(2), the extended attributes (getxattr(2), listxattr(2) and
//! their `l`/`f` forms, read from the host file system; setxattr(2) and
//! removexattr(2) fail as on a read-only mount), and the positioned reads
//! pread64(2), preadv(2) and preadv2(2).
//!
//! The answers are the host kernel's for the file the view resolved, with
//! the read-only mount laid over them: write access is EROFS, statfs's
//! `f_flags` has `ST_RDONLY`. The guest runs as uid 0, but what it can
//! read is what microvm can: read and execute access is the host's answer
//! for microvm's own credentials (an open would be checked the same way),
//! and write access is what root gets on a read-only file system, EROFS
//! before any permission bit is looked at (as when the file system itself
//! is mounted read-only; a read-only bind mount checks the bits first),
//! for every kind of file (Linux lets a FIFO or a device be written on a
//! read-only mount; the view never writes, so it says EROFS there too).
//! A file of the guest's own /proc/self answers as procfs does.

use super::{copy_out, Files, Kind, Object, OpenFile, Target};
use crate::syscall::linux::{at, o};
use crate::syscall::{nr, Context, SysResult};
use crate::usermem::UserMemory;
use microvm_abi::linux::consts::{XATTR_LIST_MAX, XATTR_NAME_MAX, XATTR_SIZE_MAX};
use nix::errno::Errno;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// `struct statfs` on x86-64 (120 bytes).
const STATFS_SIZE: usize = std::mem::size_of::<libc::statfs>();
const _: () = assert!(STATFS_SIZE == 120);

/// What access(2) may ask: F_OK, R_OK, W_OK, X_OK.
const ACCESS_MODES: u64 = (libc::R_OK | libc::W_OK | libc::X_OK) as u64;

/// faccessat2's flags.
const ACCESS_FLAGS: u64 =
    (libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) as u64;

/// The flags preadv2 knows (Linux's RWF_SUPPORTED); for a read they
/// change nothing here.
const RWF_SUPPORTED: u64 = (libc::RWF_HIPRI
    | libc::RWF_DSYNC
    | libc::RWF_SYNC
    | libc::RWF_NOWAIT
    | libc::RWF_APPEND
    | libc::RWF_NOAPPEND
    | libc::RWF_ATOMIC) as u64;

/// setxattr's flags.
const XATTR_FLAGS: u64 = (libc::XATTR_CREATE | libc::XATTR_REPLACE) as u64;

/// Where an extended attribute call goes on the host.
enum XattrOn<'a> {
    /// An open host descriptor: fgetxattr/flistxattr.
    Fd(BorrowedFd<'a>),
    /// An `O_PATH` descriptor the view resolved (with or without following
    /// a final symlink): getxattr/listxattr through its `/proc/self/fd/N`
    /// link, which lands on the file itself.
    Path(BorrowedFd<'a>),
    /// A file of the guest's /proc/self: procfs has no extended attributes.
    Synthetic,
}

impl Files {
    /// Serve `nr` if it is one of this module's.
    pub(super) fn handle_info(
        &mut self,
        nr: u64,
        a: &[u64; 6],
        ctx: &mut Context<'_, '_>,
    ) -> Option<SysResult> {
        Some(match nr {
            nr::ACCESS => self.faccessat(ctx, at::FDCWD as u64, a[0], a[1], 0),
            nr::FACCESSAT => self.faccessat(ctx, a[0], a[1], a[2], 0),
            nr::FACCESSAT2 => self.faccessat(ctx, a[0], a[1], a[2], a[3]),
            nr::STATFS => self.statfs(ctx, a[0], a[1]),
            nr::FSTATFS => self.fstatfs(ctx, a[0], a[1]),
            nr::GETXATTR => self.path_getxattr(ctx, a[0], a[1], a[2], a[3], 0),
            nr::LGETXATTR => self.path_getxattr(ctx, a[0], a[1], a[2], a[3], at::SYMLINK_NOFOLLOW),
            nr::FGETXATTR => self.fgetxattr(ctx, a[0], a[1], a[2], a[3]),
            nr::LISTXATTR => self.path_listxattr(ctx, a[0], a[1], a[2], 0),
            nr::LLISTXATTR => self.path_listxattr(ctx, a[0], a[1], a[2], at::SYMLINK_NOFOLLOW),
            nr::FLISTXATTR => self.flistxattr(ctx, a[0], a[1], a[2]),
            nr::SETXATTR => self.setxattr(ctx, Some(a[0]), None, a[1], a[2], a[3], a[4], 0),
            nr::LSETXATTR => self.setxattr(
                ctx,
                Some(a[0]),
                None,
                a[1],
                a[2],
                a[3],
                a[4],
                at::SYMLINK_NOFOLLOW,
            ),
            nr::FSETXATTR => self.setxattr(ctx, None, Some(a[0]), a[1], a[2], a[3], a[4], 0),
            nr::REMOVEXATTR => self.removexattr(ctx, Some(a[0]), None, a[1], 0),
            nr::LREMOVEXATTR => self.removexattr(ctx, Some(a[0]), None, a[1], at::SYMLINK_NOFOLLOW),
            nr::FREMOVEXATTR => self.removexattr(ctx, None, Some(a[0]), a[1], 0),
            nr::PREAD64 => self.pread(ctx, a[0], a[1], a[2], a[3] as i64),
            nr::PREADV => self.preadv(ctx, a[0], a[1], a[2], a[3] as i64, 0, false),
            nr::PREADV2 => self.preadv(ctx, a[0], a[1], a[2], a[3] as i64, a[5], true),
            _ => return None,
        })
    }

    // ---- access ----

    /// faccessat2(2) (and access(2), faccessat(2) with no flags).
    fn faccessat(
        &mut self,
        ctx: &Context<'_, '_>,
        dirfd: u64,
        path: u64,
        mode: u64,
        flags: u64,
    ) -> SysResult {
        let (mode, flags) = (mode as u32 as u64, flags as u32 as u64);
        if mode & !ACCESS_MODES != 0 || flags & !ACCESS_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        let host_flags = (flags & libc::AT_EACCESS as u64) as libc::c_int | libc::AT_EMPTY_PATH;
        let rx = (mode & (libc::R_OK | libc::X_OK) as u64) as libc::c_int;
        let write = mode & libc::W_OK as u64 != 0;
        self.with_target(ctx, dirfd, path, flags, |target| match target {
            // microvm's own stdin, stdout or stderr (an AT_EMPTY_PATH
            // dirfd): not in the view, as writable as the host says.
            Target::Fd(fd) if is_stdio_fd(fd) => {
                host_access(fd, mode as libc::c_int, host_flags).map(|()| 0)
            }
            // As on a read-only file system: write access is refused
            // before any permission bit is looked at.
            Target::Fd(_) if write => Err(Errno::EROFS),
            Target::Fd(fd) => host_access(fd, rx, host_flags).map(|()| 0),
            // procfs's modes: 0444 for a file, 0500 for the fd directory.
            Target::Synthetic { dir } => {
                let allowed = if dir {
                    (libc::R_OK | libc::X_OK) as u64
                } else {
                    libc::R_OK as u64
                };
                if mode & !allowed != 0 {
                    Err(Errno::EACCES)
                } else {
                    Ok(0)
                }
            }
        })
    }

    // ---- statfs ----

    fn statfs(&mut self, ctx: &Context<'_, '_>, path: u64, buf: u64) -> SysResult {
        let out = self.with_target(ctx, at::FDCWD as u64, path, 0, |target| match target {
            Target::Fd(fd) => host_statfs(fd, true),
            Target::Synthetic { .. } => Ok(proc_statfs()),
        })?;
        copy_out(ctx.mem, buf, &out)?;
        Ok(0)
    }

    fn fstatfs(&mut self, ctx: &Context<'_, '_>, fd: u64, buf: u64) -> SysResult {
        let file = self.file(fd)?;
        let out = match (&file.object, file.host_fd()) {
            (Object::Host { fd, .. }, _) => host_statfs(fd.as_fd(), true)?,
            (_, Some(fd)) => host_statfs(fd, false)?,
            (_, None) => proc_statfs(),
        };
        copy_out(ctx.mem, buf, &out)?;
        Ok(0)
    }

    // ---- extended attributes ----

    /// getxattr(2) and lgetxattr(2) (`flags` AT_SYMLINK_NOFOLLOW).
    fn path_getxattr(
        &mut self,
        ctx: &Context<'_, '_>,
        path: u64,
        name: u64,
        value: u64,
        size: u64,
        flags: u64,
    ) -> SysResult {
        // Linux reads the name before it looks the path up.
        let name = read_xattr_name(ctx.mem, name)?;
        let n = self.with_target(ctx, at::FDCWD as u64, path, flags, |target| match target {
            Target::Fd(fd) => get_xattr(XattrOn::Path(fd), &name, size),
            Target::Synthetic { .. } => get_xattr(XattrOn::Synthetic, &name, size),
        })?;
        self.finish_xattr(ctx, value, n)
    }

    fn fgetxattr(
        &mut self,
        ctx: &Context<'_, '_>,
        fd: u64,
        name: u64,
        value: u64,
        size: u64,
    ) -> SysResult {
        let file = self.xattr_file(fd)?;
        let name = read_xattr_name(ctx.mem, name)?;
        let n = get_xattr(xattr_on(&file), &name, size)?;
        self.finish_xattr(ctx, value, n)
    }

    /// listxattr(2) and llistxattr(2).
    fn path_listxattr(
        &mut self,
        ctx: &Context<'_, '_>,
        path: u64,
        list: u64,
        size: u64,
        flags: u64,
    ) -> SysResult {
        let n = self.with_target(ctx, at::FDCWD as u64, path, flags, |target| match target {
            Target::Fd(fd) => list_xattr(XattrOn::Path(fd), size),
            Target::Synthetic { .. } => list_xattr(XattrOn::Synthetic, size),
        })?;
        self.finish_xattr(ctx, list, n)
    }

    fn flistxattr(&mut self, ctx: &Context<'_, '_>, fd: u64, list: u64, size: u64) -> SysResult {
        let file = self.xattr_file(fd)?;
        let n = list_xattr(xattr_on(&file), size)?;
        self.finish_xattr(ctx, list, n)
    }

    /// Copy the `n` bytes the host left in the bounce buffer to `addr`
    /// (nothing when the call only asked the size).
    fn finish_xattr(&mut self, ctx: &Context<'_, '_>, addr: u64, n: XattrAnswer) -> SysResult {
        match n {
            XattrAnswer::Size(n) => Ok(n as u64),
            XattrAnswer::Bytes(bytes) => {
                copy_out(ctx.mem, addr, &bytes)?;
                Ok(bytes.len() as u64)
            }
        }
    }

    /// The open file an f*xattr call names: EBADF for none, or for an
    /// `O_PATH` descriptor (as Linux, which does not take those here).
    fn xattr_file(&self, fd: u64) -> Result<Arc<OpenFile>, Errno> {
        let file = self.file(fd)?;
        if file.status.load(Ordering::Relaxed) & o::PATH != 0 {
            return Err(Errno::EBADF);
        }
        Ok(file)
    }

    /// setxattr(2), lsetxattr(2) (`path`) and fsetxattr(2) (`fd`): checked
    /// as Linux checks them (the name, the flags, the size, the value's
    /// bytes, then the file), then EROFS.
    #[allow(clippy::too_many_arguments)]
    fn setxattr(
        &mut self,
        ctx: &Context<'_, '_>,
        path: Option<u64>,
        fd: Option<u64>,
        name: u64,
        value: u64,
        size: u64,
        flags: u64,
        lookup: u64,
    ) -> SysResult {
        if let Some(fd) = fd {
            self.xattr_file(fd)?;
        }
        read_xattr_name(ctx.mem, name)?;
        if flags as u32 as u64 & !XATTR_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        if size > XATTR_SIZE_MAX as u64 {
            return Err(Errno::E2BIG);
        }
        ctx.mem
            .for_each_piece(
                value,
                size,
                crate::arch::paging::Access::UserRead,
                |_, _| {},
            )
            .map_err(|_| Errno::EFAULT)?;
        self.refuse_change(ctx, path, lookup)
    }

    /// removexattr(2), lremovexattr(2) and fremovexattr(2): the name, the
    /// file, then EROFS.
    fn removexattr(
        &mut self,
        ctx: &Context<'_, '_>,
        path: Option<u64>,
        fd: Option<u64>,
        name: u64,
        lookup: u64,
    ) -> SysResult {
        if let Some(fd) = fd {
            self.xattr_file(fd)?;
        }
        read_xattr_name(ctx.mem, name)?;
        self.refuse_change(ctx, path, lookup)
    }

    /// EROFS once `path` (if any) resolves: nothing in the view changes.
    fn refuse_change(&self, ctx: &Context<'_, '_>, path: Option<u64>, lookup: u64) -> SysResult {
        if let Some(path) = path {
            self.with_target(ctx, at::FDCWD as u64, path, lookup, |_| Ok(()))?;
        }
        Err(Errno::EROFS)
    }

    // ---- positioned reads ----

    /// The open file a positioned read of `fd` reads, in Linux's order:
    /// EBADF for no file (or an `O_PATH` one), ESPIPE for one that has no
    /// position (a pipe, socket or terminal, as the host says), EBADF if
    /// it is not open for reading.
    fn positioned(&self, fd: u64) -> Result<Arc<OpenFile>, Errno> {
        let file = self.xattr_file(fd)?;
        if file.kind() == Kind::Other {
            if let Some(host) = file.host_fd() {
                // A read of nothing: the host kernel's own verdict.
                if nix::sys::uio::pread(host, &mut [], 0) == Err(Errno::ESPIPE) {
                    return Err(Errno::ESPIPE);
                }
            }
        }
        self.readable(fd)
    }

    /// pread64(2): EINVAL for a negative offset before anything else.
    fn pread(
        &mut self,
        ctx: &mut Context<'_, '_>,
        fd: u64,
        buf: u64,
        count: u64,
        offset: i64,
    ) -> SysResult {
        if offset < 0 {
            return Err(Errno::EINVAL);
        }
        self.positioned(fd)?;
        self.read(ctx, fd, buf, count, Some(offset))
    }

    /// preadv(2), and preadv2(2) (`v2`) whose offset -1 reads at the file
    /// position, as readv(2).
    #[allow(clippy::too_many_arguments)]
    fn preadv(
        &mut self,
        ctx: &mut Context<'_, '_>,
        fd: u64,
        iov: u64,
        iovcnt: u64,
        offset: i64,
        flags: u64,
        v2: bool,
    ) -> SysResult {
        let offset = if v2 && offset == -1 {
            None
        } else if offset < 0 {
            return Err(Errno::EINVAL);
        } else {
            self.positioned(fd)?;
            Some(offset)
        };
        // As Linux: the file open for reading, the iovecs, then the flags.
        self.readable(fd)?;
        super::for_each_iovec(
            ctx.mem,
            iov,
            iovcnt,
            crate::arch::paging::Access::UserWrite,
            |_, _| Ok(true),
        )?;
        if v2 {
            check_rwf(flags)?;
        }
        self.readv_at(ctx, fd, iov, iovcnt, offset)
    }
}

/// EOPNOTSUPP for flags preadv2 does not know.
fn check_rwf(flags: u64) -> Result<(), Errno> {
    if flags as u32 as u64 & !RWF_SUPPORTED != 0 || flags >> 32 != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(())
}

/// Whether `fd` is microvm's own descriptor 0, 1 or 2 (those of the
/// view are never: they were open before the view opened anything).
fn is_stdio_fd(fd: BorrowedFd<'_>) -> bool {
    (0..3).contains(&fd.as_raw_fd())
}

/// The host's access check of `fd` (R_OK/X_OK bits of `mode`).
fn host_access(fd: BorrowedFd<'_>, mode: libc::c_int, flags: libc::c_int) -> Result<(), Errno> {
    // SAFETY: an empty NUL-terminated path with AT_EMPTY_PATH names `fd`
    // itself; nothing is written.
    let r = unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            fd.as_raw_fd(),
            c"".as_ptr(),
            mode,
            flags,
        )
    };
    Errno::result(r).map(drop)
}

/// The host's `struct statfs` of `fd`, with `ST_RDONLY` added when it is
/// in the view (`read_only`).
fn host_statfs(fd: BorrowedFd<'_>, read_only: bool) -> Result<[u8; STATFS_SIZE], Errno> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: fstatfs writes one struct statfs into `st`, which has room.
    let r = unsafe { libc::fstatfs(fd.as_raw_fd(), st.as_mut_ptr()) };
    Errno::result(r)?;
    // SAFETY: zero-initialised, then filled by the successful fstatfs.
    let mut out = statfs_bytes(&unsafe { st.assume_init() });
    if read_only {
        let flags = u64_at(&out, STATFS_FLAGS) | libc::ST_RDONLY;
        out[STATFS_FLAGS..STATFS_FLAGS + 8].copy_from_slice(&flags.to_le_bytes());
    }
    Ok(out)
}

/// Where `f_flags` is: the word after `f_frsize` (libc hides it among its
/// spare words).
const STATFS_FLAGS: usize = std::mem::offset_of!(libc::statfs, f_frsize) + 8;
// f_flags, then the four spare words, end the struct.
const _: () = assert!(STATFS_FLAGS + 8 + 4 * 8 == STATFS_SIZE);

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    crate::syscall::linux::u64_at(bytes, at)
}

/// What statfs says of procfs (the guest's /proc/self files): Linux's
/// procfs values, mounted `relatime`, read-only in the view.
fn proc_statfs() -> [u8; STATFS_SIZE] {
    // SAFETY: struct statfs is plain integers; all-zero is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    st.f_type = libc::PROC_SUPER_MAGIC;
    st.f_bsize = PROC_BLOCK_SIZE;
    st.f_frsize = PROC_BLOCK_SIZE;
    st.f_namelen = PROC_NAME_MAX;
    let mut out = statfs_bytes(&st);
    let flags = ST_VALID | libc::ST_RELATIME | libc::ST_RDONLY;
    out[STATFS_FLAGS..STATFS_FLAGS + 8].copy_from_slice(&flags.to_le_bytes());
    out
}

/// procfs's block size (the page size) and name length, as Linux reports.
const PROC_BLOCK_SIZE: libc::c_long = microvm_abi::layout::PAGE_SIZE as libc::c_long;
const PROC_NAME_MAX: libc::c_long = libc::NAME_MAX as libc::c_long;

/// `ST_VALID`: statfs always sets it (f_flags is valid); not in libc.
const ST_VALID: u64 = 0x20;

fn statfs_bytes(st: &libc::statfs) -> [u8; STATFS_SIZE] {
    let mut out = [0u8; STATFS_SIZE];
    // SAFETY: `st` is STATFS_SIZE bytes of plain integers, read once.
    out.copy_from_slice(unsafe {
        std::slice::from_raw_parts((st as *const libc::statfs).cast::<u8>(), STATFS_SIZE)
    });
    out
}

/// An extended attribute name from the guest: ERANGE if it is empty or
/// longer than XATTR_NAME_MAX, EFAULT if it cannot be read (as Linux).
fn read_xattr_name(mem: &UserMemory<'_>, addr: u64) -> Result<CString, Errno> {
    let mut buf = [0u8; XATTR_NAME_MAX + 1];
    match mem.read_cstr(addr, &mut buf) {
        Ok((0, _)) | Ok((_, false)) => Err(Errno::ERANGE),
        Ok((n, true)) => CString::new(&buf[..n]).map_err(|_| Errno::ERANGE),
        Err(_) => Err(Errno::EFAULT),
    }
}

/// Where `file`'s f*xattr calls go.
fn xattr_on(file: &OpenFile) -> XattrOn<'_> {
    file.host_fd().map_or(XattrOn::Synthetic, XattrOn::Fd)
}

/// What the host answered to a get or list.
enum XattrAnswer {
    /// The size asked with a size of 0.
    Size(usize),
    /// The bytes.
    Bytes(Vec<u8>),
}

/// The host's `/proc/self/fd/N` link of `fd`.
fn fd_link(fd: BorrowedFd<'_>) -> CString {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default()
}

/// The value of attribute `name`: its size if `size` is 0, else at most
/// `size` (capped at XATTR_SIZE_MAX, so that a larger one is E2BIG as on
/// Linux) bytes of it; ERANGE when it does not fit.
fn get_xattr(on: XattrOn<'_>, name: &CString, size: u64) -> Result<XattrAnswer, Errno> {
    let size = size.min(XATTR_SIZE_MAX as u64) as usize;
    let mut buf = vec![0u8; size];
    let ptr = if size == 0 {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast()
    };
    // SAFETY: the host writes at most `size` bytes at `ptr` (`buf` has
    // them; NULL with 0 asks the size); `name` and the path are
    // NUL-terminated.
    let r = unsafe {
        match &on {
            XattrOn::Fd(fd) => libc::fgetxattr(fd.as_raw_fd(), name.as_ptr(), ptr, size),
            XattrOn::Path(fd) => libc::getxattr(fd_link(*fd).as_ptr(), name.as_ptr(), ptr, size),
            XattrOn::Synthetic => return Err(Errno::EOPNOTSUPP),
        }
    };
    let n = Errno::result(r)? as usize;
    Ok(answer(buf, size, n))
}

/// The names of `on`'s attributes, as get_xattr (capped at
/// XATTR_LIST_MAX).
fn list_xattr(on: XattrOn<'_>, size: u64) -> Result<XattrAnswer, Errno> {
    let size = size.min(XATTR_LIST_MAX as u64) as usize;
    let mut buf = vec![0u8; size];
    let ptr = if size == 0 {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast()
    };
    // SAFETY: as in get_xattr.
    let r = unsafe {
        match &on {
            XattrOn::Fd(fd) => libc::flistxattr(fd.as_raw_fd(), ptr, size),
            XattrOn::Path(fd) => libc::listxattr(fd_link(*fd).as_ptr(), ptr, size),
            // procfs lists nothing (no security module labels here).
            XattrOn::Synthetic => return Ok(XattrAnswer::Size(0)),
        }
    };
    let n = Errno::result(r)? as usize;
    Ok(answer(buf, size, n))
}

/// The host's answer `n` for a buffer `buf` of `size` bytes.
fn answer(mut buf: Vec<u8>, size: usize, n: usize) -> XattrAnswer {
    if size == 0 {
        XattrAnswer::Size(n)
    } else {
        buf.truncate(n.min(size));
        XattrAnswer::Bytes(buf)
    }
}

impl Files {
    /// readv(2) at `offset` (or the file position).
    pub(super) fn readv_at(
        &mut self,
        ctx: &mut Context<'_, '_>,
        fd: u64,
        iov: u64,
        iovcnt: u64,
        offset: Option<i64>,
    ) -> SysResult {
        let file = self.readable(fd)?;
        if file.pipe().is_some() {
            if offset.is_some() {
                return Err(Errno::ESPIPE);
            }
            let pieces =
                super::iovecs(ctx.mem, iov, iovcnt, crate::arch::paging::Access::UserWrite)?;
            return self.read_pipe(ctx, &file, &pieces);
        }
        let mem = ctx.mem;
        super::for_each_iovec(
            mem,
            iov,
            iovcnt,
            crate::arch::paging::Access::UserWrite,
            |_, _| Ok(true),
        )?;
        let mut input = super::Input::new(&file, offset);
        super::for_each_iovec(
            mem,
            iov,
            iovcnt,
            crate::arch::paging::Access::UserWrite,
            |base, len| {
                self.fill(ctx, &mut input, base, len)?;
                Ok(!input.finished)
            },
        )?;
        Ok(input.done)
    }
}
