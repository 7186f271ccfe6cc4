//! File descriptors: the program's fd table and the syscalls on it.
//!
//! Guest fds map to open files microvm owns. fd 0, 1 and 2 start as
//! microvm's own stdin, stdout and stderr: reads of stdin read microvm's
//! stdin, writes to stdout and stderr go to the [`Output`]s the service
//! was made with. Every other open file is a host descriptor microvm opened
//! read-only from the [`View`] (closed when the last guest fd for it closes,
//! or at exit), or a file of the guest's own /proc/self ([`procself`]),
//! served from memory. `dup` shares the open file, and with it the file
//! offset and status flags, as on Linux; the lowest free fd is always the
//! one given. Opens that would write fail as on a read-only mount, in
//! Linux's order (see `check_read_only`).
//!
//! Reads that could block (stdin, pipes, terminals, devices) and writes to
//! microvm's stdout and stderr wait through [`stop::wait`] and
//! [`stop::wait_writable`], so that a stop (`--timeout`, Ctrl-C, SIGTERM)
//! ends them at once: the syscall then returns what it moved, or fails
//! with EINTR, and the run ends.

use super::linux::{self, at, f, o, stat, statx, PATH_MAX};
use super::pipe::{self, Pipe, Writable};
use super::procself::{self, GuestProcess};
use super::view::View;
use super::{io_errno, nr, Context, SysResult, MAX_RW_COUNT};
use crate::arch::paging::Access;
use crate::stop::{self, Wake};
use crate::usermem::UserMemory;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use vm_memory::{Bytes, GuestAddress};

/// The most fds the program may have open: RLIMIT_NOFILE's hard limit.
pub const MAX_FDS: u64 = 1024;

/// How many symlinks one lookup follows (Linux's MAXSYMLINKS).
const MAXSYMLINKS: usize = 40;

/// Bytes moved per host read.
const BOUNCE_SIZE: usize = 64 * 1024;

/// What an open file is.
#[derive(Debug)]
enum Object {
    /// microvm's stdin.
    Stdin,
    /// microvm's stdout (written through the service's writer).
    Stdout,
    /// microvm's stderr (written through the service's writer).
    Stderr,
    /// A file of the guest's own /proc/self (see [`procself`]): its bytes
    /// and the file offset.
    Synthetic {
        /// Which file it is.
        entry: procself::Entry,
        /// What it reads.
        bytes: Vec<u8>,
        /// The offset read(2) and lseek(2) move.
        pos: AtomicU64,
    },
    /// One end of a pipe inside the process (see [`pipe`]).
    Pipe(pipe::End),
    /// A host file from the view, opened read-only (or `O_PATH`).
    Host {
        /// microvm's descriptor.
        fd: OwnedFd,
        /// What kind of file it is.
        kind: Kind,
    },
}

/// The kinds of file that reads treat differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Reads never block.
    Regular,
    /// Read with getdents64.
    Directory,
    /// A pipe, terminal, socket or device: reads may block.
    Other,
}

/// An open file description, shared by the fds dup'ed from one another.
#[derive(Debug)]
struct OpenFile {
    object: Object,
    /// The status flags F_GETFL shows (access mode, O_NONBLOCK, ...).
    status: AtomicU64,
}

impl OpenFile {
    /// microvm's descriptor for it (none for a synthetic file).
    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.object {
            Object::Stdin => Some(stdio_fd(0)),
            Object::Stdout => Some(stdio_fd(1)),
            Object::Stderr => Some(stdio_fd(2)),
            Object::Host { fd, .. } => Some(fd.as_fd()),
            Object::Synthetic { .. } | Object::Pipe(_) => None,
        }
    }

    /// The pipe behind it, if it is one end of one.
    fn pipe(&self) -> Option<&pipe::End> {
        match &self.object {
            Object::Pipe(end) => Some(end),
            _ => None,
        }
    }

    fn kind(&self) -> Kind {
        match &self.object {
            Object::Host { kind, .. } => *kind,
            Object::Synthetic {
                entry: procself::Entry::FdDir,
                ..
            } => Kind::Directory,
            Object::Synthetic { .. } => Kind::Regular,
            _ => Kind::Other,
        }
    }

    fn nonblocking(&self) -> bool {
        self.status.load(Ordering::Relaxed) & o::NONBLOCK != 0
    }

    fn is_stdio(&self) -> bool {
        matches!(self.object, Object::Stdin | Object::Stdout | Object::Stderr)
    }
}

/// An open file lent to mmap: it stays open while a mapping of it lasts,
/// whatever becomes of the fd.
#[derive(Debug, Clone)]
pub struct MapFile(Arc<OpenFile>);

impl MapFile {
    fn access(&self) -> u64 {
        self.0.status.load(Ordering::Relaxed) & o::ACCMODE
    }

    /// True when it was opened for reading.
    pub fn readable(&self) -> bool {
        self.access() != o::WRONLY
    }

    /// True when it was opened for writing (files of the view never are).
    pub fn writable(&self) -> bool {
        self.access() != o::RDONLY
    }

    /// Its host descriptor when it is a regular file (what mmap maps);
    /// `None` for anything else (a directory, pipe, terminal, /proc/self
    /// file), which Linux refuses with ENODEV.
    pub fn regular(&self) -> Option<BorrowedFd<'_>> {
        match &self.0.object {
            Object::Host {
                fd,
                kind: Kind::Regular,
            } => Some(fd.as_fd()),
            Object::Stdin | Object::Stdout | Object::Stderr => self
                .0
                .host_fd()
                .filter(|&fd| file_type(fd) == Ok(linux::mode::IFREG)),
            _ => None,
        }
    }
}

impl MapFile {
    /// Its size now (0 if it cannot be told).
    pub fn size(&self) -> u64 {
        self.regular()
            .and_then(|fd| host_stat(fd).ok())
            .map_or(0, |st| linux::u64_at(&st, stat::SIZE_FIELD))
    }
}

impl crate::space::FileSource for MapFile {
    fn identity(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let fd = self
            .regular()
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::ENODEV))?;
        let offset = i64::try_from(offset)
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        loop {
            match nix::sys::uio::pread(fd, buf, offset) {
                Err(Errno::EINTR) => {}
                r => return r.map_err(std::io::Error::from),
            }
        }
    }
}

/// One entry of the fd table.
#[derive(Debug, Clone)]
struct Slot {
    file: Arc<OpenFile>,
    cloexec: bool,
}

/// Where program output goes.
#[derive(Clone, Copy)]
enum Sink {
    Stdout,
    Stderr,
}

/// Where the program's fd 1 or 2 writes.
pub enum Output {
    /// microvm's own descriptor 1 or 2, written so that a stop interrupts
    /// a write blocked on a full pipe, socket or terminal (see
    /// [`HostOutput`]).
    Host(HostOutput),
    /// A writer (tests, benchmarks): written with `write_all`.
    Writer(Box<dyn Write + Send>),
}

impl Output {
    /// microvm's own stdout.
    pub fn stdout() -> Output {
        Output::Host(HostOutput::new(stdio_fd(1)))
    }

    /// microvm's own stderr.
    pub fn stderr() -> Output {
        Output::Host(HostOutput::new(stdio_fd(2)))
    }

    /// Write all of `bytes`, adding what was written to `written` (also
    /// when it fails part-way). Fails with the errno.
    fn write_all(
        &mut self,
        bytes: &[u8],
        stop: Option<&stop::StopHandle>,
        written: &mut u64,
    ) -> Result<(), Errno> {
        match self {
            Output::Host(h) => h.write_all(bytes, stop, written),
            Output::Writer(w) => match w.write_all(bytes) {
                Ok(()) => {
                    *written += bytes.len() as u64;
                    Ok(())
                }
                Err(e) => Err(io_errno(&e)),
            },
        }
    }

    fn flush(&mut self) -> Result<(), Errno> {
        match self {
            Output::Host(_) => Ok(()),
            Output::Writer(w) => w.flush().map_err(|e| io_errno(&e)),
        }
    }
}

/// The most bytes one write to a terminal or device moves: what such a
/// descriptor that polls writable takes without blocking (PIPE_BUF; for a
/// terminal, what its buffer has room for once it polls writable).
const POLLED_WRITE_MAX: usize = libc::PIPE_BUF;

/// Program output is gathered into a buffer of this size before it is
/// written: one host write per this many bytes, not per guest page.
const STAGE_SIZE: usize = 64 * 1024;

/// How microvm's stdout or stderr is written without blocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostKind {
    /// A regular file or block device: writes never wait for a reader.
    Never,
    /// A socket: send(2) with MSG_DONTWAIT.
    Socket,
    /// A pipe or FIFO: pwritev2(2) with RWF_NOWAIT.
    Pipe,
    /// A terminal or other device: poll, then at most
    /// [`POLLED_WRITE_MAX`] bytes.
    Polled,
}

/// microvm's own stdout or stderr, shared with other processes (the
/// shell, the rest of a pipeline), whose blocking-ness microvm must not
/// change: O_NONBLOCK on it would reach every process sharing the open
/// file description. So each write is made non-blocking by itself: a
/// pipe with pwritev2's RWF_NOWAIT, a socket with send's MSG_DONTWAIT;
/// when the reader is behind (EAGAIN), microvm waits for room together
/// with the stop ([`stop::wait_writable`]). A terminal or device, which
/// has no per-call non-blocking write, is polled first and written at
/// most [`POLLED_WRITE_MAX`] bytes at a time, which it then takes without
/// blocking; should such a write block all the same (a terminal stopped
/// with Ctrl-S between the poll and the write), the stop's kick signal,
/// whose handler has no SA_RESTART, interrupts it.
#[derive(Clone)]
pub struct HostOutput {
    fd: BorrowedFd<'static>,
    kind: HostKind,
}

impl HostOutput {
    fn new(fd: BorrowedFd<'static>) -> Self {
        let kind = match file_type(fd).unwrap_or(0) {
            libc::S_IFREG | libc::S_IFBLK => HostKind::Never,
            libc::S_IFSOCK => HostKind::Socket,
            libc::S_IFIFO => HostKind::Pipe,
            _ => HostKind::Polled,
        };
        HostOutput { fd, kind }
    }

