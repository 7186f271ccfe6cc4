//! Exercises the file and system syscalls the host serves. `files SCENARIO
//! [ARGS...]` runs one scenario and prints one `label=value` line per
//! result (a negative value is -errno); tests/files.rs checks the lines
//! and the trace.
//!
//! Scenarios: `walkthrough PATH` (open, dup, close both), `read PATH`,
//! `fds PATH`, `erofs FILE DIR`, `open PATH...` (print what each path
//! reads), `dir DIR NAME`, `efault PATH`, `misc`, `limits`, `sleep SECS`,
//! `stdin`, `tty`.
#![no_std]
#![no_main]

use microvm_abi::linux::consts::{
    AT_EMPTY_PATH, CLOCK_MONOTONIC, CLOCK_REALTIME, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL,
    F_SETFD, F_SETFL, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_NONBLOCK, O_RDONLY, O_RDWR,
    O_TRUNC, O_WRONLY, RLIMIT_CPU, RLIMIT_NOFILE, RLIMIT_STACK, SEEK_CUR, SEEK_END, SEEK_SET,
    STATX_BASIC_STATS, S_IFMT, TCGETS, TIMER_ABSTIME, TIOCGWINSZ,
};
use microvm_user::{nr, say, sys, Args, Line};

/// `AT_FDCWD` as a syscall argument (the int sign-extended).
const AT_FDCWD: u64 = microvm_abi::linux::consts::AT_FDCWD as u64;
/// Offsets in struct stat and struct statx.
const ST_MODE: usize = 24;
const ST_SIZE: usize = 48;
const STX_MODE: usize = 28;
const STX_SIZE: usize = 40;
/// The null page: never mapped.
const BAD: u64 = 8;

fn ptr<T: ?Sized>(v: &T) -> u64 {
    v as *const T as *const u8 as u64
}

fn mut_ptr<T: ?Sized>(v: &mut T) -> u64 {
    v as *mut T as *mut u8 as u64
}

/// A NUL-terminated path from argv (the loader puts the NUL after it).
fn arg(args: &Args, i: usize) -> u64 {
    args.get(i).map_or(0, |a| a.as_ptr() as u64)
}

fn open(path: u64, flags: u64) -> i64 {
    sys(nr::OPENAT, &[AT_FDCWD, path, flags, 0o644])
}

