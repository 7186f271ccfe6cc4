//! The hostile guest, host side: every kind of bad pointer and length to
//! every served syscall, compared with what Linux itself answers (a C
//! program makes the same raw syscalls natively, over the same memory
//! layout); the loader fed every truncation and thousands of bit flips of
//! a real static ELF; and, in a real guest, a handful of syscalls with
//! bad pointers, their answers compared with the same program run
//! natively.
//!
//! A counting allocator watches every host allocation the service and the
//! loader make, so that "never an allocation the size of the length" is
//! checked, not assumed.

mod common;

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use harness::{
    syscall_frame, ScratchTree, TestGuest, DATA, DATA_PAGES, RESERVED, RODATA, UNMAPPED,
};
use microvm::syscall::{nr, Disposition, SyscallService};
use microvm::trace::{TraceFormat, Tracer};
use microvm_abi::layout::PAGE_SIZE;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

// ---------------------------------------------------------------------------
// The largest single allocation, per thread
// ---------------------------------------------------------------------------

struct Counting;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// bookkeeping only reads the size and writes a thread-local Cell (which
// allocates nothing).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as the caller promised for `layout`.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as the caller promised for `layout`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller promised for `ptr` and `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: as the caller promised for `ptr`, `layout` and `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Run `f`, and return what it returned with the largest single
/// allocation it made on this thread.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let r = f();
    (r, LARGEST.with(Cell::get))
}

/// No single allocation the service makes for one syscall may be larger:
/// its bounce buffer for reads and getdents (64 KiB) with room to spare,
/// and far below any length a guest passes.
const SERVICE_ALLOCATION_CAP: usize = 256 << 10;

// ---------------------------------------------------------------------------
// Bad pointers and lengths: the cases
// ---------------------------------------------------------------------------

/// Pointers no syscall may take as valid memory (and a few that are
/// valid but unusual: the read-only page, for input).
const BAD_POINTERS: [(&str, u64); 11] = [
    ("NULL", 0),
    (
        "straddling into an unmapped page",
        DATA + DATA_PAGES * PAGE_SIZE - 8,
    ),
    ("at the last mapped byte", DATA + DATA_PAGES * PAGE_SIZE - 1),
    ("in the read-only page", RODATA),
    ("in a PROT_NONE reservation", RESERVED + 0x100),
    ("unmapped", UNMAPPED),
    ("the last byte of user space", 0x7fff_ffff_ffff),
    ("kernel", 0xffff_ffff_8000_1000),
    ("non-canonical", 0x8000_0000_0000),
    ("2^63", 1 << 63),
    ("u64::MAX", u64::MAX),
];

/// Lengths that break arithmetic or ask for more than there is.
const BAD_LENGTHS: [(&str, u64); 4] = [
    ("2^63", 1 << 63),
    ("u64::MAX", u64::MAX),
    ("1 TiB", 1 << 40),
    ("longer than the mapping", DATA_PAGES * PAGE_SIZE + 1),
];

/// Where the test puts things in the data pages.
const PATH: u64 = DATA; // "dir/file"
const LINK: u64 = DATA + 0x10; // "abs", a symlink
const DOT: u64 = DATA + 0x18; // "."
const IOV: u64 = DATA + 0x100; // one iovec
const BUF: u64 = DATA + 0x1000; // room for output

const AT_FDCWD: u64 = libc::AT_FDCWD as i64 as u64;
const FILE_FD: u64 = 3;
const DIR_FD: u64 = 4;

/// One syscall with its arguments, and memory to write first.
#[derive(Debug, Clone)]
struct Case {
    what: String,
    nr: u64,
    args: [u64; 6],
    writes: Vec<(u64, Vec<u8>)>,
}

/// A syscall to try, with the arguments that hold pointers and lengths.
struct Template {
    name: &'static str,
    nr: u64,
    args: [u64; 6],
    pointers: &'static [usize],
    lengths: &'static [usize],
    /// Pointers that must not be tried (they would change the native
    /// test process's own layout, e.g. MAP_FIXED over its pages).
    skip: &'static [&'static str],
}

