/* Every call that would change a file, on argv[1]: a read-only mount
   holding "data" (a file), "link" (a symlink to "data") and "sub/" (an
   empty directory), with argv[1] as the working directory. Prints
   `label=value` (a failure is -errno); tests/fsinfo.rs runs it natively
   and under microvm and requires the same lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define T(label, call) printf("%s=%ld\n", label, (long)(call) < 0 ? (long)-errno : (long)(call))

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0)
        return 2;
    long dirfd = open(".", O_RDONLY | O_DIRECTORY);
    long fd = open("data", O_RDONLY);
    long pfd = open("data", O_PATH);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};

    T("mkdir.new", syscall(SYS_mkdir, "new", 0755));
    T("mkdir.new_slash", syscall(SYS_mkdir, "new/", 0755));
    T("mkdir.existing", syscall(SYS_mkdir, "data", 0755));
    T("mkdir.dot", syscall(SYS_mkdir, ".", 0755));
    T("mkdir.missing_parent", syscall(SYS_mkdir, "nope/new", 0755));
    T("mkdir.file_parent", syscall(SYS_mkdir, "data/new", 0755));
    T("mkdirat.new", syscall(SYS_mkdirat, dirfd, "sub/new", 0755));
    T("mkdirat.badfd", syscall(SYS_mkdirat, 99, "new", 0755));
    T("mkdirat.efault", syscall(SYS_mkdirat, dirfd, (char *)8, 0755));
    T("mknod.fifo", syscall(SYS_mknod, "fifo", S_IFIFO | 0644, 0));
    T("mknod.dir", syscall(SYS_mknod, "fifo", S_IFDIR | 0644, 0));
    T("mknod.badtype", syscall(SYS_mknod, "fifo", 0170000, 0));
    T("mknod.slash", syscall(SYS_mknod, "fifo/", S_IFIFO | 0644, 0));
    T("mknodat.existing", syscall(SYS_mknodat, dirfd, "link", S_IFREG | 0644, 0));
    T("symlink.new", syscall(SYS_symlink, "data", "newlink"));
    T("symlink.existing", syscall(SYS_symlink, "data", "sub"));
    T("symlink.empty_target", syscall(SYS_symlink, "", "newlink"));
    T("symlinkat.new", syscall(SYS_symlinkat, "x", dirfd, "sub/l"));
    T("link.new", syscall(SYS_link, "data", "hard"));
    T("link.missing", syscall(SYS_link, "nope", "hard"));
    T("link.existing", syscall(SYS_link, "data", "link"));
    T("linkat.badflags", syscall(SYS_linkat, dirfd, "data", dirfd, "hard", 0x1));
    T("linkat.follow", syscall(SYS_linkat, dirfd, "link", dirfd, "hard", AT_SYMLINK_FOLLOW));
    T("unlink.data", syscall(SYS_unlink, "data"));
    T("unlink.missing", syscall(SYS_unlink, "nope"));
    T("unlink.missing_parent", syscall(SYS_unlink, "nope/x"));
    T("unlink.dotdot", syscall(SYS_unlink, ".."));
    T("unlinkat.dir", syscall(SYS_unlinkat, dirfd, "sub", AT_REMOVEDIR));
    T("unlinkat.badflags", syscall(SYS_unlinkat, dirfd, "sub", 0x1));
    T("rmdir.sub", syscall(SYS_rmdir, "sub"));
    T("rmdir.dot", syscall(SYS_rmdir, "."));
    T("rmdir.dotdot", syscall(SYS_rmdir, "sub/.."));
    T("rmdir.missing", syscall(SYS_rmdir, "nope"));
    T("rename.data", syscall(SYS_rename, "data", "moved"));
    T("rename.missing_parent", syscall(SYS_rename, "data", "nope/moved"));
    T("rename.dot", syscall(SYS_rename, ".", "moved"));
    T("renameat.data", syscall(SYS_renameat, dirfd, "data", dirfd, "sub/moved"));
    T("renameat2.badflags", syscall(SYS_renameat2, dirfd, "data", dirfd, "x", 0x100));
    T("renameat2.both", syscall(SYS_renameat2, dirfd, "data", dirfd, "x", 3));
    T("renameat2.noreplace", syscall(SYS_renameat2, dirfd, "data", dirfd, "x", 1));
    T("chmod.data", syscall(SYS_chmod, "data", 0600));
    T("chmod.missing", syscall(SYS_chmod, "nope", 0600));
    T("fchmodat.data", syscall(SYS_fchmodat, dirfd, "data", 0600));
    T("chown.data", syscall(SYS_chown, "data", 0, 0));
    T("lchown.link", syscall(SYS_lchown, "link", 0, 0));
    T("fchownat.badflags", syscall(SYS_fchownat, dirfd, "data", 0, 0, 0x1));
    T("fchownat.empty", syscall(SYS_fchownat, fd, "", 0, 0, AT_EMPTY_PATH));
    T("truncate.data", syscall(SYS_truncate, "data", 0));
    T("truncate.negative", syscall(SYS_truncate, "data", -1L));
    T("truncate.dir", syscall(SYS_truncate, "sub", 0));
    T("truncate.missing", syscall(SYS_truncate, "nope", 0));
    T("utimensat.now", syscall(SYS_utimensat, dirfd, "data", now, 0));
    T("utimensat.null", syscall(SYS_utimensat, dirfd, "data", NULL, 0));
    T("utimensat.omit", syscall(SYS_utimensat, dirfd, "data", omit, 0));
    T("utimensat.bad", syscall(SYS_utimensat, dirfd, "data", bad, 0));
    T("utimensat.badflags", syscall(SYS_utimensat, dirfd, "data", now, 0x1));
    T("utimensat.fd", syscall(SYS_utimensat, fd, NULL, now, 0));
    T("utimensat.missing", syscall(SYS_utimensat, dirfd, "nope", now, 0));
    T("fchmod.fd", syscall(SYS_fchmod, fd, 0600));
    T("fchmod.opath", syscall(SYS_fchmod, pfd, 0600));
    T("fchmod.badfd", syscall(SYS_fchmod, 99, 0600));
    T("fchown.fd", syscall(SYS_fchown, fd, 0, 0));
    T("ftruncate.fd", syscall(SYS_ftruncate, fd, 0));
    T("ftruncate.negative", syscall(SYS_ftruncate, fd, -1L));
    T("ftruncate.dir", syscall(SYS_ftruncate, dirfd, 0));
    T("ftruncate.badfd", syscall(SYS_ftruncate, 99, 0));
    T("fallocate.fd", syscall(SYS_fallocate, fd, 0, 0L, 10L));
    T("fallocate.badlen", syscall(SYS_fallocate, fd, 0, 0L, 0L));
    T("creat.data", syscall(SYS_creat, "data", 0644));
    T("creat.new", syscall(SYS_creat, "new", 0644));
    return 0;
}
