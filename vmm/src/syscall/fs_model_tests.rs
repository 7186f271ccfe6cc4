//! The fd table against a model of Linux's: arbitrary sequences of open,
//! dup, dup2, dup3, fcntl (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD),
//! close, lseek and read, with the RLIMIT_NOFILE limit changing under
//! them. Every result must be the model's: the lowest free fd is the one
//! given, dups share the file offset, close-on-exec belongs to the fd, fds
//! stay below the limit.

use super::*;
use crate::arch::paging::{PageFlags, PageTables};
use crate::memory::{FrameAllocator, GuestRam};
use crate::space::AddressSpace;
use crate::syscall::{Disposition, KernelRequests};
use microvm_abi::layout::{MIN_MEMORY, PAGE_SIZE};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Where the path "/data" sits in guest memory.
const PATH_AT: u64 = 0x1000_0000;
/// Where reads land.
const BUF_AT: u64 = 0x1000_0100;
/// The file's size.
const DATA_LEN: u64 = 3000;

fn data_byte(i: u64) -> u8 {
    (i % 251) as u8
}

#[derive(Debug, Clone)]
enum Op {
    Open { cloexec: bool },
    Dup(u64),
    Dup2(u64, u64),
    Dup3(u64, u64, bool),
    DupFd(u64, u64, bool),
    GetFd(u64),
    SetFd(u64, bool),
    Close(u64),
    Lseek(u64, u64),
    Read(u64, u64),
    Limit(u64),
}

/// An fd argument: mostly small (so that they collide), sometimes at the
/// limits, above them, or with bits the kernel's `unsigned int` drops.
fn fd() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 0u64..12,
        1 => Just(MAX_FDS - 1),
        1 => Just(MAX_FDS),
        1 => Just((1u64 << 32) | 3),
        1 => Just(u64::MAX),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(|cloexec| Op::Open { cloexec }),
        2 => fd().prop_map(Op::Dup),
        2 => (fd(), fd()).prop_map(|(a, b)| Op::Dup2(a, b)),
        2 => (fd(), fd(), any::<bool>()).prop_map(|(a, b, c)| Op::Dup3(a, b, c)),
        2 => (fd(), fd(), any::<bool>()).prop_map(|(a, b, c)| Op::DupFd(a, b, c)),
        1 => fd().prop_map(Op::GetFd),
        1 => (fd(), any::<bool>()).prop_map(|(a, c)| Op::SetFd(a, c)),
        3 => fd().prop_map(Op::Close),
        2 => (fd(), 0..DATA_LEN + 100).prop_map(|(a, o)| Op::Lseek(a, o)),
        3 => (fd(), 0u64..200).prop_map(|(a, n)| Op::Read(a, n)),
        1 => prop_oneof![3u64..12, Just(MAX_FDS)].prop_map(Op::Limit),
    ]
}

/// Linux's fd table, as far as these calls see it.
#[derive(Debug)]
struct Model {
    /// fd -> (open file description, close-on-exec).
    fds: BTreeMap<u32, (usize, bool)>,
    /// Offset of each open file description.
    offsets: Vec<u64>,
    limit: u64,
}

const EBADF: i64 = -(libc::EBADF as i64);
const EINVAL: i64 = -(libc::EINVAL as i64);
const EMFILE: i64 = -(libc::EMFILE as i64);

impl Model {
    fn lowest_free(&self, from: u64) -> Option<u32> {
        (from..self.limit)
            .map(|f| f as u32)
            .find(|f| !self.fds.contains_key(f))
    }

    fn install(&mut self, desc: usize, cloexec: bool, from: u64) -> i64 {
        match self.lowest_free(from) {
            Some(fd) => {
                self.fds.insert(fd, (desc, cloexec));
                i64::from(fd)
            }
            None => EMFILE,
        }
    }

