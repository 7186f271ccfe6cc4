/* Limits and the system's identity, for tests/strace.rs (see
   strace_files.c): prlimit64, getrlimit, uname, getrandom,
   sched_getaffinity, as raw syscalls. */
#define _GNU_SOURCE
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void)
{
    struct rlimit rl;
    struct utsname u;
    unsigned char buf[16];
    unsigned long mask[16];

    syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl);
    syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &rl);
    syscall(SYS_prlimit64, 0, RLIMIT_AS, NULL, &rl);
    syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl);
    syscall(SYS_getrlimit, RLIMIT_CORE, &rl);
    syscall(SYS_uname, &u);
    syscall(SYS_getrandom, buf, sizeof buf, 0);
    syscall(SYS_getrandom, buf, 4, GRND_NONBLOCK);
    syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    return 0;
}
