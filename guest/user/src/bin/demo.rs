//! `guest.bin`: a first look at the user/kernel boundary. It writes a
//! greeting, asks for its pid, dup(1)s its stdout (fd 3), makes a write with
//! a bad pointer (EFAULT), and exits 0. Run it with
//! `microvm run guest.bin` and read the trace on stderr.
#![no_std]
#![no_main]

use microvm_user::{fmt_i64, nr, syscall0, syscall1, write, write_raw};

#[no_mangle]
fn program_main(_args: microvm_user::Args) -> i32 {
    write(
        1,
        b"Hello from ring 3! Each trace line on stderr is one trip into the kernel.\n",
    );
    let pid = syscall0(nr::GETPID);
    let mut line = [0u8; 64];
    let prefix = b"getpid() says I am pid ";
    let mut digits = [0u8; 20];
    let digits = fmt_i64(pid, &mut digits);
    line[..prefix.len()].copy_from_slice(prefix);
    line[prefix.len()..prefix.len() + digits.len()].copy_from_slice(digits);
    let len = prefix.len() + digits.len();
    line[len] = b'\n';
    write(1, &line[..len + 1]);
    syscall1(nr::DUP, 1);
    // Address 8 is in the never-mapped null page: the kernel answers EFAULT.
    write_raw(1, 8, 16);
    0
}
