/* Signals as a Linux process has them, each case named by argv[1], so the
 * tests can compare microvm's trace and exit status with a native run under
 * strace (tests/signals.rs). Each case prints what it saw and exits 0 when
 * it saw what Linux does; the killed ones end by their signal.
 *
 * abort raise segv-longjmp altstack pending resethand clobber
 * fault-in-handler kill-term ignore sigpipe-handled mask-in-handler
 * sigreturn-garbage sigreturn-noncanonical sigreturn-bad-fpstate
 * sigreturn-bad-cs sigreturn-eflags sigreturn-noncanonical-rsp
 * sigreturn-compacted
 * handler-unmapped handler-noncanonical no-room sigsuspend
 * errors sigqueue pause */
#include <cpuid.h>
#include <errno.h>
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int is(const char *a, const char *b) { return strcmp(a, b) == 0; }

static volatile sig_atomic_t got, count;
static sigjmp_buf env;
static void *volatile fault_addr;

static void note(int s) { got = s; count++; }

static void on_segv(int s, siginfo_t *si, void *uc)
{
    (void)s;
    (void)uc;
    fault_addr = si->si_addr;
    siglongjmp(env, 1);
}

static void install(int sig, void (*h)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigaction(sig, &sa, 0);
}

static char altstack[65536];
static volatile uintptr_t handler_sp;
static volatile int handler_onstack;
static volatile int change_errno;
static void on_alt(int s)
{
    char here;
    stack_t now;
    got = s;
    handler_sp = (uintptr_t)&here;
    sigaltstack(0, &now);
    handler_onstack = now.ss_flags == SS_ONSTACK;
    /* Changing it while on it: EPERM. */
    stack_t other = {.ss_sp = altstack, .ss_size = 8192, .ss_flags = 0};
    change_errno = sigaltstack(&other, 0) == 0 ? 0 : errno;
}

static volatile int queued_value, queued_code, queued_pid;
static void on_queued(int s, siginfo_t *si, void *uc)
{
    (void)s;
    (void)uc;
    queued_value = si->si_value.sival_int;
    queued_code = si->si_code;
    queued_pid = si->si_pid;
}

/* A raw syscall's result: the value, or -errno. */
static long raw(long nr, long a, long b, long c, long d)
{
    long r = syscall(nr, a, b, c, d);
    return r == -1 ? -errno : r;
}

/* The clobbering handler and the probe that checks every register survives
 * it (System V: probe(pid, fx_before, fx_after, ymm_pattern, ymm_after,
 * gpr_after)). The handler trashes every general register but rsp, every
 * ymm, the x87 stack and control word, MXCSR and DF, and returns. */
