//! Decoders tested without KVM: a guest memory with a few user pages, and
//! the trace line a syscall over it gives.

use super::decode::{self, Call};
use super::style::{FdPaths, Style};
use crate::arch::paging::{PageFlags, PageTables};
use crate::memory::{FrameAllocator, GuestRam};
use crate::space::AddressSpace;
use crate::usermem::UserMemory;
use microvm_abi::layout::{MIN_MEMORY, PAGE_SIZE};

/// Where the user pages start.
pub const USER: u64 = 0x1000_0000;
/// How many user pages there are.
pub const PAGES: u64 = 4;

/// Guest RAM with [`PAGES`] writable user pages at [`USER`].
pub struct Memory {
    ram: GuestRam,
    space: AddressSpace,
    /// The stack pointer the calls are made with.
    pub sp: u64,
}

impl Default for Memory {
    fn default() -> Self {
        Memory::new()
    }
}

impl Memory {
    /// Fresh zeroed pages.
    pub fn new() -> Memory {
        let ram = GuestRam::new(MIN_MEMORY).unwrap();
        let mut space = AddressSpace::new(PageTables::new(), FrameAllocator::new(MIN_MEMORY));
        space
            .map(&ram, USER, USER + PAGES * PAGE_SIZE, PageFlags::USER_RW)
            .unwrap();
        Memory { ram, space, sp: 0 }
    }

    /// Put `bytes` at `addr` (inside the user pages); returns `addr`.
    pub fn put(&mut self, addr: u64, bytes: &[u8]) -> u64 {
        self.space.copy_in(&self.ram, addr, bytes).unwrap();
        addr
    }

    /// The whole trace line of syscall `nr` with `args` returning `ret`.
    pub fn line(&self, nr: u64, args: [u64; 6], ret: Option<i64>) -> String {
        self.line_with(&Style::default(), nr, args, ret)
    }

    /// [`Memory::line`] in `style`, without the column padding.
    pub fn line_with(&self, style: &Style, nr: u64, args: [u64; 6], ret: Option<i64>) -> String {
        self.line_of(style, None, nr, args, ret)
    }

    /// [`Memory::line`] under `-y`, descriptors named by `fds`.
    pub fn line_with_fds(
        &self,
        fds: &dyn FdPaths,
        nr: u64,
        args: [u64; 6],
        ret: Option<i64>,
    ) -> String {
        let style = Style {
            fd_paths: true,
            ..Style::default()
        };
        self.line_of(&style, Some(fds), nr, args, ret)
    }

    fn line_of(
        &self,
        style: &Style,
        fds: Option<&dyn FdPaths>,
        nr: u64,
        args: [u64; 6],
        ret: Option<i64>,
    ) -> String {
        let mem = UserMemory::new(&self.ram, self.space.tables().root());
        let call = Call {
            mem: &mem,
            nr,
            args,
            sp: self.sp,
            ret,
            style,
            fds,
        };
        let mut out = Vec::new();
        decode::call(&mut out, &call).unwrap();
        out.push(b' ');
        decode::result(&mut out, &call).unwrap();
        String::from_utf8(out).unwrap()
    }
}

/// What `f` writes, as text.
pub fn text(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut v = Vec::new();
    f(&mut v).unwrap();
    String::from_utf8(v).unwrap()
}
