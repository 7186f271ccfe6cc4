/* sysinfo(2), the program's name and what the read-only view answers
   where Linux's read-only mount would answer otherwise, for
   tests/fsinfo.rs: `label=value` lines (a failure is -errno). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static long ret(long r) { return r < 0 ? -errno : r; }

static void comm(const char *label) {
    char buf[64] = {0};
    int fd = open("/proc/self/comm", O_RDONLY);
    long n = fd < 0 ? -errno : read(fd, buf, sizeof buf - 1);
    if (n > 0 && buf[n - 1] == '\n')
        buf[n - 1] = 0;
    printf("%s=%s\n", label, n < 0 ? strerror((int)-n) : buf);
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv) {
    struct sysinfo a, b;
    struct statfs sf;
    char name[16];
    long r = syscall(SYS_sysinfo, &a);
    size_t len = 4 << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 1, len);
    syscall(SYS_sysinfo, &b);
    printf("sysinfo=%ld\n", r);
    printf("totalram=%lu\n", a.totalram * a.mem_unit);
    printf("mem_unit=%u\nprocs=%u\n", a.mem_unit, a.procs);
    printf("free_below_total=%d\n", a.freeram > 0 && a.freeram < a.totalram);
    printf("free_drop_at_least_mapped=%d\n", a.freeram - b.freeram >= len);
    printf("uptime_monotonic=%d\n", a.uptime >= 0 && b.uptime >= a.uptime);
    printf("swap=%lu\nloads=%lu\n", a.totalswap + a.freeswap, a.loads[0] + a.loads[1] + a.loads[2]);
    printf("sysinfo.efault=%ld\n", ret(syscall(SYS_sysinfo, (void *)8)));

    comm("comm.initial");
    prctl(PR_GET_NAME, name);
    printf("get_name.initial=%s\n", name);
    printf("set_name=%ld\n", ret(prctl(PR_SET_NAME, "renamed-by-prctl-and-cut")));
    prctl(PR_GET_NAME, name);
    printf("get_name.after=%s\n", name);
    comm("comm.after");

    /* The view's own choices: no write access to anything, ST_RDONLY
       everywhere. argv[1] is a FIFO. */
    if (argc > 1)
        printf("access.fifo_w=%ld\n", ret(access(argv[1], W_OK)));
    printf("access.devnull_w=%ld\n", ret(access("/dev/null", W_OK)));
    printf("access.devnull_r=%ld\n", ret(access("/dev/null", R_OK)));
    printf("access.proc_self_w=%ld\n", ret(access("/proc/self/status", W_OK)));
    printf("access.proc_self_r=%ld\n", ret(access("/proc/self/status", R_OK)));
    r = ret(statfs("/proc/self/status", &sf));
    printf("statfs.proc_self=%ld type=%#lx rdonly=%d\n", r, (long)sf.f_type, (int)(sf.f_flags & ST_RDONLY));
    r = ret(statfs("/", &sf));
    printf("statfs.root=%ld rdonly=%d\n", r, (int)(sf.f_flags & ST_RDONLY));
    r = ret(fstatfs(1, &sf));
    printf("fstatfs.stdout=%ld rdonly=%d\n", r, (int)(sf.f_flags & ST_RDONLY));
    return 0;
}
