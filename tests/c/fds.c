/* Waits for one line on stdin (so that a test can look at microvm's own
   descriptors meanwhile), then tries every fd from 3 to 1023 -- none of
   which this program opened -- with read, fstat, lseek, fcntl, dup,
   openat, fstatat and close, and prints each answer that is not EBADF.
   The run goes on afterwards: microvm's KVM, trace and view descriptors
   must be untouched, and the view still reachable through the program's
   own table. Last, it opens a file until its table is full: each open
   holds a host descriptor, and microvm's RLIMIT_NOFILE must leave room
   for all of them (EMFILE at the guest's limit of 1024, not before). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int bad;

static void expect_ebadf(const char *what, int fd, long r)
{
    if (r != -1 || errno != EBADF) {
        printf("%s(%d) = %ld, errno %d\n", what, fd, r, errno);
        bad++;
    }
}

int main(void)
{
    char buf[64];
    struct stat st;

    if (read(0, buf, sizeof buf) <= 0)
        return 2;
    for (int fd = 3; fd < 1024; fd++) {
        errno = 0;
        expect_ebadf("read", fd, read(fd, buf, sizeof buf));
        errno = 0;
        expect_ebadf("fstat", fd, fstat(fd, &st));
        errno = 0;
        expect_ebadf("lseek", fd, lseek(fd, 0, SEEK_SET));
        errno = 0;
        expect_ebadf("fcntl", fd, fcntl(fd, F_GETFL));
        errno = 0;
        expect_ebadf("dup", fd, dup(fd));
        errno = 0;
        expect_ebadf("openat", fd, openat(fd, "hello.txt", O_RDONLY));
        errno = 0;
        expect_ebadf("fstatat", fd, fstatat(fd, "hello.txt", &st, 0));
        errno = 0;
        expect_ebadf("close", fd, close(fd));
    }
    int fd = open("/hello.txt", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    printf("probed 3..1023: %d answers other than EBADF\nopen=%d read=%zd\n", bad, fd, n);
    int opened = 0, last = -1;
    for (int i = 0; i < 2000; i++) {
        errno = 0;
        last = open("/hello.txt", O_RDONLY);
        if (last < 0)
            break;
        opened++;
    }
    printf("opened %d more, then errno %d\n", opened, errno);
    return bad != 0;
}
