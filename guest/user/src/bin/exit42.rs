//! Exits with status 42 at once: the exit status must pass through microvm.
#![no_std]
#![no_main]

#[no_mangle]
fn program_main(_args: microvm_user::Args) -> i32 {
    42
}
