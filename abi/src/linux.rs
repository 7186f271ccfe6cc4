//! The Linux x86-64 system-call numbers microvm's two sides use: the host
//! serves them, the ring-3 programs in `guest/user` make them. (They are
//! Linux's ABI, from `asm/unistd_64.h`; the host's full table with names and
//! argument kinds is `vmm/src/trace/sysent.rs`, and a test there checks
//! these against it.)

/// Syscall numbers.
pub mod nr {
    macro_rules! numbers {
        ($($name:ident = $nr:expr,)*) => {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: u64 = $nr;
            )*
            /// Every number here with its constant's name.
            pub const ALL: &[(&str, u64)] = &[$((stringify!($name), $nr)),*];
        };
    }

    numbers! {
    READ = 0,
    WRITE = 1,
    OPEN = 2,
    CLOSE = 3,
    STAT = 4,
    FSTAT = 5,
    LSTAT = 6,
    LSEEK = 8,
    MMAP = 9,
    MPROTECT = 10,
    MUNMAP = 11,
    BRK = 12,
    IOCTL = 16,
    PREAD64 = 17,
    READV = 19,
    WRITEV = 20,
    DUP = 32,
    DUP2 = 33,
    NANOSLEEP = 35,
    GETPID = 39,
    FORK = 57,
    EXIT = 60,
    UNAME = 63,
    FCNTL = 72,
    GETCWD = 79,
    CHDIR = 80,
    FCHDIR = 81,
    READLINK = 89,
    GETTIMEOFDAY = 96,
    GETRLIMIT = 97,
    GETUID = 102,
    GETGID = 104,
    GETEUID = 107,
    GETEGID = 108,
    GETPPID = 110,
    ARCH_PRCTL = 158,
    SETRLIMIT = 160,
    GETTID = 186,
    TIME = 201,
    SCHED_GETAFFINITY = 204,
    GETDENTS64 = 217,
    SET_TID_ADDRESS = 218,
    CLOCK_GETTIME = 228,
    CLOCK_GETRES = 229,
    CLOCK_NANOSLEEP = 230,
    EXIT_GROUP = 231,
    OPENAT = 257,
    NEWFSTATAT = 262,
    READLINKAT = 267,
    SET_ROBUST_LIST = 273,
    DUP3 = 292,
    PRLIMIT64 = 302,
    GETRANDOM = 318,
    STATX = 332,
    RSEQ = 334,
    }
}
