//! The host syscall service: what the host does for each syscall a program
//! makes. A single-process guest: pid 1, no parent (ppid 0), thread id 1,
//! uid/gid 0. File descriptors 0, 1 and 2 are microvm's own stdin, stdout
//! and stderr; files come from a read-only view of a host directory (the
//! host's `/` by default, `--fs-root DIR`, none with `--no-fs`). Everything
//! not served answers -ENOSYS (and is logged by the trace).
//!
//! Submodules serve families of syscalls: [`mm`] memory, [`fs`] file
//! descriptors and files (through [`view`]), [`misc`] the system, time,
//! randomness and limits. Every handler answers a [`SysResult`], the value
//! or the errno; a module's `handle` answers `None` for a number that is
//! not one of its own. [`SyscallService::handle`] alone turns the answer
//! into what rax gets (a [`Disposition`]). [`linux`] holds the x86-64 Linux
//! struct layouts and flags they and the trace share.

pub mod fs;
pub mod futex;
pub mod linux;
pub mod misc;
pub mod mm;
pub mod pipe;
pub mod poll;
pub mod procself;
pub mod rseq;
pub mod sigframe;
pub mod signal;
pub mod view;

use crate::memory::GuestRam;
use crate::space::AddressSpace;
use crate::stop::StopHandle;
use crate::usermem::UserMemory;
use microvm_abi::TrapFrame;
use nix::errno::Errno;
use std::io::Write;
use std::path::Path;

/// Linux x86-64 syscall numbers served here (shared with the guest's
/// programs through the ABI crate).
pub use microvm_abi::linux::nr;

/// The process id the guest program has.
pub const GUEST_PID: libc::pid_t = 1;

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
    /// The syscall waits for something that can never happen in this one
    /// single-threaded process (an untimed futex wait no other thread can
    /// wake, a read of an empty pipe whose write end only this process
    /// holds, a poll with no timeout on descriptors none of which can
    /// become ready): the run ends rather than hang. The text says why; it
    /// follows the call in microvm's last line (see [`Context::waits_forever`]).
    WaitsForever(&'static str),
}

impl From<SysResult> for Disposition {
    /// The value rax gets: the value, or the negated errno. A syscall
    /// served here fails with EPIPE only where it wrote to a pipe with no
    /// reader, which raises SIGPIPE, as on Linux.
    fn from(r: SysResult) -> Self {
        match r {
            Ok(v) => Disposition::Return(v as i64),
            Err(Errno::EPIPE) => {
                Disposition::Killed(-(Errno::EPIPE as i64), crate::exception::Signal::SIGPIPE)
            }
            Err(e) => Disposition::Return(-(e as i64)),
        }
    }
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
    /// Set by [`Context::waits_forever`]: the call never returns.
    pub forever: Option<&'static str>,
}

impl Context<'_, '_> {
    /// The answer of a call that would wait for ever: nothing in this
    /// process can end the wait (no other thread, no signal that can
    /// arrive). The service turns the call into
    /// [`Disposition::WaitsForever`], which ends the run with one line,
    /// `microvm: the program waits forever: CALL WHY`; `why` reads after
    /// the call, e.g. "with no other thread to wake it". The errno
    /// returned is never seen by the program.
    pub fn waits_forever(&mut self, why: &'static str) -> SysResult {
        self.forever = Some(why);
        Err(Errno::EINTR)
    }
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
    modules: Modules,
    stop: Option<StopHandle>,
    signals: signal::Signals,
}

