//! 4-level page tables, built by the VMM in guest memory, and the walk the
//! VMM uses to check every pointer a guest hands it.
//!
//! Intermediate entries are present, writable and user-accessible; the leaf
//! entry alone decides a page's access (the CPU ANDs the U and W bits along
//! the walk, so leaves are what restrict). Leaves never combine U=0 with
//! executable for a page that is also user-writable: kernel pages are
//! supervisor-only, user pages have U=1, and with CR4.SMEP the kernel cannot
//! execute user pages at all.

use crate::error::{Error, Result};
use crate::memory::GuestRam;
use microvm_abi::layout::{PAGE_SIZE, PAGE_TABLES_END, PAGE_TABLES_START};
use std::collections::HashMap;

/// Present.
pub const PTE_P: u64 = 1 << 0;
/// Writable.
pub const PTE_RW: u64 = 1 << 1;
/// User-accessible.
pub const PTE_US: u64 = 1 << 2;
/// Accessed.
pub const PTE_A: u64 = 1 << 5;
/// Dirty.
pub const PTE_D: u64 = 1 << 6;
/// Page size (a large page at PDPT/PD level).
pub const PTE_PS: u64 = 1 << 7;
/// Execute-disable (needs EFER.NXE).
pub const PTE_NX: u64 = 1 << 63;
/// Bits 12..51: the physical frame address.
pub const PTE_ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// Who may do what with a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageFlags {
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
    /// Accessible from ring 3.
    pub user: bool,
}

impl PageFlags {
    /// Kernel, read-only data.
    pub const KERNEL_RO: PageFlags = PageFlags {
        write: false,
        exec: false,
        user: false,
    };
    /// Kernel, read-write data.
    pub const KERNEL_RW: PageFlags = PageFlags {
        write: true,
        exec: false,
        user: false,
    };
    /// User, read-write data (stack).
    pub const USER_RW: PageFlags = PageFlags {
        write: true,
        exec: false,
        user: true,
    };

    /// The union of two sets of rights (for a page two segments share).
    pub fn union(self, other: PageFlags) -> PageFlags {
        PageFlags {
            write: self.write || other.write,
            exec: self.exec || other.exec,
            user: self.user || other.user,
        }
    }
}

/// The leaf entry mapping a 4 KiB page at `phys` with `flags`. Accessed and
/// dirty are preset so the CPU never has to write the tables.
pub fn leaf_entry(phys: u64, flags: PageFlags) -> u64 {
    let mut e = (phys & PTE_ADDR_MASK) | PTE_P | PTE_A | PTE_D;
    if flags.write {
        e |= PTE_RW;
    }
    if flags.user {
        e |= PTE_US;
    }
    if !flags.exec {
        e |= PTE_NX;
    }
    e
}

/// A non-leaf entry pointing at the next-level table at `phys`.
pub fn table_entry(phys: u64) -> u64 {
    (phys & PTE_ADDR_MASK) | PTE_P | PTE_RW | PTE_US | PTE_A
}

/// The four table indices (PML4, PDPT, PD, PT) of a virtual address.
pub fn indices(virt: u64) -> [u64; 4] {
    [
        (virt >> 39) & 0x1ff,
        (virt >> 30) & 0x1ff,
        (virt >> 21) & 0x1ff,
        (virt >> 12) & 0x1ff,
    ]
}

/// True for a canonical 48-bit virtual address.
pub fn is_canonical(virt: u64) -> bool {
    let top = (virt as i64) >> 47;
    top == 0 || top == -1
}

/// Builds page tables in guest memory, and changes them.
///
/// Tables come from the page-table pool first, then from whatever
/// `more_tables` hands [`PageTables::map_with`] (the address space gives
/// user frames). A table whose last entry is removed is unlinked from its
/// parent and handed back through the `release` callback of
/// [`PageTables::unmap`]: the caller decides when it may be used again
/// (a shadow-paging KVM may still link to it, see `AddressSpace`).
#[derive(Debug)]
pub struct PageTables {
    root: u64,
    /// Next never-used table of the pool.
    next: u64,
    /// Pool tables given back (zeroed, safe to link anew).
    spare: Vec<u64>,
    /// Present entries per table (the root's included).
    entries: HashMap<u64, u16>,
}

impl PageTables {
    /// A fresh PML4 at the start of the pool (guest memory is zeroed).
    pub fn new() -> PageTables {
        PageTables {
            root: PAGE_TABLES_START,
            next: PAGE_TABLES_START + PAGE_SIZE,
            spare: Vec::new(),
            entries: HashMap::new(),
        }
    }

    /// Guest-physical address of the PML4 (the value for CR3).
    pub fn root(&self) -> u64 {
        self.root
    }

    /// True when `table` lies in the page-table pool.
    pub fn in_pool(table: u64) -> bool {
        (PAGE_TABLES_START..PAGE_TABLES_END).contains(&table)
    }

    /// Pool tables not in use (never used, or given back).
    pub fn pool_available(&self) -> u64 {
        (PAGE_TABLES_END - self.next) / PAGE_SIZE + self.spare.len() as u64
    }

