//! The program's address space, kept as Linux keeps it: a set of mappings
//! (VMAs: start, end, rights), the frames behind the pages that have one,
//! and the guest page tables in step with both. The loader builds it; brk,
//! mmap, munmap and mprotect change it at run time.
//!
//! A guest sizes every range here, so every walk is bounded by what exists
//! rather than by the range: VMAs (at most [`MAX_MAP_COUNT`]), frames (at
//! most guest memory), or pages about to get a frame (checked against the
//! free frames before anything is walked). A `PROT_NONE` reservation of
//! 64 TiB is one VMA and costs nothing; making it accessible needs a frame
//! per page (pages are populated eagerly), so it fails at once with
//! ENOMEM when guest memory cannot hold it.

use crate::arch::paging::{PageFlags, PageTables};
use crate::error::{Error, Result};
use crate::memory::{FrameAllocator, GuestRam};
use microvm_abi::layout::{PAGE_SIZE, USER_STACK_SIZE, USER_STACK_TOP};
use std::collections::BTreeMap;

/// Highest address (exclusive) handed out by mmap without a hint: Linux's
/// mmap base without randomisation (TASK_SIZE less the stack gap, at least
/// 128 MiB), where `setarch -R` runs put the interpreter and libraries.
pub const MMAP_TOP: u64 = USER_STACK_TOP - (128 << 20);

const _: () = assert!(MMAP_TOP < USER_STACK_TOP - USER_STACK_SIZE - (64 << 20));

/// Lowest address a mapping may have: Linux's default `vm.mmap_min_addr`,
/// so that a null pointer (and small offsets from one) always faults.
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;

/// End (exclusive) of user space: Linux's `TASK_SIZE` on x86-64.
pub const USER_TOP: u64 = USER_STACK_TOP;

/// What a private file mapping's pages are read from (again, for
/// MADV_DONTNEED and a growing mremap).
pub trait FileSource: std::fmt::Debug + Send + Sync {
    /// Read into `buf` from file offset `offset`: the bytes read, fewer
    /// (or 0) at the end of the file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;

    /// False for a shared mapping of a file not open for writing, which
    /// mprotect can never make writable (Linux clears its VM_MAYWRITE).
    fn may_write(&self) -> bool {
        true
    }

    /// Which open file this is: two sources with the same identity read
    /// the same bytes.
    fn identity(&self) -> usize;
}

/// The file behind a range of private file-mapped pages.
#[derive(Debug, Clone)]
struct FileSpan {
    end: u64,
    source: std::sync::Arc<dyn FileSource>,
    /// The file offset of the span's first page.
    offset: u64,
    /// True while no page of it was ever writable: its pages still hold
    /// the file's bytes as they were read.
    clean: bool,
}

/// Bytes read from a file per read when pages are filled.
const FILL_CHUNK: usize = 64 << 10;

/// Most mappings a program may have: Linux's default `vm.max_map_count`.
pub const MAX_MAP_COUNT: usize = 65530;

/// Why a mapping change failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// Guest memory (frames or page tables) is used up.
    #[error("guest memory is used up")]
    NoMemory,
    /// A page in the range is not mapped (mprotect).
    #[error("a page in the range is not mapped")]
    NotMapped,
    /// The change would make more than [`MAX_MAP_COUNT`] mappings.
    #[error("more than {MAX_MAP_COUNT} mappings")]
    TooManyMappings,
    /// The range is not inside [`MMAP_MIN_ADDR`]..[`USER_TOP`].
    #[error("the range is outside user space")]
    OutOfRange,
    /// The range would cut `[vvar]` or `[vdso]` in two, which Linux
    /// forbids (its special mappings refuse to split: EINVAL).
    #[error("the range cuts the vDSO in two")]
    SplitsVdso,
}

impl MapError {
    /// The error for a program the loader could not map.
    pub fn program_error(self, path: &std::path::Path) -> Error {
        match self {
            MapError::NoMemory => Error::OutOfGuestMemory("the program"),
            e => Error::BadProgram {
                path: path.to_path_buf(),
                reason: format!("cannot map it: {e}"),
            },
        }
    }
}

/// Page-aligned down.
pub fn page_floor(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

/// Page-aligned up (saturating).
pub fn page_ceil(a: u64) -> u64 {
    a.saturating_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

/// Rights of a mapping: `None` is PROT_NONE (reserved, every access faults).
pub type Prot = Option<PageFlags>;

/// One mapping; its start is its key in [`AddressSpace::vmas`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Vma {
    end: u64,
    prot: Prot,
}

/// One piece of a range: `[start, end)` and the mapping there, if any.
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: u64,
    end: u64,
    vma: Option<Prot>,
}

