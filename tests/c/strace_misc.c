/* Sockets, poll, prctl, futex and writev, for tests/strace.rs (see
   strace_files.c): mostly calls microvm refuses today, which its trace
   must still decode as strace does. Every failure is ignored. */
#define _GNU_SOURCE
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* musl-gcc has no <linux/futex.h>; these are its values. */
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)

int main(void)
{
    char name[16];
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    static int word;
    struct iovec empty[2] = {{.iov_base = NULL, .iov_len = 0}, {.iov_base = "", .iov_len = 0}};

    long s = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    if (s >= 0)
        syscall(SYS_close, s);
    s = syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s >= 0)
        syscall(SYS_close, s);
    syscall(SYS_poll, &pfd, 1, 0);
    syscall(SYS_prctl, PR_SET_NAME, "strace-test", 0, 0, 0);
    syscall(SYS_prctl, PR_GET_NAME, name, 0, 0, 0);
    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    syscall(SYS_writev, 1, empty, 2);
    syscall(SYS_writev, 1, NULL, 0);
    return 0;
}
