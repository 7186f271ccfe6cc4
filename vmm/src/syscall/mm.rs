//! Memory syscalls: brk, mmap (anonymous, and private or read-only shared
//! mappings of files), munmap, mprotect, mremap, madvise — backed by guest
//! RAM with the right page permissions — and arch_prctl for the FS/GS
//! bases. Running out of guest RAM is ENOMEM in the guest.
//!
//! A file mapping is a copy: its pages are read from the file when it is
//! mapped (eagerly, a bounded chunk at a time, straight into the guest's
//! frames), which is what a private mapping shows until it is written and
//! what a shared one shows of a file nobody writes (files of the view are
//! read-only). Pages of the mapping past the end of the file read as zero
//! where Linux raises SIGBUS on access; the tail of the file's last page is
//! zero, as on Linux. MADV_DONTNEED and a growing mremap read the file
//! again.

use super::fs::{Files, MapFile};
use super::{nr, Context, SysResult};
use crate::arch::paging::PageFlags;
use crate::space::{
    page_ceil, AddressSpace, FileSource, MapError, MAX_MAP_COUNT, MMAP_MIN_ADDR, USER_TOP,
};
use microvm_abi::layout::PAGE_SIZE;
use microvm_abi::request;
use nix::errno::Errno;
use std::sync::Arc;

pub use microvm_abi::linux::consts::{
    ARCH_GET_FS, ARCH_GET_GS, ARCH_SET_FS, ARCH_SET_GS, MADVISE_CMDS, MADV_DONTNEED,
    MADV_DONTNEED_LOCKED, MADV_FREE, MADV_HWPOISON, MADV_REMOVE, MADV_SOFT_OFFLINE, MAP_ANONYMOUS,
    MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED,
    MAP_SHARED_VALIDATE, MAP_TYPE, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_EXEC,
    PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_SEM, PROT_WRITE,
};

/// The memory state the service keeps.
#[derive(Debug, Default)]
pub struct Memory {
    fs_base: u64,
    gs_base: u64,
}

/// Page rights for PROT bits; `None` for PROT_NONE.
pub fn prot_flags(prot: u64) -> Option<PageFlags> {
    if prot & (PROT_READ | PROT_WRITE | PROT_EXEC) == 0 {
        return None;
    }
    Some(PageFlags {
        write: prot & PROT_WRITE != 0,
        exec: prot & PROT_EXEC != 0,
        user: true,
    })
}

fn map_error(e: MapError) -> Errno {
    match e {
        MapError::NoMemory | MapError::NotMapped | MapError::TooManyMappings => Errno::ENOMEM,
        MapError::OutOfRange | MapError::SplitsVdso => Errno::EINVAL,
    }
}

/// The pages of munmap's `[addr, addr + len)`, as Linux checks them:
/// EINVAL for an unaligned start, a zero length or a range past user space.
fn munmap_range(addr: u64, len: u64) -> Result<(u64, u64), Errno> {
    if !addr.is_multiple_of(PAGE_SIZE) || len == 0 || addr > USER_TOP || len > USER_TOP - addr {
        return Err(Errno::EINVAL);
    }
    Ok((addr, addr + page_ceil(len)))
}

/// The pages of mprotect's `[addr, addr + len)`, as Linux checks them, or
/// `None` when there is nothing to change (a zero length): EINVAL for an
/// unaligned start or unknown bits, ENOMEM for a range that wraps or
/// leaves user space (one not all mapped is ENOMEM later), EACCES for
/// write access to the vDSO's data page. PROT_GROWSDOWN starts the range
/// at the start of the mapping.
fn mprotect_range(
    space: &AddressSpace,
    addr: u64,
    len: u64,
    prot: u64,
) -> Result<Option<(u64, u64)>, Errno> {
    let known = PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP;
    if !addr.is_multiple_of(PAGE_SIZE)
        || prot & !known != 0
        || prot & (PROT_GROWSDOWN | PROT_GROWSUP) == PROT_GROWSDOWN | PROT_GROWSUP
    {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(None);
    }
    let len = page_ceil(len);
    let end = addr.checked_add(len).filter(|&e| len != 0 && e <= USER_TOP);
    let end = end.ok_or(Errno::ENOMEM)?;
    if prot & PROT_GROWSUP != 0 {
        // No mapping grows up on x86-64.
        return Err(Errno::EINVAL);
    }
    if prot & PROT_GROWSDOWN != 0 {
        // From the start of the mapping holding `addr`.
        let (start, _, _) = space.mapping_at(addr).ok_or(Errno::ENOMEM)?;
        return Ok(Some((start, end)));
    }
    if prot & PROT_WRITE != 0 && space.is_vvar(addr, end) {
        // Linux's [vvar] may never be made writable.
        return Err(Errno::EACCES);
    }
    Ok(Some((addr, end)))
}

