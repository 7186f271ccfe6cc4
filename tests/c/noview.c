/* The guest's own /proc/self without --fs-root: `label=value` lines.
 * Nothing here may need a host syscall that the seccomp filter keeps for
 * runs with a view. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void try(const char *label, const char *path) {
    char buf[256];
    int fd = open(path, O_RDONLY);
    long n = fd < 0 ? -errno : read(fd, buf, sizeof buf);
    printf("%s=%s\n", label, n > 0 ? "ok" : n == 0 ? "empty" : strerror((int)-n));
    if (fd >= 0)
        close(fd);
}

int main(void) {
    char buf[256];
    long n = readlink("/proc/self/fd/1", buf, sizeof buf);
    printf("fd_link.stdout=%ld\n", n < 0 ? -errno : n);
    n = readlink("/proc/self/exe", buf, sizeof buf);
    printf("exe=%s\n", n > 0 ? "ok" : "fail");
    try("cmdline", "/proc/self/cmdline");
    try("maps", "/proc/self/maps");
    try("auxv", "/proc/self/auxv");
    try("passwd", "/etc/passwd");
    DIR *d = opendir("/proc/self/fd");
    int entries = 0;
    while (d && readdir(d))
        entries++;
    printf("fd_dir.entries=%d\n", entries);
    return 0;
}