__asm__(".text\n"
        ".globl clobber_handler\n"
        "clobber_handler:\n"
        "  movl $1, handler_ran(%rip)\n"
        "  vpcmpeqd %ymm0, %ymm0, %ymm0\n"
        "  vmovdqa %ymm0, %ymm1\n vmovdqa %ymm0, %ymm2\n vmovdqa %ymm0, %ymm3\n"
        "  vmovdqa %ymm0, %ymm4\n vmovdqa %ymm0, %ymm5\n vmovdqa %ymm0, %ymm6\n"
        "  vmovdqa %ymm0, %ymm7\n vmovdqa %ymm0, %ymm8\n vmovdqa %ymm0, %ymm9\n"
        "  vmovdqa %ymm0, %ymm10\n vmovdqa %ymm0, %ymm11\n vmovdqa %ymm0, %ymm12\n"
        "  vmovdqa %ymm0, %ymm13\n vmovdqa %ymm0, %ymm14\n vmovdqa %ymm0, %ymm15\n"
        "  fninit\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n"
        "  pushq $0x7f80\n ldmxcsr (%rsp)\n popq %rax\n"
        "  pushq $0x0c7f\n fldcw (%rsp)\n popq %rax\n"
        "  movabs $0xdead000000000001, %rax\n mov %rax, %rbx\n mov %rax, %rcx\n"
        "  mov %rax, %rdx\n mov %rax, %rsi\n mov %rax, %rdi\n mov %rax, %rbp\n"
        "  mov %rax, %r8\n mov %rax, %r9\n mov %rax, %r10\n mov %rax, %r11\n"
        "  mov %rax, %r12\n mov %rax, %r13\n mov %rax, %r14\n mov %rax, %r15\n"
        "  std\n"
        "  ret\n"
        ".globl probe\n"
        "probe:\n"
        "  push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
        "  push %r9\n push %r8\n push %rdx\n"
        "  vmovdqu 0(%rcx), %ymm0\n vmovdqu 32(%rcx), %ymm1\n vmovdqu 64(%rcx), %ymm2\n"
        "  vmovdqu 96(%rcx), %ymm3\n vmovdqu 128(%rcx), %ymm4\n vmovdqu 160(%rcx), %ymm5\n"
        "  vmovdqu 192(%rcx), %ymm6\n vmovdqu 224(%rcx), %ymm7\n vmovdqu 256(%rcx), %ymm8\n"
        "  vmovdqu 288(%rcx), %ymm9\n vmovdqu 320(%rcx), %ymm10\n vmovdqu 352(%rcx), %ymm11\n"
        "  vmovdqu 384(%rcx), %ymm12\n vmovdqu 416(%rcx), %ymm13\n vmovdqu 448(%rcx), %ymm14\n"
        "  vmovdqu 480(%rcx), %ymm15\n"
        "  fninit\n fldpi\n fldl2e\n fldln2\n fldlg2\n"
        "  pushq $0x5fa0\n ldmxcsr (%rsp)\n popq %rax\n"
        "  fxsave (%rsi)\n"
        "  movabs $0x0b0b0b0b0b0b0b0b, %rbx\n movabs $0x0c0c0c0c0c0c0c0c, %rbp\n"
        "  movabs $0x0808080808080808, %r8\n movabs $0x0909090909090909, %r9\n"
        "  movabs $0x1010101010101010, %r10\n movabs $0x1212121212121212, %r12\n"
        "  movabs $0x1313131313131313, %r13\n movabs $0x1414141414141414, %r14\n"
        "  movabs $0x1515151515151515, %r15\n"
        "  mov %rdi, %rsi\n mov $10, %edx\n mov $234, %eax\n"
        "  pushfq\n"
        "  syscall\n"
        "1:\n"
        "  push %rax\n"
        "  mov 32(%rsp), %rax\n"
        "  mov %rbx, 0(%rax)\n mov %rbp, 8(%rax)\n mov %r8, 16(%rax)\n mov %r9, 24(%rax)\n"
        "  mov %r10, 32(%rax)\n mov %r12, 40(%rax)\n mov %r13, 48(%rax)\n mov %r14, 56(%rax)\n"
        "  mov %r15, 64(%rax)\n mov %rdi, 72(%rax)\n mov %rsi, 80(%rax)\n mov %rdx, 88(%rax)\n"
        "  mov %rcx, 96(%rax)\n mov %r11, 104(%rax)\n"
        "  pop %rcx\n mov %rcx, 112(%rax)\n"
        "  lea 1b(%rip), %rcx\n mov %rcx, 120(%rax)\n"
        "  pop %rcx\n mov %rcx, 128(%rax)\n"
        "  pushfq\n pop %rcx\n mov %rcx, 136(%rax)\n"
        "  pop %rdx\n fxsave (%rdx)\n"
        "  pop %r8\n"
        "  vmovdqu %ymm0, 0(%r8)\n vmovdqu %ymm1, 32(%r8)\n vmovdqu %ymm2, 64(%r8)\n"
        "  vmovdqu %ymm3, 96(%r8)\n vmovdqu %ymm4, 128(%r8)\n vmovdqu %ymm5, 160(%r8)\n"
        "  vmovdqu %ymm6, 192(%r8)\n vmovdqu %ymm7, 224(%r8)\n vmovdqu %ymm8, 256(%r8)\n"
        "  vmovdqu %ymm9, 288(%r8)\n vmovdqu %ymm10, 320(%r8)\n vmovdqu %ymm11, 352(%r8)\n"
        "  vmovdqu %ymm12, 384(%r8)\n vmovdqu %ymm13, 416(%r8)\n vmovdqu %ymm14, 448(%r8)\n"
        "  vmovdqu %ymm15, 480(%r8)\n"
        "  pop %r9\n"
        "  vzeroupper\n fninit\n pushq $0x1f80\n ldmxcsr (%rsp)\n popq %rax\n"
        "  pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
        "  ret\n");