/// The families of syscalls, each served by its module.
struct Modules {
    files: fs::Files,
    memory: mm::Memory,
    misc: misc::Misc,
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
            modules: Modules {
                files: fs::Files::new(stdout, stderr),
                memory: mm::Memory::default(),
                misc: misc::Misc::default(),
            },
            stop: None,
            signals: signal::Signals::default(),
        }
    }

    /// The process's signal state.
    pub fn signals(&self) -> &signal::Signals {
        &self.signals
    }

    /// The process's signal state, to change (delivery, rt_sigreturn).
    pub fn signals_mut(&mut self) -> &mut signal::Signals {
        &mut self.signals
    }

    /// Serve files from a read-only view of the host directory `dir`
    /// (`/` by default, `--fs-root DIR`), the working directory microvm's
    /// own when it lies inside `dir` (else `dir` itself, the view's "/");
    /// without a view (`--no-fs`), every path lookup fails with ENOENT.
    pub fn with_fs_root(mut self, dir: &Path) -> crate::Result<Self> {
        self.modules.files.set_view(view::View::new(dir)?);
        Ok(self)
    }

    /// The descriptor every path lookup starts from: the root of the file
    /// view, if there is one (`--fs-root`).
    pub fn view_root(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.modules.files.view_root()
    }

    /// The file view, if there is one (a dynamic program's interpreter is
    /// opened from it).
    pub fn view(&self) -> Option<&view::View> {
        self.modules.files.view()
    }

    /// The program's path, which readlink("/proc/self/exe") tells (made
    /// absolute and resolved, as Linux does).
    pub fn with_exe_path(mut self, path: &Path) -> Self {
        self.modules.files.set_exe_path(path);
        self
    }

    /// The guest's argv (`argv[0]` first) and environment, which its
    /// /proc/self/cmdline and environ show.
    pub fn with_start(mut self, argv: &[String], envp: &[String]) -> Self {
        let process = procself::GuestProcess {
            argv: argv.to_vec(),
            envp: envp.to_vec(),
            comm: None,
        };
        self.modules.misc.set_comm(&procself::comm(&process));
        self.modules.files.set_process(process);
        self
    }

    /// Read what microvm's own fd 0, 1 and 2 are, which `-y` shows for the
    /// program's (call before the seccomp filters are installed).
    pub fn with_stdio_paths(mut self) -> Self {
        self.modules.files.read_stdio_paths();
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
        if matches!(frame.rax, nr::EXIT | nr::EXIT_GROUP) {
            return Disposition::Exit((frame.rdi & 0xff) as i32);
        }
        let mut ctx = Context {
            mem: guest.mem,
            before_output,
            ram: guest.ram,
            space: guest.space,
            requests: guest.requests,
            stop: self.stop.as_ref(),
            forever: None,
        };
        let args = frame.syscall_args();
        let r = match self.signals.handle(frame.rax, &args, frame.rsp, &mut ctx) {
            Some(r) => r,
            None => self.modules.serve(frame.rax, &args, &mut ctx),
        };
        match ctx.forever {
            Some(why) => Disposition::WaitsForever(why),
            None => r.into(),
        }
    }
}

impl Modules {
    /// Serve syscall `nr` with the arguments `a`: the module whose it is
    /// answers, ENOSYS if none.
    fn serve(&mut self, nr: u64, a: &[u64; 6], ctx: &mut Context<'_, '_>) -> SysResult {
        match nr {
            nr::GETPID | nr::GETTID => return Ok(GUEST_PID as u64),
            nr::GETPPID => return Ok(0),
            nr::FUTEX => return futex::futex(ctx, a),
            nr::GETUID | nr::GETEUID | nr::GETGID | nr::GETEGID => return Ok(0),
            _ => {}
        }
        if let Some(r) = self.memory.handle(nr, a, ctx, &self.files) {
            return r;
        }
        if let Some(r) = self.files.handle(nr, a, ctx) {
            return r;
        }
        if let Some(r) = self.misc.handle(nr, a, ctx) {
            if matches!(nr, nr::PRLIMIT64 | nr::SETRLIMIT) {
                self.files.set_fd_limit(self.misc.fd_limit());
            }
            if nr == nr::PRCTL {
                self.files.set_comm(self.misc.comm());
            }
            return r;
        }
        Err(Errno::ENOSYS)
    }
}

/// A syscall's result: the value, or the errno it fails with. Every
/// handler of the service answers one; [`Disposition`]'s `From` makes it
/// the value rax gets.
pub type SysResult = Result<u64, Errno>;

/// The errno for a host I/O error on program output: its own, EPIPE for a
/// broken pipe, EIO where it has none.
pub fn io_errno(e: &std::io::Error) -> Errno {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Errno::EPIPE;
    }
    match e.raw_os_error().map(Errno::from_raw) {
        Some(Errno::UnknownErrno) | None => Errno::EIO,
        Some(errno) => errno,
    }
}