fn iovec(base: u64, len: u64) -> Vec<u8> {
    [base.to_le_bytes(), len.to_le_bytes()].concat()
}

/// The templates: every served syscall that takes a pointer or a length.
fn templates() -> Vec<Template> {
    let t = |name, nr, args, pointers, lengths| Template {
        name,
        nr,
        args,
        pointers,
        lengths,
        skip: &[],
    };
    // Pointers whose MAP_FIXED/munmap/mprotect would change the test's own
    // pages (natively: the read-only page, NULL as root).
    const MM_SKIP: &[&str] = &["NULL", "in the read-only page"];
    let prot_rw = (libc::PROT_READ | libc::PROT_WRITE) as u64;
    let anon = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
    let fixed = anon | libc::MAP_FIXED as u64;
    vec![
        t("read", nr::READ, [FILE_FD, BUF, 16, 0, 0, 0], &[1], &[2]),
        t("write", nr::WRITE, [1, PATH, 8, 0, 0, 0], &[1], &[2]),
        t(
            "pread64",
            nr::PREAD64,
            [FILE_FD, BUF, 16, 0, 0, 0],
            &[1],
            &[2, 3],
        ),
        t("readv", nr::READV, [FILE_FD, IOV, 1, 0, 0, 0], &[1], &[2]),
        t("writev", nr::WRITEV, [1, IOV, 1, 0, 0, 0], &[1], &[2]),
        t("open", nr::OPEN, [PATH, 0, 0, 0, 0, 0], &[0], &[]),
        t(
            "openat",
            nr::OPENAT,
            [AT_FDCWD, PATH, 0, 0, 0, 0],
            &[1],
            &[],
        ),
        t("stat", nr::STAT, [DOT, BUF, 0, 0, 0, 0], &[0, 1], &[]),
        t("lstat", nr::LSTAT, [DOT, BUF, 0, 0, 0, 0], &[0, 1], &[]),
        t("fstat", nr::FSTAT, [FILE_FD, BUF, 0, 0, 0, 0], &[1], &[]),
        t(
            "newfstatat",
            nr::NEWFSTATAT,
            [AT_FDCWD, DOT, BUF, 0, 0, 0],
            &[1, 2],
            &[],
        ),
        t(
            "statx",
            nr::STATX,
            [AT_FDCWD, DOT, 0, 0x7ff, BUF, 0],
            &[1, 4],
            &[],
        ),
        t(
            "readlink",
            nr::READLINK,
            [LINK, BUF, 64, 0, 0, 0],
            &[0, 1],
            &[2],
        ),
        t(
            "readlinkat",
            nr::READLINKAT,
            [AT_FDCWD, LINK, BUF, 64, 0, 0],
            &[1, 2],
            &[3],
        ),
        t("getcwd", nr::GETCWD, [BUF, 4096, 0, 0, 0, 0], &[0], &[1]),
        t("chdir", nr::CHDIR, [DOT, 0, 0, 0, 0, 0], &[0], &[]),
        t(
            "getdents64",
            nr::GETDENTS64,
            [DIR_FD, BUF, 4096, 0, 0, 0],
            &[1],
            &[2],
        ),
        t(
            "ioctl",
            nr::IOCTL,
            [FILE_FD, libc::TCGETS, BUF, 0, 0, 0],
            &[2],
            &[],
        ),
        t("uname", nr::UNAME, [BUF, 0, 0, 0, 0, 0], &[0], &[]),
        t(
            "getrandom",
            nr::GETRANDOM,
            [BUF, 16, 0, 0, 0, 0],
            &[0],
            &[1],
        ),
        t(
            "clock_gettime",
            nr::CLOCK_GETTIME,
            [0, BUF, 0, 0, 0, 0],
            &[1],
            &[],
        ),
        t(
            "clock_getres",
            nr::CLOCK_GETRES,
            [0, BUF, 0, 0, 0, 0],
            &[1],
            &[],
        ),
        t(
            "gettimeofday",
            nr::GETTIMEOFDAY,
            [BUF, BUF + 64, 0, 0, 0, 0],
            &[0, 1],
            &[],
        ),
        t("time", nr::TIME, [BUF, 0, 0, 0, 0, 0], &[0], &[]),
        // The read-only page is zeroes: a valid timespec of 0 s.
        t(
            "nanosleep",
            nr::NANOSLEEP,
            [RODATA, BUF, 0, 0, 0, 0],
            &[0, 1],
            &[],
        ),
        t(
            "clock_nanosleep",
            nr::CLOCK_NANOSLEEP,
            [0, 0, RODATA, BUF, 0, 0],
            &[2, 3],
            &[],
        ),
        t(
            "sched_getaffinity",
            nr::SCHED_GETAFFINITY,
            [0, 8, BUF, 0, 0, 0],
            &[2],
            &[1],
        ),
        t("getrlimit", nr::GETRLIMIT, [7, BUF, 0, 0, 0, 0], &[1], &[]),
        // RLIMIT_RTTIME: lowering it to what the read-only page holds (0)
        // harms nothing here.
        t(
            "setrlimit",
            nr::SETRLIMIT,
            [15, RODATA, 0, 0, 0, 0],
            &[1],
            &[],
        ),
        t(
            "prlimit64",
            nr::PRLIMIT64,
            [0, 15, RODATA, BUF, 0, 0],
            &[2, 3],
            &[],
        ),
        t(
            "arch_prctl",
            nr::ARCH_PRCTL,
            [0x1003, BUF, 0, 0, 0, 0],
            &[1],
            &[],
        ),
        t("lseek", nr::LSEEK, [FILE_FD, 0, 0, 0, 0, 0], &[], &[1]),
        Template {
            skip: MM_SKIP,
            ..t(
                "mmap",
                nr::MMAP,
                [UNMAPPED, 4096, prot_rw, fixed, u64::MAX, 0],
                &[0],
                &[],
            )
        },
        t(
            "mmap",
            nr::MMAP,
            [0, 4096, prot_rw, anon, u64::MAX, 0],
            &[],
            &[1],
        ),
        Template {
            skip: MM_SKIP,
            ..t(
                "mprotect",
                nr::MPROTECT,
                [UNMAPPED, 4096, 1, 0, 0, 0],
                &[0],
                &[1],
            )
        },
        Template {
            skip: MM_SKIP,
            ..t(
                "munmap",
                nr::MUNMAP,
                [UNMAPPED, 4096, 0, 0, 0, 0],
                &[0],
                &[1],
            )
        },
        t(
            "mmap of a file",
            nr::MMAP,
            [
                0,
                4096,
                libc::PROT_READ as u64,
                libc::MAP_PRIVATE as u64,
                FILE_FD,
                0,
            ],
            &[],
            &[1, 5],
        ),
        Template {
            skip: MM_SKIP,
            ..t(
                "madvise",
                nr::MADVISE,
                [UNMAPPED, 4096, libc::MADV_NORMAL as u64, 0, 0, 0],
                &[0],
                &[1],
            )
        },
        Template {
            skip: MM_SKIP,
            ..t(
                "mremap",
                nr::MREMAP,
                [UNMAPPED, 4096, 8192, libc::MREMAP_MAYMOVE as u64, 0, 0],
                &[0],
                &[1, 2],
            )
        },
    ]
}

