//! Entry and exit stubs: the only assembly in the kernel.
//!
//! Every path saves the interrupted register state straight into the trap
//! frame in the shared page (one vCPU, interrupts off in the kernel: one frame
//! is enough), advances the ticket, and knocks on the hypercall port. The
//! host reads the frame from guest memory, acts, and resumes the vCPU; the
//! stub restores every register from the frame and returns.
//!
//! * `syscall_entry` (LSTAR): SYSCALL on hardware-virtualisation KVM, entered
//!   in ring 0 on the user's stack. Nothing is pushed: the registers go to
//!   the frame by absolute address, then the kernel stack is taken.
//! * `page_fault_stub` (#PF): on KVM-PVM a ring-3 SYSCALL jumps to LSTAR
//!   without leaving ring 3, and the fetch from the supervisor-only page
//!   faults with error code P|U|I (0x15) at RIP == LSTAR. That fault is the
//!   syscall: RCX and R11 already hold the return RIP and RFLAGS, the user
//!   RSP is in the exception frame. It joins `syscall_entry`'s path, which
//!   returns with SYSRETQ on both kinds of KVM. Any other #PF is an exception
//!   — including a ring-3 `jmp` to LSTAR, which faults the same way but
//!   with RFLAGS.IF still set: SYSCALL clears IF (SFMASK), while ring 3
//!   always runs with IF set and cannot clear it.
//! * `exception_stubs`: one 16-byte stub per vector 0-31, pushing a zero
//!   error code where the CPU pushes none, then the vector. From ring 3 the
//!   host hears `UserException` and may resume (IRETQ); from ring 0 it hears
//!   `KernelFault` and the kernel halts.
//! * `compat_syscall_entry` (CSTAR) and `sysenter_entry` (SYSENTER_EIP):
//!   doors a 64-bit program has no business using. SYSCALL from 32-bit
//!   compatibility mode (which KVM-PVM lets ring 3 reach by loading a data
//!   selector into CS) and SYSENTER enter here in ring 0. Nothing of the
//!   program's runs in ring 0: the stub saves its registers without touching
//!   the stack (RSP is still the program's after a SYSCALL), hands the host
//!   a `ForeignEntry`, which ends the program, and halts. Not a hot path.

use core::mem::offset_of;
use microvm_abi::{frame_offset as f, layout, selector, BootInfo, EntryKind, Hypercall, Port};

/// Error code of a ring-3 instruction fetch from a present supervisor page.
const PF_USER_FETCH_PRESENT: u64 = 0x15;

/// RFLAGS.IF. The VMM's SFMASK clears it on SYSCALL.
const RFLAGS_IF: u64 = 0x200;

/// Guest-virtual address of a field of the boot info.
const fn boot_field(offset: usize) -> i64 {
    layout::kernel_virt(layout::BOOT_INFO) as i64 + offset as i64
}

