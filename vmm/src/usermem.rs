//! Access to the program's memory through its page tables, exactly as ring 3
//! could access it. Every pointer and length a guest hands the host goes
//! through here: an address ring 3 could not read (or write) is a fault,
//! which the syscall service answers with EFAULT.

use crate::arch::paging::{translate, Access};
use crate::memory::GuestRam;
use microvm_abi::layout::PAGE_SIZE;
use vm_memory::{Bytes, GuestAddress};

/// A guest pointer ring 3 could not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// The first bad address.
    pub addr: u64,
}

/// The user address space of the running program.
#[derive(Clone, Copy)]
pub struct UserMemory<'a> {
    ram: &'a GuestRam,
    cr3: u64,
}

impl<'a> UserMemory<'a> {
    /// The address space rooted at `cr3`.
    pub fn new(ram: &'a GuestRam, cr3: u64) -> Self {
        UserMemory { ram, cr3 }
    }

    /// Check that all of `[addr, addr + len)` is accessible for `access`,
    /// then call `f` with each guest-physical piece, in order. Nothing is
    /// visited unless the whole range is valid.
    pub fn for_each_piece(
        &self,
        addr: u64,
        len: u64,
        access: Access,
        mut f: impl FnMut(u64, usize),
    ) -> Result<(), Fault> {
        let end = addr.checked_add(len).ok_or(Fault { addr })?;
        let mut a = addr;
        while a < end {
            translate(self.ram, self.cr3, a, access).ok_or(Fault { addr: a })?;
            a = (a & !(PAGE_SIZE - 1)) + PAGE_SIZE;
        }
        let mut a = addr;
        while a < end {
            let n = (end - a).min(PAGE_SIZE - a % PAGE_SIZE);
            let phys = translate(self.ram, self.cr3, a, access).ok_or(Fault { addr: a })?;
            f(phys, n as usize);
            a += n;
        }
        Ok(())
    }

    /// Visit `[addr, addr + len)` piece by piece (see `for_each_piece`)
    /// with `copy(phys, offset_in_range, length)`, which reports failure.
    fn copy_pieces(
        &self,
        addr: u64,
        len: usize,
        access: Access,
        mut copy: impl FnMut(u64, usize, usize) -> bool,
    ) -> Result<(), Fault> {
        let mut done = 0;
        let mut ok = true;
        self.for_each_piece(addr, len as u64, access, |phys, n| {
            ok &= copy(phys, done, n);
            done += n;
        })?;
        ok.then_some(()).ok_or(Fault { addr })
    }

    /// Copy guest bytes at `addr` into `buf`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        let mem = self.ram.mem();
        self.copy_pieces(addr, buf.len(), Access::UserRead, |phys, at, n| {
            mem.read_slice(&mut buf[at..at + n], GuestAddress(phys))
                .is_ok()
        })
    }

    /// Copy `bytes` into guest memory at `addr`.
    pub fn write(&self, addr: u64, bytes: &[u8]) -> Result<(), Fault> {
        let mem = self.ram.mem();
        self.copy_pieces(addr, bytes.len(), Access::UserWrite, |phys, at, n| {
            mem.write_slice(&bytes[at..at + n], GuestAddress(phys))
                .is_ok()
        })
    }

    /// Read up to `buf.len()` bytes of a NUL-terminated string at `addr`,
    /// a byte at a time so that it stops at the NUL even if the page after
    /// it is unmapped. Returns the length read and whether the NUL was found.
    pub fn read_cstr(&self, addr: u64, buf: &mut [u8]) -> Result<(usize, bool), Fault> {
        for (i, slot) in buf.iter_mut().enumerate() {
            let a = addr.checked_add(i as u64).ok_or(Fault { addr })?;
            let phys =
                translate(self.ram, self.cr3, a, Access::UserRead).ok_or(Fault { addr: a })?;
            let b: u8 = self.ram.read_obj(phys).map_err(|_| Fault { addr: a })?;
            if b == 0 {
                return Ok((i, true));
            }
            *slot = b;
        }
        Ok((buf.len(), false))
    }

    /// The RAM behind this address space.
    pub fn ram(&self) -> &'a GuestRam {
        self.ram
    }
}
