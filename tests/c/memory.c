/* The heap and anonymous mappings: malloc (brk and mmap), mprotect, munmap,
 * and a thread-local variable (FS base). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static __thread int tls_counter = 41;

int main(void)
{
    char *small = malloc(100);
    char *big = malloc(4 << 20);
    if (!small || !big)
        return 10;
    memset(big, 0xab, 4 << 20);
    strcpy(small, "heap ok");
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 11;
    m[0] = 1;
    m[3 * 4096 - 1] = 2;
    if (mprotect(m, 4096, PROT_READ) != 0)
        return 12;
    if (munmap(m + 4096, 4096) != 0)
        return 13;
    char *none = mmap(NULL, 1 << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (none == MAP_FAILED)
        return 14;
    tls_counter++;
    printf("%s, big[%d]=%#x, m[0]=%d, tls=%d\n", small, (4 << 20) - 1,
           (unsigned char)big[(4 << 20) - 1], m[0], tls_counter);
    free(big);
    free(small);
    return 0;
}
