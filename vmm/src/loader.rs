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
use goblin::container::{Container, Ctx, Endian};
use goblin::elf::{header, program_header, Elf, ProgramHeader};
use microvm_abi::layout::{
    KERNEL_BASE, KERNEL_END, KERNEL_LOAD, PAGE_SIZE, USER_BASE, USER_STACK_SIZE, USER_STACK_TOP,
};
use microvm_abi::{KernelHeader, ABI_VERSION, KERNEL_MAGIC};
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// ELF magic.
const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

/// Size of an ELF64 file header.
const EHDR_SIZE: usize = 64;

/// The largest program-header table read, as Linux's `load_elf_phdrs`.
const MAX_PHDRS_SIZE: u64 = 65536;

/// The largest PT_NOTE segment of a kernel (linux-loader reads its notes
/// one by one).
const MAX_KERNEL_NOTE: u64 = 64 << 10;

/// Bytes copied from a file into guest memory per read.
const COPY_CHUNK: usize = 64 << 10;

/// Where an image's bytes come from: memory (the built-in kernel, the
/// benchmark programs), or a regular file read on demand, of which only
/// the headers and the loaded parts are ever read.
#[derive(Debug, Clone, Copy)]
pub enum ImageBytes<'a> {
    /// Bytes in memory.
    Memory(&'a [u8]),
    /// An open regular file of `len` bytes.
    File {
        /// The file.
        file: &'a File,
        /// Its size when it was opened.
        len: u64,
    },
}

impl<'a> From<&'a [u8]> for ImageBytes<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        ImageBytes::Memory(bytes)
    }
}

impl ImageBytes<'_> {
    /// Its size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            ImageBytes::Memory(b) => b.len() as u64,
            ImageBytes::File { len, .. } => *len,
        }
    }

    /// True when it has no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the image starts with `prefix`.
    fn read_prefix_is(&self, prefix: &[u8]) -> bool {
        let mut buf = vec![0u8; prefix.len()];
        self.read_at(0, &mut buf).is_ok() && buf == prefix
    }

    /// Fill `buf` from `offset`; the range must lie inside the image.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|e| e > self.len()) {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        match self {
            ImageBytes::Memory(b) => {
                buf.copy_from_slice(&b[offset as usize..offset as usize + buf.len()]);
                Ok(())
            }
            ImageBytes::File { file, .. } => file.read_exact_at(buf, offset),
        }
    }

    /// Hand `[offset, offset + len)` to `put` in pieces, each with its
    /// offset from `offset`, reading a file a bounded chunk at a time.
    fn copy(
        &self,
        offset: u64,
        len: u64,
        mut put: impl FnMut(u64, &[u8]) -> Result<()>,
        fail: impl Fn(io::Error) -> Error,
    ) -> Result<()> {
        if let ImageBytes::Memory(b) = self {
            let end = offset.checked_add(len).filter(|&e| e <= b.len() as u64);
            let Some(end) = end else {
                return Err(fail(io::ErrorKind::UnexpectedEof.into()));
            };
            return put(0, &b[offset as usize..end as usize]);
        }
        let mut chunk = vec![0u8; COPY_CHUNK.min(len as usize)];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(COPY_CHUNK as u64) as usize;
            self.read_at(offset + done, &mut chunk[..n])
                .map_err(&fail)?;
            put(done, &chunk[..n])?;
            done += n as u64;
        }
        Ok(())
    }
}

/// A program or kernel file, opened and checked before a byte of it is
/// read: it must be a regular file (not a FIFO, which would block, nor a
/// device such as /dev/zero, which never ends).
#[derive(Debug)]
pub struct ImageFile {
    file: File,
    len: u64,
}

impl ImageFile {
    /// Open `path` and check what it is.
    pub fn open(path: &Path) -> Result<ImageFile> {
        let fail = |source: io::Error| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        // O_NONBLOCK: opening a FIFO would otherwise wait for a writer.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(fail)?;
        ImageFile::from_file(file).map_err(fail)
    }

    /// Check what the open `file` is: a regular file, or an error saying
    /// what it is instead.
    pub fn from_file(file: File) -> io::Result<ImageFile> {
        let meta = file.metadata()?;
        let kind = meta.file_type();
        let what = if kind.is_file() {
            None
        } else if kind.is_dir() {
            Some("a directory")
        } else if kind.is_fifo() {
            Some("a FIFO")
        } else if kind.is_char_device() {
            Some("a character device")
        } else if kind.is_block_device() {
            Some("a block device")
        } else if kind.is_socket() {
            Some("a socket")
        } else {
            Some("not a file")
        };
        if let Some(what) = what {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("it is {what}, not a regular file"),
            ));
        }
        Ok(ImageFile {
            file,
            len: meta.len(),
        })
    }

    /// Its bytes, read on demand.
    pub fn bytes(&self) -> ImageBytes<'_> {
        ImageBytes::File {
            file: &self.file,
            len: self.len,
        }
    }
}

