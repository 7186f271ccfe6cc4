/* A few calls whose trace each strace option changes (tests/strace_options.rs):
   opens hello.txt (relative: the run's cwd is the --fs-root) and reads it,
   stats it, closes it, fails to open a missing file, writes a line with a
   non-ASCII byte to stdout, asks its pid and exits with 3. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    char buf[64];
    struct stat st;
    int fd = open("hello.txt", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf);
    fstat(fd, &st);
    close(fd);
    open("missing.txt", O_RDONLY);
    write(1, "hi\1\377 there\n", 11);
    getpid();
    return n > 0 ? 3 : 4;
}
