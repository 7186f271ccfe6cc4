//! A hostile ring-3 program: it tries one way out of ring 3, chosen by
//! argv[1], so that tests/hostile.rs can check that each one ends as the
//! fault Linux would make of it and never reaches ring 0.
//!
//! * `compat-syscall [page0 | alias ENTRY]`: IRETQ to CS = the user *data*
//!   selector (hardware refuses it with #GP; KVM-PVM resumes in 32-bit
//!   compatibility mode), then SYSCALL from there, which enters CSTAR. With
//!   `page0` it first maps page 0 and puts a ring-0 payload there that
//!   forges a kernel panic whose text paints a fake end of run (CSTAR was
//!   0); with `alias ENTRY` it tries the same on the page where the VMM
//!   maps the kernel's CSTAR stub, at ENTRY's offset in its page.
//! * `compat-ud`, `compat-sysenter`: the same mode switch, then `ud2` or
//!   `sysenter`. `far-jmp`, `far-call`, `retf`: reach the same mode by a
//!   far transfer instead, then SYSCALL.
//! * `iret CS`: IRETQ to code selector CS (hex), e.g. 0x8 (ring 0).
//! * `sysenter`: SYSENTER in 64-bit mode.
//! * `priv NAME`: one privileged instruction (see [`PRIVILEGED`]).
//! * `int N`: `int N` (decimal, 0-255).
//! * `port in|out b|w|d PORT`: one port access (PORT in hex).
//! * `load SEG SEL`: load selector SEL (hex) into ds, es, fs, gs or ss.
//! * `jump ADDR`: jump to ADDR (hex).
//! * `tf-syscall`: set TF, then getppid. `tf-movss-syscall`: the same with
//!   `mov ss` just before the SYSCALL, which holds the trap past it.
//!   `compat-tf-syscall`: that in compatibility mode.
//! * `ac-syscall`: set AC, write "ac\n", clear AC, exit 0.
//! * `recurse`: unbounded recursion.
//! * `syscall-flood N`: N times a write of "flood\n" to stdout and an
//!   unknown syscall (2N transitions), then "flooded\n" on stderr, a read
//!   of one byte from stdin (it waits for the end of a pipe), exit 0.
//! * `mmap-fixed ADDR`: mmap(ADDR, 4096, RW, MAP_FIXED|MAP_PRIVATE|
//!   MAP_ANONYMOUS); exits 0 if it returned ADDR, else with -errno.
//! * `mmap-stack`: the same over a page of its own stack below the one in
//!   use, then uses that page; exits 0 if that worked.
//!
//! Whatever survives the instruction it tried writes "survived rax=..." and
//! exits 100.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};
use microvm_abi::linux::consts::{PROT_EXEC, PROT_READ, PROT_WRITE};
use microvm_abi::{frame_offset, layout, selector, Hypercall, Port};
use microvm_user::{fmt_hex, nr, syscall, syscall1, write, Args};

/// A syscall number Linux does not have (ENOSYS).
const UNKNOWN_SYSCALL: u64 = 1000;

/// RFLAGS.TF.
const RFLAGS_TF: u64 = 0x100;

/// Exit status of an attempt that did not fault.
const SURVIVED: i32 = 100;

/// The message the page-0 payload forges: a fake end of the run.
const FORGED: &[u8] = b"\x1b[2K\r+++ exited with 0 +++\n";

/// Names of the privileged instructions in the `privileged_table`, in its
/// order (32 bytes a slot).
const PRIVILEGED: [&[u8]; 44] = [
    b"hlt",
    b"cli",
    b"sti",
    b"lgdt",
    b"lidt",
    b"lldt",
    b"ltr",
    b"mov-cr0",
    b"mov-to-cr0",
    b"mov-cr2",
    b"mov-to-cr2",
    b"mov-cr3",
    b"mov-to-cr3",
    b"mov-cr4",
    b"mov-to-cr4",
    b"mov-cr8",
    b"mov-to-cr8",
    b"mov-dr0",
    b"mov-to-dr0",
    b"mov-dr1",
    b"mov-dr2",
    b"mov-dr3",
    b"mov-dr6",
    b"mov-dr7",
    b"mov-to-dr7",
    b"wrmsr",
    b"rdmsr",
    b"invlpg",
    b"wbinvd",
    b"invd",
    b"in",
    b"out",
    b"swapgs",
    b"sysret",
    b"sysretq",
    b"vmcall",
    b"vmmcall",
    b"clts",
    b"lmsw",
    b"xsetbv",
    b"iretq-ring0",
    b"rdpmc",
    b"monitor",
    b"mwait",
];