/// Every template with each pointer argument made bad, each length made
/// bad, and (readv, writev) each iovec's base and length made bad.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let good_iov = vec![(IOV, iovec(BUF, 16))];
    for t in templates() {
        let writes = if matches!(t.nr, nr::READV | nr::WRITEV) {
            good_iov.clone()
        } else {
            Vec::new()
        };
        for &slot in t.pointers {
            for (what, p) in BAD_POINTERS {
                if t.skip.contains(&what) {
                    continue;
                }
                let mut args = t.args;
                args[slot] = p;
                cases.push(Case {
                    what: format!("{} arg {slot} {what}", t.name),
                    nr: t.nr,
                    args,
                    writes: writes.clone(),
                });
            }
        }
        for &slot in t.lengths {
            for (what, len) in BAD_LENGTHS {
                let mut args = t.args;
                args[slot] = len;
                cases.push(Case {
                    what: format!("{} arg {slot} length {what}", t.name),
                    nr: t.nr,
                    args,
                    writes: writes.clone(),
                });
            }
        }
        if matches!(t.nr, nr::READV | nr::WRITEV) {
            for (what, p) in BAD_POINTERS {
                cases.push(Case {
                    what: format!("{} iov_base {what}", t.name),
                    nr: t.nr,
                    args: t.args,
                    writes: vec![(IOV, iovec(p, 16))],
                });
            }
            for (what, len) in BAD_LENGTHS {
                cases.push(Case {
                    what: format!("{} iov_len {what}", t.name),
                    nr: t.nr,
                    args: t.args,
                    writes: vec![(IOV, iovec(BUF, len))],
                });
            }
        }
    }
    cases
}