fn read(fd: i64, buf: &mut [u8]) -> i64 {
    sys(nr::READ, &[fd as u64, mut_ptr(buf), buf.len() as u64])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

/// `label=ret data="..."` for a read of `n` bytes into `buf`.
fn say_data(label: &[u8], n: i64, buf: &[u8]) {
    let mut l = Line::new();
    l.s(label).s(b"=").n(n);
    if n > 0 {
        l.s(b" data=").s(&buf[..(n as usize).min(buf.len())]);
    }
    l.print();
}

/// `label=ret data=...` for a getcwd that returned `n` (its NUL included).
fn say_cwd(label: &[u8], n: i64, buf: &[u8]) {
    say_data(label, n, &buf[..(n.max(1) - 1) as usize]);
}

/// Nanoseconds on the monotonic clock.
fn monotonic() -> u64 {
    let mut ts = [0u64; 2];
    sys(nr::CLOCK_GETTIME, &[CLOCK_MONOTONIC, mut_ptr(&mut ts)]);
    ts[0] * 1_000_000_000 + ts[1]
}

#[no_mangle]
fn program_main(args: Args) -> i32 {
    match args.get(1).unwrap_or(b"") {
        b"walkthrough" => walkthrough(&args),
        b"read" => read_file(&args),
        b"fds" => fds(&args),
        b"erofs" => erofs(&args),
        b"open" => open_each(&args),
        b"dir" => dir(&args),
        b"efault" => efault(&args),
        b"misc" => misc(),
        b"limits" => limits(),
        b"sleep" => sleep(&args),
        b"stdin" => stdin(),
        b"tty" => tty(),
        _ => {
            microvm_user::write(2, b"usage: files SCENARIO [ARGS...]\n");
            return 2;
        }
    }
    0
}

/// The syscall walkthrough's C program: open read-only, dup, close both.
fn walkthrough(args: &Args) {
    let fd = open(arg(args, 2), O_RDONLY);
    let copy = sys(nr::DUP, &[fd as u64]);
    sys(nr::CLOSE, &[fd as u64]);
    sys(nr::CLOSE, &[copy as u64]);
    if fd < 0 || copy < 0 {
        microvm_user::exit_group(1);
    }
}

/// Reads and metadata of a 25-byte file "hello, world\nsecond line\n".
fn read_file(args: &Args) {
    let path = arg(args, 2);
    let fd = open(path, O_RDONLY);
    say(b"open", fd);
    let mut buf = [0u8; 64];
    let n = read(fd, &mut buf[..5]);
    say_data(b"read", n, &buf);
    let mut st = [0u8; 144];
    say(b"fstat", sys(nr::FSTAT, &[fd as u64, mut_ptr(&mut st)]));
    say(b"fstat.size", u64_at(&st, ST_SIZE) as i64);
    say(b"fstat.type", i64::from(u32_at(&st, ST_MODE) & S_IFMT));
    say(b"lseek.cur", sys(nr::LSEEK, &[fd as u64, 0, SEEK_CUR]));
    let n = sys(nr::PREAD64, &[fd as u64, mut_ptr(&mut buf), 5, 7]);
    say_data(b"pread", n, &buf);
    say(
        b"lseek.after_pread",
        sys(nr::LSEEK, &[fd as u64, 0, SEEK_CUR]),
    );
    let mut a = [0u8; 3];
    let mut b = [0u8; 4];
    let iov = [mut_ptr(&mut a), 3, mut_ptr(&mut b), 4];
    let n = sys(nr::READV, &[fd as u64, ptr(&iov), 2]);
    Line::new()
        .s(b"readv=")
        .n(n)
        .s(b" a=")
        .s(&a)
        .s(b" b=")
        .s(&b)
        .print();
    say(
        b"lseek.end",
        sys(nr::LSEEK, &[fd as u64, -5i64 as u64, SEEK_END]),
    );
    let n = read(fd, &mut buf);
    say_data(b"read.tail", n, &buf);
    say(b"read.eof", read(fd, &mut buf));
    say(b"lseek.bad_whence", sys(nr::LSEEK, &[fd as u64, 0, 7]));
    say(
        b"pread.negative",
        sys(
            nr::PREAD64,
            &[fd as u64, mut_ptr(&mut buf), 1, -1i64 as u64],
        ),
    );
    let mut st2 = [0u8; 144];
    say(
        b"newfstatat",
        sys(nr::NEWFSTATAT, &[AT_FDCWD, path, mut_ptr(&mut st2), 0]),
    );
    say(b"newfstatat.size", u64_at(&st2, ST_SIZE) as i64);
    say(
        b"newfstatat.empty_path",
        sys(
            nr::NEWFSTATAT,
            &[fd as u64, ptr(b"\0"), mut_ptr(&mut st2), AT_EMPTY_PATH],
        ),
    );
    say(
        b"newfstatat.empty_no_flag",
        sys(
            nr::NEWFSTATAT,
            &[fd as u64, ptr(b"\0"), mut_ptr(&mut st2), 0],
        ),
    );
    say(
        b"newfstatat.bad_flags",
        sys(nr::NEWFSTATAT, &[AT_FDCWD, path, mut_ptr(&mut st2), 0x1]),
    );
    say(b"stat", sys(nr::STAT, &[path, mut_ptr(&mut st2)]));
    let mut stx = [0u8; 256];
    say(
        b"statx",
        sys(
            nr::STATX,
            &[AT_FDCWD, path, 0, STATX_BASIC_STATS, mut_ptr(&mut stx)],
        ),
    );
    say(b"statx.size", u64_at(&stx, STX_SIZE) as i64);
    say(
        b"statx.type",
        i64::from(u32_at(&stx, STX_MODE) & 0xffff & S_IFMT),
    );
    say(
        b"statx.stdout",
        sys(
            nr::STATX,
            &[
                1,
                ptr(b"\0"),
                AT_EMPTY_PATH,
                STATX_BASIC_STATS,
                mut_ptr(&mut stx),
            ],
        ),
    );
    say(b"close", sys(nr::CLOSE, &[fd as u64]));
    say(b"read.closed", read(fd, &mut buf));
    say(b"close.again", sys(nr::CLOSE, &[fd as u64]));
    say(
        b"fstat.closed",
        sys(nr::FSTAT, &[fd as u64, mut_ptr(&mut st)]),
    );
    say(b"open.missing", open(ptr(b"/no/such/file\0"), O_RDONLY));
    say(b"open.empty", open(ptr(b"\0"), O_RDONLY));
}

/// dup, dup2, dup3, fcntl and the lowest free fd.
fn fds(args: &Args) {
    let fd = open(arg(args, 2), O_RDONLY);
    say(b"open", fd);
    let copy = sys(nr::DUP, &[fd as u64]);
    say(b"dup", copy);
    let mut buf = [0u8; 8];
    // One file offset, shared.
    let n = read(fd, &mut buf[..2]);
    say_data(b"read.fd", n, &buf);
    let n = read(copy, &mut buf[..2]);
    say_data(b"read.copy", n, &buf);
    say(b"dup2", sys(nr::DUP2, &[fd as u64, 10]));
    say(b"getfd.10", sys(nr::FCNTL, &[10, F_GETFD]));
    say(b"dup3", sys(nr::DUP3, &[fd as u64, 10, O_CLOEXEC]));
    say(b"getfd.10.cloexec", sys(nr::FCNTL, &[10, F_GETFD]));
    say(b"setfd", sys(nr::FCNTL, &[fd as u64, F_SETFD, 1]));
    say(b"getfd", sys(nr::FCNTL, &[fd as u64, F_GETFD]));
    say(b"getfl", sys(nr::FCNTL, &[fd as u64, F_GETFL]));
    say(b"setfl", sys(nr::FCNTL, &[fd as u64, F_SETFL, O_NONBLOCK]));
    say(b"getfl.copy", sys(nr::FCNTL, &[copy as u64, F_GETFL]));
    say(b"dupfd", sys(nr::FCNTL, &[fd as u64, F_DUPFD, 20]));
    say(
        b"dupfd_cloexec",
        sys(nr::FCNTL, &[fd as u64, F_DUPFD_CLOEXEC, 0]),
    );
    say(b"dup2.same", sys(nr::DUP2, &[fd as u64, fd as u64]));
    say(b"dup3.same", sys(nr::DUP3, &[fd as u64, fd as u64, 0]));
    say(b"dup3.bad_flags", sys(nr::DUP3, &[fd as u64, 11, 1]));
    say(b"dup2.bad_old", sys(nr::DUP2, &[99, 6]));
    say(b"dup2.too_high", sys(nr::DUP2, &[fd as u64, 5000]));
    say(
        b"dupfd.too_high",
        sys(nr::FCNTL, &[fd as u64, F_DUPFD, 5000]),
    );
    say(b"fcntl.bad_cmd", sys(nr::FCNTL, &[fd as u64, 999]));
    say(b"fcntl.bad_fd", sys(nr::FCNTL, &[77, F_GETFD]));
    // fd 0 freed: the next fd is 0.
    say(b"close.0", sys(nr::CLOSE, &[0]));
    say(b"dup.lowest", sys(nr::DUP, &[fd as u64]));
    // A dup of stdout writes to stdout.
    let out = sys(nr::DUP, &[1]);
    say(b"dup.stdout", out);
    microvm_user::write(out as i32, b"via dup of stdout\n");
    // Closing fd 1 and reusing it for the file: writes to 1 now fail.
    say(b"close.1", sys(nr::CLOSE, &[1]));
    say(b"dup.into_1", sys(nr::DUP, &[fd as u64]));
    let r = microvm_user::write(1, b"lost\n");
    Line::new().s(b"write.1=").n(r).to(out as i32);
    for f in [fd, copy, 10, 20] {
        sys(nr::CLOSE, &[f as u64]);
    }
}

/// Writes and creation are refused: EROFS.
fn erofs(args: &Args) {
    let file = arg(args, 2);
    let dir = arg(args, 3);
    say(b"wronly", open(file, O_WRONLY));
    say(b"rdwr", open(file, O_RDWR));
    // (O_RDONLY with O_CREAT or O_APPEND opens an existing file read-only
    // on a read-only mount: tests/c/rofs.c checks such cases against Linux.)
    say(b"creat.existing", open(file, O_WRONLY | O_CREAT));
    say(b"creat.new", open(ptr(b"/new-file\0"), O_WRONLY | O_CREAT));
    say(b"trunc", open(file, O_WRONLY | O_TRUNC));
    say(b"append", open(file, O_WRONLY | O_APPEND));
    say(b"wronly.missing", open(ptr(b"/missing\0"), O_WRONLY));
    say(
        b"creat.legacy_open",
        sys(nr::OPEN, &[ptr(b"/x\0"), O_CREAT | O_WRONLY, 0o600]),
    );
    let fd = open(file, O_RDONLY);
    say(b"open.ro", fd);
    say(b"write.ro", microvm_user::write(fd as i32, b"x"));
    let iov = [ptr(b"x"), 1];
    say(b"writev.ro", sys(nr::WRITEV, &[fd as u64, ptr(&iov), 1]));
    say(b"write.stdin", microvm_user::write(0, b"x"));
    let d = open(dir, O_RDONLY | O_DIRECTORY);
    say(b"open.dir", d);
    let mut buf = [0u8; 16];
    say(b"read.dir", read(d, &mut buf));
    say(b"directory.on_file", open(file, O_RDONLY | O_DIRECTORY));
}

/// Open each path; print what it reads (or the error).
fn open_each(args: &Args) {
    for i in 2..args.len() {
        let fd = open(arg(args, i), O_RDONLY);
        let mut l = Line::new();
        l.s(args.get(i).unwrap_or(b"")).s(b"=");
        if fd < 0 {
            l.n(fd).print();
            continue;
        }
        let mut buf = [0u8; 64];
        let n = read(fd, &mut buf);
        if n > 0 {
            // Drop a trailing newline.
            let end = if buf[n as usize - 1] == b'\n' {
                n - 1
            } else {
                n
            };
            l.s(&buf[..end as usize]);
        } else {
            l.n(n);
        }
        l.print();
        sys(nr::CLOSE, &[fd as u64]);
    }
}

/// Directories: getdents64, relative opens from a dirfd and the cwd,
/// chdir/fchdir/getcwd, readlink of a symlink in the view.
fn dir(args: &Args) {
    let dir = arg(args, 2);
    let name = arg(args, 3);
    let d = open(dir, O_RDONLY | O_DIRECTORY);
    say(b"open.dir", d);
    let mut ents = [0u8; 1024];
    let n = sys(nr::GETDENTS64, &[d as u64, mut_ptr(&mut ents), 1024]);
    say(b"getdents64.positive", (n > 0) as i64);
    // Look for NAME among the entries (d_reclen at 16, d_name at 19).
    let want = args.get(3).unwrap_or(b"");
    let mut off = 0usize;
    let mut found = 0;
    while n > 0 && off + 19 < n as usize {
        let reclen = u16::from_le_bytes([ents[off + 16], ents[off + 17]]) as usize;
        let name_bytes = &ents[off + 19..off + reclen];
        let len = name_bytes.iter().position(|&c| c == 0).unwrap_or(0);
        if &name_bytes[..len] == want {
            found = 1;
        }
        if reclen == 0 {
            break;
        }
        off += reclen;
    }
    say(b"getdents64.found", found);
    let f = sys(nr::OPENAT, &[d as u64, name, O_RDONLY, 0]);
    say(b"openat.dirfd", f);
    let mut buf = [0u8; 64];
    let n = read(f, &mut buf);
    say_data(b"read.dirfd", n, &buf);
    say(
        b"openat.file_as_dirfd",
        sys(nr::OPENAT, &[f as u64, name, O_RDONLY, 0]),
    );
    say(
        b"openat.bad_dirfd",
        sys(nr::OPENAT, &[55, name, O_RDONLY, 0]),
    );
    say(
        b"openat.stdout_dirfd",
        sys(nr::OPENAT, &[1, name, O_RDONLY, 0]),
    );
    let mut cwd = [0u8; 64];
    let n = sys(nr::GETCWD, &[mut_ptr(&mut cwd), 64]);
    say_cwd(b"getcwd", n, &cwd);
    say(b"chdir", sys(nr::CHDIR, &[dir]));
    let n = sys(nr::GETCWD, &[mut_ptr(&mut cwd), 64]);
    say_cwd(b"getcwd.after", n, &cwd);
    let g = open(name, O_RDONLY);
    say(b"open.relative", g);
    say(b"chdir.up", sys(nr::CHDIR, &[ptr(b"..\0")]));
    let n = sys(nr::GETCWD, &[mut_ptr(&mut cwd), 64]);
    say_cwd(b"getcwd.up", n, &cwd);
    say(b"chdir.file", sys(nr::CHDIR, &[ptr(b"/hello.txt\0")]));
    say(b"fchdir", sys(nr::FCHDIR, &[d as u64]));
    let n = sys(nr::GETCWD, &[mut_ptr(&mut cwd), 64]);
    say_cwd(b"getcwd.fchdir", n, &cwd);
    say(b"getcwd.small", sys(nr::GETCWD, &[mut_ptr(&mut cwd), 2]));
    let mut link = [0u8; 64];
    let n = sys(nr::READLINK, &[ptr(b"/abs\0"), mut_ptr(&mut link), 64]);
    say_data(b"readlink.abs", n, &link);
    let n = sys(nr::READLINK, &[ptr(b"/abs\0"), mut_ptr(&mut link), 4]);
    say_data(b"readlink.short", n, &link);
    let n = sys(
        nr::READLINK,
        &[ptr(b"/hello.txt\0"), mut_ptr(&mut link), 64],
    );
    say(b"readlink.not_link", n);
    let n = sys(nr::READLINK, &[ptr(b"/abs\0"), mut_ptr(&mut link), 0]);
    say(b"readlink.zero", n);
}

/// Every pointer the guest passes is checked.
fn efault(args: &Args) {
    let path = arg(args, 2);
    let fd = open(path, O_RDONLY) as u64;
    say(b"open.bad_path", open(BAD, O_RDONLY));
    say(b"open.kernel_path", open(0xffff_ffff_8000_4000, O_RDONLY));
    say(b"read.bad_buf", sys(nr::READ, &[fd, BAD, 16]));
    // The program's own code: readable by ring 3, not writable.
    say(
        b"read.text",
        sys(nr::READ, &[fd, program_main as *const () as u64, 4]),
    );
    say(b"read.after_refusals", {
        let mut b = [0u8; 5];
        let n = read(fd as i64, &mut b);
        if &b == b"hello" {
            n
        } else {
            -1000
        }
    });
    say(b"pread.bad_buf", sys(nr::PREAD64, &[fd, BAD, 4, 0]));
    say(b"fstat.bad_buf", sys(nr::FSTAT, &[fd, BAD]));
    say(b"readv.bad_iov", sys(nr::READV, &[fd, BAD, 1]));
    let iov = [BAD, 4];
    say(b"readv.bad_base", sys(nr::READV, &[fd, ptr(&iov), 1]));
    say(b"readv.too_many", sys(nr::READV, &[fd, ptr(&iov), 2000]));
    say(
        b"readv.wrapping_iov",
        sys(nr::READV, &[fd, u64::MAX - 7, 2]),
    );
    say(b"getcwd.wrapping", sys(nr::GETCWD, &[u64::MAX - 1, 64]));
    say(b"writev.bad_base", sys(nr::WRITEV, &[1, ptr(&iov), 1]));
    let mut st = [0u8; 144];
    say(
        b"newfstatat.bad_path",
        sys(nr::NEWFSTATAT, &[AT_FDCWD, BAD, mut_ptr(&mut st), 0]),
    );
    say(
        b"newfstatat.bad_buf",
        sys(nr::NEWFSTATAT, &[AT_FDCWD, path, BAD, 0]),
    );
    say(
        b"statx.bad_buf",
        sys(nr::STATX, &[AT_FDCWD, path, 0, STATX_BASIC_STATS, BAD]),
    );
    say(b"uname.bad", sys(nr::UNAME, &[BAD]));
    say(
        b"clock_gettime.bad",
        sys(nr::CLOCK_GETTIME, &[CLOCK_MONOTONIC, BAD]),
    );
    say(b"gettimeofday.bad", sys(nr::GETTIMEOFDAY, &[BAD, 0]));
    say(b"time.bad", sys(nr::TIME, &[BAD]));
    say(b"nanosleep.bad", sys(nr::NANOSLEEP, &[BAD, 0]));
    say(b"getcwd.bad", sys(nr::GETCWD, &[BAD, 64]));
    say(b"getrandom.bad", sys(nr::GETRANDOM, &[BAD, 16, 0]));
    say(
        b"getrandom.text",
        sys(nr::GETRANDOM, &[program_main as *const () as u64, 16, 0]),
    );
    say(
        b"prlimit64.bad_old",
        sys(nr::PRLIMIT64, &[0, RLIMIT_NOFILE, 0, BAD]),
    );
    say(
        b"prlimit64.bad_new",
        sys(nr::PRLIMIT64, &[0, RLIMIT_NOFILE, BAD, 0]),
    );
    say(
        b"sched_getaffinity.bad",
        sys(nr::SCHED_GETAFFINITY, &[0, 8, BAD]),
    );
    say(
        b"readlink.bad_buf",
        sys(nr::READLINK, &[ptr(b"/proc/self/exe\0"), BAD, 64]),
    );
    say(b"readlink.bad_path", sys(nr::READLINK, &[BAD, BAD, 64]));
    // 8 KiB of 'a' with no NUL in the first 4096 bytes.
    let long = [b'a'; 8192];
    say(b"open.too_long", open(ptr(&long), O_RDONLY));
    sys(nr::CLOSE, &[fd]);
}

/// The system, the clocks, randomness and the start-up calls.
fn misc() {
    let mut cwd = [0u8; 64];
    let n = sys(nr::GETCWD, &[mut_ptr(&mut cwd), 64]);
    say_cwd(b"getcwd", n, &cwd);
    let mut uts = [0u8; 390];
    say(b"uname", sys(nr::UNAME, &[mut_ptr(&mut uts)]));
    for (label, i) in [(&b"sysname"[..], 0), (b"nodename", 1), (b"machine", 4)] {
        let field = &uts[i * 65..(i + 1) * 65];
        let len = field.iter().position(|&c| c == 0).unwrap_or(65);
        Line::new()
            .s(b"uname.")
            .s(label)
            .s(b"=")
            .s(&field[..len])
            .print();
    }
    let release = &uts[130..195];
    say(b"uname.release_set", (release[0] != 0) as i64);
    let mut rnd = [0u8; 64];
    say(
        b"getrandom",
        sys(nr::GETRANDOM, &[mut_ptr(&mut rnd), 64, 0]),
    );
    say(b"getrandom.nonzero", rnd.iter().any(|&b| b != 0) as i64);
    let mut rnd2 = [0u8; 64];
    sys(nr::GETRANDOM, &[mut_ptr(&mut rnd2), 64, 1]);
    say(b"getrandom.differs", (rnd != rnd2) as i64);
    say(
        b"getrandom.bad_flags",
        sys(nr::GETRANDOM, &[mut_ptr(&mut rnd), 8, 0x80]),
    );
    let mut ts = [0u64; 2];
    say(
        b"clock_gettime",
        sys(nr::CLOCK_GETTIME, &[CLOCK_MONOTONIC, mut_ptr(&mut ts)]),
    );
    say(b"clock_gettime.nsec_ok", (ts[1] < 1_000_000_000) as i64);
    say(
        b"clock_gettime.bad_clock",
        sys(nr::CLOCK_GETTIME, &[99, mut_ptr(&mut ts)]),
    );
    sys(nr::CLOCK_GETTIME, &[CLOCK_REALTIME, mut_ptr(&mut ts)]);
    let realtime = ts[0];
    let mut tv = [0u64; 2];
    let mut tz = [0u32; 2];
    say(
        b"gettimeofday",
        sys(nr::GETTIMEOFDAY, &[mut_ptr(&mut tv), mut_ptr(&mut tz)]),
    );
    say(b"gettimeofday.usec_ok", (tv[1] < 1_000_000) as i64);
    say(
        b"gettimeofday.close",
        (tv[0].abs_diff(realtime) <= 2) as i64,
    );
    let mut t = 0u64;
    let now = sys(nr::TIME, &[mut_ptr(&mut t)]);
    say(b"time.stored", (now as u64 == t) as i64);
    say(b"time.after_2020", (now > 1_577_836_800) as i64);
    // 20 ms, measured.
    let start = monotonic();
    let req = [0u64, 20_000_000];
    say(b"nanosleep", sys(nr::NANOSLEEP, &[ptr(&req), 0]));
    let slept = monotonic() - start;
    say(b"nanosleep.long_enough", (slept >= 20_000_000) as i64);
    say(b"nanosleep.not_too_long", (slept < 2_000_000_000) as i64);
    let bad = [0u64, 2_000_000_000];
    say(b"nanosleep.bad_nsec", sys(nr::NANOSLEEP, &[ptr(&bad), 0]));
    let start = monotonic();
    let req = [0u64, 10_000_000];
    say(
        b"clock_nanosleep",
        sys(nr::CLOCK_NANOSLEEP, &[CLOCK_MONOTONIC, 0, ptr(&req), 0]),
    );
    say(
        b"clock_nanosleep.long_enough",
        (monotonic() - start >= 10_000_000) as i64,
    );
    let target = monotonic() + 10_000_000;
    let abs = [target / 1_000_000_000, target % 1_000_000_000];
    say(
        b"clock_nanosleep.abs",
        sys(
            nr::CLOCK_NANOSLEEP,
            &[CLOCK_MONOTONIC, TIMER_ABSTIME, ptr(&abs), 0],
        ),
    );
    say(
        b"clock_nanosleep.abs_reached",
        (monotonic() >= target) as i64,
    );
    say(
        b"clock_nanosleep.bad_clock",
        sys(nr::CLOCK_NANOSLEEP, &[99, 0, ptr(&req), 0]),
    );
    let mut mask = [0xffu8; 128];
    say(
        b"sched_getaffinity",
        sys(nr::SCHED_GETAFFINITY, &[0, 128, mut_ptr(&mut mask)]),
    );
    say(b"sched_getaffinity.mask", i64::from(mask[0]));
    say(
        b"sched_getaffinity.short",
        sys(nr::SCHED_GETAFFINITY, &[0, 4, mut_ptr(&mut mask)]),
    );
    say(
        b"sched_getaffinity.other_pid",
        sys(nr::SCHED_GETAFFINITY, &[42, 128, mut_ptr(&mut mask)]),
    );
    let mut tid = 0u32;
    say(
        b"set_tid_address",
        sys(nr::SET_TID_ADDRESS, &[mut_ptr(&mut tid)]),
    );
    let head = [0u64; 3];
    say(
        b"set_robust_list",
        sys(nr::SET_ROBUST_LIST, &[ptr(&head), 24]),
    );
    say(
        b"set_robust_list.bad_len",
        sys(nr::SET_ROBUST_LIST, &[ptr(&head), 8]),
    );
    say(b"rseq", sys(nr::RSEQ, &[0, 32, 0, 0]));
    let mut term = [0u8; 64];
    say(
        b"ioctl.tcgets",
        sys(nr::IOCTL, &[1, TCGETS, mut_ptr(&mut term)]),
    );
    say(
        b"ioctl.tiocgwinsz",
        sys(nr::IOCTL, &[1, TIOCGWINSZ, mut_ptr(&mut term)]),
    );
    say(
        b"ioctl.bad_fd",
        sys(nr::IOCTL, &[33, TCGETS, mut_ptr(&mut term)]),
    );
    say(
        b"ioctl.other",
        sys(nr::IOCTL, &[1, 0x541b, mut_ptr(&mut term)]),
    );
    let mut exe = [0u8; 256];
    let n = sys(
        nr::READLINK,
        &[ptr(b"/proc/self/exe\0"), mut_ptr(&mut exe), 256],
    );
    say_data(b"readlink.exe", n, &exe);
    let n = sys(
        nr::READLINKAT,
        &[AT_FDCWD, ptr(b"/proc/self/exe\0"), mut_ptr(&mut exe), 256],
    );
    say(b"readlinkat.exe", n);
    let mut st = [0u8; 144];
    say(b"fstat.stdout", sys(nr::FSTAT, &[1, mut_ptr(&mut st)]));
    say(b"fstat.stdin", sys(nr::FSTAT, &[0, mut_ptr(&mut st)]));
    say(
        b"newfstatat.stdout",
        sys(
            nr::NEWFSTATAT,
            &[1, ptr(b"\0"), mut_ptr(&mut st), AT_EMPTY_PATH],
        ),
    );
    say(b"getfl.stdout_accmode", sys(nr::FCNTL, &[1, F_GETFL]) & 3);
    say(b"lseek.stdout_pipe", sys(nr::LSEEK, &[1, 0, SEEK_SET]));
    let iov = [ptr(b"one "), 4, ptr(b"two "), 4, ptr(b"three\n"), 6];
    say(b"writev", sys(nr::WRITEV, &[1, ptr(&iov), 3]));
}

/// Resource limits, and running out of fds.
fn limits() {
    let mut old = [0u64; 2];
    say(
        b"prlimit64.stack",
        sys(nr::PRLIMIT64, &[0, RLIMIT_STACK, 0, mut_ptr(&mut old)]),
    );
    say(b"stack.cur", old[0] as i64);
    say(
        b"prlimit64.nofile",
        sys(nr::PRLIMIT64, &[0, RLIMIT_NOFILE, 0, mut_ptr(&mut old)]),
    );
    say(b"nofile.cur", old[0] as i64);
    say(b"nofile.max", old[1] as i64);
    say(
        b"getrlimit.cpu",
        sys(nr::GETRLIMIT, &[RLIMIT_CPU, mut_ptr(&mut old)]),
    );
    say(b"cpu.cur", old[0] as i64);
    say(
        b"prlimit64.bad_resource",
        sys(nr::PRLIMIT64, &[0, 99, 0, mut_ptr(&mut old)]),
    );
    say(
        b"prlimit64.other_pid",
        sys(nr::PRLIMIT64, &[42, RLIMIT_NOFILE, 0, mut_ptr(&mut old)]),
    );
    // Every fd up to the limit, then EMFILE.
    let mut count = 0;
    let err = loop {
        let r = sys(nr::DUP, &[0]);
        if r < 0 {
            break r;
        }
        count += 1;
    };
    say(b"dups", count);
    say(b"dup.exhausted", err);
    for fd in 3..1024 {
        sys(nr::CLOSE, &[fd]);
    }
    // Lower the limit to 8: fds 0..7.
    let new = [8u64, 8];
    say(
        b"prlimit64.lower",
        sys(
            nr::PRLIMIT64,
            &[0, RLIMIT_NOFILE, ptr(&new), mut_ptr(&mut old)],
        ),
    );
    say(b"prlimit64.lower.old_cur", old[0] as i64);
    let mut count = 0;
    while sys(nr::DUP, &[0]) >= 0 {
        count += 1;
    }
    say(b"dups.lowered", count);
    let up = [1024u64, 1024];
    say(
        b"prlimit64.raise",
        sys(nr::PRLIMIT64, &[0, RLIMIT_NOFILE, ptr(&up), 0]),
    );
    let bad = [9u64, 8];
    say(
        b"prlimit64.cur_above_max",
        sys(nr::PRLIMIT64, &[0, RLIMIT_NOFILE, ptr(&bad), 0]),
    );
}

/// Sleep SECS seconds (a --timeout test stops it).
fn sleep(args: &Args) {
    let secs = args
        .get(2)
        .unwrap_or(b"1")
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    let req = [secs, 0];
    let mut rem = [0u64; 2];
    let r = sys(nr::NANOSLEEP, &[ptr(&req), mut_ptr(&mut rem)]);
    say(b"nanosleep", r);
}

/// Copy stdin to stdout, saying how much each read got.
fn stdin() {
    let mut buf = [0u8; 64];
    loop {
        let n = read(0, &mut buf);
        say(b"read", n);
        if n <= 0 {
            break;
        }
        microvm_user::write(1, &buf[..n as usize]);
    }
    // Non-blocking at end of input.
    say(b"setfl", sys(nr::FCNTL, &[0, F_SETFL, O_NONBLOCK]));
    say(b"read.nonblock", read(0, &mut buf));
}

/// The terminal's answers, written to stderr (stdout is the terminal).
fn tty() {
    let mut ws = [0u16; 4];
    let r = sys(nr::IOCTL, &[1, TIOCGWINSZ, mut_ptr(&mut ws)]);
    Line::new()
        .s(b"winsize=")
        .n(r)
        .s(b" rows=")
        .n(i64::from(ws[0]))
        .s(b" cols=")
        .n(i64::from(ws[1]))
        .to(2);
    let mut term = [0u8; 64];
    let r = sys(nr::IOCTL, &[1, TCGETS, mut_ptr(&mut term)]);
    Line::new().s(b"tcgets=").n(r).to(2);
    let r = sys(nr::IOCTL, &[0, TCGETS, mut_ptr(&mut term)]);
    Line::new().s(b"tcgets.stdin=").n(r).to(2);
}