    /// What Linux answers to `op`, applied to the model; for a read, the
    /// offset it reads from too.
    fn apply(&mut self, op: &Op) -> (i64, Option<u64>) {
        let n = |fd: u64| fd as u32;
        let r = match *op {
            Op::Open { cloexec } => {
                self.offsets.push(0);
                let r = self.install(self.offsets.len() - 1, cloexec, 0);
                if r < 0 {
                    self.offsets.pop();
                }
                r
            }
            Op::Dup(old) => match self.fds.get(&n(old)) {
                Some(&(d, _)) => self.install(d, false, 0),
                None => EBADF,
            },
            Op::Dup2(old, new) => match self.fds.get(&n(old)).copied() {
                None => EBADF,
                Some(_) if n(old) == n(new) => i64::from(n(new)),
                Some(_) if u64::from(n(new)) >= self.limit => EBADF,
                Some((d, _)) => {
                    self.fds.insert(n(new), (d, false));
                    i64::from(n(new))
                }
            },
            Op::Dup3(old, new, cloexec) => {
                if n(old) == n(new) {
                    EINVAL
                } else if u64::from(n(new)) >= self.limit {
                    EBADF
                } else {
                    match self.fds.get(&n(old)).copied() {
                        None => EBADF,
                        Some((d, _)) => {
                            self.fds.insert(n(new), (d, cloexec));
                            i64::from(n(new))
                        }
                    }
                }
            }
            Op::DupFd(fd, min, cloexec) => match self.fds.get(&n(fd)).copied() {
                None => EBADF,
                Some(_) if min >= self.limit => EINVAL,
                Some((d, _)) => self.install(d, cloexec, min),
            },
            Op::GetFd(fd) => match self.fds.get(&n(fd)) {
                Some(&(_, c)) => i64::from(c),
                None => EBADF,
            },
            Op::SetFd(fd, cloexec) => match self.fds.get_mut(&n(fd)) {
                Some(e) => {
                    e.1 = cloexec;
                    0
                }
                None => EBADF,
            },
            Op::Close(fd) => match self.fds.remove(&n(fd)) {
                Some(_) => 0,
                None => EBADF,
            },
            Op::Lseek(fd, off) => match self.fds.get(&n(fd)) {
                Some(&(d, _)) => {
                    self.offsets[d] = off;
                    off as i64
                }
                None => EBADF,
            },
            Op::Read(fd, count) => match self.fds.get(&n(fd)) {
                Some(&(d, _)) => {
                    let at = self.offsets[d];
                    let got = count.min(DATA_LEN.saturating_sub(at));
                    self.offsets[d] += got;
                    return (got as i64, Some(at));
                }
                None => EBADF,
            },
            Op::Limit(limit) => {
                self.limit = limit;
                0
            }
        };
        (r, None)
    }
}

