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
pub mod procself;
pub mod view;

use crate::memory::GuestRam;
use crate::space::AddressSpace;
use crate::stop::StopHandle;
use crate::usermem::UserMemory;
use microvm_abi::TrapFrame;
use std::io::Write;
use std::path::Path;

/// Linux x86-64 syscall numbers served here (shared with the guest's
/// programs through the ABI crate).
pub use microvm_abi::linux::nr;

/// Linux errno values the service returns (negated, as the kernel does).
pub mod errno {
    /// Bad file descriptor.
    pub const EBADF: i64 = libc::EBADF as i64;
    /// Bad address.
    pub const EFAULT: i64 = libc::EFAULT as i64;
    /// Invalid argument.
    pub const EINVAL: i64 = libc::EINVAL as i64;
    /// Interrupted system call.
    pub const EINTR: i64 = libc::EINTR as i64;
    /// Broken pipe.
    pub const EPIPE: i64 = libc::EPIPE as i64;
    /// Function not implemented.
    pub const ENOSYS: i64 = libc::ENOSYS as i64;
    /// Input/output error.
    pub const EIO: i64 = libc::EIO as i64;
    /// Operation not permitted.
    pub const EPERM: i64 = libc::EPERM as i64;
    /// Out of memory.
    pub const ENOMEM: i64 = libc::ENOMEM as i64;
    /// File exists.
    pub const EEXIST: i64 = libc::EEXIST as i64;
    /// No such device.
    pub const ENODEV: i64 = libc::ENODEV as i64;
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
        SyscallService::with_outputs(fs::Output::stdout(), fs::Output::stderr())
    }
}

impl SyscallService {
    /// A service writing the program's fd 1 and 2 to `stdout` and `stderr`.
    pub fn new(stdout: Box<dyn Write + Send>, stderr: Box<dyn Write + Send>) -> Self {
        SyscallService::with_outputs(fs::Output::Writer(stdout), fs::Output::Writer(stderr))
    }

    /// A service writing the program's fd 1 and 2 to `stdout` and `stderr`.
    pub fn with_outputs(stdout: fs::Output, stderr: fs::Output) -> Self {
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

    /// The descriptor every path lookup starts from: the root of the file
    /// view, if there is one (`--fs-root`).
    pub fn view_root(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.files.view_root()
    }

    /// The program's path, which readlink("/proc/self/exe") tells (made
    /// absolute and resolved, as Linux does).
    pub fn with_exe_path(mut self, path: &Path) -> Self {
        self.files.set_exe_path(path);
        self
    }

    /// The guest's argv (`argv[0]` first) and environment, which its
    /// /proc/self/cmdline and environ show.
    pub fn with_start(mut self, argv: &[String], envp: &[String]) -> Self {
        self.files.set_process(procself::GuestProcess {
            argv: argv.to_vec(),
            envp: envp.to_vec(),
        });
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
