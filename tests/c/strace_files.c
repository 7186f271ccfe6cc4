/* The file syscalls microvm serves, for tests/strace.rs, which runs this
   natively under strace and under microvm and compares the two traces.
   argv[1] is a directory the test made: it holds "data" (the bytes
   "0123456789abcdef\n"), "link" (a symlink to "data") and "sub/".
   Deterministic, and every failure is ignored: both runs make the same
   calls whatever each answers. The calls are raw syscall(2)s where glibc
   and musl would wrap them differently. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

/* musl before 1.2.5 has no statx(2) declarations. */
#ifndef STATX_BASIC_STATS
#define STATX_BASIC_STATS 0x7ffU
#endif

int main(int argc, char **argv)
{
    char buf[256], path[200];
    struct stat st;
    struct termios tio;
    struct winsize ws;
    long dirfd, fd;

    if (argc < 2)
        return 2;
    dirfd = syscall(SYS_openat, AT_FDCWD, argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    fd = syscall(SYS_openat, dirfd, "data", O_RDONLY);
    syscall(SYS_read, fd, buf, 4);
    syscall(SYS_pread64, fd, buf, 8, 4);
    syscall(SYS_fstat, fd, &st);
    syscall(SYS_newfstatat, dirfd, "data", &st, 0);
    syscall(SYS_newfstatat, dirfd, "link", &st, AT_SYMLINK_NOFOLLOW);
    syscall(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH);
    syscall(SYS_statx, dirfd, "data", AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, buf);
    syscall(SYS_lseek, fd, 2, SEEK_SET);
    syscall(SYS_lseek, fd, -1, SEEK_END);
    syscall(SYS_read, fd, buf, sizeof buf);
    syscall(SYS_read, fd, buf, sizeof buf);
    syscall(SYS_getdents64, dirfd, buf, sizeof buf);
    syscall(SYS_getdents64, dirfd, buf, sizeof buf);
    syscall(SYS_readlinkat, dirfd, "link", buf, sizeof buf);
    syscall(SYS_readlinkat, dirfd, "data", buf, sizeof buf);
    syscall(SYS_readlink, "/proc/self/exe", buf, sizeof buf);
    syscall(SYS_getcwd, path, sizeof path);
    syscall(SYS_openat, AT_FDCWD, "/nonexistent-strace-test", O_RDONLY);
    syscall(SYS_fcntl, fd, F_GETFD);
    syscall(SYS_fcntl, dirfd, F_GETFD);
    syscall(SYS_fcntl, fd, F_GETFL);
    syscall(SYS_fcntl, dirfd, F_GETFL);
    long d = syscall(SYS_dup, fd);
    syscall(SYS_dup3, fd, 10, O_CLOEXEC);
    syscall(SYS_fcntl, 10, F_GETFD);
    syscall(SYS_ioctl, 0, TCGETS, &tio);
    syscall(SYS_ioctl, fd, TCGETS, &tio);
    syscall(SYS_ioctl, 1, TIOCGWINSZ, &ws);
    syscall(SYS_close, 10);
    syscall(SYS_close, d);
    syscall(SYS_close, fd);
    syscall(SYS_close, fd);
    syscall(SYS_close, dirfd);
    return 0;
}
