//! The vDSO Linux gives every process, and its data page.
//!
//! `linux-vdso.so.1` (built from guest/vdso, embedded here) answers
//! `clock_gettime`, `gettimeofday`, `time`, `getcpu` and `clock_getres` in
//! ring 3: no exit, no trace line, as a native strace sees none. The loader
//! maps it at the top of the mmap area, as Linux does, with its data pages
//! (`[vvar]`, the first holding [`VdsoData`]) just below, both read-only;
//! `AT_SYSINFO_EHDR` points at it. Once the vCPU exists, [`clock_data`] ties the guest's TSC
//! to the host's clocks and [`write_data`] fills the page: until then (and
//! for good, if KVM cannot say what the guest's TSC is) the page serves no
//! clock and every call falls back to the real, traced, system call.
//!
//! The host never reads the page back: whatever the guest does to it (it
//! cannot write it; mprotect to make it writable is EACCES, as on Linux)
//! only changes the times the guest tells itself.

use crate::arch::paging::PageFlags;
use crate::error::{Error, Result};
use crate::memory::GuestRam;
use crate::space::AddressSpace;
use kvm_bindings::{kvm_msr_entry, Msrs};
use kvm_ioctls::VcpuFd;
use microvm_abi::layout::PAGE_SIZE;
use microvm_abi::vdso::{VdsoData, VDSO_CLOCKS, VDSO_SHIFT};

/// The vDSO image (an ELF shared object linked at 0), built by vmm/build.rs.
pub static IMAGE: &[u8] = include_bytes!(env!("MICROVM_VDSO_PATH"));

/// Where the loader put the vDSO in a program's address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VdsoMapping {
    /// The data pages (`[vvar]`, up to `base`); the first is [`VdsoData`].
    pub vvar: u64,
    /// The image (`[vdso]`, `AT_SYSINFO_EHDR`).
    pub base: u64,
    /// End (exclusive) of the image's pages.
    pub end: u64,
}

/// The rights of the data page: user-readable only.
const VVAR_FLAGS: PageFlags = PageFlags {
    write: false,
    exec: false,
    user: true,
};

/// The rights of the image: user-readable and executable.
const IMAGE_FLAGS: PageFlags = PageFlags {
    write: false,
    exec: true,
    user: true,
};

/// Pages of `[vvar]`, as Linux 6.1's x86-64 layout has them (its data
/// page, then the pvclock, Hyper-V and time-namespace pages): ours is the
/// first (guest/vdso/vdso.ld), the others stay zero.
const VVAR_PAGES: u64 = 4;

/// The fewest pages of `[vdso]`: Linux 6.1's x86-64 image takes two. With
/// both sizes as Linux's, what a program maps next lands where it lands
/// natively (with `setarch -R`).
const MIN_IMAGE_PAGES: u64 = 2;

/// Map the data pages and the image at the top of the free mmap area (the
/// data page is all zero: no clock served yet).
pub fn map(ram: &GuestRam, space: &mut AddressSpace) -> Result<VdsoMapping> {
    let pages = (IMAGE.len() as u64)
        .div_ceil(PAGE_SIZE)
        .max(MIN_IMAGE_PAGES);
    let len = (VVAR_PAGES + pages) * PAGE_SIZE;
    let vvar = space
        .find_free(0, len)
        .ok_or(Error::OutOfGuestMemory("the vDSO"))?;
    let (base, end) = (vvar + VVAR_PAGES * PAGE_SIZE, vvar + len);
    let no_memory = |_| Error::OutOfGuestMemory("the vDSO");
    space.map(ram, vvar, base, VVAR_FLAGS).map_err(no_memory)?;
    space.map(ram, base, end, IMAGE_FLAGS).map_err(no_memory)?;
    space.copy_in(ram, base, IMAGE)?;
    let mapping = VdsoMapping { vvar, base, end };
    space.set_vdso(mapping);
    Ok(mapping)
}