impl crate::trace::style::FdTable for SyscallService {
    fn fd_path(&self, fd: i32, out: &mut Vec<u8>) -> bool {
        self.modules.files.fd_path(fd, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::paging::{PageFlags, PageTables};
    use crate::exception::Signal;
    use crate::memory::FrameAllocator;
    use microvm_abi::layout::{MIN_MEMORY, PAGE_SIZE};

    /// Where the test's guest page is.
    const BUF: u64 = 0x1000_0000;

    /// A writer that fails as a pipe with no reader does.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// fd 1 a closed pipe, fd 2 a sink.
    fn service() -> SyscallService {
        SyscallService::new(Box::new(ClosedPipe), Box::new(std::io::sink()))
    }

    /// Serve `nr(a...)` with one page mapped at [`BUF`], holding `page`.
    fn call_with(s: &mut SyscallService, page: &[u8], nr: u64, a: [u64; 6]) -> Disposition {
        let ram = GuestRam::new(MIN_MEMORY).unwrap();
        let mut space = AddressSpace::new(PageTables::new(), FrameAllocator::new(MIN_MEMORY));
        space
            .map(&ram, BUF, BUF + PAGE_SIZE, PageFlags::USER_RW)
            .unwrap();
        space.copy_in(&ram, BUF, page).unwrap();
        let mem = UserMemory::new(&ram, space.tables().root());
        let mut requests = KernelRequests::default();
        let guest = Guest {
            mem: &mem,
            ram: &ram,
            space: &mut space,
            requests: &mut requests,
        };
        s.handle(guest, &TrapFrame::syscall(nr, a), &mut || {})
    }

    fn call(s: &mut SyscallService, nr: u64, a: [u64; 6]) -> Disposition {
        call_with(s, b"", nr, a)
    }

    fn fails(e: Errno) -> Disposition {
        Disposition::Return(-(e as i64))
    }

    #[test]
    fn a_result_becomes_rax_the_value_or_the_negated_errno() {
        assert_eq!(Disposition::from(Ok(7)), Disposition::Return(7));
        // An address in the upper half reads back as the same bits.
        let high = 0xffff_8000_0000_1000u64;
        assert_eq!(
            Disposition::from(Ok(high)),
            Disposition::Return(high as i64)
        );
        assert_eq!(
            Disposition::from(Err(Errno::EBADF)),
            Disposition::Return(-9)
        );
        assert_eq!(
            Disposition::from(Err(Errno::EPIPE)),
            Disposition::Killed(-32, Signal::SIGPIPE)
        );
    }

    #[test]
    fn host_output_errors_keep_their_errno_and_have_one() {
        use std::io::{Error, ErrorKind};
        assert_eq!(io_errno(&Error::from(ErrorKind::BrokenPipe)), Errno::EPIPE);
        assert_eq!(
            io_errno(&Error::from_raw_os_error(libc::EPIPE)),
            Errno::EPIPE
        );
        assert_eq!(
            io_errno(&Error::from_raw_os_error(libc::ENOSPC)),
            Errno::ENOSPC
        );
        assert_eq!(io_errno(&Error::other("no errno")), Errno::EIO);
        // Not an errno Linux has: never "no error".
        assert_eq!(io_errno(&Error::from_raw_os_error(4000)), Errno::EIO);
    }

    #[test]
    fn each_module_answers_its_own_and_nothing_else_is_served() {
        let mut s = service();
        // The ones the service answers itself, and one of each module's.
        assert_eq!(call(&mut s, nr::GETPID, [0; 6]), Disposition::Return(1));
        assert_eq!(call(&mut s, nr::GETPPID, [0; 6]), Disposition::Return(0));
        let unaligned = [BUF + 1, PAGE_SIZE, 0, 0, 0, 0];
        assert_eq!(call(&mut s, nr::MUNMAP, unaligned), fails(Errno::EINVAL));
        assert_eq!(call(&mut s, nr::DUP, [0; 6]), Disposition::Return(3));
        assert_eq!(
            call(&mut s, nr::SET_TID_ADDRESS, [0; 6]),
            Disposition::Return(1)
        );
        // rseq is misc's: no area of length 0.
        assert_eq!(call(&mut s, nr::RSEQ, [0; 6]), fails(Errno::EINVAL));
        // Served by no module.
        for n in [nr::FORK, 1000, u64::MAX] {
            assert_eq!(call(&mut s, n, [0; 6]), fails(Errno::ENOSYS), "{n}");
        }
        let exit = call(&mut s, nr::EXIT_GROUP, [0x1234, 0, 0, 0, 0, 0]);
        assert_eq!(exit, Disposition::Exit(0x34));
    }

    #[test]
    fn a_write_to_a_closed_pipe_kills_with_sigpipe_and_other_failures_return() {
        let epipe = Disposition::Killed(-32, Signal::SIGPIPE);
        let mut s = service();
        assert_eq!(call(&mut s, nr::WRITE, [1, BUF, 5, 0, 0, 0]), epipe);
        // writev of one iovec: 5 bytes at BUF + 16.
        let iov: Vec<u8> = [BUF + 16, 5].iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut s = service();
        assert_eq!(
            call_with(&mut s, &iov, nr::WRITEV, [1, BUF, 1, 0, 0, 0]),
            epipe
        );
        // The same calls failing otherwise return.
        assert_eq!(
            call(&mut s, nr::WRITE, [0, BUF, 5, 0, 0, 0]),
            fails(Errno::EBADF)
        );
        assert_eq!(
            call(&mut s, nr::WRITE, [1, 0, 5, 0, 0, 0]),
            fails(Errno::EFAULT)
        );
        // fd 2 writes elsewhere: all of it.
        assert_eq!(
            call(&mut s, nr::WRITE, [2, BUF, 5, 0, 0, 0]),
            Disposition::Return(5)
        );
    }
}