global_asm!(
    ".pushsection .text.hostile, \"ax\"",
    // ---- one privileged instruction per 32-byte slot ----
    // On entry rsp points at 16 zero bytes the caller reserved.
    ".balign 32",
    ".global privileged_table",
    "privileged_table:",
    ".macro slot body:vararg",
    ".balign 32",
    "\\body",
    "jmp survived",
    ".endm",
    "slot hlt",
    "slot cli",
    "slot sti",
    "slot lgdt [rsp]",
    "slot lidt [rsp]",
    "slot lldt ax",
    "slot ltr ax",
    "slot mov rax, cr0",
    "slot mov cr0, rax",
    "slot mov rax, cr2",
    "slot mov cr2, rax",
    "slot mov rax, cr3",
    "slot mov cr3, rax",
    "slot mov rax, cr4",
    "slot mov cr4, rax",
    "slot mov rax, cr8",
    "slot mov cr8, rax",
    "slot mov rax, dr0",
    "slot mov dr0, rax",
    "slot mov rax, dr1",
    "slot mov rax, dr2",
    "slot mov rax, dr3",
    "slot mov rax, dr6",
    "slot mov rax, dr7",
    "slot mov dr7, rax",
    "slot wrmsr",
    "slot rdmsr",
    "slot invlpg [rsp]",
    "slot wbinvd",
    "slot invd",
    "slot in al, dx",
    "slot out dx, al",
    "slot swapgs",
    "slot sysret",
    "slot sysretq",
    "slot vmcall",
    "slot vmmcall",
    "slot clts",
    "slot lmsw ax",
    "slot xsetbv",
    // IRETQ to the kernel's code selector: ss, rsp, rflags, cs, rip.
    ".balign 32",
    "push 0x10",
    "push rsp",
    "pushfq",
    "push 0x8",
    "push offset survived",
    "iretq",
    "slot rdpmc",
    "slot .byte 0x0f, 0x01, 0xc8", // monitor
    "slot .byte 0x0f, 0x01, 0xc9", // mwait
    ".balign 32",
    "privileged_table_end:",

    // ---- `int N` for every N, 8 bytes a slot ----
    ".balign 8",
    ".global int_table",
    "int_table:",
    ".set n, 0",
    ".rept 256",
    ".balign 8",
    ".byte 0xcd, n",
    "jmp survived",
    ".set n, n + 1",
    ".endr",

    // ---- SYSENTER in 64-bit mode ----
    ".global sysenter_64",
    "sysenter_64:",
    "    sysenter",
    "    jmp survived",

    // ---- an attempt survived: report rax and exit 100 ----
    "survived:",
    "    mov rdi, rax",
    "    and rsp, -16",
    "    call {survived}",
    "    ud2",

    // ---- 32-bit code, reached through a 32-bit (or data) CS ----
    ".code32",
    "compat_syscall:",
    "    syscall",
    "    ud2",
    "compat_ud:",
    "    ud2",
    "compat_sysenter:",
    "    sysenter",
    "    ud2",
    // Entered with TF set: `mov ss` holds the trap past the SYSCALL.
    "compat_movss_syscall:",
    "    mov ss, eax",
    "    syscall",
    "    ud2",
    ".code64",

    // ---- the ring-0 payload the page-0 variant copies to address 0 ----
    // Entered from CSTAR = 0 in ring 0 (64-bit): proves ring 0 (CR3), then
    // forges a panic through the shared page with the next ticket.
    ".global payload_start",
    "payload_start:",
    "    mov rax, cr3",
    "    lea rsi, [rip + payload_message]",
    "    movabs rdi, {message}",
    "    mov ecx, {forged_len}",
    "    rep movsb",
    "    movabs rdi, {message_len}",
    "    mov qword ptr [rdi], {forged_len}",
    "    movabs rdi, {ticket}",
    "    inc qword ptr [rdi]",
    "    mov dx, {port}",
    "    mov eax, {panic}",
    "    out dx, eax",
    "    hlt",
    "payload_message:",
    ".ascii \"\\033[2K\\r+++ exited with 0 +++\\n\"",
    ".global payload_end",
    "payload_end:",
    ".popsection",
    survived = sym survived,
    message = const layout::kernel_virt(layout::SHARED_PAGE) + microvm_abi::SHARED_MESSAGE_OFFSET as u64,
    message_len = const layout::kernel_virt(layout::SHARED_PAGE) + microvm_abi::SHARED_MESSAGE_LEN_OFFSET as u64,
    ticket = const layout::kernel_virt(layout::SHARED_PAGE) + frame_offset::TICKET as u64,
    forged_len = const FORGED.len(),
    port = const Port::Hypercall as u16,
    panic = const Hypercall::Panic as u32,
);