/// Fill the data page of `mapping` with `data`.
pub fn write_data(
    ram: &GuestRam,
    space: &AddressSpace,
    mapping: &VdsoMapping,
    data: &VdsoData,
) -> Result<()> {
    space.copy_in(ram, mapping.vvar, vm_memory::ByteValued::as_slice(data))
}

/// The clocks the vDSO serves, as Linux's does (the high-resolution
/// ones, the coarse ones, the raw one); the CPU-time clocks and the
/// alarm clocks go to the system call.
const SERVED: [libc::clockid_t; 7] = [
    libc::CLOCK_REALTIME,
    libc::CLOCK_MONOTONIC,
    libc::CLOCK_MONOTONIC_RAW,
    libc::CLOCK_REALTIME_COARSE,
    libc::CLOCK_MONOTONIC_COARSE,
    libc::CLOCK_BOOTTIME,
    libc::CLOCK_TAI,
];

/// At most how many times the guest's TSC is read to find a tight
/// bracket (each read is one KVM_GET_MSRS, ~5 us on KVM-PVM: start-up
/// time).
const TSC_READS: usize = 3;

/// A bracket this narrow needs no other reading: the TSC's moment is
/// known to within half of it, far inside the millisecond the clocks are
/// held to (reads on an idle host take ~6 us; a wider one was preempted).
const GOOD_BRACKET_NS: i128 = 100_000;

/// The host's `clock` in nanoseconds.
fn host_ns(clock: libc::clockid_t) -> Option<i128> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    (r == 0).then(|| i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec))
}

/// The host's resolution of `clock` in nanoseconds.
fn host_res_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_getres writes one timespec into `ts`.
    let r = unsafe { libc::clock_getres(clock, &mut ts) };
    (r == 0 && ts.tv_sec == 0).then_some(ts.tv_nsec as u64)
}

/// The guest's TSC now, as KVM_GET_MSRS reads it.
fn guest_tsc(vcpu: &VcpuFd) -> Option<u64> {
    let mut msrs = Msrs::from_entries(&[kvm_msr_entry {
        index: crate::arch::regs::MSR_IA32_TSC,
        ..Default::default()
    }])
    .ok()?;
    match vcpu.get_msrs(&mut msrs) {
        Ok(1) => Some(msrs.as_slice()[0].data),
        _ => None,
    }
}

/// One reading of the guest's TSC with the host's CLOCK_MONOTONIC at the
/// same moment (the middle of the KVM_GET_MSRS that read it) and how
/// wide the bracket was.
#[derive(Debug, Clone, Copy)]
struct TscReading {
    tsc: u64,
    mono_ns: i128,
    width_ns: i128,
}

fn read_tsc(vcpu: &VcpuFd) -> Option<TscReading> {
    let before = host_ns(libc::CLOCK_MONOTONIC)?;
    let tsc = guest_tsc(vcpu)?;
    let after = host_ns(libc::CLOCK_MONOTONIC)?;
    Some(TscReading {
        tsc,
        mono_ns: before + (after - before) / 2,
        width_ns: after - before,
    })
}

/// `clock`'s time at the host CLOCK_MONOTONIC time `mono_ns` (just past):
/// read now, moved back by how much CLOCK_MONOTONIC has gone on since.
fn clock_at(clock: libc::clockid_t, mono_ns: i128) -> Option<i128> {
    let a = host_ns(libc::CLOCK_MONOTONIC)?;
    let t = host_ns(clock)?;
    let b = host_ns(libc::CLOCK_MONOTONIC)?;
    Some(t - (a + (b - a) / 2 - mono_ns))
}

