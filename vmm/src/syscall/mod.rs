//! The host syscall service: what the host does for each syscall a program
//! makes. A single-process guest: pid 1, no parent (ppid 0), thread id 1,
//! uid/gid 0. File descriptors 1 and 2 are microvm's own stdout and stderr.
//! Everything not served answers -ENOSYS (and is logged by the trace).
//!
//! Submodules serve families of syscalls: [`fs`] file descriptors and
//! files. Each returns `None` for a number it does not serve.

pub mod fs;

use crate::usermem::UserMemory;
use microvm_abi::TrapFrame;
use std::io::Write;

/// Linux x86-64 syscall numbers served here.
pub mod nr {
    /// write(2)
    pub const WRITE: u64 = 1;
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

/// What a syscall handler gets besides its arguments.
pub struct Context<'a, 'm> {
    /// The program's memory, through its page tables.
    pub mem: &'a UserMemory<'m>,
    /// Call before writing any program output (the trace flushes there).
    pub before_output: &'a mut dyn FnMut(),
}

/// Serves syscalls.
pub struct SyscallService {
    files: fs::Files,
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
        }
    }

    /// Serve the syscall in `frame`. `before_output` runs before any byte
    /// of program output is written (the trace flushes itself there, so
    /// that output and trace keep their order).
    pub fn handle(
        &mut self,
        mem: &UserMemory<'_>,
        frame: &TrapFrame,
        before_output: &mut dyn FnMut(),
    ) -> Disposition {
        use Disposition::Return;
        let args = [
            frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
        ];
        let mut ctx = Context { mem, before_output };
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
                None => Return(-errno::ENOSYS),
            },
        }
    }
}

/// The errno for a host I/O error on program output.
pub fn io_errno(e: &std::io::Error) -> i64 {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => errno::EPIPE,
        _ => e.raw_os_error().map_or(errno::EIO, i64::from),
    }
}
