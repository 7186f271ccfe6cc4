//! Guest RAM: one anonymous mapping registered with KVM at guest-physical 0,
//! and a bump allocator for the page frames handed to the user program.

use crate::error::{Error, Result};
use microvm_abi::layout::{MIN_MEMORY, PAGE_SIZE, USER_FRAMES_START};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

vmm_sys_util::ioctl_iow_nr!(
    KVM_SET_USER_MEMORY_REGION,
    kvm_bindings::KVMIO,
    0x46,
    kvm_bindings::kvm_userspace_memory_region
);

/// Largest guest memory accepted (guest RAM is a host mapping; this is a
/// sanity bound, not a KVM limit).
pub const MAX_MEMORY: u64 = 64 << 30;

/// Default guest memory.
pub const DEFAULT_MEMORY: u64 = 128 << 20;

/// The guest's RAM.
pub struct GuestRam {
    mem: GuestMemoryMmap,
    size: u64,
    /// The VM this RAM is registered with (-1 before [`GuestRam::register`]).
    vm_fd: AtomicI32,
    /// Calls of [`GuestRam::flush_shadow`] so far.
    flushes: AtomicU64,
}

impl GuestRam {
    /// Map `size` bytes of zeroed guest RAM at guest-physical 0.
    pub fn new(size: u64) -> Result<GuestRam> {
        if size < MIN_MEMORY {
            return Err(Error::MemorySize(size, "too small: at least 8 MiB"));
        }
        if size > MAX_MEMORY {
            return Err(Error::MemorySize(size, "too large: at most 64 GiB"));
        }
        if !size.is_multiple_of(PAGE_SIZE) {
            return Err(Error::MemorySize(size, "not a multiple of 4 KiB"));
        }
        let mem =
            GuestMemoryMmap::from_ranges(&[(GuestAddress(0), size as usize)]).map_err(|e| {
                Error::Memory {
                    size,
                    reason: e.to_string(),
                }
            })?;
        let ram = GuestRam {
            mem,
            size,
            vm_fd: AtomicI32::new(-1),
            flushes: AtomicU64::new(0),
        };
        ram.dont_dump();
        Ok(ram)
    }

    /// Keep guest RAM out of any core dump of microvm (`MADV_DONTDUMP`).
    fn dont_dump(&self) {
        if let Some(p) = self.host_pages(0, self.size) {
            // SAFETY: the range is this struct's own mapping, whole;
            // MADV_DONTDUMP changes only what a core dump includes.
            unsafe { libc::madvise(p, self.size as usize, libc::MADV_DONTDUMP) };
        }
    }

    /// The vm-memory view.
    pub fn mem(&self) -> &GuestMemoryMmap {
        &self.mem
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Host address of guest-physical 0 (for KVM_SET_USER_MEMORY_REGION).
    pub fn host_address(&self) -> Result<u64> {
        self.mem
            .get_host_address(GuestAddress(0))
            .map(|p| p as u64)
            .map_err(|e| Error::GuestMemory {
                addr: 0,
                reason: e.to_string(),
            })
    }

    /// Register this RAM with `vm` as slot 0 at guest-physical 0.
    ///
    /// # Safety
    /// The RAM must outlive `vm`: KVM keeps using the host mapping.
    pub unsafe fn register(&self, vm: &kvm_ioctls::VmFd) -> Result<()> {
        let region = self.region(self.size)?;
        // SAFETY: the region is this RAM's own mapping, whole; the caller
        // keeps it alive as long as the VM.
        unsafe { vm.set_user_memory_region(region) }
            .map_err(Error::kvm("registering guest memory"))?;
        self.vm_fd.store(vm.as_raw_fd(), Ordering::Relaxed);
        Ok(())
    }

    /// Slot 0 covering the first `size` bytes (0 deletes the slot).
    fn region(&self, size: u64) -> Result<kvm_bindings::kvm_userspace_memory_region> {
        Ok(kvm_bindings::kvm_userspace_memory_region {
            slot: 0,
            flags: 0,
            guest_phys_addr: 0,
            memory_size: size,
            userspace_addr: self.host_address()?,
        })
    }

    /// Make KVM forget every translation and every shadow page table it
    /// built from the guest page tables, by removing the memory slot and
    /// adding it back (contents are kept). A shadow-paging KVM (KVM-PVM)
    /// keeps linking a shadow table to the guest table it was built from
    /// even after the VMM unlinked that guest table: before such a table
    /// is linked anywhere else, this must run, or the old addresses would
    /// reach the new place's pages. Costly (every page faults in again),
    /// so the address space calls it only when it must reuse tables.
    /// Must be called on the vCPU thread while the vCPU is stopped.
    pub fn flush_shadow(&self) -> Result<()> {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        let fd = self.vm_fd.load(Ordering::Relaxed);
        if fd < 0 {
            // Not registered yet: KVM has built nothing.
            return Ok(());
        }
        // SAFETY: `fd` is the VM fd `register` was given; the caller of
        // `register` keeps the VM (and so its fd) alive as long as this
        // RAM is in use.
        let vm = unsafe { BorrowedFd::borrow_raw(fd as RawFd) };
        for size in [0, self.size] {
            let region = self.region(size)?;
            // SAFETY: the ioctl reads `region`, a valid struct of the type
            // the request names; the slot is this RAM's own mapping, whole.
            let rc = unsafe {
                vmm_sys_util::ioctl::ioctl_with_ref(&vm, KVM_SET_USER_MEMORY_REGION(), &region)
            };
            if rc < 0 {
                return Err(Error::Kvm {
                    what: "re-registering guest memory to drop its shadow page tables",
                    source: kvm_ioctls::Error::last(),
                });
            }
        }
        Ok(())
    }

    /// The host pointer and length of whole pages `[phys, phys + len)`.
    fn host_pages(&self, phys: u64, len: u64) -> Option<*mut libc::c_void> {
        if !phys.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) {
            return None;
        }
        let end = phys.checked_add(len)?;
        if end > self.size {
            return None;
        }
        let base = self.mem.get_host_address(GuestAddress(0)).ok()?;
        // The whole of guest RAM is one mapping starting at `base`.
        Some(base.wrapping_add(phys as usize).cast())
    }

