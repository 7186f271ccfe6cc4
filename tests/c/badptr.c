/* Syscalls with bad pointers and lengths, each answer printed: run
 * natively and under microvm by tests/hostile.rs, which compares the two
 * outputs line by line. Only cases whose answer does not depend on the
 * environment (file contents, what fd 0 is) are here. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KERNEL 0xffffffff80001000UL
#define NONCANON 0x0000800000000000UL
#define TOP 0x00007ffffffff000UL /* last page of user space, unmapped */

static void show(const char *what, long r) {
    printf("%s %ld\n", what, r < 0 ? -(long)errno : r);
}

int main(void) {
    static char buf[64];
    unsigned long iov[2] = {KERNEL, 5};
    show("write NULL", syscall(SYS_write, 1, 0, 5));
    show("write kernel", syscall(SYS_write, 1, KERNEL, 5));
    show("write non-canonical", syscall(SYS_write, 1, NONCANON, 5));
    show("write top of user space", syscall(SYS_write, 1, TOP, 5));
    show("read kernel", syscall(SYS_read, 0, KERNEL, 5));
    show("writev NULL", syscall(SYS_writev, 1, 0, 1));
    show("writev kernel base", syscall(SYS_writev, 1, iov, 1));
    show("writev 2^31 iovecs", syscall(SYS_writev, 1, iov, 1UL << 31));
    show("open NULL", syscall(SYS_open, 0, 0));
    show("open kernel", syscall(SYS_open, KERNEL, 0));
    show("openat non-canonical", syscall(SYS_openat, -100, NONCANON, 0));
    show("stat kernel buffer", syscall(SYS_stat, "/", KERNEL));
    show("uname NULL", syscall(SYS_uname, 0));
    show("clock_gettime kernel", syscall(SYS_clock_gettime, 0, KERNEL));
    show("gettimeofday non-canonical", syscall(SYS_gettimeofday, NONCANON, 0));
    show("getrandom kernel", syscall(SYS_getrandom, KERNEL, 16, 0));
    show("nanosleep NULL", syscall(SYS_nanosleep, 0, 0));
    show("getrlimit NULL", syscall(SYS_getrlimit, 7, 0));
    show("readlink NULL", syscall(SYS_readlink, 0, buf, sizeof buf));
    show("readlink u64::MAX size", syscall(SYS_readlink, "/", buf, ~0UL));
    show("getcwd kernel", syscall(SYS_getcwd, KERNEL, 4096));
    show("munmap kernel", syscall(SYS_munmap, KERNEL & ~0xfffUL, 4096));
    show("munmap 2^63 bytes", syscall(SYS_munmap, 0x10000000UL, 1UL << 63));
    return 0;
}