/// brk(2): the new break, or the old one if it cannot move there.
fn brk(ctx: &mut Context<'_, '_>, addr: u64) -> SysResult {
    let before = ctx.space.current_brk();
    let after = ctx.space.brk(ctx.ram, addr);
    if after < before {
        ctx.requests.bits |= request::FLUSH_TLB;
    }
    Ok(after)
}

fn munmap(ctx: &mut Context<'_, '_>, addr: u64, len: u64) -> SysResult {
    let (start, end) = munmap_range(addr, len)?;
    ctx.requests.bits |= request::FLUSH_TLB;
    ctx.space.unmap(ctx.ram, start, end).map_err(map_error)?;
    Ok(0)
}

fn mprotect(ctx: &mut Context<'_, '_>, addr: u64, len: u64, prot: u64) -> SysResult {
    let Some((start, end)) = mprotect_range(ctx.space, addr, len, prot)? else {
        return Ok(0);
    };
    if prot & PROT_WRITE != 0 {
        if ctx.space.write_forbidden(start, end) {
            return Err(Errno::EACCES);
        }
        ctx.space.mark_dirty(start, end);
    }
    ctx.requests.bits |= request::FLUSH_TLB;
    ctx.space
        .protect(ctx.ram, start, end, prot_flags(prot))
        .map_err(map_error)?;
    Ok(0)
}

impl Memory {
    /// Serve `nr`; `None` if it is not a memory syscall.
    pub fn handle(
        &mut self,
        nr: u64,
        a: &[u64; 6],
        ctx: &mut Context<'_, '_>,
        files: &Files,
    ) -> Option<SysResult> {
        Some(match nr {
            nr::BRK => brk(ctx, a[0]),
            nr::MMAP => mmap(ctx, a, files),
            nr::MREMAP => mremap(ctx, a),
            nr::MADVISE => madvise(ctx, a[0], a[1], a[2]),
            nr::MUNMAP => munmap(ctx, a[0], a[1]),
            nr::MPROTECT => mprotect(ctx, a[0], a[1], a[2]),
            nr::ARCH_PRCTL => self.arch_prctl(ctx, a[0], a[1]),
            _ => return None,
        })
    }

