/* What a program asks about files without opening them, for
   tests/strace.rs (see strace_files.c): access and its *at forms, statfs,
   the extended attributes, the positioned reads, and the program's name.
   argv[1] is a read-only mount the test made: it holds "data" (the bytes
   "0123456789abcdef\n", with the attribute user.test="hello" where the
   file system takes one), "link" (a symlink to "data") and "sub/".
   Natively those are the answers of a read-only file system; under
   microvm, of its read-only view. Every failure is ignored. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif

int main(int argc, char **argv)
{
    char buf[256], path[300];
    struct statfs sf;
    struct iovec iov[2] = {{.iov_base = buf, .iov_len = 3}, {.iov_base = buf + 8, .iov_len = 5}};
    long dirfd, fd, comm;
    char *p = path;

    if (argc < 2)
        return 2;
    for (const char *s = argv[1]; *s && p < path + 250; s++)
        *p++ = *s;
    for (const char *s = "/data"; *s; s++)
        *p++ = *s;
    *p = 0;
    dirfd = syscall(SYS_openat, AT_FDCWD, argv[1], O_RDONLY | O_DIRECTORY);
    fd = syscall(SYS_openat, dirfd, "data", O_RDONLY);

    /* access */
    syscall(SYS_access, path, F_OK);
    syscall(SYS_access, path, R_OK);
    syscall(SYS_access, path, W_OK);
    syscall(SYS_access, path, X_OK);
    syscall(SYS_access, path, R_OK | W_OK | X_OK);
    syscall(SYS_access, "/nonexistent-strace-test", F_OK);
    syscall(SYS_access, path, 8);
    syscall(SYS_faccessat, dirfd, "data", R_OK);
    syscall(SYS_faccessat, dirfd, "sub", X_OK);
    syscall(SYS_faccessat, dirfd, "sub", W_OK);
    syscall(SYS_faccessat, dirfd, "nope", R_OK);
    syscall(SYS_faccessat2, dirfd, "link", W_OK, AT_SYMLINK_NOFOLLOW);
    syscall(SYS_faccessat2, dirfd, "link", R_OK, AT_SYMLINK_NOFOLLOW);
    syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH);
    syscall(SYS_faccessat2, fd, "", W_OK, AT_EMPTY_PATH);
    syscall(SYS_faccessat2, dirfd, "data", R_OK, AT_EACCESS);
    syscall(SYS_faccessat2, dirfd, "data", R_OK, 0x10000);
    syscall(SYS_faccessat2, dirfd, "", R_OK, 0);
    syscall(SYS_faccessat2, dirfd, (char *)8, R_OK, 0);

    /* statfs */
    syscall(SYS_statfs, argv[1], &sf);
    syscall(SYS_statfs, path, &sf);
    syscall(SYS_fstatfs, fd, &sf);
    syscall(SYS_fstatfs, dirfd, &sf);
    syscall(SYS_statfs, "/nonexistent-strace-test", &sf);
    syscall(SYS_fstatfs, 99, &sf);
    syscall(SYS_statfs, path, (void *)8);

    /* extended attributes */
    syscall(SYS_getxattr, path, "user.test", buf, sizeof buf);
    syscall(SYS_getxattr, path, "user.test", NULL, 0);
    syscall(SYS_getxattr, path, "user.test", buf, 2);
    syscall(SYS_getxattr, path, "user.nope", buf, sizeof buf);
    syscall(SYS_getxattr, path, "bogus.nope", buf, sizeof buf);
    syscall(SYS_getxattr, path, "", buf, sizeof buf);
    syscall(SYS_getxattr, "/nonexistent-strace-test", "user.test", buf, sizeof buf);
    syscall(SYS_lgetxattr, path, "user.test", buf, sizeof buf);
    syscall(SYS_fgetxattr, fd, "user.test", buf, sizeof buf);
    syscall(SYS_fgetxattr, 99, "user.test", buf, sizeof buf);
    syscall(SYS_listxattr, path, buf, sizeof buf);
    syscall(SYS_listxattr, path, NULL, 0);
    syscall(SYS_llistxattr, argv[1], buf, sizeof buf);
    syscall(SYS_flistxattr, fd, buf, sizeof buf);
    syscall(SYS_flistxattr, dirfd, buf, sizeof buf);
    syscall(SYS_listxattr, path, buf, 3);
    syscall(SYS_getxattr, path, "user.test", buf, 5);
    {
        /* Names of XATTR_NAME_MAX (255) bytes and one more. */
        char name[300] = "user.";
        for (int i = 5; i < 256; i++)
            name[i] = 'n';
        name[255] = 0;
        syscall(SYS_getxattr, path, name, buf, sizeof buf);
        name[255] = 'n';
        syscall(SYS_getxattr, path, name, buf, sizeof buf);
        syscall(SYS_getxattr, path, (char *)8, buf, sizeof buf);
    }
    syscall(SYS_setxattr, path, "user.test", "x", 1, 0);
    syscall(SYS_lsetxattr, path, "user.other", "x", 1, 0);
    syscall(SYS_fsetxattr, fd, "user.test", "x", 1, 0);
    /* Bad flags and an empty name are not compared: which comes first,
       their EINVAL/ERANGE or the read-only mount's EROFS, changed between
       kernels (6.1 checks the mount first, 6.18 the arguments); microvm
       answers as the newer one does. */
    syscall(SYS_removexattr, path, "user.test");
    syscall(SYS_lremovexattr, path, "user.test");
    syscall(SYS_fremovexattr, fd, "user.test");

    /* positioned reads */
    syscall(SYS_pread64, fd, buf, 4, 2);
    syscall(SYS_pread64, fd, buf, 100, 10);
    syscall(SYS_pread64, fd, buf, 4, 1000);
    syscall(SYS_pread64, fd, buf, 4, -1L);
    syscall(SYS_pread64, 99, buf, 4, -1L);
    syscall(SYS_pread64, 99, buf, 4, 0);
    syscall(SYS_pread64, dirfd, buf, 4, 0);
    syscall(SYS_pread64, 0, buf, 4, 0);
    syscall(SYS_pread64, 1, buf, 4, 0);
    syscall(SYS_read, fd, buf, 2);
    syscall(SYS_preadv, fd, iov, 2, 1, 0);
    syscall(SYS_preadv, fd, iov, 2, -1L, 0);
    syscall(SYS_preadv2, fd, iov, 2, -1L, 0, 0);
    syscall(SYS_preadv2, fd, iov, 1, 4, 0, 0x10000);
    syscall(SYS_preadv2, fd, (void *)8, 1, 4, 0, 0x10000);
    syscall(SYS_preadv2, 1, iov, 1, -1L, 0, 0x10000);
    syscall(SYS_preadv, dirfd, iov, 1, 0L, 0);
    syscall(SYS_read, fd, buf, 4);

    /* the program's name */
    comm = syscall(SYS_openat, AT_FDCWD, "/proc/self/comm", O_RDONLY);
    syscall(SYS_read, comm, buf, sizeof buf);
    syscall(SYS_close, comm);
    syscall(SYS_prctl, PR_GET_NAME, buf, 0, 0, 0);
    syscall(SYS_prctl, PR_SET_NAME, "a-name-longer-than-fifteen", 0, 0, 0);
    syscall(SYS_prctl, PR_GET_NAME, buf, 0, 0, 0);
    syscall(SYS_prctl, PR_SET_NAME, (char *)8, 0, 0, 0);
    syscall(SYS_prctl, PR_GET_NAME, (char *)8, 0, 0, 0);
    comm = syscall(SYS_openat, AT_FDCWD, "/proc/self/comm", O_RDONLY);
    syscall(SYS_read, comm, buf, sizeof buf);
    return 0;
}
