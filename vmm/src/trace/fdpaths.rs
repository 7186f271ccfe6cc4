//! `-y`: the paths of a call's descriptors, taken from the program's
//! descriptor table before the host serves the call (strace resolves them
//! as the call starts, so `close(3</etc/passwd>)` names what it closed),
//! and the path of a descriptor the call returned, taken after.
//!
//! Only taken with `-y`: without it, nothing here runs.

use super::style::{FdPaths, FdTable};
use microvm_abi::linux::syscalls::{by_nr, Arg, Ret};

/// Where one path is in [`FdSnapshot::bytes`].
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    fd: i32,
    start: usize,
    end: usize,
}

/// The paths of one call's descriptors. Its buffer is kept from call to
/// call, so a run allocates it once (it grows to the longest paths seen).
#[derive(Debug, Default)]
pub struct FdSnapshot {
    /// The descriptor arguments' paths, as the call started.
    args: [Entry; 6],
    /// How many of `args` are filled.
    n: usize,
    /// The returned descriptor's path.
    ret: Option<Entry>,
    /// Descriptors the call holds in memory (poll's entries, the pair
    /// pipe2 fills), at most [`MAX_HELD`].
    held: Vec<Entry>,
    bytes: Vec<u8>,
}

/// The most descriptors in memory whose paths one call shows.
pub const MAX_HELD: usize = 64;

impl FdSnapshot {
    /// Forget the previous call.
    pub fn clear(&mut self) {
        self.n = 0;
        self.ret = None;
        self.held.clear();
        self.bytes.clear();
    }

    /// Take the paths of the descriptor arguments of syscall `nr` (those
    /// its table row shows as [`Arg::Fd`]) from `table`.
    pub fn take_args(&mut self, nr: u64, args: &[u64; 6], table: &dyn FdTable) {
        self.clear();
        let Some(row) = by_nr(nr) else {
            return;
        };
        for (i, decoder) in row.args.iter().enumerate() {
            if *decoder != Arg::Fd {
                continue;
            }
            let fd = args[i] as i32;
            if self.find(fd).is_some() || self.n == self.args.len() {
                continue;
            }
            if let Some(entry) = self.resolve(fd, table) {
                self.args[self.n] = entry;
                self.n += 1;
            }
        }
    }

    /// Take the path of `fd`, a descriptor the call holds in memory (a
    /// poll entry, pipe2's pair), unless known or [`MAX_HELD`] are.
    pub fn take_held(&mut self, fd: i32, table: &dyn FdTable) {
        if fd < 0 || self.find(fd).is_some() || self.held.len() >= MAX_HELD {
            return;
        }
        if let Some(entry) = self.resolve(fd, table) {
            self.held.push(entry);
        }
    }

    /// Take the path of the descriptor syscall `nr` returned (`ret`), if
    /// its row returns one and it succeeded.
    pub fn take_returned(&mut self, nr: u64, ret: Option<i64>, table: &dyn FdTable) {
        self.ret = None;
        let kept = self.args[..self.n]
            .iter()
            .chain(&self.held)
            .map(|e| e.end)
            .max()
            .unwrap_or(0);
        self.bytes.truncate(kept);
        let returns_fd = by_nr(nr).is_some_and(|row| row.ret == Ret::Fd);
        match ret.and_then(|r| i32::try_from(r).ok()) {
            Some(fd) if returns_fd && fd >= 0 => self.ret = self.resolve(fd, table),
            _ => {}
        }
    }

    /// The descriptor arguments with a path, in argument order.
    pub fn arguments(&self) -> impl Iterator<Item = (i32, &[u8])> {
        self.args[..self.n]
            .iter()
            .filter_map(|e| Some((e.fd, self.slice(*e)?)))
    }

    /// The returned descriptor and its path, if it has one.
    pub fn returned_fd(&self) -> Option<(i32, &[u8])> {
        self.ret.and_then(|e| Some((e.fd, self.slice(e)?)))
    }

    fn resolve(&mut self, fd: i32, table: &dyn FdTable) -> Option<Entry> {
        let start = self.bytes.len();
        let found = table.fd_path(fd, &mut self.bytes);
        found.then_some(Entry {
            fd,
            start,
            end: self.bytes.len(),
        })
    }

    fn find(&self, fd: i32) -> Option<Entry> {
        self.args[..self.n]
            .iter()
            .chain(&self.held)
            .find(|e| e.fd == fd)
            .copied()
    }