/// The number of `granule`-aligned blocks `[start, end)` touches.
fn blocks(start: u64, end: u64, granule: u64) -> u64 {
    (end - 1) / granule - start / granule + 1
}

/// An upper bound on the page tables mapping `[start, end)` can add.
fn tables_bound(start: u64, end: u64) -> u64 {
    blocks(start, end, 1 << 21) + blocks(start, end, 1 << 30) + blocks(start, end, 1 << 39)
}

type MapResult<T = ()> = std::result::Result<T, MapError>;

/// The mapping of `vmas` holding `addr`: (start, mapping).
fn vma_at(vmas: &BTreeMap<u64, Vma>, addr: u64) -> Option<(u64, Vma)> {
    vmas.range(..=addr)
        .next_back()
        .filter(|(_, v)| v.end > addr)
        .map(|(&s, &v)| (s, v))
}

/// `[start, end)` cut into mapped pieces and holes, in order.
fn pieces(vmas: &BTreeMap<u64, Vma>, start: u64, end: u64) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut at = start;
    let first = vma_at(vmas, start).map_or(start, |(s, _)| s);
    for (&s, v) in vmas.range(first..end) {
        if s > at {
            out.push(Piece {
                start: at,
                end: s,
                vma: None,
            });
            at = s;
        }
        let e = v.end.min(end);
        if e > at {
            out.push(Piece {
                start: at,
                end: e,
                vma: Some(v.prot),
            });
            at = e;
        }
    }
    if at < end {
        out.push(Piece {
            start: at,
            end,
            vma: None,
        });
    }
    out
}

/// Split the mapping holding `at` (if any, and not at its start).
fn split(vmas: &mut BTreeMap<u64, Vma>, at: u64) {
    if let Some((s, v)) = vma_at(vmas, at).filter(|&(s, _)| s < at) {
        vmas.insert(s, Vma { end: at, ..v });
        vmas.insert(at, v);
    }
}

/// Merge neighbouring mappings with the same rights from the one before
/// `start` to the one starting at `end`.
fn merge(vmas: &mut BTreeMap<u64, Vma>, start: u64, end: u64) {
    let from = vmas.range(..start).next_back().map_or(start, |(&s, _)| s);
    let keys: Vec<u64> = vmas.range(from..=end).map(|(&s, _)| s).collect();
    let mut prev: Option<u64> = None;
    for s in keys {
        let cur = vmas[&s];
        if let Some(p) = prev {
            let pv = vmas[&p];
            if pv.end == s && pv.prot == cur.prot {
                vmas.remove(&s);
                vmas.insert(p, Vma { end: cur.end, ..pv });
                continue;
            }
        }
        prev = Some(s);
    }
}

/// Give each piece of `[start, end)` the mapping `f(what is there)`
/// (`None`: no mapping), then merge.
fn rewrite(
    vmas: &mut BTreeMap<u64, Vma>,
    start: u64,
    end: u64,
    f: &dyn Fn(Option<Prot>) -> Option<Prot>,
) {
    let parts = pieces(vmas, start, end);
    split(vmas, start);
    split(vmas, end);
    for p in parts {
        vmas.remove(&p.start);
        if let Some(prot) = f(p.vma) {
            vmas.insert(p.start, Vma { end: p.end, prot });
        }
    }
    merge(vmas, start, end);
}

/// Discard `frames` (see [`GuestRam::discard`]), one call per run of
/// physically contiguous frames rather than one per page (sorts them).
fn discard_runs(ram: &GuestRam, frames: &mut [u64]) {
    frames.sort_unstable();
    let mut i = 0;
    while i < frames.len() {
        let mut j = i + 1;
        while j < frames.len() && frames[j] == frames[j - 1] + PAGE_SIZE {
            j += 1;
        }
        ram.discard(frames[i], (j - i) as u64 * PAGE_SIZE);
        i = j;
    }
}

/// The user address space.
#[derive(Debug)]
pub struct AddressSpace {
    tables: PageTables,
    frames: FrameAllocator,
    /// Zeroed user frames, free.
    free: Vec<u64>,
    /// Tables unlinked since KVM's shadow tables were last dropped: they
    /// may be used again (as tables or frames) only after that (see
    /// [`GuestRam::flush_shadow`]).
    stale: Vec<u64>,
    /// The mappings: start -> (end, rights); disjoint, sorted, and adjacent
    /// ones with the same rights merged.
    vmas: BTreeMap<u64, Vma>,
    /// Page -> frame, for the pages that have one: every page of an
    /// accessible mapping, and pages of PROT_NONE mappings that had one.
    backing: BTreeMap<u64, u64>,
    /// Private file mappings: start -> the file behind `[start, end)`.
    files: BTreeMap<u64, FileSpan>,
    brk_start: u64,
    brk: u64,
    /// The vDSO and its data page, while no unmap has touched them.
    vdso: Option<crate::vdso::VdsoMapping>,
}

