//! The host syscall service: what the host does for each syscall a program
//! makes. A single-process guest: pid 1, no parent (ppid 0), thread id 1,
//! uid/gid 0. File descriptors 0, 1 and 2 are microvm's own stdin, stdout
//! and stderr; files come from a read-only view of a host directory
//! (`--fs-root`). Everything not served answers -ENOSYS (and is logged by
//! the trace).
//!
//! Submodules serve families of syscalls: [`fs`] file descriptors and
//! files (through [`view`]), [`misc`] the system, time, randomness and
//! limits. Each returns `None` for a number it does not serve. [`linux`]
//! holds the x86-64 Linux struct layouts and flags they and the trace share.

pub mod fs;
pub mod linux;
pub mod misc;
pub mod mm;
pub mod view;

use crate::memory::GuestRam;
use crate::space::AddressSpace;
use crate::stop::StopHandle;
use crate::usermem::UserMemory;
use microvm_abi::TrapFrame;
use std::io::Write;
use std::path::Path;

/// Linux x86-64 syscall numbers served here.
pub mod nr {
    /// read(2)
    pub const READ: u64 = libc::SYS_read as u64;
    /// write(2)
    pub const WRITE: u64 = 1;
    /// mmap(2)
    pub const MMAP: u64 = 9;
    /// mprotect(2)
    pub const MPROTECT: u64 = 10;
    /// munmap(2)
    pub const MUNMAP: u64 = 11;
    /// brk(2)
    pub const BRK: u64 = 12;
    /// arch_prctl(2)
    pub const ARCH_PRCTL: u64 = 158;
    /// open(2)
    pub const OPEN: u64 = libc::SYS_open as u64;
    /// close(2)
    pub const CLOSE: u64 = libc::SYS_close as u64;
    /// stat(2)
    pub const STAT: u64 = libc::SYS_stat as u64;
    /// fstat(2)
    pub const FSTAT: u64 = libc::SYS_fstat as u64;
    /// lstat(2)
    pub const LSTAT: u64 = libc::SYS_lstat as u64;
    /// lseek(2)
    pub const LSEEK: u64 = libc::SYS_lseek as u64;
    /// ioctl(2)
    pub const IOCTL: u64 = libc::SYS_ioctl as u64;
    /// pread64(2)
    pub const PREAD64: u64 = libc::SYS_pread64 as u64;
    /// readv(2)
    pub const READV: u64 = libc::SYS_readv as u64;
    /// writev(2)
    pub const WRITEV: u64 = libc::SYS_writev as u64;
    /// dup(2)
    pub const DUP: u64 = libc::SYS_dup as u64;
    /// dup2(2)
    pub const DUP2: u64 = libc::SYS_dup2 as u64;
    /// nanosleep(2)
    pub const NANOSLEEP: u64 = libc::SYS_nanosleep as u64;
    /// uname(2)
    pub const UNAME: u64 = libc::SYS_uname as u64;
    /// fcntl(2)
    pub const FCNTL: u64 = libc::SYS_fcntl as u64;
    /// getcwd(2)
    pub const GETCWD: u64 = libc::SYS_getcwd as u64;
    /// chdir(2)
    pub const CHDIR: u64 = libc::SYS_chdir as u64;
    /// fchdir(2)
    pub const FCHDIR: u64 = libc::SYS_fchdir as u64;
    /// readlink(2)
    pub const READLINK: u64 = libc::SYS_readlink as u64;
    /// gettimeofday(2)
    pub const GETTIMEOFDAY: u64 = libc::SYS_gettimeofday as u64;
    /// getrlimit(2)
    pub const GETRLIMIT: u64 = libc::SYS_getrlimit as u64;
    /// setrlimit(2)
    pub const SETRLIMIT: u64 = libc::SYS_setrlimit as u64;
    /// time(2)
    pub const TIME: u64 = libc::SYS_time as u64;
    /// sched_getaffinity(2)
    pub const SCHED_GETAFFINITY: u64 = libc::SYS_sched_getaffinity as u64;
    /// getdents64(2)
    pub const GETDENTS64: u64 = libc::SYS_getdents64 as u64;
    /// set_tid_address(2)
    pub const SET_TID_ADDRESS: u64 = libc::SYS_set_tid_address as u64;
    /// clock_gettime(2)
    pub const CLOCK_GETTIME: u64 = libc::SYS_clock_gettime as u64;
    /// clock_getres(2)
    pub const CLOCK_GETRES: u64 = libc::SYS_clock_getres as u64;
    /// clock_nanosleep(2)
    pub const CLOCK_NANOSLEEP: u64 = libc::SYS_clock_nanosleep as u64;
    /// openat(2)
    pub const OPENAT: u64 = libc::SYS_openat as u64;
    /// newfstatat(2)
    pub const NEWFSTATAT: u64 = libc::SYS_newfstatat as u64;
    /// readlinkat(2)
    pub const READLINKAT: u64 = libc::SYS_readlinkat as u64;
    /// set_robust_list(2)
    pub const SET_ROBUST_LIST: u64 = libc::SYS_set_robust_list as u64;
    /// dup3(2)
    pub const DUP3: u64 = libc::SYS_dup3 as u64;
    /// prlimit64(2)
    pub const PRLIMIT64: u64 = libc::SYS_prlimit64 as u64;
    /// getrandom(2)
    pub const GETRANDOM: u64 = libc::SYS_getrandom as u64;
    /// statx(2)
    pub const STATX: u64 = libc::SYS_statx as u64;
    /// rseq(2)
    pub const RSEQ: u64 = libc::SYS_rseq as u64;
    /// getpid(2)
    pub const GETPID: u64 = 39;
    /// exit(2)
    pub const EXIT: u64 = 60;
    /// getuid(2)
    pub const GETUID: u64 = 102;
    /// getgid(2)
    pub const GETGID: u64 = 104;
    /// geteuid(2)
    pub const GETEUID: u64 = 107;
    /// getegid(2)
    pub const GETEGID: u64 = 108;
    /// getppid(2)
    pub const GETPPID: u64 = 110;
    /// gettid(2)
    pub const GETTID: u64 = 186;
    /// exit_group(2)
    pub const EXIT_GROUP: u64 = 231;
}

