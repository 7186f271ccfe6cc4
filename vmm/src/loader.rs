//! Loading the guest kernel and the user program into guest memory.
//!
//! The kernel is an ELF64 image linked at `KERNEL_BASE + phys`; linux-loader
//! places its segments at their physical addresses, and the VMM maps each
//! one supervisor-only with its ELF permissions. It must start with a
//! [`KernelHeader`] of the current ABI version.
//!
//! The program is a static ELF64 x86-64 executable (segments at their
//! linked addresses, with their R/W/X) or a flat binary (loaded at
//! [`USER_BASE`], entered at its first byte, mapped read-write-execute since
//! a flat image says nothing about which bytes are code). Either way it gets
//! a user stack laid out as the Linux ABI does: argc, argv, envp, auxv.

use crate::arch::paging::{PageFlags, PageTables};
use crate::error::{Error, Result};
use crate::memory::GuestRam;
use crate::space::AddressSpace;
use goblin::elf::{header, program_header, Elf};
use microvm_abi::layout::{
    KERNEL_BASE, KERNEL_END, KERNEL_LOAD, PAGE_SIZE, USER_BASE, USER_STACK_SIZE, USER_STACK_TOP,
};
use microvm_abi::{KernelHeader, ABI_VERSION, KERNEL_MAGIC};
use std::collections::BTreeMap;
use std::path::Path;

/// ELF magic.
const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

/// A loaded kernel.
#[derive(Debug, Clone, Copy)]
pub struct LoadedKernel {
    /// Virtual entry point.
    pub entry: u64,
    /// Its header: the SYSCALL entry, resume points and exception stubs.
    pub header: KernelHeader,
}

/// A loaded program.
#[derive(Debug, Clone, Copy)]
pub struct LoadedProgram {
    /// Where ring 3 starts.
    pub entry: u64,
    /// Initial stack pointer (at argc).
    pub stack: u64,
}

