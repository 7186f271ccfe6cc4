/* Writes through a pointer into a page it made read-only: SIGSEGV. */
#include <stddef.h>
#include <sys/mman.h>

int main(void)
{
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    mprotect(m, 4096, PROT_READ);
    m[0] = 2;
    return 0;
}