/// What the data pages hold before the cases run.
fn initial_writes() -> Vec<(u64, Vec<u8>)> {
    vec![
        (PATH, b"dir/file\0".to_vec()),
        (LINK, b"abs\0".to_vec()),
        (DOT, b".\0".to_vec()),
    ]
}

// ---------------------------------------------------------------------------
// Bad pointers and lengths: running them
// ---------------------------------------------------------------------------

fn scratch(name: &str) -> ScratchTree {
    // The temporary directory: the target directory is read-only under
    // make test-native.
    ScratchTree::create(&common::tempdir(&format!("hostile-{name}"))).expect("the scratch tree")
}

/// The answers Linux gives to `cases`, from tests/c/rawsys.c run in the
/// scratch tree.
fn native_answers(tree: &ScratchTree, cases: &[Case]) -> Option<Vec<i64>> {
    let probe = common::build("gcc", "rawsys", &["-O1"])?;
    let results = tree.root.parent().unwrap().join("native-results");
    let stdout = tree.root.parent().unwrap().join("native-stdout");
    let mut script = String::new();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    for (addr, bytes) in initial_writes() {
        script += &format!("w {addr:x} {}\n", hex(&bytes));
    }
    script += "p\n";
    for c in cases {
        script += "z\n";
        for (addr, bytes) in initial_writes().iter().chain(&c.writes) {
            script += &format!("w {addr:x} {}\n", hex(bytes));
        }
        let a = c.args;
        script += &format!(
            "s {:x} {:x} {:x} {:x} {:x} {:x} {:x}\n",
            c.nr, a[0], a[1], a[2], a[3], a[4], a[5]
        );
    }
    let mut child = Command::new(&probe)
        .arg(&results)
        .current_dir(&tree.root)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .spawn()
        .expect("the native probe runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "the native probe failed");
    let text = std::fs::read_to_string(&results).unwrap();
    Some(text.lines().map(|l| l.parse().unwrap()).collect())
}

/// The service over the scratch tree, with fd 3 its "dir/file" and fd 4
/// its root directory, as the native probe has them.
fn service_with_fds(tree: &ScratchTree, guest: &mut TestGuest) -> SyscallService {
    let mut service = SyscallService::new(Box::new(std::io::sink()), Box::new(std::io::sink()))
        .with_fs_root(&tree.root)
        .unwrap();
    for (addr, bytes) in initial_writes() {
        guest.space.copy_in(&guest.ram, addr, &bytes).unwrap();
    }
    let open = syscall_frame(nr::OPENAT, [AT_FDCWD, PATH, 0, 0, 0, 0]);
    assert_eq!(guest.call(&mut service, &open), Disposition::Return(3));
    let dir = syscall_frame(
        nr::OPENAT,
        [AT_FDCWD, DOT, libc::O_DIRECTORY as u64, 0, 0, 0],
    );
    assert_eq!(guest.call(&mut service, &dir), Disposition::Return(4));
    service
}

/// Each case starts from the same state on both sides: the data pages
/// zeroed (then written), fds 3 and 4 at their start.
fn reset(guest: &mut TestGuest, service: &mut SyscallService) {
    let zeros = vec![0u8; (DATA_PAGES * PAGE_SIZE) as usize];
    guest.space.copy_in(&guest.ram, DATA, &zeros).unwrap();
    for fd in [FILE_FD, DIR_FD] {
        let rewind = syscall_frame(nr::LSEEK, [fd, 0, 0, 0, 0, 0]);
        assert_eq!(guest.call(service, &rewind), Disposition::Return(0));
    }
}

/// A memory-management call on an address at or past the top of a 4-level
/// user space (the last page below 2^47, or non-canonical there): its
/// answer depends on how many address bits the host gives a process.
fn beyond_four_level_user_space(case: &Case) -> bool {
    const FOUR_LEVEL_TOP: u64 = (1 << 47) - 4096;
    [
        libc::SYS_mmap,
        libc::SYS_mprotect,
        libc::SYS_munmap,
        libc::SYS_mremap,
    ]
    .contains(&(case.nr as libc::c_long))
        && case.args[0] >= FOUR_LEVEL_TOP
}

/// Cases where microvm knowingly answers otherwise than Linux, and why.
/// Each is a finding to fix in the service; the test says when one is
/// fixed (and the entry can go).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    // Not a difference of microvm's: the probe's cwd is a long host path,
    // which does not fit in 8 bytes; the guest's is "/", which does.
    ("getcwd arg 0 straddling into an unmapped page", ENVIRONMENT),
    ("read arg 1 straddling into an unmapped page", PARTIAL),
    ("read arg 1 at the last mapped byte", PARTIAL),
    ("read arg 2 length 1 TiB", PARTIAL),
    ("read arg 2 length longer than the mapping", PARTIAL),
    ("write arg 1 at the last mapped byte", PARTIAL),
    ("write arg 2 length 1 TiB", PARTIAL),
    ("write arg 2 length longer than the mapping", PARTIAL),
    ("pread64 arg 1 straddling into an unmapped page", PARTIAL),
    ("pread64 arg 1 at the last mapped byte", PARTIAL),
    ("pread64 arg 2 length 1 TiB", PARTIAL),
    ("pread64 arg 2 length longer than the mapping", PARTIAL),
    ("readv iov_base straddling into an unmapped page", PARTIAL),
    ("readv iov_base at the last mapped byte", PARTIAL),
    ("readv iov_len 1 TiB", PARTIAL),
    ("readv iov_len longer than the mapping", PARTIAL),
    ("writev iov_base straddling into an unmapped page", PARTIAL),
    ("writev iov_base at the last mapped byte", PARTIAL),
    ("writev iov_len 1 TiB", PARTIAL),
    ("writev iov_len longer than the mapping", PARTIAL),
    ("getdents64 arg 2 length longer than the mapping", PARTIAL),
    ("mmap arg 0 u64::MAX", FIXED_AT_MAX),
    ("mmap of a file arg 1 length 1 TiB", EAGER),
    ("mremap arg 2 length 2^63", MREMAP_ORDER),
];

