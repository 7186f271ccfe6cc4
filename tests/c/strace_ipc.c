/* futex, pipes and poll/select inside one single-threaded process, for
   tests/strace.rs (see strace_files.c). Raw syscalls, every result
   ignored: the trace is what is compared. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* musl-gcc has no <linux/futex.h>; these are its values. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif

static void futexes(void)
{
    static int word[4] = {7, 0, 0, 0};
    struct timespec short_wait = {0, 1000}, zero = {0, 0}, bad = {0, 1000000000};
    int p = FUTEX_PRIVATE_FLAG;

    syscall(SYS_futex, &word[0], FUTEX_WAKE | p, 1, NULL, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_WAKE, 1, NULL, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_WAIT | p, 6, NULL, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_WAIT | p, 7, &short_wait, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_WAIT | p, 7, &bad, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_WAIT | p, 7, (void *)8, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_WAIT_BITSET | p, 7, &zero, NULL, -1);
    syscall(SYS_futex, &word[0], FUTEX_WAIT_BITSET | p | FUTEX_CLOCK_REALTIME, 7, &zero, NULL, -1);
    syscall(SYS_futex, &word[0], FUTEX_WAIT_BITSET | p, 7, &zero, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_WAIT | p | FUTEX_CLOCK_REALTIME, 7, &short_wait, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_WAKE | p | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_WAKE_BITSET | p, 1, NULL, NULL, 0);
    syscall(SYS_futex, (char *)&word[0] + 1, FUTEX_WAIT | p, 7, NULL, NULL, 0);
    syscall(SYS_futex, (char *)&word[0] + 1, FUTEX_WAKE | p, 1, NULL, NULL, 0);
    syscall(SYS_futex, NULL, FUTEX_WAIT | p, 0, NULL, NULL, 0);
    syscall(SYS_futex, NULL, FUTEX_WAKE | p, 1, NULL, NULL, 0);
    syscall(SYS_futex, NULL, FUTEX_WAKE, 1, NULL, NULL, 0);
    syscall(SYS_futex, &word[0], 99 | p, 1, NULL, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_REQUEUE | p, 1, (void *)1, &word[1], 0);
    syscall(SYS_futex, &word[0], FUTEX_CMP_REQUEUE | p, 1, (void *)1, &word[1], 7);
    syscall(SYS_futex, &word[0], FUTEX_CMP_REQUEUE | p, 1, (void *)1, &word[1], 8);
    syscall(SYS_futex, &word[0], FUTEX_CMP_REQUEUE | p, -1, (void *)1, &word[1], 7);
    /* *word[2] += 5 if ... then compare: the word changes. */
    syscall(SYS_futex, &word[0], FUTEX_WAKE_OP | p, 1, (void *)1, &word[2],
            (1 << 28) | (5 << 12) | (0 << 24) | 0);
    syscall(SYS_futex, &word[2], FUTEX_WAIT | p, 5, &zero, NULL, 0);
    syscall(SYS_futex, &word[0], FUTEX_WAKE_OP | p, 1, (void *)1, &word[2], 7u << 28);
    syscall(SYS_futex, &word[0], FUTEX_WAKE_OP | p, 1, (void *)1, &word[2], 15u << 24);
    syscall(SYS_futex, &word[2], FUTEX_WAIT | p, 10, &zero, NULL, 0);
}

static char huge_read_buf[8];

static void pipes(void)
{
    int p[2], q[2] = {-1, -1}, d;
    char buf[8];
    struct stat st;

    syscall(SYS_pipe, p);
    syscall(SYS_pipe2, q, O_CLOEXEC | O_NONBLOCK);
    syscall(SYS_pipe2, NULL, 0);
    syscall(SYS_write, p[1], "hello", 5);
    syscall(SYS_read, p[0], buf, 3);
    syscall(SYS_read, p[0], buf, sizeof buf);
    syscall(SYS_read, q[0], buf, sizeof buf);
    syscall(SYS_write, p[0], "x", 1);
    syscall(SYS_read, p[1], buf, 1);
    syscall(SYS_fstat, p[0], &st);
    syscall(SYS_fcntl, q[0], F_GETFL);
    syscall(SYS_fcntl, q[1], F_GETFD);
    syscall(SYS_fcntl, p[0], F_GETPIPE_SZ);
    syscall(SYS_fcntl, p[0], F_SETPIPE_SZ, 4096);
    syscall(SYS_fcntl, p[1], F_GETPIPE_SZ);
    syscall(SYS_fcntl, p[0], F_SETPIPE_SZ, 100000);
    syscall(SYS_fcntl, p[0], F_GETPIPE_SZ);
    syscall(SYS_lseek, p[0], 0, SEEK_SET);
    d = syscall(SYS_dup, p[1]);
    syscall(SYS_close, p[1]);
    syscall(SYS_write, d, "ab", 2);
    syscall(SYS_close, d);
    /* Only what is copied must be writable: 2 bytes of this huge count.
       Into a static buffer: the whole range must still lie in user space
       (Linux's access_ok), which a stack buffer near a randomised stack
       top may not. */
    syscall(SYS_read, p[0], huge_read_buf, 1 << 30);
    syscall(SYS_read, p[0], buf, sizeof buf);
    syscall(SYS_close, p[0]);
    syscall(SYS_close, q[0]);
    syscall(SYS_close, q[1]);
}

static void polls(void)
{
    int p[2];
    struct pollfd fds[4];
    struct timespec zero = {0, 0}, ms = {0, 1000000};
    fd_set r, w;
    struct timeval tv = {0, 1000};
    char buf[1];

    syscall(SYS_pipe2, p, 0);
    fds[0] = (struct pollfd){.fd = p[0], .events = POLLIN};
    fds[1] = (struct pollfd){.fd = p[1], .events = POLLOUT | POLLIN};
    fds[2] = (struct pollfd){.fd = 77, .events = POLLIN};
    fds[3] = (struct pollfd){.fd = -1, .events = POLLIN};
    syscall(SYS_poll, fds, 4, 0);
    syscall(SYS_poll, fds, 1, 1);
    syscall(SYS_write, p[1], "x", 1);
    syscall(SYS_poll, fds, 2, -1);
    syscall(SYS_ppoll, fds, 1, &zero, NULL, 8);
    syscall(SYS_ppoll, fds, 1, &ms, NULL, 8);
    syscall(SYS_ppoll, fds, 1, (void *)8, NULL, 8);
    syscall(SYS_poll, NULL, 100000, 0);
    syscall(SYS_poll, NULL, 1, 0);
    syscall(SYS_poll, NULL, 0, 0);
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    syscall(SYS_select, p[1] + 1, &r, &w, NULL, &tv);
    syscall(SYS_read, p[0], buf, 1);
    tv = (struct timeval){0, 1000};
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &zero, NULL);
    FD_ZERO(&r);
    FD_SET(40, &r);
    tv = (struct timeval){0, 1000};
    syscall(SYS_select, 41, &r, NULL, NULL, &tv);
    syscall(SYS_select, -1, NULL, NULL, NULL, &tv);
    syscall(SYS_close, p[1]);
    syscall(SYS_poll, fds, 1, 0);
    syscall(SYS_close, p[0]);
}

int main(void)
{
    futexes();
    pipes();
    polls();
    return 0;
}
