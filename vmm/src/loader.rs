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
use crate::memory::{FrameAllocator, GuestRam};
use goblin::elf::{header, program_header, Elf};
use microvm_abi::layout::{
    KERNEL_BASE, KERNEL_END, KERNEL_LOAD, PAGE_SIZE, USER_BASE, USER_END, USER_STACK_SIZE,
    USER_STACK_TOP,
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
    /// Virtual SYSCALL entry (for LSTAR).
    pub syscall_entry: u64,
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
    if !pages.contains_key(&page_floor(header.syscall_entry.wrapping_sub(KERNEL_BASE))) {
        return Err(bad_kernel(path, "its SYSCALL entry lies outside the image"));
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
    Ok(LoadedKernel {
        entry,
        syscall_entry: header.syscall_entry,
    })
}

/// Maps user pages: allocates frames and copies bytes into them.
struct UserMapper<'a> {
    ram: &'a GuestRam,
    tables: &'a mut PageTables,
    frames: &'a mut FrameAllocator,
    /// Virtual page -> (frame, flags).
    pages: BTreeMap<u64, (u64, PageFlags)>,
}

impl UserMapper<'_> {
    /// Make sure every page of `[start, end)` exists with at least `flags`.
    fn reserve(&mut self, start: u64, end: u64, flags: PageFlags) -> Result<()> {
        let mut page = page_floor(start);
        while page < end {
            match self.pages.get_mut(&page) {
                Some((_, f)) => *f = f.union(flags),
                None => {
                    let frame = self
                        .frames
                        .alloc()
                        .ok_or(Error::OutOfGuestMemory("the program"))?;
                    self.pages.insert(page, (frame, flags));
                }
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }

    /// Copy `bytes` to user virtual `addr` (pages reserved already).
    fn copy(&self, mut addr: u64, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let offset = addr % PAGE_SIZE;
            let n = bytes.len().min((PAGE_SIZE - offset) as usize);
            let (frame, _) = self.pages[&page_floor(addr)];
            self.ram.write(frame + offset, &bytes[..n])?;
            bytes = &bytes[n..];
            addr += n as u64;
        }
        Ok(())
    }

    /// Write every page's entry into the page tables.
    fn commit(self) -> Result<()> {
        for (&virt, &(frame, flags)) in &self.pages {
            self.tables.map(self.ram, virt, frame, flags)?;
        }
        Ok(())
    }
}

/// Load the program `image` (ELF or flat) with `args` (argv[0] first) and
/// map it with its stack.
pub fn load_program(
    ram: &GuestRam,
    tables: &mut PageTables,
    frames: &mut FrameAllocator,
    image: &[u8],
    path: &Path,
    args: &[String],
) -> Result<LoadedProgram> {
    if image.is_empty() {
        return Err(bad_program(path, "the file is empty"));
    }
    let room = frames.remaining() * PAGE_SIZE;
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
    let mut mapper = UserMapper {
        ram,
        tables,
        frames,
        pages: BTreeMap::new(),
    };
    let entry = if image.starts_with(ELF_MAGIC) {
        load_elf(&mut mapper, image, path)?
    } else {
        let end = USER_BASE + image.len() as u64;
        let rwx = PageFlags {
            write: true,
            exec: true,
            user: true,
        };
        mapper.reserve(USER_BASE, end, rwx)?;
        mapper.copy(USER_BASE, image)?;
        USER_BASE
    };
    let stack_bottom = USER_STACK_TOP - USER_STACK_SIZE;
    if mapper
        .pages
        .range(stack_bottom..USER_STACK_TOP)
        .next()
        .is_some()
    {
        return Err(bad_program(path, "it overlaps the stack area"));
    }
    mapper.reserve(stack_bottom, USER_STACK_TOP, PageFlags::USER_RW)?;
    let stack = build_stack(&mapper, args)?;
    mapper.commit()?;
    Ok(LoadedProgram { entry, stack })
}