    /// Tables in use, the root included.
    pub fn tables_in_use(&self) -> usize {
        1 + self.entries.keys().filter(|&&t| t != self.root).count()
    }

    /// Give back a pool table released by [`PageTables::unmap`] once it
    /// may be linked again. Its entries must all be zero.
    pub fn give_back(&mut self, table: u64) {
        debug_assert!(Self::in_pool(table));
        self.spare.push(table);
    }

    fn alloc_table(&mut self, more: &mut dyn FnMut() -> Option<u64>) -> Result<u64> {
        if let Some(t) = self.spare.pop() {
            return Ok(t);
        }
        if self.next < PAGE_TABLES_END {
            let t = self.next;
            self.next += PAGE_SIZE;
            return Ok(t);
        }
        more().ok_or(Error::OutOfGuestMemory("page tables"))
    }

    /// Map the 4 KiB page at `virt` to the frame at `phys`, with tables
    /// from the pool only.
    pub fn map(&mut self, ram: &GuestRam, virt: u64, phys: u64, flags: PageFlags) -> Result<()> {
        self.map_with(ram, virt, phys, flags, &mut || None)
    }

    /// Map the 4 KiB page at `virt` to the frame at `phys`; when the pool
    /// is used up, new tables come from `more_tables` (zeroed frames).
    pub fn map_with(
        &mut self,
        ram: &GuestRam,
        virt: u64,
        phys: u64,
        flags: PageFlags,
        more_tables: &mut dyn FnMut() -> Option<u64>,
    ) -> Result<()> {
        debug_assert!(virt.is_multiple_of(PAGE_SIZE) && phys.is_multiple_of(PAGE_SIZE));
        let idx = indices(virt);
        let mut table = self.root;
        for &i in &idx[..3] {
            let slot = table + i * 8;
            let entry: u64 = ram.read_obj(slot)?;
            table = if entry & PTE_P != 0 {
                entry & PTE_ADDR_MASK
            } else {
                let t = self.alloc_table(more_tables)?;
                ram.write_obj(slot, table_entry(t))?;
                *self.entries.entry(table).or_default() += 1;
                self.entries.insert(t, 0);
                t
            };
        }
        let slot = table + idx[3] * 8;
        let old: u64 = ram.read_obj(slot)?;
        ram.write_obj(slot, leaf_entry(phys, flags))?;
        if old & PTE_P == 0 {
            *self.entries.entry(table).or_default() += 1;
        }
        Ok(())
    }

    /// Remove the mapping of the 4 KiB page at `virt`, if there is one
    /// (true when there was). Tables left empty are unlinked and passed to
    /// `release`; the root never is.
    pub fn unmap(
        &mut self,
        ram: &GuestRam,
        virt: u64,
        release: &mut dyn FnMut(u64),
    ) -> Result<bool> {
        let idx = indices(virt);
        // The tables along the walk, root first.
        let mut path = [self.root; 4];
        for level in 0..3 {
            let entry: u64 = ram.read_obj(path[level] + idx[level] * 8)?;
            if entry & PTE_P == 0 {
                return Ok(false);
            }
            path[level + 1] = entry & PTE_ADDR_MASK;
        }
        let slot = path[3] + idx[3] * 8;
        let leaf: u64 = ram.read_obj(slot)?;
        if leaf & PTE_P == 0 {
            return Ok(false);
        }
        ram.write_obj(slot, 0u64)?;
        // Drop one entry from each table up the walk while they empty.
        for level in (0..4).rev() {
            let table = path[level];
            let n = self.entries.get(&table).copied().unwrap_or(0);
            let left = n.saturating_sub(1);
            if left > 0 || level == 0 {
                self.entries.insert(table, left);
                break;
            }
            self.entries.remove(&table);
            ram.write_obj(path[level - 1] + idx[level - 1] * 8, 0u64)?;
            release(table);
        }
        Ok(true)
    }
}

impl Default for PageTables {
    fn default() -> Self {
        PageTables::new()
    }
}

/// What [`walk`] finds: the leaves, as (virtual address, entry), and the
/// tables.
pub type Walk = (Vec<(u64, u64)>, Vec<u64>);

/// Every present leaf under `cr3`, in both halves, as (virtual address,
/// leaf entry) in address order, and every table linked (the root
/// included). For checks and tests: it reads every table.
pub fn walk(ram: &GuestRam, cr3: u64) -> Result<Walk> {
    fn walk(ram: &GuestRam, table: u64, level: usize, base: u64, out: &mut Walk) -> Result<()> {
        out.1.push(table);
        for i in 0..512u64 {
            let e: u64 = ram.read_obj(table + i * 8)?;
            if e & PTE_P == 0 {
                continue;
            }
            let shift = 39 - 9 * level as u64;
            let mut virt = base | (i << shift);
            if level == 0 && i >= 256 {
                virt |= 0xffff_0000_0000_0000;
            }
            if level == 3 {
                out.0.push((virt, e));
            } else {
                walk(ram, e & PTE_ADDR_MASK, level + 1, virt, out)?;
            }
        }
        Ok(())
    }
    let mut out = (Vec::new(), Vec::new());
    walk(ram, cr3 & PTE_ADDR_MASK, 0, 0, &mut out)?;
    Ok(out)
}

