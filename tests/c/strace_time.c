/* The clock syscalls, for tests/strace.rs (see strace_files.c). Raw
   syscalls: the C libraries read these clocks through the vDSO, which a
   native run would not show. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    struct timespec ts = {0, 0};
    struct timeval tv;
    time_t t;

    syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &ts);
    syscall(SYS_clock_getres, CLOCK_MONOTONIC, &ts);
    syscall(SYS_clock_getres, CLOCK_PROCESS_CPUTIME_ID, NULL);
    ts.tv_sec = 0;
    ts.tv_nsec = 0;
    syscall(SYS_nanosleep, &ts, NULL);
    syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
    syscall(SYS_gettimeofday, &tv, NULL);
    syscall(SYS_time, NULL);
    syscall(SYS_time, &t);
    return 0;
}