    /// Discard frames the guest no longer maps: their contents become zero,
    /// and KVM, told through its MMU notifier, drops every translation it
    /// cached for them (a shadow-paging KVM such as KVM-PVM does not see
    /// the VMM's own writes to the guest page tables).
    pub fn discard(&self, phys: u64, len: u64) {
        if let Some(p) = self.host_pages(phys, len) {
            // SAFETY: `p..p+len` lies inside guest RAM, an anonymous private
            // mapping this struct owns; MADV_DONTNEED only zeroes it.
            unsafe { libc::madvise(p, len as usize, libc::MADV_DONTNEED) };
        }
    }

    /// Make KVM drop the translations it cached for frames whose rights the
    /// guest page tables just reduced, keeping their contents: a protection
    /// change on the host mapping goes through KVM's MMU notifier.
    pub fn revoke(&self, phys: u64, len: u64) {
        if let Some(p) = self.host_pages(phys, len) {
            // SAFETY: as in `discard`; the range is made read-only and back
            // to read-write at once, on the vCPU thread, while the vCPU is
            // stopped (it is serving a syscall), so nothing touches it.
            unsafe {
                libc::mprotect(p, len as usize, libc::PROT_READ);
                libc::mprotect(p, len as usize, libc::PROT_READ | libc::PROT_WRITE);
            }
        }
    }

    /// How many times [`GuestRam::flush_shadow`] was called.
    pub fn shadow_flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Write `bytes` at guest-physical `addr`.
    pub fn write(&self, addr: u64, bytes: &[u8]) -> Result<()> {
        self.mem
            .write_slice(bytes, GuestAddress(addr))
            .map_err(|e| Error::GuestMemory {
                addr,
                reason: e.to_string(),
            })
    }

    /// Write a plain value at guest-physical `addr`.
    pub fn write_obj<T: vm_memory::ByteValued>(&self, addr: u64, value: T) -> Result<()> {
        self.mem
            .write_obj(value, GuestAddress(addr))
            .map_err(|e| Error::GuestMemory {
                addr,
                reason: e.to_string(),
            })
    }

    /// Read a plain value at guest-physical `addr`.
    pub fn read_obj<T: vm_memory::ByteValued>(&self, addr: u64) -> Result<T> {
        self.mem
            .read_obj(GuestAddress(addr))
            .map_err(|e| Error::GuestMemory {
                addr,
                reason: e.to_string(),
            })
    }
}

/// Hands out zeroed 4 KiB frames from the user region, never reusing one.
#[derive(Debug)]
pub struct FrameAllocator {
    next: u64,
    end: u64,
}

impl FrameAllocator {
    /// Frames from [`USER_FRAMES_START`] to the end of guest memory.
    pub fn new(memory_size: u64) -> FrameAllocator {
        FrameAllocator {
            next: USER_FRAMES_START,
            end: memory_size,
        }
    }

    /// One frame, or `None` when guest memory is used up.
    pub fn alloc(&mut self) -> Option<u64> {
        if self.next + PAGE_SIZE > self.end {
            return None;
        }
        let frame = self.next;
        self.next += PAGE_SIZE;
        Some(frame)
    }

    /// Frames still free.
    pub fn remaining(&self) -> u64 {
        (self.end - self.next) / PAGE_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_distinct_and_bounded() {
        let mut frames = FrameAllocator::new(USER_FRAMES_START + 2 * PAGE_SIZE);
        assert_eq!(frames.remaining(), 2);
        assert_eq!(frames.alloc(), Some(USER_FRAMES_START));
        assert_eq!(frames.alloc(), Some(USER_FRAMES_START + PAGE_SIZE));
        assert_eq!(frames.alloc(), None);
    }

    #[test]
    fn memory_size_is_checked() {
        assert!(matches!(GuestRam::new(1 << 20), Err(Error::MemorySize(..))));
        assert!(matches!(
            GuestRam::new(MIN_MEMORY + 1),
            Err(Error::MemorySize(..))
        ));
        let ram = GuestRam::new(MIN_MEMORY).unwrap();
        ram.write(0x1000, b"abc").unwrap();
        assert_eq!(ram.read_obj::<u8>(0x1001).unwrap(), b'b');
        assert!(ram.write(MIN_MEMORY - 1, b"ab").is_err());
    }
}
