/* Maps 1 MiB at a time until guest memory runs out: the guest must get
 * ENOMEM, and microvm must carry on. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void)
{
    int n = 0;
    for (;;) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            printf("mapped %d MiB, then %s\n", n, e == ENOMEM ? "ENOMEM" : strerror(e));
            return e == ENOMEM ? 0 : 1;
        }
        p[0] = 1;
        n++;
    }
}