/// The ELF64 header and program headers of `image`, read and checked
/// (little-endian ELF64, program-header table inside the file and of a
/// sane size). `bad` makes the error for a reason.
fn read_elf_headers(
    image: ImageBytes<'_>,
    bad: &dyn Fn(String) -> Error,
) -> Result<(header::Header, Vec<ProgramHeader>)> {
    let mut ehdr = [0u8; EHDR_SIZE];
    let have = image.len().min(EHDR_SIZE as u64) as usize;
    image
        .read_at(0, &mut ehdr[..have])
        .map_err(|e| bad(format!("cannot read it: {e}")))?;
    match ehdr[header::EI_CLASS] {
        header::ELFCLASS32 => {
            return Err(bad(
                "it is a 32-bit ELF; microvm runs x86-64 (ELF64) programs".into(),
            ))
        }
        header::ELFCLASS64 => {}
        _ => return Err(bad("not a valid ELF file (bad class byte)".into())),
    }
    if have < EHDR_SIZE {
        return Err(bad("not a valid ELF file (it is too short)".into()));
    }
    if ehdr[header::EI_DATA] != header::ELFDATA2LSB {
        return Err(bad("not a valid ELF file (not little-endian)".into()));
    }
    let hdr = Elf::parse_header(&ehdr).map_err(|e| bad(format!("not a valid ELF file ({e})")))?;
    if hdr.e_machine != header::EM_X86_64 {
        return Err(bad(format!(
            "it is an ELF for {}, not x86-64",
            header::machine_to_str(hdr.e_machine)
        )));
    }
    let phnum = u64::from(hdr.e_phnum);
    let size = phnum * goblin::elf64::program_header::SIZEOF_PHDR as u64;
    if phnum > 0 && usize::from(hdr.e_phentsize) != goblin::elf64::program_header::SIZEOF_PHDR {
        return Err(bad("not a valid ELF file (bad program header size)".into()));
    }
    if size > MAX_PHDRS_SIZE {
        return Err(bad(format!(
            "it has {phnum} program headers, more than the {} Linux reads",
            MAX_PHDRS_SIZE / goblin::elf64::program_header::SIZEOF_PHDR as u64
        )));
    }
    let mut table = vec![0u8; size as usize];
    image
        .read_at(hdr.e_phoff, &mut table)
        .map_err(|_| bad("its program headers lie outside the file".into()))?;
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let phdrs = ProgramHeader::parse(&table, 0, phnum as usize, ctx)
        .map_err(|e| bad(format!("not a valid ELF file ({e})")))?;
    Ok((hdr, phdrs))
}

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
    /// Where the vDSO and its data page are.
    pub vdso: crate::vdso::VdsoMapping,
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
    image: ImageBytes<'_>,
    path: &Path,
) -> Result<LoadedKernel> {
    if !image.read_prefix_is(ELF_MAGIC) {
        return Err(bad_kernel(path, "not an ELF image"));
    }
    let (ehdr, phdrs) = read_elf_headers(image, &|reason| bad_kernel(path, reason))?;
    if ehdr.e_entry < KERNEL_BASE {
        return Err(bad_kernel(path, "entry point is not a kernel address"));
    }
    let mut pages: BTreeMap<u64, PageFlags> = BTreeMap::new();
    for ph in &phdrs {
        if ph.p_type == program_header::PT_NOTE && ph.p_filesz > MAX_KERNEL_NOTE {
            return Err(bad_kernel(
                path,
                format!("a note segment is larger than {MAX_KERNEL_NOTE} bytes"),
            ));
        }
        if ph.p_type != program_header::PT_LOAD {
            continue;
        }
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
        if ph
            .p_offset
            .checked_add(ph.p_filesz)
            .is_none_or(|e| e > image.len())
        {
            return Err(bad_kernel(path, "a segment lies outside the file"));
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
    // linux-loader reads the headers again and the segments checked
    // above: at most the kernel area's size.
    let loaded = match image {
        ImageBytes::Memory(bytes) => linux_load(ram, &mut io::Cursor::new(bytes)),
        ImageBytes::File { file, .. } => match file.try_clone() {
            Ok(mut file) => linux_load(ram, &mut file),
            Err(e) => Err(e.to_string()),
        },
    };
    loaded.map_err(|e| bad_kernel(path, format!("cannot load it: {e}")))?;
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
        ("full return", header.full_return),
    ] {
        if !executable(addr) {
            return Err(bad_kernel(
                path,
                format!("its {what} ({addr:#x}) lie outside its code"),
            ));
        }
    }
    let entry = ehdr.e_entry;
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

/// Load the ELF kernel from `reader` with linux-loader, each segment at
/// its physical address.
fn linux_load<F>(ram: &GuestRam, reader: &mut F) -> std::result::Result<(), String>
where
    F: io::Read + io::Seek + vm_memory::ReadVolatile,
{
    <linux_loader::loader::Elf as linux_loader::loader::KernelLoader>::load(
        ram.mem(),
        None,
        reader,
        None,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// The argv a program run as `program` with `args` gets: `argv[0]` is the
/// program's file name, as a shell would give it.
pub fn guest_argv(program: &Path, args: &[String]) -> Vec<String> {
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(
        program
            .file_name()
            .map_or_else(|| program.to_string_lossy(), |n| n.to_string_lossy())
            .into_owned(),
    );
    argv.extend(args.iter().cloned());
    argv
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
pub use microvm_abi::linux::consts::auxv;

/// Load the program `image` (ELF or flat) into `space` and lay out its
/// stack with `start`. A dynamic program is refused: it needs
/// [`load_program_with`] and a way to open its interpreter.
pub fn load_program(
    ram: &GuestRam,
    space: &mut AddressSpace,
    image: ImageBytes<'_>,
    path: &Path,
    start: &StartInfo<'_>,
) -> Result<LoadedProgram> {
    load_program_with(ram, space, image, path, start, None)
}

/// [`load_program`], opening a dynamic program's interpreter with
/// `interp` (the file view): the program is mapped as Linux's
/// binfmt_elf maps it (ET_DYN at [`DYN_BASE`], ET_EXEC at its
/// addresses), the interpreter below the mmap base, and ring 3 starts
/// at the interpreter's entry with AT_BASE, AT_PHDR, AT_ENTRY set.
pub fn load_program_with(
    ram: &GuestRam,
    space: &mut AddressSpace,
    image: ImageBytes<'_>,
    path: &Path,
    start: &StartInfo<'_>,
    interp: Option<&dyn OpenInterpreter>,
) -> Result<LoadedProgram> {
    if image.is_empty() {
        return Err(bad_program(path, "the file is empty"));
    }
    let map = |space: &mut AddressSpace, start: u64, end: u64, flags: PageFlags| {
        space
            .map(ram, start, end, flags)
            .map_err(|e| e.program_error(path))
    };
    let (entry, aux, end) = if image.read_prefix_is(ELF_MAGIC) {
        load_elf(ram, space, image, path, interp)?
    } else {
        // A flat image is loaded whole: it must fit before it is read.
        let room = space.free_frames() * PAGE_SIZE;
        if image.len() > room {
            return Err(bad_program(
                path,
                format!(
                    "it is {} bytes, more than the {} bytes of guest memory left for programs (raise --memory)",
                    image.len(),
                    room
                ),
            ));
        }
        let end = USER_BASE + image.len();
        let rwx = PageFlags {
            write: true,
            exec: true,
            user: true,
        };
        map(space, USER_BASE, end, rwx)?;
        copy_into(ram, space, image, 0, image.len(), USER_BASE, path)?;
        let aux = ElfAux {
            entry: USER_BASE,
            ..ElfAux::default()
        };
        (USER_BASE, aux, end)
    };
    let vdso = crate::vdso::map(ram, space)?;
    let aux = ElfAux {
        sysinfo_ehdr: vdso.base,
        ..aux
    };
    // Room for the program's own use, as before, plus what its arguments
    // and environment take (checked against Linux's limit first).
    let args = arg_bytes(start).map_err(|reason| bad_program(path, reason))?;
    let stack_bottom = USER_STACK_TOP - USER_STACK_SIZE - args.next_multiple_of(PAGE_SIZE);
    if space.overlaps(stack_bottom, USER_STACK_TOP) {
        return Err(bad_program(path, "it overlaps the stack area"));
    }
    space
        .map(ram, stack_bottom, USER_STACK_TOP, PageFlags::USER_RW)
        .map_err(|e| match e {
            crate::space::MapError::NoMemory => {
                Error::OutOfGuestMemory("the program's stack (with its arguments and environment)")
            }
            e => e.program_error(path),
        })?;
    space.set_brk_start(end);
    let stack = build_stack(ram, space, start, &aux)?;
    Ok(LoadedProgram { entry, stack, vdso })
}

/// What the auxiliary vector says about an ELF program.
#[derive(Debug, Clone, Copy, Default)]
struct ElfAux {
    phdr: u64,
    phent: u64,
    phnum: u64,
    /// AT_BASE: where the interpreter is (0 without one).
    base: u64,
    /// AT_ENTRY: the program's own entry point.
    entry: u64,
    /// AT_SYSINFO_EHDR: the vDSO.
    sysinfo_ehdr: u64,
}

/// Copy `[offset, offset + len)` of `image` into the mapped user range at
/// `vaddr`, a bounded chunk at a time.
fn copy_into(
    ram: &GuestRam,
    space: &mut AddressSpace,
    image: ImageBytes<'_>,
    offset: u64,
    len: u64,
    vaddr: u64,
    path: &Path,
) -> Result<()> {
    image.copy(
        offset,
        len,
        |at, bytes| space.copy_in(ram, vaddr + at, bytes),
        |e| bad_program(path, format!("cannot read it: {e}")),
    )
}

/// A dynamic program's interpreter (its `PT_INTERP`), opened.
#[derive(Debug)]
pub enum Interpreter {
    /// A regular file (from the file view).
    File(ImageFile),
    /// Bytes in memory (tests, fuzzing).
    Memory(Vec<u8>),
}

impl Interpreter {
    /// Its bytes.
    pub fn bytes(&self) -> ImageBytes<'_> {
        match self {
            Interpreter::File(f) => f.bytes(),
            Interpreter::Memory(b) => ImageBytes::Memory(b),
        }
    }
}

/// Opens a dynamic program's interpreter by the path its `PT_INTERP`
/// names, as the program would see that path.
pub trait OpenInterpreter {
    /// Open `path`, or say in a few words why not.
    fn open_interpreter(&self, path: &Path) -> std::result::Result<Interpreter, String>;
}

impl<F> OpenInterpreter for F
where
    F: Fn(&Path) -> std::result::Result<Interpreter, String>,
{
    fn open_interpreter(&self, path: &Path) -> std::result::Result<Interpreter, String> {
        self(path)
    }
}

impl OpenInterpreter for crate::syscall::view::View {
    /// From the file view, read-only, as any open of the program's is.
    fn open_interpreter(&self, path: &Path) -> std::result::Result<Interpreter, String> {
        use std::os::unix::ffi::OsStrExt;
        let flags = nix::fcntl::OFlag::O_RDONLY
            | nix::fcntl::OFlag::O_NOCTTY
            | nix::fcntl::OFlag::O_NONBLOCK;
        let fd = self
            .open(path.as_os_str().as_bytes(), flags)
            .map_err(|e| e.desc().to_string())?;
        ImageFile::from_file(File::from(fd))
            .map(Interpreter::File)
            .map_err(|e| e.to_string())
    }
}

/// Where a dynamic program (ET_DYN with an interpreter) is placed when
/// nothing asks otherwise: Linux's ELF_ET_DYN_BASE without randomisation,
/// which `setarch -R` runs show.
pub const DYN_BASE: u64 = 0x5555_5555_4000;

/// The PT_LOAD segments of `phdrs`.
fn loads(phdrs: &[ProgramHeader]) -> impl Iterator<Item = &ProgramHeader> {
    phdrs.iter().filter(|p| p.p_type == program_header::PT_LOAD)
}

/// `[lowest page, highest end)` of the PT_LOAD segments' addresses
/// (`None` without one, or if an end overflows).
fn load_span(phdrs: &[ProgramHeader]) -> Option<(u64, u64)> {
    let lo = loads(phdrs).map(|p| page_floor(p.p_vaddr)).min()?;
    let mut hi = 0;
    for p in loads(phdrs) {
        hi = hi.max(p.p_vaddr.checked_add(p.p_memsz)?);
    }
    Some((lo, hi))
}

/// The load bias of a program with an interpreter, as Linux's
/// load_elf_binary computes it: ELF_ET_DYN_BASE, aligned down to the
/// largest power-of-two `p_align` of its segments, less the first
/// segment's page.
fn dyn_bias(phdrs: &[ProgramHeader]) -> u64 {
    let align = loads(phdrs)
        .map(|p| p.p_align)
        .filter(|a| a.is_power_of_two())
        .max()
        .unwrap_or(0)
        .max(PAGE_SIZE);
    let first = loads(phdrs).next().map_or(0, |p| p.p_vaddr);
    page_floor((DYN_BASE & !(align - 1)).wrapping_sub(first))
}

/// The path a `PT_INTERP` segment names: at most PATH_MAX bytes, inside
/// the file, NUL-terminated, as Linux requires (ENOEXEC otherwise).
fn interp_path(
    image: ImageBytes<'_>,
    ph: &ProgramHeader,
    path: &Path,
) -> Result<std::ffi::OsString> {
    use std::os::unix::ffi::OsStringExt;
    let bad = |why: &str| bad_program(path, format!("its interpreter path (PT_INTERP) {why}"));
    if ph.p_filesz < 2 || ph.p_filesz > libc::PATH_MAX as u64 {
        return Err(bad("is empty or longer than PATH_MAX"));
    }
    let mut buf = vec![0u8; ph.p_filesz as usize];
    image
        .read_at(ph.p_offset, &mut buf)
        .map_err(|_| bad("lies outside the file"))?;
    if buf.last() != Some(&0) {
        return Err(bad("is not NUL-terminated"));
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(len);
    if buf.is_empty() {
        return Err(bad("is empty"));
    }
    Ok(std::ffi::OsString::from_vec(buf))
}

/// A path the image names, for microvm's messages: as is when it is
/// printable ASCII, else quoted with every other byte escaped (it reaches
/// a terminal).
fn shown_path(name: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    let b = name.as_bytes();
    if b.iter().all(|c| (b' '..=b'~').contains(c)) {
        name.to_string_lossy().into_owned()
    } else {
        crate::exception::escaped(b)
    }
}

/// An ELF image mapped into the address space.
#[derive(Debug, Clone, Copy)]
struct Mapped {
    /// Its entry point (relocated).
    entry: u64,
    /// Where its program headers are in memory (0 if in no segment).
    phdr: u64,
    /// The end of its highest segment.
    end: u64,
}

/// Map the PT_LOAD segments of `image` at `bias` + their addresses, with
/// their rights, copy their file bytes in, and check the entry point is
/// executable. `what` names the image in errors ("its interpreter ..."),
/// empty for the program itself.
#[allow(clippy::too_many_arguments)]
fn map_segments(
    ram: &GuestRam,
    space: &mut AddressSpace,
    image: ImageBytes<'_>,
    ehdr: &header::Header,
    phdrs: &[ProgramHeader],
    bias: u64,
    path: &Path,
    what: &str,
) -> Result<Mapped> {
    let say = |m: String| {
        let reason = if what.is_empty() {
            m
        } else {
            format!("{what}: {m}")
        };
        bad_program(path, reason)
    };
    let mut end_max = 0;
    let mut loaded = 0;
    let mut phdr = None;
    for ph in phdrs {
        if ph.p_type == program_header::PT_PHDR {
            phdr = Some(bias.wrapping_add(ph.p_vaddr));
        }
        if ph.p_type != program_header::PT_LOAD {
            continue;
        }
        let vaddr = bias.checked_add(ph.p_vaddr);
        let end = vaddr.and_then(|v| v.checked_add(ph.p_memsz));
        let file_end = ph.p_offset.checked_add(ph.p_filesz);
        if ph.p_filesz > ph.p_memsz || file_end.is_none_or(|e| e > image.len()) {
            return Err(say("a segment lies outside the file".into()));
        }
        let (Some(vaddr), Some(end)) = (vaddr, end) else {
            return Err(say("a segment's address overflows".into()));
        };
        if vaddr < crate::space::MMAP_MIN_ADDR || end > crate::space::MMAP_TOP {
            return Err(say(format!(
                "a segment at {vaddr:#x} lies outside user space"
            )));
        }
        space
            .map(ram, vaddr, end, segment_flags(ph.p_flags, true))
            .map_err(|e| e.program_error(path))?;
        copy_into(ram, space, image, ph.p_offset, ph.p_filesz, vaddr, path)?;
        // The program headers are in the segment that holds e_phoff.
        if phdr.is_none() && (ph.p_offset..ph.p_offset + ph.p_filesz).contains(&ehdr.e_phoff) {
            phdr = Some(vaddr + (ehdr.e_phoff - ph.p_offset));
        }
        end_max = end_max.max(end);
        loaded += 1;
    }
    if loaded == 0 {
        return Err(say("it has no loadable segment".into()));
    }
    let entry = bias.wrapping_add(ehdr.e_entry);
    if !space.flags_at(entry).is_some_and(|f| f.exec) {
        return Err(say(format!(
            "its entry point {entry:#x} is not in an executable segment"
        )));
    }
    Ok(Mapped {
        entry,
        phdr: phdr.unwrap_or(0),
        end: end_max,
    })
}

/// Load an ELF program, and its interpreter if it names one (opened with
/// `interp`): where ring 3 starts, what auxv says, and the program's end.
fn load_elf(
    ram: &GuestRam,
    space: &mut AddressSpace,
    image: ImageBytes<'_>,
    path: &Path,
    interp: Option<&dyn OpenInterpreter>,
) -> Result<(u64, ElfAux, u64)> {
    let (ehdr, phdrs) = read_elf_headers(image, &|reason| bad_program(path, reason))?;
    // As Linux: the first PT_INTERP counts.
    let interp_ph = phdrs.iter().find(|p| p.p_type == program_header::PT_INTERP);
    let base = match (ehdr.e_type, interp_ph) {
        (header::ET_EXEC, _) => 0,
        (header::ET_DYN, Some(_)) => dyn_bias(&phdrs),
        // static-pie: self-relocating, placed at a fixed base.
        (header::ET_DYN, None) => PIE_BASE,
        (t, _) => {
            return Err(bad_program(
                path,
                format!("it is an ELF {}, not an executable", header::et_to_str(t)),
            ))
        }
    };
    let interpreter = match interp_ph {
        None => None,
        Some(ph) => {
            let name = interp_path(image, ph, path)?;
            let shown = shown_path(&name);
            let Some(opener) = interp else {
                return Err(bad_program(
                    path,
                    format!(
                        "it is dynamically linked and its interpreter {shown} is read from the file view, which --no-fs took away (run without it, or with --fs-root DIR holding the interpreter)"
                    ),
                ));
            };
            let file = opener.open_interpreter(Path::new(&name)).map_err(|why| {
                bad_program(path, format!("cannot open its interpreter {shown}: {why}"))
            })?;
            Some((shown, file))
        }
    };
    let program = map_segments(ram, space, image, &ehdr, &phdrs, base, path, "")?;
    let mut aux = ElfAux {
        phdr: program.phdr,
        phent: u64::from(ehdr.e_phentsize),
        phnum: u64::from(ehdr.e_phnum),
        base: 0,
        entry: program.entry,
        ..ElfAux::default()
    };
    let Some((shown, file)) = interpreter else {
        return Ok((program.entry, aux, program.end));
    };
    let what = format!("its interpreter {shown}");
    let bytes = file.bytes();
    if !bytes.read_prefix_is(ELF_MAGIC) {
        return Err(bad_program(path, format!("{what}: not an ELF file")));
    }
    let (iehdr, iphdrs) = read_elf_headers(bytes, &|reason| {
        bad_program(path, format!("{what}: {reason}"))
    })?;
    let Some((lo, hi)) = load_span(&iphdrs) else {
        return Err(bad_program(
            path,
            format!("{what}: it has no loadable segment"),
        ));
    };
    let span = hi - lo;
    if span > crate::space::MMAP_TOP {
        return Err(bad_program(
            path,
            format!("{what}: its segments span too much"),
        ));
    }
    let ibias = match iehdr.e_type {
        header::ET_EXEC => 0,
        // Where mmap would put it, top-down below the mmap base, as
        // Linux's load_elf_interp does.
        header::ET_DYN => space
            .find_free(0, page_ceil(span))
            .ok_or_else(|| bad_program(path, format!("{what}: no room for it")))?
            .wrapping_sub(lo),
        t => {
            return Err(bad_program(
                path,
                format!(
                    "{what}: it is an ELF {}, not an interpreter",
                    header::et_to_str(t)
                ),
            ))
        }
    };
    if space.overlaps(
        ibias.wrapping_add(lo),
        ibias.wrapping_add(lo).saturating_add(span),
    ) {
        return Err(bad_program(
            path,
            format!("{what}: it overlaps the program"),
        ));
    }
    let mapped = map_segments(ram, space, bytes, &iehdr, &iphdrs, ibias, path, &what)?;
    aux.base = ibias;
    Ok((mapped.entry, aux, program.end))
}

fn page_ceil(a: u64) -> u64 {
    crate::space::page_ceil(a)
}

/// The longest single argument or environment string, NUL included
/// (Linux's MAX_ARG_STRLEN, 32 pages).
pub const MAX_ARG_STRLEN: u64 = 32 * PAGE_SIZE;

/// Linux's ARG_MAX: the least room for arguments whatever RLIMIT_STACK.
const ARG_MAX: u64 = 32 * PAGE_SIZE;

/// Linux's default stack limit (`_STK_LIM`).
const STK_LIM: u64 = 8 << 20;

/// How many bytes the strings and pointers of argv and the environment
/// may take, as Linux's exec computes it (fs/exec.c): a quarter of
/// microvm's own RLIMIT_STACK (which an exec'd program would inherit; 8
/// MiB by default, so 2 MiB), at most 6 MiB, at least ARG_MAX.
pub fn arg_limit() -> u64 {
    let mut rl = libc::rlimit {
        rlim_cur: STK_LIM,
        rlim_max: STK_LIM,
    };
    // SAFETY: getrlimit writes one struct rlimit into `rl`.
    if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut rl) } != 0 {
        rl.rlim_cur = STK_LIM;
    }
    (STK_LIM / 4 * 3).min(rl.rlim_cur / 4).max(ARG_MAX)
}

/// The stack bytes the start-up block takes (strings, pointers, auxv,
/// AT_RANDOM, alignment), or why Linux would refuse to exec with these
/// arguments (E2BIG).
fn arg_bytes(start: &StartInfo<'_>) -> std::result::Result<u64, String> {
    let Start { argv, envp, execfn } = start.start;
    let too_long = |what: &str, i: usize, len: usize| {
        format!(
            "{what} {i} is {len} bytes, more than Linux's {} (MAX_ARG_STRLEN): the exec would fail with E2BIG, Argument list too long",
            MAX_ARG_STRLEN - 1
        )
    };
    for (i, a) in argv.iter().enumerate() {
        if a.len() as u64 >= MAX_ARG_STRLEN {
            return Err(too_long("argument", i, a.len()));
        }
    }
    for (i, e) in envp.iter().enumerate() {
        if e.len() as u64 >= MAX_ARG_STRLEN {
            return Err(too_long("environment string", i, e.len()));
        }
    }
    let strings: u64 = argv
        .iter()
        .chain(envp)
        .map(|s| s.len() as u64 + 1)
        .sum::<u64>()
        + execfn.len() as u64
        + 1;
    let pointers = (argv.len().max(1) + envp.len()) as u64 * 8;
    let limit = arg_limit();
    if strings + pointers > limit {
        return Err(format!(
            "its arguments and environment take {} bytes, more than the {limit} Linux allows (a quarter of RLIMIT_STACK): the exec would fail with E2BIG, Argument list too long",
            strings + pointers
        ));
    }
    // The rest: the platform string, AT_RANDOM, argc, the NULLs, the auxv
    // pairs, and alignment.
    let rest = 7 + 16 + 8 * (3 + 2 * (AUXV_ENTRIES as u64 + 1)) + 2 * 16;
    Ok(strings + pointers + rest)
}

/// How many auxv pairs the loader writes (AT_NULL aside).
const AUXV_ENTRIES: usize = 19;

/// Lay out the initial stack as the Linux x86-64 ABI does: argc, argv[],
/// NULL, envp[], NULL, auxv pairs ending with AT_NULL, then the strings
/// and AT_RANDOM's bytes above them; the stack pointer, 16-byte aligned,
/// points at argc.
fn build_stack(
    ram: &GuestRam,
    space: &mut AddressSpace,
    start: &StartInfo<'_>,
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
    let auxv: [(u64, u64); AUXV_ENTRIES] = [
        // First, as Linux's ARCH_DLINFO puts it.
        (auxv::AT_SYSINFO_EHDR, aux.sysinfo_ehdr),
        (auxv::AT_PHDR, aux.phdr),
        (auxv::AT_PHENT, aux.phent),
        (auxv::AT_PHNUM, aux.phnum),
        (auxv::AT_PAGESZ, PAGE_SIZE),
        (auxv::AT_BASE, aux.base),
        (auxv::AT_FLAGS, 0),
        (auxv::AT_ENTRY, aux.entry),
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
            ImageBytes::Memory(&[0x90; 5000]),
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
        assert_eq!(seen.len(), 19);
        assert_eq!(seen[&auxv::AT_SYSINFO_EHDR], p.vdso.base);
    }

    /// An ELF64 x86-64 image of `len` bytes: header, program headers
    /// (type, flags, offset, vaddr, filesz, memsz, align), and `bytes`
    /// placed at their offsets.
    fn elf(
        e_type: u16,
        entry: u64,
        phdrs: &[[u64; 7]],
        bytes: &[(usize, &[u8])],
        len: usize,
    ) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[..4].copy_from_slice(ELF_MAGIC);
        b[4] = header::ELFCLASS64;
        b[5] = header::ELFDATA2LSB;
        b[6] = 1;
        b[16..18].copy_from_slice(&e_type.to_le_bytes());
        b[18..20].copy_from_slice(&header::EM_X86_64.to_le_bytes());
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[24..32].copy_from_slice(&entry.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[52..54].copy_from_slice(&64u16.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        b[58..60].copy_from_slice(&64u16.to_le_bytes());
        for (i, p) in phdrs.iter().enumerate() {
            let at = 64 + 56 * i;
            b[at..at + 4].copy_from_slice(&(p[0] as u32).to_le_bytes());
            b[at + 4..at + 8].copy_from_slice(&(p[1] as u32).to_le_bytes());
            for (j, v) in [p[2], p[3], p[3], p[4], p[5], p[6]].iter().enumerate() {
                b[at + 8 + 8 * j..at + 16 + 8 * j].copy_from_slice(&v.to_le_bytes());
            }
        }
        for (at, bytes) in bytes {
            b[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        b
    }

    const PT_LOAD: u64 = program_header::PT_LOAD as u64;
    const PT_INTERP: u64 = program_header::PT_INTERP as u64;
    const PT_PHDR: u64 = program_header::PT_PHDR as u64;
    const RX: u64 = (program_header::PF_R | program_header::PF_X) as u64;

    /// A PIE asking for `interp` (its PT_INTERP bytes), entry at 0x100.
    fn dynamic_program(interp: &[u8], align: u64) -> Vec<u8> {
        elf(
            header::ET_DYN,
            0x100,
            &[
                [PT_PHDR, 4, 64, 64, 3 * 56, 3 * 56, 8],
                [
                    PT_INTERP,
                    4,
                    0x200,
                    0x200,
                    interp.len() as u64,
                    interp.len() as u64,
                    1,
                ],
                [PT_LOAD, RX, 0, 0, 0x1000, 0x1000, align],
            ],
            &[(0x200, interp)],
            0x1000,
        )
    }

    /// An ET_DYN interpreter spanning three pages, entry at 0x80.
    fn interpreter(e_type: u16) -> Vec<u8> {
        elf(
            e_type,
            0x80,
            &[[PT_LOAD, RX, 0, 0, 0x1000, 0x3000, 0x1000]],
            &[],
            0x1000,
        )
    }

    fn auxv_of(
        ram: &GuestRam,
        space: &AddressSpace,
        stack: u64,
    ) -> std::collections::HashMap<u64, u64> {
        let argc = read_u64(ram, space, stack);
        let mut at = stack + 8 * (argc + 1) + 8;
        while read_u64(ram, space, at) != 0 {
            at += 8;
        }
        at += 8;
        let mut seen = std::collections::HashMap::new();
        loop {
            let (k, v) = (read_u64(ram, space, at), read_u64(ram, space, at + 8));
            if k == auxv::AT_NULL {
                return seen;
            }
            seen.insert(k, v);
            at += 16;
        }
    }

    #[test]
    fn a_dynamic_program_starts_in_its_interpreter_as_linux_starts_it() {
        let (ram, mut space) = setup();
        let asked = std::cell::RefCell::new(None);
        let open = |p: &Path| {
            *asked.borrow_mut() = Some(p.to_path_buf());
            Ok(Interpreter::Memory(interpreter(header::ET_DYN)))
        };
        let image = dynamic_program(b"/lib/ld.so\0", 0x1000);
        let p = load_dynamic(&ram, &mut space, image.as_slice(), &open).unwrap();
        assert_eq!(asked.borrow().as_deref(), Some(Path::new("/lib/ld.so")));
        // The interpreter right below the mmap base, as `setarch -R`.
        let base = crate::space::MMAP_TOP - 0x3000;
        assert_eq!(p.entry, base + 0x80);
        let aux = auxv_of(&ram, &space, p.stack);
        assert_eq!(aux[&auxv::AT_BASE], base);
        assert_eq!(aux[&auxv::AT_ENTRY], DYN_BASE + 0x100);
        assert_eq!(aux[&auxv::AT_PHDR], DYN_BASE + 64);
        assert_eq!(aux[&auxv::AT_PHNUM], 3);
        // Both mapped executable; the interpreter's bss too.
        assert!(space.flags_at(DYN_BASE).is_some_and(|f| f.exec));
        assert!(space.flags_at(base + 0x2fff).is_some());
        // The heap starts after the program, not the interpreter.
        assert_eq!(space.current_brk(), DYN_BASE + 0x1000);
        space.check(&ram).unwrap();
    }

    #[test]
    fn a_dynamic_program_is_placed_at_its_largest_alignment() {
        let (ram, mut space) = setup();
        let open = |_: &Path| Ok(Interpreter::Memory(interpreter(header::ET_DYN)));
        let image = dynamic_program(b"/ld\0", 0x20_0000);
        let p = load_dynamic(&ram, &mut space, image.as_slice(), &open).unwrap();
        let aux = auxv_of(&ram, &space, p.stack);
        assert_eq!(aux[&auxv::AT_ENTRY], 0x5555_5540_0000 + 0x100);
    }

    #[test]
    fn an_interpreter_path_reaches_the_terminal_escaped() {
        let (ram, mut space) = setup();
        let open = |_: &Path| Err::<Interpreter, String>("No such file or directory".into());
        let image = dynamic_program(b"/ld\x1b]0;owned\x07\x1b[2J\xff\0", 0x1000);
        let e = load_dynamic(&ram, &mut space, image.as_slice(), &open)
            .unwrap_err()
            .to_string();
        assert!(!e.bytes().any(|b| b.is_ascii_control()), "{e:?}");
        assert_eq!(
            e,
            "cannot run x: cannot open its interpreter \"/ld\\33]0;owned\\7\\33[2J\\377\": No such file or directory"
        );
    }

    /// `image` loaded as the program `x` with no arguments, its
    /// interpreter opened by `open`.
    fn load_dynamic(
        ram: &GuestRam,
        space: &mut AddressSpace,
        image: &[u8],
        open: &dyn OpenInterpreter,
    ) -> Result<LoadedProgram> {
        load_program_with(
            ram,
            space,
            image.into(),
            Path::new("x"),
            &start(&[], &[]),
            Some(open),
        )
    }

    #[test]
    fn interpreter_refusals_say_what_is_wrong() {
        let load = |image: &[u8], interp: std::result::Result<Vec<u8>, String>| {
            let (ram, mut space) = setup();
            let open = |_: &Path| interp.clone().map(Interpreter::Memory);
            load_dynamic(&ram, &mut space, image, &open)
                .unwrap_err()
                .to_string()
        };
        let good = interpreter(header::ET_DYN);
        let e = load(&dynamic_program(b"/lib/ld.so", 0x1000), Ok(good.clone()));
        assert!(e.contains("not NUL-terminated"), "{e}");
        let e = load(&dynamic_program(b"\0\0", 0x1000), Ok(good.clone()));
        assert!(e.contains("is empty"), "{e}");
        let e = load(
            &dynamic_program(b"/ld\0", 0x1000),
            Err("No such file or directory".into()),
        );
        assert_eq!(
            e,
            "cannot run x: cannot open its interpreter /ld: No such file or directory"
        );
        let e = load(&dynamic_program(b"/ld\0", 0x1000), Ok(vec![0x90; 100]));
        assert!(e.contains("its interpreter /ld: not an ELF file"), "{e}");
        let e = load(
            &dynamic_program(b"/ld\0", 0x1000),
            Ok(interpreter(header::ET_REL)),
        );
        assert!(e.contains("not an interpreter"), "{e}");
        // Its segment past its file, or at an address that overflows.
        let bad = elf(
            header::ET_DYN,
            0,
            &[[PT_LOAD, RX, 0, 0, 0x2000, 0x2000, 0x1000]],
            &[],
            0x1000,
        );
        let e = load(&dynamic_program(b"/ld\0", 0x1000), Ok(bad));
        assert!(
            e.contains("its interpreter /ld: a segment lies outside the file"),
            "{e}"
        );
        let huge = elf(
            header::ET_DYN,
            0,
            &[[PT_LOAD, RX, 0, 0, 0x1000, u64::MAX - 0x100, 0x1000]],
            &[],
            0x1000,
        );
        let e = load(&dynamic_program(b"/ld\0", 0x1000), Ok(huge));
        assert!(e.contains("its interpreter /ld:"), "{e}");
        // An ET_EXEC interpreter on top of an ET_EXEC program.
        let exec = |interp: &[u8]| {
            elf(
                header::ET_EXEC,
                0x40_0000,
                &[
                    [
                        PT_INTERP,
                        4,
                        0x200,
                        0x200,
                        interp.len() as u64,
                        interp.len() as u64,
                        1,
                    ],
                    [PT_LOAD, RX, 0, 0x40_0000, 0x1000, 0x1000, 0x1000],
                ],
                &[(0x200, interp)],
                0x1000,
            )
        };
        let e = load(&exec(b"/ld\0"), Ok(exec(b"/ld\0")));
        assert!(e.contains("overlaps the program"), "{e}");
        // Without a way to open it.
        let (ram, mut space) = setup();
        let e = load_program(
            &ram,
            &mut space,
            dynamic_program(b"/ld\0", 0x1000).as_slice().into(),
            Path::new("x"),
            &start(&[], &[]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("its interpreter /ld is read from the file view"),
            "{e}"
        );
    }

    #[test]
    fn refusals() {
        let (ram, mut space) = setup();
        let mut load = |img: &[u8]| {
            load_program(
                &ram,
                &mut space,
                img.into(),
                Path::new("x"),
                &start(&[], &[]),
            )
            .unwrap_err()
            .to_string()
        };
        assert!(load(b"").contains("empty"));
        assert!(load(b"\x7fELF\x01\x01\x01").contains("32-bit"));
        assert!(load(b"\x7fELF\x02\x01\x01").contains("not a valid ELF"));
        let big = vec![0u8; MIN_MEMORY as usize];
        assert!(load(&big).contains("more than"));
    }

    #[test]
    fn arguments_are_held_to_linux_s_limits() {
        let (ram, mut space) = setup();
        let long = ["a".repeat(MAX_ARG_STRLEN as usize)];
        let err = load_program(
            &ram,
            &mut space,
            ImageBytes::Memory(&[0x90; 16]),
            Path::new("x"),
            &start(&long, &[]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("more than Linux's 131071 (MAX_ARG_STRLEN)"),
            "{err}"
        );
        assert!(err.contains("E2BIG"), "{err}");
        let env = ["e".repeat(MAX_ARG_STRLEN as usize)];
        let err = load_program(
            &ram,
            &mut space,
            ImageBytes::Memory(&[0x90; 16]),
            Path::new("x"),
            &start(&[], &env),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("environment string 0"), "{err}");
        // Just under the limit: accepted, and the stack is mapped for it.
        let ok = ["a".repeat(MAX_ARG_STRLEN as usize - 1)];
        let (ram, mut space) = setup();
        let p = load_program(
            &ram,
            &mut space,
            ImageBytes::Memory(&[0x90; 16]),
            Path::new("x"),
            &start(&ok, &[]),
        )
        .unwrap();
        assert!(p.stack < USER_STACK_TOP - MAX_ARG_STRLEN);
        assert_eq!(read_u64(&ram, &space, p.stack), 1, "argc");
    }
}
