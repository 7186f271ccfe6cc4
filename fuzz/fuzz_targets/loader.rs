//! The program loader (ELF or flat) on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| microvm_fuzz::loader(data));