fn load_elf(mapper: &mut UserMapper<'_>, image: &[u8], path: &Path) -> Result<u64> {
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
    if elf.interpreter.is_some() || elf.dynamic.is_some() {
        return Err(bad_program(
            path,
            "it is dynamically linked; microvm runs static executables (link with -static)",
        ));
    }
    match elf.header.e_type {
        header::ET_EXEC => {}
        header::ET_DYN => return Err(bad_program(
            path,
            "position-independent executables are not supported yet (link with -static -no-pie)",
        )),
        t => {
            return Err(bad_program(
                path,
                format!("it is an ELF {}, not an executable", header::et_to_str(t)),
            ))
        }
    }
    let mut loads = 0;
    for ph in elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == program_header::PT_LOAD)
    {
        let end = ph.p_vaddr.checked_add(ph.p_memsz);
        let file_end = ph.p_offset.checked_add(ph.p_filesz);
        if ph.p_filesz > ph.p_memsz || file_end.is_none_or(|e| e > image.len() as u64) {
            return Err(bad_program(path, "a segment lies outside the file"));
        }
        if ph.p_vaddr < PAGE_SIZE || end.is_none_or(|e| e > USER_END - USER_STACK_SIZE - PAGE_SIZE)
        {
            return Err(bad_program(
                path,
                format!("a segment at {:#x} lies outside user space", ph.p_vaddr),
            ));
        }
        let end = ph.p_vaddr + ph.p_memsz;
        mapper.reserve(ph.p_vaddr, end, segment_flags(ph.p_flags, true))?;
        let bytes = &image[ph.p_offset as usize..(ph.p_offset + ph.p_filesz) as usize];
        mapper.copy(ph.p_vaddr, bytes)?;
        loads += 1;
    }
    if loads == 0 {
        return Err(bad_program(path, "it has no loadable segment"));
    }
    let entry = elf.header.e_entry;
    let executable = mapper
        .pages
        .get(&page_floor(entry))
        .is_some_and(|(_, f)| f.exec);
    if !executable {
        return Err(bad_program(
            path,
            format!("its entry point {entry:#x} is not in an executable segment"),
        ));
    }
    Ok(entry)
}

/// Lay out argc, argv, an empty envp and an auxv holding only AT_NULL at
/// the top of the stack, as the Linux x86-64 ABI does; returns the stack
/// pointer, 16-byte aligned, at argc.
fn build_stack(mapper: &UserMapper<'_>, args: &[String]) -> Result<u64> {
    let mut sp = USER_STACK_TOP;
    let mut argv = Vec::with_capacity(args.len());
    for arg in args {
        sp -= arg.len() as u64 + 1;
        let mut bytes = Vec::with_capacity(arg.len() + 1);
        bytes.extend_from_slice(arg.as_bytes());
        bytes.push(0);
        mapper.copy(sp, &bytes)?;
        argv.push(sp);
    }
    // argc, argv[..], NULL, envp NULL, AT_NULL, 0.
    let words = 1 + argv.len() + 1 + 1 + 2;
    sp = (sp - (words as u64) * 8) & !15;
    if sp < USER_STACK_TOP - USER_STACK_SIZE / 2 {
        return Err(Error::OutOfGuestMemory(
            "the program's arguments (they fill half the stack)",
        ));
    }
    let mut table = Vec::with_capacity(words * 8);
    table.extend_from_slice(&(argv.len() as u64).to_le_bytes());
    for p in &argv {
        table.extend_from_slice(&p.to_le_bytes());
    }
    table.extend_from_slice(&[0u8; 8 * 4]);
    mapper.copy(sp, &table)?;
    Ok(sp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::paging::{translate, Access};
    use microvm_abi::layout::MIN_MEMORY;

    fn setup() -> (GuestRam, PageTables, FrameAllocator) {
        (
            GuestRam::new(MIN_MEMORY).unwrap(),
            PageTables::new(),
            FrameAllocator::new(MIN_MEMORY),
        )
    }

    #[test]
    fn flat_binary_at_user_base_with_argv() {
        let (ram, mut pt, mut frames) = setup();
        let p = load_program(
            &ram,
            &mut pt,
            &mut frames,
            &[0x90; 5000],
            Path::new("x"),
            &["prog".into(), "a".into()],
        )
        .unwrap();
        assert_eq!(p.entry, USER_BASE);
        assert_eq!(p.stack % 16, 0);
        let phys = translate(&ram, pt.root(), USER_BASE + 4999, Access::UserWrite).unwrap();
        assert_eq!(ram.read_obj::<u8>(phys).unwrap(), 0x90);
        let argc_at = translate(&ram, pt.root(), p.stack, Access::UserRead).unwrap();
        assert_eq!(ram.read_obj::<u64>(argc_at).unwrap(), 2);
        let argv0: u64 = ram.read_obj(argc_at + 8).unwrap();
        let s = translate(&ram, pt.root(), argv0, Access::UserRead).unwrap();
        let mut buf = [0u8; 5];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = ram.read_obj(s + i as u64).unwrap();
        }
        assert_eq!(&buf, b"prog\0");
    }

    #[test]
    fn refusals() {
        let (ram, mut pt, mut frames) = setup();
        let mut load = |img: &[u8]| {
            load_program(&ram, &mut pt, &mut frames, img, Path::new("x"), &[])
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
