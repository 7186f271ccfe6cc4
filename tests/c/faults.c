/* Ends badly in the way argv[1] names, so the tests can compare the signal
 * microvm reports with the one strace shows for the same binary run
 * natively (tests/faults.rs): the fault kinds of guest/user's `fault`
 * program, from C.
 *
 * read-null read-unmapped read-kernel write-ro exec-nx read-prot-none hlt
 * noncanonical int-n ud2 div0 int3 icebp single-step alignment x87 simd stack in
 * write-stdout (SIGPIPE when stdout is a pipe with no reader) */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char rodata = 7;

static int is(const char *a, const char *b) { return strcmp(a, b) == 0; }

int main(int argc, char **argv)
{
    const char *k = argc > 1 ? argv[1] : "";
    if (is(k, "read-null"))
        return *(volatile char *)0x10;
    if (is(k, "read-unmapped"))
        return *(volatile char *)0x10000000;
    if (is(k, "read-kernel"))
        return *(volatile char *)0xffffffff80004000ul;
    if (is(k, "write-ro"))
        *(volatile char *)&rodata = 1;
    if (is(k, "exec-nx")) {
        volatile unsigned char ret[4] = {0xc3};
        ((void (*)(void))ret)();
    }
    if (is(k, "read-prot-none")) {
        char *m = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED)
            return *(volatile char *)m;
    }
    if (is(k, "hlt"))
        __asm__ volatile("hlt");
    if (is(k, "noncanonical"))
        return *(volatile char *)0x800000000000ul;
    if (is(k, "int-n"))
        __asm__ volatile("int $0x81");
    if (is(k, "ud2"))
        __asm__ volatile("ud2");
    if (is(k, "div0"))
        __asm__ volatile("div %%rcx" : : "a"(1ul), "d"(0ul), "c"(0ul));
    if (is(k, "int3"))
        __asm__ volatile("int3");
    if (is(k, "icebp"))
        __asm__ volatile(".byte 0xf1"); /* int1: a #DB without single step */
    if (is(k, "single-step"))
        __asm__ volatile("pushfq; orq $0x100, (%rsp); popfq; nop; nop");
    if (is(k, "alignment"))
        __asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq; mov 1(%%rsp), %%rax"
                         : : : "rax");
    if (is(k, "x87")) {
        /* Zero-divide unmasked; the fwait reports it (#MF). */
        unsigned short cw = 0x037b;
        __asm__ volatile("fninit; fldcw %0; fldz; fld1; fdivp; fwait" : : "m"(cw));
    }
    if (is(k, "simd")) {
        unsigned mxcsr = 0x1f80 & ~(1u << 9);
        float one = 1, zero = 0;
        __asm__ volatile("ldmxcsr %0; movss %1, %%xmm0; divss %2, %%xmm0"
                         : : "m"(mxcsr), "m"(one), "m"(zero) : "xmm0");
    }
    if (is(k, "stack"))
        __asm__ volatile("mov $0x800000000010, %rsp; push %rax");
    if (is(k, "in"))
        __asm__ volatile("inb $0x60, %al");
    if (is(k, "write-stdout") && write(1, "x", 1) != 1)
        return 101;
    return 100;
}
