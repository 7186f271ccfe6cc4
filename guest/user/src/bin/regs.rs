//! Loads a distinct, known value into every general register and executes
//! SYSCALL (getpid), then prints on stdout the address of the instruction
//! after SYSCALL and the RFLAGS it ran with, and exits 0. The test checks
//! that the JSON trace shows exactly these values: rax = 39, rbx = 0x1111...,
//! ..., rsp = 0x7ffffffe7ff8, rcx = that address, r11 = those RFLAGS.
#![no_std]
#![no_main]

use microvm_user::{fmt_hex, write};

#[no_mangle]
fn program_main(_args: microvm_user::Args) -> i32 {
    let rflags: u64;
    let after: u64;
    // SAFETY: every register the block changes is either an output, a
    // clobber, or saved and restored (rbx, rbp, r12-r15, rsp); the stack it
    // switches to lies inside the program's stack mapping, below anything
    // in use; getpid takes no arguments and touches no memory.
    unsafe {
        core::arch::asm!(
            "push rbx",
            "push rbp",
            "push r12",
            "push r13",
            "push r14",
            "push r15",
            "mov r11, rsp",
            "mov rsp, 0x7ffffffe8008",
            "push r11",
            "stc",
            "pushfq",
            "mov rax, 39",
            "mov rbx, 0x1111111111111111",
            "mov rcx, 0x2222222222222222",
            "mov rdx, 0x3333333333333333",
            "mov rsi, 0x4444444444444444",
            "mov rdi, 0x5555555555555555",
            "mov rbp, 0x6666666666666666",
            "mov r8, 0x8888888888888888",
            "mov r9, 0x9999999999999999",
            "mov r10, 0xaaaaaaaaaaaaaaaa",
            "mov r11, 0xbbbbbbbbbbbbbbbb",
            "mov r12, 0xcccccccccccccccc",
            "mov r13, 0xdddddddddddddddd",
            "mov r14, 0xeeeeeeeeeeeeeeee",
            "mov r15, 0xffffffffffffffff",
            "syscall",
            "2:",
            "lea rcx, [rip + 2b]",
            "pop rax",
            "pop rsp",
            "pop r15",
            "pop r14",
            "pop r13",
            "pop r12",
            "pop rbp",
            "pop rbx",
            out("rax") rflags, out("rcx") after, out("rdx") _, out("rsi") _,
            out("rdi") _, out("r8") _, out("r9") _, out("r10") _, out("r11") _,
        );
    }
    let mut buf = [0u8; 16];
    write(1, b"after=0x");
    write(1, fmt_hex(after, &mut buf));
    write(1, b" rflags=0x");
    write(1, fmt_hex(rflags, &mut buf));
    write(1, b"\n");
    0
}