core::arch::global_asm!(
    // ---- the kernel header (see microvm_abi::KernelHeader) ----
    ".pushsection .microvm.header, \"a\"",
    ".quad {magic}",
    ".quad {abi_version}",
    ".quad syscall_entry",
    ".quad syscall_lstar_resume",
    ".quad syscall_page_fault_resume",
    ".quad syscall_requests",
    ".quad exception_stubs_start",
    ".quad page_fault_entry",
    ".quad compat_syscall_entry",
    ".quad sysenter_entry",
    ".quad full_return",
    ".popsection",

    // ---- boot: RSP = the kernel stack, every other register zero ----
    ".pushsection .text.entry, \"ax\"",
    ".global _start",
    "_start:",
    "    cmp qword ptr [{boot_bench_mode}], {mode_bare_exit}",
    "    je bare_exits",
    // ---- enter ring 3 ----
    ".global enter_user_mode",
    "enter_user_mode:",
    "    push {user_ds}",
    "    push qword ptr [{boot_user_stack}]",
    "    push 0x202",
    "    push {user_cs}",
    "    push qword ptr [{boot_user_entry}]",
    "    iretq",
    // ---- BenchMode::BareExit: knock from ring 0 in a loop first ----
    "bare_exits:",
    "    mov rcx, [{boot_iterations}]",
    "9:",
    "    test rcx, rcx",
    "    jz 10f",
    "    out {port_null}, al",
    "    dec rcx",
    "    jmp 9b",
    "10:",
    "    jmp enter_user_mode",
    ".popsection",

    ".text",
    // ---- SYSCALL, hardware path: ring 0, still on the user stack ----
    // Every user register is live: the host reads them from the vCPU
    // (kvm_run sync_regs), writes the result into rax, and resumes here at
    // the SYSRETQ (or at `syscall_requests` when it has requests).
    ".balign 16",
    ".global syscall_entry",
    "syscall_entry:",
    "    cmp qword ptr [{boot_bench_mode}], {mode_in_guest}",
    "    je bench_lstar",
    "syscall_lstar_knock:",
    "    out {port_lstar}, al",
    "syscall_lstar_resume:",
    "    sysretq",

    // ---- #PF: the KVM-PVM SYSCALL path, or a page fault ----
    // Stack: error code, rip, cs, rflags, rsp, ss. A SYSCALL that faulted at
    // LSTAR has error code P|U|I (0x15: a ring-3 fetch, so CPL was 3), RIP =
    // LSTAR, and IF clear (SFMASK); a ring-3 jump to LSTAR has IF set.
    ".balign 16",
    ".global page_fault_entry",
    "page_fault_entry:",
    "    cmp qword ptr [rsp], {pf_user_fetch}",
    "    jne 2f",
    "    cmp qword ptr [rsp + 8], offset syscall_entry",
    "    jne 2f",
    "    test qword ptr [rsp + 24], {rflags_if}",
    "    jnz 2f",
    "    cmp qword ptr [{boot_bench_mode}], {mode_in_guest}",
    "    je bench_page_fault",
    // The host also sets RSP back to the user's, from the frame above.
    "syscall_page_fault_knock:",
    "    out {port_pf}, al",
    "syscall_page_fault_resume:",
    "    sysretq",
    "2:",
    "    push 14",
    "    jmp exception_common",

    // ---- what the host asked for on the way back (it set RIP here) ----
    // rax holds the result, rcx/r11 the return RIP/RFLAGS, rsp the user's.
    "syscall_requests:",
    "    mov [{frame} + {rax}], rax",
    "    mov [{frame} + {rcx}], rcx",
    "    mov [{frame} + {rdx}], rdx",
    "    mov [{frame} + {rsi}], rsi",
    "    mov rsi, [{frame} + {requests}]",
    "    test rsi, {req_fs}",
    "    jz 6f",
    "    mov ecx, {msr_fs_base}",
    "    mov eax, [{frame} + {fs_base}]",
    "    mov edx, [{frame} + {fs_base} + 4]",
    "    wrmsr",
    "6:",
    "    test rsi, {req_gs}",
    "    jz 7f",
    "    mov ecx, {msr_gs_base}",
    "    mov eax, [{frame} + {gs_base}]",
    "    mov edx, [{frame} + {gs_base} + 4]",
    "    wrmsr",
    "7:",
    "    test rsi, {req_flush}",
    "    jz 8f",
    "    mov rax, cr3",
    "    mov cr3, rax",
    "8:",
    "    mov qword ptr [{frame} + {requests}], 0",
    "    mov rax, [{frame} + {rax}]",
    "    mov rcx, [{frame} + {rcx}]",
    "    mov rdx, [{frame} + {rdx}]",
    "    mov rsi, [{frame} + {rsi}]",
    "    sysretq",

    // ---- BenchMode::InGuest: BENCH_SYSCALL answered here, no exit ----
    // (NullForward takes the normal path; the host answers it without a
    // frame, a service or a trace.)
    // From LSTAR: ring 0 on the user stack; rcx/r11 hold rip/rflags.
    "bench_lstar:",
    "    cmp rax, {bench_syscall}",
    "    jne syscall_lstar_knock",
    "bench_answer:",
    "    xor eax, eax",
    "    sysretq",
    // From the #PF path: the user rsp is in the exception frame.
    "bench_page_fault:",
    "    cmp rax, {bench_syscall}",
    "    jne syscall_page_fault_knock",
    "    mov rsp, [rsp + 32]",
    "    jmp bench_answer",

    // ---- exceptions 0-31 ----
    ".balign 16",
    ".global exception_stubs_start",
    "exception_stubs_start:",
    ".irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
    ".balign 16",
    ".if (\\vec <> 8) && (\\vec <> 10) && (\\vec <> 11) && (\\vec <> 12) && (\\vec <> 13) && (\\vec <> 14) && (\\vec <> 17) && (\\vec <> 21) && (\\vec <> 29) && (\\vec <> 30)",
    "    push 0",
    ".endif",
    "    push \\vec",
    "    jmp exception_common",
    ".endr",

    // Stack: vector, error code, rip, cs, rflags, rsp, ss.
    "exception_common:",
    "    mov [{frame} + {rax}], rax",
    "    mov [{frame} + {rbx}], rbx",
    "    mov [{frame} + {rcx}], rcx",
    "    mov [{frame} + {rdx}], rdx",
    "    mov [{frame} + {rsi}], rsi",
    "    mov [{frame} + {rdi}], rdi",
    "    mov [{frame} + {rbp}], rbp",
    "    mov [{frame} + {r8}], r8",
    "    mov [{frame} + {r9}], r9",
    "    mov [{frame} + {r10}], r10",
    "    mov [{frame} + {r11}], r11",
    "    mov [{frame} + {r12}], r12",
    "    mov [{frame} + {r13}], r13",
    "    mov [{frame} + {r14}], r14",
    "    mov [{frame} + {r15}], r15",
    "    mov rax, [rsp]",
    "    mov [{frame} + {vector}], rax",
    "    mov rax, [rsp + 8]",
    "    mov [{frame} + {error_code}], rax",
    "    mov rax, [rsp + 16]",
    "    mov [{frame} + {rip}], rax",
    "    mov rax, [rsp + 24]",
    "    mov [{frame} + {cs}], rax",
    "    mov rax, [rsp + 32]",
    "    mov [{frame} + {rflags}], rax",
    "    mov rax, [rsp + 40]",
    "    mov [{frame} + {rsp}], rax",
    "    mov rax, [rsp + 48]",
    "    mov [{frame} + {ss}], rax",
    "    mov rax, cr2",
    "    mov [{frame} + {cr2}], rax",
    "    mov qword ptr [{frame} + {kind}], {kind_exception}",
    "    inc qword ptr [{frame} + {ticket}]",
    "    mov dx, {port}",
    "    test byte ptr [rsp + 24], 3",
    "    jz 3f",
    "    mov eax, {hc_user_exception}",
    "    out dx, eax",
    // The host resumed the program: return to what the frame says. The
    // host also comes here (RIP, and RSP at a 7-qword frame it wrote on
    // the kernel stack) to return with every register its own: signal
    // delivery and rt_sigreturn.
    "full_return:",
    "    mov rax, [{frame} + {rip}]",
    "    mov [rsp + 16], rax",
    "    mov rax, [{frame} + {rflags}]",
    "    mov [rsp + 32], rax",
    "    mov rax, [{frame} + {rsp}]",
    "    mov [rsp + 40], rax",
    "    mov rax, [{frame} + {rax}]",
    "    mov rbx, [{frame} + {rbx}]",
    "    mov rcx, [{frame} + {rcx}]",
    "    mov rdx, [{frame} + {rdx}]",
    "    mov rsi, [{frame} + {rsi}]",
    "    mov rdi, [{frame} + {rdi}]",
    "    mov rbp, [{frame} + {rbp}]",
    "    mov r8, [{frame} + {r8}]",
    "    mov r9, [{frame} + {r9}]",
    "    mov r10, [{frame} + {r10}]",
    "    mov r11, [{frame} + {r11}]",
    "    mov r12, [{frame} + {r12}]",
    "    mov r13, [{frame} + {r13}]",
    "    mov r14, [{frame} + {r14}]",
    "    mov r15, [{frame} + {r15}]",
    "    add rsp, 16",
    "    iretq",
    "3:",
    "    mov eax, {hc_kernel_fault}",
    "    out dx, eax",
    "4:",
    "    cli",
    "    hlt",
    "    jmp 4b",

    // ---- SYSCALL from compatibility mode, and SYSENTER ----
    // Ring 0, CS = the kernel's. After a compat SYSCALL RSP is the
    // program's and rcx/r11 hold its return RIP/RFLAGS; after SYSENTER RSP
    // is SYSENTER_ESP (the kernel stack). Only absolute addresses here: the
    // VMM points CSTAR at an alias of this page below 4 GiB (KVM-PVM
    // truncates CSTAR to 32 bits), so the stubs leave it by an absolute
    // indirect jump, which touches no register.
    ".balign 64",
    ".global compat_syscall_entry",
    "compat_syscall_entry:",
    "    mov qword ptr [{frame} + {kind}], {kind_compat}",
    "    jmp qword ptr [foreign_entry_target]",
    ".balign 32",
    ".global sysenter_entry",
    "sysenter_entry:",
    "    mov qword ptr [{frame} + {kind}], {kind_sysenter}",
    "    jmp qword ptr [foreign_entry_target]",
    "foreign_entry:",
    "    mov [{frame} + {rax}], rax",
    "    mov [{frame} + {rbx}], rbx",
    "    mov [{frame} + {rcx}], rcx",
    "    mov [{frame} + {rdx}], rdx",
    "    mov [{frame} + {rsi}], rsi",
    "    mov [{frame} + {rdi}], rdi",
    "    mov [{frame} + {rbp}], rbp",
    "    mov [{frame} + {rsp}], rsp",
    "    mov [{frame} + {r8}], r8",
    "    mov [{frame} + {r9}], r9",
    "    mov [{frame} + {r10}], r10",
    "    mov [{frame} + {r11}], r11",
    "    mov [{frame} + {r12}], r12",
    "    mov [{frame} + {r13}], r13",
    "    mov [{frame} + {r14}], r14",
    "    mov [{frame} + {r15}], r15",
    "    inc qword ptr [{frame} + {ticket}]",
    "    mov dx, {port}",
    "    mov eax, {hc_foreign_entry}",
    "    out dx, eax",
    "    jmp 4b",
    ".pushsection .rodata.foreign_entry, \"a\"",
    ".balign 8",
    "foreign_entry_target:",
    ".quad foreign_entry",
    ".popsection",

    magic = const microvm_abi::KERNEL_MAGIC,
    abi_version = const microvm_abi::ABI_VERSION,
    boot_bench_mode = const boot_field(offset_of!(BootInfo, bench_mode)),
    boot_iterations = const boot_field(offset_of!(BootInfo, bench_iterations)),
    boot_user_stack = const boot_field(offset_of!(BootInfo, user_stack)),
    boot_user_entry = const boot_field(offset_of!(BootInfo, user_entry)),
    mode_bare_exit = const microvm_abi::BenchMode::BareExit as u64,
    port_null = const Port::Null as u16,
    frame = const layout::kernel_virt(layout::SHARED_PAGE) as i64,
    user_cs = const selector::USER_CS,
    user_ds = const selector::USER_DS,
    port = const Port::Hypercall as u16,
    hc_user_exception = const Hypercall::UserException as u32,
    hc_kernel_fault = const Hypercall::KernelFault as u32,
    kind_exception = const EntryKind::Exception as u64,
    kind_compat = const EntryKind::CompatSyscall as u64,
    kind_sysenter = const EntryKind::Sysenter as u64,
    hc_foreign_entry = const Hypercall::ForeignEntry as u32,
    pf_user_fetch = const PF_USER_FETCH_PRESENT,
    rflags_if = const RFLAGS_IF,
    requests = const microvm_abi::SHARED_REQUESTS_OFFSET,
    fs_base = const microvm_abi::SHARED_FS_BASE_OFFSET,
    gs_base = const microvm_abi::SHARED_GS_BASE_OFFSET,
    req_fs = const microvm_abi::request::SET_FS_BASE,
    req_gs = const microvm_abi::request::SET_GS_BASE,
    req_flush = const microvm_abi::request::FLUSH_TLB,
    msr_fs_base = const 0xc000_0100u32,
    msr_gs_base = const 0xc000_0101u32,
    bench_syscall = const microvm_abi::BENCH_SYSCALL,
    mode_in_guest = const microvm_abi::BenchMode::InGuest as u64,
    port_lstar = const Port::SyscallLstar as u16,
    port_pf = const Port::SyscallPageFault as u16,
    rax = const f::RAX,
    rbx = const f::RBX,
    rcx = const f::RCX,
    rdx = const f::RDX,
    rsi = const f::RSI,
    rdi = const f::RDI,
    rbp = const f::RBP,
    rsp = const f::RSP,
    r8 = const f::R8,
    r9 = const f::R9,
    r10 = const f::R10,
    r11 = const f::R11,
    r12 = const f::R12,
    r13 = const f::R13,
    r14 = const f::R14,
    r15 = const f::R15,
    rip = const f::RIP,
    rflags = const f::RFLAGS,
    cs = const f::CS,
    ss = const f::SS,
    kind = const f::KIND,
    vector = const f::VECTOR,
    error_code = const f::ERROR_CODE,
    cr2 = const f::CR2,
    ticket = const f::TICKET,
);