/// Linux errno values the service returns (negated, as the kernel does).
pub mod errno {
    /// Bad file descriptor.
    pub const EBADF: i64 = 9;
    /// Bad address.
    pub const EFAULT: i64 = 14;
    /// Invalid argument.
    pub const EINVAL: i64 = 22;
    /// Broken pipe.
    pub const EPIPE: i64 = 32;
    /// Function not implemented.
    pub const ENOSYS: i64 = 38;
    /// Input/output error.
    pub const EIO: i64 = 5;
    /// Operation not permitted.
    pub const EPERM: i64 = 1;
    /// Out of memory.
    pub const ENOMEM: i64 = 12;
    /// File exists.
    pub const EEXIST: i64 = 17;
    /// No such device.
    pub const ENODEV: i64 = 19;
}

/// The process id the guest program has.
pub const GUEST_PID: i64 = 1;

/// The largest count one read/write moves, as Linux's MAX_RW_COUNT.
pub const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// What becomes of the program after a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Resume it with this value in rax.
    Return(i64),
    /// It exited with this status (exit, exit_group).
    Exit(i32),
    /// The syscall failed with this value in rax and raised a signal that
    /// ends the program (a write to a closed pipe: EPIPE and SIGPIPE).
    Killed(i64, crate::exception::Signal),
}

/// The guest state a syscall may touch, handed over by the run loop.
pub struct Guest<'a, 'm> {
    /// The program's memory, through its page tables.
    pub mem: &'a UserMemory<'m>,
    /// Guest RAM.
    pub ram: &'m GuestRam,
    /// The program's address space.
    pub space: &'a mut AddressSpace,
    /// Requests for the kernel, filled by the syscall.
    pub requests: &'a mut KernelRequests,
}

/// What a syscall handler gets besides its arguments.
pub struct Context<'a, 'm> {
    /// The program's memory, through its page tables.
    pub mem: &'a UserMemory<'m>,
    /// Call before writing any program output (the trace flushes there).
    pub before_output: &'a mut dyn FnMut(),
    /// Stops the run from outside; a syscall that waits wakes on it.
    pub stop: Option<&'a StopHandle>,
    /// Guest RAM.
    pub ram: &'m GuestRam,
    /// The program's address space (mappings change here).
    pub space: &'a mut AddressSpace,
    /// What the kernel must do before returning to ring 3.
    pub requests: &'a mut KernelRequests,
}

