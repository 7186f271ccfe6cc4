/* The memory syscalls, for tests/strace.rs (see strace_files.c): anonymous
   mmap, mprotect, madvise(MADV_DONTNEED), mremap, munmap and brk, as raw
   syscalls. Failures are ignored. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    long p = syscall(SYS_mmap, 0, 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long q = syscall(SYS_mmap, 0, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != -1)
        *(volatile char *)p = 1;
    syscall(SYS_mprotect, p, 4096, PROT_READ);
    syscall(SYS_mprotect, p + 4096, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
    syscall(SYS_madvise, p, 8192, MADV_DONTNEED);
    long r = syscall(SYS_mremap, p, 16384, 32768, MREMAP_MAYMOVE);
    if (r != -1)
        p = r;
    syscall(SYS_munmap, p, 32768);
    syscall(SYS_munmap, q, 1 << 20);
    syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_SHARED, 0, 0);
    long b = syscall(SYS_brk, 0);
    syscall(SYS_brk, b + 8192);
    syscall(SYS_brk, b);
    return 0;
}
