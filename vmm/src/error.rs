//! The library's errors. Each says what went wrong and, where there is one,
//! what to do about it; the CLI prints it as one line and exits 1.

use std::path::PathBuf;

/// Everything that can stop microvm before or while it runs a guest.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `/dev/kvm` does not exist.
    #[error("/dev/kvm not found: this host has no KVM (load kvm_intel, kvm_amd or kvm_pvm, or run on a host that has it)")]
    NoKvm,
    /// `/dev/kvm` exists but may not be opened.
    #[error(
        "permission denied opening /dev/kvm: add your user to the 'kvm' group (or run as root)"
    )]
    KvmPermission,
    /// Any other failure to open `/dev/kvm`.
    #[error("cannot open /dev/kvm: {0}")]
    KvmOpen(#[source] kvm_ioctls::Error),
    /// A KVM ioctl failed while setting up the VM.
    #[error("KVM refused {what}: {source}")]
    Kvm {
        /// The operation.
        what: &'static str,
        /// The errno.
        #[source]
        source: kvm_ioctls::Error,
    },
    /// Guest memory could not be created.
    #[error("cannot allocate {size} bytes of guest memory: {reason}")]
    Memory {
        /// Requested size.
        size: u64,
        /// Why.
        reason: String,
    },
    /// `--memory` is out of range.
    #[error("--memory {0}: {1}")]
    MemorySize(u64, &'static str),
    /// `--gdb`: the address cannot be listened on, or the session failed.
    #[error("--gdb: {what}: {source}")]
    Gdb {
        /// What failed ("cannot listen on 127.0.0.1:1234").
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file (program or kernel) could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The program image is not something microvm can run.
    #[error("cannot run {path}: {reason}")]
    BadProgram {
        /// The file.
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// The kernel image is not a microvm kernel.
    #[error("cannot use kernel {path}: {reason}")]
    BadKernel {
        /// The file (or "built-in").
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// Guest memory ran out while laying out the guest.
    #[error("guest memory is too small for {0}: give more with --memory")]
    OutOfGuestMemory(&'static str),
    /// A guest memory access the VMM made failed (a VMM bug or a hostile kernel).
    #[error("guest memory access at {addr:#x} failed: {reason}")]
    GuestMemory {
        /// Guest-physical address.
        addr: u64,
        /// Why.
        reason: String,
    },
    /// The trace output could not be opened or written.
    #[error("trace output {path}: {source}")]
    TraceOutput {
        /// Where the trace was going.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The `--fs-root` directory cannot serve as the program's file view.
    #[error("--fs-root {path}: {reason}")]
    FsRoot {
        /// The directory given.
        path: PathBuf,
        /// Why it cannot be used, and what to do.
        reason: String,
    },
    /// The supervisor (signals, timeout, vCPU thread) failed.
    #[error("{0}: {1}")]
    Supervisor(&'static str, #[source] std::io::Error),
    /// Confining the process (seccomp filters, limits) failed.
    #[error("seccomp: {what}: {reason}")]
    Seccomp {
        /// The step.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The guest kernel stopped in a way a working kernel never does.
    #[error("guest kernel failure: {0}")]
    Kernel(String),
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A KVM ioctl failure during set-up.
    pub fn kvm(what: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> Error {
        move |source| Error::Kvm { what, source }
    }
}
