//! The vDSO's data page ("vvar"): what the host computes at start-up and
//! the vDSO's ring-3 code reads to answer `clock_gettime`, `gettimeofday`,
//! `time` and `clock_getres` without a transition.
//!
//! The vDSO image (guest/vdso) is linked at 0; the loader maps this page
//! four pages below it, first of the `[vvar]` pages, read-only for ring 3,
//! as Linux maps `[vvar]` before `[vdso]`. A clock `c` is served in ring 3 when bit `c` of
//! [`VdsoData::clock_mask`] is set; its time is
//! `base_ns[c] + ((tsc - tsc_base) * mult >> VDSO_SHIFT)` nanoseconds.
//! Every other clock falls back to the real system call, as Linux's vDSO
//! does.

use core::mem::offset_of;

/// Clock ids the page has a slot for (0..=CLOCK_TAI).
pub const VDSO_CLOCKS: usize = 12;

/// The fixed shift of [`VdsoData::mult`]: nanoseconds per TSC tick in
/// 32.32 fixed point.
pub const VDSO_SHIFT: u32 = 32;

/// The vvar page's contents (the rest of the page is zero).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VdsoData {
    /// A sequence count, odd while a writer changes the page (the reader
    /// retries); the host writes the page before the program runs.
    pub seq: u32,
    /// The time zone gettimeofday reports: minutes west of Greenwich.
    pub tz_minuteswest: i32,
    /// The time zone's daylight saving type.
    pub tz_dsttime: i32,
    /// Padding.
    pub _pad: u32,
    /// Nanoseconds per TSC tick, times 2^[`VDSO_SHIFT`].
    pub mult: u64,
    /// The guest TSC at which `base_ns` held.
    pub tsc_base: u64,
    /// Bit `c` set: clock `c` is served from this page.
    pub clock_mask: u64,
    /// Each clock's time at `tsc_base`, in nanoseconds.
    pub base_ns: [u64; VDSO_CLOCKS],
    /// Each clock's resolution (clock_getres), in nanoseconds.
    pub res_ns: [u64; VDSO_CLOCKS],
}

/// Offset of [`VdsoData::seq`].
pub const VVAR_SEQ: usize = offset_of!(VdsoData, seq);
/// Offset of [`VdsoData::tz_minuteswest`].
pub const VVAR_TZ: usize = offset_of!(VdsoData, tz_minuteswest);
/// Offset of [`VdsoData::mult`].
pub const VVAR_MULT: usize = offset_of!(VdsoData, mult);
/// Offset of [`VdsoData::tsc_base`].
pub const VVAR_TSC_BASE: usize = offset_of!(VdsoData, tsc_base);
/// Offset of [`VdsoData::clock_mask`].
pub const VVAR_CLOCK_MASK: usize = offset_of!(VdsoData, clock_mask);
/// Offset of [`VdsoData::base_ns`].
pub const VVAR_BASE_NS: usize = offset_of!(VdsoData, base_ns);
/// Offset of [`VdsoData::res_ns`].
pub const VVAR_RES_NS: usize = offset_of!(VdsoData, res_ns);

const _: () = assert!(VVAR_TZ + 4 == offset_of!(VdsoData, tz_dsttime));
const _: () = assert!(core::mem::size_of::<VdsoData>() <= crate::layout::PAGE_SIZE as usize);

#[cfg(feature = "host")]
// SAFETY: VdsoData is plain old data: integers only, repr(C), no padding
// the compiler adds (the explicit `_pad` fills the one gap).
unsafe impl vm_memory::ByteValued for VdsoData {}
