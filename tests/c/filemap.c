/* File mappings, mremap and madvise: every answer printed, so a run under
 * microvm can be compared with a native run line by line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *err(long r) {
  static char b[64];
  if (r >= 0 && r < 4096) { snprintf(b, sizeof b, "%ld", r); return b; }
  if (r < 0 && r > -4096) { snprintf(b, sizeof b, "-%s", strerrorname_np(-r)); return b; }
  return "addr";
}

static long sys_mmap(unsigned long a, unsigned long l, unsigned long p, unsigned long f, long fd, unsigned long o) {
  return syscall(SYS_mmap, a, l, p, f, fd, o);
}
static long raw(long r) { return r == -1 ? -errno : r; }
#define SHOW(what, call) printf("%-40s %s\n", what, err(raw(call)))

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/etc/passwd";
  setvbuf(stdout, 0, _IOLBF, 0);
  int fd = open(path, O_RDONLY);
  int dir = open("/etc", O_RDONLY | O_DIRECTORY);
  int opath = open(path, O_PATH);
  off_t size = lseek(fd, 0, SEEK_END);
  long ps = 4096;
  printf("size>0 %d\n", size > 0);

  SHOW("unaligned offset", sys_mmap(0, ps, PROT_READ, MAP_PRIVATE, fd, 1));
  SHOW("bad fd", sys_mmap(0, ps, PROT_READ, MAP_PRIVATE, 99, 0));
  SHOW("bad fd unaligned", sys_mmap(0, ps, PROT_READ, MAP_PRIVATE, 99, 1));
  SHOW("O_PATH fd", sys_mmap(0, ps, PROT_READ, MAP_PRIVATE, opath, 0));
  SHOW("zero length", sys_mmap(0, 0, PROT_READ, MAP_PRIVATE, fd, 0));
  SHOW("directory", sys_mmap(0, ps, PROT_READ, MAP_PRIVATE, dir, 0));
  SHOW("no type", sys_mmap(0, ps, PROT_READ, 0, fd, 0));
  SHOW("type 0xf", sys_mmap(0, ps, PROT_READ, 0xf, fd, 0));
  SHOW("shared write ro fd", sys_mmap(0, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  SHOW("shared_validate write", sys_mmap(0, ps, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE, fd, 0));
  SHOW("offset overflow", sys_mmap(0, 2 * ps, PROT_READ, MAP_PRIVATE, fd, -ps));
  SHOW("offset past LLONG_MAX", sys_mmap(0, ps, PROT_READ, MAP_PRIVATE, fd, 0x8000000000000000UL));
  SHOW("huge length", sys_mmap(0, -ps, PROT_READ, MAP_PRIVATE, fd, 0));
  SHOW("hugetlb file", sys_mmap(0, ps, PROT_READ, MAP_PRIVATE | MAP_HUGETLB, fd, 0));
  SHOW("stdout fd", sys_mmap(0, ps, PROT_READ, MAP_PRIVATE, 1, 0));
  SHOW("growsdown file", sys_mmap(0, ps, PROT_READ, MAP_PRIVATE | MAP_GROWSDOWN, fd, 0));

  /* A private mapping reads the file; the tail of the page is zero. */
  char buf[8192];
  long n = pread(fd, buf, sizeof buf, 0);
  char *p = mmap(0, 3 * ps, PROT_READ, MAP_PRIVATE | MAP_DENYWRITE, fd, 0);
  printf("private map ok %d\n", p != MAP_FAILED);
  printf("same bytes %d\n", memcmp(p, buf, n < ps ? n : ps) == 0);
  printf("tail zero %d\n", n < ps ? p[n] == 0 && p[ps - 1] == 0 : 1);
  /* Write through a private writable mapping: the file is untouched. */
  char *w = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  w[0] = 'X';
  char c;
  pread(fd, &c, 1, 0);
  printf("private write stays private %d\n", c == buf[0] && w[0] == 'X');
  /* MADV_DONTNEED reads the file again. */
  SHOW("madvise dontneed file", madvise(w, ps, MADV_DONTNEED));
  printf("file page back %d\n", w[0] == buf[0]);
  /* Shared read-only mapping. */
  char *sh = mmap(0, ps, PROT_READ, MAP_SHARED, fd, 0);
  printf("shared ro ok %d same %d\n", sh != MAP_FAILED, sh != MAP_FAILED && sh[0] == buf[0]);
  SHOW("mprotect shared ro to write", mprotect(sh, ps, PROT_READ | PROT_WRITE));
  SHOW("mprotect shared ro to exec", mprotect(sh, ps, PROT_READ | PROT_EXEC));
  /* MAP_FIXED over a reservation. */
  char *r = mmap(0, 4 * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *f = mmap(r + ps, ps, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  printf("fixed over reservation %d same %d\n", f == r + ps, f[0] == buf[0]);
  SHOW("mprotect RELRO-like", mprotect(f, ps, PROT_READ | PROT_WRITE));
  f[1] = 'Y';
  SHOW("mprotect back", mprotect(f, ps, PROT_READ));
  printf("kept %d\n", f[1] == 'Y');
  SHOW("munmap part", munmap(r + ps, ps));
  /* Offset mapping. */
  if (size > ps) {
    char *o = mmap(0, ps, PROT_READ, MAP_PRIVATE, fd, ps);
    printf("offset map same %d\n", memcmp(o, buf + ps, n - ps < ps ? n - ps : ps) == 0);
  }

  /* MAP_FIXED of the same file at the same offset again (as ld.so maps
   * each segment over its first mapping of the whole library): the
   * file's bytes, whether or not the pages were written in between. */
  char *m = mmap(0, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  m[0] = 'Z';
  char *m2 = mmap(m, ps, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  printf("fixed again over written %d\n", m2 == m && m[0] == buf[0]);
  char *q = mmap(0, 2 * ps, PROT_READ, MAP_PRIVATE, fd, 0);
  char *q2 = mmap(q, ps, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd, 0);
  printf("fixed again clean %d\n", q2 == q && q[1] == buf[1]);
  SHOW("mprotect to write", mprotect(q, ps, PROT_READ | PROT_WRITE));
  q[1] = 'W';
  SHOW("mprotect back to read", mprotect(q, ps, PROT_READ));
  char *q3 = mmap(q, ps, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  printf("fixed again after a write %d\n", q3 == q && q[1] == buf[1]);
  if (size > ps) {
    char *q4 = mmap(q, ps, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, ps);
    printf("fixed again at another offset %d\n", q4 == q && q[0] == buf[ps]);
  }
  char *q5 = mmap(q + ps, ps, PROT_READ, MAP_SHARED | MAP_FIXED, fd, ps);
  printf("fixed shared over private %d\n", q5 == q + ps && (size <= ps || q5[0] == buf[ps]));
  SHOW("shared over private to write", mprotect(q5, ps, PROT_READ | PROT_WRITE));

  /* Anonymous MADV_DONTNEED zeroes. */
  char *a = mmap(0, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  a[0] = 1; a[ps] = 2;
  SHOW("madvise dontneed anon", madvise(a, ps, MADV_DONTNEED));
  printf("anon zeroed %d kept %d\n", a[0] == 0, a[ps] == 2);
  SHOW("madvise unaligned", madvise(a + 1, ps, MADV_DONTNEED));
  SHOW("madvise bad advice", madvise(a, ps, 77));
  SHOW("madvise willneed", madvise(a, ps, MADV_WILLNEED));
  SHOW("madvise zero len", madvise(a, 0, MADV_DONTNEED));
  SHOW("madvise unmapped", madvise(r + ps, ps, MADV_DONTNEED));
  SHOW("madvise unmapped normal", madvise(r + ps, ps, MADV_NORMAL));
  SHOW("madvise wrap", syscall(SYS_madvise, a, -2 * ps, MADV_DONTNEED));
  SHOW("madvise free anon", madvise(a, ps, MADV_FREE));
  SHOW("madvise free file", madvise(w, ps, MADV_FREE));
  SHOW("madvise remove private", madvise(a, ps, MADV_REMOVE));
  SHOW("madvise hugepage", madvise(w, ps, MADV_HUGEPAGE));

  /* mremap. */
  a[ps] = 7;
  char *g = mremap(a, 2 * ps, 4 * ps, MREMAP_MAYMOVE);
  if (g == MAP_FAILED) { printf("grow failed %s\n", strerrorname_np(errno)); return 1; }
  printf("grow kept %d new zero %d\n", g[ps] == 7, g[3 * ps] == 0);
  char *s2 = mremap(g, 4 * ps, ps, 0);
  printf("shrink same %d\n", s2 == g);
  SHOW("mremap unaligned", syscall(SYS_mremap, g + 1, ps, ps, 0));
  SHOW("mremap zero new", syscall(SYS_mremap, g, ps, 0, 0));
  SHOW("mremap bad flags", syscall(SYS_mremap, g, ps, ps, 8));
  SHOW("mremap fixed no maymove", syscall(SYS_mremap, g, ps, ps, MREMAP_FIXED, r));
  SHOW("mremap unmapped grow", syscall(SYS_mremap, r + ps, ps, 2 * ps, MREMAP_MAYMOVE));
  SHOW("mremap past end", syscall(SYS_mremap, g, 2 * ps, 3 * ps, MREMAP_MAYMOVE));
  SHOW("mremap overlap fixed", syscall(SYS_mremap, g, ps, ps, MREMAP_MAYMOVE | MREMAP_FIXED, g));
  SHOW("mremap fixed unaligned", syscall(SYS_mremap, g, ps, ps, MREMAP_MAYMOVE | MREMAP_FIXED, r + 1));
  g[0] = 9;
  char *fx = (char *)syscall(SYS_mremap, g, ps, 2 * ps, MREMAP_MAYMOVE | MREMAP_FIXED, r + 2 * ps);
  printf("fixed moved %d kept %d\n", fx == r + 2 * ps, fx[0] == 9);
  SHOW("old gone (madvise)", madvise(g, ps, MADV_NORMAL));
  /* Grow a file mapping: the new page reads the file. */
  char *fm = mmap(0, ps, PROT_READ, MAP_PRIVATE, fd, 0);
  char *fg = mremap(fm, ps, 2 * ps, MREMAP_MAYMOVE);
  printf("file grow %d\n", fg != MAP_FAILED && fg[0] == buf[0] && (size <= ps || fg[ps] == buf[ps]));
  SHOW("mremap no move grow blocked", syscall(SYS_mremap, r, ps, 2 * ps, 0));
  /* A zero old length duplicates shared mappings only. */
  SHOW("mremap zero old private", syscall(SYS_mremap, fx, 0, ps, MREMAP_MAYMOVE));
  SHOW("mremap zero old private no move", syscall(SYS_mremap, fx, 0, ps, 0));
  SHOW("mremap shrink unmapped", syscall(SYS_mremap, r + ps, 2 * ps, ps, 0) == (long)(r + ps) ? 0 : -1);
  return 0;
}