void clobber_handler(int);
void probe(long pid, void *fx_before, void *fx_after, void *ymm, void *ymm_after,
           uint64_t *gpr);
volatile int handler_ran;

static int clobber_case(void)
{
    static uint8_t fx_before[512] __attribute__((aligned(64)));
    static uint8_t fx_after[512] __attribute__((aligned(64)));
    static uint8_t ymm[512], ymm_after[512];
    static uint64_t gpr[18];
    static const uint64_t want[9] = {
        0x0b0b0b0b0b0b0b0b, 0x0c0c0c0c0c0c0c0c, 0x0808080808080808,
        0x0909090909090909, 0x1010101010101010, 0x1212121212121212,
        0x1313131313131313, 0x1414141414141414, 0x1515151515151515,
    };
    if (!__builtin_cpu_supports("avx")) {
        printf("clobber: no AVX on this CPU\n");
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = clobber_handler;
    sigaction(SIGUSR1, &sa, 0);
    for (int i = 0; i < 512; i++)
        ymm[i] = (uint8_t)(i * 7 + 1);
    long pid = getpid();
    probe(pid, fx_before, fx_after, ymm, ymm_after, gpr);
    int bad = 0;
    for (int i = 0; i < 9; i++)
        if (gpr[i] != want[i]) {
            printf("gpr %d: %#lx\n", i, (unsigned long)gpr[i]);
            bad = 1;
        }
    /* rdi, rsi, rdx as the syscall had them; rcx, r11 what SYSCALL left:
     * the return address and the flags; rax the syscall's result. */
    if (gpr[9] != (uint64_t)pid || gpr[10] != (uint64_t)pid || gpr[11] != 10)
        printf("args: %#lx %#lx %#lx\n", (unsigned long)gpr[9], (unsigned long)gpr[10],
               (unsigned long)gpr[11]), bad = 1;
    if (gpr[12] != gpr[15])
        printf("rcx %#lx, return address %#lx\n", (unsigned long)gpr[12],
               (unsigned long)gpr[15]), bad = 1;
    if (gpr[13] != gpr[16])
        printf("r11 %#lx, flags %#lx\n", (unsigned long)gpr[13], (unsigned long)gpr[16]),
            bad = 1;
    if (gpr[14] != 0)
        printf("rax %#lx\n", (unsigned long)gpr[14]), bad = 1;
    if (gpr[17] & 0x400)
        printf("DF set after the handler\n"), bad = 1;
    if (memcmp(fx_before, fx_after, 416) != 0)
        printf("x87/SSE state changed\n"), bad = 1;
    if (memcmp(ymm, ymm_after, 512) != 0)
        printf("ymm registers changed\n"), bad = 1;
    if (!handler_ran)
        printf("the handler did not run\n"), bad = 1;
    printf("clobber: %s\n", bad ? "registers changed" : "all registers unchanged");
    return bad;
}

/* rt_sigreturn with the frame at rsp - 8 = `frame`. */
static void sigreturn_at(void *frame)
{
    __asm__ volatile("lea 8(%0), %%rsp\n mov $15, %%eax\n syscall\n" : : "r"(frame) : "memory");
    __builtin_unreachable();
}

/* A signal frame the kernel wrote, copied from a handler, to corrupt. */
static uint8_t saved_frame[4096] __attribute__((aligned(64)));
static uint8_t saved_fp[4096] __attribute__((aligned(64)));
static void capture(int s, siginfo_t *si, void *uc)
{
    (void)s;
    (void)si;
    ucontext_t *u = uc;
    memcpy(saved_frame, (uint8_t *)uc - 8, 440);
    if (u->uc_mcontext.fpregs)
        memcpy(saved_fp, u->uc_mcontext.fpregs, 1024);
}

/* Where "sigreturn-eflags" returns to: the flags rt_sigreturn let through,
 * read before any instruction changes them. */
static uint8_t eflags_stack[16384] __attribute__((aligned(16)));
void eflags_seen(uint64_t flags);
void eflags_entry(void);
__asm__(".text\n.globl eflags_entry\neflags_entry:\n pushfq\n pop %rdi\n and $-16, %rsp\n"
        " cld\n call eflags_seen\n ud2\n");
/* Exit 0 without touching the stack (its pointer may be anything). */
void exit_stackless(void);
__asm__(".text\n.globl exit_stackless\nexit_stackless:\n mov $231, %eax\n xor %edi, %edi\n syscall\n ud2\n");
void eflags_seen(uint64_t flags)
{
    /* IOPL NT VM VIF VIP must never come from the frame; OF SF ZF AF PF
     * CF and DF do. */
    printf("eflags: privileged %#lx arithmetic %#lx\n", (unsigned long)(flags & 0x1b7000),
           (unsigned long)(flags & 0xcd5));
    _exit(0);
}

/* "sigreturn-compacted": the FP state given in XSAVEC's compacted form,
 * as glibc's lazy binder saves it on the stack. XRSTOR takes that form,
 * and so does Linux's rt_sigreturn: xmm0 and, with AVX-512, k1 (which the
 * compacted form puts right after SSE, not at its standard offset) come
 * back from it. */
static uint8_t compact_area[8192] __attribute__((aligned(64)));
static volatile int compact_k;
void compacted_seen(uint64_t xmm0, uint64_t k1);
void compacted_entry(void);
__asm__(".text\n.globl compacted_entry\ncompacted_entry:\n movq %xmm0, %rdi\n xor %esi, %esi\n"
        " cmpl $0, compact_k(%rip)\n je 1f\n kmovw %k1, %esi\n1:\n and $-16, %rsp\n"
        " call compacted_seen\n ud2\n");
void compacted_seen(uint64_t xmm0, uint64_t k1)
{
    double d;
    memcpy(&d, &xmm0, sizeof d);
    if (compact_k)
        printf("compacted: xmm0 %g, k1 %#lx\n", d, (unsigned long)k1);
    else
        printf("compacted: xmm0 %g (no AVX-512)\n", d);
    _exit(0);
}

/* Fill the frame's FP state with a compacted area; 0 if the CPU has no
 * XSAVEC. */
static int compact_fpstate(uint8_t *f)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) ||
        !__get_cpuid_count(0xd, 1, &a, &b, &c, &d) || !(a & 2))
        return 0;
    compact_k = __builtin_cpu_supports("avx512f");
    uint32_t rfbm = compact_k ? 0x23 : 0x3;
    double v = 42.0;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    __asm__ volatile("movq %0, %%xmm0\n"
                     "cmpl $0, %3\n je 1f\n"
                     "mov $0x1234, %%ecx\n kmovw %%ecx, %%k1\n"
                     "1: xsavec %1\n"
                     : : "r"(bits), "m"(compact_area), "a"(rfbm), "m"(compact_k), "d"(0)
                     : "rcx", "xmm0", "memory");
    /* The software bytes as the kernel wrote them, FP_XSTATE_MAGIC2 after
     * the size they give. */
    memcpy(compact_area + 464, saved_fp + 464, 48);
    uint32_t size;
    memcpy(&size, compact_area + 464 + 16, sizeof size);
    if (size + 4 > sizeof compact_area)
        return 0;
    memcpy(compact_area + size, "\x45\x58\x50\x46", 4);
    *(uint64_t *)(f + 48 + 184) = (uint64_t)compact_area;
    *(uint64_t *)(f + 48 + 128) = (uint64_t)compacted_entry;
    *(uint64_t *)(f + 48 + 120) = (uint64_t)(eflags_stack + sizeof eflags_stack - 8);
    return 1;
}

