//! Path resolution in the file view, over a scratch tree of hostile symlinks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| microvm_fuzz::view_paths(data));
