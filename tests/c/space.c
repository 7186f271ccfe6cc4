/* The address space against a hostile program (issue 9, findings 1, 2, 6
 * and 8), chosen by argv[1]:
 *   linux      answers Linux gives (run natively as a non-root user to
 *              compare): one "name=answer" line each
 *   huge       a 64 TiB PROT_NONE reservation, mprotect'ed and unmapped
 *   count      PROT_NONE pages with holes between them until ENOMEM
 *   stride N   map, touch and unmap one page at 1 GiB strides N times,
 *              then mmap(NULL, 4096), then read the last unmapped page
 *              (which must fault)
 *   relink N   N times: map P, unmap it, map Q (1 GiB on, so its tables
 *              may be P's old ones), write it, map P afresh: P must read
 *              0, never Q's bytes through a translation the KVM kept */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096UL

static const char *err(long r)
{
    if (r != -1)
        return r == 0 ? "0" : "ok";
    switch (errno) {
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    default: return strerror(errno);
    }
}

static long map(uintptr_t addr, size_t len, int prot, int flags)
{
    void *p = mmap((void *)addr, len, prot, flags | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? -1 : (long)p;
}

static int linux_answers(void)
{
    long page = map(0, PAGE, PROT_READ | PROT_WRITE, 0);
    printf("set_fs_kernel=%s\n", err(syscall(SYS_arch_prctl, ARCH_SET_FS, 0xffffffff80000000UL)));
    printf("set_gs_kernel=%s\n", err(syscall(SYS_arch_prctl, ARCH_SET_GS, 0xffff888000000000UL)));
    printf("set_fs_noncanonical=%s\n", err(syscall(SYS_arch_prctl, ARCH_SET_FS, 0x800000000000UL)));
    printf("set_gs_top=%s\n", err(syscall(SYS_arch_prctl, ARCH_SET_GS, 0x7ffffffff000UL)));
    printf("mprotect_len0=%s\n", err(mprotect((void *)page, 0, PROT_READ)));
    printf("mprotect_len0_unaligned=%s\n", err(mprotect((void *)(page + 1), 0, PROT_READ)));
    printf("mprotect_unmapped=%s\n", err(mprotect((void *)0x100000, PAGE, PROT_READ)));
    printf("mprotect_badbits=%s\n", err(mprotect((void *)page, PAGE, 0x100)));
    printf("munmap_len0=%s\n", err(munmap((void *)page, 0)));
    printf("munmap_low=%s\n", err(munmap((void *)0x1000, PAGE)));
    printf("munmap_past_top=%s\n", err(munmap((void *)0x7ffffffff000UL, 2 * PAGE)));
    printf("fixed_page1=%s\n", err(map(0x1000, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED)));
    printf("fixed_below_64k=%s\n", err(map(0xf000, PAGE, PROT_READ, MAP_FIXED)));
    printf("noreplace_page0=%s\n", err(map(0, PAGE, PROT_READ, MAP_FIXED_NOREPLACE)));
    printf("fixed_64k=%s\n", err(map(0x10000, PAGE, PROT_READ, MAP_FIXED) == 0x10000 ? 0 : -1));
    long low = map(0x1000, PAGE, PROT_READ, 0);
    printf("hint_low=%s\n", low >= 0x10000 ? "moved up" : "below 64 KiB");
    printf("fixed_past_top=%s\n", err(map(0x7ffffffff000UL, 2 * PAGE, PROT_READ, MAP_FIXED)));
    /* The stack: glibc's execstack path mprotects it; MAP_FIXED and
     * munmap there are allowed. */
    char local = 1;
    uintptr_t sp = (uintptr_t)&local & ~(PAGE - 1);
    printf("mprotect_stack_exec=%s\n", err(mprotect((void *)sp, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC)));
    printf("mprotect_stack_back=%s\n", err(mprotect((void *)sp, PAGE, PROT_READ | PROT_WRITE)));
    uintptr_t deep = sp - 16 * PAGE;
    printf("fixed_stack=%s\n", err(map(deep, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED) == (long)deep ? 0 : -1));
    *(volatile char *)deep = 5;
    printf("munmap_stack=%s\n", err(munmap((void *)deep, PAGE)));
    return local == 1 ? 0 : 1;
}

static int huge(void)
{
    size_t len = 64UL << 40;
    long p = map(0, len, PROT_NONE, MAP_NORESERVE);
    printf("reserve=%s\n", err(p == -1 ? -1 : 0));
    if (p == -1)
        return 1;
    printf("mprotect_none=%s\n", err(mprotect((void *)p, len, PROT_NONE)));
    printf("mprotect_read_16g=%s\n", err(mprotect((void *)p, 16UL << 30, PROT_READ)));
    printf("mprotect_read_1m=%s\n", err(mprotect((void *)(p + (1UL << 40)), 1 << 20, PROT_READ)));
    printf("read=%d\n", *(volatile char *)(p + (1UL << 40)));
    printf("munmap=%s\n", err(munmap((void *)p, len)));
    return 0;
}

static int count(void)
{
    uintptr_t base = 0x100000000000UL;
    long n = 0;
    for (;; n++) {
        long p = map(base + n * 2 * PAGE, PAGE, PROT_NONE, MAP_FIXED_NOREPLACE);
        if (p == -1) {
            printf("mapped %ld, then %s\n", n, err(-1));
            break;
        }
    }
    printf("munmap=%s\n", err(munmap((void *)base, n * 2 * PAGE)));
    printf("mmap_after=%s\n", err(map(0, PAGE, PROT_READ, 0) == -1 ? -1 : 0));
    return 0;
}

static int stride(long cycles)
{
    uintptr_t base = 0x200000000000UL, last = 0;
    for (long i = 0; i < cycles; i++) {
        uintptr_t a = base + ((uintptr_t)i << 30);
        if (map(a, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED) != (long)a) {
            printf("cycle %ld: %s\n", i, err(-1));
            return 1;
        }
        *(volatile long *)a = i + 1;
        if (munmap((void *)a, PAGE) != 0) {
            printf("cycle %ld: munmap %s\n", i, err(-1));
            return 1;
        }
        last = a;
    }
    /* One more page, 1 GiB on: its tables may be the ones the last page
     * had. Reading the last page must still fault, not reach this one. */
    uintptr_t next = base + ((uintptr_t)cycles << 30);
    if (map(next, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED) != (long)next)
        return 1;
    *(volatile long *)next = 0x5eedUL;
    long p = map(0, PAGE, PROT_READ | PROT_WRITE, 0);
    printf("%ld cycles, then mmap(NULL, 4096) %s\n", cycles, err(p == -1 ? -1 : 0));
    fflush(stdout);
    long seen = *(volatile long *)last;
    printf("ALIAS: read %#lx at the unmapped %#lx\n", seen, (unsigned long)last);
    return 3;
}

static int relink(long cycles)
{
    uintptr_t p = 0x300000000000UL, q = p + (1UL << 30), r = p + (2UL << 30);
    for (long i = 0; i < cycles; i++) {
        if (i % 5 == 0) {
            /* Shift which map finds the table pool empty. */
            if (map(r, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED) != (long)r)
                return 1;
            *(volatile long *)r = 1;
            munmap((void *)r, PAGE);
        }
        if (map(p, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED) != (long)p)
            return 1;
        *(volatile long *)p = 1;
        munmap((void *)p, PAGE);
        if (map(q, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED) != (long)q)
            return 1;
        *(volatile long *)q = 0x5eed;
        if (map(p, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED) != (long)p)
            return 1;
        long seen = *(volatile long *)p;
        if (seen != 0) {
            printf("cycle %ld: a fresh page reads %#lx\n", i, seen);
            return 3;
        }
        munmap((void *)p, PAGE);
        munmap((void *)q, PAGE);
    }
    printf("%ld cycles, every fresh page zero\n", cycles);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "linux"))
        return linux_answers();
    if (argc > 1 && !strcmp(argv[1], "huge"))
        return huge();
    if (argc > 1 && !strcmp(argv[1], "count"))
        return count();
    if (argc > 2 && !strcmp(argv[1], "stride"))
        return stride(atol(argv[2]));
    if (argc > 2 && !strcmp(argv[1], "relink"))
        return relink(atol(argv[2]));
    fprintf(stderr, "usage: space linux|huge|count|stride N|relink N\n");
    return 2;
}