/* Offsets in the frame (pretcode first): the sigcontext at 48, rip at
 * 48 + 128, cs at 48 + 144, fpstate at 48 + 184. */
/* The copied frame's fpstate points where the kernel put the FP state: on
 * the stack, since reused (by glibc's lazy binder, among others). A case
 * that is about registers gives none (the initial state). */
static void no_fpstate(uint8_t *f) { *(uint64_t *)(f + 48 + 184) = 0; }

static void corrupt_and_return(const char *k)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = capture;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, 0);
    raise(SIGUSR2);
    uint8_t *f = saved_frame;
    if (is(k, "sigreturn-garbage"))
        memset(f + 8, 0xa5, 432);
    if (is(k, "sigreturn-noncanonical"))
        *(uint64_t *)(f + 48 + 128) = 0x8000000000000000ul;
    if (is(k, "sigreturn-bad-cs"))
        *(uint16_t *)(f + 48 + 144) = 0x10;
    if (is(k, "sigreturn-noncanonical-rsp")) {
        /* IRETQ takes any stack pointer: the program runs on, here to an
         * exit that needs no stack. */
        *(uint64_t *)(f + 48 + 128) = (uint64_t)exit_stackless;
        *(uint64_t *)(f + 48 + 120) = 0x8000000000000000ul;
        no_fpstate(f);
    }
    if (is(k, "sigreturn-eflags")) {
        /* Every flag a frame could ask for but TF, RF, AC and IF. */
        *(uint64_t *)(f + 48 + 136) = ~(uint64_t)(0x100 | 0x10000 | 0x40000 | 0x200);
        *(uint64_t *)(f + 48 + 128) = (uint64_t)eflags_entry;
        *(uint64_t *)(f + 48 + 120) = (uint64_t)(eflags_stack + sizeof eflags_stack - 8);
        no_fpstate(f);
    }
    if (is(k, "sigreturn-compacted") && !compact_fpstate(f)) {
        printf("compacted: no XSAVEC on this CPU\n");
        _exit(0);
    }
    if (is(k, "sigreturn-bad-fpstate")) {
        /* MXCSR with reserved bits set: FXRSTOR/XRSTOR refuse it. */
        *(uint32_t *)(saved_fp + 24) = 0xffffffff;
        *(uint64_t *)(f + 48 + 184) = (uint64_t)saved_fp;
    }
    fflush(stdout);
    sigreturn_at(f);
}

