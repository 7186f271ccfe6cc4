/* Raw syscalls, natively, for tests/hostile.rs: the answers Linux gives,
 * to compare with microvm's syscall service on the same arguments.
 *
 * Lays out the memory of the service's test guest (fuzz/src/lib.rs,
 * TestGuest): four read-write pages at 0x600000 with nothing after them,
 * a read-only page at 0x700000, a PROT_NONE reservation of 16 pages at
 * 0x800000, nothing at 0x900000. Opens "dir/file" as fd 3 and "." as
 * fd 4 (the test runs it in the scratch tree). Then reads lines from
 * stdin:
 *   w ADDR HEX            write bytes (before `p`)
 *   p                     make the read-only page read-only
 *   z                     zero the read-write pages, rewind fds 3 and 4
 *   s NR A0 A1 A2 A3 A4 A5   run syscall NR (all hex), print its raw
 *                          result (-errno on failure) in decimal
 * Results go to the file named by argv[1], one a line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *at(unsigned long addr, size_t len, int prot) {
    void *p = mmap((void *)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)addr) {
        perror("mmap");
        exit(2);
    }
    return p;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    at(0x600000, 4 * 4096, PROT_READ | PROT_WRITE);
    at(0x700000, 4096, PROT_READ | PROT_WRITE);
    at(0x800000, 16 * 4096, PROT_NONE);
    /* Whatever the parent left open (the emulated machine of make
     * test-native leaves one) must not take fds 3 and 4. */
    closefrom(3);
    if (open("dir/file", O_RDONLY) != 3 || open(".", O_RDONLY | O_DIRECTORY) != 4) {
        perror("open");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out) return 2;
    char line[16384];
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] == 'w') {
            char *p = line + 2;
            unsigned long addr = strtoul(p, &p, 16);
            while (*p == ' ') p++;
            for (; p[0] && p[1] && p[0] != '\n'; p += 2) {
                char byte[3] = {p[0], p[1], 0};
                *(unsigned char *)addr++ = (unsigned char)strtoul(byte, NULL, 16);
            }
        } else if (line[0] == 'z') {
            memset((void *)0x600000, 0, 4 * 4096);
            lseek(3, 0, SEEK_SET);
            lseek(4, 0, SEEK_SET);
        } else if (line[0] == 'p') {
            mprotect((void *)0x700000, 4096, PROT_READ);
        } else if (line[0] == 's') {
            unsigned long a[7];
            char *p = line + 2;
            for (int i = 0; i < 7; i++) a[i] = strtoul(p, &p, 16);
            long r = syscall(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
            fprintf(out, "%ld\n", r < 0 ? -(long)errno : r);
            fflush(out);
        }
    }
    return 0;
}
