//! microvm's vDSO, as Linux gives every process one: `__vdso_clock_gettime`,
//! `__vdso_gettimeofday`, `__vdso_time`, `__vdso_getcpu` and
//! `__vdso_clock_getres` (and the weak unprefixed aliases Linux has), at
//! version `LINUX_2.6`, answered in ring 3 without a transition.
//!
//! Written in assembly so that it is position independent by construction:
//! the one data reference is RIP-relative to `vvar_page`, which the linker
//! script puts one page below the image (where the loader maps the vvar
//! page, [`microvm_abi::vdso`]); no relocation needs a dynamic linker.
//! Times are `base_ns[clock] + ((rdtsc - tsc_base) * mult >> 32)`, read
//! under the page's sequence count. A clock the page does not serve, a
//! negative (dynamic, CPU-time) clock id and anything else the page cannot
//! answer goes to the real system call, as Linux's vDSO falls back; bad
//! pointers fault in ring 3, as they do natively.
#![no_std]

use microvm_abi::linux::syscalls::nr;
use microvm_abi::vdso::{
    VDSO_CLOCKS, VDSO_SHIFT, VVAR_BASE_NS, VVAR_CLOCK_MASK, VVAR_MULT, VVAR_RES_NS, VVAR_SEQ,
    VVAR_TSC_BASE, VVAR_TZ,
};

/// `CLOCK_REALTIME`'s id: gettimeofday and time read it.
const CLOCK_REALTIME: u32 = 0;

/// Nanoseconds per second.
const NSEC_PER_SEC: u32 = 1_000_000_000;

/// Nanoseconds per microsecond.
const NSEC_PER_USEC: u32 = 1_000;

