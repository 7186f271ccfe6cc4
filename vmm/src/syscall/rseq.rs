//! rseq(2): the restartable-sequences area a C library registers at start
//! (glibc 2.35 and later do, for every thread), checked as Linux 6.1's
//! `sys_rseq` checks it.
//!
//! The guest has one CPU and one thread, and is never preempted nor
//! migrated: the CPU number the kernel keeps in the area is 0 for good, so
//! it is written once, when the area is registered (Linux writes it on the
//! return to user space that follows). What is not done: aborting a
//! critical section (`rseq_cs`) when a signal is delivered inside it; with
//! no preemption and no other thread, only a fault there can interrupt one.

use super::{Context, SysResult};
use crate::space::USER_TOP;
use microvm_abi::linux::consts::{
    RSEQ_ALIGN, RSEQ_CPU_ID_UNINITIALIZED, RSEQ_FLAG_UNREGISTER, RSEQ_SIZE,
};
use nix::errno::Errno;

/// The registered area: its address, length and signature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rseq {
    area: Option<(u64, u32, u32)>,
}

impl Rseq {
    /// rseq(addr, len, flags, sig).
    pub fn handle(&mut self, ctx: &Context<'_, '_>, a: &[u64; 6]) -> SysResult {
        // The length, flags and signature are C `u32`, `int` and `u32`.
        let (addr, len, flags, sig) = (a[0], a[1] as u32, a[2] as u32, a[3] as u32);
        let unregister = RSEQ_FLAG_UNREGISTER as u32;
        if flags & unregister != 0 {
            if flags & !unregister != 0 {
                return Err(Errno::EINVAL);
            }
            let (at, at_len, at_sig) = self.area.ok_or(Errno::EINVAL)?;
            if at != addr || at_len != len {
                return Err(Errno::EINVAL);
            }
            if at_sig != sig {
                return Err(Errno::EPERM);
            }
            // cpu_id_start 0, cpu_id "uninitialized".
            write_cpu_ids(ctx, addr, 0, RSEQ_CPU_ID_UNINITIALIZED as u32)?;
            self.area = None;
            return Ok(0);
        }
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        if let Some((at, at_len, at_sig)) = self.area {
            if at != addr || at_len != len {
                return Err(Errno::EINVAL);
            }
            if at_sig != sig {
                return Err(Errno::EPERM);
            }
            return Err(Errno::EBUSY);
        }
        if !addr.is_multiple_of(RSEQ_ALIGN) || u64::from(len) != RSEQ_SIZE {
            return Err(Errno::EINVAL);
        }
        if addr > USER_TOP - RSEQ_SIZE {
            return Err(Errno::EFAULT);
        }
        // Linux 6.1 writes these on the way back to user space (and kills
        // the program if it cannot); an area that cannot be written fails
        // the call with EFAULT here, as Linux 6.18 answers (NULL too).
        write_cpu_ids(ctx, addr, 0, 0)?;
        self.area = Some((addr, len, sig));
        Ok(0)
    }
}

/// Write `struct rseq`'s `cpu_id_start` and `cpu_id` (its first two u32).
fn write_cpu_ids(ctx: &Context<'_, '_>, addr: u64, start: u32, id: u32) -> Result<(), Errno> {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&start.to_ne_bytes());
    bytes[4..].copy_from_slice(&id.to_ne_bytes());
    ctx.mem.write(addr, &bytes).map_err(|_| Errno::EFAULT)
}
