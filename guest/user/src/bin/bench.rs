//! The benchmark loop: argv[1] times getppid(), then exit 0. Under a
//! benchmark kernel mode getppid takes the short path being measured.
#![no_std]
#![no_main]

use microvm_user::{nr, syscall0, Args};

/// getppid(2): the syscall the benchmark modes answer on their short paths.
const GETPPID: u64 = nr::GETPPID;

#[no_mangle]
fn program_main(args: Args) -> i32 {
    let n = args.get(1).map_or(0, |s| {
        s.iter()
            .take_while(|c| c.is_ascii_digit())
            .fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'))
    });
    for _ in 0..n {
        syscall0(GETPPID);
    }
    0
}