impl AddressSpace {
    /// An empty user space over `tables`, with frames from `frames`.
    pub fn new(tables: PageTables, frames: FrameAllocator) -> Self {
        AddressSpace {
            tables,
            frames,
            free: Vec::new(),
            stale: Vec::new(),
            vmas: BTreeMap::new(),
            backing: BTreeMap::new(),
            files: BTreeMap::new(),
            brk_start: 0,
            brk: 0,
            vdso: None,
        }
    }

    /// The page tables (CR3 is `tables().root()`).
    pub fn tables(&self) -> &PageTables {
        &self.tables
    }

    /// Frames still free (those held by unlinked page tables included:
    /// they come back when needed).
    pub fn free_frames(&self) -> u64 {
        self.frames.remaining()
            + self.free.len() as u64
            + self
                .stale
                .iter()
                .filter(|&&t| !PageTables::in_pool(t))
                .count() as u64
    }

    /// Pages that have a frame.
    pub fn frames_in_use(&self) -> usize {
        self.backing.len()
    }

    /// The number of mappings (what Linux counts against `vm.max_map_count`).
    pub fn map_count(&self) -> usize {
        self.vmas.len()
    }

    /// Every mapping as (start, end, rights), in address order.
    pub fn mappings(&self) -> impl Iterator<Item = (u64, u64, Prot)> + '_ {
        self.vmas.iter().map(|(&s, v)| (s, v.end, v.prot))
    }

    /// The frame behind the page at `virt`, if it has one.
    pub fn frame_of(&self, virt: u64) -> Option<u64> {
        self.backing.get(&page_floor(virt)).copied()
    }

    /// The mapping holding `addr`: (start, mapping).
    fn vma_at(&self, addr: u64) -> Option<(u64, Vma)> {
        vma_at(&self.vmas, addr)
    }

    /// True when some page of `[start, end)` is mapped.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        let start = page_floor(start);
        self.vmas
            .range(..end)
            .next_back()
            .is_some_and(|(_, v)| v.end > start)
    }

    /// Change the mappings of `[start, end)` to `f(old)` piece by piece,
    /// failing (changing nothing) if that would make too many.
    fn rewrite(
        &mut self,
        start: u64,
        end: u64,
        f: &dyn Fn(Option<Prot>) -> Option<Prot>,
    ) -> MapResult {
        // Try it on the mappings around the range first.
        let lo = self
            .vmas
            .range(..start)
            .next_back()
            .map_or(start, |(&s, _)| s);
        let hi = self.vmas.range(end..).next().map_or(end, |(&s, _)| s);
        let mut local: BTreeMap<u64, Vma> =
            self.vmas.range(lo..=hi).map(|(&s, &v)| (s, v)).collect();
        let before = local.len();
        rewrite(&mut local, start, end, f);
        if (self.vmas.len() + local.len()).saturating_sub(before) > MAX_MAP_COUNT {
            return Err(MapError::TooManyMappings);
        }
        rewrite(&mut self.vmas, start, end, f);
        Ok(())
    }

    /// Make sure `frames` frames and up to `tables` page tables can be
    /// had, dropping KVM's shadow tables to reuse unlinked tables if that
    /// is what it takes: when the table pool would not do and unlinked
    /// pool tables wait (rather than taking user frames for tables), or
    /// when frames would not do.
    fn ensure(&mut self, ram: &GuestRam, frames: u64, tables: u64) -> MapResult {
        let need = |s: &Self| frames + tables.saturating_sub(s.tables.pool_available());
        let have = |s: &Self| s.frames.remaining() + s.free.len() as u64;
        let pool_short = tables > self.tables.pool_available()
            && self.stale.iter().any(|&t| PageTables::in_pool(t));
        if (pool_short || need(self) > have(self)) && !self.stale.is_empty() {
            self.reclaim(ram)?;
        }
        if need(self) > have(self) {
            return Err(MapError::NoMemory);
        }
        Ok(())
    }

    /// Take back every unlinked table, once KVM has dropped what it built
    /// from them.
    fn reclaim(&mut self, ram: &GuestRam) -> MapResult {
        ram.flush_shadow().map_err(|_| MapError::NoMemory)?;
        for t in std::mem::take(&mut self.stale) {
            if PageTables::in_pool(t) {
                self.tables.give_back(t);
            } else {
                self.free.push(t);
            }
        }
        Ok(())
    }

    fn alloc_frame(&mut self) -> MapResult<u64> {
        // Freed frames were discarded (zeroed) when they were unmapped.
        self.free
            .pop()
            .or_else(|| self.frames.alloc())
            .ok_or(MapError::NoMemory)
    }

    /// Point the page at `virt` to `frame` with `flags`.
    fn set_leaf(&mut self, ram: &GuestRam, virt: u64, frame: u64, flags: PageFlags) -> MapResult {
        let (free, frames) = (&mut self.free, &mut self.frames);
        self.tables
            .map_with(ram, virt, frame, flags, &mut || {
                free.pop().or_else(|| frames.alloc())
            })
            .map_err(|_| MapError::NoMemory)
    }

    /// Remove the page at `virt` from the page tables.
    fn clear_leaf(&mut self, ram: &GuestRam, virt: u64) -> MapResult {
        let stale = &mut self.stale;
        self.tables
            .unmap(ram, virt, &mut |t| stale.push(t))
            .map(|_| ())
            .map_err(|_| MapError::NoMemory)
    }

    /// Give the page at `virt` a frame (if it has none) and `flags`.
    fn populate(&mut self, ram: &GuestRam, virt: u64, flags: PageFlags) -> MapResult {
        let frame = match self.backing.get(&virt) {
            Some(&f) => f,
            None => {
                let f = self.alloc_frame()?;
                self.backing.insert(virt, f);
                f
            }
        };
        self.set_leaf(ram, virt, frame, flags)
    }

    /// Pages of `[start, end)` without a frame.
    fn missing_frames(&self, start: u64, end: u64) -> u64 {
        (end - start) / PAGE_SIZE - self.backing.range(start..end).count() as u64
    }

    /// `[start, end)` page-aligned, checked to lie in user space.
    fn user_range(start: u64, end: u64) -> MapResult<(u64, u64)> {
        let (start, end) = (page_floor(start), page_ceil(end));
        if start < MMAP_MIN_ADDR || end > USER_TOP || start >= end {
            return Err(MapError::OutOfRange);
        }
        Ok((start, end))
    }

    /// Make every page of `[start, end)` mapped with at least `flags` (the
    /// union with what a mapped page already has); new pages are zeroed.
    /// Nothing changes if memory or the map count would not do.
    pub fn map(&mut self, ram: &GuestRam, start: u64, end: u64, flags: PageFlags) -> MapResult {
        let (start, end) = Self::user_range(start, end)?;
        let parts = pieces(&self.vmas, start, end);
        self.ensure(
            ram,
            self.missing_frames(start, end),
            tables_bound(start, end),
        )?;
        let union = |old: Option<Prot>| Some(Some(old.flatten().map_or(flags, |o| o.union(flags))));
        self.rewrite(start, end, &union)?;
        for p in parts {
            let Some(Some(prot)) = union(p.vma) else {
                continue;
            };
            let mut virt = p.start;
            while virt < p.end {
                self.populate(ram, virt, prot)?;
                virt += PAGE_SIZE;
            }
        }
        Ok(())
    }

    /// Reserve `[start, end)` with no access and no frames (PROT_NONE).
    /// The range must be free (see [`AddressSpace::overlaps`]).
    pub fn reserve(&mut self, start: u64, end: u64) -> MapResult {
        let (start, end) = Self::user_range(start, end)?;
        if self.overlaps(start, end) {
            return Err(MapError::OutOfRange);
        }
        self.rewrite(start, end, &|_| Some(None))
    }

    /// Remove every mapping of `[start, end)` (which need not be mapped,
    /// nor lie above [`MMAP_MIN_ADDR`]); their frames become free.
    pub fn unmap(&mut self, ram: &GuestRam, start: u64, end: u64) -> MapResult {
        let (start, end) = (page_floor(start), page_ceil(end));
        if end > USER_TOP || start >= end {
            return Err(MapError::OutOfRange);
        }
        if self.splits_vdso(start, end) {
            return Err(MapError::SplitsVdso);
        }
        self.rewrite(start, end, &|_| None)?;
        self.forget_files(start, end);
        self.forget_vdso(start, end);
        let pages: Vec<(u64, u64)> = self
            .backing
            .range(start..end)
            .map(|(&v, &f)| (v, f))
            .collect();
        let mut freed = Vec::with_capacity(pages.len());
        for (virt, frame) in pages {
            self.backing.remove(&virt);
            self.clear_leaf(ram, virt)?;
            freed.push(frame);
        }
        discard_runs(ram, &mut freed);
        self.free.extend(freed);
        Ok(())
    }

    /// Set the rights of every page of `[start, end)`; `None` = PROT_NONE.
    /// Fails without changing anything if a page is not mapped, if guest
    /// memory cannot give every page a frame, or past the map count.
    pub fn protect(&mut self, ram: &GuestRam, start: u64, end: u64, prot: Prot) -> MapResult {
        let (start, end) = Self::user_range(start, end).map_err(|_| MapError::NotMapped)?;
        let parts = pieces(&self.vmas, start, end);
        if parts.iter().any(|p| p.vma.is_none()) {
            return Err(MapError::NotMapped);
        }
        if self.splits_vdso(start, end) {
            return Err(MapError::SplitsVdso);
        }
        if prot.is_some() {
            self.ensure(
                ram,
                self.missing_frames(start, end),
                tables_bound(start, end),
            )?;
        }
        self.rewrite(start, end, &|_| Some(prot))?;
        match prot {
            Some(flags) => {
                for p in parts {
                    let old = p.vma.flatten();
                    let reduced =
                        old.is_some_and(|o| (o.write && !flags.write) || (o.exec && !flags.exec));
                    let mut virt = p.start;
                    while virt < p.end {
                        self.populate(ram, virt, flags)?;
                        if reduced {
                            if let Some(&f) = self.backing.get(&virt) {
                                ram.revoke(f, PAGE_SIZE);
                            }
                        }
                        virt += PAGE_SIZE;
                    }
                }
            }
            None => {
                // Pages keep their frames (and contents), inaccessible.
                let pages: Vec<(u64, u64)> = self
                    .backing
                    .range(start..end)
                    .map(|(&v, &f)| (v, f))
                    .collect();
                for (virt, frame) in pages {
                    self.clear_leaf(ram, virt)?;
                    ram.revoke(frame, PAGE_SIZE);
                }
            }
        }
        Ok(())
    }

    /// The mapping holding `addr`, as (start, end, rights).
    pub fn mapping_at(&self, addr: u64) -> Option<(u64, u64, Prot)> {
        self.vma_at(addr).map(|(s, v)| (s, v.end, v.prot))
    }

    /// A free range of `len` bytes: at `hint` if it is free (a hint below
    /// [`MMAP_MIN_ADDR`] is moved up to it, as Linux does), else the
    /// highest free range below [`MMAP_TOP`].
    pub fn find_free(&self, hint: u64, len: u64) -> Option<u64> {
        let len = page_ceil(len);
        if len == 0 {
            return None;
        }
        let hint = match page_floor(hint) {
            0 => 0,
            h => h.max(MMAP_MIN_ADDR),
        };
        if hint != 0
            && hint.checked_add(len).is_some_and(|e| e <= MMAP_TOP)
            && !self.overlaps(hint, hint + len)
        {
            return Some(hint);
        }
        // Walk down the mappings from the top, looking at each gap.
        let mut top = MMAP_TOP;
        for (&s, v) in self.vmas.range(..MMAP_TOP).rev() {
            if v.end < top && top - v.end >= len {
                return Some(top - len);
            }
            top = top.min(s);
        }
        (top >= MMAP_MIN_ADDR && top - MMAP_MIN_ADDR >= len).then(|| top - len)
    }

    /// Copy `bytes` into user pages at `addr` (pages must have frames).
    pub fn copy_in(&self, ram: &GuestRam, mut addr: u64, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let offset = addr % PAGE_SIZE;
            let n = bytes.len().min((PAGE_SIZE - offset) as usize);
            let frame = self.frame_of(addr).ok_or(Error::GuestMemory {
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
        self.vma_at(addr).and_then(|(_, v)| v.prot)
    }

    /// Forget which file backs the pages of `[start, end)`.
    fn forget_files(&mut self, start: u64, end: u64) {
        let first = self
            .files
            .range(..start)
            .next_back()
            .filter(|(_, f)| f.end > start)
            .map_or(start, |(&s, _)| s);
        let hit: Vec<u64> = self.files.range(first..end).map(|(&s, _)| s).collect();
        for s in hit {
            let Some(span) = self.files.remove(&s) else {
                continue;
            };
            if s < start {
                self.files.insert(
                    s,
                    FileSpan {
                        end: start,
                        ..span.clone()
                    },
                );
            }
            if span.end > end {
                let offset = span.offset.saturating_add(end - s);
                self.files.insert(end, FileSpan { offset, ..span });
            }
        }
    }

    /// Record that `[start, end)` is a private mapping of `source` from
    /// file offset `offset` (after mapping it).
    pub fn set_file(
        &mut self,
        start: u64,
        end: u64,
        source: std::sync::Arc<dyn FileSource>,
        offset: u64,
    ) {
        let (start, end) = (page_floor(start), page_ceil(end));
        self.forget_files(start, end);
        self.files.insert(
            start,
            FileSpan {
                end,
                source,
                offset,
                clean: true,
            },
        );
    }

    /// Grow the file span that ends at `from` to end at `to` (`[from, to)`
    /// newly mapped after it), as Linux extends the VMA of a mapping grown
    /// in place: one record however often it grows. Its pages are as
    /// clean as the span's. False (nothing done) when no span ends there.
    pub fn grow_file(&mut self, from: u64, to: u64) -> bool {
        let (from, to) = (page_floor(from), page_ceil(to));
        if to <= from || self.files.contains_key(&from) {
            return false;
        }
        match self.files.range_mut(..from).next_back() {
            Some((_, f)) if f.end == from => {
                f.end = to;
                true
            }
            _ => false,
        }
    }

    /// Note that the pages of `[start, end)` may have been written (they
    /// are, or are being made, writable): their file spans are no longer
    /// clean.
    pub fn mark_dirty(&mut self, start: u64, end: u64) {
        let first = self
            .files
            .range(..start)
            .next_back()
            .filter(|(_, f)| f.end > start)
            .map_or(start, |(&s, _)| s);
        for (_, f) in self.files.range_mut(first..end) {
            f.clean = false;
        }
    }

    /// True when all of `[start, end)` is one clean span of the file
    /// `identity` from file offset `offset` (whose `may_write` is
    /// `may_write`): its pages already hold what mapping that file there
    /// again would read.
    pub fn holds_clean_file(
        &self,
        start: u64,
        end: u64,
        identity: usize,
        offset: u64,
        may_write: bool,
    ) -> bool {
        self.files
            .range(..=start)
            .next_back()
            .is_some_and(|(&s, f)| {
                f.clean
                    && f.end >= end
                    && f.source.identity() == identity
                    && f.source.may_write() == may_write
                    && f.offset.checked_add(start - s) == Some(offset)
            })
    }

    /// The start of the first mapping at or after `addr`.
    pub fn next_mapping(&self, addr: u64) -> Option<u64> {
        self.vmas.range(addr..).next().map(|(&s, _)| s)
    }

    /// How many private file mappings are recorded (capped by the caller
    /// at [`MAX_MAP_COUNT`], as Linux caps its mappings).
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// True when a page of `[start, end)` is a mapping that may never be
    /// made writable (see [`FileSource::may_write`]).
    pub fn write_forbidden(&self, start: u64, end: u64) -> bool {
        let first = self
            .files
            .range(..start)
            .next_back()
            .filter(|(_, f)| f.end > start)
            .map_or(start, |(&s, _)| s);
        self.files
            .range(first..end)
            .any(|(_, f)| !f.source.may_write())
    }

    /// The file behind the page at `addr` and that page's file offset.
    pub fn file_at(&self, addr: u64) -> Option<(std::sync::Arc<dyn FileSource>, u64)> {
        let addr = page_floor(addr);
        self.files
            .range(..=addr)
            .next_back()
            .filter(|(_, f)| f.end > addr)
            .map(|(&s, f)| (f.source.clone(), f.offset.saturating_add(addr - s)))
    }

    /// Fill the pages of `[start, end)` (each must have a frame) with the
    /// bytes of `source` from `offset`, a bounded chunk at a time; what
    /// lies past the end of the file is left as it is (zero in a new
    /// page). Stops at the end of the file.
    pub fn fill_from(
        &self,
        ram: &GuestRam,
        start: u64,
        end: u64,
        source: &dyn FileSource,
        offset: u64,
    ) -> std::io::Result<()> {
        let mut buf = vec![0u8; FILL_CHUNK.min((end - start) as usize)];
        let mut at = start;
        while at < end {
            let want = ((end - at) as usize).min(buf.len());
            let Some(off) = offset.checked_add(at - start) else {
                break;
            };
            let n = source.read_at(&mut buf[..want], off)?;
            if n == 0 {
                break;
            }
            self.copy_in(ram, at, &buf[..n])
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            at += n as u64;
        }
        Ok(())
    }

    /// MADV_DONTNEED on `[start, end)`: private anonymous pages become
    /// zero, private file pages are read from their file again (as
    /// Linux's next fault would read them), the vDSO's image is put back. PROT_NONE pages are dropped
    /// the same way.
    pub fn dont_need(&mut self, ram: &GuestRam, start: u64, end: u64) -> std::io::Result<()> {
        let pages: Vec<(u64, u64)> = self
            .backing
            .range(start..end)
            .map(|(&v, &f)| (v, f))
            .collect();
        let mut frames: Vec<u64> = pages.iter().map(|&(_, f)| f).collect();
        discard_runs(ram, &mut frames);
        let image = self.vdso.map(|v| (v.base, v.end));
        for (virt, _) in pages {
            if let Some((source, offset)) = self.file_at(virt) {
                self.fill_from(ram, virt, virt + PAGE_SIZE, source.as_ref(), offset)?;
            } else if let Some((base, _)) = image.filter(|&(b, e)| (b..e).contains(&virt)) {
                // The vDSO's pages come back as the kernel's image.
                let bytes = crate::vdso::IMAGE
                    .get((virt - base) as usize..)
                    .unwrap_or_default();
                let bytes = &bytes[..bytes.len().min(PAGE_SIZE as usize)];
                self.copy_in(ram, virt, bytes)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Move the mapping `[old, old + len)` (all of it in one mapping) to
    /// the free range at `new`, frames and all, as mremap moves it: the
    /// pages keep their contents and rights, and their file.
    pub fn move_range(&mut self, ram: &GuestRam, old: u64, len: u64, new: u64) -> MapResult {
        let (_, end, prot) = self.mapping_at(old).ok_or(MapError::NotMapped)?;
        if old + len > end || self.overlaps(new, new + len) {
            return Err(MapError::OutOfRange);
        }
        let (new, new_end) = Self::user_range(new, new + len)?;
        self.ensure(ram, 0, tables_bound(new, new_end))?;
        self.rewrite(new, new_end, &|_| Some(prot))?;
        self.forget_vdso(old, old + len);
        let files: Vec<(u64, FileSpan)> = self
            .files
            .range(..old + len)
            .filter(|(_, f)| f.end > old)
            .map(|(&s, f)| (s, f.clone()))
            .collect();
        let pages: Vec<(u64, u64)> = self
            .backing
            .range(old..old + len)
            .map(|(&v, &f)| (v, f))
            .collect();
        for &(virt, frame) in &pages {
            self.backing.remove(&virt);
            if prot.is_some() {
                self.clear_leaf(ram, virt)?;
            }
            // The frame keeps its bytes; KVM forgets where it was mapped.
            ram.revoke(frame, PAGE_SIZE);
            let to = new + (virt - old);
            self.backing.insert(to, frame);
            if let Some(flags) = prot {
                self.set_leaf(ram, to, frame, flags)?;
            }
        }
        self.rewrite(old, old + len, &|_| None)?;
        self.forget_files(old, old + len);
        for (s, f) in files {
            let from = s.max(old);
            let to = f.end.min(old + len);
            let offset = f.offset.saturating_add(from - s);
            let (at, clean) = (new + (from - old), f.clean);
            self.set_file(at, new + (to - old), f.source, offset);
            if !clean {
                self.mark_dirty(at, at + PAGE_SIZE);
            }
        }
        Ok(())
    }

    /// Say where the vDSO and its data page are.
    pub fn set_vdso(&mut self, vdso: crate::vdso::VdsoMapping) {
        self.vdso = Some(vdso);
    }

    /// Forget the vDSO if `[start, end)` touches it (unmapped or moved:
    /// what is there later is not its).
    fn forget_vdso(&mut self, start: u64, end: u64) {
        if self.vdso.is_some_and(|v| start < v.end && v.vvar < end) {
            self.vdso = None;
        }
    }

    /// Where the vDSO and its data page are, until an unmap or a move
    /// touches them.
    pub fn vdso(&self) -> Option<crate::vdso::VdsoMapping> {
        self.vdso
    }

    /// True when `[start, end)` begins or ends strictly inside `[vvar]` or
    /// `[vdso]`: Linux refuses to split either (`special_mapping_split`),
    /// so munmap, mprotect, mremap and MAP_FIXED of such a range fail with
    /// EINVAL and change nothing.
    pub fn splits_vdso(&self, start: u64, end: u64) -> bool {
        let Some(v) = self.vdso else { return false };
        let inside = |a: u64| {
            [(v.vvar, v.base), (v.base, v.end)]
                .iter()
                .any(|&(s, e)| s < a && a < e)
        };
        inside(start) || inside(end)
    }

    /// True when some page of `[start, end)` is the vDSO's data page,
    /// which Linux never lets a program make writable (mprotect: EACCES).
    pub fn is_vvar(&self, start: u64, end: u64) -> bool {
        self.vdso.is_some_and(|v| start < v.base && v.vvar < end)
    }

    /// Set where the heap starts (the page after the program's end).
    pub fn set_brk_start(&mut self, addr: u64) {
        self.brk_start = page_ceil(addr);
        self.brk = self.brk_start;
    }

    /// The program break.
    pub fn current_brk(&self) -> u64 {
        self.brk
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
                return self.brk;
            }
        } else if new_end < old_end && self.unmap(ram, new_end, old_end).is_err() {
            return self.brk;
        }
        self.brk = addr;
        self.brk
    }

    /// Check that the page tables say exactly what the mappings say: every
    /// page of an accessible mapping has its frame mapped user-accessible
    /// with the mapping's rights, nothing else in the lower half is mapped,
    /// no user frame lies below the user frame area, and no frame is both
    /// user-writable and kernel-executable. Reads every table: for tests.
    pub fn check(&self, ram: &GuestRam) -> std::result::Result<(), String> {
        use crate::arch::paging::{leaf_entry, walk, PTE_ADDR_MASK, PTE_NX, PTE_RW, PTE_US};
        use microvm_abi::layout::{KERNEL_BASE, USER_FRAMES_START};
        let (all, linked) = walk(ram, self.tables.root()).map_err(|e| e.to_string())?;
        let linked: std::collections::HashSet<u64> = linked.into_iter().collect();
        let free: std::collections::HashSet<u64> = self.free.iter().copied().collect();
        if let Some(t) = self
            .stale
            .iter()
            .chain(&self.free)
            .find(|t| linked.contains(t))
        {
            return Err(format!("{t:#x} is free or unlinked, yet linked as a table"));
        }
        if linked.len() != self.tables.tables_in_use() {
            return Err(format!(
                "{} tables linked, {} counted",
                linked.len(),
                self.tables.tables_in_use()
            ));
        }
        let mut user_writable = std::collections::HashSet::new();
        let mut kernel_exec = std::collections::HashSet::new();
        let mut user_leaves = 0u64;
        for &(virt, e) in &all {
            let frame = e & PTE_ADDR_MASK;
            if e & PTE_US != 0 && e & PTE_RW != 0 {
                user_writable.insert(frame);
            }
            if e & PTE_US == 0 && e & PTE_NX == 0 {
                kernel_exec.insert(frame);
            }
            if virt >= KERNEL_BASE {
                if e & PTE_US != 0 {
                    return Err(format!("kernel page {virt:#x} is user-accessible"));
                }
                continue;
            }
            if !(MMAP_MIN_ADDR..USER_TOP).contains(&virt) {
                return Err(format!("user page {virt:#x} lies outside user space"));
            }
            user_leaves += 1;
            if free.contains(&frame) || linked.contains(&frame) {
                return Err(format!(
                    "{virt:#x} maps {frame:#x}, a free frame or a table"
                ));
            }
            let flags = self
                .flags_at(virt)
                .ok_or_else(|| format!("{virt:#x} is mapped but no accessible mapping holds it"))?;
            let want = self
                .frame_of(virt)
                .ok_or_else(|| format!("{virt:#x} is mapped but has no frame"))?;
            if want < USER_FRAMES_START {
                return Err(format!("{virt:#x} has frame {want:#x}, below user frames"));
            }
            if e != leaf_entry(want, flags) {
                return Err(format!(
                    "{virt:#x}: entry {e:#x}, the mapping says {:#x}",
                    leaf_entry(want, flags)
                ));
            }
        }
        if let Some(f) = user_writable.intersection(&kernel_exec).next() {
            return Err(format!(
                "frame {f:#x} is user-writable and kernel-executable"
            ));
        }
        let accessible: u64 = self
            .vmas
            .iter()
            .filter(|(_, v)| v.prot.is_some())
            .map(|(&s, v)| (v.end - s) / PAGE_SIZE)
            .sum();
        if accessible != user_leaves {
            return Err(format!(
                "{accessible} accessible pages in the mappings, {user_leaves} in the page tables"
            ));
        }
        let mut prev: Option<(u64, Vma)> = None;
        for (&s, &v) in &self.vmas {
            if s >= v.end || s < MMAP_MIN_ADDR || v.end > USER_TOP {
                return Err(format!("bad mapping {s:#x}..{:#x}", v.end));
            }
            if let Some((_, p)) = prev {
                if p.end > s || (p.end == s && p.prot == v.prot) {
                    return Err(format!("mapping at {s:#x} overlaps or is unmerged"));
                }
            }
            prev = Some((s, v));
        }
        if self.vmas.len() > MAX_MAP_COUNT {
            return Err(format!("{} mappings", self.vmas.len()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
