//! Confining `microvm run`: once the guest is set up (KVM descriptors
//! open, guest memory mapped, the file view's root and the trace output
//! open), each thread installs the smallest seccomp allow-list for what it
//! does from then on ([`table`]; a second filter stacked on it answers the
//! few syscalls the C library tries on its own with an errno), and the
//! process gives up what it does
//! not need: new privileges, core dumps, descriptors beyond what the
//! guest's fd table can hold.
//!
//! Modes (`--seccomp`): [`Mode::Kill`] (default) ends the process on a
//! host syscall outside the list, with one line on stderr naming it
//! ([`sigsys`]); [`Mode::Log`] lets it through and has the kernel log it
//! (`SECCOMP_RET_LOG`: an audit record, type 1326, in the kernel log —
//! `dmesg`, `journalctl -k` — or in the audit log when auditd runs);
//! [`Mode::UnsafeOff`] installs no filter.

mod filter;
#[cfg(feature = "test-hooks")]
mod hooks;
mod process;
mod sigsys;
pub mod table;

use crate::error::{Error, Result};
use seccompiler::{BpfProgram, SeccompAction};
use serde::Serialize;
use std::os::fd::RawFd;
pub use table::Thread;

/// What a host syscall outside the allow-list does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Kill microvm, with one line saying which syscall on which thread.
    #[default]
    Kill,
    /// Allow it, and have the kernel log it (dmesg, or the audit log).
    Log,
    /// No filter at all: unsafe with an untrusted program.
    #[value(name = "unsafe-off")]
    UnsafeOff,
}

/// The filters of one run, compiled before the guest starts, and what the
/// process gives up.
pub struct Confinement {
    mode: Mode,
    vcpu: Option<BpfProgram>,
    supervisor: Option<BpfProgram>,
    /// Stacked on both: what fails with an errno instead.
    refusals: Option<BpfProgram>,
}

fn error(what: &'static str) -> impl Fn(String) -> Error {
    move |reason| Error::Seccomp { what, reason }
}

impl Confinement {
    /// Compile the filters for `mode`; `view_root` is the descriptor of the
    /// file view's root (`--fs-root`), the only directory openat2 may
    /// start from; `gdb` adds what serving gdb takes (`--gdb`).
    pub fn new(mode: Mode, view_root: Option<RawFd>, gdb: bool) -> Result<Confinement> {
        let ctx = filter::Context {
            view_root,
            kick_signal: crate::stop::kick_signal(),
            gdb,
        };
        let mismatch = match mode {
            Mode::Kill => SeccompAction::Trap,
            Mode::Log => SeccompAction::Log,
            Mode::UnsafeOff => {
                return Ok(Confinement {
                    mode,
                    vcpu: None,
                    supervisor: None,
                    refusals: None,
                })
            }
        };
        let compile = |thread| {
            filter::compile(thread, &ctx, mismatch.clone()).map_err(error("compiling the filter"))
        };
        Ok(Confinement {
            mode,
            vcpu: Some(compile(Thread::Vcpu)?),
            supervisor: Some(compile(Thread::Supervisor)?),
            refusals: Some(filter::compile_refusals().map_err(error("compiling the filter"))?),
        })
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What the whole process gives up once set-up is done, before the
    /// vCPU thread starts: new privileges, core dumps, descriptors beyond
    /// microvm's own and `guest_fds`.
    pub fn lock_down(&self, guest_fds: u64) -> Result<()> {
        let io = |what| {
            move |e: std::io::Error| Error::Seccomp {
                what,
                reason: e.to_string(),
            }
        };
        process::no_new_privs().map_err(io("PR_SET_NO_NEW_PRIVS"))?;
        process::no_core_dumps().map_err(io("turning core dumps off"))?;
        process::limit_fds(guest_fds).map_err(io("limiting RLIMIT_NOFILE"))?;
        Ok(())
    }

    /// Install `thread`'s filter, and the refusals on top of it, on the
    /// calling thread (nothing with [`Mode::UnsafeOff`]). They stay for the
    /// thread's life.
    pub fn enter(&self, thread: Thread) -> Result<()> {
        let program = match thread {
            Thread::Vcpu => &self.vcpu,
            Thread::Supervisor => &self.supervisor,
        };
        if let (Some(program), Some(refusals)) = (program, &self.refusals) {
            if self.mode == Mode::Kill {
                // The process-wide handler that reports a refused syscall.
                sigsys::install()
                    .map_err(|e| error("installing the SIGSYS handler")(e.to_string()))?;
            }
            sigsys::set_role(thread);
            // The refusals first: they let through the prctl and seccomp
            // calls that install the allow-list, which does not.
            for p in [refusals, program] {
                seccompiler::apply_filter(p)
                    .map_err(|e| error("installing the filter")(e.to_string()))?;
            }
        }
        #[cfg(feature = "test-hooks")]
        hooks::after_enter(thread);
        Ok(())
    }
}

/// One line of an allow-list, as `microvm info` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// The thread: "vcpu", "supervisor" or "both".
    pub thread: &'static str,
    /// The host syscall's name.
    pub syscall: &'static str,
    /// Its number.
    pub nr: i64,
    /// What its arguments may be.
    pub args: String,
    /// Why microvm makes it.
    pub why: &'static str,
}

/// Every allow-list, in filter order: the vCPU's, the supervisor's, then
/// what both threads may do.
pub fn rules() -> Vec<Rule> {
    let rows = |thread: &'static str, entries: &'static [table::Allowed]| {
        entries.iter().map(move |e| Rule {
            thread,
            syscall: table::syscall_name(e.nr),
            nr: e.nr,
            args: e.args.describe(),
            why: e.why,
        })
    };
    let refused = table::REFUSED.iter().map(|e| Rule {
        thread: "both",
        syscall: table::syscall_name(e.nr),
        nr: e.nr,
        args: format!("never made: fails with {}", table::REFUSED_ERRNO_NAME),
        why: e.why,
    });
    rows("vcpu", table::VCPU)
        .chain(rows("supervisor", table::SUPERVISOR))
        .chain(rows("both", table::BOTH))
        .chain(refused)
        .collect()
}
