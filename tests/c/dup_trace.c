/* The syscall walkthrough's example: open a file, duplicate the
 * descriptor, close both. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    int fd = open("/etc/passwd", O_RDONLY);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    int copy = dup(fd);
    if (copy < 0) {
        perror("dup");
        return 1;
    }
    close(fd);
    close(copy);
    return 0;
}