    fn arch_prctl(&mut self, ctx: &mut Context<'_, '_>, code: u64, addr: u64) -> SysResult {
        match code {
            // As Linux: a base at or above TASK_SIZE_MAX (a kernel or
            // non-canonical address) is refused.
            ARCH_SET_FS | ARCH_SET_GS if addr >= USER_TOP => Err(Errno::EPERM),
            ARCH_SET_FS => {
                self.fs_base = addr;
                ctx.requests.fs_base = addr;
                ctx.requests.bits |= request::SET_FS_BASE;
                Ok(0)
            }
            ARCH_SET_GS => {
                self.gs_base = addr;
                ctx.requests.gs_base = addr;
                ctx.requests.bits |= request::SET_GS_BASE;
                Ok(0)
            }
            ARCH_GET_FS | ARCH_GET_GS => {
                let v = if code == ARCH_GET_FS {
                    self.fs_base
                } else {
                    self.gs_base
                };
                ctx.mem
                    .write(addr, &v.to_le_bytes())
                    .map_err(|_| Errno::EFAULT)?;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }
}

/// What mmap maps: anonymous memory, or a file from an offset.
struct Source {
    file: MapFile,
    offset: u64,
}

/// Linux's checks of a file mapping (do_mmap): EOVERFLOW past the largest
/// file offset, EINVAL for no mapping type, EACCES for a shared writable
/// mapping of a file not open for writing or any mapping of one not open
/// for reading, ENODEV for what cannot be mapped (not a regular file),
/// EINVAL for MAP_GROWSDOWN.
fn check_file(src: &Source, len: u64, prot: u64, flags: u64) -> Result<(), Errno> {
    if src
        .offset
        .checked_add(len)
        .is_none_or(|e| e > i64::MAX as u64)
    {
        return Err(Errno::EOVERFLOW);
    }
    let kind = flags & MAP_TYPE;
    if kind != MAP_SHARED && kind != MAP_SHARED_VALIDATE && kind != MAP_PRIVATE {
        return Err(Errno::EINVAL);
    }
    if kind != MAP_PRIVATE && prot & PROT_WRITE != 0 {
        if !src.file.writable() {
            return Err(Errno::EACCES);
        }
        // A shared writable mapping would have to write the file back.
        return Err(Errno::ENODEV);
    }
    if !src.file.readable() {
        return Err(Errno::EACCES);
    }
    if src.file.regular().is_none() {
        return Err(Errno::ENODEV);
    }
    if flags & MAP_GROWSDOWN != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// mmap(2), in Linux's order of checks (the x86 entry's offset check, the
/// fd, then do_mmap's).
fn mmap(ctx: &mut Context<'_, '_>, a: &[u64; 6], files: &Files) -> SysResult {
    let [addr, len, prot, flags, fd, offset] = *a;
    if !offset.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let source = if flags & MAP_ANONYMOUS == 0 {
        let file = files.map_file(fd)?;
        if flags & MAP_HUGETLB != 0 {
            return Err(Errno::EINVAL);
        }
        Some(Source { file, offset })
    } else {
        None
    };
    if len == 0 || (source.is_none() && flags & (MAP_SHARED | MAP_PRIVATE) == 0) {
        return Err(Errno::EINVAL);
    }
    let len = page_ceil(len);
    if len == 0 || len > USER_TOP - MMAP_MIN_ADDR {
        return Err(Errno::ENOMEM);
    }
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let start = if fixed {
        // As Linux's get_unmapped_area, then security_mmap_addr.
        if addr > USER_TOP - len {
            return Err(Errno::ENOMEM);
        }
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if addr < MMAP_MIN_ADDR {
            return Err(Errno::EPERM);
        }
        if flags & MAP_FIXED_NOREPLACE != 0 && ctx.space.overlaps(addr, addr + len) {
            return Err(Errno::EEXIST);
        }
        addr
    } else {
        ctx.space.find_free(addr, len).ok_or(Errno::ENOMEM)?
    };
    if let Some(src) = &source {
        check_file(src, len, prot, flags)?;
        if ctx.space.file_count() >= MAX_MAP_COUNT {
            return Err(Errno::ENOMEM);
        }
    }
    let shared = flags & MAP_TYPE != MAP_PRIVATE;
    if let Some(src) = source.as_ref().filter(|_| flags & MAP_FIXED != 0) {
        let again = file_source(src, shared);
        if remap_in_place(ctx, start, len, prot, &again, src.offset)? {
            return Ok(start);
        }
    }
    if fixed && ctx.space.overlaps(start, start + len) {
        ctx.requests.bits |= request::FLUSH_TLB;
        ctx.space
            .unmap(ctx.ram, start, start + len)
            .map_err(map_error)?;
    }
    let result = match &source {
        None => match prot_flags(prot) {
            Some(f) => ctx.space.map(ctx.ram, start, start + len, f),
            None => ctx.space.reserve(start, start + len),
        }
        .map_err(map_error),
        Some(src) => map_file(ctx, start, len, prot, shared, src),
    };
    if let Err(e) = result {
        // The range was free (or freed by MAP_FIXED): leave it so, should
        // a failure have come half-way.
        let _ = ctx.space.unmap(ctx.ram, start, start + len);
        return Err(e);
    }
    Ok(start)
}

/// Map `[start, start + len)` (free) as a copy of `src`'s file. Pages
/// wholly past the end of the file get no frame while PROT_NONE.
fn map_file(
    ctx: &mut Context<'_, '_>,
    start: u64,
    len: u64,
    prot: u64,
    shared: bool,
    src: &Source,
) -> Result<(), Errno> {
    let end = start + len;
    let source = file_source(src, shared);
    let writable = prot & PROT_WRITE != 0;
    let in_file = page_ceil(src.file.size().saturating_sub(src.offset)).min(len);
    let filled = start + in_file;
    let space = &mut *ctx.space;
    match prot_flags(prot) {
        Some(f) => space.map(ctx.ram, start, end, f).map_err(map_error)?,
        None => {
            space.reserve(start, end).map_err(map_error)?;
            if in_file > 0 {
                let read = prot_flags(PROT_READ).ok_or(Errno::EINVAL)?;
                space.map(ctx.ram, start, filled, read).map_err(map_error)?;
            }
        }
    }
    space
        .fill_from(ctx.ram, start, filled, &src.file, src.offset)
        .map_err(|e| super::io_errno(&e))?;
    if prot_flags(prot).is_none() && in_file > 0 {
        ctx.requests.bits |= request::FLUSH_TLB;
        space
            .protect(ctx.ram, start, filled, None)
            .map_err(map_error)?;
    }
    space.set_file(start, end, source, src.offset);
    if writable {
        space.mark_dirty(start, end);
    }
    Ok(())
}

/// What a mapping of `src` reads its pages from (again).
fn file_source(src: &Source, shared: bool) -> Arc<dyn FileSource> {
    if shared && !src.file.writable() {
        Arc::new(SharedReadOnly(src.file.clone()))
    } else {
        Arc::new(src.file.clone())
    }
}

/// MAP_FIXED of `src` over `[start, start + len)` where those pages
/// already hold the same bytes of the same file, never written (ld.so
/// maps a library whole, then each segment again at its place): only the
/// rights change, nothing is read again. False (nothing done) otherwise.
fn remap_in_place(
    ctx: &mut Context<'_, '_>,
    start: u64,
    len: u64,
    prot: u64,
    source: &Arc<dyn FileSource>,
    offset: u64,
) -> Result<bool, Errno> {
    let end = start + len;
    let space = &mut *ctx.space;
    if !space.holds_clean_file(start, end, source.identity(), offset, source.may_write()) {
        return Ok(false);
    }
    ctx.requests.bits |= request::FLUSH_TLB;
    space
        .protect(ctx.ram, start, end, prot_flags(prot))
        .map_err(map_error)?;
    space.set_file(start, end, source.clone(), offset);
    if prot & PROT_WRITE != 0 {
        space.mark_dirty(start, end);
    }
    Ok(true)
}

/// A file mapped MAP_SHARED through a descriptor not open for writing:
/// never writable (mprotect answers EACCES), as on Linux.
#[derive(Debug)]
struct SharedReadOnly(MapFile);

impl FileSource for SharedReadOnly {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.0.read_at(buf, offset)
    }

    fn may_write(&self) -> bool {
        false
    }

    fn identity(&self) -> usize {
        self.0.identity()
    }
}

/// madvise(2): EINVAL for an unaligned start, unknown advice or a range
/// that wraps; ENOMEM when part of the range is not mapped (the rest is
/// still advised, as Linux does). MADV_DONTNEED drops the pages (see
/// [`AddressSpace::dont_need`]), EINVAL on the vDSO's data page; MADV_FREE
/// is EINVAL on file pages, as
/// MADV_REMOVE is on private ones; the poisoning advice needs
/// CAP_SYS_ADMIN, which the guest has not; the rest changes nothing.
fn madvise(ctx: &mut Context<'_, '_>, addr: u64, len: u64, advice: u64) -> SysResult {
    let known = MADVISE_CMDS.entries.iter().any(|&(v, _)| v == advice);
    if !addr.is_multiple_of(PAGE_SIZE) || !known {
        return Err(Errno::EINVAL);
    }
    let end = addr
        .checked_add(page_ceil(len))
        .filter(|_| page_ceil(len) >= len)
        .ok_or(Errno::EINVAL)?;
    if end == addr {
        return Ok(0);
    }
    if matches!(advice, MADV_HWPOISON | MADV_SOFT_OFFLINE) {
        return Err(Errno::EPERM);
    }
    if end > USER_TOP {
        return Err(Errno::ENOMEM);
    }
    let mut at = addr;
    let mut hole = false;
    while at < end {
        let Some((_, e, _)) = ctx.space.mapping_at(at) else {
            hole = true;
            at = ctx.space.next_mapping(at).unwrap_or(end).min(end);
            continue;
        };
        let piece_end = e.min(end);
        match advice {
            MADV_DONTNEED | MADV_DONTNEED_LOCKED => {
                ctx.requests.bits |= request::FLUSH_TLB;
                // The vDSO's data page is a PFN mapping on Linux, which
                // refuses it: what lies before it is dropped first.
                let vvar = ctx
                    .space
                    .vdso()
                    .filter(|_| ctx.space.is_vvar(at, piece_end))
                    .map(|v| v.vvar);
                ctx.space
                    .dont_need(ctx.ram, at, vvar.map_or(piece_end, |v| v.max(at)))
                    .map_err(|e| super::io_errno(&e))?;
                if vvar.is_some() {
                    return Err(Errno::EINVAL);
                }
            }
            MADV_FREE if ctx.space.file_at(at).is_some() => return Err(Errno::EINVAL),
            MADV_REMOVE => return Err(Errno::EINVAL),
            _ => {}
        }
        at = piece_end;
    }
    if hole {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

/// mremap(2) as Linux's: shrink in place, grow in place when the pages
/// after are free, else move (MREMAP_MAYMOVE) or move to a given place
/// (MREMAP_FIXED, replacing what is there); MREMAP_DONTUNMAP leaves the
/// old range mapped, empty. EINVAL for bad flags, an unaligned address, a
/// zero new length or overlapping ranges; EFAULT when no mapping holds
/// the address (checked first, as Linux 5.16 and later do) or the old
/// range is not all in one; ENOMEM when it can neither grow nor move.
fn mremap(ctx: &mut Context<'_, '_>, a: &[u64; 6]) -> SysResult {
    let [addr, old_len, new_len, flags, new_addr, _] = *a;
    let known = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
    let may_move = flags & MREMAP_MAYMOVE != 0;
    if flags & !known != 0
        || (flags & MREMAP_FIXED != 0 && !may_move)
        || (flags & MREMAP_DONTUNMAP != 0 && (!may_move || old_len != new_len))
        || !addr.is_multiple_of(PAGE_SIZE)
    {
        return Err(Errno::EINVAL);
    }
    // PAGE_ALIGN, wrapping as Linux's does: a length near 2^64 becomes 0.
    let align = |l: u64| l.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    let (old_len, new_len) = (align(old_len), align(new_len));
    if new_len == 0 {
        return Err(Errno::EINVAL);
    }
    if ctx.space.mapping_at(addr).is_none() {
        return Err(Errno::EFAULT);
    }
    if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
        return mremap_to(ctx, addr, old_len, new_len, flags, new_addr);
    }
    if old_len >= new_len {
        if old_len > new_len {
            let end = addr.checked_add(old_len).ok_or(Errno::EINVAL)?;
            ctx.requests.bits |= request::FLUSH_TLB;
            ctx.space
                .unmap(ctx.ram, addr + new_len, end)
                .map_err(map_error)?;
        }
        return Ok(addr);
    }
    let (_, end, prot) = resizable(ctx.space, addr, old_len)?;
    // Grow in place when the mapping ends there and the pages after are free.
    let grow_end = addr.checked_add(new_len).filter(|&e| e <= USER_TOP);
    if let Some(grow_end) = grow_end.filter(|_| end == addr + old_len) {
        if !ctx.space.overlaps(addr + old_len, grow_end) {
            extend(ctx, addr, old_len, new_len, prot)?;
            return Ok(addr);
        }
    }
    if !may_move {
        return Err(Errno::ENOMEM);
    }
    let to = ctx.space.find_free(0, new_len).ok_or(Errno::ENOMEM)?;
    move_to(ctx, addr, old_len, new_len, to, prot, false)
}

/// The mapping holding all of `[addr, addr + len)`: EFAULT if none does.
/// A zero `len` asks to duplicate the mapping, which Linux refuses for a
/// private one (EINVAL); microvm's mappings are all copies, so it refuses
/// it for every one.
fn resizable(
    space: &AddressSpace,
    addr: u64,
    len: u64,
) -> Result<(u64, u64, crate::space::Prot), Errno> {
    let (s, e, prot) = space.mapping_at(addr).ok_or(Errno::EFAULT)?;
    if len > e - addr {
        return Err(Errno::EFAULT);
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    Ok((s, e, prot))
}

/// MREMAP_FIXED / MREMAP_DONTUNMAP: to `new_addr` (FIXED) or anywhere.
fn mremap_to(
    ctx: &mut Context<'_, '_>,
    addr: u64,
    mut old_len: u64,
    new_len: u64,
    flags: u64,
    new_addr: u64,
) -> SysResult {
    let fixed = flags & MREMAP_FIXED != 0;
    if fixed {
        if !new_addr.is_multiple_of(PAGE_SIZE)
            || new_len > USER_TOP
            || new_addr > USER_TOP - new_len
        {
            return Err(Errno::EINVAL);
        }
        let old_end = addr.saturating_add(old_len);
        if old_end > new_addr && new_addr + new_len > addr {
            return Err(Errno::EINVAL);
        }
        if new_addr < MMAP_MIN_ADDR {
            return Err(Errno::EPERM);
        }
        ctx.requests.bits |= request::FLUSH_TLB;
        ctx.space
            .unmap(ctx.ram, new_addr, new_addr + new_len)
            .map_err(map_error)?;
    }
    if old_len > new_len {
        let end = addr.checked_add(old_len).ok_or(Errno::EINVAL)?;
        ctx.requests.bits |= request::FLUSH_TLB;
        ctx.space
            .unmap(ctx.ram, addr + new_len, end)
            .map_err(map_error)?;
        old_len = new_len;
    }
    let (_, _, prot) = resizable(ctx.space, addr, old_len)?;
    let to = if fixed {
        new_addr
    } else {
        ctx.space.find_free(0, new_len).ok_or(Errno::ENOMEM)?
    };
    move_to(
        ctx,
        addr,
        old_len,
        new_len,
        to,
        prot,
        flags & MREMAP_DONTUNMAP != 0,
    )
}

/// Move `[addr, addr + old_len)` to the free range at `to` and give it
/// `new_len` bytes; with `keep_old`, the old range stays mapped, empty.
fn move_to(
    ctx: &mut Context<'_, '_>,
    addr: u64,
    old_len: u64,
    new_len: u64,
    to: u64,
    prot: crate::space::Prot,
    keep_old: bool,
) -> SysResult {
    ctx.requests.bits |= request::FLUSH_TLB;
    // The growth must fit in guest memory before anything moves.
    let grow = new_len - old_len;
    if prot.is_some() && grow / PAGE_SIZE > ctx.space.free_frames() {
        return Err(Errno::ENOMEM);
    }
    let file = ctx.space.file_at(addr);
    // A moved file range is a record of its own (two with
    // MREMAP_DONTUNMAP): capped as mmap caps them (Linux's move_vma
    // checks the map count too).
    if file.is_some() && ctx.space.file_count() >= MAX_MAP_COUNT {
        return Err(Errno::ENOMEM);
    }
    ctx.space
        .move_range(ctx.ram, addr, old_len, to)
        .map_err(map_error)?;
    if keep_old {
        let refill = match prot {
            Some(f) => ctx.space.map(ctx.ram, addr, addr + old_len, f),
            None => ctx.space.reserve(addr, addr + old_len),
        };
        refill.map_err(map_error)?;
        if let Some((source, offset)) = file {
            ctx.space
                .set_file(addr, addr + old_len, source.clone(), offset);
            if prot.is_some_and(|f| f.write) {
                ctx.space.mark_dirty(addr, addr + old_len);
            }
            // A private file mapping's pages read from the file again.
            ctx.space
                .dont_need(ctx.ram, addr, addr + old_len)
                .map_err(|e| super::io_errno(&e))?;
        }
    }
    extend(ctx, to, old_len, new_len, prot)?;
    Ok(to)
}

/// Map the pages `[addr + old_len, addr + new_len)` (free) like the
/// mapping before them: zero, or read from its file.
fn extend(
    ctx: &mut Context<'_, '_>,
    addr: u64,
    old_len: u64,
    new_len: u64,
    prot: crate::space::Prot,
) -> Result<(), Errno> {
    if new_len <= old_len {
        return Ok(());
    }
    let (from, to) = (addr + old_len, addr + new_len);
    let file = ctx.space.file_at(from - PAGE_SIZE);
    match prot {
        Some(f) => ctx.space.map(ctx.ram, from, to, f),
        None => ctx.space.reserve(from, to),
    }
    .map_err(map_error)?;
    if let Some((source, last)) = file {
        let offset = last.saturating_add(PAGE_SIZE);
        if !ctx.space.grow_file(from, to) {
            ctx.space.set_file(from, to, source.clone(), offset);
        }
        if prot.is_some_and(|f| f.write) {
            ctx.space.mark_dirty(from, to);
        }
        if prot.is_some() {
            ctx.space
                .fill_from(ctx.ram, from, to, source.as_ref(), offset)
                .map_err(|e| super::io_errno(&e))?;
        }
    }
    Ok(())
}