extern "C" {
    static privileged_table: u8;
    static int_table: u8;
    static compat_syscall: u8;
    static compat_ud: u8;
    static compat_sysenter: u8;
    static compat_movss_syscall: u8;
    static sysenter_64: u8;
    static payload_start: u8;
    static payload_end: u8;
}

/// An attempt did not fault: say so with rax, exit [`SURVIVED`].
extern "C" fn survived(rax: u64) -> ! {
    let mut buf = [0u8; 16];
    write(1, b"survived rax=");
    write(1, fmt_hex(rax, &mut buf));
    write(1, b"\n");
    microvm_user::exit_group(SURVIVED)
}

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

fn parse_dec(s: &[u8]) -> u64 {
    s.iter().fold(0, |v: u64, &c| {
        v.wrapping_mul(10)
            .wrapping_add(u64::from(c.wrapping_sub(b'0')))
    })
}

/// mmap(addr, 4096, prot, MAP_FIXED|MAP_PRIVATE|MAP_ANONYMOUS, -1, 0).
fn mmap_fixed(addr: u64, prot: u64) -> i64 {
    use microvm_abi::linux::consts::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE};
    // SAFETY: an anonymous mapping; the kernel checks the address.
    unsafe {
        syscall(
            nr::MMAP,
            [
                addr,
                4096,
                prot,
                MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
                u64::MAX,
                0,
            ],
        )
    }
}

/// IRETQ to `target` with CS = `cs`, SS = the user data selector, the
/// current RSP and RFLAGS.
///
/// # Safety
/// Never returns to Rust if the switch works; `target` must be code for
/// the mode `cs` selects.
unsafe fn iret_to(cs: u64, target: u64) -> ! {
    // SAFETY: the caller's contract.
    unsafe { iret_with_flags(cs, target, 0) }
}

/// [`iret_to`] with `flags` or-ed into RFLAGS and RAX = the user data
/// selector (for a `mov ss, eax` at `target`).
///
/// # Safety
/// As for [`iret_to`].
unsafe fn iret_with_flags(cs: u64, target: u64, flags: u64) -> ! {
    // SAFETY: the caller's contract.
    unsafe {
        asm!(
            "mov r8, rsp",
            "push {ss}",
            "push r8",
            "pushfq",
            "or [rsp], r9",
            "push rcx",
            "push rdx",
            "iretq",
            ss = const selector::USER_DS,
            in("rcx") cs,
            in("rdx") target,
            in("r9") flags,
            in("rax") u64::from(selector::USER_DS),
            options(noreturn),
        )
    }
}

/// Copy the payload to `page` (mapped RWX first), at `offset` into it.
fn plant_payload(page: u64, offset: u64) {
    const RWX: u64 = PROT_READ | PROT_WRITE | PROT_EXEC;
    let r = mmap_fixed(page, RWX);
    if r != page as i64 {
        write(2, b"hostile: the mapping was refused\n");
        return;
    }
    // SAFETY: page 0 is mapped writable above; the payload lies between
    // the two symbols in this program's text.
    unsafe {
        let start = &raw const payload_start;
        let len = (&raw const payload_end as usize) - (start as usize);
        asm!(
            "rep movsb",
            inout("rsi") start => _,
            inout("rdi") page + offset => _,
            inout("rcx") len => _,
        );
    }
}

