//! microvm: a KVM micro-VM that runs a program in ring 3 of a long-mode
//! guest, on a tiny guest kernel, and traces every user->kernel transition
//! with the full register state.
//!
//! The pieces, in the order a run uses them:
//! [`memory`] (guest RAM), [`arch`] (page tables, GDT/TSS, control
//! registers and MSRs), [`loader`] (kernel and program images), [`vm`] (the
//! KVM VM, the vCPU and its run loop, which dispatches hypercalls),
//! [`syscall`] (the host syscall service), [`seccomp`] (the confinement
//! of the run), [`usermem`] (checked access to
//! guest pointers), [`trace`] (the trace writer) and [`exception`].

pub mod arch;
pub mod bench;
pub mod error;
pub mod exception;
pub mod gdb;
pub mod hypercall;
pub mod info;
pub mod loader;
pub mod memory;
pub mod seccomp;
pub mod space;
pub mod stop;
pub mod supervisor;
pub mod syscall;
pub mod trace;
pub mod usermem;
pub mod vdso;
pub mod vm;

pub use error::{Error, Result};

/// The guest kernel built from `guest/kernel`, embedded at build time.
pub static BUILTIN_KERNEL: &[u8] = include_bytes!(env!("MICROVM_KERNEL_PATH"));

/// Directory holding the ring-3 programs built from `guest/user` (ELF and
/// flat `.bin`), for tests and benchmarks.
pub const GUEST_PROGRAMS_DIR: &str = env!("MICROVM_GUEST_DIR");
