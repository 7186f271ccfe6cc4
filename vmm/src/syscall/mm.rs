//! Memory syscalls: brk, anonymous private mmap, munmap, mprotect — backed
//! by guest RAM with the right page permissions — and arch_prctl for the
//! FS/GS bases. Running out of guest RAM is ENOMEM in the guest.

use super::{errno, nr, Context};
use crate::arch::paging::PageFlags;
use crate::space::{page_ceil, AddressSpace, MapError, MMAP_MIN_ADDR, USER_TOP};
use microvm_abi::layout::PAGE_SIZE;
use microvm_abi::request;

/// PROT_READ.
pub const PROT_READ: u64 = libc::PROT_READ as u64;
/// PROT_WRITE.
pub const PROT_WRITE: u64 = libc::PROT_WRITE as u64;
/// PROT_EXEC.
pub const PROT_EXEC: u64 = libc::PROT_EXEC as u64;
/// PROT_GROWSDOWN: mprotect from the start of the mapping.
pub const PROT_GROWSDOWN: u64 = libc::PROT_GROWSDOWN as u64;
/// PROT_GROWSUP (no x86-64 mapping grows up).
pub const PROT_GROWSUP: u64 = libc::PROT_GROWSUP as u64;
/// PROT_SEM (accepted and meaningless, as on x86-64 Linux).
const PROT_SEM: u64 = 0x8;
/// MAP_SHARED.
pub const MAP_SHARED: u64 = libc::MAP_SHARED as u64;
/// MAP_PRIVATE.
pub const MAP_PRIVATE: u64 = libc::MAP_PRIVATE as u64;
/// MAP_FIXED.
pub const MAP_FIXED: u64 = libc::MAP_FIXED as u64;
/// MAP_ANONYMOUS.
pub const MAP_ANONYMOUS: u64 = libc::MAP_ANONYMOUS as u64;
/// MAP_FIXED_NOREPLACE.
pub const MAP_FIXED_NOREPLACE: u64 = libc::MAP_FIXED_NOREPLACE as u64;
/// ARCH_SET_GS.
pub const ARCH_SET_GS: u64 = 0x1001;
/// ARCH_SET_FS.
pub const ARCH_SET_FS: u64 = 0x1002;
/// ARCH_GET_FS.
pub const ARCH_GET_FS: u64 = 0x1003;
/// ARCH_GET_GS.
pub const ARCH_GET_GS: u64 = 0x1004;

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

fn map_error(e: MapError) -> i64 {
    match e {
        MapError::NoMemory | MapError::NotMapped | MapError::TooManyMappings => -errno::ENOMEM,
        MapError::OutOfRange => -errno::EINVAL,
    }
}

/// The pages of munmap's `[addr, addr + len)`, as Linux checks them:
/// EINVAL for an unaligned start, a zero length or a range past user space.
fn munmap_range(addr: u64, len: u64) -> Result<(u64, u64), i64> {
    if !addr.is_multiple_of(PAGE_SIZE) || len == 0 || addr > USER_TOP || len > USER_TOP - addr {
        return Err(-errno::EINVAL);
    }
    Ok((addr, addr + page_ceil(len)))
}

/// The pages of mprotect's `[addr, addr + len)`, as Linux checks them, or
/// `Err(answer)` when there is nothing to change: EINVAL for an unaligned
/// start or unknown bits, 0 for a zero length, ENOMEM for a range that
/// wraps or leaves user space (one not all mapped is ENOMEM later).
/// PROT_GROWSDOWN starts the range at the start of the mapping.
fn mprotect_range(space: &AddressSpace, addr: u64, len: u64, prot: u64) -> Result<(u64, u64), i64> {
    let known = PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP;
    if !addr.is_multiple_of(PAGE_SIZE)
        || prot & !known != 0
        || prot & (PROT_GROWSDOWN | PROT_GROWSUP) == PROT_GROWSDOWN | PROT_GROWSUP
    {
        return Err(-errno::EINVAL);
    }
    if len == 0 {
        return Err(0);
    }
    let len = page_ceil(len);
    let end = addr.checked_add(len).filter(|&e| len != 0 && e <= USER_TOP);
    let end = end.ok_or(-errno::ENOMEM)?;
    if prot & PROT_GROWSUP != 0 {
        // No mapping grows up on x86-64.
        return Err(-errno::EINVAL);
    }
    if prot & PROT_GROWSDOWN != 0 {
        // From the start of the mapping holding `addr`.
        let (start, _, _) = space.mapping_at(addr).ok_or(-errno::ENOMEM)?;
        return Ok((start, end));
    }
    Ok((addr, end))
}

