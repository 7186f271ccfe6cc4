/* Knocks on every door to the host's /proc/PID under --fs-root /, one line
 * per attempt: `label=ok` or `label=-errno`. argv[1] is a directory with
 * symlinks to /proc/self (made by the test); stdin gives microvm's own
 * host pid and the test's. tests/hostile_files.rs checks every answer. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *label, long r) {
    if (r >= 0)
        printf("%s=ok\n", label);
    else
        printf("%s=%d\n", label, -errno);
}

static void try_at(const char *label, int dirfd, const char *path) {
    int fd = openat(dirfd, path, O_RDONLY);
    if (fd >= 0) {
        char buf[64];
        /* Reading is what would leak: show that it worked. */
        long n = read(fd, buf, sizeof buf);
        close(fd);
        if (n < 0) {
            show(label, n);
            return;
        }
    }
    show(label, fd);
}

static void try(const char *label, const char *path) { try_at(label, AT_FDCWD, path); }

static void try_stat(const char *label, const char *path) {
    struct stat st;
    show(label, stat(path, &st));
}

int main(int argc, char **argv) {
    const char *links = argc > 1 ? argv[1] : "/nonexistent";
    char path[4096];
    long vmm = 0, test = 0;
    if (scanf("%ld %ld", &vmm, &test) != 2)
        return 2;

    try("self.mem", "/proc/self/mem");
    try("self.maps", "/proc/self/maps");
    try("self.environ", "/proc/self/environ");
    try("self.cmdline", "/proc/self/cmdline");
    try("self.status", "/proc/self/status");
    try("self.auxv", "/proc/self/auxv");
    try("self.fd", "/proc/self/fd");
    try("thread_self.status", "/proc/thread-self/status");
    snprintf(path, sizeof path, "/proc/%ld/environ", vmm);
    try("vmm_pid.environ", path);
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/environ", vmm, vmm);
    try("vmm_tid.environ", path);
    snprintf(path, sizeof path, "/proc/%ld/mem", vmm);
    try("vmm_pid.mem", path);
    snprintf(path, sizeof path, "/proc/%ld/cmdline", test);
    try("host_pid.cmdline", path);
    /* A failure deep under a process directory says nothing either. */
    snprintf(path, sizeof path, "/proc/%ld/environ", vmm);
    while (strlen(path) < 3000)
        strcat(path, "/x");
    try("deep.vmm", path);
    try("init.environ", "/proc/1/environ");
    try("dot.self", "/proc/./self/environ");
    try("slashes.self", "//proc//self//environ");
    try("dotdot.self", "/proc/self/../self/environ");
    try("dotdot.from_pid", "/proc/1/../self/environ");
    try("climb.self", "/../../proc/self/environ");
    try("dev_fd", "/dev/fd/0");
    try("dev_stdin", "/dev/stdin");
    try("proc_net", "/proc/net/dev");
    try("proc_mounts", "/proc/mounts");
    snprintf(path, sizeof path, "%s/abs/environ", links);
    try("link.abs", path);
    snprintf(path, sizeof path, "%s/rel/environ", links);
    try("link.rel", path);
    snprintf(path, sizeof path, "%s/fd/0", links);
    try("link.dev_fd", path);
    snprintf(path, sizeof path, "%s/abs", links);
    try_stat("stat.link", path);
    try_stat("stat.self", "/proc/self");
    try_stat("stat.self_exe", "/proc/self/exe");
    try_stat("stat.self_cwd", "/proc/self/cwd");

    int proc = open("/proc", O_RDONLY | O_DIRECTORY);
    show("open.proc", proc);
    try_at("at_proc.self", proc, "self/environ");
    try_at("at_proc.dotdot", proc, "../proc/self/environ");
    snprintf(path, sizeof path, "%ld/environ", vmm);
    try_at("at_proc.vmm", proc, path);
    {
        char link[64], target[256];
        snprintf(link, sizeof link, "/proc/self/fd/%d", proc);
        long n = readlink(link, target, sizeof target);
        printf("fd_link.proc=%.*s\n", n > 0 ? (int)n : 0, target);
        n = readlink("/proc/self/fd/999", target, sizeof target);
        printf("fd_link.closed=%d\n", n < 0 ? -errno : 0);
    }
    show("chdir.proc_self", chdir("/proc/self"));
    show("chdir.proc", chdir("/proc"));
    try("cwd.self", "self/environ");
    try("cwd.dotdot", "./../proc/./self/environ");

    /* The listing of /proc: no process, but the rest. */
    DIR *d = opendir("/proc");
    int pids = 0, selfs = 0, cpuinfo = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
            pids++;
        if (!strcmp(e->d_name, "self") || !strcmp(e->d_name, "thread-self"))
            selfs++;
        if (!strcmp(e->d_name, "cpuinfo"))
            cpuinfo++;
    }
    printf("listing.pids=%d\nlisting.self=%d\nlisting.cpuinfo=%d\n", pids, selfs, cpuinfo);

    /* The guest's own /proc/self files: their contents. */
    const char *own[] = {"cmdline", "environ", "comm"};
    for (int i = 0; i < 3; i++) {
        char data[4096];
        snprintf(path, sizeof path, "/proc/self/%s", own[i]);
        int fd = open(path, O_RDONLY);
        long got = fd < 0 ? -errno : read(fd, data, sizeof data);
        for (long j = 0; j < got; j++)
            if (data[j] == 0 || data[j] == '\n')
                data[j] = ';';
        printf("%s.data=%.*s\n", own[i], got > 0 ? (int)got : 0, data);
        if (fd >= 0)
            close(fd);
    }
    /* maps: the guest's mappings (one holding this stack), not microvm's. */
    FILE *maps = fopen("/proc/self/maps", "r");
    int lines = 0, stack = 0, mine = 0;
    char line[512];
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        lines++;
        if (strstr(line, "[stack]"))
            stack++;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= (unsigned long)&lines &&
            (unsigned long)&lines < hi)
            mine++;
    }
    printf("maps.some=%d\nmaps.stack=%d\nmaps.holds_my_stack=%d\n", lines > 2, stack, mine);
    /* fd/: exactly the open fds, this directory's own among them. */
    {
        DIR *fdd = opendir("/proc/self/fd");
        int listed = 0, valid = 0, self_listed = 0, open_fds = 0;
        struct dirent *fe;
        while (fdd && (fe = readdir(fdd))) {
            if (fe->d_name[0] == '.')
                continue;
            int n = atoi(fe->d_name);
            listed++;
            valid += fcntl(n, F_GETFD) >= 0 && fe->d_type == DT_LNK;
            self_listed += n == dirfd(fdd);
        }
        for (int n = 0; n < 1024; n++)
            open_fds += fcntl(n, F_GETFD) >= 0;
        printf("fd_dir.open=%d\nfd_dir.all_listed=%d\nfd_dir.self=%d\n", fdd != NULL,
               listed == valid && listed == open_fds, self_listed);
        if (fdd)
            closedir(fdd);
    }

    /* auxv: what the program started with (getauxval has its own copy). */
    int afd = open("/proc/self/auxv", O_RDONLY);
    unsigned long av[128] = {0};
    long an = afd < 0 ? -1 : read(afd, av, sizeof av);
    int pagesz = 0, entry = 0, random = 0, ends = an > 0 && av[an / 8 - 2] == AT_NULL;
    for (long i = 0; i + 1 < an / 8; i += 2) {
        pagesz |= av[i] == AT_PAGESZ && av[i + 1] == getauxval(AT_PAGESZ);
        entry |= av[i] == AT_ENTRY && av[i + 1] == getauxval(AT_ENTRY);
        random |= av[i] == AT_RANDOM && av[i + 1] == getauxval(AT_RANDOM);
    }
    printf("auxv.pagesz=%d\nauxv.entry=%d\nauxv.random=%d\nauxv.ends=%d\n", pagesz, entry, random, ends);
    struct stat st;
    int r = stat("/proc/self/status", &st);
    printf("stat.status=%d %o\n", r, r == 0 ? st.st_mode : 0);

    /* What is not about a process stays readable. */
    try("cpuinfo", "/proc/cpuinfo");
    try("sys_ostype", "/proc/sys/kernel/ostype");
    char exe[256];
    long n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    show("readlink.exe", n);
    return 0;
}
