/* Grow one private file mapping a page at a time, in place, more times
 * than vm.max_map_count: Linux keeps one mapping (it extends it), so the
 * host must keep one record of its file too, and a file mapping made
 * afterwards still succeeds. Prints what it saw, for a native run to
 * compare with. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GROWS 70000

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/etc/passwd";
  long ps = sysconf(_SC_PAGESIZE);
  int fd = open(path, O_RDONLY);
  if (fd < 0) { printf("open %s\n", strerrorname_np(errno)); return 1; }
  /* Room above it: reserve the whole range, then give back all but the
   * first page. */
  char *a = mmap(0, (GROWS + 1) * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED) { printf("reserve %s\n", strerrorname_np(errno)); return 1; }
  munmap(a + ps, GROWS * ps);
  if (mmap(a, ps, PROT_NONE, MAP_PRIVATE | MAP_FIXED, fd, 0) != a) { printf("map %s\n", strerrorname_np(errno)); return 1; }
  long failed = 0;
  for (long i = 1; i <= GROWS; i++)
    if (mremap(a, i * ps, (i + 1) * ps, 0) != a) failed++;
  printf("grows failed %ld\n", failed);
  char *b = mmap(0, ps, PROT_READ, MAP_PRIVATE, fd, 0);
  printf("file mmap after %s\n", b == MAP_FAILED ? strerrorname_np(errno) : "ok");
  printf("shrink %d\n", mremap(a, (GROWS + 1) * ps, ps, 0) == a);
  return 0;
}