struct Harness {
    ram: GuestRam,
    space: AddressSpace,
    files: Files,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Harness {
    fn new() -> Harness {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "microvm-fdmodel-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..DATA_LEN).map(data_byte).collect();
        std::fs::write(dir.join("data"), data).unwrap();
        let ram = GuestRam::new(MIN_MEMORY).unwrap();
        let mut space = AddressSpace::new(PageTables::new(), FrameAllocator::new(MIN_MEMORY));
        space
            .map(&ram, PATH_AT, PATH_AT + PAGE_SIZE, PageFlags::USER_RW)
            .unwrap();
        space.copy_in(&ram, PATH_AT, b"/data\0").unwrap();
        let sink = || Output::Writer(Box::new(std::io::sink()));
        let mut files = Files::new(sink(), sink());
        files.set_view(View::new(&dir).unwrap());
        Harness {
            ram,
            space,
            files,
            _dir: TempDir(dir),
        }
    }

    fn call(&mut self, nr: u64, a: [u64; 6]) -> i64 {
        let mem = UserMemory::new(&self.ram, self.space.tables().root());
        let mut requests = KernelRequests::default();
        let mut ctx = Context {
            mem: &mem,
            before_output: &mut || {},
            stop: None,
            ram: &self.ram,
            space: &mut self.space,
            requests: &mut requests,
            forever: None,
        };
        let r = self.files.handle(nr, &a, &mut ctx).expect("a file syscall");
        match Disposition::from(r) {
            Disposition::Return(rax) => rax,
            other => panic!("{other:?}"),
        }
    }

    fn run(&mut self, op: &Op) -> i64 {
        let cloexec = |c: bool| if c { o::CLOEXEC } else { 0 };
        match *op {
            Op::Open { cloexec: c } => self.call(
                nr::OPENAT,
                [at::FDCWD as u64, PATH_AT, o::RDONLY | cloexec(c), 0, 0, 0],
            ),
            Op::Dup(old) => self.call(nr::DUP, [old, 0, 0, 0, 0, 0]),
            Op::Dup2(old, new) => self.call(nr::DUP2, [old, new, 0, 0, 0, 0]),
            Op::Dup3(old, new, c) => self.call(nr::DUP3, [old, new, cloexec(c), 0, 0, 0]),
            Op::DupFd(fd, min, c) => {
                let cmd = if c { f::DUPFD_CLOEXEC } else { f::DUPFD };
                self.call(nr::FCNTL, [fd, cmd, min, 0, 0, 0])
            }
            Op::GetFd(fd) => self.call(nr::FCNTL, [fd, f::GETFD, 0, 0, 0, 0]),
            Op::SetFd(fd, c) => {
                let flag = if c { f::FD_CLOEXEC } else { 0 };
                self.call(nr::FCNTL, [fd, f::SETFD, flag, 0, 0, 0])
            }
            Op::Close(fd) => self.call(nr::CLOSE, [fd, 0, 0, 0, 0, 0]),
            Op::Lseek(fd, off) => self.call(nr::LSEEK, [fd, off, 0, 0, 0, 0]),
            Op::Read(fd, count) => self.call(nr::READ, [fd, BUF_AT, count, 0, 0, 0]),
            Op::Limit(limit) => {
                self.files.set_fd_limit(limit);
                0
            }
        }
    }

    fn guest_bytes(&self, n: usize) -> Vec<u8> {
        let mem = UserMemory::new(&self.ram, self.space.tables().root());
        let mut buf = vec![0u8; n];
        mem.read(BUF_AT, &mut buf).unwrap();
        buf
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_fd_table_behaves_as_linux_s(ops in proptest::collection::vec(op(), 1..100)) {
        let mut h = Harness::new();
        // Start from an empty table, so that reads never touch the host's
        // stdin.
        for fd in 0..3 {
            prop_assert_eq!(h.call(nr::CLOSE, [fd, 0, 0, 0, 0, 0]), 0);
        }
        let mut model = Model { fds: BTreeMap::new(), offsets: Vec::new(), limit: MAX_FDS };
        for (i, op) in ops.iter().enumerate() {
            let (want, read_at) = model.apply(op);
            let got = h.run(op);
            prop_assert_eq!(got, want, "step {}: {:?}\nmodel: {:?}", i, op, model);
            if let (Some(at), true) = (read_at, got > 0) {
                let expect: Vec<u8> = (at..at + got as u64).map(data_byte).collect();
                prop_assert_eq!(h.guest_bytes(got as usize), expect, "step {}: {:?}", i, op);
            }
        }
        // Close-on-exec is per fd, for every fd.
        for fd in 0..16u64 {
            let want = model.fds.get(&(fd as u32)).map_or(EBADF, |&(_, c)| i64::from(c));
            prop_assert_eq!(h.call(nr::FCNTL, [fd, f::GETFD, 0, 0, 0, 0]), want, "fd {}", fd);
        }
    }
}

/// Found by the model: dup2(fd, fd) answers fd even when fd is above a
/// lowered RLIMIT_NOFILE (Linux checks `newfd == oldfd` first); dup2 to
/// another fd above it is EBADF.
#[test]
fn dup2_onto_itself_ignores_the_limit() {
    let mut h = Harness::new();
    assert_eq!(h.run(&Op::Dup2(0, 9)), 9);
    h.run(&Op::Limit(3));
    assert_eq!(h.run(&Op::Dup2(9, 9)), 9);
    assert_eq!(h.run(&Op::Dup2(9, 5)), EBADF);
    assert_eq!(h.run(&Op::Dup2(7, 7)), EBADF);
}
