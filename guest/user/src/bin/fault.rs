//! Does one thing that ends a ring-3 program badly, chosen by argv[1], so
//! the tests can check each transition microvm logs and how the run ends:
//!
//! read-unmapped write-ro exec-nx read-kernel hlt cli wrmsr in out
//! noncanonical ud2 div0 int3 single-step alignment x87 simd stack
//! spin (loops forever without a syscall) jump-lstar ADDR (jumps to the
//! kernel's SYSCALL entry from ring 3) knock (writes "once\n", then knocks
//! on the hypercall port) knock-in knock-f1 knock-f2 knock-f3 (the syscall
//! ports) port-3f8 flood (writes forever).
#![no_std]
#![no_main]

use core::arch::asm;
use microvm_user::{write, Args};

/// A read-only byte in .rodata.
static RODATA: u8 = 7;

fn parse_hex(s: &[u8]) -> u64 {
    let s = s.strip_prefix(b"0x").unwrap_or(s);
    s.iter().fold(0, |v, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => 0,
        };
        (v << 4) | d as u64
    })
}

#[no_mangle]
fn program_main(args: Args) -> i32 {
    let what = args.get(1).unwrap_or(b"");
    // SAFETY (for every block below): each one deliberately raises an
    // exception in ring 3 (or spins); none returns into Rust code with
    // broken state, since the program ends at the exception.
    unsafe {
        match what {
            b"read-unmapped" => asm!("mov rax, [0x10000000]", out("rax") _),
            b"write-ro" => asm!("mov byte ptr [{}], 1", in(reg) &RODATA),
            b"exec-nx" => {
                let stack_code = [0xc3u8; 4];
                asm!("call {}", in(reg) stack_code.as_ptr());
            }
            b"read-kernel" => asm!("mov rax, [{}]", in(reg) 0xffff_ffff_8000_4000u64, out("rax") _),
            b"hlt" => asm!("hlt"),
            b"cli" => asm!("cli"),
            b"wrmsr" => asm!("wrmsr", in("ecx") 0xc000_0082u32, in("eax") 0, in("edx") 0),
            b"in" => asm!("in al, dx", in("dx") 0x60u16, out("al") _),
            b"out" => asm!("out dx, al", in("dx") 0x80u16, in("al") 0u8),
            b"noncanonical" => asm!("mov rax, [{}]", in(reg) 0x8000_0000_0000u64, out("rax") _),
            b"ud2" => asm!("ud2"),
            b"div0" => {
                asm!("div rcx", in("rcx") 0u64, inout("rax") 1u64 => _, inout("rdx") 0u64 => _)
            }
            b"int3" => asm!("int3"),
            b"single-step" => asm!("pushfq", "or qword ptr [rsp], 0x100", "popfq", "nop", "nop",),
            b"alignment" => asm!(
                "pushfq",
                "or qword ptr [rsp], 0x40000",
                "popfq",
                "mov rax, [rsp + 1]",
                out("rax") _,
            ),
            b"x87" => {
                // Unmask zero-divide in the x87 control word, divide by zero,
                // and let the next x87 instruction report it (#MF).
                let cw: u16 = 0x037b;
                asm!(
                    "fninit",
                    "fldcw [{cw}]",
                    "fld1",
                    "fldz",
                    "fdivp st(1), st",
                    "fwait",
                    cw = in(reg) &cw,
                );
            }
            b"simd" => {
                // Unmask SIMD zero-divide in MXCSR and divide by zero (#XM).
                let mxcsr: u32 = 0x1f80 & !(1 << 9);
                let one: f32 = 1.0;
                let zero: f32 = 0.0;
                asm!(
                    "ldmxcsr [{m}]",
                    "movss xmm0, [{one}]",
                    "divss xmm0, [{zero}]",
                    m = in(reg) &mxcsr,
                    one = in(reg) &one,
                    zero = in(reg) &zero,
                    out("xmm0") _,
                );
            }
            b"stack" => asm!(
                "mov rsp, {}",
                "push rax",
                in(reg) 0x8000_0000_0010u64,
            ),
            b"spin" => loop {
                asm!("pause");
            },
            b"jump-lstar" => {
                let target = parse_hex(args.get(2).unwrap_or(b"0"));
                asm!("jmp {}", in(reg) target);
            }
            b"knock" => {
                write(1, b"once\n");
                // The frame in the shared page still holds that write; a
                // host that took this knock for a hypercall would repeat it.
                asm!("out dx, eax", in("dx") 0x510u16, in("eax") 1u32);
            }
            b"knock-in" => asm!("in eax, dx", in("dx") 0x510u16, out("eax") _),
            // The syscall ports, with registers that would make a write of
            // "once\n" if the host took the knock for a syscall.
            b"knock-f1" | b"knock-f2" | b"knock-f3" => {
                let msg = b"once\n";
                let port = what[7] - b'0';
                match port {
                    1 => {
                        asm!("out 0xf1, al", in("rax") 1u64, in("rdi") 1u64, in("rsi") msg.as_ptr(), in("rdx") msg.len())
                    }
                    2 => {
                        asm!("out 0xf2, al", in("rax") 1u64, in("rdi") 1u64, in("rsi") msg.as_ptr(), in("rdx") msg.len())
                    }
                    _ => asm!("out 0xf3, al", in("rax") 110u64),
                }
            }
            b"port-3f8" => asm!("out dx, al", in("dx") 0x3f8u16, in("al") b'x'),
            b"flood" => loop {
                write(
                    1,
                    b"flood flood flood flood flood flood flood flood flood flood\n",
                );
            },
            _ => {
                write(2, b"fault: unknown kind\n");
                return 2;
            }
        }
    }
    write(2, b"fault: survived\n");
    1
}