/// Pages are given frames when mapped: a file mapping larger than guest
/// memory is ENOMEM at once, where Linux maps it (its pages past the end
/// of the file would raise SIGBUS when touched).
const EAGER: &str = "eager population instead of faulting pages in";

/// A new length past TASK_SIZE for an address no mapping holds: Linux
/// 6.1 and 6.6 (Debian 12's and the reference's era) look for the mapping
/// first (EFAULT), as microvm does; the development machine's 6.18 checks
/// the length first (EINVAL).
const MREMAP_ORDER: &str = "mremap's order of checks changed after Linux 6.6";

/// The environments differ, not the answers.
const ENVIRONMENT: &str = "the host and the guest differ here, not the syscall";

/// microvm checks a whole buffer before it moves a byte (EFAULT); Linux
/// moves what it can up to the fault and returns that count (EFAULT only
/// when nothing moved; 0 at end of file without touching the buffer).
const PARTIAL: &str = "whole-buffer check instead of a short transfer";

/// mmap(MAP_FIXED) at address u64::MAX: Linux says EPERM, microvm
/// ENOMEM (syscall/mm.rs, space.rs).
const FIXED_AT_MAX: &str = "ENOMEM where Linux says EPERM";

#[test]
fn bad_pointers_and_lengths_get_the_answers_linux_gives() {
    let tree = scratch("pointers");
    let cases = cases();
    let Some(native) = native_answers(&tree, &cases) else {
        return;
    };
    assert_eq!(native.len(), cases.len(), "the probe answered every case");
    let mut guest = TestGuest::new();
    let mut service = service_with_fds(&tree, &mut guest);
    let mut tracer = Tracer::new(TraceFormat::Text, true, Box::new(std::io::sink()), false);
    let mut differ = Vec::new();
    let mut fixed = Vec::new();
    let five_level = common::five_level_paging();
    for (case, &linux) in cases.iter().zip(&native) {
        if five_level && beyond_four_level_user_space(case) {
            // The native answer is that of a 56-bit user space; the
            // guest's is 47 bits, as on a 4-level host.
            continue;
        }
        reset(&mut guest, &mut service);
        for (addr, bytes) in initial_writes().iter().chain(&case.writes) {
            guest.space.copy_in(&guest.ram, *addr, bytes).unwrap();
        }
        let frame = syscall_frame(case.nr, case.args);
        let (outcome, largest) = largest_allocation(|| guest.call(&mut service, &frame));
        assert!(
            largest <= SERVICE_ALLOCATION_CAP,
            "{}: the service allocated {largest} bytes at once",
            case.what
        );
        tracer.syscall(&guest.mem(), &frame, outcome);
        let Disposition::Return(ours) = outcome else {
            panic!("{}: {outcome:?}", case.what);
        };
        // Success values depend on the environment (a path's length, the
        // time, the host's CPU mask); errors must be the same errno.
        let agree = (ours >= 0 && linux >= 0) || ours == linux;
        let known = KNOWN_DIFFERENCES.iter().find(|(w, _)| *w == case.what);
        match (agree, known) {
            (false, None) => differ.push(format!(
                "{}: microvm {} ({}), Linux {} ({})",
                case.what,
                ours,
                errno_name(ours),
                linux,
                errno_name(linux)
            )),
            (true, Some(_)) => fixed.push(case.what.clone()),
            _ => {}
        }
    }
    tracer.finish().unwrap();
    for f in &fixed {
        eprintln!("note: {f} now answers as Linux does: remove it from KNOWN_DIFFERENCES");
    }
    assert!(
        differ.is_empty(),
        "{} of {} cases answer otherwise than Linux:\n{}",
        differ.len(),
        cases.len(),
        differ.join("\n")
    );
}

