//! The program's address space: which user pages exist, the frames behind
//! them and their rights, kept in step with the guest page tables. The
//! loader builds it; brk, mmap, munmap and mprotect change it at run time.

use crate::arch::paging::{PageFlags, PageTables};
use crate::error::{Error, Result};
use crate::memory::{FrameAllocator, GuestRam};
use microvm_abi::layout::{PAGE_SIZE, USER_STACK_SIZE, USER_STACK_TOP};
use std::collections::BTreeMap;

/// Highest address (exclusive) handed out by mmap without a hint: below
/// the stack, with a gap for it to grow into.
pub const MMAP_TOP: u64 = USER_STACK_TOP - USER_STACK_SIZE - (64 << 20);

/// One user page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Page {
    /// The frame, or `None` for a PROT_NONE reservation with no frame yet.
    frame: Option<u64>,
    /// Its rights; ignored while `accessible` is false.
    flags: PageFlags,
    /// False for PROT_NONE: reserved, but any access faults.
    accessible: bool,
}

/// Why a mapping change failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// Guest memory (frames or page tables) is used up.
    NoMemory,
    /// A page in the range is not mapped (mprotect).
    NotMapped,
}

/// Page-aligned down.
pub fn page_floor(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

/// Page-aligned up (saturating).
pub fn page_ceil(a: u64) -> u64 {
    a.saturating_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

/// The user address space.
#[derive(Debug)]
pub struct AddressSpace {
    tables: PageTables,
    frames: FrameAllocator,
    free: Vec<u64>,
    pages: BTreeMap<u64, Page>,
    /// PROT_NONE reservations with no pages yet: start -> end (page-aligned,
    /// disjoint from each other and from `pages`).
    reserved: BTreeMap<u64, u64>,
    brk_start: u64,
    brk: u64,
}

impl AddressSpace {
    /// An empty user space over `tables`, with frames from `frames`.
    pub fn new(tables: PageTables, frames: FrameAllocator) -> Self {
        AddressSpace {
            tables,
            frames,
            free: Vec::new(),
            pages: BTreeMap::new(),
            reserved: BTreeMap::new(),
            brk_start: 0,
            brk: 0,
        }
    }

    /// The page tables (CR3 is `tables().root()`).
    pub fn tables(&self) -> &PageTables {
        &self.tables
    }

    /// Frames still free.
    pub fn free_frames(&self) -> u64 {
        self.frames.remaining() + self.free.len() as u64
    }

    fn alloc_frame(&mut self, _ram: &GuestRam) -> std::result::Result<u64, MapError> {
        // Freed frames were discarded (zeroed) when they were unmapped.
        if let Some(f) = self.free.pop() {
            return Ok(f);
        }
        self.frames.alloc().ok_or(MapError::NoMemory)
    }

    fn write_entry(
        &mut self,
        ram: &GuestRam,
        virt: u64,
        page: Page,
    ) -> std::result::Result<(), MapError> {
        match (page.accessible, page.frame) {
            (true, Some(frame)) => self
                .tables
                .map(ram, virt, frame, page.flags)
                .map_err(|_| MapError::NoMemory),
            _ => self.tables.unmap(ram, virt).map_err(|_| MapError::NoMemory),
        }
    }

    /// True when some page of `[start, end)` is in use.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.pages.range(page_floor(start)..end).next().is_some()
            || self
                .reservation_below(end)
                .is_some_and(|(_, re)| re > start)
    }

    /// The reservation with the highest start below `end`.
    fn reservation_below(&self, end: u64) -> Option<(u64, u64)> {
        self.reserved
            .range(..end)
            .next_back()
            .map(|(&s, &e)| (s, e))
    }

    /// True when `virt` lies in a reservation.
    fn is_reserved(&self, virt: u64) -> bool {
        self.reservation_below(virt + 1)
            .is_some_and(|(_, e)| e > virt)
    }

    /// Take `[start, end)` out of the reservations.
    fn carve(&mut self, start: u64, end: u64) {
        let hit: Vec<(u64, u64)> = self
            .reserved
            .range(..end)
            .rev()
            .take_while(|(_, &e)| e > start)
            .map(|(&s, &e)| (s, e))
            .collect();
        // A reservation that starts below `start` but ends above it is
        // found too, since ranges are disjoint and sorted.
        for (s, e) in hit {
            if e <= start {
                continue;
            }
            self.reserved.remove(&s);
            if s < start {
                self.reserved.insert(s, start);
            }
            if end < e {
                self.reserved.insert(end, e);
            }
        }
    }

    /// Make every page of `[start, end)` exist with at least `flags` (the
    /// union with what a page already has); new pages are zeroed.
    pub fn map(
        &mut self,
        ram: &GuestRam,
        start: u64,
        end: u64,
        flags: PageFlags,
    ) -> std::result::Result<(), MapError> {
        self.carve(page_floor(start), end);
        let mut virt = page_floor(start);
        while virt < end {
            let page = match self.pages.get(&virt) {
                Some(p) => Page {
                    flags: p.flags.union(flags),
                    accessible: true,
                    frame: match p.frame {
                        Some(f) => Some(f),
                        None => Some(self.alloc_frame(ram)?),
                    },
                },
                None => Page {
                    frame: Some(self.alloc_frame(ram)?),
                    flags,
                    accessible: true,
                },
            };
            self.pages.insert(virt, page);
            self.write_entry(ram, virt, page)?;
            virt += PAGE_SIZE;
        }
        Ok(())
    }

    /// Reserve `[start, end)` with no access and no frames (PROT_NONE).
    /// The range must be free (see [`AddressSpace::overlaps`]).
    pub fn reserve(&mut self, start: u64, end: u64) {
        let (start, end) = (page_floor(start), page_ceil(end));
        if start < end {
            self.reserved.insert(start, end);
        }
    }

    /// Remove every page of `[start, end)`; their frames become free.
    pub fn unmap(
        &mut self,
        ram: &GuestRam,
        start: u64,
        end: u64,
    ) -> std::result::Result<(), MapError> {
        self.carve(page_floor(start), end);
        let gone: Vec<u64> = self
            .pages
            .range(page_floor(start)..end)
            .map(|(&v, _)| v)
            .collect();
        for virt in gone {
            if let Some(page) = self.pages.remove(&virt) {
                self.tables
                    .unmap(ram, virt)
                    .map_err(|_| MapError::NoMemory)?;
                if let Some(f) = page.frame {
                    ram.discard(f, PAGE_SIZE);
                    self.free.push(f);
                }
            }
        }
        Ok(())
    }

    /// Set the rights of every page of `[start, end)`; `None` = PROT_NONE.
    /// Fails without changing anything if a page is not mapped.
    pub fn protect(
        &mut self,
        ram: &GuestRam,
        start: u64,
        end: u64,
        flags: Option<PageFlags>,
    ) -> std::result::Result<(), MapError> {
        let mut virt = page_floor(start);
        while virt < end {
            if !self.pages.contains_key(&virt) && !self.is_reserved(virt) {
                return Err(MapError::NotMapped);
            }
            virt += PAGE_SIZE;
        }
        if flags.is_none() {
            // Pages without frames stay reservations; pages with frames
            // keep them, inaccessible.
            let with_pages: Vec<u64> = self
                .pages
                .range(page_floor(start)..end)
                .map(|(&v, _)| v)
                .collect();
            for virt in with_pages {
                let mut page = self.pages[&virt];
                page.accessible = false;
                self.pages.insert(virt, page);
                self.write_entry(ram, virt, page)?;
                if let Some(f) = page.frame {
                    ram.revoke(f, PAGE_SIZE);
                }
            }
            return Ok(());
        }
        self.carve_into_pages(page_floor(start), end);
        let mut virt = page_floor(start);
        while virt < end {
            let mut page = self.pages[&virt];
            let before = page;
            match flags {
                Some(f) => {
                    if page.frame.is_none() {
                        page.frame = Some(self.alloc_frame(ram)?);
                    }
                    page.flags = f;
                    page.accessible = true;
                }
                None => page.accessible = false,
            }
            self.pages.insert(virt, page);
            self.write_entry(ram, virt, page)?;
            let reduced = before.accessible
                && ((before.flags.write && !page.flags.write)
                    || (before.flags.exec && !page.flags.exec));
            if let (true, Some(f)) = (reduced, page.frame) {
                ram.revoke(f, PAGE_SIZE);
            }
            virt += PAGE_SIZE;
        }
        Ok(())
    }

    /// Turn the reserved part of `[start, end)` into frameless pages.
    fn carve_into_pages(&mut self, start: u64, end: u64) {
        let mut virt = start;
        while virt < end {
            self.pages.entry(virt).or_insert(Page {
                frame: None,
                flags: PageFlags::default(),
                accessible: false,
            });
            virt += PAGE_SIZE;
        }
        self.carve(start, end);
    }

    /// A free range of `len` bytes: at `hint` if it is free, else the
    /// highest free range below [`MMAP_TOP`].
    pub fn find_free(&self, hint: u64, len: u64) -> Option<u64> {
        let len = page_ceil(len);
        let hint = page_floor(hint);
        if hint >= PAGE_SIZE
            && hint.checked_add(len).is_some_and(|e| e <= MMAP_TOP)
            && !self.overlaps(hint, hint + len)
        {
            return Some(hint);
        }
        // Walk down from the top, skipping over used pages.
        let mut end = MMAP_TOP;
        loop {
            let start = end.checked_sub(len)?;
            if start < PAGE_SIZE {
                return None;
            }
            let page = self.pages.range(start..end).next_back().map(|(&v, _)| v);
            let resv = self
                .reservation_below(end)
                .filter(|&(_, e)| e > start)
                .map(|(s, _)| s);
            match (page, resv) {
                (None, None) => return Some(start),
                (p, r) => end = p.unwrap_or(0).max(r.unwrap_or(0)),
            }
        }
    }

    /// Copy `bytes` into user pages at `addr` (pages must exist).
    pub fn copy_in(&self, ram: &GuestRam, mut addr: u64, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let offset = addr % PAGE_SIZE;
            let n = bytes.len().min((PAGE_SIZE - offset) as usize);
            let frame = self
                .pages
                .get(&page_floor(addr))
                .and_then(|p| p.frame)
                .ok_or(Error::GuestMemory {
                    addr,
                    reason: "no user page there".into(),
                })?;
            ram.write(frame + offset, &bytes[..n])?;
            bytes = &bytes[n..];
            addr += n as u64;
        }
        Ok(())
    }

    /// Rights of the page holding `addr`, if mapped and accessible.
    pub fn flags_at(&self, addr: u64) -> Option<PageFlags> {
        self.pages
            .get(&page_floor(addr))
            .filter(|p| p.accessible)
            .map(|p| p.flags)
    }

    /// Set where the heap starts (the page after the program's end).
    pub fn set_brk_start(&mut self, addr: u64) {
        self.brk_start = page_ceil(addr);
        self.brk = self.brk_start;
    }

    /// brk(2): move the program break to `addr` if it can (growing maps
    /// zeroed read-write pages, shrinking unmaps); returns the break.
    pub fn brk(&mut self, ram: &GuestRam, addr: u64) -> u64 {
        if addr < self.brk_start || addr > MMAP_TOP {
            return self.brk;
        }
        let (old_end, new_end) = (page_ceil(self.brk), page_ceil(addr));
        if new_end > old_end {
            if self.overlaps(old_end, new_end)
                || self.map(ram, old_end, new_end, PageFlags::USER_RW).is_err()
            {
                let _ = self.unmap(ram, old_end, new_end);
                return self.brk;
            }
        } else if new_end < old_end && self.unmap(ram, new_end, old_end).is_err() {
            return self.brk;
        }
        self.brk = addr;
        self.brk
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::paging::{translate, Access};
    use microvm_abi::layout::MIN_MEMORY;

    fn space() -> (GuestRam, AddressSpace) {
        let ram = GuestRam::new(MIN_MEMORY).unwrap();
        (
            ram,
            AddressSpace::new(PageTables::new(), FrameAllocator::new(MIN_MEMORY)),
        )
    }

    #[test]
    fn map_protect_unmap() {
        let (ram, mut s) = space();
        let root = s.tables().root();
        s.map(&ram, 0x1000_0000, 0x1000_2000, PageFlags::USER_RW)
            .unwrap();
        assert!(translate(&ram, root, 0x1000_1fff, Access::UserWrite).is_some());
        let ro = PageFlags {
            write: false,
            exec: false,
            user: true,
        };
        s.protect(&ram, 0x1000_0000, 0x1000_1000, Some(ro)).unwrap();
        assert!(translate(&ram, root, 0x1000_0000, Access::UserWrite).is_none());
        assert!(translate(&ram, root, 0x1000_0000, Access::UserRead).is_some());
        s.protect(&ram, 0x1000_0000, 0x1000_1000, None).unwrap();
        assert!(translate(&ram, root, 0x1000_0000, Access::UserRead).is_none());
        assert_eq!(
            s.protect(&ram, 0x2000_0000, 0x2000_1000, None),
            Err(MapError::NotMapped)
        );
        let before = s.free_frames();
        s.unmap(&ram, 0x1000_0000, 0x1000_2000).unwrap();
        assert_eq!(s.free_frames(), before + 2);
        assert!(translate(&ram, root, 0x1000_1000, Access::UserRead).is_none());
    }

    #[test]
    fn reused_frames_are_zeroed() {
        let (ram, mut s) = space();
        s.map(&ram, 0x1000_0000, 0x1000_1000, PageFlags::USER_RW)
            .unwrap();
        s.copy_in(&ram, 0x1000_0000, b"secret").unwrap();
        s.unmap(&ram, 0x1000_0000, 0x1000_1000).unwrap();
        s.map(&ram, 0x2000_0000, 0x2000_1000, PageFlags::USER_RW)
            .unwrap();
        let phys = translate(&ram, s.tables().root(), 0x2000_0000, Access::UserRead).unwrap();
        assert_eq!(ram.read_obj::<u64>(phys).unwrap(), 0);
    }

    #[test]
    fn find_free_prefers_hint_then_top_down() {
        let (ram, mut s) = space();
        assert_eq!(s.find_free(0x1000_0000, 0x2000), Some(0x1000_0000));
        let a = s.find_free(0, 0x3000).unwrap();
        assert_eq!(a, MMAP_TOP - 0x3000);
        s.map(&ram, a, a + 0x3000, PageFlags::USER_RW).unwrap();
        assert_eq!(s.find_free(0, 0x1000), Some(a - 0x1000));
        assert_eq!(
            s.find_free(a, 0x1000),
            Some(a - 0x1000),
            "a used hint is skipped"
        );
    }

    #[test]
    fn reservations_are_ranges() {
        let (ram, mut s) = space();
        let big = 1 << 30;
        let a = s.find_free(0, big).unwrap();
        s.reserve(a, a + big);
        assert!(s.overlaps(a + 0x1000, a + 0x2000));
        assert_eq!(s.find_free(0, 0x1000), Some(a - 0x1000));
        let root = s.tables().root();
        // mprotect part of it: those pages get frames, the rest stays reserved.
        s.protect(&ram, a + 0x10000, a + 0x12000, Some(PageFlags::USER_RW))
            .unwrap();
        assert!(translate(&ram, root, a + 0x11000, Access::UserWrite).is_some());
        assert!(translate(&ram, root, a + 0x12000, Access::UserRead).is_none());
        assert!(s.overlaps(a, a + 0x1000) && s.overlaps(a + 0x20000, a + 0x21000));
        s.unmap(&ram, a, a + big).unwrap();
        assert!(!s.overlaps(a, a + big));
        assert_eq!(
            s.protect(&ram, a, a + 0x1000, None),
            Err(MapError::NotMapped)
        );
    }

    #[test]
    fn brk_grows_and_shrinks() {
        let (ram, mut s) = space();
        s.set_brk_start(0x60_0123);
        assert_eq!(s.brk(&ram, 0), 0x60_1000);
        assert_eq!(s.brk(&ram, 0x60_5000), 0x60_5000);
        assert!(translate(&ram, s.tables().root(), 0x60_4fff, Access::UserWrite).is_some());
        assert_eq!(s.brk(&ram, 0x60_2000), 0x60_2000);
        assert!(translate(&ram, s.tables().root(), 0x60_3000, Access::UserRead).is_none());
        assert_eq!(s.brk(&ram, 0x10), 0x60_2000, "below the start: unchanged");
    }
}
