/* The vDSO's calls, for tests/vdso.rs.
 *
 *   vdso loop N    N rounds of clock_gettime (MONOTONIC, REALTIME,
 *                  BOOTTIME, MONOTONIC_RAW, the coarse ones), gettimeofday,
 *                  time and getcpu (and once clock_getres) through the C library
 *                  (the vDSO when there is one); each clock never goes
 *                  backwards; then one clock_gettime of
 *                  CLOCK_PROCESS_CPUTIME_ID, which the vDSO leaves to the
 *                  system call. Prints "ok", the CPU and the node.
 *   vdso agree     each clock read through the C library between two
 *                  direct clock_gettime system calls of the same clock (the
 *                  host's clock, served by microvm): it must lie between
 *                  them, give or take 1 ms. Prints one line per clock.
 *   vdso vvar      mprotect of the page below the vDSO (of its data) to
 *                  read-write: EACCES, as on Linux; then a write to it,
 *                  which faults.
 *   vdso dontneed  MADV_DONTNEED on the data page (EINVAL) and on the
 *                  image, then a clock_gettime through the vDSO.
 *   vdso maps      /proc/self/maps names the vDSO's mappings: prints
 *                  whether [vdso] starts at AT_SYSINFO_EHDR, is r-x, and
 *                  [vvar] (read-only) lies below it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static long long sys_ns(clockid_t c)
{
    struct timespec t;
    if (syscall(SYS_clock_gettime, c, &t) != 0) {
        perror("clock_gettime syscall");
        exit(2);
    }
    return ns(t);
}

static long long lib_ns(clockid_t c)
{
    struct timespec t;
    if (clock_gettime(c, &t) != 0) {
        perror("clock_gettime");
        exit(2);
    }
    return ns(t);
}

static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
                                   CLOCK_MONOTONIC_RAW, CLOCK_TAI, CLOCK_REALTIME_COARSE,
                                   CLOCK_MONOTONIC_COARSE};
#define NCLOCKS (sizeof clocks / sizeof clocks[0])

static int loop(long n)
{
    long long last[NCLOCKS] = {0};
    struct timeval tv;
    struct timespec res;
    unsigned cpu = 99, node = 99;
    time_t last_time = 0;
    /* Once: musl makes it a system call. */
    clock_getres(CLOCK_MONOTONIC, &res);
    for (long i = 0; i < n; i++) {
        for (unsigned k = 0; k < NCLOCKS; k++) {
            long long t = lib_ns(clocks[k]);
            if (t < last[k]) {
                printf("clock %d went back: %lld after %lld\n", clocks[k], t, last[k]);
                return 1;
            }
            last[k] = t;
        }
        gettimeofday(&tv, NULL);
        /* Linux's time() is the last tick's second: it may lag
           gettimeofday by a tick, never by a second, and never goes back. */
        time_t secs = time(NULL);
        if (secs < last_time || secs < tv.tv_sec - 1 || secs > tv.tv_sec + 1) {
            printf("time() %lld, before %lld, gettimeofday %lld\n", (long long)secs,
                   (long long)last_time, (long long)tv.tv_sec);
            return 1;
        }
        last_time = secs;
#ifdef __GLIBC__
        if (getcpu(&cpu, &node) != 0) {
            perror("getcpu");
            return 1;
        }
#else
        /* musl has no getcpu(); its sched_getcpu asks the vDSO's. */
        node = 0;
        cpu = sched_getcpu();
#endif
    }
    /* Not a vDSO clock: the system call, traced. */
    lib_ns(CLOCK_PROCESS_CPUTIME_ID);
    printf("ok cpu %u node %u\n", cpu, node);
    return 0;
}

static int agree(void)
{
    int bad = 0;
    for (unsigned k = 0; k < NCLOCKS; k++) {
        clockid_t c = clocks[k];
        struct timespec r;
        clock_getres(c, &r);
        /* A coarse clock may be a tick behind the fine one. */
        long long slack = 1000000 + ns(r);
        long long before = sys_ns(c), t = lib_ns(c), after = sys_ns(c);
        int ok = t >= before - slack && t <= after + slack;
        printf("clock %d %s: %lld in [%lld, %lld] res %lld\n", c, ok ? "agrees" : "DISAGREES",
               t - before, 0LL, after - before, ns(r));
        bad |= !ok;
    }
    long long before = sys_ns(CLOCK_REALTIME);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t secs = time(NULL);
    long long after = sys_ns(CLOCK_REALTIME);
    long long us = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
    int ok = us >= before - 1000000 - 1000 && us <= after + 1000000;
    printf("gettimeofday %s\n", ok ? "agrees" : "DISAGREES");
    bad |= !ok;
    ok = secs >= before / 1000000000 - 1 && secs <= after / 1000000000 + 1;
    printf("time %s\n", ok ? "agrees" : "DISAGREES");
    bad |= !ok;
    return bad;
}

static int vvar(void)
{
    unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
    if (!vdso) {
        printf("no vDSO\n");
        return 1;
    }
    volatile char *page = (char *)(vdso - 4096);
    int r = mprotect((void *)page, 4096, PROT_READ | PROT_WRITE);
    printf("mprotect: %d %s\n", r, r ? strerror(errno) : "");
    fflush(stdout);
    page[0] = 1;
    printf("wrote the vvar page\n");
    return 0;
}

/* MADV_DONTNEED on the vDSO's pages: its data page refuses it (a PFN
 * mapping, EINVAL), its image takes it and still works after (the pages
 * come back from the kernel, not as zeros). */
static int dontneed(void)
{
    unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
    if (!vdso) {
        printf("no vDSO\n");
        return 1;
    }
    int r = madvise((void *)(vdso - 4096), 4096, MADV_DONTNEED);
    printf("data page: %d %s\n", r, r ? (errno == EINVAL ? "EINVAL" : "another error") : "");
    r = madvise((void *)vdso, 4096, MADV_DONTNEED);
    printf("image: %d %s\n", r, r ? (errno == EINVAL ? "EINVAL" : "another error") : "");
    fflush(stdout);
    struct timespec ts = {0, 0};
    r = clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("clock_gettime after: %d %d\n", r, ts.tv_sec != 0 || ts.tv_nsec != 0);
    return 0;
}

static int maps(void)
{
    unsigned long ehdr = getauxval(AT_SYSINFO_EHDR), vdso_start = 0, vvar_end = 0;
    char line[512], perms[8] = "", vvar_perms[8] = "";
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) {
        perror("/proc/self/maps");
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char p[8];
        if (sscanf(line, "%lx-%lx %7s", &s, &e, p) != 3)
            continue;
        if (strstr(line, "[vdso]")) {
            vdso_start = s;
            strcpy(perms, p);
        }
        if (strstr(line, "[vvar]")) {
            vvar_end = e;
            strcpy(vvar_perms, p);
        }
    }
    printf("vdso at AT_SYSINFO_EHDR: %d\n", ehdr && vdso_start == ehdr);
    printf("vdso %s\n", perms);
    printf("vvar %s below: %d\n", vvar_perms, vvar_end && vvar_end <= vdso_start);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "maps"))
        return maps();
    if (argc >= 3 && !strcmp(argv[1], "loop"))
        return loop(atol(argv[2]));
    if (argc >= 2 && !strcmp(argv[1], "agree"))
        return agree();
    if (argc >= 2 && !strcmp(argv[1], "vvar"))
        return vvar();
    if (argc >= 2 && !strcmp(argv[1], "dontneed"))
        return dontneed();
    fprintf(stderr, "usage: vdso loop N | agree | vvar | dontneed\n");
    return 2;
}