fn errno_name(r: i64) -> &'static str {
    microvm::trace::format::errno_name(r).unwrap_or("ok")
}

// ---------------------------------------------------------------------------
// The loader on truncated and bit-flipped ELF images
// ---------------------------------------------------------------------------

/// Load `image` into fresh guest memory: `Ok` or the error's text, and the
/// largest single allocation the loader made.
fn load(image: &[u8]) -> (Result<(), String>, usize) {
    let ram = microvm::memory::GuestRam::new(microvm_abi::layout::MIN_MEMORY).unwrap();
    let mut space = microvm::space::AddressSpace::new(
        microvm::arch::paging::PageTables::new(),
        microvm::memory::FrameAllocator::new(microvm_abi::layout::MIN_MEMORY),
    );
    let argv = ["prog".to_string()];
    let start = microvm::loader::StartInfo {
        start: microvm::loader::Start {
            argv: &argv,
            envp: &[],
            execfn: "/prog",
        },
        hwcap: 0,
        random: [0; 16],
    };
    largest_allocation(|| {
        microvm::loader::load_program(&ram, &mut space, image.into(), Path::new("prog"), &start)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

/// Load the dynamic program `image` into fresh guest memory, its
/// interpreter being `interp`: `Ok` or the error's text, and the largest
/// single allocation the loader made.
fn load_dynamic(image: &[u8], interp: &[u8]) -> (Result<(), String>, usize) {
    let ram = microvm::memory::GuestRam::new(microvm_abi::layout::MIN_MEMORY).unwrap();
    let mut space = microvm::space::AddressSpace::new(
        microvm::arch::paging::PageTables::new(),
        microvm::memory::FrameAllocator::new(microvm_abi::layout::MIN_MEMORY),
    );
    let argv = ["prog".to_string()];
    let start = microvm::loader::StartInfo {
        start: microvm::loader::Start {
            argv: &argv,
            envp: &[],
            execfn: "/prog",
        },
        hwcap: 0,
        random: [0; 16],
    };
    let open = |_: &Path| Ok(microvm::loader::Interpreter::Memory(interp.to_vec()));
    largest_allocation(|| {
        microvm::loader::load_program_with(
            &ram,
            &mut space,
            image.into(),
            Path::new("prog"),
            &start,
            Some(&open),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    })
}

/// No single allocation the loader makes may be larger than this: the
/// image's own size (the loader reads tables out of it) several times
/// over, and never anything a header field asks for.
fn loader_cap(image: &[u8]) -> usize {
    8 * image.len() + (1 << 20)
}

/// A refusal must say what is wrong with the program, on one line.
fn assert_clear(e: &str, what: &str) {
    let says_what = e.starts_with("cannot run prog: ")
        || e.starts_with("guest memory is too small for the program");
    assert!(
        says_what && !e.contains('\n') && e.len() < 300,
        "{what}: unclear refusal {e:?}"
    );
}

/// Real static ELF images the build makes: a guest program, and a C
/// program linked statically against musl (when musl-gcc is there).
fn real_elfs() -> Vec<(String, Vec<u8>)> {
    let mut images = vec![(
        "guest syscalls".to_string(),
        std::fs::read(common::program("syscalls")).unwrap(),
    )];
    if let Some(musl) = common::build("musl-gcc", "hello", &["-static", "-O1"]) {
        images.push(("musl hello".to_string(), std::fs::read(musl).unwrap()));
    }
    images
}

#[test]
fn every_truncation_of_a_real_elf_loads_or_is_refused_clearly() {
    // One image: the cuts are many (one per byte).
    for (name, image) in real_elfs().into_iter().take(1) {
        assert_eq!(load(&image).0, Ok(()), "{name} whole");
        let mut loaded = 0;
        for len in 0..image.len() {
            let what = format!("{name} cut to {len} bytes");
            let (r, largest) = load(&image[..len]);
            assert!(
                largest <= loader_cap(&image),
                "{what}: allocated {largest} bytes at once"
            );
            match r {
                Ok(()) => loaded += 1,
                Err(e) => assert_clear(&e, &what),
            }
        }
        eprintln!("{name}: {} bytes, {loaded} truncations loaded", image.len());
        // Only cuts inside the section headers and names at the end (not
        // needed to run it) can still load.
        assert!(
            loaded < image.len() / 2,
            "{name}: {loaded} truncations loaded"
        );
    }
}

#[test]
fn thousands_of_bit_flips_of_a_real_elf_load_or_are_refused_clearly() {
    // xorshift64*, seeded: the same flips every run.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let (mut loaded, mut refused) = (0, 0);
    for (name, image) in real_elfs() {
        for i in 0..3000 {
            let mut flipped = image.clone();
            let flips = 1 + next() % 4;
            let mut at = Vec::new();
            for _ in 0..flips {
                // Mostly in the ELF and program headers, where a flip
                // changes what the loader is asked to do.
                let limit = if next() % 4 == 0 {
                    flipped.len()
                } else {
                    0x200.min(flipped.len())
                };
                let byte = (next() % limit as u64) as usize;
                let bit = next() % 8;
                flipped[byte] ^= 1 << bit;
                at.push((byte, bit));
            }
            let what = format!("{name} flip #{i} at {at:?}");
            let (r, largest) = load(&flipped);
            assert!(
                largest <= loader_cap(&image),
                "{what}: allocated {largest} bytes at once"
            );
            match r {
                Ok(()) => loaded += 1,
                Err(e) => {
                    assert_clear(&e, &what);
                    refused += 1;
                }
            }
        }
    }
    eprintln!("bit flips: {loaded} loaded, {refused} refused");
    // Both outcomes happen: the flips reach the checks and get past them.
    assert!(
        loaded > 0 && refused > 0,
        "{loaded} loaded, {refused} refused"
    );
}

#[test]
fn bit_flips_of_a_real_dynamic_program_and_its_interpreter_load_or_are_refused_clearly() {
    let Some(prog) = common::build("gcc", "dup_trace", &["-g"]) else {
        return;
    };
    let image = std::fs::read(prog).unwrap();
    let Ok(ld) = std::fs::read("/lib64/ld-linux-x86-64.so.2") else {
        eprintln!("skipped: no /lib64/ld-linux-x86-64.so.2");
        return;
    };
    assert_eq!(load_dynamic(&image, &ld).0, Ok(()));
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    };
    let (mut loaded, mut refused) = (0, 0);
    for i in 0..2000 {
        // Three flips in four in the interpreter, the rest in the program,
        // mostly in their ELF and program headers (and PT_INTERP's path).
        let (mut program, mut interp) = (image.clone(), ld.clone());
        let target = if next() % 4 == 0 {
            &mut program
        } else {
            &mut interp
        };
        let mut at = Vec::new();
        for _ in 0..1 + next() % 3 {
            let limit = if next() % 8 == 0 { target.len() } else { 0x400 };
            let byte = (next() % limit as u64) as usize;
            let bit = next() % 8;
            target[byte] ^= 1 << bit;
            at.push((byte, bit));
        }
        let what = format!("flip #{i} at {at:?}");
        let (r, largest) = load_dynamic(&program, &interp);
        assert!(
            largest <= loader_cap(&ld),
            "{what}: allocated {largest} bytes at once"
        );
        match r {
            Ok(()) => loaded += 1,
            Err(e) => {
                assert_clear(&e, &what);
                refused += 1;
            }
        }
    }
    eprintln!("dynamic bit flips: {loaded} loaded, {refused} refused");
    assert!(
        loaded > 0 && refused > 0,
        "{loaded} loaded, {refused} refused"
    );
}

// ---------------------------------------------------------------------------
// In a real guest
// ---------------------------------------------------------------------------

#[test]
fn bad_pointers_in_a_real_guest_get_the_answers_linux_gives() {
    require_kvm!();
    let Some(prog) = common::build("gcc", "badptr", &["-static", "-O1"]) else {
        return;
    };
    let native = Command::new(&prog)
        .stdin(Stdio::null())
        .output()
        .expect("the program runs natively");
    assert!(native.status.success());
    let native = String::from_utf8(native.stdout).unwrap();
    let o = common::run(&[
        "run",
        "--trace",
        "json",
        "--fs-root",
        "/",
        prog.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let ours = common::stdout(&o);
    assert_eq!(ours, native, "microvm answers otherwise than Linux");
    // Each EFAULT the program printed is one in the trace.
    let efaults = native.lines().filter(|l| l.ends_with(" -14")).count();
    assert!(efaults >= 15, "{native}");
    let traced = common::json_records(&o)
        .iter()
        .filter(|r| r["kind"] == "syscall" && r["errno"] == "EFAULT")
        .count();
    assert_eq!(traced, efaults);
}

#[test]
fn a_static_pie_whose_addresses_overflow_is_refused() {
    // Found by the loader fuzzer: PT_PHDR's address, added to the
    // static-pie base, overflowed (a panic in a debug build). Linux adds
    // with wraparound; so does the loader now.
    let crash = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions/loader/pie-phdr-address-overflow");
    let (r, _) = load(&std::fs::read(crash).unwrap());
    if let Err(e) = r {
        assert_clear(&e, "the fuzzer's static-pie");
    }
    // The same for the entry point: a guest program made a static-pie
    // (e_type ET_DYN) entered at u64::MAX, which wraps to below the base.
    let mut image = std::fs::read(common::program("syscalls")).unwrap();
    image[16..18].copy_from_slice(&3u16.to_le_bytes());
    image[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    let (r, _) = load(&image);
    let e = r.unwrap_err();
    assert_clear(&e, "entry at u64::MAX");
    assert!(e.contains("entry point"), "{e}");
}
