/* rseq(2), for tests/strace.rs (see strace_files.c): glibc's own area
   unregistered (musl registers none), then an area of the program's own
   registered, refused on each of Linux's checks, and unregistered; the CPU
   numbers the kernel writes in it are printed. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <sys/rseq.h>
#endif

/* struct rseq (linux/rseq.h, which musl-gcc does not see). */
struct area {
    uint32_t cpu_id_start;
    uint32_t cpu_id;
    uint64_t rseq_cs;
    uint32_t flags;
    uint32_t node_id;
    uint32_t mm_cid;
} __attribute__((aligned(32)));

static struct area area, other;

#define SIG 0x12345678

static long rseq(void *at, unsigned len, int flags, unsigned sig)
{
    return syscall(SYS_rseq, at, len, flags, sig);
}

int main(void)
{
#ifdef __GLIBC__
    if (__rseq_size > 0) {
        struct area *own = (void *)((char *)__builtin_thread_pointer() + __rseq_offset);
        rseq(own, 32, 1, SIG);
        rseq(own, 64, 1, 0x53053053);
        rseq(own, 32, 1, 0x53053053);
        printf("glibc's after: %d\n", (int)own->cpu_id);
    }
#endif
    rseq((char *)&area + 4, 32, 0, SIG);
    rseq(&area, 31, 0, SIG);
    rseq(&area, 32, 2, SIG);
    rseq((void *)0x7ffffffff000, 32, 0, SIG);
    area.cpu_id = 77;
    area.cpu_id_start = 77;
    rseq(&area, 32, 0, SIG);
    printf("registered: %u %u\n", area.cpu_id_start, area.cpu_id);
    rseq(&area, 32, 0, SIG);
    rseq(&area, 32, 0, SIG + 1);
    rseq(&other, 32, 0, SIG);
    rseq(&area, 64, 0, SIG);
    rseq(&area, 32, 3, SIG);
    rseq(&other, 32, 1, SIG);
    rseq(&area, 32, 1, SIG + 1);
    rseq(&area, 32, 1, SIG);
    printf("unregistered: %u %d\n", area.cpu_id_start, (int)area.cpu_id);
    rseq(&area, 32, 1, SIG);
    return 0;
}
