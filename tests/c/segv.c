/* Touches memory it gave up: with no argument, writes to a page it made
 * read-only; with an argument, reads a page it unmapped. Both: SIGSEGV. */
#include <stddef.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    (void)argv;
    volatile char *m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    m[4096] = 1;
    if (argc > 1) {
        munmap((char *)m + 4096, 4096);
        return m[4096];
    }
    mprotect((char *)m, 4096, PROT_READ);
    m[0] = 2;
    return 0;
}
