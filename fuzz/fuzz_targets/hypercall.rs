//! The hypercall decoder on an arbitrary shared page.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| microvm_fuzz::hypercall(data));
