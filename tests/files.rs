//! Files and the system, end to end: the `files` program on the real
//! /dev/kvm, with `--fs-root` views of temporary directories. Each scenario
//! prints `label=value` lines (a negative value is -errno); the tests check
//! them and the strace-style trace.

mod common;

use common::{microvm, program, run, stderr, stdout, Scratch};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

const HELLO: &str = "hello, world\nsecond line\n";

/// A directory to serve as a root, removed when dropped:
///
/// ```text
/// hello.txt      "hello, world\nsecond line\n" (0644)
/// etc/passwd     "inside\n"
/// sub/note.txt   "note\n"
/// abs         -> /etc/passwd                     (absolute symlink)
/// sub/rel     -> ../../../../../../etc/passwd    (climbs out)
/// ```
fn root(name: &str) -> Scratch {
    let root = Scratch::new(&format!("files-{name}"));
    let dir = &root.0;
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let hello = dir.join("hello.txt");
    std::fs::write(&hello, HELLO).unwrap();
    std::fs::set_permissions(&hello, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(dir.join("etc/passwd"), "inside\n").unwrap();
    std::fs::write(dir.join("sub/note.txt"), "note\n").unwrap();
    symlink("/etc/passwd", dir.join("abs")).unwrap();
    symlink("../../../../../../etc/passwd", dir.join("sub/rel")).unwrap();
    root
}

fn files() -> String {
    program("files").to_str().unwrap().to_string()
}

/// `microvm run [--fs-root ROOT] files ARGS...` (without ROOT, the
/// default view: the host's "/").
fn scenario(root: Option<&Scratch>, args: &[&str]) -> Output {
    scenario_with(
        root.map(|r| vec!["--fs-root", r.path()])
            .unwrap_or_default(),
        args,
    )
}

/// `microvm run --no-fs files ARGS...`: no file system at all.
fn scenario_no_fs(args: &[&str]) -> Output {
    scenario_with(vec!["--no-fs"], args)
}

/// `microvm run OPTIONS files ARGS...`.
fn scenario_with(options: Vec<&str>, args: &[&str]) -> Output {
    let mut cmd = vec!["run".to_string()];
    cmd.extend(options.iter().map(|s| s.to_string()));
    cmd.push(files());
    cmd.extend(args.iter().map(|s| s.to_string()));
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let o = run(&cmd);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    o
}

/// The value printed for `label`.
fn value(o: &Output, label: &str) -> String {
    let out = stdout(o);
    let prefix = format!("{label}=");
    out.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {label}= in:\n{out}"))
        .to_string()
}

/// The number printed for `label`.
fn num(o: &Output, label: &str) -> i64 {
    let v = value(o, label);
    let v = v.split_whitespace().next().unwrap_or_default();
    v.parse()
        .unwrap_or_else(|_| panic!("{label}={v} is not a number"))
}

/// -errno, as the program prints a failure.
fn err(e: i32) -> i64 {
    -i64::from(e)
}

/// Assert each of `lines` is a whole line of the trace.
fn has_lines(o: &Output, lines: &[&str]) {
    let trace = stderr(o);
    for line in lines {
        assert!(
            trace.lines().any(|l| l == *line),
            "missing trace line\n  {line}\nin\n{trace}"
        );
    }
}

/// The trace line that starts with `prefix`.
fn line_starting(o: &Output, prefix: &str) -> String {
    let trace = stderr(o);
    trace
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no trace line starting {prefix:?} in\n{trace}"))
        .to_string()
}

#[test]
fn walkthrough_open_dup_close_traced_with_registers() {
    require_kvm!();
    // The example from the syscall walkthrough, on the host's own root as
    // the issue runs it, and on a temporary root.
    let root = root("walkthrough");
    for fs_root in ["/", root.path()] {
        let o = run(&[
            "run",
            "--regs",
            "--fs-root",
            fs_root,
            &files(),
            "walkthrough",
            "/etc/passwd",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let all = stderr(&o);
        let trace = common::after_execve(&all, &program("files"), &["walkthrough", "/etc/passwd"]);
        let lines: Vec<&str> = trace.lines().collect();
        assert!(
            lines[0].starts_with(r#"openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3  [rax=0x101 "#),
            "{trace}"
        );
        assert!(lines[1].starts_with("dup(3) = 4  [rax=0x20 "), "{trace}");
        assert!(lines[1].contains(" rdi=0x3 "), "{trace}");
        assert!(lines[2].starts_with("close(3) = 0  [rax=0x3 "), "{trace}");
        assert!(lines[3].starts_with("close(4) = 0  [rax=0x3 "), "{trace}");
        assert!(trace.ends_with("+++ exited with 0 +++\n"));
    }
}

#[test]
fn read_seek_pread_readv_and_stat() {
    require_kvm!();
    let root = root("read");
    let o = scenario(Some(&root), &["read", "/hello.txt"]);
    assert_eq!(
        stdout(&o),
        "open=3\n\
         read=5 data=hello\n\
         fstat=0\n\
         fstat.size=25\n\
         fstat.type=32768\n\
         lseek.cur=5\n\
         pread=5 data=world\n\
         lseek.after_pread=5\n\
         readv=7 a=, w b=orld\n\
         lseek.end=20\n\
         read.tail=5 data=line\n\n\
         read.eof=0\n\
         lseek.bad_whence=-22\n\
         pread.negative=-22\n\
         newfstatat=0\n\
         newfstatat.size=25\n\
         newfstatat.empty_path=0\n\
         newfstatat.empty_no_flag=-2\n\
         newfstatat.bad_flags=-22\n\
         stat=0\n\
         statx=0\n\
         statx.size=25\n\
         statx.type=32768\n\
         statx.stdout=0\n\
         close=0\n\
         read.closed=-9\n\
         close.again=-9\n\
         fstat.closed=-9\n\
         open.missing=-2\n\
         open.empty=-2\n"
    );
    has_lines(
        &o,
        &[
            r#"openat(AT_FDCWD, "/hello.txt", O_RDONLY) = 3"#,
            r#"read(3, "hello", 5) = 5"#,
            "fstat(3, {st_mode=S_IFREG|0644, st_size=25, ...}) = 0",
            "lseek(3, 0, SEEK_CUR) = 5",
            r#"pread64(3, "world", 5, 7) = 5"#,
            r#"readv(3, [{iov_base=", w", iov_len=3}, {iov_base="orld", iov_len=4}], 2) = 7"#,
            "lseek(3, -5, SEEK_END) = 20",
            r#"read(3, "line\n", 64) = 5"#,
            r#"newfstatat(AT_FDCWD, "/hello.txt", {st_mode=S_IFREG|0644, st_size=25, ...}, 0) = 0"#,
            r#"newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=25, ...}, AT_EMPTY_PATH) = 0"#,
            r#"stat("/hello.txt", {st_mode=S_IFREG|0644, st_size=25, ...}) = 0"#,
            "close(3) = 0",
            "close(3) = -1 EBADF (Bad file descriptor)",
            r#"openat(AT_FDCWD, "/no/such/file", O_RDONLY) = -1 ENOENT (No such file or directory)"#,
        ],
    );
    let statx = line_starting(&o, r#"statx(AT_FDCWD, "/hello.txt", "#);
    assert!(
        statx.starts_with(
            r#"statx(AT_FDCWD, "/hello.txt", AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, {stx_mask=STATX_BASIC_STATS"#
        ),
        "{statx}"
    );
    assert!(
        statx.ends_with("stx_attributes=0, stx_mode=S_IFREG|0644, stx_size=25, ...}) = 0"),
        "{statx}"
    );
    let read_eof = line_starting(&o, r#"read(3, "", 64)"#);
    assert_eq!(read_eof, r#"read(3, "", 64) = 0"#);
}

#[test]
fn dup_dup2_dup3_fcntl_and_the_lowest_free_fd() {
    require_kvm!();
    let root = root("fds");
    let o = scenario(Some(&root), &["fds", "/hello.txt"]);
    assert_eq!(
        stdout(&o),
        "open=3\n\
         dup=4\n\
         read.fd=2 data=he\n\
         read.copy=2 data=ll\n\
         dup2=10\n\
         getfd.10=0\n\
         dup3=10\n\
         getfd.10.cloexec=1\n\
         setfd=0\n\
         getfd=1\n\
         getfl=32768\n\
         setfl=0\n\
         getfl.copy=34816\n\
         dupfd=20\n\
         dupfd_cloexec=5\n\
         dup2.same=3\n\
         dup3.same=-22\n\
         dup3.bad_flags=-22\n\
         dup2.bad_old=-9\n\
         dup2.too_high=-9\n\
         dupfd.too_high=-22\n\
         fcntl.bad_cmd=-22\n\
         fcntl.bad_fd=-9\n\
         close.0=0\n\
         dup.lowest=0\n\
         dup.stdout=6\n\
         via dup of stdout\n\
         write.1=-9\n"
    );
    has_lines(
        &o,
        &[
            "dup(3) = 4",
            r#"read(4, "ll", 2) = 2"#,
            "dup2(3, 10) = 10",
            "fcntl(10, F_GETFD) = 0",
            "dup3(3, 10, O_CLOEXEC) = 10",
            "fcntl(10, F_GETFD) = 0x1 (flags FD_CLOEXEC)",
            "fcntl(3, F_SETFD, FD_CLOEXEC) = 0",
            "fcntl(3, F_GETFL) = 0x8000 (flags O_RDONLY|O_LARGEFILE)",
            "fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK) = 0",
            "fcntl(4, F_GETFL) = 0x8800 (flags O_RDONLY|O_NONBLOCK|O_LARGEFILE)",
            "fcntl(3, F_DUPFD, 20) = 20",
            "fcntl(3, F_DUPFD_CLOEXEC, 0) = 5",
            "dup3(3, 3, 0) = -1 EINVAL (Invalid argument)",
            "close(0) = 0",
            "dup(3) = 0",
            r#"write(6, "via dup of stdout\n", 18) = 18"#,
            r#"write(1, "lost\n", 5) = -1 EBADF (Bad file descriptor)"#,
        ],
    );
}

#[test]
fn writes_and_creation_get_erofs() {
    require_kvm!();
    let root = root("erofs");
    let o = scenario(Some(&root), &["erofs", "/hello.txt", "/sub"]);
    let erofs = err(libc::EROFS);
    for label in [
        "wronly",
        "rdwr",
        "creat.existing",
        "creat.new",
        "trunc",
        "append",
        "creat.legacy_open",
    ] {
        assert_eq!(num(&o, label), erofs, "{label}");
    }
    assert_eq!(num(&o, "wronly.missing"), err(libc::ENOENT));
    assert_eq!(num(&o, "open.ro"), 3);
    assert_eq!(num(&o, "write.ro"), err(libc::EBADF));
    assert_eq!(num(&o, "writev.ro"), err(libc::EBADF));
    assert_eq!(num(&o, "write.stdin"), err(libc::EBADF));
    assert_eq!(num(&o, "open.dir"), 4);
    assert_eq!(num(&o, "read.dir"), err(libc::EISDIR));
    assert_eq!(num(&o, "directory.on_file"), err(libc::ENOTDIR));
    has_lines(
        &o,
        &[
            r#"openat(AT_FDCWD, "/hello.txt", O_WRONLY) = -1 EROFS (Read-only file system)"#,
            r#"openat(AT_FDCWD, "/new-file", O_WRONLY|O_CREAT, 0644) = -1 EROFS (Read-only file system)"#,
            r#"open("/x", O_WRONLY|O_CREAT, 0600) = -1 EROFS (Read-only file system)"#,
            r#"openat(AT_FDCWD, "/sub", O_RDONLY|O_DIRECTORY) = 4"#,
        ],
    );
    // Nothing was created or changed.
    assert!(!root.0.join("new-file").exists());
    assert!(!root.0.join("x").exists());
    assert_eq!(
        std::fs::read_to_string(root.0.join("hello.txt")).unwrap(),
        HELLO
    );
}

#[test]
fn nothing_escapes_the_root() {
    require_kvm!();
    let root = root("escape");
    let attempts = [
        "../../etc/passwd",
        "/../../../etc/passwd",
        "/abs",
        "/sub/rel",
        "sub/../../etc/passwd",
        "/sub/../../../../etc/passwd",
        "/etc/passwd",
    ];
    let mut args = vec!["open"];
    args.extend(attempts);
    args.push("/proc/self/root/etc/passwd");
    let o = scenario(Some(&root), &args);
    for path in attempts {
        // The root's own etc/passwd, never the host's.
        assert_eq!(value(&o, path), "inside", "{path}");
    }
    assert_eq!(num(&o, "/proc/self/root/etc/passwd"), err(libc::ENOENT));
    // Without a file system, nothing; by default, the host's own.
    let o = scenario_no_fs(&["open", "/etc/passwd"]);
    assert_eq!(num(&o, "/etc/passwd"), err(libc::ENOENT));
    let o = scenario(None, &["open", "/etc/passwd"]);
    let host = std::fs::read_to_string("/etc/passwd").unwrap();
    assert_eq!(value(&o, "/etc/passwd"), host.lines().next().unwrap());
    // With the host's "/" as the root, /proc is there, but its process
    // directories are not (tests/hostile_files.rs knocks on every door).
    let o = run(&[
        "run",
        "--fs-root",
        "/",
        &files(),
        "open",
        "/proc/self/root/etc/passwd",
        "/proc/self/cwd",
    ]);
    assert_eq!(num(&o, "/proc/self/root/etc/passwd"), err(libc::ENOENT));
    assert_eq!(num(&o, "/proc/self/cwd"), err(libc::ENOENT));
}

#[test]
fn directories_cwd_and_symlinks() {
    require_kvm!();
    let root = root("dir");
    let o = scenario(Some(&root), &["dir", "/sub", "note.txt"]);
    assert_eq!(
        stdout(&o),
        "open.dir=3\n\
         getdents64.positive=1\n\
         getdents64.found=1\n\
         openat.dirfd=4\n\
         read.dirfd=5 data=note\n\n\
         openat.file_as_dirfd=-20\n\
         openat.bad_dirfd=-9\n\
         openat.stdout_dirfd=-20\n\
         getcwd=2 data=/\n\
         chdir=0\n\
         getcwd.after=5 data=/sub\n\
         open.relative=5\n\
         chdir.up=0\n\
         getcwd.up=2 data=/\n\
         chdir.file=-20\n\
         fchdir=0\n\
         getcwd.fchdir=5 data=/sub\n\
         getcwd.small=-34\n\
         readlink.abs=11 data=/etc/passwd\n\
         readlink.short=4 data=/etc\n\
         readlink.not_link=-22\n\
         readlink.zero=-22\n"
    );
    has_lines(
        &o,
        &[
            r#"openat(3, "note.txt", O_RDONLY) = 4"#,
            r#"getcwd("/sub", 64) = 5"#,
            r#"chdir("/sub") = 0"#,
            r#"openat(AT_FDCWD, "note.txt", O_RDONLY) = 5"#,
            r#"readlink("/abs", "/etc/passwd", 64) = 11"#,
        ],
    );
}

#[test]
fn bad_pointers_get_efault() {
    require_kvm!();
    let root = root("efault");
    let o = scenario(Some(&root), &["efault", "/hello.txt"]);
    let efault = err(libc::EFAULT);
    for label in [
        "open.bad_path",
        "open.kernel_path",
        "read.bad_buf",
        "read.text",
        "pread.bad_buf",
        "fstat.bad_buf",
        "readv.bad_iov",
        "readv.bad_base",
        "readv.wrapping_iov",
        "getcwd.wrapping",
        "writev.bad_base",
        "newfstatat.bad_path",
        "newfstatat.bad_buf",
        "statx.bad_buf",
        "uname.bad",
        "clock_gettime.bad",
        "gettimeofday.bad",
        "time.bad",
        "nanosleep.bad",
        "getcwd.bad",
        "getrandom.bad",
        "getrandom.text",
        "prlimit64.bad_old",
        "prlimit64.bad_new",
        "sched_getaffinity.bad",
        "readlink.bad_buf",
        "readlink.bad_path",
    ] {
        assert_eq!(num(&o, label), efault, "{label}");
    }
    // The refused reads consumed nothing.
    assert_eq!(num(&o, "read.after_refusals"), 5);
    assert_eq!(num(&o, "readv.too_many"), err(libc::EINVAL));
    assert_eq!(num(&o, "open.too_long"), err(libc::ENAMETOOLONG));
    has_lines(
        &o,
        &[
            "openat(AT_FDCWD, 0x8, O_RDONLY) = -1 EFAULT (Bad address)",
            "fstat(3, 0x8) = -1 EFAULT (Bad address)",
            "uname(0x8) = -1 EFAULT (Bad address)",
            "writev(1, [{iov_base=0x8, iov_len=4}], 1) = -1 EFAULT (Bad address)",
        ],
    );
    // No byte of a refused writev reached stdout.
    assert!(!stdout(&o).contains("\0"));
}

#[test]
fn system_clocks_randomness_and_start_up_calls() {
    require_kvm!();
    // Without a file system, the working directory is "/".
    let o = scenario_no_fs(&["misc"]);
    let expect = [
        ("getcwd", "2 data=/"),
        ("uname", "0"),
        ("uname.sysname", "Linux"),
        ("uname.nodename", "microvm"),
        ("uname.machine", "x86_64"),
        ("uname.release_set", "1"),
        ("getrandom", "64"),
        ("getrandom.nonzero", "1"),
        ("getrandom.differs", "1"),
        ("getrandom.bad_flags", "-22"),
        ("clock_gettime", "0"),
        ("clock_gettime.nsec_ok", "1"),
        ("clock_gettime.bad_clock", "-22"),
        ("gettimeofday", "0"),
        ("gettimeofday.usec_ok", "1"),
        ("gettimeofday.close", "1"),
        ("time.stored", "1"),
        ("time.after_2020", "1"),
        ("nanosleep", "0"),
        ("nanosleep.long_enough", "1"),
        ("nanosleep.not_too_long", "1"),
        ("nanosleep.bad_nsec", "-22"),
        ("clock_nanosleep", "0"),
        ("clock_nanosleep.long_enough", "1"),
        ("clock_nanosleep.abs", "0"),
        ("clock_nanosleep.abs_reached", "1"),
        ("clock_nanosleep.bad_clock", "-22"),
        ("sched_getaffinity", "8"),
        ("sched_getaffinity.mask", "1"),
        ("sched_getaffinity.short", "-22"),
        ("sched_getaffinity.other_pid", "-3"),
        ("set_tid_address", "1"),
        ("set_robust_list", "0"),
        ("set_robust_list.bad_len", "-22"),
        ("rseq", "-14"),
        // stdout is a pipe here: not a terminal.
        ("ioctl.tcgets", "-25"),
        ("ioctl.tiocgwinsz", "-25"),
        ("ioctl.bad_fd", "-9"),
        ("ioctl.other", "-25"),
        ("fstat.stdout", "0"),
        ("fstat.stdin", "0"),
        ("newfstatat.stdout", "0"),
        ("getfl.stdout_accmode", "1"),
        ("lseek.stdout_pipe", "-29"),
        ("writev", "14"),
    ];
    for (label, v) in expect {
        assert_eq!(value(&o, label), v, "{label}");
    }
    // readlink("/proc/self/exe"): the program's absolute, resolved path.
    let exe = std::fs::canonicalize(files())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        value(&o, "readlink.exe"),
        format!("{} data={exe}", exe.len())
    );
    assert_eq!(num(&o, "readlinkat.exe"), exe.len() as i64);
    assert!(stdout(&o).contains("one two three\n"));
    has_lines(
        &o,
        &[
            r#"getcwd("/", 64) = 2"#,
            r#"uname({sysname="Linux", nodename="microvm", ...}) = 0"#,
            "nanosleep({tv_sec=0, tv_nsec=20000000}, NULL) = 0",
            "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=10000000}, NULL) = 0",
            "sched_getaffinity(0, 128, [0]) = 8",
            "rseq(0, 0x20, 0, 0) = -1 EFAULT (Bad address)",
            "fcntl(1, F_GETFL) = 0x1 (flags O_WRONLY)",
            "lseek(1, 0, SEEK_SET) = -1 ESPIPE (Illegal seek)",
            r#"writev(1, [{iov_base="one ", iov_len=4}, {iov_base="two ", iov_len=4}, {iov_base="three\n", iov_len=6}], 3) = 14"#,
        ],
    );
    assert!(line_starting(&o, "ioctl(1, TCGETS, 0x")
        .ends_with(") = -1 ENOTTY (Inappropriate ioctl for device)"));
    let clock = line_starting(&o, "clock_gettime(CLOCK_MONOTONIC, {tv_sec=");
    assert!(clock.ends_with("}) = 0"), "{clock}");
    let random = line_starting(&o, "getrandom(\"");
    assert!(random.ends_with("\"..., 64, 0) = 64"), "{random}");
    let tod = line_starting(&o, "gettimeofday({tv_sec=");
    assert!(
        tod.ends_with("}, {tz_minuteswest=0, tz_dsttime=0}) = 0"),
        "{tod}"
    );
    assert!(line_starting(&o, "time([").contains("]) = "));
    assert!(line_starting(&o, "set_robust_list(0x").ends_with(", 24) = 0"));
    assert!(line_starting(&o, "fstat(1, {st_mode=S_IFIFO|").ends_with(", ...}) = 0"));
}

#[test]
fn proc_self_exe_is_absolute_even_for_a_relative_program_path() {
    require_kvm!();
    // glibc's start-up asserts that readlink("/proc/self/exe") starts
    // with '/'.
    let o = microvm()
        .current_dir(microvm::GUEST_PROGRAMS_DIR)
        .args(["run", "files", "misc"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let exe = std::fs::canonicalize(files()).unwrap();
    let exe = exe.to_str().unwrap();
    assert_eq!(
        value(&o, "readlink.exe"),
        format!("{} data={exe}", exe.len())
    );
}

#[test]
fn resource_limits_and_running_out_of_fds() {
    require_kvm!();
    let o = scenario(None, &["limits"]);
    let stack = microvm_abi::layout::USER_STACK_SIZE as i64;
    let expect = [
        ("prlimit64.stack", 0),
        ("stack.cur", stack),
        ("prlimit64.nofile", 0),
        ("nofile.cur", 1024),
        ("nofile.max", 1024),
        ("getrlimit.cpu", 0),
        ("cpu.cur", -1),
        ("prlimit64.bad_resource", err(libc::EINVAL)),
        ("prlimit64.other_pid", err(libc::ESRCH)),
        // fds 3..=1023, then EMFILE.
        ("dups", 1021),
        ("dup.exhausted", err(libc::EMFILE)),
        ("prlimit64.lower", 0),
        ("prlimit64.lower.old_cur", 1024),
        // fds 3..=7 under a limit of 8.
        ("dups.lowered", 5),
        ("prlimit64.raise", err(libc::EPERM)),
        ("prlimit64.cur_above_max", err(libc::EINVAL)),
    ];
    for (label, v) in expect {
        assert_eq!(num(&o, label), v, "{label}");
    }
    has_lines(
        &o,
        &[
            "prlimit64(0, RLIMIT_NOFILE, NULL, {rlim_cur=1024, rlim_max=1024}) = 0",
            "getrlimit(RLIMIT_CPU, {rlim_cur=RLIM64_INFINITY, rlim_max=RLIM64_INFINITY}) = 0",
            "dup(0) = 1023",
            "dup(0) = -1 EMFILE (Too many open files)",
            "prlimit64(0, RLIMIT_NOFILE, {rlim_cur=8, rlim_max=8}, {rlim_cur=1024, rlim_max=1024}) = 0",
        ],
    );
}

/// `microvm run -y OPTIONS files ARGS...` started in `cwd`.
fn scenario_in(cwd: &std::path::Path, options: &[&str], args: &[&str]) -> Output {
    let o = microvm()
        .arg("run")
        .arg("-y")
        .args(options)
        .arg(files())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("microvm runs");
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    o
}

#[test]
fn without_flags_the_host_s_root_is_seen_read_only_from_microvm_s_cwd() {
    require_kvm!();
    let root = root("default-view");
    let here = std::fs::canonicalize(&root.0).unwrap();
    let here = here.to_str().unwrap();
    // Relative paths from microvm's own working directory, absolute ones
    // from the host's "/".
    let o = scenario_in(
        &root.0,
        &[],
        &[
            "open",
            "hello.txt",
            "sub/note.txt",
            "etc/passwd",
            "/etc/passwd",
        ],
    );
    assert_eq!(value(&o, "hello.txt"), "hello, world");
    assert_eq!(value(&o, "sub/note.txt"), "note");
    assert_eq!(value(&o, "etc/passwd"), "inside");
    assert_ne!(value(&o, "/etc/passwd"), "inside");
    has_lines(
        &o,
        &[&format!(
            r#"openat(AT_FDCWD<{here}>, "hello.txt", O_RDONLY) = 3<{here}/hello.txt>"#
        )],
    );
    // Read-only: every write and creation is EROFS, nothing changes.
    let o = scenario_in(&root.0, &[], &["erofs", "hello.txt", "sub"]);
    for label in ["wronly", "rdwr", "creat.existing", "trunc", "append"] {
        assert_eq!(num(&o, label), err(libc::EROFS), "{label}");
    }
    assert_eq!(num(&o, "open.ro"), 3);
    assert_eq!(
        std::fs::read_to_string(root.0.join("hello.txt")).unwrap(),
        HELLO
    );
    // --fs-root DIR with microvm's cwd inside DIR: the same directory,
    // named from DIR.
    let o = scenario_in(
        &root.0.join("sub"),
        &["--fs-root", here],
        &["open", "note.txt"],
    );
    assert_eq!(value(&o, "note.txt"), "note");
    has_lines(
        &o,
        &[r#"openat(AT_FDCWD</sub>, "note.txt", O_RDONLY) = 3</sub/note.txt>"#],
    );
    // ... and outside DIR: DIR itself.
    let o = scenario_in(Path::new("/"), &["--fs-root", here], &["open", "hello.txt"]);
    assert_eq!(value(&o, "hello.txt"), "hello, world");
    // --no-fs and --fs-root together make no sense.
    let o = run(&["run", "--no-fs", "--fs-root", "/", &files(), "misc"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}

/// The walkthrough as the issue gives it, with no flag at all: the seed
/// program built with plain `gcc -g main.c -o dup_trace`, run as `microvm
/// run ./dup_trace` from its own directory.
#[test]
fn the_walkthrough_needs_no_flags() {
    require_kvm!();
    let Some(built) = common::build("gcc", "dup_trace", &["-g"]) else {
        return;
    };
    let dir = Scratch::new("files-walkthrough-no-flags");
    std::fs::copy(&built, dir.0.join("dup_trace")).unwrap();
    for regs in [false, true] {
        let mut cmd = microvm();
        cmd.arg("run");
        if regs {
            cmd.arg("--regs");
        }
        let o = cmd
            .arg("./dup_trace")
            .current_dir(&dir.0)
            .output()
            .expect("microvm runs");
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let err = stderr(&o);
        let at = |prefix: &str| {
            err.lines()
                .position(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no line starting {prefix:?} in\n{err}"))
        };
        let open = at("openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY) = 3");
        let dup = at("dup(3) = 4");
        let close4 = at("close(4) = 0");
        assert!(open < dup && dup < close4, "{err}");
        let close3 = err
            .lines()
            .skip(dup)
            .position(|l| l.starts_with("close(3) = 0"))
            .map(|k| k + dup);
        assert!(close3.is_some_and(|c| c < close4), "{err}");
        assert!(err.ends_with("+++ exited with 0 +++\n"), "{err}");
        if regs {
            let line = err.lines().nth(dup).unwrap_or_default();
            assert!(line.contains("[rax=0x20 "), "{line}");
            assert!(line.contains(" rdi=0x3 "), "{line}");
        }
    }
}

#[test]
fn with_no_fs_every_open_fails_with_enoent() {
    require_kvm!();
    let o = scenario_no_fs(&["open", "/", "/hello.txt", "relative", "/etc/passwd"]);
    for path in ["/", "/hello.txt", "relative", "/etc/passwd"] {
        assert_eq!(num(&o, path), err(libc::ENOENT), "{path}");
    }
    let o = scenario_no_fs(&["dir", "/", "x"]);
    assert_eq!(num(&o, "open.dir"), err(libc::ENOENT));
    assert_eq!(num(&o, "chdir"), err(libc::ENOENT));
    assert_eq!(num(&o, "readlink.abs"), err(libc::ENOENT));
}

#[test]
fn a_bad_fs_root_is_refused_before_the_guest_runs() {
    require_kvm!();
    for (dir, reason) in [
        ("/nonexistent-microvm-root", "No such file or directory"),
        ("/etc/passwd", "Not a directory"),
    ] {
        let o = run(&["run", "--fs-root", dir, &files(), "misc"]);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(stdout(&o), "");
        assert_eq!(stderr(&o), format!("microvm: --fs-root {dir}: {reason}\n"));
    }
}

#[test]
fn a_sleep_is_cut_short_by_the_timeout() {
    require_kvm!();
    let start = Instant::now();
    let o = run(&["run", "--timeout", "500ms", &files(), "sleep", "30"]);
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let line = line_starting(&o, "nanosleep({tv_sec=30, tv_nsec=0}, {tv_sec=29, tv_nsec=");
    assert!(
        line.ends_with("}) = -1 EINTR (Interrupted system call)"),
        "{line}"
    );
    assert!(stderr(&o).contains("+++ stopped: timed out +++\n"));
    assert_eq!(stdout(&o), "", "the program never ran past its sleep");
}

#[test]
fn stdin_is_read_and_a_blocked_read_is_cut_short() {
    require_kvm!();
    use std::io::Write;
    let mut child = microvm()
        .args(["run", &files(), "stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"hello\nworld\n").unwrap();
    drop(input);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "read=12\nhello\nworld\nread=0\nsetfl=0\nread.nonblock=0\n"
    );
    has_lines(
        &o,
        &[
            r#"read(0, "hello\nworld\n", 64) = 12"#,
            r#"read(0, "", 64) = 0"#,
            "fcntl(0, F_SETFL, O_RDONLY|O_NONBLOCK) = 0",
        ],
    );

    // Input that never comes: the read waits until --timeout stops it.
    let mut child = microvm()
        .args(["run", "--timeout", "500ms", &files(), "stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let input = child.stdin.take().unwrap();
    let o = child.wait_with_output().unwrap();
    let took = start.elapsed();
    drop(input);
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(line_starting(&o, "read(0, 0x").ends_with(") = -1 EINTR (Interrupted system call)"));
}

/// A pseudo-terminal: (master, slave).
fn openpty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes the two descriptors; the name pointer may be
    // NULL, the termios NULL, and the winsize is read only.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty succeeded: both descriptors are new and ours.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

#[test]
fn terminal_ioctls_answer_from_the_host_terminal() {
    require_kvm!();
    let (_master, slave) = openpty(33, 101);
    let o = microvm()
        .args(["run", &files(), "tty"])
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("winsize=0 rows=33 cols=101\n"), "{err}");
    assert!(err.contains("tcgets=0\n"), "{err}");
    // stdin is /dev/null: not a terminal.
    assert!(err.contains("tcgets.stdin=-25\n"), "{err}");
    has_lines(
        &o,
        &["ioctl(1, TIOCGWINSZ, {ws_row=33, ws_col=101, ws_xpixel=0, ws_ypixel=0}) = 0"],
    );
    // A fresh pty's termios, as strace 6.1 shows TCGETS on one.
    has_lines(
        &o,
        &["ioctl(1, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}) = 0"],
    );
}

#[test]
fn json_trace_of_file_syscalls_keeps_raw_arguments() {
    require_kvm!();
    let root = root("json");
    let o = run(&[
        "run",
        "--trace",
        "json",
        "--fs-root",
        root.path(),
        &files(),
        "walkthrough",
        "/hello.txt",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let r = common::json_records(&o);
    assert_eq!(r[0]["name"], "openat");
    assert_eq!(r[0]["args"][0], -100i64 as u64);
    assert_eq!(r[0]["ret"], 3);
    assert_eq!(r[1]["name"], "dup");
    assert_eq!(r[1]["regs"]["rax"], 32);
    assert_eq!(r[1]["regs"]["rdi"], 3);
    assert_eq!(r[1]["ret"], 4);
    assert_eq!(r[2]["name"], "close");
    assert_eq!(r[3]["name"], "close");
    assert_eq!(r[3]["args"][0], 4);
}