fn port(args: &Args) -> ! {
    let dir = args.get(2).unwrap_or(b"");
    let width = args.get(3).unwrap_or(b"");
    let port = parse_hex(args.get(4).unwrap_or(b"0")) as u16;
    let rax: u64;
    // SAFETY: a port access from ring 3 faults (or exits to the VMM, which
    // makes it the same fault); if it does not, nothing is touched.
    unsafe {
        match (dir, width) {
            (b"in", b"b") => asm!("xor eax, eax", "in al, dx", in("dx") port, out("rax") rax),
            (b"in", b"w") => asm!("xor eax, eax", "in ax, dx", in("dx") port, out("rax") rax),
            (b"in", b"d") => asm!("in eax, dx", in("dx") port, out("rax") rax),
            (b"out", b"b") => asm!("out dx, al", in("dx") port, inout("rax") 0x41u64 => rax),
            (b"out", b"w") => asm!("out dx, ax", in("dx") port, inout("rax") 0x41u64 => rax),
            (b"out", b"d") => asm!("out dx, eax", in("dx") port, inout("rax") 0x41u64 => rax),
            _ => {
                write(2, b"hostile: port in|out b|w|d PORT\n");
                microvm_user::exit_group(2)
            }
        }
    }
    survived(rax)
}

fn load(args: &Args) -> ! {
    let sel = parse_hex(args.get(3).unwrap_or(b"0")) as u16;
    // SAFETY: a selector load either faults or changes a segment register
    // the program does not use afterwards (survived() uses none of them).
    unsafe {
        match args.get(2).unwrap_or(b"") {
            b"ds" => asm!("mov ds, {0:x}", in(reg) sel),
            b"es" => asm!("mov es, {0:x}", in(reg) sel),
            b"fs" => asm!("mov fs, {0:x}", in(reg) sel),
            b"gs" => asm!("mov gs, {0:x}", in(reg) sel),
            b"ss" => asm!("mov ss, {0:x}", in(reg) sel),
            _ => {
                write(2, b"hostile: load ds|es|fs|gs|ss SEL\n");
                microvm_user::exit_group(2)
            }
        }
    }
    survived(u64::from(sel))
}

/// Recurse until the stack runs out (`limit` is never reached: the
/// caller passes u64::MAX).
#[inline(never)]
fn recurse(depth: u64, limit: u64) -> u64 {
    let pad = [depth; 32];
    // black_box keeps the frame: the recursion is meant to overflow.
    core::hint::black_box(&pad);
    if depth == limit {
        return depth;
    }
    recurse(depth + 1, limit).wrapping_add(core::hint::black_box(pad[3]))
}

