/* Writes argv[1] MiB (default 1024: 1 GiB) to stdout in 1 MiB writes;
 * a short write is reported on stderr (exit 3). Used to check that a
 * write blocked on a full pipe is cut short by --timeout and SIGTERM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 20];

int main(int argc, char **argv) {
    int mib = argc > 1 ? atoi(argv[1]) : 1024;
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < mib; i++) {
        ssize_t n = write(1, buf, sizeof buf);
        if (n != (ssize_t)sizeof buf) {
            fprintf(stderr, "short write %zd at %d\n", n, i);
            return 3;
        }
    }
    return 0;
}