int main(int argc, char **argv)
{
    const char *k = argc > 1 ? argv[1] : "";
    setvbuf(stdout, 0, _IONBF, 0);
    if (is(k, "abort"))
        abort();
    if (is(k, "raise")) {
        install(SIGUSR1, note, 0);
        raise(SIGUSR1);
        printf("raise: got %d\n", got);
        return got != SIGUSR1;
    }
    if (is(k, "segv-longjmp")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sa, 0);
        for (int i = 0; i < 2; i++) {
            if (sigsetjmp(env, 1) == 0)
                *(volatile char *)(uintptr_t)(0x1000 + i) = 1;
            else
                printf("segv-longjmp: si_addr %p\n", fault_addr);
        }
        return fault_addr != (void *)0x1001;
    }
    if (is(k, "altstack")) {
        stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
        if (sigaltstack(&ss, 0) != 0)
            return 2;
        install(SIGUSR1, on_alt, SA_ONSTACK);
        raise(SIGUSR1);
        int on = handler_sp >= (uintptr_t)altstack &&
                 handler_sp < (uintptr_t)altstack + sizeof altstack;
        printf("altstack: handler %s the alternate stack, SS_ONSTACK %s\n",
               on ? "on" : "off", handler_onstack ? "reported" : "not reported");
        return !(on && handler_onstack);
    }
    if (is(k, "pending")) {
        sigset_t set, pend;
        install(SIGUSR1, note, 0);
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, 0);
        kill(getpid(), SIGUSR1);
        sigpending(&pend);
        printf("pending: before unblock got=%d pending=%d\n", got, sigismember(&pend, SIGUSR1));
        sigprocmask(SIG_UNBLOCK, &set, 0);
        printf("pending: after unblock got=%d\n", got);
        return got != SIGUSR1;
    }
    if (is(k, "resethand")) {
        install(SIGUSR1, note, SA_RESETHAND);
        raise(SIGUSR1);
        printf("resethand: handled %d time(s)\n", count);
        raise(SIGUSR1); /* now the default: killed */
        return 1;
    }
    if (is(k, "clobber"))
        return clobber_case();
    if (is(k, "fault-in-handler")) {
        install(SIGSEGV, (void (*)(int))0, 0);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = (void (*)(int))on_segv; /* faults again: blocked */
        sigaction(SIGSEGV, &sa, 0);
        *(volatile char *)0 = 1;
        return 1;
    }
    if (is(k, "kill-term")) {
        kill(getpid(), SIGTERM);
        return 1;
    }
    if (is(k, "ignore")) {
        install(SIGUSR1, SIG_IGN, 0);
        raise(SIGUSR1);
        kill(getpid(), SIGCHLD); /* ignored by default */
        printf("ignore: still running\n");
        return 0;
    }
    if (is(k, "sigpipe-handled")) {
        install(SIGPIPE, note, 0);
        long r = write(1, "x", 1); /* stdout: a pipe with no reader */
        fprintf(stderr, "sigpipe-handled: write %ld got %d\n", r, got);
        return !(r == -1 && got == SIGPIPE);
    }
    if (is(k, "mask-in-handler")) {
        install(SIGUSR1, note, 0);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = note;
        sa.sa_mask = set;
        sigaction(SIGUSR1, &sa, 0);
        raise(SIGUSR1);
        sigprocmask(SIG_BLOCK, 0, &set);
        printf("mask-in-handler: got %d, mask restored %s\n", got,
               sigismember(&set, SIGUSR2) ? "no" : "yes");
        return sigismember(&set, SIGUSR2);
    }
    if (is(k, "sigsuspend")) {
        sigset_t set, none;
        install(SIGUSR1, note, 0);
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, 0);
        raise(SIGUSR1);
        sigemptyset(&none);
        int r = sigsuspend(&none);
        sigprocmask(SIG_BLOCK, 0, &set);
        printf("sigsuspend: %d, got %d, USR1 blocked again %d\n", r, got,
               sigismember(&set, SIGUSR1));
        return !(r == -1 && got == SIGUSR1 && sigismember(&set, SIGUSR1));
    }
    if (is(k, "pause")) {
        printf("pausing\n"); /* the test stops microvm after this */
        pause(); /* nothing can come: waits until stopped */
        return 1;
    }
    if (strncmp(k, "sigreturn-", 10) == 0)
        corrupt_and_return(k);
    if (is(k, "handler-unmapped")) {
        install(SIGUSR1, (void (*)(int))0x10000, 0);
        raise(SIGUSR1);
        return 1;
    }
    if (is(k, "errors")) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = note;
        sigset_t set, got_set;
        printf("sigaction KILL %ld\n", raw(SYS_rt_sigaction, SIGKILL, (long)&sa, 0, 8));
        printf("sigaction STOP %ld\n", raw(SYS_rt_sigaction, SIGSTOP, (long)&sa, 0, 8));
        printf("sigaction KILL query %ld\n", raw(SYS_rt_sigaction, SIGKILL, 0, (long)&old, 8));
        printf("sigaction 0 %ld\n", raw(SYS_rt_sigaction, 0, 0, (long)&old, 8));
        printf("sigaction 65 %ld\n", raw(SYS_rt_sigaction, 65, 0, (long)&old, 8));
        printf("sigaction size 4 %ld\n", raw(SYS_rt_sigaction, SIGUSR1, 0, (long)&old, 4));
        printf("sigaction bad act %ld\n", raw(SYS_rt_sigaction, SIGUSR1, 8, 0, 8));
        printf("sigaction bad oact %ld\n", raw(SYS_rt_sigaction, SIGUSR1, 0, 8, 8));
        sigemptyset(&set);
        sigaddset(&set, SIGKILL);
        sigaddset(&set, SIGSTOP);
        sigaddset(&set, SIGUSR2);
        printf("procmask how 7 %ld\n", raw(SYS_rt_sigprocmask, 7, (long)&set, 0, 8));
        printf("procmask size 16 %ld\n", raw(SYS_rt_sigprocmask, SIG_BLOCK, (long)&set, 0, 16));
        printf("procmask bad set %ld\n", raw(SYS_rt_sigprocmask, SIG_BLOCK, 8, 0, 8));
        printf("procmask block %ld\n", raw(SYS_rt_sigprocmask, SIG_BLOCK, (long)&set, 0, 8));
        raw(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&got_set, 8);
        printf("KILL blocked %d STOP blocked %d USR2 blocked %d\n", sigismember(&got_set, SIGKILL),
               sigismember(&got_set, SIGSTOP), sigismember(&got_set, SIGUSR2));
        printf("pending size 16 %ld\n", raw(SYS_rt_sigpending, (long)&got_set, 16, 0, 0));
        printf("pending bad %ld\n", raw(SYS_rt_sigpending, 8, 8, 0, 0));
        stack_t ss = {.ss_sp = altstack, .ss_size = 100, .ss_flags = 0};
        printf("altstack small %ld\n", raw(SYS_sigaltstack, (long)&ss, 0, 0, 0));
        ss.ss_size = sizeof altstack;
        ss.ss_flags = 7;
        printf("altstack flags %ld\n", raw(SYS_sigaltstack, (long)&ss, 0, 0, 0));
        ss.ss_flags = 0;
        printf("altstack bad %ld\n", raw(SYS_sigaltstack, 8, 0, 0, 0));
        printf("altstack set %ld\n", raw(SYS_sigaltstack, (long)&ss, 0, 0, 0));
        install(SIGUSR1, on_alt, SA_ONSTACK);
        raise(SIGUSR1);
        printf("altstack change on it: %s\n", change_errno == EPERM ? "EPERM" : "not EPERM");
        ss.ss_flags = SS_DISABLE;
        printf("altstack disable %ld\n", raw(SYS_sigaltstack, (long)&ss, 0, 0, 0));
        stack_t now;
        raw(SYS_sigaltstack, 0, (long)&now, 0, 0);
        printf("altstack now flags %d size %zu\n", now.ss_flags, now.ss_size);
        printf("kill nobody %ld\n", raw(SYS_kill, 0x3fffffff, SIGUSR1, 0, 0));
        printf("kill self 0 %ld\n", raw(SYS_kill, getpid(), 0, 0, 0));
        printf("kill self 65 %ld\n", raw(SYS_kill, getpid(), 65, 0, 0));
        printf("tkill 0 %ld\n", raw(SYS_tkill, 0, SIGUSR1, 0, 0));
        printf("tgkill -1 %ld\n", raw(SYS_tgkill, -1, getpid(), SIGUSR1, 0));
        printf("tgkill 65 %ld\n", raw(SYS_tgkill, getpid(), getpid(), 65, 0));
        return 0;
    }
    if (is(k, "sigqueue")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_queued;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGUSR1, &sa, 0);
        union sigval val = {.sival_int = 42};
        sigqueue(getpid(), SIGUSR1, val);
        printf("sigqueue: value %d code %d from itself %d\n", queued_value, queued_code,
               queued_pid == getpid());
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_code = SI_QUEUE;
        si.si_pid = 77;
        si.si_value.sival_ptr = (void *)0x1234;
        long r = raw(SYS_rt_tgsigqueueinfo, getpid(), getpid(), SIGUSR1, (long)&si);
        printf("tgsigqueueinfo %ld value %#x sender 77 %d\n", r, queued_value, queued_pid == 77);
        si.si_code = 0; /* kill(2)'s: not for another process */
        printf("to nobody as kill %ld\n", raw(SYS_rt_sigqueueinfo, 0x3fffffff, SIGUSR1, (long)&si, 0));
        si.si_code = SI_QUEUE;
        printf("to nobody %ld\n", raw(SYS_rt_sigqueueinfo, 0x3fffffff, SIGUSR1, (long)&si, 0));
        printf("bad info %ld\n", raw(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, 8, 0));
        return 0;
    }
    if (is(k, "handler-noncanonical")) {
        install(SIGUSR1, (void (*)(int))0x8000000000000000ul, 0);
        raise(SIGUSR1);
        return 1;
    }
    if (is(k, "no-room")) {
        /* The handler's frame would go below a stack pointer nothing is
         * mapped under: SIGSEGV, which then kills. */
        install(SIGUSR1, note, 0);
        __asm__ volatile("mov %%rsp, %%rbx\n mov $0x10000, %%rsp\n"
                         "mov $62, %%eax\n mov %0, %%rdi\n mov $10, %%esi\n syscall\n"
                         "mov %%rbx, %%rsp\n"
                         :
                         : "r"((long)getpid())
                         : "rax", "rbx", "rdi", "rsi", "rcx", "r11", "memory");
        return 1;
    }
    fprintf(stderr, "unknown case %s\n", k);
    return 2;
}