/// What the host asks the kernel to do on the way back to ring 3 (see
/// `microvm_abi::request`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelRequests {
    /// `microvm_abi::request` bits.
    pub bits: u64,
    /// The FS base to load with `SET_FS_BASE`.
    pub fs_base: u64,
    /// The GS base to load with `SET_GS_BASE`.
    pub gs_base: u64,
}

/// Serves syscalls.
pub struct SyscallService {
    files: fs::Files,
    memory: mm::Memory,
    misc: misc::Misc,
    stop: Option<StopHandle>,
}

impl Default for SyscallService {
    fn default() -> Self {
        SyscallService::new(Box::new(std::io::stdout()), Box::new(std::io::stderr()))
    }
}

impl SyscallService {
    /// A service writing the program's fd 1 and 2 to `stdout` and `stderr`.
    pub fn new(stdout: Box<dyn Write + Send>, stderr: Box<dyn Write + Send>) -> Self {
        SyscallService {
            files: fs::Files::new(stdout, stderr),
            memory: mm::Memory::default(),
            misc: misc::Misc::default(),
            stop: None,
        }
    }

    /// Serve files from a read-only view of the host directory `dir`
    /// (`--fs-root`); without one, every open fails with ENOENT.
    pub fn with_fs_root(mut self, dir: &Path) -> crate::Result<Self> {
        self.files.set_view(view::View::new(dir)?);
        Ok(self)
    }

    /// The program's path, which readlink("/proc/self/exe") tells (made
    /// absolute and resolved, as Linux does).
    pub fn with_exe_path(mut self, path: &Path) -> Self {
        self.files.set_exe_path(path);
        self
    }

    /// Let syscalls that wait (sleeps, reads of a terminal or a pipe) wake
    /// when the run is stopped through `stop`.
    pub fn set_stop_handle(&mut self, stop: StopHandle) {
        self.stop = Some(stop);
    }

    /// Serve the syscall in `frame`. `before_output` runs before any byte
    /// of program output is written (the trace flushes itself there, so
    /// that output and trace keep their order).
    pub fn handle(
        &mut self,
        guest: Guest<'_, '_>,
        frame: &TrapFrame,
        before_output: &mut dyn FnMut(),
    ) -> Disposition {
        use Disposition::Return;
        let args = [
            frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
        ];
        let mut ctx = Context {
            mem: guest.mem,
            before_output,
            ram: guest.ram,
            space: guest.space,
            requests: guest.requests,
            stop: self.stop.as_ref(),
        };
        if let Some(r) = self.memory.handle(frame.rax, &args, &mut ctx) {
            return Return(r);
        }
        match frame.rax {
            nr::EXIT | nr::EXIT_GROUP => Disposition::Exit((frame.rdi & 0xff) as i32),
            nr::GETPID | nr::GETTID => Return(GUEST_PID),
            nr::GETPPID => Return(0),
            nr::GETUID | nr::GETEUID | nr::GETGID | nr::GETEGID => Return(0),
            n => match self.files.handle(n, &args, &mut ctx) {
                // Writing to a pipe with no reader raises SIGPIPE.
                Some(r) if r == -errno::EPIPE => {
                    Disposition::Killed(r, crate::exception::Signal::Sigpipe)
                }
                Some(r) => Return(r),
                None => match self.misc.handle(n, &args, &mut ctx) {
                    Some(r) => {
                        if matches!(n, nr::PRLIMIT64 | nr::SETRLIMIT) {
                            self.files.set_fd_limit(self.misc.fd_limit());
                        }
                        Return(r)
                    }
                    None => Return(-errno::ENOSYS),
                },
            },
        }
    }
}

/// A syscall's result: the value, or the errno it fails with.
pub type SysResult = Result<u64, nix::errno::Errno>;

/// The value rax gets for `r`: the value, or the negated errno.
pub fn to_rax(r: SysResult) -> i64 {
    match r {
        Ok(v) => v as i64,
        Err(e) => -(e as i64),
    }
}

/// The errno for a host I/O error on program output.
pub fn io_errno(e: &std::io::Error) -> i64 {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => errno::EPIPE,
        _ => e.raw_os_error().map_or(errno::EIO, i64::from),
    }
}