    /// One write of (a prefix of) `bytes` that does not block.
    fn write_once(&self, bytes: &[u8]) -> Result<usize, Errno> {
        let fd = self.fd.as_raw_fd();
        let r = match self.kind {
            HostKind::Never => return nix::unistd::write(self.fd, bytes),
            HostKind::Polled => {
                return nix::unistd::write(self.fd, &bytes[..bytes.len().min(POLLED_WRITE_MAX)])
            }
            // SAFETY: send reads at most `bytes.len()` bytes from `bytes`,
            // which lives through the call.
            HostKind::Socket => unsafe {
                libc::send(
                    fd,
                    bytes.as_ptr().cast(),
                    bytes.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            },
            HostKind::Pipe => {
                let iov = libc::iovec {
                    iov_base: bytes.as_ptr() as *mut libc::c_void,
                    iov_len: bytes.len(),
                };
                // SAFETY: pwritev2 reads the one iovec, which points at
                // `bytes.len()` bytes of `bytes`; offset -1 writes at the
                // current position, as write(2) does.
                unsafe { libc::pwritev2(fd, &iov, 1, -1, libc::RWF_NOWAIT) }
            }
        };
        Errno::result(r).map(|n| n as usize)
    }

    fn write_all(
        &mut self,
        mut bytes: &[u8],
        stop: Option<&stop::StopHandle>,
        written: &mut u64,
    ) -> Result<(), Errno> {
        let stopped = || stop.is_some_and(|s| s.reason().is_some());
        let wait = |fd| match stop::wait_writable(stop, fd) {
            Ok(Wake::Ready | Wake::TimedOut) => Ok(()),
            Ok(Wake::Stopped) => Err(Errno::EINTR),
            Err(e) => Err(io_errno(&e)),
        };
        while !bytes.is_empty() {
            if stopped() {
                return Err(Errno::EINTR);
            }
            if self.kind == HostKind::Polled {
                wait(self.fd)?;
            }
            match self.write_once(bytes) {
                Ok(n) => {
                    *written += n as u64;
                    bytes = &bytes[n..];
                }
                // The reader is behind: wait for room (or the stop).
                Err(Errno::EAGAIN) if matches!(self.kind, HostKind::Socket | HostKind::Pipe) => {
                    wait(self.fd)?
                }
                // A kernel without RWF_NOWAIT for pipes.
                Err(Errno::EOPNOTSUPP) if self.kind == HostKind::Pipe => {
                    self.kind = HostKind::Polled
                }
                // The kick (the stop is seen at the top), or room taken by
                // another writer since the poll.
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) if self.kind == HostKind::Polled => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Why a [`StopAwareStderr`] write failed: the run was stopped while
/// microvm's stderr had no room, so the rest was dropped rather than
/// holding microvm until the reader reads again.
#[derive(Debug, thiserror::Error)]
#[error("the guest was stopped while the output's reader was not reading; the rest was dropped")]
pub struct OutputStopped;

impl OutputStopped {
    /// True when `e` is this error.
    pub fn is(e: &std::io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<OutputStopped>())
    }
}

/// microvm's own stderr as an [`std::io::Write`], for the trace and
/// microvm's own lines: written as the program's output is (never
/// blocking the descriptor others share), waiting for room together with
/// the run's stop once `stop` holds one. After a stop it writes only what
/// fits at once and fails with [`OutputStopped`] for the rest, so a full
/// stderr pipe cannot hold a stopped run. Its kind of descriptor is asked
/// once, when it is made: clone it rather than make another.
#[derive(Clone)]
pub struct StopAwareStderr {
    out: HostOutput,
    stop: stop::StopSlot,
}

impl StopAwareStderr {
    /// microvm's stderr, watching `stop`.
    pub fn new(stop: stop::StopSlot) -> Self {
        StopAwareStderr {
            out: HostOutput::new(stdio_fd(2)),
            stop,
        }
    }

    /// One write after the stop: what the descriptor takes now.
    fn write_now(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        loop {
            if self.out.kind == HostKind::Polled
                && !matches!(stop::wait_writable_now(self.out.fd), Ok(Wake::Ready))
            {
                return Err(std::io::Error::other(OutputStopped));
            }
            match self.out.write_once(buf) {
                Ok(n) => return Ok(n),
                // A kernel without RWF_NOWAIT for pipes (before 6.4 or so;
                // the emulated machine of `make test-native` has 6.1).
                Err(Errno::EOPNOTSUPP) if self.out.kind == HostKind::Pipe => {
                    self.out.kind = HostKind::Polled
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {
                    return Err(std::io::Error::other(OutputStopped))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Write for StopAwareStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let stop = self.stop.get();
        if stop.is_some_and(|s| s.reason().is_some()) {
            return self.write_now(buf);
        }
        let mut written = 0;
        match self.out.write_all(buf, stop, &mut written) {
            Ok(()) => Ok(buf.len()),
            Err(_) if written > 0 => Ok(written as usize),
            Err(Errno::EINTR) => Err(std::io::Error::other(OutputStopped)),
            Err(e) => Err(e.into()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The program's open files.
pub struct Files {
    stdout: Output,
    stderr: Output,
    /// Index = guest fd.
    table: Vec<Option<Slot>>,
    view: Option<View>,
    /// The current directory, absolute in the view.
    cwd: Vec<u8>,
    /// The program's path, for readlink("/proc/self/exe").
    exe: Option<Vec<u8>>,
    /// What the guest's /proc/self shows.
    process: GuestProcess,
    /// RLIMIT_NOFILE's soft limit: fds are below it.
    fd_limit: u64,
    /// Host reads land here on their way into guest memory.
    bounce: Vec<u8>,
    /// Program output gathers here on its way out.
    staged: Vec<u8>,
    /// What microvm's own fd 0, 1 and 2 are (`/dev/pts/0`, `pipe:[N]`),
    /// read before the run when the trace shows descriptor paths (`-y`).
    stdio_paths: [Option<Vec<u8>>; 3],
    /// The capacity of the program's pipes, together.
    pipes: pipe::Account,
}

/// microvm's own descriptor 0, 1 or 2.
fn stdio_fd(fd: std::os::fd::RawFd) -> BorrowedFd<'static> {
    // SAFETY: the Rust runtime makes sure fds 0, 1 and 2 are open before
    // main (it opens /dev/null for any that was closed), and microvm never
    // closes them.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// The status flags of microvm's own descriptor `fd`, or `default`.
fn host_status(fd: BorrowedFd<'_>, default: u64) -> u64 {
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).map_or(default, |v| v as u64)
}

/// `fd` as an index into the table (the kernel takes an unsigned int).
fn index(fd: u64) -> usize {
    fd as u32 as usize
}

/// Read the NUL-terminated path at `addr` into `buf`.
fn read_path<'b>(
    mem: &UserMemory<'_>,
    addr: u64,
    buf: &'b mut [u8; PATH_MAX],
) -> Result<&'b [u8], Errno> {
    match mem.read_cstr(addr, buf) {
        Ok((n, true)) => Ok(&buf[..n]),
        Ok((_, false)) => Err(Errno::ENAMETOOLONG),
        Err(_) => Err(Errno::EFAULT),
    }
}

/// Fail with EFAULT unless all of `[addr, addr + len)` is writable by ring 3.
fn check_writable(mem: &UserMemory<'_>, addr: u64, len: u64) -> Result<(), Errno> {
    mem.for_each_piece(addr, len, Access::UserWrite, |_, _| {})
        .map_err(|_| Errno::EFAULT)
}

/// Copy `bytes` to the guest at `addr`.
fn copy_out(mem: &UserMemory<'_>, addr: u64, bytes: &[u8]) -> Result<(), Errno> {
    mem.write(addr, bytes).map_err(|_| Errno::EFAULT)
}

/// The x86-64 `struct stat` of `fd`, as the host kernel fills it.
fn host_stat(fd: BorrowedFd<'_>) -> Result<[u8; stat::SIZE], Errno> {
    let mut buf = [0u8; stat::SIZE];
    // SAFETY: fstat writes one struct stat, `stat::SIZE` bytes on x86-64
    // (checked against libc::stat at compile time), into `buf`.
    let r = unsafe { libc::syscall(libc::SYS_fstat, fd.as_raw_fd(), buf.as_mut_ptr()) };
    Errno::result(r).map(|_| buf)
}

/// The file type bits of `fd`'s mode.
fn file_type(fd: BorrowedFd<'_>) -> Result<u32, Errno> {
    let st = host_stat(fd)?;
    Ok(linux::u32_at(&st, stat::MODE) & linux::mode::IFMT)
}

/// The x86-64 `struct statx` of `fd`, as the host kernel fills it.
fn host_statx(fd: BorrowedFd<'_>, sync: u64, mask: u64) -> Result<[u8; statx::SIZE], Errno> {
    let mut buf = [0u8; statx::SIZE];
    let flags = (at::EMPTY_PATH | (sync & at::STATX_SYNC_TYPE)) as libc::c_int;
    // SAFETY: statx with AT_EMPTY_PATH and an empty NUL-terminated path
    // describes `fd`, writing one struct statx (256 bytes) into `buf`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_statx,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            mask as u32,
            buf.as_mut_ptr(),
        )
    };
    Errno::result(r).map(|_| buf)
}

impl Files {
    /// A table with fd 0 reading microvm's stdin and fd 1 and 2 writing to
    /// `stdout` and `stderr`. No view: opens fail with ENOENT.
    pub fn new(stdout: Output, stderr: Output) -> Self {
        let stdio = |object, default| {
            let status = AtomicU64::new(0);
            let file = OpenFile { object, status };
            let flags = file
                .host_fd()
                .map_or(default, |fd| host_status(fd, default));
            file.status.store(flags, Ordering::Relaxed);
            Some(Slot {
                file: Arc::new(file),
                cloexec: false,
            })
        };
        Files {
            stdout,
            stderr,
            table: vec![
                stdio(Object::Stdin, o::RDONLY | o::LARGEFILE),
                stdio(Object::Stdout, o::WRONLY | o::LARGEFILE),
                stdio(Object::Stderr, o::WRONLY | o::LARGEFILE),
            ],
            view: None,
            cwd: b"/".to_vec(),
            exe: None,
            process: GuestProcess::default(),
            fd_limit: MAX_FDS,
            bounce: Vec::new(),
            staged: Vec::new(),
            stdio_paths: [None, None, None],
            pipes: pipe::Account::default(),
        }
    }

    /// Read what microvm's own fd 0, 1 and 2 are, for `-y` (before the
    /// seccomp filters, which allow readlink only with a view).
    pub fn read_stdio_paths(&mut self) {
        for (fd, path) in self.stdio_paths.iter_mut().enumerate() {
            *path = nix::fcntl::readlink(format!("/proc/self/fd/{fd}").as_str())
                .ok()
                .map(|t| t.into_vec());
        }
    }

    /// Serve files from `view`, from microvm's own working directory when
    /// the view shows it (else from the view's "/").
    pub fn set_view(&mut self, view: View) {
        self.cwd = view.host_cwd().unwrap_or_else(|| b"/".to_vec());
        self.view = Some(view);
    }

    /// The view's root descriptor, if there is a view.
    pub fn view_root(&self) -> Option<BorrowedFd<'_>> {
        self.view.as_ref().map(View::root)
    }

    /// The file view, if there is one.
    pub fn view(&self) -> Option<&View> {
        self.view.as_ref()
    }

    /// The file behind `fd`, for mmap: EBADF for no open file or an
    /// `O_PATH` descriptor (which mmap cannot use, as on Linux).
    pub fn map_file(&self, fd: u64) -> Result<MapFile, Errno> {
        let file = self.file(fd)?;
        if file.status.load(Ordering::Relaxed) & o::PATH != 0 {
            return Err(Errno::EBADF);
        }
        Ok(MapFile(file))
    }

    /// readlink("/proc/self/exe") answers `path` made absolute, with its
    /// symlinks resolved, as Linux names a running executable (glibc
    /// asserts that the answer starts with '/').
    pub fn set_exe_path(&mut self, path: &Path) {
        let path = std::fs::canonicalize(path)
            .or_else(|_| std::path::absolute(path))
            .unwrap_or_else(|_| path.to_path_buf());
        self.exe = Some(path.into_os_string().into_vec());
    }

    /// What the guest's /proc/self/cmdline and environ show.
    pub fn set_process(&mut self, process: GuestProcess) {
        self.process = process;
    }

    /// The program's name is now `comm` (prctl(PR_SET_NAME)): its
    /// /proc/self/comm and status say so.
    pub fn set_comm(&mut self, comm: &[u8]) {
        self.process.comm = Some(comm.to_vec());
    }

    /// New fds must be below `limit` (RLIMIT_NOFILE), at most [`MAX_FDS`].
    pub fn set_fd_limit(&mut self, limit: u64) {
        self.fd_limit = limit.min(MAX_FDS);
    }

    /// Serve `nr`; `None` if it is not a file syscall.
    pub fn handle(
        &mut self,
        nr: u64,
        a: &[u64; 6],
        ctx: &mut Context<'_, '_>,
    ) -> Option<SysResult> {
        if let Some(r) = self.handle_info(nr, a, ctx) {
            return Some(r);
        }
        if let Some(r) = self.handle_changes(nr, a, ctx) {
            return Some(r);
        }
        Some(match nr {
            nr::WRITE => self.write(ctx, a[0], a[1], a[2]),
            nr::WRITEV => self.writev(ctx, a[0], a[1], a[2]),
            nr::READ => self.read(ctx, a[0], a[1], a[2], None),
            nr::READV => self.readv_at(ctx, a[0], a[1], a[2], None),
            nr::OPEN => self.openat(ctx, at::FDCWD as u64, a[0], a[1]),
            nr::OPENAT => self.openat(ctx, a[0], a[1], a[2]),
            nr::CLOSE => self.close(a[0]),
            nr::DUP => self.dup(a[0]),
            nr::DUP2 => self.dup2(a[0], a[1]),
            nr::DUP3 => self.dup3(a[0], a[1], a[2]),
            nr::FCNTL => self.fcntl(a[0], a[1], a[2]),
            nr::LSEEK => self.lseek(a[0], a[1], a[2]),
            nr::FSTAT => self.fstat(ctx, a[0], a[1]),
            nr::STAT => self.fstatat(ctx, at::FDCWD as u64, a[0], a[1], 0),
            nr::LSTAT => self.fstatat(ctx, at::FDCWD as u64, a[0], a[1], at::SYMLINK_NOFOLLOW),
            nr::NEWFSTATAT => self.fstatat(ctx, a[0], a[1], a[2], a[3]),
            nr::STATX => self.statx(ctx, a[0], a[1], a[2], a[3], a[4]),
            nr::IOCTL => self.ioctl(ctx, a[0], a[1], a[2]),
            nr::READLINK => self.readlinkat(ctx, at::FDCWD as u64, a[0], a[1], a[2]),
            nr::READLINKAT => self.readlinkat(ctx, a[0], a[1], a[2], a[3]),
            nr::GETCWD => self.getcwd(ctx, a[0], a[1]),
            nr::CHDIR => self.chdir(ctx, a[0]),
            nr::FCHDIR => self.fchdir(a[0]),
            nr::GETDENTS64 => self.getdents64(ctx, a[0], a[1], a[2]),
            nr::PIPE => self.pipe2(ctx, a[0], 0),
            nr::PIPE2 => self.pipe2(ctx, a[0], a[1]),
            nr::POLL => super::poll::poll(self, ctx, a[0], a[1], a[2]),
            nr::PPOLL => super::poll::ppoll(self, ctx, a),
            nr::SELECT => super::poll::select(self, ctx, a),
            nr::PSELECT6 => super::poll::pselect6(self, ctx, a),
            _ => return None,
        })
    }

    /// The open file behind `fd`.
    fn file(&self, fd: u64) -> Result<Arc<OpenFile>, Errno> {
        match self.table.get(index(fd)) {
            Some(Some(slot)) => Ok(Arc::clone(&slot.file)),
            _ => Err(Errno::EBADF),
        }
    }

    /// The lowest free fd at or above `from`, below the limit.
    fn lowest_free(&self, from: usize) -> Option<usize> {
        (from..self.fd_limit as usize).find(|&i| !matches!(self.table.get(i), Some(Some(_))))
    }

    /// Put `slot` at `fd`, closing what was there.
    fn place(&mut self, fd: usize, slot: Slot) {
        if self.table.len() <= fd {
            self.table.resize(fd + 1, None);
        }
        self.table[fd] = Some(slot);
    }

    /// Give `file` the lowest free fd at or above `from`.
    fn install(&mut self, file: Arc<OpenFile>, cloexec: bool, from: usize) -> SysResult {
        let fd = self.lowest_free(from).ok_or(Errno::EMFILE)?;
        self.place(fd, Slot { file, cloexec });
        Ok(fd as u64)
    }

    // ---- output ----

    /// Where a write to `fd` goes: EBADF unless it is stdout or stderr
    /// (everything else is read-only).
    fn sink(&self, fd: u64) -> Result<Sink, Errno> {
        match self.table.get(index(fd)) {
            Some(Some(slot)) => match slot.file.object {
                Object::Stdout => Ok(Sink::Stdout),
                Object::Stderr => Ok(Sink::Stderr),
                _ => Err(Errno::EBADF),
            },
            _ => Err(Errno::EBADF),
        }
    }

    /// An [`Emitter`] to `sink`, with the staging buffer.
    fn emitter<'e>(&'e mut self, sink: Sink, stop: Option<&'e stop::StopHandle>) -> Emitter<'e> {
        if self.staged.capacity() == 0 {
            self.staged = Vec::with_capacity(STAGE_SIZE);
        }
        self.staged.clear();
        let out = match sink {
            Sink::Stdout => &mut self.stdout,
            Sink::Stderr => &mut self.stderr,
        };
        Emitter {
            out,
            stop,
            staged: &mut self.staged,
            written: 0,
            failure: None,
        }
    }

    fn write(&mut self, ctx: &mut Context<'_, '_>, fd: u64, buf: u64, count: u64) -> SysResult {
        let count = count.min(MAX_RW_COUNT);
        if let Some(file) = self.pipe_end(fd, true)? {
            return self.write_pipe(ctx, &file, &[(buf, count)]);
        }
        let sink = self.sink(fd)?;
        let mem = ctx.mem;
        // Check the whole buffer before writing a byte of it.
        mem.for_each_piece(buf, count, Access::UserRead, |_, _| {})
            .map_err(|_| Errno::EFAULT)?;
        (ctx.before_output)();
        let mut emitter = self.emitter(sink, ctx.stop);
        emitter.emit(mem, buf, count);
        emitter.finish()
    }

    fn writev(&mut self, ctx: &mut Context<'_, '_>, fd: u64, iov: u64, iovcnt: u64) -> SysResult {
        if let Some(file) = self.pipe_end(fd, true)? {
            let pieces = iovecs(ctx.mem, iov, iovcnt, Access::UserRead)?;
            return self.write_pipe(ctx, &file, &pieces);
        }
        let sink = self.sink(fd)?;
        let mem = ctx.mem;
        // Check every iovec and every buffer before writing a byte.
        for_each_iovec(mem, iov, iovcnt, Access::UserRead, |_, _| Ok(true))?;
        (ctx.before_output)();
        let mut emitter = self.emitter(sink, ctx.stop);
        let _ = for_each_iovec(mem, iov, iovcnt, Access::UserRead, |base, len| {
            Ok(emitter.emit(mem, base, len))
        });
        emitter.finish()
    }

    // ---- input ----

    /// read(2), or pread64(2) with `offset`.
    fn read(
        &mut self,
        ctx: &mut Context<'_, '_>,
        fd: u64,
        buf: u64,
        count: u64,
        offset: Option<i64>,
    ) -> SysResult {
        let file = self.readable(fd)?;
        if offset.is_some_and(|o| o < 0) {
            return Err(Errno::EINVAL);
        }
        let count = count.min(MAX_RW_COUNT);
        if file.pipe().is_some() {
            if offset.is_some() {
                return Err(Errno::ESPIPE);
            }
            return self.read_pipe(ctx, &file, &[(buf, count)]);
        }
        check_writable(ctx.mem, buf, count)?;
        let mut input = Input::new(&file, offset);
        self.fill(ctx, &mut input, buf, count)?;
        Ok(input.done)
    }

    /// The open file behind `fd`, if reads of it make sense here.
    fn readable(&self, fd: u64) -> Result<Arc<OpenFile>, Errno> {
        let file = self.file(fd)?;
        match file.object {
            Object::Stdout | Object::Stderr => Err(Errno::EBADF),
            Object::Pipe(pipe::End { write: true, .. }) => Err(Errno::EBADF),
            // An O_PATH descriptor reads nothing.
            _ if file.status.load(Ordering::Relaxed) & o::PATH != 0 => Err(Errno::EBADF),
            _ => Ok(file),
        }
    }

    /// Read from `input`'s file into the guest buffer `[addr, addr + len)`
    /// (already checked writable). Fails only if nothing was read at all.
    fn fill(
        &mut self,
        ctx: &Context<'_, '_>,
        input: &mut Input<'_>,
        addr: u64,
        len: u64,
    ) -> Result<(), Errno> {
        if self.bounce.is_empty() {
            self.bounce = vec![0; BOUNCE_SIZE];
        }
        let mut pos = 0;
        while pos < len && !input.finished {
            let want = (len - pos).min(BOUNCE_SIZE as u64) as usize;
            let n = match input.read_some(ctx, &mut self.bounce[..want]) {
                Ok(n) => n,
                Err(e) if input.done == 0 => return Err(e),
                // What was read so far is the result.
                Err(_) => {
                    input.finished = true;
                    break;
                }
            };
            copy_out(ctx.mem, addr + pos, &self.bounce[..n])?;
            input.done += n as u64;
            pos += n as u64;
            if n < want {
                input.finished = true;
            }
        }
        Ok(())
    }

    // ---- opening and closing ----

    /// Open `path` (relative to `dirfd`, or to the cwd for AT_FDCWD) in the
    /// view with the host `flags`.
    fn lookup(&self, dirfd: u64, path: &[u8], flags: OFlag) -> Result<OwnedFd, Errno> {
        let view = self.view.as_ref().ok_or(Errno::ENOENT)?;
        if path.first() == Some(&b'/') {
            return view.open(path, flags);
        }
        let mut full = self.dir_path(view, dirfd)?;
        if path.is_empty() {
            return view.open(&full, flags);
        }
        if full.last() != Some(&b'/') {
            full.push(b'/');
        }
        full.extend_from_slice(path);
        view.open(&full, flags)
    }

    /// The view path of the directory `dirfd` (the cwd for AT_FDCWD).
    fn dir_path(&self, view: &View, dirfd: u64) -> Result<Vec<u8>, Errno> {
        if dirfd as i32 == at::FDCWD {
            return Ok(self.cwd.clone());
        }
        let file = self.file(dirfd)?;
        match &file.object {
            Object::Host {
                fd,
                kind: Kind::Directory,
            } => view.path_of(fd.as_fd()),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// The view path `path` names from `dirfd`.
    fn full_path(&self, dirfd: u64, path: &[u8]) -> Result<Vec<u8>, Errno> {
        if path.first() == Some(&b'/') {
            return Ok(path.to_vec());
        }
        let view = self.view.as_ref().ok_or(Errno::ENOENT)?;
        let mut full = self.dir_path(view, dirfd)?;
        if full.last() != Some(&b'/') {
            full.push(b'/');
        }
        full.extend_from_slice(path);
        Ok(full)
    }

    /// What a read-only mount answers to an open with `flags` (not
    /// O_PATH) of `path`, in Linux's order: EINVAL for bad flag
    /// combinations, then the lookup's own errors (a missing directory is
    /// ENOENT, a file used as one ENOTDIR, a symlink with O_NOFOLLOW
    /// ELOOP), then EEXIST, EISDIR, ENOTDIR, and only for a write that
    /// could happen EROFS. Ok when the open is in fact read-only (O_CREAT
    /// of a file that exists, O_APPEND or O_TRUNC without write access
    /// where nothing is truncated). The view never writes: a FIFO or a
    /// device opened for writing, which a read-only mount would allow,
    /// is EROFS too.
    fn check_read_only(&self, dirfd: u64, path: &[u8], flags: u64) -> Result<(), Errno> {
        let write = flags & o::ACCMODE != o::RDONLY;
        let creat = flags & o::CREAT != 0;
        let tmpfile_bit = o::TMPFILE & !o::DIRECTORY;
        if flags & tmpfile_bit != 0 {
            if flags & o::TMPFILE != o::TMPFILE || !write {
                return Err(Errno::EINVAL);
            }
            self.lookup(dirfd, path, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
            return Err(Errno::EROFS);
        }
        if creat && flags & o::DIRECTORY != 0 {
            return Err(Errno::EINVAL);
        }
        if !write && !creat && flags & o::TRUNC == 0 {
            return Ok(());
        }
        let view = self.view.as_ref().ok_or(Errno::ENOENT)?;
        let excl = creat && flags & o::EXCL != 0;
        // O_CREAT|O_EXCL never follows a final symlink.
        let follow = flags & o::NOFOLLOW == 0 && !excl;
        let mut full = self.full_path(dirfd, path)?;
        for _ in 0..=MAXSYMLINKS {
            // The directory part must resolve first, whatever the flags.
            let (dir, last) = split_last(&full);
            let parent = view.open(dir, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
            let trailing_slash = full.len() > 1 && full.ends_with(b"/");
            if creat && trailing_slash {
                return Err(Errno::EISDIR);
            }
            let mut at = view.path_of(parent.as_fd())?;
            if at.last() != Some(&b'/') {
                at.push(b'/');
            }
            at.extend_from_slice(last);
            let fd = match view.open(&at, OFlag::O_PATH | OFlag::O_NOFOLLOW) {
                Err(Errno::ENOENT) if creat => return Err(Errno::EROFS),
                other => other?,
            };
            let kind = file_type(fd.as_fd())?;
            if kind == libc::S_IFLNK && follow {
                let target = nix::fcntl::readlinkat(fd.as_fd(), "")?.into_vec();
                full = if target.first() == Some(&b'/') {
                    target
                } else {
                    let mut next = view.path_of(parent.as_fd())?;
                    next.push(b'/');
                    next.extend_from_slice(&target);
                    next
                };
                continue;
            }
            return match kind {
                _ if excl => Err(Errno::EEXIST),
                libc::S_IFLNK => Err(Errno::ELOOP),
                libc::S_IFDIR if write || creat => Err(Errno::EISDIR),
                libc::S_IFDIR => Ok(()),
                _ if flags & o::DIRECTORY != 0 || trailing_slash => Err(Errno::ENOTDIR),
                _ if write => Err(Errno::EROFS),
                libc::S_IFREG if flags & o::TRUNC != 0 => Err(Errno::EROFS),
                _ => Ok(()),
            };
        }
        Err(Errno::ELOOP)
    }

    fn openat(&mut self, ctx: &Context<'_, '_>, dirfd: u64, path: u64, flags: u64) -> SysResult {
        let mut buf = [0u8; PATH_MAX];
        let path = read_path(ctx.mem, path, &mut buf)?;
        let flags = flags as u32 as u64;
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let nofollow = if flags & o::NOFOLLOW != 0 {
            OFlag::O_NOFOLLOW
        } else {
            OFlag::empty()
        };
        if let Some(entry) = self.synthetic_entry(dirfd, path) {
            return self.open_synthetic(ctx, entry, flags);
        }
        if flags & o::PATH == 0 {
            self.check_read_only(dirfd, path, flags)?;
        }
        let directory = if flags & o::DIRECTORY != 0 {
            OFlag::O_DIRECTORY
        } else {
            OFlag::empty()
        };
        let (host_flags, status) = if flags & o::PATH != 0 {
            (
                OFlag::O_PATH | directory | nofollow,
                o::PATH | (flags & (o::DIRECTORY | o::NOFOLLOW)),
            )
        } else {
            // Non-blocking on the host, so that opening a FIFO does not
            // hang and reads wait through stop::wait.
            let noatime = if flags & o::NOATIME != 0 {
                OFlag::O_NOATIME
            } else {
                OFlag::empty()
            };
            let keep = o::NONBLOCK
                | o::DSYNC
                | o::SYNC
                | o::ASYNC
                | o::DIRECT
                | o::DIRECTORY
                | o::NOFOLLOW
                | o::NOATIME;
            (
                OFlag::O_RDONLY
                    | OFlag::O_NOCTTY
                    | OFlag::O_NONBLOCK
                    | directory
                    | nofollow
                    | noatime,
                o::RDONLY | o::LARGEFILE | (flags & keep),
            )
        };
        let fd = self.lookup(dirfd, path, host_flags)?;
        let kind = match file_type(fd.as_fd())? {
            linux::mode::IFREG => Kind::Regular,
            linux::mode::IFDIR => Kind::Directory,
            _ => Kind::Other,
        };
        let file = Arc::new(OpenFile {
            object: Object::Host { fd, kind },
            status: AtomicU64::new(status),
        });
        self.install(file, flags & o::CLOEXEC != 0, 0)
    }

    /// Open a file of the guest's /proc/self: read-only (EACCES for a
    /// write, as its mode 0444 says), never a directory.
    fn open_synthetic(
        &mut self,
        ctx: &Context<'_, '_>,
        entry: procself::Entry,
        flags: u64,
    ) -> SysResult {
        let writes = flags & o::ACCMODE != o::RDONLY || flags & (o::CREAT | o::TRUNC) != 0;
        let dir = entry == procself::Entry::FdDir;
        if flags & o::PATH == 0 && writes {
            return Err(if dir { Errno::EISDIR } else { Errno::EACCES });
        }
        if flags & o::DIRECTORY != 0 && !dir {
            return Err(Errno::ENOTDIR);
        }
        let status = if flags & o::PATH != 0 {
            o::PATH | (flags & o::NOFOLLOW)
        } else {
            o::RDONLY | o::LARGEFILE | (flags & (o::NONBLOCK | o::NOFOLLOW | o::NOATIME))
        };
        let open = self.table.iter().filter(|s| s.is_some()).count();
        let file = Arc::new(OpenFile {
            object: Object::Synthetic {
                entry,
                bytes: match entry {
                    procself::Entry::Maps => procself::maps(ctx.space.mappings(), ctx.space.vdso()),
                    procself::Entry::Auxv => {
                        // The boot info (kernel read-only, out of ring 3's
                        // reach) says where the initial stack was.
                        let boot: microvm_abi::BootInfo = ctx
                            .ram
                            .read_obj(microvm_abi::layout::BOOT_INFO)
                            .map_err(|_| Errno::EIO)?;
                        procself::auxv(
                            ctx.mem,
                            boot.user_stack,
                            self.process.argv.len(),
                            self.process.envp.len(),
                        )
                    }
                    procself::Entry::FdDir => {
                        // As it will be once this open has its fd.
                        let new = self.lowest_free(0);
                        let fds = (0..self.table.len().max(new.map_or(0, |n| n + 1)))
                            .filter(|&i| {
                                matches!(self.table.get(i), Some(Some(_))) || Some(i) == new
                            })
                            .map(|i| i as u32);
                        procself::fd_dir(fds)
                    }
                    e => procself::contents(e, &self.process, open),
                },
                pos: AtomicU64::new(0),
            },
            status: AtomicU64::new(status),
        });
        self.install(file, flags & o::CLOEXEC != 0, 0)
    }

    fn close(&mut self, fd: u64) -> SysResult {
        match self.table.get_mut(index(fd)).and_then(Option::take) {
            Some(_) => Ok(0),
            None => Err(Errno::EBADF),
        }
    }

    fn dup(&mut self, old: u64) -> SysResult {
        let file = self.file(old)?;
        self.install(file, false, 0)
    }

    fn dup2(&mut self, old: u64, new: u64) -> SysResult {
        let file = self.file(old)?;
        // dup2(fd, fd) only checks fd, whatever the limit (as Linux).
        if index(old) != index(new) && new as u32 as u64 >= self.fd_limit {
            return Err(Errno::EBADF);
        }
        if index(old) != index(new) {
            self.place(
                index(new),
                Slot {
                    file,
                    cloexec: false,
                },
            );
        }
        Ok(new as u32 as u64)
    }

    fn dup3(&mut self, old: u64, new: u64, flags: u64) -> SysResult {
        let flags = flags as u32 as u64;
        if flags & !o::CLOEXEC != 0 || index(old) == index(new) {
            return Err(Errno::EINVAL);
        }
        let file = self.file(old)?;
        if new as u32 as u64 >= self.fd_limit {
            return Err(Errno::EBADF);
        }
        let cloexec = flags & o::CLOEXEC != 0;
        self.place(index(new), Slot { file, cloexec });
        Ok(new as u32 as u64)
    }

    fn fcntl(&mut self, fd: u64, cmd: u64, arg: u64) -> SysResult {
        let i = index(fd);
        let slot = match self.table.get_mut(i) {
            Some(Some(slot)) => slot,
            _ => return Err(Errno::EBADF),
        };
        match cmd as u32 as u64 {
            f::DUPFD | f::DUPFD_CLOEXEC => {
                let cloexec = cmd as u32 as u64 == f::DUPFD_CLOEXEC;
                let file = Arc::clone(&slot.file);
                if arg >= self.fd_limit {
                    return Err(Errno::EINVAL);
                }
                self.install(file, cloexec, arg as usize)
            }
            f::GETFD => Ok(if slot.cloexec { f::FD_CLOEXEC } else { 0 }),
            f::SETFD => {
                slot.cloexec = arg & f::FD_CLOEXEC != 0;
                Ok(0)
            }
            f::GETFL => Ok(slot.file.status.load(Ordering::Relaxed)),
            f::GETPIPE_SZ | f::SETPIPE_SZ => {
                let end = slot.file.pipe().ok_or(Errno::EBADF)?;
                match cmd as u32 as u64 {
                    f::GETPIPE_SZ => Ok(end.pipe.capacity()),
                    _ => end.pipe.set_capacity(arg),
                }
            }
            f::SETFL => {
                // What Linux lets F_SETFL change; O_APPEND cannot matter
                // on a read-only file. Nothing changes on the host: reads
                // honour O_NONBLOCK themselves.
                let settable = o::APPEND | o::ASYNC | o::DIRECT | o::NOATIME | o::NONBLOCK;
                let status = &slot.file.status;
                let old = status.load(Ordering::Relaxed);
                status.store((old & !settable) | (arg & settable), Ordering::Relaxed);
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn lseek(&mut self, fd: u64, offset: u64, whence: u64) -> SysResult {
        use nix::unistd::Whence;
        let file = self.file(fd)?;
        let whence = match whence as u32 {
            0 => Whence::SeekSet,
            1 => Whence::SeekCur,
            2 => Whence::SeekEnd,
            3 => Whence::SeekData,
            4 => Whence::SeekHole,
            _ => return Err(Errno::EINVAL),
        };
        if file.pipe().is_some() {
            return Err(Errno::ESPIPE);
        }
        let Some(fd) = file.host_fd() else {
            return synthetic_lseek(&file, offset as i64, whence);
        };
        nix::unistd::lseek(fd, offset as i64, whence).map(|o| o as u64)
    }

    // ---- metadata ----

    /// Run `f` on the file a `*at` syscall names: `dirfd` itself for an
    /// empty path with AT_EMPTY_PATH (a NULL path counts as empty, as on
    /// Linux 6.11), else `path` looked up from `dirfd` (a file of the
    /// guest's /proc/self, or one in the view).
    fn with_target<T>(
        &self,
        ctx: &Context<'_, '_>,
        dirfd: u64,
        path: u64,
        flags: u64,
        f: impl FnOnce(Target<'_>) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let mut buf = [0u8; PATH_MAX];
        let path: &[u8] = if path == 0 && flags & at::EMPTY_PATH != 0 {
            b""
        } else {
            read_path(ctx.mem, path, &mut buf)?
        };
        if path.is_empty() {
            if flags & at::EMPTY_PATH == 0 {
                return Err(Errno::ENOENT);
            }
            if dirfd as i32 != at::FDCWD {
                let file = self.file(dirfd)?;
                let dir = file.kind() == Kind::Directory;
                return f(file.host_fd().map_or(Target::Synthetic { dir }, Target::Fd));
            }
        }
        if let Some(entry) = self.synthetic_entry(dirfd, path) {
            let dir = entry == procself::Entry::FdDir;
            return f(Target::Synthetic { dir });
        }
        let nofollow = if flags & at::SYMLINK_NOFOLLOW != 0 {
            OFlag::O_NOFOLLOW
        } else {
            OFlag::empty()
        };
        let fd = self.lookup(dirfd, path, OFlag::O_PATH | nofollow)?;
        f(Target::Fd(fd.as_fd()))
    }

    /// The file of the guest's /proc/self that `path` from `dirfd` names
    /// (links aside), if any.
    fn synthetic_entry(&self, dirfd: u64, path: &[u8]) -> Option<procself::Entry> {
        let full = self.full_path(dirfd, path).ok()?;
        procself::lookup(&full).filter(|e| !e.is_link())
    }

    fn fstat(&mut self, ctx: &Context<'_, '_>, fd: u64, buf: u64) -> SysResult {
        let file = self.file(fd)?;
        let st = match (file.host_fd(), file.pipe()) {
            (_, Some(end)) => pipe_stat(&end.pipe),
            (Some(fd), None) => host_stat(fd)?,
            (None, None) => synthetic_stat(file.kind() == Kind::Directory),
        };
        copy_out(ctx.mem, buf, &st)?;
        Ok(0)
    }

    fn fstatat(
        &mut self,
        ctx: &Context<'_, '_>,
        dirfd: u64,
        path: u64,
        buf: u64,
        flags: u64,
    ) -> SysResult {
        let flags = flags as u32 as u64;
        if flags & !(at::SYMLINK_NOFOLLOW | at::NO_AUTOMOUNT | at::EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let st = self.with_target(ctx, dirfd, path, flags, |t| match t {
            Target::Fd(fd) => host_stat(fd),
            Target::Synthetic { dir } => Ok(synthetic_stat(dir)),
        })?;
        copy_out(ctx.mem, buf, &st)?;
        Ok(0)
    }

    fn statx(
        &mut self,
        ctx: &Context<'_, '_>,
        dirfd: u64,
        path: u64,
        flags: u64,
        mask: u64,
        buf: u64,
    ) -> SysResult {
        let flags = flags as u32 as u64;
        let mask = mask as u32 as u64;
        let known = at::SYMLINK_NOFOLLOW | at::NO_AUTOMOUNT | at::EMPTY_PATH | at::STATX_SYNC_TYPE;
        if flags & !known != 0
            || flags & at::STATX_SYNC_TYPE == at::STATX_SYNC_TYPE
            || mask & statx::RESERVED != 0
        {
            return Err(Errno::EINVAL);
        }
        let stx = self.with_target(ctx, dirfd, path, flags, |t| match t {
            Target::Fd(fd) => host_statx(fd, flags, mask),
            Target::Synthetic { dir } => Ok(synthetic_statx(dir)),
        })?;
        copy_out(ctx.mem, buf, &stx)?;
        Ok(0)
    }

    /// TCGETS and TIOCGWINSZ on microvm's own stdin/stdout/stderr, answered
    /// by the host terminal (ENOTTY when it is not one); nothing else.
    fn ioctl(&mut self, ctx: &Context<'_, '_>, fd: u64, request: u64, arg: u64) -> SysResult {
        let file = self.file(fd)?;
        let request = request as u32 as u64;
        let size = match request {
            linux::ioctl::TCGETS => linux::termios::SIZE,
            linux::ioctl::TIOCGWINSZ => linux::winsize::SIZE,
            _ => return Err(Errno::ENOTTY),
        };
        let Some(host) = file.host_fd().filter(|_| file.is_stdio()) else {
            return Err(Errno::ENOTTY);
        };
        // Room to spare: the kernel writes `size` bytes for these two.
        let mut out = [0u8; 64];
        // SAFETY: TCGETS and TIOCGWINSZ write one struct termios (36 bytes)
        // or struct winsize (8 bytes) into `out`, which has 64.
        let r = unsafe { libc::ioctl(host.as_raw_fd(), request as libc::Ioctl, out.as_mut_ptr()) };
        Errno::result(r)?;
        copy_out(ctx.mem, arg, &out[..size])?;
        Ok(0)
    }

    fn readlinkat(
        &mut self,
        ctx: &Context<'_, '_>,
        dirfd: u64,
        path: u64,
        buf: u64,
        size: u64,
    ) -> SysResult {
        let size = size as i32;
        if size <= 0 {
            return Err(Errno::EINVAL);
        }
        let mut pbuf = [0u8; PATH_MAX];
        let path = read_path(ctx.mem, path, &mut pbuf)?;
        let own = if path.is_empty() {
            None
        } else {
            self.full_path(dirfd, path)
                .ok()
                .and_then(|p| procself::lookup(&p))
        };
        let target: Vec<u8> = match (own, &self.exe) {
            (Some(procself::Entry::Exe), Some(exe)) => exe.clone(),
            (Some(procself::Entry::Cwd), _) => self.cwd.clone(),
            (Some(procself::Entry::Fd(n)), _) => self.fd_link(n)?,
            // Its files are not links.
            (Some(e), _) if e != procself::Entry::Exe => return Err(Errno::EINVAL),
            _ => {
                let read_link = |fd: BorrowedFd<'_>| {
                    if file_type(fd)? != libc::S_IFLNK {
                        return Err(Errno::EINVAL);
                    }
                    nix::fcntl::readlinkat(fd, "").map(|t| t.into_vec())
                };
                if path.is_empty() {
                    // An O_PATH|O_NOFOLLOW fd of a symlink, as dirfd.
                    let file = self.file(dirfd).map_err(|_| Errno::ENOENT)?;
                    read_link(file.host_fd().ok_or(Errno::EINVAL)?)?
                } else {
                    let fd = self.lookup(dirfd, path, OFlag::O_PATH | OFlag::O_NOFOLLOW)?;
                    read_link(fd.as_fd())?
                }
            }
        };
        let n = target.len().min(size as usize);
        copy_out(ctx.mem, buf, &target[..n])?;
        Ok(n as u64)
    }

    /// What readlink("/proc/self/fd/N") says: the view path of a file
    /// from the view, what microvm's own fd 0, 1 or 2 is (a terminal, a
    /// pipe...), or the /proc/self file.
    fn fd_link(&self, n: u32) -> Result<Vec<u8>, Errno> {
        let file = self.file(u64::from(n)).map_err(|_| Errno::ENOENT)?;
        match &file.object {
            Object::Synthetic { entry, .. } => {
                Ok(format!("/proc/{}/{}", super::GUEST_PID, entry.name()).into_bytes())
            }
            Object::Pipe(end) => Ok(format!("pipe:[{}]", end.pipe.ino).into_bytes()),
            Object::Host { fd, .. } => match self.view.as_ref() {
                Some(view) => view.path_of(fd.as_fd()),
                None => Err(Errno::ENOENT),
            },
            // Named by the host's /proc (readlink, which the seccomp
            // filter allows only with a view: without one there is no
            // file system to name anything in).
            Object::Stdin | Object::Stdout | Object::Stderr => {
                self.view.as_ref().ok_or(Errno::ENOENT)?;
                let host = file.host_fd().ok_or(Errno::ENOENT)?;
                let link = format!("/proc/self/fd/{}", host.as_raw_fd());
                nix::fcntl::readlink(link.as_str()).map(|t| t.into_vec())
            }
        }
    }

    /// The path `-y` shows for `fd`: the cwd for `AT_FDCWD`, what
    /// microvm's own fd 0, 1 or 2 is for the standard streams (and their
    /// dups), else what readlink("/proc/self/fd/N") tells the program.
    fn trace_path(&self, fd: i32) -> Option<Vec<u8>> {
        if fd == at::FDCWD {
            return Some(self.cwd.clone());
        }
        let n = u32::try_from(fd).ok()?;
        let file = self.file(u64::from(n)).ok()?;
        let stdio = match file.object {
            Object::Stdin => 0,
            Object::Stdout => 1,
            Object::Stderr => 2,
            _ => return self.fd_link(n).ok(),
        };
        self.stdio_paths[stdio].clone()
    }

    fn getcwd(&mut self, ctx: &Context<'_, '_>, buf: u64, size: u64) -> SysResult {
        let len = self.cwd.len() as u64 + 1;
        if size < len {
            return Err(Errno::ERANGE);
        }
        let mut path = Vec::with_capacity(self.cwd.len() + 1);
        path.extend_from_slice(&self.cwd);
        path.push(0);
        copy_out(ctx.mem, buf, &path)?;
        Ok(len)
    }

    fn chdir(&mut self, ctx: &Context<'_, '_>, path: u64) -> SysResult {
        let mut buf = [0u8; PATH_MAX];
        let path = read_path(ctx.mem, path, &mut buf)?;
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let fd = self.lookup(at::FDCWD as u64, path, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
        let view = self.view.as_ref().ok_or(Errno::ENOENT)?;
        self.cwd = view.path_of(fd.as_fd())?;
        Ok(0)
    }

    fn fchdir(&mut self, fd: u64) -> SysResult {
        let view = self.view.as_ref().ok_or(Errno::ENOTDIR)?;
        self.cwd = self.dir_path(view, fd)?;
        Ok(0)
    }

    fn getdents64(&mut self, ctx: &Context<'_, '_>, fd: u64, dirp: u64, count: u64) -> SysResult {
        let file = self.file(fd)?;
        if file.kind() != Kind::Directory {
            return Err(Errno::ENOTDIR);
        }
        // Linux takes the count as an unsigned int and compares it with
        // each entry's length as an int: none fits in 0 or less.
        let count = count as u32 as i32;
        if count <= 0 {
            return Err(Errno::EINVAL);
        }
        let count = (count as usize).min(BOUNCE_SIZE);
        check_writable(ctx.mem, dirp, count as u64)?;
        if self.bounce.is_empty() {
            self.bounce = vec![0; BOUNCE_SIZE];
        }
        if let Object::Synthetic { bytes, pos, .. } = &file.object {
            let n = synthetic_dirents(bytes, pos, count)?;
            let at = pos.load(Ordering::Relaxed) as usize;
            copy_out(ctx.mem, dirp, &bytes[at..at + n])?;
            pos.store((at + n) as u64, Ordering::Relaxed);
            return Ok(n as u64);
        }
        let view = self.view.as_ref().ok_or(Errno::EBADF)?;
        let host = file.host_fd().ok_or(Errno::ENOTDIR)?;
        let proc_root = view.proc_place(host)? == super::view::ProcPlace::Root;
        let buf = &mut self.bounce[..count];
        loop {
            // SAFETY: getdents64 writes at most `count` bytes into `buf`,
            // which has `count`.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    host.as_raw_fd(),
                    buf.as_mut_ptr(),
                    count,
                )
            };
            let n = (Errno::result(r)? as usize).min(count);
            // A procfs root lists the host's processes: they are not in
            // the view (see `view`). A batch of nothing else is skipped.
            let n = if proc_root {
                drop_process_entries(&mut buf[..n])
            } else {
                n
            };
            if n == 0 && r != 0 {
                continue;
            }
            copy_out(ctx.mem, dirp, &buf[..n])?;
            return Ok(n as u64);
        }
    }
}

/// Remove the process directories (see [`super::view::is_process_entry`])
/// from the `linux_dirent64` records in `buf`, keeping the others in
/// order; the new length.
fn drop_process_entries(buf: &mut [u8]) -> usize {
    // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type
    // u8, d_name NUL-terminated.
    const RECLEN: usize = 16;
    const NAME: usize = 19;
    let (mut at, mut kept) = (0, 0);
    while at + NAME <= buf.len() {
        let reclen = usize::from(u16::from_le_bytes([buf[at + RECLEN], buf[at + RECLEN + 1]]));
        if reclen < NAME || at + reclen > buf.len() {
            break;
        }
        let name = &buf[at + NAME..at + reclen];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        if !super::view::is_process_entry(name) {
            buf.copy_within(at..at + reclen, kept);
            kept += reclen;
        }
        at += reclen;
    }
    kept
}

/// `path` split into its directory part (at least "/" or ".") and its
/// last component (empty for "/" or a trailing slash).
fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(end) => &path[..=end],
        None => return (b"/", b""),
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", &trimmed[1..]),
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (b".", trimmed),
    }
}

/// One read(2)/readv(2)/pread64(2) in progress.
struct Input<'f> {
    file: &'f OpenFile,
    /// pread64's position, advanced as it reads.
    offset: Option<i64>,
    /// Bytes read so far.
    done: u64,
    /// A short read happened: the call is over.
    finished: bool,
}

impl<'f> Input<'f> {
    fn new(file: &'f OpenFile, offset: Option<i64>) -> Self {
        Input {
            file,
            offset,
            done: 0,
            finished: false,
        }
    }

    /// One host read into `buf`. A file whose reads may block is waited
    /// for (through the stop handle) only before the first byte, and only
    /// without O_NONBLOCK; after that, only what is there is taken.
    ///
    /// Files from the view are open O_NONBLOCK on the host: they are read
    /// first and waited for only when the host says EAGAIN, so that a FIFO
    /// with no writer reads as end of file, as on Linux. microvm's stdin
    /// is a description shared with other processes and may block: it is
    /// polled before each read instead.
    fn read_some(&mut self, ctx: &Context<'_, '_>, buf: &mut [u8]) -> Result<usize, Errno> {
        let Some(fd) = self.file.host_fd() else {
            if self.file.kind() == Kind::Directory {
                return Err(Errno::EISDIR);
            }
            return Ok(self.read_synthetic(buf));
        };
        let may_block = self.file.kind() == Kind::Other;
        let host_nonblocking = matches!(self.file.object, Object::Host { .. });
        loop {
            let block = self.done == 0 && !self.file.nonblocking();
            if may_block && !host_nonblocking {
                let timeout = if block { None } else { Some(Duration::ZERO) };
                match stop::wait(ctx.stop, Some(fd), timeout) {
                    Ok(Wake::Ready) => {}
                    Ok(Wake::TimedOut) => return Err(Errno::EAGAIN),
                    Ok(Wake::Stopped) => return Err(Errno::EINTR),
                    Err(e) => return Err(e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)),
                }
            }
            let r = match self.offset {
                Some(off) => nix::sys::uio::pread(fd, buf, off),
                None => nix::unistd::read(fd, buf),
            };
            match r {
                Ok(n) => {
                    if let Some(off) = self.offset.as_mut() {
                        *off = off.saturating_add(n as i64);
                    }
                    return Ok(n);
                }
                // Nothing there yet: wait for it, unless the program does
                // not wait.
                Err(Errno::EAGAIN) if block && may_block && host_nonblocking => {
                    match stop::wait(ctx.stop, Some(fd), None) {
                        Ok(Wake::Ready | Wake::TimedOut) => {}
                        Ok(Wake::Stopped) => return Err(Errno::EINTR),
                        Err(e) => return Err(e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)),
                    }
                }
                // Ready went away (another reader), or the kick signal:
                // wait again.
                Err(Errno::EAGAIN) if block && !host_nonblocking => {}
                Err(Errno::EINTR) => {
                    if ctx.stop.is_some_and(|s| s.reason().is_some()) {
                        return Err(Errno::EINTR);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Input<'_> {
    /// A read of a synthetic file: what is there from the offset.
    fn read_synthetic(&mut self, buf: &mut [u8]) -> usize {
        let Object::Synthetic { bytes, pos, .. } = &self.file.object else {
            return 0;
        };
        let at = self
            .offset
            .map_or_else(|| pos.load(Ordering::Relaxed), |o| o as u64);
        let start = (at as usize).min(bytes.len());
        let n = buf.len().min(bytes.len() - start);
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        match self.offset.as_mut() {
            Some(off) => *off += n as i64,
            None => pos.store(at + n as u64, Ordering::Relaxed),
        }
        n
    }
}

/// How many bytes of whole `linux_dirent64` records from the offset `pos`
/// in `records` fit in `count`: EINVAL if not even one does (as Linux).
fn synthetic_dirents(records: &[u8], pos: &AtomicU64, count: usize) -> Result<usize, Errno> {
    let start = (pos.load(Ordering::Relaxed) as usize).min(records.len());
    let mut end = start;
    while end + 18 <= records.len() {
        let reclen = usize::from(u16::from_le_bytes([records[end + 16], records[end + 17]]));
        if reclen == 0 || end + reclen > records.len() || end + reclen - start > count {
            break;
        }
        end += reclen;
    }
    if end == start && start < records.len() {
        return Err(Errno::EINVAL);
    }
    Ok(end - start)
}

/// What a `*at` syscall's path names: a host file, or a file of the
/// guest's /proc/self (a directory or not).
enum Target<'a> {
    Fd(BorrowedFd<'a>),
    Synthetic { dir: bool },
}

/// lseek(2) on a synthetic file: SEEK_SET and SEEK_CUR, as Linux's
/// seq_file files allow.
fn synthetic_lseek(file: &OpenFile, offset: i64, whence: nix::unistd::Whence) -> SysResult {
    use nix::unistd::Whence;
    let Object::Synthetic { pos, .. } = &file.object else {
        return Err(Errno::EBADF);
    };
    let new = match whence {
        Whence::SeekSet => offset,
        Whence::SeekCur => (pos.load(Ordering::Relaxed) as i64)
            .checked_add(offset)
            .ok_or(Errno::EINVAL)?,
        _ => return Err(Errno::EINVAL),
    };
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    pos.store(new as u64, Ordering::Relaxed);
    Ok(new as u64)
}

/// The inode number synthetic files show.
const SYNTHETIC_INO: u64 = 0x5ec7;

/// The mode of a synthetic file: a read-only regular file, or a
/// directory (`dir`), as procfs shows them.
fn synthetic_mode(dir: bool) -> u32 {
    if dir {
        libc::S_IFDIR | 0o500
    } else {
        libc::S_IFREG | 0o444
    }
}

/// The `struct stat` of a synthetic file, as procfs fills it: size 0.
fn synthetic_stat(dir: bool) -> [u8; stat::SIZE] {
    // SAFETY: struct stat is plain integers; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    st.st_mode = synthetic_mode(dir);
    st.st_nlink = 1;
    st.st_ino = SYNTHETIC_INO;
    st.st_blksize = 1024;
    let mut out = [0u8; stat::SIZE];
    // SAFETY: `st` is `stat::SIZE` bytes (checked at compile time in
    // `linux`), read as bytes once.
    out.copy_from_slice(unsafe {
        std::slice::from_raw_parts((&st as *const libc::stat).cast::<u8>(), stat::SIZE)
    });
    out
}

/// The `struct statx` of a synthetic file (see [`synthetic_stat`]).
fn synthetic_statx(dir: bool) -> [u8; statx::SIZE] {
    // SAFETY: struct statx is plain integers; all-zero is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    stx.stx_mask = libc::STATX_BASIC_STATS;
    stx.stx_mode = synthetic_mode(dir) as u16;
    stx.stx_nlink = 1;
    stx.stx_ino = SYNTHETIC_INO;
    stx.stx_blksize = 1024;
    let mut out = [0u8; statx::SIZE];
    let n = std::mem::size_of::<libc::statx>();
    // SAFETY: `stx` is `n` bytes, no more than `statx::SIZE` (checked at
    // compile time in `linux`), read as bytes once.
    out[..n].copy_from_slice(unsafe {
        std::slice::from_raw_parts((&stx as *const libc::statx).cast::<u8>(), n)
    });
    out
}

/// Call `f(base, len)` for each iovec of the array at `iov` (`iovcnt` of
/// them), after checking each against `access`, until `f` says stop. The
/// total is cut at MAX_RW_COUNT, as Linux does.
fn for_each_iovec(
    mem: &UserMemory<'_>,
    iov: u64,
    iovcnt: u64,
    access: Access,
    mut f: impl FnMut(u64, u64) -> Result<bool, Errno>,
) -> Result<(), Errno> {
    let iovcnt = iovcnt as u32 as u64;
    if iovcnt > linux::IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let mut total = 0u64;
    for i in 0..iovcnt {
        let mut raw = [0u8; linux::PAIR_SIZE];
        let at = iov
            .checked_add(i * linux::PAIR_SIZE as u64)
            .ok_or(Errno::EFAULT)?;
        mem.read(at, &mut raw).map_err(|_| Errno::EFAULT)?;
        let base = linux::u64_at(&raw, 0);
        let len = linux::u64_at(&raw, 8);
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let len = len.min(MAX_RW_COUNT - total);
        mem.for_each_piece(base, len, access, |_, _| {})
            .map_err(|_| Errno::EFAULT)?;
        total += len;
        if !f(base, len)? {
            break;
        }
    }
    Ok(())
}

/// One write(2) or writev(2) of program output in progress: guest bytes
/// gathered into `staged` (up to [`STAGE_SIZE`]) and written when it is
/// full and at the end.
struct Emitter<'e> {
    out: &'e mut Output,
    stop: Option<&'e stop::StopHandle>,
    staged: &'e mut Vec<u8>,
    /// Bytes written so far.
    written: u64,
    /// The errno that stopped it, if any.
    failure: Option<Errno>,
}

impl Emitter<'_> {
    /// Add the guest bytes `[buf, buf + count)` (already checked
    /// readable). False once a write failed: the rest is not written.
    fn emit(&mut self, mem: &UserMemory<'_>, buf: u64, count: u64) -> bool {
        let ram = mem.ram();
        let _ = mem.for_each_piece(buf, count, Access::UserRead, |phys, n| {
            if self.failure.is_some() {
                return;
            }
            if self.staged.len() + n > STAGE_SIZE {
                self.flush();
            }
            let at = self.staged.len();
            self.staged.resize(at + n, 0);
            if ram
                .mem()
                .read_slice(&mut self.staged[at..], GuestAddress(phys))
                .is_err()
            {
                self.staged.truncate(at);
                self.flush();
                self.failure.get_or_insert(Errno::EFAULT);
            }
        });
        self.failure.is_none()
    }

    /// Write what is staged.
    fn flush(&mut self) {
        if self.failure.is_none() && !self.staged.is_empty() {
            if let Err(e) = self
                .out
                .write_all(self.staged, self.stop, &mut self.written)
            {
                self.failure = Some(e);
            }
        }
        self.staged.clear();
    }

    /// Write the rest, flush the output, and turn what happened into the
    /// syscall's result: EPIPE always wins (it raises SIGPIPE); other
    /// errors after some bytes give the count, as Linux does for a write
    /// interrupted part-way.
    fn finish(mut self) -> SysResult {
        self.flush();
        if let Err(e) = self.out.flush() {
            self.failure.get_or_insert(e);
        }
        match self.failure {
            Some(Errno::EPIPE) => Err(Errno::EPIPE),
            Some(_) if self.written > 0 => Ok(self.written),
            Some(e) => Err(e),
            None => Ok(self.written),
        }
    }
}

/// What poll(2) can tell of a descriptor (see [`Files::poll_fd`]).
#[derive(Debug)]
pub enum PollFd<'a> {
    /// Not open: POLLNVAL, select's EBADF.
    Bad,
    /// Known now, and cannot change while the program waits.
    Mask(i16),
    /// Polled on the host.
    Host(BorrowedFd<'a>),
}

impl Files {
    /// RLIMIT_NOFILE's soft limit (poll's nfds may not exceed it).
    pub fn fd_limit(&self) -> u64 {
        self.fd_limit
    }

    /// What poll(2) sees of `fd`: a pipe end as Linux's pipe_poll answers
    /// (POLLIN with bytes, POLLHUP with no writer; POLLOUT with room,
    /// POLLERR with no reader), a file always readable and writable (as
    /// Linux's DEFAULT_POLLMASK), microvm's own descriptors and host
    /// pipes or devices polled on the host.
    pub fn poll_fd(&self, fd: i32) -> PollFd<'_> {
        let Ok(n) = u32::try_from(fd) else {
            return PollFd::Bad;
        };
        let Some(Some(slot)) = self.table.get(n as usize) else {
            return PollFd::Bad;
        };
        let file = &slot.file;
        if file.status.load(Ordering::Relaxed) & o::PATH != 0 {
            return PollFd::Bad;
        }
        if let Some(end) = file.pipe() {
            let p = &end.pipe;
            let mut m = 0;
            if end.write {
                if p.room() > 0 {
                    m |= libc::POLLOUT | libc::POLLWRNORM;
                }
                if !p.has_readers() {
                    m |= libc::POLLERR;
                }
            } else {
                if !p.is_empty() {
                    m |= libc::POLLIN | libc::POLLRDNORM;
                }
                if !p.has_writers() {
                    m |= libc::POLLHUP;
                }
            }
            return PollFd::Mask(m);
        }
        match (file.kind(), file.host_fd()) {
            (Kind::Other, Some(fd)) => PollFd::Host(fd),
            _ => PollFd::Mask(libc::POLLIN | libc::POLLOUT | libc::POLLRDNORM | libc::POLLWRNORM),
        }
    }

    // ---- pipes (see [`pipe`]) ----

    /// pipe2(2) (pipe(2) with no flags): both ends at the two lowest free
    /// fds, written to `fds` (EFAULT, and no fd, if it cannot be).
    fn pipe2(&mut self, ctx: &Context<'_, '_>, fds: u64, flags: u64) -> SysResult {
        let flags = flags as u32 as u64;
        if flags & !(o::CLOEXEC | o::NONBLOCK | o::DIRECT) != 0 {
            return Err(Errno::EINVAL);
        }
        let r = self.lowest_free(0).ok_or(Errno::EMFILE)?;
        let w = self.lowest_free(r + 1).ok_or(Errno::EMFILE)?;
        let mut pair = [0u8; 8];
        pair[..4].copy_from_slice(&(r as i32).to_le_bytes());
        pair[4..].copy_from_slice(&(w as i32).to_le_bytes());
        copy_out(ctx.mem, fds, &pair)?;
        let status = flags & (o::NONBLOCK | o::DIRECT);
        let cloexec = flags & o::CLOEXEC != 0;
        let (read_end, write_end) = Pipe::open(&self.pipes);
        for (fd, end, mode) in [(r, read_end, o::RDONLY), (w, write_end, o::WRONLY)] {
            let file = Arc::new(OpenFile {
                object: Object::Pipe(end),
                status: AtomicU64::new(mode | status),
            });
            self.place(fd, Slot { file, cloexec });
        }
        Ok(0)
    }

    /// The open file behind `fd` if it is a pipe's write end (`write`) or
    /// read end; EBADF for the other end; `None` for anything else.
    fn pipe_end(&self, fd: u64, write: bool) -> Result<Option<Arc<OpenFile>>, Errno> {
        let Ok(file) = self.file(fd) else {
            return Ok(None);
        };
        match file.pipe() {
            Some(end) if end.write == write => Ok(Some(file)),
            Some(_) => Err(Errno::EBADF),
            None => Ok(None),
        }
    }

    /// Read from the pipe `file` into the guest buffers `pieces`.
    fn read_pipe(
        &mut self,
        ctx: &mut Context<'_, '_>,
        file: &OpenFile,
        pieces: &[(u64, u64)],
    ) -> SysResult {
        let Some(end) = file.pipe() else {
            return Err(Errno::EBADF);
        };
        let want = pieces.iter().map(|p| p.1).sum::<u64>();
        let n = pipe::readable(ctx, &end.pipe, want, file.nonblocking())?;
        // Only what will be copied must be writable, as on Linux.
        check_first(ctx.mem, pieces, n, Access::UserWrite)?;
        if self.bounce.is_empty() {
            self.bounce = vec![0; BOUNCE_SIZE];
        }
        let mut done = 0;
        for &(base, len) in pieces {
            let mut pos = 0;
            while pos < len && done < n {
                let chunk = (len - pos).min(n - done).min(BOUNCE_SIZE as u64) as usize;
                let got = end.pipe.take(&mut self.bounce[..chunk]);
                copy_out(ctx.mem, base + pos, &self.bounce[..got])?;
                pos += got as u64;
                done += got as u64;
            }
        }
        Ok(done)
    }

    /// Write the guest buffers `pieces` to the pipe `file`.
    fn write_pipe(
        &mut self,
        ctx: &mut Context<'_, '_>,
        file: &OpenFile,
        pieces: &[(u64, u64)],
    ) -> SysResult {
        let Some(end) = file.pipe() else {
            return Err(Errno::EBADF);
        };
        let total = pieces.iter().map(|p| p.1).sum::<u64>();
        let (n, forever) = match pipe::writable(&end.pipe, total, file.nonblocking()) {
            Writable::Now(n) => (n, false),
            Writable::Forever(n) => (n, true),
            Writable::Fail(e) => return Err(e),
        };
        // Only what will be copied must be readable, as on Linux.
        check_first(ctx.mem, pieces, n, Access::UserRead)?;
        if self.bounce.is_empty() {
            self.bounce = vec![0; BOUNCE_SIZE];
        }
        let mut done = 0;
        for &(base, len) in pieces {
            let mut pos = 0;
            while pos < len && done < n {
                let chunk = (len - pos).min(n - done).min(BOUNCE_SIZE as u64) as usize;
                ctx.mem
                    .read(base + pos, &mut self.bounce[..chunk])
                    .map_err(|_| Errno::EFAULT)?;
                end.pipe.put(&self.bounce[..chunk]);
                pos += chunk as u64;
                done += chunk as u64;
            }
        }
        if forever {
            return ctx.waits_forever(pipe::FULL);
        }
        Ok(done)
    }
}

/// EFAULT unless the first `n` bytes of the buffers `pieces` allow `access`.
fn check_first(
    mem: &UserMemory<'_>,
    pieces: &[(u64, u64)],
    n: u64,
    access: Access,
) -> Result<(), Errno> {
    let mut left = n;
    for &(base, len) in pieces {
        if left == 0 {
            break;
        }
        let len = len.min(left);
        mem.for_each_piece(base, len, access, |_, _| {})
            .map_err(|_| Errno::EFAULT)?;
        left -= len;
    }
    Ok(())
}

/// The iovecs at `iov` (`iovcnt` of them, each checked for `access`), cut
/// at MAX_RW_COUNT in all.
fn iovecs(
    mem: &UserMemory<'_>,
    iov: u64,
    iovcnt: u64,
    access: Access,
) -> Result<Vec<(u64, u64)>, Errno> {
    let mut pieces = Vec::new();
    for_each_iovec(mem, iov, iovcnt, access, |base, len| {
        pieces.push((base, len));
        Ok(true)
    })?;
    Ok(pieces)
}

/// The `struct stat` of a pipe, as pipefs fills it: a FIFO, mode 0600,
/// owned by the process's uid, size 0.
fn pipe_stat(pipe: &Pipe) -> [u8; stat::SIZE] {
    // SAFETY: struct stat is plain integers; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    st.st_mode = libc::S_IFIFO | 0o600;
    st.st_nlink = 1;
    st.st_ino = pipe.ino;
    st.st_blksize = 4096;
    let mut out = [0u8; stat::SIZE];
    // SAFETY: `st` is `stat::SIZE` bytes (checked at compile time in
    // `linux`), read as bytes once.
    out.copy_from_slice(unsafe {
        std::slice::from_raw_parts((&st as *const libc::stat).cast::<u8>(), stat::SIZE)
    });
    out
}

impl crate::trace::style::FdTable for Files {
    fn fd_path(&self, fd: i32, out: &mut Vec<u8>) -> bool {
        match self.trace_path(fd) {
            Some(path) => {
                out.extend_from_slice(&path);
                true
            }
            None => false,
        }
    }
}

#[path = "fsinfo.rs"]
mod info;

#[path = "rofs.rs"]
mod changes;

#[cfg(test)]
#[path = "fs_model_tests.rs"]
mod model_tests;

#[cfg(test)]
mod output_tests {
    use super::*;
    use crate::stop::{StopHandle, StopReason, StopSlot};
    use std::os::fd::{FromRawFd, IntoRawFd};

    /// A pseudo-terminal (master, slave): a descriptor that refuses
    /// RWF_NOWAIT with EOPNOTSUPP, as pipes do before Linux 6.4.
    fn pty() -> (OwnedFd, BorrowedFd<'static>) {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes the two descriptors; name, termios and
        // winsize may be NULL.
        let r = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty made both; the slave is leaked for 'static.
        unsafe {
            (
                OwnedFd::from_raw_fd(master),
                BorrowedFd::borrow_raw(OwnedFd::from_raw_fd(slave).into_raw_fd()),
            )
        }
    }

    fn read_master(master: &OwnedFd) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let n = nix::unistd::read(master, &mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn pipe_writes_fall_back_to_polling_where_rwf_nowait_is_refused() {
        let (master, slave) = pty();
        let as_pipe = |stop: StopSlot| StopAwareStderr {
            out: HostOutput {
                fd: slave,
                kind: HostKind::Pipe,
            },
            stop,
        };
        // The premise: this descriptor refuses RWF_NOWAIT.
        assert_eq!(
            as_pipe(StopSlot::default()).out.write_once(b"x"),
            Err(Errno::EOPNOTSUPP)
        );
        // Before a stop: written, by polling.
        let mut out = as_pipe(StopSlot::default());
        assert_eq!(out.write(b"abc").unwrap(), 3);
        assert_eq!(read_master(&master), b"abc");
        // After a stop: what fits now, by polling too, not an error.
        let mut immediate_exit = 0u8;
        let handle = StopHandle::new(&mut immediate_exit).unwrap();
        handle.stop(StopReason::Timeout);
        let slot = StopSlot::default();
        slot.set(handle);
        let mut out = as_pipe(slot);
        assert_eq!(out.write(b"xyz").unwrap(), 3);
        assert_eq!(read_master(&master), b"xyz");
    }
}
