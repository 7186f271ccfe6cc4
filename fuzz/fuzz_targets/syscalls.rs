//! The syscall service and the trace on arbitrary syscalls over an arbitrary guest memory image.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| microvm_fuzz::syscalls(data));