/// The data page for `vcpu`: the guest's TSC frequency (KVM_GET_TSC_KHZ)
/// and one TSC reading tied to the host's clocks. If KVM cannot say, a
/// page that serves no clock (every call goes to the system call).
pub fn clock_data(vcpu: &VcpuFd) -> VdsoData {
    let none = VdsoData::default();
    if !host_clock_is_the_tsc() {
        return none;
    }
    let Ok(khz) = vcpu.get_tsc_khz() else {
        return none;
    };
    let mut best: Option<TscReading> = None;
    for _ in 0..TSC_READS {
        if let Some(r) = read_tsc(vcpu) {
            if best.is_none_or(|b| r.width_ns < b.width_ns) {
                best = Some(r);
            }
        }
        if best.is_some_and(|b| b.width_ns <= GOOD_BRACKET_NS) {
            break;
        }
    }
    let Some(reading) = best else {
        return none;
    };
    let mut times = [None; VDSO_CLOCKS];
    for clock in SERVED {
        let at = clock_at(clock, reading.mono_ns)
            .zip(host_res_ns(clock))
            .and_then(|(t, res)| Some((u64::try_from(t).ok()?, res)));
        times[clock as usize] = at;
    }
    data(khz, reading.tsc, &times)
}

/// The file naming the clock source the host's kernel keeps time with.
const CLOCKSOURCE: &str = "/sys/devices/system/clocksource/clocksource0/current_clocksource";

/// Whether the host's kernel keeps its clocks with the TSC. Only then does
/// the rate KVM states for the guest's TSC (`KVM_GET_TSC_KHZ`) hold
/// against the host's clocks; a kernel that found its TSC unstable (as
/// under emulation, where it reads `hpet` or `acpi_pm`) may run the TSC at
/// another rate than it says. Then the vDSO serves no clock and every call
/// is the system call, as Linux's own vDSO does when its clock source has
/// no vDSO mode. Read once per process (before any seccomp filter).
pub fn host_clock_is_the_tsc() -> bool {
    static TSC: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TSC.get_or_init(|| std::fs::read_to_string(CLOCKSOURCE).is_ok_and(|s| s.trim_end() == "tsc"))
}

