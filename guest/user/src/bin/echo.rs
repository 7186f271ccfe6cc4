//! Writes its arguments (argv[1..]) separated by spaces, then a newline.
#![no_std]
#![no_main]

use microvm_user::write;

#[no_mangle]
fn program_main(args: microvm_user::Args) -> i32 {
    for i in 1..args.len() {
        if i > 1 {
            write(1, b" ");
        }
        if let Some(arg) = args.get(i) {
            write(1, arg);
        }
    }
    write(1, b"\n");
    0
}
