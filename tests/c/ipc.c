/* futex, pipes and poll end to end, for tests/ipc.rs: argv[1] picks a
   scenario. The "forever" ones make a call that can never return in a
   single-threaded process; the others print what they saw. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT_PRIVATE 128

static char big[70000];

int main(int argc, char **argv)
{
    static int word = 3;
    int p[2];
    char buf[16] = {0};
    const char *s = argc > 1 ? argv[1] : "";

    if (!strcmp(s, "futex-forever"))
        return syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 3, NULL, NULL, 0);
    if (!strcmp(s, "futex-timeout")) {
        struct timespec t = {0, 20 * 1000 * 1000};
        long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 3, &t, NULL, 0);
        printf("futex=%ld\n", r);
        return 0;
    }
    if (pipe(p))
        return 1;
    if (!strcmp(s, "read-forever"))
        return read(p[0], buf, sizeof buf);
    if (!strcmp(s, "write-forever"))
        return write(p[1], big, sizeof big);
    if (!strcmp(s, "poll-forever")) {
        struct pollfd f = {.fd = p[0], .events = POLLIN};
        return poll(&f, 1, -1);
    }
    if (!strcmp(s, "round-trip")) {
        struct pollfd f = {.fd = p[0], .events = POLLIN};
        int before = poll(&f, 1, 0);
        long w = write(p[1], "ping", 4);
        int after = poll(&f, 1, -1);
        long r = read(p[0], buf, sizeof buf);
        close(p[1]);
        long eof = read(p[0], buf + 8, 8);
        int hup = poll(&f, 1, -1);
        printf("before=%d write=%ld after=%d revents=%#x read=%ld got=%s eof=%ld hup=%d revents=%#x\n",
               before, w, after, POLLIN, r, buf, eof, hup, f.revents);
        return 0;
    }
    if (!strcmp(s, "sigpipe")) {
        close(p[0]);
        write(p[1], "x", 1);
        return 0;
    }
    return 2;
}