#[no_mangle]
fn program_main(args: Args) -> i32 {
    let what = args.get(1).unwrap_or(b"");
    let arg = args.get(2).unwrap_or(b"");
    // SAFETY (for the blocks below): each one deliberately tries to leave
    // ring 3 or to fault; none returns into Rust code with broken state.
    unsafe {
        match what {
            b"compat-syscall" => {
                match arg {
                    b"page0" => plant_payload(0, 0),
                    b"alias" => plant_payload(
                        layout::COMPAT_ENTRY_ALIAS,
                        parse_hex(args.get(3).unwrap_or(b"0")) & 0xfff,
                    ),
                    _ => {}
                }
                iret_to(
                    u64::from(selector::USER_DS),
                    &raw const compat_syscall as u64,
                )
            }
            b"compat-ud" => iret_to(u64::from(selector::USER_DS), &raw const compat_ud as u64),
            b"compat-sysenter" => iret_to(
                u64::from(selector::USER_DS),
                &raw const compat_sysenter as u64,
            ),
            b"compat-tf-syscall" => iret_with_flags(
                u64::from(selector::USER_DS),
                &raw const compat_movss_syscall as u64,
                RFLAGS_TF,
            ),
            b"far-jmp" | b"far-call" | b"retf" => {
                // m16:32 far pointer: offset, then selector.
                let target = &raw const compat_syscall as u64;
                let far: [u32; 2] = [target as u32, u32::from(selector::USER_DS)];
                match what {
                    b"far-jmp" => asm!("jmp fword ptr [{}]", in(reg) &far),
                    b"far-call" => asm!("call fword ptr [{}]", in(reg) &far),
                    _ => asm!(
                        "push {cs}",
                        "push {t}",
                        "retfq",
                        cs = const selector::USER_DS,
                        t = in(reg) target,
                    ),
                }
                survived(0)
            }
            b"iret" => iret_to(parse_hex(arg), survived as *const () as u64),
            b"sysenter" => asm!("jmp {}", in(reg) &raw const sysenter_64, options(noreturn)),
            b"priv" => {
                let Some(i) = PRIVILEGED.iter().position(|n| *n == arg) else {
                    write(2, b"hostile: unknown privileged instruction\n");
                    return 2;
                };
                let slot = &raw const privileged_table as u64 + 32 * i as u64;
                asm!(
                    "sub rsp, 16",
                    "mov qword ptr [rsp], 0",
                    "mov qword ptr [rsp + 8], 0",
                    "jmp {slot}",
                    slot = in(reg) slot,
                    in("rax") 0u64,
                    in("rcx") 0u64,
                    in("rdx") 0u64,
                    options(noreturn),
                )
            }
            b"int" => {
                let n = parse_dec(arg);
                if n > 255 {
                    return 2;
                }
                let slot = &raw const int_table as u64 + 8 * n;
                asm!("jmp {}", in(reg) slot, in("rax") 0u64, options(noreturn))
            }
            b"port" => port(&args),
            b"load" => load(&args),
            b"jump" => asm!("jmp {}", in(reg) parse_hex(arg), options(noreturn)),
            b"tf-syscall" => {
                asm!(
                    "pushfq",
                    "or qword ptr [rsp], 0x100",
                    "popfq",
                    "syscall",
                    "nop",
                    inout("rax") nr::GETPPID => _,
                    out("rcx") _,
                    out("r11") _,
                );
                survived(0)
            }
            b"tf-movss-syscall" => {
                asm!(
                    "pushfq",
                    "or qword ptr [rsp], 0x100",
                    "popfq",
                    "mov ss, {ss:e}",
                    "syscall",
                    "nop",
                    ss = in(reg) u32::from(selector::USER_DS),
                    inout("rax") nr::GETPPID => _,
                    out("rcx") _,
                    out("r11") _,
                );
                survived(0)
            }
            b"ac-syscall" => {
                asm!(
                    "pushfq",
                    "or qword ptr [rsp], 0x40000",
                    "popfq",
                    "syscall",
                    "pushfq",
                    "and qword ptr [rsp], ~0x40000",
                    "popfq",
                    inout("rax") nr::WRITE => _,
                    in("rdi") 1u64,
                    in("rsi") b"ac\n".as_ptr(),
                    in("rdx") 3u64,
                    out("rcx") _,
                    out("r11") _,
                );
                0
            }
            b"recurse" => recurse(0, core::hint::black_box(u64::MAX)) as i32,
            b"syscall-flood" => {
                for _ in 0..parse_dec(arg) {
                    write(1, b"flood\n");
                    syscall1(UNKNOWN_SYSCALL, 0);
                }
                // Say so, and wait for the end of stdin: a test measures
                // microvm's memory now.
                write(2, b"flooded\n");
                let mut byte = 0u8;
                syscall(nr::READ, [0, &raw mut byte as u64, 1, 0, 0, 0]);
                0
            }
            b"mmap-fixed" => {
                let addr = parse_hex(arg);
                let r = mmap_fixed(addr, PROT_READ | PROT_WRITE);
                if r == addr as i64 {
                    0
                } else {
                    -r as i32
                }
            }
            b"mmap-stack" => {
                let rsp: u64;
                asm!("mov {}, rsp", out(reg) rsp);
                let page = (rsp & !0xfff) - 0x4000;
                let r = mmap_fixed(page, PROT_READ | PROT_WRITE);
                if r != page as i64 {
                    return -r as i32;
                }
                // The new page is zero-filled and usable.
                let p = page as *mut u64;
                if p.read_volatile() != 0 {
                    return 3;
                }
                p.write_volatile(0x1234);
                i32::from(p.read_volatile() != 0x1234)
            }
            _ => {
                write(2, b"hostile: unknown kind\n");
                2
            }
        }
    }
}