/// The page for a TSC of `khz` kHz that read `tsc` when each served clock
/// `c` read `times[c]` = (nanoseconds, resolution).
fn data(khz: u32, tsc: u64, times: &[Option<(u64, u64)>; VDSO_CLOCKS]) -> VdsoData {
    let mut d = VdsoData::default();
    if khz == 0 {
        return d;
    }
    d.mult = ((1_000_000u128 << VDSO_SHIFT) / u128::from(khz)) as u64;
    d.tsc_base = tsc;
    for (c, t) in times.iter().enumerate() {
        if let Some((ns, res)) = *t {
            d.clock_mask |= 1 << c;
            d.base_ns[c] = ns;
            d.res_ns[c] = res;
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use goblin::elf::{dynamic, program_header, Elf};

    #[test]
    fn the_image_is_a_shared_object_glibc_and_musl_accept() {
        let elf = Elf::parse(IMAGE).unwrap();
        assert_eq!(elf.header.e_type, goblin::elf::header::ET_DYN);
        let loads: Vec<_> = elf
            .program_headers
            .iter()
            .filter(|p| p.p_type == program_header::PT_LOAD)
            .collect();
        assert_eq!(loads.len(), 1);
        assert_eq!(loads[0].p_vaddr, 0);
        assert!(loads[0].is_executable() && !loads[0].is_write());
        let dynamic = elf.dynamic.as_ref().expect("PT_DYNAMIC");
        let tags: Vec<u64> = dynamic.dyns.iter().map(|d| d.d_tag).collect();
        for tag in [
            dynamic::DT_HASH,
            dynamic::DT_GNU_HASH,
            dynamic::DT_SYMTAB,
            dynamic::DT_STRTAB,
            dynamic::DT_VERSYM,
            dynamic::DT_VERDEF,
            dynamic::DT_SONAME,
        ] {
            assert!(tags.contains(&tag), "{}", dynamic::tag_to_str(tag));
        }
        // Nothing for a dynamic linker to relocate.
        for tag in [dynamic::DT_RELA, dynamic::DT_REL, dynamic::DT_JMPREL] {
            assert!(!tags.contains(&tag), "{}", dynamic::tag_to_str(tag));
        }
        assert_eq!(elf.soname, Some("linux-vdso.so.1"));
        let verdef = elf.verdef.as_ref().expect("a version definition");
        let mut names: Vec<&str> = Vec::new();
        for v in verdef.iter() {
            for a in v.iter() {
                names.push(elf.dynstrtab.get_at(a.vda_name).unwrap_or(""));
            }
        }
        assert!(names.contains(&"LINUX_2.6"), "{names:?}");
        let mut exported: Vec<(&str, u8)> = elf
            .dynsyms
            .iter()
            .filter(|s| s.st_value != 0)
            .map(|s| (elf.dynstrtab.get_at(s.st_name).unwrap(), s.st_bind()))
            .collect();
        exported.sort();
        let (global, weak) = (goblin::elf::sym::STB_GLOBAL, goblin::elf::sym::STB_WEAK);
        let mut want = Vec::new();
        for f in [
            "clock_getres",
            "clock_gettime",
            "getcpu",
            "gettimeofday",
            "time",
        ] {
            want.push((format!("__vdso_{f}"), global));
            want.push((f.to_string(), weak));
        }
        want.sort();
        let exported: Vec<(String, u8)> = exported
            .into_iter()
            .map(|(n, b)| (n.to_string(), b))
            .collect();
        assert_eq!(exported, want);
    }

    #[test]
    fn mapped_read_only_below_the_mmap_top_with_the_data_page_first() {
        use crate::arch::paging::PageTables;
        use crate::memory::FrameAllocator;
        use microvm_abi::layout::MIN_MEMORY;
        let ram = GuestRam::new(MIN_MEMORY).unwrap();
        let mut space = AddressSpace::new(PageTables::new(), FrameAllocator::new(MIN_MEMORY));
        let m = map(&ram, &mut space).unwrap();
        // Linux 6.1's sizes: four data pages, two of image.
        assert_eq!(m.base, m.vvar + 4 * PAGE_SIZE);
        assert_eq!(m.end, m.base + 2 * PAGE_SIZE);
        assert_eq!(m.end, crate::space::MMAP_TOP);
        assert_eq!(space.flags_at(m.vvar), Some(VVAR_FLAGS));
        assert_eq!(space.flags_at(m.base), Some(IMAGE_FLAGS));
        space.check(&ram).unwrap();
        // The image is there, byte for byte; the page serves nothing yet.
        let head: [u8; 4] = ram.read_obj(space.frame_of(m.base).unwrap()).unwrap();
        assert_eq!(&head, b"\x7fELF");
        let data: VdsoData = ram.read_obj(space.frame_of(m.vvar).unwrap()).unwrap();
        assert_eq!(data.clock_mask, 0);
        // Only the data page is the vvar; an unmap touching either
        // forgets them (a later mapping there is not theirs).
        assert!(space.is_vvar(m.vvar, m.vvar + 1));
        assert!(space.is_vvar(m.base - 1, m.base));
        assert!(!space.is_vvar(m.base, m.end));
        assert_eq!(space.vdso(), Some(m));
        space.unmap(&ram, m.base, m.end).unwrap();
        assert!(!space.is_vvar(m.vvar, m.base));
        assert_eq!(space.vdso(), None);
    }

    #[test]
    fn the_page_scales_the_tsc_to_nanoseconds() {
        let mut times = [None; VDSO_CLOCKS];
        times[1] = Some((5_000_000_000, 1));
        times[5] = Some((7, 4_000_000));
        let d = data(2_000_000, 1234, &times);
        // 2 GHz: half a nanosecond a tick.
        assert_eq!(d.mult, 1 << 31);
        assert_eq!(d.tsc_base, 1234);
        assert_eq!(d.clock_mask, 0b10_0010);
        assert_eq!((d.base_ns[1], d.res_ns[5]), (5_000_000_000, 4_000_000));
        // No frequency: nothing served.
        assert_eq!(data(0, 1234, &times).clock_mask, 0);
    }
}