fn bad_kernel(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadKernel {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn bad_program(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadProgram {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn page_floor(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

/// Permissions of an ELF segment.
fn segment_flags(p_flags: u32, user: bool) -> PageFlags {
    PageFlags {
        write: p_flags & program_header::PF_W != 0,
        exec: p_flags & program_header::PF_X != 0,
        user,
    }
}

/// Load the kernel `image` and map it. `path` names it in errors.
pub fn load_kernel(
    ram: &GuestRam,
    tables: &mut PageTables,
    image: &[u8],
    path: &Path,
) -> Result<LoadedKernel> {
    let elf = Elf::parse(image).map_err(|e| bad_kernel(path, format!("not an ELF image ({e})")))?;
    if !elf.is_64 || elf.header.e_machine != header::EM_X86_64 {
        return Err(bad_kernel(path, "not an x86-64 ELF64 image"));
    }
    if elf.header.e_entry < KERNEL_BASE {
        return Err(bad_kernel(path, "entry point is not a kernel address"));
    }
    let mut pages: BTreeMap<u64, PageFlags> = BTreeMap::new();
    for ph in elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == program_header::PT_LOAD)
    {
        let end = ph.p_paddr.checked_add(ph.p_memsz);
        let fits = end.is_some_and(|end| ph.p_paddr >= KERNEL_LOAD && end <= KERNEL_END);
        if !fits || ph.p_vaddr != KERNEL_BASE.wrapping_add(ph.p_paddr) || ph.p_filesz > ph.p_memsz {
            return Err(bad_kernel(
                path,
                format!(
                    "segment at {:#x} (physical {:#x}, {} bytes) lies outside the kernel area {:#x}..{:#x}",
                    ph.p_vaddr, ph.p_paddr, ph.p_memsz, KERNEL_LOAD, KERNEL_END
                ),
            ));
        }
        let flags = segment_flags(ph.p_flags, false);
        let mut page = page_floor(ph.p_paddr);
        while page < ph.p_paddr + ph.p_memsz {
            let f = pages.get(&page).map_or(flags, |f| f.union(flags));
            pages.insert(page, f);
            page += PAGE_SIZE;
        }
    }
    if pages.is_empty() {
        return Err(bad_kernel(path, "no loadable segment"));
    }
    <linux_loader::loader::Elf as linux_loader::loader::KernelLoader>::load(
        ram.mem(),
        None,
        &mut std::io::Cursor::new(image),
        None,
    )
    .map_err(|e| bad_kernel(path, format!("cannot load it: {e}")))?;
    let header: KernelHeader = ram.read_obj(KERNEL_LOAD)?;
    if header.magic != KERNEL_MAGIC {
        return Err(bad_kernel(
            path,
            "no microvm kernel header at its first byte (is this a microvm kernel?)",
        ));
    }
    if header.abi_version != u64::from(ABI_VERSION) {
        return Err(bad_kernel(
            path,
            format!(
                "built for microvm ABI {}, this microvm speaks ABI {ABI_VERSION}",
                header.abi_version
            ),
        ));
    }
    for (&phys, &flags) in &pages {
        // Never writable and executable at once, even if the image asks.
        let flags = if flags.write && flags.exec {
            PageFlags {
                exec: false,
                ..flags
            }
        } else {
            flags
        };
        tables.map(ram, KERNEL_BASE + phys, phys, flags)?;
    }
    let executable = |addr: u64| {
        pages
            .get(&page_floor(addr.wrapping_sub(KERNEL_BASE)))
            .is_some_and(|f| f.exec)
    };
    for (what, addr) in [
        ("SYSCALL entry", header.syscall_entry),
        ("syscall resume points", header.lstar_resume),
        ("syscall resume points", header.page_fault_resume),
        ("request handler", header.requests_entry),
        ("exception stubs", header.exception_stubs),
        (
            "exception stubs",
            header.exception_stubs + 31 * microvm_abi::EXCEPTION_STUB_SIZE,
        ),
        ("page-fault handler", header.page_fault_entry),
    ] {
        if !executable(addr) {
            return Err(bad_kernel(
                path,
                format!("its {what} ({addr:#x}) lie outside its code"),
            ));
        }
    }
    let entry = elf.header.e_entry;
    let entry_ok = pages
        .get(&page_floor(entry.wrapping_sub(KERNEL_BASE)))
        .is_some_and(|f| f.exec);
    if !entry_ok {
        return Err(bad_kernel(
            path,
            "its entry point is not in an executable segment",
        ));
    }
    Ok(LoadedKernel { entry, header })
}

/// How the program starts: its argv (argv[0] first), environment and the
/// path it was given as.
#[derive(Debug, Clone, Copy)]
pub struct Start<'a> {
    /// argv, argv[0] first.
    pub argv: &'a [String],
    /// KEY=VALUE strings.
    pub envp: &'a [String],
    /// The program's path (AT_EXECFN, /proc/self/exe).
    pub execfn: &'a str,
}

/// What the program is started with: [`Start`], and what the VM adds.
#[derive(Debug, Clone, Copy)]
pub struct StartInfo<'a> {
    /// argv, the environment and the program's path.
    pub start: Start<'a>,
    /// AT_HWCAP: CPUID.1:EDX of the guest CPU.
    pub hwcap: u64,
    /// 16 random bytes for AT_RANDOM.
    pub random: [u8; 16],
}

/// Where a static-pie (ET_DYN) program is placed, as Linux's ELF_ET_DYN_BASE.
pub const PIE_BASE: u64 = 0x5555_5555_4000;

/// Auxiliary-vector keys (Linux `include/uapi/linux/auxvec.h`).
pub mod auxv {
    /// End of the vector.
    pub const AT_NULL: u64 = 0;
    /// Program headers in memory.
    pub const AT_PHDR: u64 = 3;
    /// Size of one program header.
    pub const AT_PHENT: u64 = 4;
    /// Number of program headers.
    pub const AT_PHNUM: u64 = 5;
    /// Page size.
    pub const AT_PAGESZ: u64 = 6;
    /// Interpreter base (0: none).
    pub const AT_BASE: u64 = 7;
    /// Flags.
    pub const AT_FLAGS: u64 = 8;
    /// Program entry.
    pub const AT_ENTRY: u64 = 9;
    /// Real uid.
    pub const AT_UID: u64 = 11;
    /// Effective uid.
    pub const AT_EUID: u64 = 12;
    /// Real gid.
    pub const AT_GID: u64 = 13;
    /// Effective gid.
    pub const AT_EGID: u64 = 14;
    /// Platform string.
    pub const AT_PLATFORM: u64 = 15;
    /// CPU capabilities.
    pub const AT_HWCAP: u64 = 16;
    /// Clock ticks per second.
    pub const AT_CLKTCK: u64 = 17;
    /// Secure mode (setuid).
    pub const AT_SECURE: u64 = 23;
    /// 16 random bytes.
    pub const AT_RANDOM: u64 = 25;
    /// More CPU capabilities.
    pub const AT_HWCAP2: u64 = 26;
    /// The file name of the program.
    pub const AT_EXECFN: u64 = 31;
}

/// Load the program `image` (ELF or flat) into `space` and lay out its
/// stack with `start`.
pub fn load_program(
    ram: &GuestRam,
    space: &mut AddressSpace,
    image: &[u8],
    path: &Path,
    start: &StartInfo<'_>,
) -> Result<LoadedProgram> {
    if image.is_empty() {
        return Err(bad_program(path, "the file is empty"));
    }
    let room = space.free_frames() * PAGE_SIZE;
    if image.len() as u64 > room {
        return Err(bad_program(
            path,
            format!(
                "it is {} bytes, more than the {} bytes of guest memory left for programs (raise --memory)",
                image.len(),
                room
            ),
        ));
    }
    let map = |space: &mut AddressSpace, start: u64, end: u64, flags: PageFlags| {
        space
            .map(ram, start, end, flags)
            .map_err(|e| e.program_error(path))
    };
    let (entry, aux, end) = if image.starts_with(ELF_MAGIC) {
        load_elf(ram, space, image, path)?
    } else {
        let end = USER_BASE + image.len() as u64;
        let rwx = PageFlags {
            write: true,
            exec: true,
            user: true,
        };
        map(space, USER_BASE, end, rwx)?;
        space.copy_in(ram, USER_BASE, image)?;
        (USER_BASE, ElfAux::default(), end)
    };
    let stack_bottom = USER_STACK_TOP - USER_STACK_SIZE;
    if space.overlaps(stack_bottom, USER_STACK_TOP) {
        return Err(bad_program(path, "it overlaps the stack area"));
    }
    map(space, stack_bottom, USER_STACK_TOP, PageFlags::USER_RW)?;
    space.set_brk_start(end);
    let stack = build_stack(ram, space, start, entry, &aux)?;
    Ok(LoadedProgram { entry, stack })
}

/// What the auxiliary vector says about an ELF program.
#[derive(Debug, Clone, Copy, Default)]
struct ElfAux {
    phdr: u64,
    phent: u64,
    phnum: u64,
}

fn load_elf(
    ram: &GuestRam,
    space: &mut AddressSpace,
    image: &[u8],
    path: &Path,
) -> Result<(u64, ElfAux, u64)> {
    // Check the identification bytes first: goblin's messages for foreign
    // files are less helpful than these.
    match image.get(4) {
        Some(&1) => {
            return Err(bad_program(
                path,
                "it is a 32-bit ELF; microvm runs x86-64 (ELF64) programs",
            ))
        }
        Some(&2) => {}
        _ => return Err(bad_program(path, "not a valid ELF file (bad class byte)")),
    }
    let elf =
        Elf::parse(image).map_err(|e| bad_program(path, format!("not a valid ELF file ({e})")))?;
    if elf.header.e_machine != header::EM_X86_64 {
        return Err(bad_program(
            path,
            format!(
                "it is an ELF for {}, not x86-64",
                header::machine_to_str(elf.header.e_machine)
            ),
        ));
    }
    if elf.interpreter.is_some() {
        return Err(bad_program(
            path,
            "it is dynamically linked; microvm runs static executables (link with -static)",
        ));
    }
    let base = match elf.header.e_type {
        header::ET_EXEC => 0,
        // static-pie: self-relocating, placed at a fixed base.
        header::ET_DYN => PIE_BASE,
        t => {
            return Err(bad_program(
                path,
                format!("it is an ELF {}, not an executable", header::et_to_str(t)),
            ))
        }
    };
    let mut end_max = 0;
    let mut loads = 0;
    let mut phdr = None;
    for ph in &elf.program_headers {
        if ph.p_type == program_header::PT_PHDR {
            phdr = Some(base + ph.p_vaddr);
        }
        if ph.p_type != program_header::PT_LOAD {
            continue;
        }
        let vaddr = base.checked_add(ph.p_vaddr);
        let end = vaddr.and_then(|v| v.checked_add(ph.p_memsz));
        let file_end = ph.p_offset.checked_add(ph.p_filesz);
        if ph.p_filesz > ph.p_memsz || file_end.is_none_or(|e| e > image.len() as u64) {
            return Err(bad_program(path, "a segment lies outside the file"));
        }
        let (Some(vaddr), Some(end)) = (vaddr, end) else {
            return Err(bad_program(path, "a segment's address overflows"));
        };
        if vaddr < crate::space::MMAP_MIN_ADDR || end > crate::space::MMAP_TOP {
            return Err(bad_program(
                path,
                format!("a segment at {vaddr:#x} lies outside user space"),
            ));
        }
        space
            .map(ram, vaddr, end, segment_flags(ph.p_flags, true))
            .map_err(|e| e.program_error(path))?;
        let bytes = &image[ph.p_offset as usize..(ph.p_offset + ph.p_filesz) as usize];
        space.copy_in(ram, vaddr, bytes)?;
        // The program headers are in the segment that holds e_phoff.
        if phdr.is_none() && (ph.p_offset..ph.p_offset + ph.p_filesz).contains(&elf.header.e_phoff)
        {
            phdr = Some(vaddr + (elf.header.e_phoff - ph.p_offset));
        }
        end_max = end_max.max(end);
        loads += 1;
    }
    if loads == 0 {
        return Err(bad_program(path, "it has no loadable segment"));
    }
    let entry = base + elf.header.e_entry;
    if !space.flags_at(entry).is_some_and(|f| f.exec) {
        return Err(bad_program(
            path,
            format!("its entry point {entry:#x} is not in an executable segment"),
        ));
    }
    let aux = ElfAux {
        phdr: phdr.unwrap_or(0),
        phent: u64::from(elf.header.e_phentsize),
        phnum: u64::from(elf.header.e_phnum),
    };
    Ok((entry, aux, end_max))
}

/// Lay out the initial stack as the Linux x86-64 ABI does: argc, argv[],
/// NULL, envp[], NULL, auxv pairs ending with AT_NULL, then the strings
/// and AT_RANDOM's bytes above them; the stack pointer, 16-byte aligned,
/// points at argc.
fn build_stack(
    ram: &GuestRam,
    space: &mut AddressSpace,
    start: &StartInfo<'_>,
    entry: u64,
    aux: &ElfAux,
) -> Result<u64> {
    let mut sp = USER_STACK_TOP;
    let mut push_bytes = |space: &mut AddressSpace, bytes: &[u8]| -> Result<u64> {
        sp -= bytes.len() as u64;
        space.copy_in(ram, sp, bytes)?;
        Ok(sp)
    };
    let mut cstr = |space: &mut AddressSpace, s: &str| -> Result<u64> {
        let mut b = Vec::with_capacity(s.len() + 1);
        b.extend_from_slice(s.as_bytes());
        b.push(0);
        push_bytes(space, &b)
    };
    let execfn = cstr(space, start.start.execfn)?;
    let platform = cstr(space, "x86_64")?;
    let envp = start
        .start
        .envp
        .iter()
        .map(|e| cstr(space, e))
        .collect::<Result<Vec<_>>>()?;
    let argv = start
        .start
        .argv
        .iter()
        .map(|a| cstr(space, a))
        .collect::<Result<Vec<_>>>()?;
    let random = {
        sp &= !15;
        sp -= 16;
        space.copy_in(ram, sp, &start.random)?;
        sp
    };
    let auxv: [(u64, u64); 18] = [
        (auxv::AT_PHDR, aux.phdr),
        (auxv::AT_PHENT, aux.phent),
        (auxv::AT_PHNUM, aux.phnum),
        (auxv::AT_PAGESZ, PAGE_SIZE),
        (auxv::AT_BASE, 0),
        (auxv::AT_FLAGS, 0),
        (auxv::AT_ENTRY, entry),
        (auxv::AT_UID, 0),
        (auxv::AT_EUID, 0),
        (auxv::AT_GID, 0),
        (auxv::AT_EGID, 0),
        (auxv::AT_SECURE, 0),
        (auxv::AT_RANDOM, random),
        (auxv::AT_HWCAP, start.hwcap),
        (auxv::AT_HWCAP2, 0),
        (auxv::AT_CLKTCK, 100),
        (auxv::AT_PLATFORM, platform),
        (auxv::AT_EXECFN, execfn),
    ];
    let mut words: Vec<u64> = Vec::with_capacity(4 + argv.len() + envp.len() + 2 * auxv.len());
    words.push(argv.len() as u64);
    words.extend(&argv);
    words.push(0);
    words.extend(&envp);
    words.push(0);
    for (k, v) in auxv {
        words.push(k);
        words.push(v);
    }
    words.push(auxv::AT_NULL);
    words.push(0);
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    sp = (sp - bytes.len() as u64) & !15;
    if sp < USER_STACK_TOP - USER_STACK_SIZE / 2 {
        return Err(Error::OutOfGuestMemory(
            "the program's arguments and environment (they fill half the stack)",
        ));
    }
    space.copy_in(ram, sp, &bytes)?;
    Ok(sp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::paging::{translate, Access};
    use crate::memory::FrameAllocator;
    use microvm_abi::layout::MIN_MEMORY;

    fn setup() -> (GuestRam, AddressSpace) {
        (
            GuestRam::new(MIN_MEMORY).unwrap(),
            AddressSpace::new(PageTables::new(), FrameAllocator::new(MIN_MEMORY)),
        )
    }

    fn start<'a>(argv: &'a [String], envp: &'a [String]) -> StartInfo<'a> {
        StartInfo {
            start: Start {
                argv,
                envp,
                execfn: "/bin/prog",
            },
            hwcap: 0x178bfbff,
            random: [7; 16],
        }
    }

    fn read_u64(ram: &GuestRam, space: &AddressSpace, addr: u64) -> u64 {
        let phys = translate(ram, space.tables().root(), addr, Access::UserRead).unwrap();
        ram.read_obj(phys).unwrap()
    }

    #[test]
    fn flat_binary_stack_layout() {
        let (ram, mut space) = setup();
        let argv = ["prog".to_string(), "a".to_string()];
        let envp = ["K=V".to_string()];
        let p = load_program(
            &ram,
            &mut space,
            &[0x90; 5000],
            Path::new("x"),
            &start(&argv, &envp),
        )
        .unwrap();
        assert_eq!(p.entry, USER_BASE);
        assert_eq!(p.stack % 16, 0);
        let phys = translate(
            &ram,
            space.tables().root(),
            USER_BASE + 4999,
            Access::UserWrite,
        )
        .unwrap();
        assert_eq!(ram.read_obj::<u8>(phys).unwrap(), 0x90);
        assert_eq!(read_u64(&ram, &space, p.stack), 2, "argc");
        assert_eq!(read_u64(&ram, &space, p.stack + 24), 0, "argv NULL");
        assert_ne!(read_u64(&ram, &space, p.stack + 32), 0, "envp[0]");
        assert_eq!(read_u64(&ram, &space, p.stack + 40), 0, "envp NULL");
        // auxv pairs follow, ending with AT_NULL; AT_PAGESZ is 4096.
        let mut at = p.stack + 48;
        let mut seen = std::collections::HashMap::new();
        loop {
            let (k, v) = (read_u64(&ram, &space, at), read_u64(&ram, &space, at + 8));
            if k == auxv::AT_NULL {
                break;
            }
            seen.insert(k, v);
            at += 16;
        }
        assert_eq!(seen[&auxv::AT_PAGESZ], 4096);
        assert_eq!(seen[&auxv::AT_ENTRY], USER_BASE);
        assert_eq!(seen[&auxv::AT_HWCAP], 0x178bfbff);
        assert_eq!(
            read_u64(&ram, &space, seen[&auxv::AT_RANDOM]),
            0x0707070707070707
        );
        assert_eq!(seen.len(), 18);
    }

    #[test]
    fn refusals() {
        let (ram, mut space) = setup();
        let mut load = |img: &[u8]| {
            load_program(&ram, &mut space, img, Path::new("x"), &start(&[], &[]))
                .unwrap_err()
                .to_string()
        };
        assert!(load(b"").contains("empty"));
        assert!(load(b"\x7fELF\x01\x01\x01").contains("32-bit"));
        assert!(load(b"\x7fELF\x02\x01\x01").contains("not a valid ELF"));
        let big = vec![0u8; MIN_MEMORY as usize];
        assert!(load(&big).contains("more than"));
    }
}
