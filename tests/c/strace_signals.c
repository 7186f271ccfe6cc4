/* Signal syscalls, for tests/strace.rs (see strace_files.c): calls
   microvm refuses today, which its trace must still decode as strace
   does. Nothing is sent (signal 0) and every failure is ignored. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void handler(int sig)
{
    (void)sig;
}

int main(void)
{
    struct sigaction sa, old;
    sigset_t set, oldset;
    static char altstack[16384];
    stack_t ss = {.ss_sp = altstack, .ss_flags = 0, .ss_size = sizeof altstack}, oss;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, &old);
    sigaction(SIGUSR1, NULL, &old);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &oldset);
    sigprocmask(SIG_SETMASK, NULL, &oldset);
    syscall(SYS_sigaltstack, &ss, NULL);
    syscall(SYS_sigaltstack, NULL, &oss);
    long pid = syscall(SYS_getpid);
    long tid = syscall(SYS_gettid);
    syscall(SYS_kill, pid, 0);
    syscall(SYS_tgkill, pid, tid, 0);
    return 0;
}