    fn slice(&self, e: Entry) -> Option<&[u8]> {
        self.bytes.get(e.start..e.end)
    }
}

impl FdPaths for FdSnapshot {
    fn path(&self, fd: i32) -> Option<&[u8]> {
        self.find(fd).and_then(|e| self.slice(e))
    }

    fn returned(&self, fd: i32) -> Option<&[u8]> {
        self.ret.filter(|e| e.fd == fd).and_then(|e| self.slice(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use microvm_abi::linux::syscalls::nr;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// A descriptor table in a map, counting the lookups.
    #[derive(Default)]
    struct Table {
        paths: HashMap<i32, &'static str>,
        lookups: RefCell<usize>,
    }

    impl FdTable for Table {
        fn fd_path(&self, fd: i32, out: &mut Vec<u8>) -> bool {
            *self.lookups.borrow_mut() += 1;
            match self.paths.get(&fd) {
                Some(p) => {
                    out.extend_from_slice(p.as_bytes());
                    true
                }
                None => false,
            }
        }
    }

    fn table(entries: &[(i32, &'static str)]) -> Table {
        Table {
            paths: entries.iter().copied().collect(),
            ..Table::default()
        }
    }

    const AT_FDCWD: i32 = libc::AT_FDCWD;

    #[test]
    fn arguments_as_the_call_started() {
        let t = table(&[(3, "/etc/passwd"), (AT_FDCWD, "/home")]);
        let mut s = FdSnapshot::default();
        s.take_args(nr::CLOSE, &[3, 0, 0, 0, 0, 0], &t);
        // The table changes (close served); the snapshot does not.
        let after = table(&[]);
        s.take_returned(nr::CLOSE, Some(0), &after);
        assert_eq!(s.path(3), Some(&b"/etc/passwd"[..]));
        assert_eq!(s.returned(0), None, "close returns no descriptor");
        s.take_args(nr::OPENAT, &[AT_FDCWD as u64, 0x1000, 0, 0, 0, 0], &t);
        assert_eq!(s.path(AT_FDCWD), Some(&b"/home"[..]));
        assert_eq!(s.path(3), None, "the previous call is forgotten");
    }

    #[test]
    fn only_descriptor_arguments_are_looked_up() {
        let t = table(&[(3, "/a"), (4, "/b")]);
        let mut s = FdSnapshot::default();
        // read(3, buf=4, count=4): only the first is a descriptor.
        s.take_args(nr::READ, &[3, 4, 4, 0, 0, 0], &t);
        assert_eq!(*t.lookups.borrow(), 1);
        assert_eq!(s.path(4), None);
        // getpid has none; an unknown number none either.
        s.take_args(nr::GETPID, &[3, 3, 3, 3, 3, 3], &t);
        s.take_args(100_000, &[3, 3, 3, 3, 3, 3], &t);
        assert_eq!(*t.lookups.borrow(), 1);
        // dup2(3, 4): both, each once.
        s.take_args(nr::DUP2, &[3, 4, 0, 0, 0, 0], &t);
        assert_eq!(s.path(3), Some(&b"/a"[..]));
        assert_eq!(s.path(4), Some(&b"/b"[..]));
        s.take_args(nr::DUP2, &[3, 3, 0, 0, 0, 0], &t);
        assert_eq!(
            *t.lookups.borrow(),
            4,
            "the same fd twice is looked up once"
        );
    }

    #[test]
    fn the_returned_descriptor_after_the_call() {
        let before = table(&[(4, "/old")]);
        let after = table(&[(4, "/new")]);
        let mut s = FdSnapshot::default();
        s.take_args(nr::DUP2, &[3, 4, 0, 0, 0, 0], &before);
        s.take_returned(nr::DUP2, Some(4), &after);
        assert_eq!(
            s.path(4),
            Some(&b"/old"[..]),
            "what 4 was as the call started"
        );
        assert_eq!(s.returned(4), Some(&b"/new"[..]), "what it is now");
        let args: Vec<_> = s.arguments().collect();
        assert_eq!(args, [(4, &b"/old"[..])], "3 has no path in `before`");
        assert_eq!(s.returned_fd(), Some((4, &b"/new"[..])));
        s.take_returned(nr::OPENAT, Some(-2), &after);
        assert_eq!(s.returned(-2), None, "an error is no descriptor");
        s.take_returned(nr::OPENAT, None, &after);
        s.take_returned(nr::OPENAT, Some(i64::MAX), &after);
        assert_eq!(s.returned(4), None);
    }
}
