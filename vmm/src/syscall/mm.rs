//! Memory syscalls: brk, anonymous private mmap, munmap, mprotect — backed
//! by guest RAM with the right page permissions — and arch_prctl for the
//! FS/GS bases. Running out of guest RAM is ENOMEM in the guest.

use super::{nr, Context, SysResult};
use crate::arch::paging::PageFlags;
use crate::space::{page_ceil, AddressSpace, MapError, MMAP_MIN_ADDR, USER_TOP};
use microvm_abi::layout::PAGE_SIZE;
use microvm_abi::request;
use nix::errno::Errno;

pub use microvm_abi::linux::consts::{
    ARCH_GET_FS, ARCH_GET_GS, ARCH_SET_FS, ARCH_SET_GS, MAP_ANONYMOUS, MAP_FIXED,
    MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP,
    PROT_READ, PROT_SEM, PROT_WRITE,
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
        MapError::OutOfRange => Errno::EINVAL,
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
/// leaves user space (one not all mapped is ENOMEM later). PROT_GROWSDOWN
/// starts the range at the start of the mapping.
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
    ) -> Option<SysResult> {
        Some(match nr {
            nr::BRK => brk(ctx, a[0]),
            nr::MMAP => mmap(ctx, a),
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

/// mmap(2) of anonymous private memory (file-backed mappings are not
/// served: ENODEV).
fn mmap(ctx: &mut Context<'_, '_>, a: &[u64; 6]) -> SysResult {
    let [addr, len, prot, flags, _fd, offset] = *a;
    if len == 0 || !offset.is_multiple_of(PAGE_SIZE) || flags & (MAP_SHARED | MAP_PRIVATE) == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 {
        return Err(Errno::ENODEV);
    }
    let len = page_ceil(len);
    if len == 0 || len > USER_TOP - MMAP_MIN_ADDR {
        return Err(Errno::ENOMEM);
    }
    let start = if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
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
        if ctx.space.overlaps(addr, addr + len) {
            if flags & MAP_FIXED_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            ctx.requests.bits |= request::FLUSH_TLB;
            ctx.space
                .unmap(ctx.ram, addr, addr + len)
                .map_err(map_error)?;
        }
        addr
    } else {
        ctx.space.find_free(addr, len).ok_or(Errno::ENOMEM)?
    };
    let result = match prot_flags(prot) {
        Some(f) => ctx.space.map(ctx.ram, start, start + len, f),
        None => ctx.space.reserve(start, start + len),
    };
    if let Err(e) = result {
        // The range was free (or freed by MAP_FIXED): leave it so, should
        // a failure have come half-way.
        let _ = ctx.space.unmap(ctx.ram, start, start + len);
        return Err(map_error(e));
    }
    Ok(start)
}
