/* The seed walkthrough's main.c (../shared/seed), as its reader types it. */
#include <unistd.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>

int main() {
  const char *fpath = "/etc/passwd";
  int fd1, fd2;

  fd1 = open(fpath, O_RDONLY);
  if (fd1 == -1) {
    printf("fail to open file: %s\n", fpath);
    return errno;
  }

  fd2 = dup(fd1);
  if (fd2 == -1) {
    printf("fail to dup file: %s\n", fpath);
    return errno;
  }

  close(fd1);
  close(fd2);
  return 0;
}
