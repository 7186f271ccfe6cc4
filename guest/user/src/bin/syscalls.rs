//! Exercises every syscall the host serves, and the ways a syscall can be
//! refused, in a fixed order the integration test checks one by one:
//!
//! 1. getpid getppid gettid getuid geteuid getgid getegid
//! 2. write(2, "to stderr\n")                 -> 10, on microvm's stderr
//! 3. write(1, <12288-byte pattern>)          -> 12288, every byte
//! 4. write(5, "x", 1)                        -> EBADF
//! 5. write(1, NULL + 8, 16)                  -> EFAULT (null page)
//! 6. write(1, <kernel shared page>, 8)       -> EFAULT (supervisor page)
//! 7. write(1, <last 4 stack bytes>, 8)       -> EFAULT (runs off the map)
//! 8. write(1, <non-canonical>, 1)            -> EFAULT
//! 9. write(1, <text>, u64::MAX)              -> EFAULT (huge length)
//! 10. fork()                                 -> ENOSYS (one process only)
//! 11. syscall 1000                           -> ENOSYS (no such syscall)
//! 12. exit(3)                                -> microvm exits 3
#![no_std]
#![no_main]

use microvm_user::{nr, syscall, syscall0, write, write_raw};

/// 3 pages of a recognisable pattern: byte i is i % 251.
static PATTERN: [u8; 12288] = {
    let mut p = [0u8; 12288];
    let mut i = 0;
    while i < p.len() {
        p[i] = (i % 251) as u8;
        i += 1;
    }
    p
};

#[no_mangle]
fn program_main(_args: microvm_user::Args) -> i32 {
    for n in [
        nr::GETPID,
        nr::GETPPID,
        nr::GETTID,
        nr::GETUID,
        nr::GETEUID,
        nr::GETGID,
        nr::GETEGID,
    ] {
        syscall0(n);
    }
    write(2, b"to stderr\n");
    write(1, &PATTERN);
    write(5, b"x");
    write_raw(1, 8, 16);
    write_raw(1, 0xffff_ffff_8000_4000, 8);
    write_raw(1, 0x7fff_ffff_effc, 8);
    write_raw(1, 0x8000_0000_0000, 1);
    write_raw(1, 0x40_0000, u64::MAX);
    syscall0(nr::FORK);
    syscall0(1000);
    // SAFETY: exit takes an integer.
    unsafe { syscall(nr::EXIT, [3, 0, 0, 0, 0, 0]) };
    0
}