core::arch::global_asm!(
    ".pushsection .text.vdso, \"ax\", @progbits",
    // read_ns: r8 = the vvar page, r11 = a served clock's id; returns its
    // time in nanoseconds in rax. Clobbers rdx and r9.
    ".p2align 4",
    "vdso_read_ns:",
    "1: mov r9d, dword ptr [r8 + {seq}]",
    "test r9d, 1",
    "jnz 3f",
    "lfence",
    "rdtsc",
    "shl rdx, 32",
    "or rax, rdx",
    "sub rax, qword ptr [r8 + {tsc_base}]",
    "jns 2f",
    "xor eax, eax",
    "2: mul qword ptr [r8 + {mult}]",
    "shrd rax, rdx, {shift}",
    "add rax, qword ptr [r8 + {base_ns} + r11 * 8]",
    "cmp r9d, dword ptr [r8 + {seq}]",
    "jne 1b",
    "ret",
    "3: pause",
    "jmp 1b",
    // int clock_gettime(clockid_t clock, struct timespec *ts)
    ".globl __vdso_clock_gettime",
    ".type __vdso_clock_gettime, @function",
    ".p2align 4",
    "__vdso_clock_gettime:",
    "lea r8, [rip + vvar_page]",
    "mov r11d, edi",
    "cmp r11d, {clocks}",
    "jae 9f",
    "bt qword ptr [r8 + {mask}], r11",
    "jnc 9f",
    "call vdso_read_ns",
    "xor edx, edx",
    "mov ecx, {nsec_per_sec}",
    "div rcx",
    "mov qword ptr [rsi], rax",
    "mov qword ptr [rsi + 8], rdx",
    "xor eax, eax",
    "ret",
    "9: mov eax, {sys_clock_gettime}",
    "syscall",
    "ret",
    ".size __vdso_clock_gettime, . - __vdso_clock_gettime",
    // int gettimeofday(struct timeval *tv, struct timezone *tz)
    ".globl __vdso_gettimeofday",
    ".type __vdso_gettimeofday, @function",
    ".p2align 4",
    "__vdso_gettimeofday:",
    "lea r8, [rip + vvar_page]",
    "test byte ptr [r8 + {mask}], 1 << {realtime}",
    "jz 9f",
    "test rdi, rdi",
    "jz 1f",
    "mov r11d, {realtime}",
    "call vdso_read_ns",
    "xor edx, edx",
    "mov ecx, {nsec_per_sec}",
    "div rcx",
    "mov qword ptr [rdi], rax",
    "mov rax, rdx",
    "xor edx, edx",
    "mov ecx, {nsec_per_usec}",
    "div rcx",
    "mov qword ptr [rdi + 8], rax",
    "1: test rsi, rsi",
    "jz 2f",
    "mov rax, qword ptr [r8 + {tz}]",
    "mov qword ptr [rsi], rax",
    "2: xor eax, eax",
    "ret",
    "9: mov eax, {sys_gettimeofday}",
    "syscall",
    "ret",
    ".size __vdso_gettimeofday, . - __vdso_gettimeofday",
    // time_t time(time_t *t)
    ".globl __vdso_time",
    ".type __vdso_time, @function",
    ".p2align 4",
    "__vdso_time:",
    "lea r8, [rip + vvar_page]",
    "test byte ptr [r8 + {mask}], 1 << {realtime}",
    "jz 9f",
    "mov r11d, {realtime}",
    "call vdso_read_ns",
    "xor edx, edx",
    "mov ecx, {nsec_per_sec}",
    "div rcx",
    "test rdi, rdi",
    "jz 1f",
    "mov qword ptr [rdi], rax",
    "1: ret",
    "9: mov eax, {sys_time}",
    "syscall",
    "ret",
    ".size __vdso_time, . - __vdso_time",
    // int getcpu(unsigned *cpu, unsigned *node, void *cache): the one CPU.
    ".globl __vdso_getcpu",
    ".type __vdso_getcpu, @function",
    ".p2align 4",
    "__vdso_getcpu:",
    "test rdi, rdi",
    "jz 1f",
    "mov dword ptr [rdi], 0",
    "1: test rsi, rsi",
    "jz 2f",
    "mov dword ptr [rsi], 0",
    "2: xor eax, eax",
    "ret",
    ".size __vdso_getcpu, . - __vdso_getcpu",
    // int clock_getres(clockid_t clock, struct timespec *res)
    ".globl __vdso_clock_getres",
    ".type __vdso_clock_getres, @function",
    ".p2align 4",
    "__vdso_clock_getres:",
    "lea r8, [rip + vvar_page]",
    "mov r11d, edi",
    "cmp r11d, {clocks}",
    "jae 9f",
    "bt qword ptr [r8 + {mask}], r11",
    "jnc 9f",
    "test rsi, rsi",
    "jz 1f",
    "mov rax, qword ptr [r8 + {res_ns} + r11 * 8]",
    "xor edx, edx",
    "mov ecx, {nsec_per_sec}",
    "div rcx",
    "mov qword ptr [rsi], rax",
    "mov qword ptr [rsi + 8], rdx",
    "1: xor eax, eax",
    "ret",
    "9: mov eax, {sys_clock_getres}",
    "syscall",
    "ret",
    ".size __vdso_clock_getres, . - __vdso_clock_getres",
    // The names without the prefix, weak, as Linux's vDSO has them.
    ".weak clock_gettime",
    ".set clock_gettime, __vdso_clock_gettime",
    ".weak gettimeofday",
    ".set gettimeofday, __vdso_gettimeofday",
    ".weak time",
    ".set time, __vdso_time",
    ".weak getcpu",
    ".set getcpu, __vdso_getcpu",
    ".weak clock_getres",
    ".set clock_getres, __vdso_clock_getres",
    ".popsection",
    seq = const VVAR_SEQ,
    tsc_base = const VVAR_TSC_BASE,
    mult = const VVAR_MULT,
    shift = const VDSO_SHIFT,
    base_ns = const VVAR_BASE_NS,
    res_ns = const VVAR_RES_NS,
    mask = const VVAR_CLOCK_MASK,
    tz = const VVAR_TZ,
    clocks = const VDSO_CLOCKS,
    realtime = const CLOCK_REALTIME,
    nsec_per_sec = const NSEC_PER_SEC,
    nsec_per_usec = const NSEC_PER_USEC,
    sys_clock_gettime = const nr::CLOCK_GETTIME,
    sys_gettimeofday = const nr::GETTIMEOFDAY,
    sys_time = const nr::TIME,
    sys_clock_getres = const nr::CLOCK_GETRES,
);

/// A staticlib needs one; no Rust code here can panic, and the linker
/// keeps only the assembly above.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
