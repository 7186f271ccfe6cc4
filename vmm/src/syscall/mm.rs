//! Memory syscalls: brk, anonymous private mmap, munmap, mprotect — backed
//! by guest RAM with the right page permissions — and arch_prctl for the
//! FS/GS bases. Running out of guest RAM is ENOMEM in the guest.

use super::{errno, nr, Context};
use crate::arch::paging::PageFlags;
use crate::space::{page_ceil, MapError, MMAP_TOP};
use microvm_abi::layout::PAGE_SIZE;
use microvm_abi::request;

/// PROT_READ.
pub const PROT_READ: u64 = 1;
/// PROT_WRITE.
pub const PROT_WRITE: u64 = 2;
/// PROT_EXEC.
pub const PROT_EXEC: u64 = 4;
/// MAP_SHARED.
pub const MAP_SHARED: u64 = 0x01;
/// MAP_PRIVATE.
pub const MAP_PRIVATE: u64 = 0x02;
/// MAP_FIXED.
pub const MAP_FIXED: u64 = 0x10;
/// MAP_ANONYMOUS.
pub const MAP_ANONYMOUS: u64 = 0x20;
/// MAP_FIXED_NOREPLACE.
pub const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
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
        MapError::NoMemory | MapError::NotMapped => -errno::ENOMEM,
    }
}

fn user_range(addr: u64, len: u64) -> Option<(u64, u64)> {
    if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
        return None;
    }
    let end = addr.checked_add(page_ceil(len))?;
    (end <= MMAP_TOP).then_some((addr, end))
}

impl Memory {
    /// Serve `nr` if it is a memory syscall.
    pub fn handle(&mut self, nr: u64, a: &[u64; 6], ctx: &mut Context<'_, '_>) -> Option<i64> {
        Some(match nr {
            nr::BRK => ctx.space.brk(ctx.ram, a[0]) as i64,
            nr::MMAP => self.mmap(ctx, a),
            nr::MUNMAP => match user_range(a[0], a[1]) {
                None => -errno::EINVAL,
                Some((start, end)) => {
                    ctx.requests.bits |= request::FLUSH_TLB;
                    ctx.space
                        .unmap(ctx.ram, start, end)
                        .map_or_else(map_error, |()| 0)
                }
            },
            nr::MPROTECT => match user_range(a[0], a[1]) {
                None => -errno::EINVAL,
                Some((start, end)) => {
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
        let [addr, len, prot, flags, fd, offset] = *a;
        if len == 0 || !offset.is_multiple_of(PAGE_SIZE) || flags & (MAP_SHARED | MAP_PRIVATE) == 0
        {
            return -errno::EINVAL;
        }
        if flags & MAP_ANONYMOUS == 0 {
            // File-backed mappings are not served.
            let _ = fd;
            return -errno::ENODEV;
        }
        let len = page_ceil(len);
        let start = if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
            let Some((start, end)) = user_range(addr, len) else {
                return -errno::EINVAL;
            };
            if ctx.space.overlaps(start, end) {
                if flags & MAP_FIXED_NOREPLACE != 0 {
                    return -errno::EEXIST;
                }
                ctx.requests.bits |= request::FLUSH_TLB;
                if let Err(e) = ctx.space.unmap(ctx.ram, start, end) {
                    return map_error(e);
                }
            }
            start
        } else {
            match ctx.space.find_free(addr, len) {
                Some(s) => s,
                None => return -errno::ENOMEM,
            }
        };
        let result = match prot_flags(prot) {
            Some(f) => ctx.space.map(ctx.ram, start, start + len, f),
            None => {
                ctx.space.reserve(start, start + len);
                Ok(())
            }
        };
        match result {
            Ok(()) => start as i64,
            Err(e) => {
                let _ = ctx.space.unmap(ctx.ram, start, start + len);
                map_error(e)
            }
        }
    }

    fn arch_prctl(&mut self, ctx: &mut Context<'_, '_>, code: u64, addr: u64) -> i64 {
        let canonical = crate::arch::paging::is_canonical(addr);
        match code {
            ARCH_SET_FS | ARCH_SET_GS if !canonical => -errno::EPERM,
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
