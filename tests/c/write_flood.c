/* Writes 1 GiB to stdout in 1 MiB writes, then reports (on stderr) how
 * many bytes the last write moved: used to check that a write blocked on a
 * full pipe is cut short by --timeout and SIGTERM. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 20];

int main(void) {
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 1024; i++) {
        ssize_t n = write(1, buf, sizeof buf);
        if (n != (ssize_t)sizeof buf) {
            fprintf(stderr, "short write %zd at %d\n", n, i);
            return 3;
        }
    }
    return 0;
}