/// The access a guest pointer is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Ring 3 reads it.
    UserRead,
    /// Ring 3 writes it.
    UserWrite,
    /// A debugger reads or writes it: any present page, user or kernel,
    /// writable or not (gdb's memory access, and its breakpoints).
    Debugger,
}

/// Translate a user virtual address to guest-physical, as the CPU would for
/// a ring-3 access: every level present and user-accessible, and writable
/// for a write. `None` where ring 3 could not make the access (the caller
/// answers EFAULT). For [`Access::Debugger`], any present page of either
/// half.
pub fn translate(ram: &GuestRam, cr3: u64, virt: u64, access: Access) -> Option<u64> {
    if !is_canonical(virt) {
        return None;
    }
    let mut table = cr3 & PTE_ADDR_MASK;
    let idx = indices(virt);
    for (level, &i) in idx.iter().enumerate() {
        let entry: u64 = ram.read_obj(table + i * 8).ok()?;
        if entry & PTE_P == 0 || (entry & PTE_US == 0 && access != Access::Debugger) {
            return None;
        }
        if access == Access::UserWrite && entry & PTE_RW == 0 {
            return None;
        }
        if level < 3 && entry & PTE_PS != 0 {
            // microvm maps 4 KiB pages only.
            return None;
        }
        table = entry & PTE_ADDR_MASK;
    }
    let phys = table | (virt & (PAGE_SIZE - 1));
    (phys < ram.size()).then_some(phys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_encodings() {
        // Kernel text: present, not writable, supervisor, executable.
        assert_eq!(
            leaf_entry(
                0x20_0000,
                PageFlags {
                    write: false,
                    exec: true,
                    user: false
                }
            ),
            0x20_0000 | 0x1 | 0x20 | 0x40
        );
        // User data: present, RW, U, NX.
        assert_eq!(
            leaf_entry(0x50_1000, PageFlags::USER_RW),
            (1 << 63) | 0x50_1000 | 0x1 | 0x2 | 0x4 | 0x20 | 0x40
        );
        // Kernel RO data: only P, A, D and NX.
        assert_eq!(leaf_entry(0x3000, PageFlags::KERNEL_RO), (1 << 63) | 0x3061);
        // Address bits above 51 and below 12 never leak into the entry.
        assert_eq!(
            leaf_entry(0xfff0_0000_0000_1fff, PageFlags::KERNEL_RO) & PTE_ADDR_MASK,
            0x1000
        );
    }

    #[test]
    fn table_entry_encoding() {
        assert_eq!(table_entry(0x11000), 0x11000 | 0x27);
    }

    #[test]
    fn index_split() {
        assert_eq!(indices(0xffff_ffff_8020_0000), [511, 510, 1, 0]);
        assert_eq!(indices(0x40_0000), [0, 0, 2, 0]);
        assert_eq!(indices(0x7fff_ffff_f000), [255, 511, 511, 511]);
    }

    #[test]
    fn canonical() {
        assert!(is_canonical(0x7fff_ffff_ffff));
        assert!(!is_canonical(0x8000_0000_0000));
        assert!(is_canonical(0xffff_8000_0000_0000));
        assert!(!is_canonical(0xfff0_0000_0000_0000));
    }

    #[test]
    fn map_and_translate() {
        let ram = GuestRam::new(microvm_abi::layout::MIN_MEMORY).unwrap();
        let mut pt = PageTables::new();
        pt.map(
            &ram,
            0x40_0000,
            0x50_0000,
            PageFlags {
                write: false,
                exec: true,
                user: true,
            },
        )
        .unwrap();
        pt.map(&ram, 0x40_1000, 0x50_1000, PageFlags::USER_RW)
            .unwrap();
        pt.map(&ram, 0xffff_ffff_8000_4000, 0x4000, PageFlags::KERNEL_RW)
            .unwrap();
        let cr3 = pt.root();
        assert_eq!(
            translate(&ram, cr3, 0x40_0123, Access::UserRead),
            Some(0x50_0123)
        );
        assert_eq!(translate(&ram, cr3, 0x40_0123, Access::UserWrite), None);
        assert_eq!(
            translate(&ram, cr3, 0x40_1ff8, Access::UserWrite),
            Some(0x50_1ff8)
        );
        assert_eq!(translate(&ram, cr3, 0x40_2000, Access::UserRead), None);
        assert_eq!(translate(&ram, cr3, 0, Access::UserRead), None);
        // Kernel pages are not reachable through a user pointer.
        assert_eq!(
            translate(&ram, cr3, 0xffff_ffff_8000_4000, Access::UserRead),
            None
        );
        assert_eq!(
            translate(&ram, cr3, 0x8000_0000_0000, Access::UserRead),
            None
        );
    }
}
