//! The Linux x86-64 ABI both sides of microvm use: the syscall table (the
//! host serves and traces the calls, the ring-3 programs in `guest/user`
//! make them), the constants and their names.

// Generated (scripts/gen-linux-consts); its layout is the generator's.
#[rustfmt::skip]
pub mod consts;
pub mod syscalls;
pub mod xlat;

pub use syscalls::nr;
