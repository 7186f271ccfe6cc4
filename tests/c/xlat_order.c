/* Calls whose flag and enum arguments strace names: tests/linux_consts.rs
 * runs this under `strace -v` and checks that every name strace prints is
 * in the matching table of abi/src/linux/consts.rs, in the table's order.
 * Each call is harmless; most fail or return at once. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <asm/prctl.h>
#include <netinet/in.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void on_segv(int sig) {
    (void)sig;
    _exit(0);
}

static void on_usr1(int sig) {
    (void)sig;
}

int main(void) {
    char path[] = "/tmp/xlat_order.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    /* open(2) flags; O_ASYNC shows as FASYNC, after the others. */
    int f = syscall(SYS_openat, AT_FDCWD, path,
                    O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NONBLOCK | O_SYNC | O_CLOEXEC |
                        O_NOFOLLOW | O_ASYNC | O_NOATIME | O_DIRECTORY,
                    0600);
    f = syscall(SYS_openat, AT_FDCWD, "/tmp", O_RDWR | O_TMPFILE | O_EXCL, 0600);
    if (f >= 0)
        close(f);
    unlink(path);

    /* fcntl, lseek, dup3 */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_GETFL);
    lseek(fd, 0, SEEK_END);
    int d = dup3(fd, 100, O_CLOEXEC);
    if (d >= 0)
        close(d);

    /* statx: the sync type, then the AT_ flags; the mask. */
    struct statx sx;
    statx(AT_FDCWD, "/", AT_STATX_DONT_SYNC | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
          STATX_ALL | STATX_MNT_ID, &sx);

    /* Signals: sigaction flags, the mask, the signal names, si_codes. */
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART | SA_NODEFER | SA_ONSTACK | SA_SIGINFO | SA_RESETHAND | SA_NOCLDSTOP;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);

    /* poll events */
    struct pollfd p = {fd, POLLIN | POLLPRI | POLLOUT | POLLRDHUP | POLLRDNORM | POLLWRNORM, 0};
    poll(&p, 1, 0);

    /* memory */
    void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE | MAP_STACK |
                       MAP_GROWSDOWN,
                   -1, 0);
    if (m != MAP_FAILED) {
        madvise(m, 4096, MADV_DONTNEED);
        mprotect(m, 4096, PROT_NONE);
        m = mremap(m, 8192, 16384, MREMAP_MAYMOVE);
    }
    unsigned long fsbase;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &fsbase);

    /* time, randomness, limits */
    struct timespec ts = {0, 0};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    char buf[4];
    getrandom(buf, sizeof buf, GRND_NONBLOCK | GRND_RANDOM);
    struct rlimit rl;
    prlimit(0, RLIMIT_NOFILE, NULL, &rl);

    /* processes */
    char name[16];
    prctl(PR_GET_NAME, name);
    int word = 0;
    syscall(SYS_futex, &word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 1,
            NULL, NULL, FUTEX_BITSET_MATCH_ANY);
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    int status;
    waitpid(child, &status, WUNTRACED | WCONTINUED | __WALL);

    /* sockets */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
    if (s >= 0)
        close(s);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0)
        send(sv[0], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE);
    int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
    if (e >= 0)
        close(e);

    /* a terminal: termios flags and the ioctl names */
    int pt = posix_openpt(O_RDWR | O_NOCTTY);
    if (pt >= 0 && grantpt(pt) == 0 && unlockpt(pt) == 0) {
        int tty = open(ptsname(pt), O_RDWR | O_NOCTTY);
        struct termios t;
        ioctl(tty, TCGETS, &t);
        struct winsize ws;
        ioctl(tty, TIOCGWINSZ, &ws);
    }

    /* last: a fault, shown with its si_code */
    signal(SIGSEGV, on_segv);
    *(volatile int *)0 = 1;
    return 1;
}
