//! The generated Linux constants (abi/src/linux/consts.rs) against their
//! sources: the C headers they are generated from (the generator's
//! `--check`), the `libc` crate where it has the same names, and strace
//! itself for the order of the names (tests/c/xlat_order.c run under
//! `strace -v`: every name strace prints is in the matching table, in the
//! table's order).

#![allow(clippy::unnecessary_cast)]

use microvm_abi::linux::consts::{self, *};
use microvm_abi::linux::xlat::{Xlat, XlatKind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("vmm/ has a parent")
        .to_path_buf()
}

/// True when gcc is there. Without it the header checks skip with one line,
/// unless CI is set, where a missing gcc is a failure.
fn gcc_available() -> bool {
    if Command::new("gcc").arg("--version").output().is_ok() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but gcc is missing: the Linux constants cannot be checked against the headers");
    }
    eprintln!("skipped: gcc is missing on this host");
    false
}

fn gen_check(file: Option<&Path>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("scripts/gen-linux-consts"))
        .arg("--check");
    if let Some(f) = file {
        cmd.arg(f);
    }
    cmd.output().expect("run scripts/gen-linux-consts")
}

#[test]
fn consts_rs_is_what_the_headers_give() {
    if !gcc_available() {
        return;
    }
    let out = gen_check(None);
    assert!(
        out.status.success(),
        "abi/src/linux/consts.rs differs from the headers (run scripts/gen-linux-consts):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_check_fails_on_a_drifted_value_and_shows_it() {
    if !gcc_available() {
        return;
    }
    let real =
        std::fs::read_to_string(root().join("abi/src/linux/consts.rs")).expect("read consts.rs");
    let good = "pub const O_CREAT: u64 = 0x40;";
    assert!(real.contains(good), "consts.rs has no `{good}`");
    let dir = std::env::temp_dir().join(format!("microvm-consts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let drifted = dir.join("consts.rs");
    std::fs::write(
        &drifted,
        real.replace(good, "pub const O_CREAT: u64 = 0x80;"),
    )
    .expect("write");
    let out = gen_check(Some(&drifted));
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a drifted O_CREAT passed the check");
    assert!(
        stdout.contains("-pub const O_CREAT: u64 = 0x80;"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+pub const O_CREAT: u64 = 0x40;"),
        "{stdout}"
    );
}

/// `(libc value as sign-extended u64, libc name)`.
macro_rules! libc_values {
    ($($name:ident),* $(,)?) => {
        [$((libc::$name as i64 as u64, stringify!($name))),*]
    };
}

/// `(libc value as a u32 word, libc name)`, for flags the kernel keeps in an
/// unsigned word that libc types as a (negative) c_int.
macro_rules! libc_u32 {
    ($($name:ident),* $(,)?) => {
        [$((libc::$name as u32 as u64, stringify!($name))),*]
    };
}

/// Each name has the libc value in `table`.
fn agrees(table: &Xlat, what: &str, values: &[(u64, &str)]) {
    for &(v, name) in values {
        assert_eq!(table.value(name), Some(v), "{what}: {name}");
    }
}

#[test]
fn tables_agree_with_libc() {
    agrees(
        &OPEN_ACCESS_MODES,
        "open access",
        &libc_values![O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE],
    );
    agrees(
        &OPEN_MODE_FLAGS,
        "open flags",
        &libc_values![
            O_CREAT,
            O_EXCL,
            O_NOCTTY,
            O_TRUNC,
            O_APPEND,
            O_NONBLOCK,
            O_SYNC,
            O_DSYNC,
            O_DIRECT,
            O_NOFOLLOW,
            O_NOATIME,
            O_CLOEXEC,
            O_PATH,
            O_TMPFILE,
            O_DIRECTORY
        ],
    );
    agrees(
        &AT_FLAGS,
        "at flags",
        &libc_values![
            AT_SYMLINK_NOFOLLOW,
            AT_REMOVEDIR,
            AT_SYMLINK_FOLLOW,
            AT_NO_AUTOMOUNT,
            AT_EMPTY_PATH,
            AT_RECURSIVE
        ],
    );
    agrees(
        &AT_STATX_SYNC_TYPES,
        "statx sync",
        &libc_values![AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC, AT_STATX_SYNC_TYPE],
    );
    agrees(
        &FCNTLCMDS,
        "fcntl",
        &libc_values![
            F_DUPFD,
            F_GETFD,
            F_SETFD,
            F_GETFL,
            F_SETFL,
            F_GETLK,
            F_SETLK,
            F_SETLKW,
            F_SETOWN,
            F_GETOWN,
            F_OFD_GETLK,
            F_OFD_SETLK,
            F_OFD_SETLKW,
            F_SETLEASE,
            F_GETLEASE,
            F_NOTIFY,
            F_CANCELLK,
            F_DUPFD_CLOEXEC,
            F_SETPIPE_SZ,
            F_GETPIPE_SZ,
            F_ADD_SEALS,
            F_GET_SEALS
        ],
    );
    agrees(
        &OPEN_MODE_FLAGS,
        "FASYNC",
        &[(libc::O_ASYNC as u64, "FASYNC")],
    );
    agrees(&FDFLAGS, "fd flags", &libc_values![FD_CLOEXEC]);
    agrees(
        &WHENCE_CODES,
        "whence",
        &libc_values![SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE],
    );
    agrees(
        &STATX_MASK,
        "statx mask",
        &libc_values![
            STATX_ALL,
            STATX_BASIC_STATS,
            STATX_TYPE,
            STATX_MODE,
            STATX_NLINK,
            STATX_UID,
            STATX_GID,
            STATX_ATIME,
            STATX_MTIME,
            STATX_CTIME,
            STATX_INO,
            STATX_SIZE,
            STATX_BLOCKS,
            STATX_BTIME,
            STATX_MNT_ID,
            STATX_DIOALIGN
        ],
    );
    agrees(
        &MODETYPES,
        "file types",
        &libc_values![S_IFREG, S_IFSOCK, S_IFIFO, S_IFLNK, S_IFDIR, S_IFBLK, S_IFCHR],
    );
    agrees(
        &CLOCKS,
        "clocks",
        &libc_values![
            CLOCK_REALTIME,
            CLOCK_MONOTONIC,
            CLOCK_PROCESS_CPUTIME_ID,
            CLOCK_THREAD_CPUTIME_ID,
            CLOCK_MONOTONIC_RAW,
            CLOCK_REALTIME_COARSE,
            CLOCK_MONOTONIC_COARSE,
            CLOCK_BOOTTIME,
            CLOCK_REALTIME_ALARM,
            CLOCK_BOOTTIME_ALARM,
            CLOCK_TAI
        ],
    );
    agrees(&TIMER_FLAGS, "timer flags", &libc_values![TIMER_ABSTIME]);
    agrees(
        &GETRANDOM_FLAGS,
        "getrandom",
        &libc_values![GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE],
    );
    agrees(
        &RESOURCES,
        "rlimits",
        &libc_values![
            RLIMIT_CPU,
            RLIMIT_FSIZE,
            RLIMIT_DATA,
            RLIMIT_STACK,
            RLIMIT_CORE,
            RLIMIT_RSS,
            RLIMIT_NPROC,
            RLIMIT_NOFILE,
            RLIMIT_MEMLOCK,
            RLIMIT_AS,
            RLIMIT_LOCKS,
            RLIMIT_SIGPENDING,
            RLIMIT_MSGQUEUE,
            RLIMIT_NICE,
            RLIMIT_RTPRIO,
            RLIMIT_RTTIME
        ],
    );
    agrees(
        &MMAP_PROT,
        "prot",
        &libc_values![
            PROT_READ,
            PROT_WRITE,
            PROT_EXEC,
            PROT_GROWSDOWN,
            PROT_GROWSUP
        ],
    );
    agrees(
        &MMAP_FLAGS,
        "mmap flags",
        &libc_values![
            MAP_SHARED,
            MAP_PRIVATE,
            MAP_SHARED_VALIDATE,
            MAP_FIXED,
            MAP_ANONYMOUS,
            MAP_32BIT,
            MAP_NORESERVE,
            MAP_POPULATE,
            MAP_NONBLOCK,
            MAP_GROWSDOWN,
            MAP_DENYWRITE,
            MAP_EXECUTABLE,
            MAP_LOCKED,
            MAP_STACK,
            MAP_HUGETLB,
            MAP_SYNC,
            MAP_FIXED_NOREPLACE
        ],
    );
    agrees(
        &MREMAP_FLAGS,
        "mremap",
        &libc_values![MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP],
    );
    agrees(
        &MADVISE_CMDS,
        "madvise",
        &libc_values![
            MADV_NORMAL,
            MADV_RANDOM,
            MADV_SEQUENTIAL,
            MADV_WILLNEED,
            MADV_DONTNEED,
            MADV_FREE,
            MADV_REMOVE,
            MADV_DONTFORK,
            MADV_DOFORK,
            MADV_MERGEABLE,
            MADV_UNMERGEABLE,
            MADV_HUGEPAGE,
            MADV_NOHUGEPAGE,
            MADV_DONTDUMP,
            MADV_DODUMP,
            MADV_WIPEONFORK,
            MADV_KEEPONFORK,
            MADV_COLD,
            MADV_PAGEOUT,
            MADV_POPULATE_READ,
            MADV_POPULATE_WRITE,
            MADV_COLLAPSE,
            MADV_HWPOISON,
            MADV_SOFT_OFFLINE
        ],
    );
    agrees(
        &SIGNALS,
        "signals",
        &libc_values![
            SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1,
            SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP,
            SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH,
            SIGIO, SIGPWR, SIGSYS
        ],
    );
    agrees(
        &SIGACT_FLAGS,
        "sa_flags",
        &libc_u32![
            SA_ONSTACK,
            SA_RESTART,
            SA_NODEFER,
            SA_RESETHAND,
            SA_SIGINFO,
            SA_NOCLDSTOP,
            SA_NOCLDWAIT
        ],
    );
    agrees(
        &SIGPROCMASK_FLAGS,
        "sigprocmask",
        &libc_values![SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK],
    );
    agrees(
        &SA_HANDLER_VALUES,
        "sa_handler",
        &libc_values![SIG_DFL, SIG_IGN, SIG_ERR],
    );
    agrees(
        &SIGINFO_CODES,
        "si_code",
        &libc_values![
            SI_USER,
            SI_KERNEL,
            SI_QUEUE,
            SI_TIMER,
            SI_MESGQ,
            SI_ASYNCIO,
            SI_SIGIO,
            SI_TKILL,
            SI_DETHREAD,
            SI_ASYNCNL
        ],
    );
    agrees(
        &SIGBUS_CODES,
        "SIGBUS codes",
        &libc_values![
            BUS_ADRALN,
            BUS_ADRERR,
            BUS_OBJERR,
            BUS_MCEERR_AR,
            BUS_MCEERR_AO
        ],
    );
    agrees(
        &SIGTRAP_CODES,
        "SIGTRAP codes",
        &libc_values![TRAP_BRKPT, TRAP_TRACE, TRAP_BRANCH, TRAP_HWBKPT, TRAP_UNK],
    );
    agrees(
        &CLONE_FLAGS,
        "clone",
        &libc_u32![
            CLONE_VM,
            CLONE_FS,
            CLONE_FILES,
            CLONE_SIGHAND,
            CLONE_PIDFD,
            CLONE_PTRACE,
            CLONE_VFORK,
            CLONE_PARENT,
            CLONE_THREAD,
            CLONE_NEWNS,
            CLONE_SYSVSEM,
            CLONE_SETTLS,
            CLONE_PARENT_SETTID,
            CLONE_CHILD_CLEARTID,
            CLONE_UNTRACED,
            CLONE_CHILD_SETTID,
            CLONE_NEWCGROUP,
            CLONE_NEWUTS,
            CLONE_NEWIPC,
            CLONE_NEWUSER,
            CLONE_NEWPID,
            CLONE_NEWNET,
            CLONE_IO
        ],
    );
    agrees(
        &WAIT4_OPTIONS,
        "wait options",
        &libc_u32![
            WNOHANG,
            WEXITED,
            WSTOPPED,
            WCONTINUED,
            WNOWAIT,
            __WCLONE,
            __WALL,
            __WNOTHREAD
        ],
    );
    agrees(
        &PRCTL_OPTIONS,
        "prctl",
        &libc_values![
            PR_SET_PDEATHSIG,
            PR_GET_PDEATHSIG,
            PR_GET_DUMPABLE,
            PR_SET_DUMPABLE,
            PR_SET_NAME,
            PR_GET_NAME,
            PR_GET_SECCOMP,
            PR_SET_SECCOMP,
            PR_SET_NO_NEW_PRIVS,
            PR_GET_NO_NEW_PRIVS,
            PR_SET_MM,
            PR_SET_CHILD_SUBREAPER,
            PR_CAP_AMBIENT,
            PR_SET_PTRACER
        ],
    );
    agrees(
        &FUTEX_OPS,
        "futex",
        &libc_values![
            FUTEX_WAIT,
            FUTEX_WAKE,
            FUTEX_FD,
            FUTEX_REQUEUE,
            FUTEX_CMP_REQUEUE,
            FUTEX_WAKE_OP,
            FUTEX_LOCK_PI,
            FUTEX_UNLOCK_PI,
            FUTEX_TRYLOCK_PI,
            FUTEX_WAIT_BITSET,
            FUTEX_WAKE_BITSET,
            FUTEX_WAIT_REQUEUE_PI,
            FUTEX_CMP_REQUEUE_PI,
            FUTEX_LOCK_PI2
        ],
    );
    agrees(
        &ADDRFAMS,
        "address families",
        &libc_values![
            AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_VSOCK, AF_ALG, AF_XDP
        ],
    );
    agrees(
        &SOCKETTYPES,
        "socket types",
        &libc_values![
            SOCK_STREAM,
            SOCK_DGRAM,
            SOCK_RAW,
            SOCK_RDM,
            SOCK_SEQPACKET,
            SOCK_DCCP
        ],
    );
    agrees(
        &SOCK_TYPE_FLAGS,
        "socket flags",
        &libc_values![SOCK_CLOEXEC, SOCK_NONBLOCK],
    );
    agrees(
        &INET_PROTOCOLS,
        "ip protocols",
        &libc_values![
            IPPROTO_IP,
            IPPROTO_ICMP,
            IPPROTO_TCP,
            IPPROTO_UDP,
            IPPROTO_IPV6,
            IPPROTO_ICMPV6,
            IPPROTO_SCTP,
            IPPROTO_UDPLITE,
            IPPROTO_RAW,
            IPPROTO_MPTCP
        ],
    );
    agrees(
        &MSG_FLAGS,
        "msg flags",
        &libc_values![
            MSG_OOB,
            MSG_PEEK,
            MSG_DONTROUTE,
            MSG_CTRUNC,
            MSG_TRUNC,
            MSG_DONTWAIT,
            MSG_EOR,
            MSG_WAITALL,
            MSG_FIN,
            MSG_SYN,
            MSG_CONFIRM,
            MSG_RST,
            MSG_ERRQUEUE,
            MSG_NOSIGNAL,
            MSG_MORE,
            MSG_WAITFORONE,
            MSG_ZEROCOPY,
            MSG_FASTOPEN,
            MSG_CMSG_CLOEXEC
        ],
    );
    agrees(
        &POLLFLAGS,
        "poll events",
        &libc_values![
            POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDNORM, POLLRDBAND,
            POLLWRNORM, POLLWRBAND, POLLRDHUP
        ],
    );
    agrees(
        &EFD_FLAGS,
        "eventfd",
        &libc_values![EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK],
    );
    agrees(
        &TERM_IFLAGS,
        "c_iflag",
        &libc_values![
            IGNBRK, BRKINT, IGNPAR, PARMRK, INPCK, ISTRIP, INLCR, IGNCR, ICRNL, IXON, IXANY, IXOFF,
            IMAXBEL, IUTF8
        ],
    );
    agrees(
        &TERM_OFLAGS,
        "c_oflag",
        &libc_values![OPOST, OLCUC, ONLCR, OCRNL, ONOCR, ONLRET, OFILL, OFDEL],
    );
    agrees(
        &TERM_CFLAGS,
        "c_cflag",
        &libc_values![CSTOPB, CREAD, PARENB, PARODD, HUPCL, CLOCAL, CMSPAR, CRTSCTS],
    );
    agrees(
        &TERM_CFLAGS_CSIZE,
        "CSIZE",
        &libc_values![CS5, CS6, CS7, CS8],
    );
    agrees(
        &TERM_LFLAGS,
        "c_lflag",
        &libc_values![
            ISIG, ICANON, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH, IEXTEN, ECHOCTL, ECHOPRT, ECHOKE,
            FLUSHO, PENDIN, TOSTOP, EXTPROC
        ],
    );
    agrees(
        &BAUD_OPTIONS,
        "baud",
        &libc_values![B0, B50, B9600, B38400, B57600, B115200, B230400, B4000000, BOTHER],
    );
    agrees(
        &IOCTL_REQUESTS,
        "terminal ioctls",
        &libc_values![
            TCGETS,
            TCSETS,
            TCSETSW,
            TCSETSF,
            TCGETA,
            TCSBRK,
            TCXONC,
            TCFLSH,
            TIOCEXCL,
            TIOCSCTTY,
            TIOCGPGRP,
            TIOCSPGRP,
            TIOCOUTQ,
            TIOCSTI,
            TIOCGWINSZ,
            TIOCSWINSZ,
            TIOCMGET,
            FIONREAD,
            FIONBIO,
            TIOCNOTTY,
            TIOCGSID,
            TCGETS2,
            TCSETS2,
            TIOCGPTN,
            TIOCSPTLCK,
            TIOCGPTPEER,
            FIONCLEX,
            FIOCLEX,
            FIOASYNC
        ],
    );
}

#[test]
fn constants_agree_with_libc() {
    assert_eq!(AT_FDCWD, libc::AT_FDCWD);
    assert_eq!(
        O_LARGEFILE, 0o100000,
        "the kernel's O_LARGEFILE, not glibc's 0"
    );
    assert_eq!(O_ASYNC, libc::O_ASYNC as u64);
    assert_eq!(RLIM_INFINITY, libc::RLIM64_INFINITY);
    assert_eq!(RLIM_NLIMITS, RESOURCES.entries.len());
    assert_eq!(UIO_MAXIOV, libc::UIO_MAXIOV as u64);
    assert_eq!(PATH_MAX, libc::PATH_MAX as usize);
    assert_eq!(S_IFMT, libc::S_IFMT);
    assert_eq!(SI_TKILL, libc::SI_TKILL);
    assert_eq!(SIGRTMIN, 32, "the kernel's first realtime signal");
    assert_eq!(SIGRTMAX, 64);
    assert_eq!(MAP_TYPE, 0xf);
    assert_eq!(FUTEX_PRIVATE_FLAG, libc::FUTEX_PRIVATE_FLAG as u64);
    assert_eq!(FUTEX_CLOCK_REALTIME, libc::FUTEX_CLOCK_REALTIME as u64);
    assert_eq!(NCCS, 19, "the kernel's struct termios, not glibc's");
    assert_eq!(consts::TIOCGWINSZ, libc::TIOCGWINSZ);
}

#[test]
fn tables_are_well_formed() {
    // Spot checks of the generator's rules: bits tables hold no 0 entry (it
    // is the zero text), values tables keep strace's duplicates in order.
    assert_eq!(MMAP_PROT.kind, XlatKind::Bits { zero: "PROT_NONE" });
    assert_eq!(MMAP_PROT.value("PROT_NONE"), None);
    assert_eq!(
        AT_STATX_SYNC_TYPES.kind,
        XlatKind::Bits {
            zero: "AT_STATX_SYNC_AS_STAT"
        }
    );
    assert_eq!(FCNTLCMDS.name(libc::F_GETLK as u64), Some("F_GETLK"));
    assert_eq!(TERM_OFLAGS_TABDLY.name(libc::TAB3 as u64), Some("XTABS"));
    assert_eq!(
        FUTEX_OPS.name(128 | 9 | 256),
        Some("FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME")
    );
    assert_eq!(
        SIGINFO_CODES.name(libc::SI_TKILL as i64 as u64),
        Some("SI_TKILL")
    );
    assert_eq!(OPEN_MODE_FLAGS.entries[6], (libc::O_SYNC as u64, "O_SYNC"));
    assert_eq!(OPEN_MODE_FLAGS.value("O_LARGEFILE"), Some(0o100000));
    for t in [
        &OPEN_MODE_FLAGS,
        &MMAP_FLAGS,
        &SIGACT_FLAGS,
        &POLLFLAGS,
        &CLONE_FLAGS,
        &TERM_LFLAGS,
    ] {
        assert!(matches!(t.kind, XlatKind::Bits { .. }));
        assert!(t.entries.iter().all(|&(v, _)| v != 0));
    }
}

/// True when strace is there (it is what the order is checked against).
/// Without it the check skips with one line, unless CI is set, where the
/// Makefile installs it and a missing strace is a failure.
fn strace_available() -> bool {
    if Command::new("strace").arg("-V").output().is_ok() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but strace is missing: the tables' order cannot be checked");
    }
    eprintln!("skipped: strace is missing on this host");
    false
}

/// The top-level arguments of a trace line `name(a, b, ...) = r`: the text
/// between the first `(` and its `)`, split at the commas outside
/// brackets and strings.
fn args(line: &str) -> Vec<&str> {
    let Some(open) = line.find('(') else {
        return Vec::new();
    };
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    let (mut out, mut start) = (Vec::new(), open + 1);
    for (i, c) in line.char_indices().skip_while(|&(i, _)| i <= open) {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '(' | '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            ')' if depth == 0 => {
                out.push(line[start..i].trim());
                return out;
            }
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(line[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

/// The value after `key=` in a line (up to the next `,`, `}`, `]`, `)` or space).
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let at = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + key.len();
    let rest = &line[at..];
    &rest[..rest.find([',', '}', ']', ')', ' ']).unwrap_or(rest.len())]
}

/// `shown` (strace's `A|B|0x...`) is made of names of `parts`, in turn:
/// from each bits table, names in increasing table order; from each values
/// table, at most one name. Hex left-overs are skipped. Every name must be
/// taken, and at least one.
fn in_table_order(shown: &str, parts: &[&Xlat], line: &str) {
    let names: Vec<&str> = shown.split('|').filter(|n| !n.starts_with("0x")).collect();
    assert!(!names.is_empty(), "nothing named in `{shown}`: {line}");
    if let [only] = names[..] {
        if parts
            .iter()
            .any(|t| matches!(t.kind, XlatKind::Bits { zero } if zero == only))
        {
            return;
        }
    }
    let mut i = 0;
    for t in parts {
        let mut last: Option<usize> = None;
        while let Some(name) = names.get(i) {
            let Some(k) = t.entries.iter().position(|&(_, n)| n == *name) else {
                break;
            };
            let values_taken = matches!(t.kind, XlatKind::Values { .. }) && last.is_some();
            if values_taken || last.is_some_and(|l| k <= l) {
                break;
            }
            last = Some(k);
            i += 1;
        }
    }
    assert_eq!(
        i,
        names.len(),
        "`{}` is not in the tables' order (or not in them) in `{shown}`: {line}",
        names[i.min(names.len() - 1)]
    );
}

#[test]
fn strace_prints_the_tables_names_in_their_order() {
    if !gcc_available() || !strace_available() {
        return;
    }
    // In /tmp, not the target directory: make test-native runs the tests on
    // a read-only view of this tree.
    let dir = std::env::temp_dir().join(format!("microvm-xlat-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let prog = dir.join("xlat_order");
    let built = Command::new("gcc")
        .args(["-O1", "-o"])
        .arg(&prog)
        .arg(root().join("tests/c/xlat_order.c"))
        .output()
        .expect("run gcc");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let trace = dir.join("trace");
    let ran = Command::new("strace")
        .arg("-v")
        .arg("-o")
        .arg(&trace)
        .arg(&prog)
        .output()
        .expect("run strace");
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let text = std::fs::read_to_string(&trace).expect("read the trace");
    let _ = std::fs::remove_dir_all(&dir);
    let line = |start: &str, has: &str| -> &str {
        text.lines()
            .find(|l| l.starts_with(start) && l.contains(has))
            .unwrap_or_else(|| panic!("no line `{start}...{has}...` in the trace:\n{text}"))
    };
    let arg = |l: &str, i: usize| -> String {
        args(l).get(i).map_or_else(String::new, |s| s.to_string())
    };
    let open_flags = [&OPEN_ACCESS_MODES, &OPEN_MODE_FLAGS];

    let l = line("openat(", "FASYNC");
    in_table_order(&arg(l, 2), &open_flags, l);
    let l = line("openat(", "O_TMPFILE");
    in_table_order(&arg(l, 2), &open_flags, l);
    let l = line("fcntl(", "F_SETFD");
    in_table_order(&arg(l, 1), &[&FCNTLCMDS], l);
    in_table_order(&arg(l, 2), &[&FDFLAGS], l);
    let l = line("fcntl(", "F_GETFL");
    in_table_order(&arg(l, 1), &[&FCNTLCMDS], l);
    in_table_order(field(l, "(flags "), &open_flags, l);
    let l = line("lseek(", "SEEK_");
    in_table_order(&arg(l, 2), &[&WHENCE_CODES], l);
    let l = line("dup3(", "");
    in_table_order(&arg(l, 2), &[&DUP3_FLAGS], l);
    let l = line("statx(", "AT_STATX_DONT_SYNC");
    in_table_order(&arg(l, 2), &[&AT_STATX_SYNC_TYPES, &AT_FLAGS], l);
    in_table_order(&arg(l, 3), &[&STATX_MASK], l);
    in_table_order(field(l, "stx_mask="), &[&STATX_MASK], l);
    in_table_order(field(l, "stx_attributes_mask="), &[&STATX_ATTRS], l);
    // `S_IFDIR|0755`: the type, then the permissions in octal.
    let kind = field(l, "stx_mode=").split('|').next().unwrap_or("");
    in_table_order(kind, &[&MODETYPES], l);
    let l = line("rt_sigaction(SIGUSR1", "");
    in_table_order(&arg(l, 0), &[&SIGNALS], l);
    in_table_order(field(l, "sa_flags="), &[&SIGACT_FLAGS], l);
    let l = line("rt_sigprocmask(SIG_BLOCK", "");
    in_table_order(&arg(l, 0), &[&SIGPROCMASK_FLAGS], l);
    let l = line("rt_sigprocmask(SIG_UNBLOCK", "");
    in_table_order(&arg(l, 0), &[&SIGPROCMASK_FLAGS], l);
    let l = line("tgkill(", "");
    in_table_order(&arg(l, 2), &[&SIGNALS], l);
    let l = line("--- SIGUSR1", "");
    in_table_order(field(l, "si_code="), &[&SIGINFO_CODES], l);
    let l = line("poll(", "");
    in_table_order(field(l, "events="), &[&POLLFLAGS], l);
    in_table_order(field(l, "revents="), &[&POLLFLAGS], l);
    let l = line("mmap(NULL, 8192", "");
    in_table_order(&arg(l, 2), &[&MMAP_PROT], l);
    in_table_order(&arg(l, 3), &[&MMAP_FLAGS], l);
    let l = line("madvise(", "");
    in_table_order(&arg(l, 2), &[&MADVISE_CMDS], l);
    let l = line("mprotect(", "PROT_NONE");
    in_table_order(&arg(l, 2), &[&MMAP_PROT], l);
    let l = line("mremap(", "");
    in_table_order(&arg(l, 3), &[&MREMAP_FLAGS], l);
    let l = line("arch_prctl(", "");
    in_table_order(&arg(l, 0), &[&ARCH_PRCTL_CODES], l);
    let l = line("clock_nanosleep(", "");
    in_table_order(&arg(l, 0), &[&CLOCKS], l);
    in_table_order(&arg(l, 1), &[&TIMER_FLAGS], l);
    let l = line("getrandom(", "GRND_RANDOM");
    in_table_order(&arg(l, 2), &[&GETRANDOM_FLAGS], l);
    let l = line("prlimit64(", "");
    in_table_order(&arg(l, 1), &[&RESOURCES], l);
    let l = line("prctl(", "");
    in_table_order(&arg(l, 0), &[&PRCTL_OPTIONS], l);
    let l = line("futex(", "FUTEX_CLOCK_REALTIME");
    assert!(FUTEX_OPS.value(&arg(l, 1)).is_some(), "{l}");
    let l = line("clone(", "");
    in_table_order(field(l, "flags="), &[&CLONE_FLAGS, &SIGNALS], l);
    let l = line("wait4(", "");
    in_table_order(&arg(l, 2), &[&WAIT4_OPTIONS], l);
    let l = line("--- SIGCHLD", "");
    in_table_order(field(l, "si_code="), &[&SIGCHLD_CODES], l);
    let l = line("socket(", "");
    in_table_order(&arg(l, 0), &[&ADDRFAMS], l);
    in_table_order(&arg(l, 1), &[&SOCKETTYPES, &SOCK_TYPE_FLAGS], l);
    in_table_order(&arg(l, 2), &[&INET_PROTOCOLS], l);
    let l = line("socketpair(", "");
    in_table_order(&arg(l, 0), &[&ADDRFAMS], l);
    in_table_order(&arg(l, 1), &[&SOCKETTYPES, &SOCK_TYPE_FLAGS], l);
    let l = line("sendto(", "");
    in_table_order(&arg(l, 3), &[&MSG_FLAGS], l);
    let l = line("eventfd2(", "");
    in_table_order(&arg(l, 1), &[&EFD_FLAGS], l);
    for req in ["TIOCGPTN", "TIOCSPTLCK", "TCGETS", "TIOCGWINSZ"] {
        let l = line("ioctl(", req);
        in_table_order(&arg(l, 1), &[&IOCTL_REQUESTS], l);
    }
    let l = line("ioctl(", "TCGETS");
    in_table_order(field(l, "c_iflag="), &[&TERM_IFLAGS], l);
    let delays = [
        &TERM_OFLAGS_NLDLY,
        &TERM_OFLAGS_CRDLY,
        &TERM_OFLAGS_TABDLY,
        &TERM_OFLAGS_BSDLY,
        &TERM_OFLAGS_VTDLY,
        &TERM_OFLAGS_FFDLY,
        &TERM_OFLAGS,
    ];
    in_table_order(field(l, "c_oflag="), &delays, l);
    in_table_order(
        field(l, "c_cflag="),
        &[&BAUD_OPTIONS, &TERM_CFLAGS_CSIZE, &TERM_CFLAGS],
        l,
    );
    in_table_order(field(l, "c_lflag="), &[&TERM_LFLAGS], l);
    in_table_order(field(l, "c_line="), &[&TERM_LINE_DISCS], l);
    for cc in [
        "VINTR", "VQUIT", "VERASE", "VKILL", "VEOF", "VTIME", "VMIN", "VEOL2",
    ] {
        assert!(l.contains(&format!("[{cc}]=")), "no [{cc}] in {l}");
        assert!(TERMIOS_CC.value(cc).is_some(), "{cc}");
    }
    let l = line("--- SIGSEGV", "");
    in_table_order(field(l, "si_code="), &[&SIGSEGV_CODES], l);
    in_table_order(field(l, "si_signo="), &[&SIGNALS], l);
}

#[test]
fn the_order_check_refuses_a_wrong_order_and_a_stranger() {
    let l = "test line";
    in_table_order(
        "O_WRONLY|O_CREAT|O_TRUNC",
        &[&OPEN_ACCESS_MODES, &OPEN_MODE_FLAGS],
        l,
    );
    in_table_order("PROT_NONE", &[&MMAP_PROT], l);
    for wrong in [
        "O_WRONLY|O_TRUNC|O_CREAT",
        "O_CREAT|O_WRONLY",
        "O_WRONLY|O_BOGUS",
        "O_RDONLY|O_WRONLY",
    ] {
        let r = std::panic::catch_unwind(|| {
            in_table_order(wrong, &[&OPEN_ACCESS_MODES, &OPEN_MODE_FLAGS], l)
        });
        assert!(r.is_err(), "{wrong} passed");
    }
    assert_eq!(
        args("f(1, \"a, (b\", {x=1, y=[2, 3]}, 4) = 0"),
        ["1", "\"a, (b\"", "{x=1, y=[2, 3]}", "4"]
    );
    assert_eq!(field("{a=B|C, d=E}", "a="), "B|C");
}
