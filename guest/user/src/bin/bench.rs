//! The benchmark loop: argv[1] times getppid(), then exit 0. Under a
//! benchmark kernel mode getppid takes the short path being measured.
//! With argv[2] `clock`: argv[1] times clock_gettime(CLOCK_MONOTONIC)
//! through the vDSO instead (exit 1 if there is none).
#![no_std]
#![no_main]

use microvm_user::{nr, syscall0, vdso_symbol, Args};

/// getppid(2): the syscall the benchmark modes answer on their short paths.
const GETPPID: u64 = nr::GETPPID;

#[no_mangle]
fn program_main(args: Args) -> i32 {
    let n = args.get(1).map_or(0, |s| {
        s.iter()
            .take_while(|c| c.is_ascii_digit())
            .fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'))
    });
    if args.get(2) == Some(b"clock") {
        return clock_loop(&args, n);
    }
    for _ in 0..n {
        syscall0(GETPPID);
    }
    0
}

/// `CLOCK_MONOTONIC`.
const CLOCK_MONOTONIC: i32 = 1;

/// clock_gettime's type in the vDSO.
type ClockGettime = extern "C" fn(i32, *mut [i64; 2]) -> i32;

/// `n` calls of the vDSO's clock_gettime(CLOCK_MONOTONIC).
fn clock_loop(args: &Args, n: u64) -> i32 {
    let Some(f) = vdso_symbol(args, b"__vdso_clock_gettime") else {
        return 1;
    };
    // SAFETY: the vDSO's __vdso_clock_gettime has this C signature.
    let f: ClockGettime = unsafe { core::mem::transmute(f as usize) };
    let mut ts = [0i64; 2];
    for _ in 0..n {
        if f(CLOCK_MONOTONIC, &mut ts) != 0 {
            return 2;
        }
    }
    0
}