impl Memory {
    /// Serve `nr` if it is a memory syscall.
    pub fn handle(&mut self, nr: u64, a: &[u64; 6], ctx: &mut Context<'_, '_>) -> Option<i64> {
        Some(match nr {
            nr::BRK => {
                let before = ctx.space.current_brk();
                let after = ctx.space.brk(ctx.ram, a[0]);
                if after < before {
                    ctx.requests.bits |= request::FLUSH_TLB;
                }
                after as i64
            }
            nr::MMAP => self.mmap(ctx, a),
            nr::MUNMAP => match munmap_range(a[0], a[1]) {
                Err(e) => e,
                Ok((start, end)) => {
                    ctx.requests.bits |= request::FLUSH_TLB;
                    ctx.space
                        .unmap(ctx.ram, start, end)
                        .map_or_else(map_error, |()| 0)
                }
            },
            nr::MPROTECT => match mprotect_range(ctx.space, a[0], a[1], a[2]) {
                Err(e) => e,
                Ok((start, end)) => {
                    ctx.requests.bits |= request::FLUSH_TLB;
                    ctx.space
                        .protect(ctx.ram, start, end, prot_flags(a[2]))
                        .map_or_else(map_error, |()| 0)
                }
            },
            nr::ARCH_PRCTL => self.arch_prctl(ctx, a[0], a[1]),
            _ => return None,
        })
    }

    fn mmap(&mut self, ctx: &mut Context<'_, '_>, a: &[u64; 6]) -> i64 {
        let [addr, len, prot, flags, _fd, offset] = *a;
        if len == 0 || !offset.is_multiple_of(PAGE_SIZE) || flags & (MAP_SHARED | MAP_PRIVATE) == 0
        {
            return -errno::EINVAL;
        }
        if flags & MAP_ANONYMOUS == 0 {
            // File-backed mappings are not served.
            return -errno::ENODEV;
        }
        let len = page_ceil(len);
        if len == 0 || len > USER_TOP - MMAP_MIN_ADDR {
            return -errno::ENOMEM;
        }
        let start = if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
            // As Linux's get_unmapped_area, then security_mmap_addr.
            if addr > USER_TOP - len {
                return -errno::ENOMEM;
            }
            if !addr.is_multiple_of(PAGE_SIZE) {
                return -errno::EINVAL;
            }
            if addr < MMAP_MIN_ADDR {
                return -errno::EPERM;
            }
            if ctx.space.overlaps(addr, addr + len) {
                if flags & MAP_FIXED_NOREPLACE != 0 {
                    return -errno::EEXIST;
                }
                ctx.requests.bits |= request::FLUSH_TLB;
                if let Err(e) = ctx.space.unmap(ctx.ram, addr, addr + len) {
                    return map_error(e);
                }
            }
            addr
        } else {
            match ctx.space.find_free(addr, len) {
                Some(s) => s,
                None => return -errno::ENOMEM,
            }
        };
        let result = match prot_flags(prot) {
            Some(f) => ctx.space.map(ctx.ram, start, start + len, f),
            None => ctx.space.reserve(start, start + len),
        };
        match result {
            Ok(()) => start as i64,
            Err(e) => {
                // The range was free (or freed by MAP_FIXED): leave it so,
                // should a failure have come half-way.
                let _ = ctx.space.unmap(ctx.ram, start, start + len);
                map_error(e)
            }
        }
    }

    fn arch_prctl(&mut self, ctx: &mut Context<'_, '_>, code: u64, addr: u64) -> i64 {
        match code {
            // As Linux: a base at or above TASK_SIZE_MAX (a kernel or
            // non-canonical address) is refused.
            ARCH_SET_FS | ARCH_SET_GS if addr >= USER_TOP => -errno::EPERM,
            ARCH_SET_FS => {
                self.fs_base = addr;
                ctx.requests.fs_base = addr;
                ctx.requests.bits |= request::SET_FS_BASE;
                0
            }
            ARCH_SET_GS => {
                self.gs_base = addr;
                ctx.requests.gs_base = addr;
                ctx.requests.bits |= request::SET_GS_BASE;
                0
            }
            ARCH_GET_FS | ARCH_GET_GS => {
                let v = if code == ARCH_GET_FS {
                    self.fs_base
                } else {
                    self.gs_base
                };
                match ctx.mem.write(addr, &v.to_le_bytes()) {
                    Ok(()) => 0,
                    Err(_) => -errno::EFAULT,
                }
            }
            _ => -errno::EINVAL,
        }
    }
}
