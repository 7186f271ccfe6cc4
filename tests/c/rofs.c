/* Opens on a read-only tree, rooted at argv[1], one line per case:
 * `label=ok` or `label=-errno`. tests/hostile_files.rs runs it natively on
 * a read-only bind mount and under microvm with --fs-root, and compares.
 *
 * The tree: hello.txt, sub/, sub/note.txt, fifo (a FIFO), link ->
 * hello.txt, dangle_missing -> nowhere/x, dangle_in_dir -> sub/newfile. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *root;

static void show(const char *label, int r) {
    if (r >= 0)
        printf("%s=ok\n", label);
    else
        printf("%s=%d\n", label, -errno);
}

static void try_open(const char *label, const char *path, int flags) {
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", root, path);
    int fd = open(full, flags, 0644);
    show(label, fd);
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv) {
    root = argc > 1 ? argv[1] : "";
    try_open("creat.missing_dir", "missing-dir/x", O_WRONLY | O_CREAT);
    try_open("creat.missing_dir_rdonly", "missing-dir/x", O_RDONLY | O_CREAT);
    try_open("creat.dotdot_missing_dir", "sub/../missing-dir/x", O_WRONLY | O_CREAT);
    try_open("creat.under_file", "hello.txt/x", O_WRONLY | O_CREAT);
    try_open("creat.new", "new", O_WRONLY | O_CREAT);
    try_open("creat.new_rdonly", "new", O_RDONLY | O_CREAT);
    try_open("creat.new_excl", "new", O_WRONLY | O_CREAT | O_EXCL);
    try_open("creat.new_trailing_slash", "new/", O_WRONLY | O_CREAT);
    try_open("creat.new_directory", "new", O_RDONLY | O_CREAT | O_DIRECTORY);
    try_open("creat.existing", "hello.txt", O_WRONLY | O_CREAT);
    try_open("creat.existing_excl", "hello.txt", O_WRONLY | O_CREAT | O_EXCL);
    try_open("creat.existing_rdonly", "hello.txt", O_RDONLY | O_CREAT);
    try_open("creat.dir", "sub", O_RDONLY | O_CREAT);
    try_open("creat.dir_excl", "sub", O_RDONLY | O_CREAT | O_EXCL);
    try_open("creat.dangle_missing", "dangle_missing", O_WRONLY | O_CREAT);
    try_open("creat.dangle_in_dir", "dangle_in_dir", O_WRONLY | O_CREAT);
    try_open("creat.dangle_excl", "dangle_in_dir", O_WRONLY | O_CREAT | O_EXCL);
    try_open("creat.link_nofollow", "link", O_WRONLY | O_CREAT | O_NOFOLLOW);
    try_open("wronly.file", "hello.txt", O_WRONLY);
    try_open("rdwr.file", "hello.txt", O_RDWR);
    try_open("wronly.dir", "sub", O_WRONLY);
    try_open("wronly.missing", "missing", O_WRONLY);
    try_open("wronly.missing_dir", "missing-dir/x", O_WRONLY);
    try_open("wronly.link_nofollow", "link", O_WRONLY | O_NOFOLLOW);
    try_open("trunc.rdonly", "hello.txt", O_RDONLY | O_TRUNC);
    try_open("trunc.wronly", "hello.txt", O_WRONLY | O_TRUNC);
    try_open("append.rdonly", "hello.txt", O_RDONLY | O_APPEND);
    try_open("append.wronly", "hello.txt", O_WRONLY | O_APPEND);
    try_open("path.wronly", "hello.txt", O_PATH | O_WRONLY);
    try_open("path.creat_new", "new", O_PATH | O_CREAT);
    try_open("tmpfile.dir", "sub", O_TMPFILE | O_WRONLY);
    try_open("tmpfile.missing", "missing-dir", O_TMPFILE | O_WRONLY);
    try_open("tmpfile.file", "hello.txt", O_TMPFILE | O_WRONLY);
    try_open("trunc.fifo_rdonly", "fifo", O_RDONLY | O_TRUNC | O_NONBLOCK);

    /* A FIFO with no writer, opened non-blocking: reads see end of file. */
    char full[4096], buf[16];
    snprintf(full, sizeof full, "%s/fifo", root);
    int fd = open(full, O_RDONLY | O_NONBLOCK);
    show("fifo.open", fd);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        printf("fifo.read=%zd\n", n < 0 ? (ssize_t)-errno : n);
        close(fd);
    }
    return 0;
}
