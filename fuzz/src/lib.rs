//! Fuzz harnesses for microvm's parsers of guest input.
//!
//! The cargo-fuzz targets in `fuzz_targets/` are one line each around the
//! functions here, and the normal test suite (`tests/fuzz_inputs.rs`)
//! replays every checked-in input (seed corpora and crash regressions)
//! through the same functions, so a crash the fuzzer found stays fixed.
//!
//! Nothing here needs KVM: guest memory is a [`GuestRam`] with page tables
//! and an [`AddressSpace`] built the way the run loop builds them. A harness
//! panics only when a property microvm promises is violated (libFuzzer
//! reports that as a crash); every guest input must otherwise be answered,
//! not panicked on.
//!
//! This file is self-contained (no `mod` files) so that the test suite can
//! include it with `#[path]`.

use arbitrary::Unstructured;
use microvm::arch::paging::{translate, Access, PageFlags, PageTables};
use microvm::hypercall::{self, Decoded};
use microvm::loader::{self, Start, StartInfo};
use microvm::memory::{FrameAllocator, GuestRam};
use microvm::space::AddressSpace;
use microvm::stop::{StopHandle, StopReason};
use microvm::syscall::view::View;
use microvm::syscall::{nr, Disposition, Guest, KernelRequests, SyscallService};
use microvm::trace::{TraceFormat, Tracer};
use microvm::usermem::UserMemory;
use microvm_abi::layout::{
    MIN_MEMORY, PAGE_SIZE, PAGE_TABLES_END, PAGE_TABLES_START, USER_STACK_SIZE, USER_STACK_TOP,
};
use microvm_abi::{SharedPage, TrapFrame};
use std::collections::HashSet;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

// ---------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------

/// Fresh guest RAM (the smallest microvm accepts) and an empty user space.
fn fresh_space() -> (GuestRam, AddressSpace) {
    let ram = GuestRam::new(MIN_MEMORY).expect("8 MiB of guest RAM");
    let space = AddressSpace::new(PageTables::new(), FrameAllocator::new(MIN_MEMORY));
    (ram, space)
}

/// A `Write` that keeps what it is given, shared with the harness.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

/// A text tracer (with `--regs`, and the summary) and a JSON tracer.
struct Tracers {
    text: Tracer,
    json: Tracer,
    text_out: Capture,
    json_out: Capture,
    records: usize,
}

impl Tracers {
    fn new() -> Self {
        let text_out = Capture::default();
        let json_out = Capture::default();
        Tracers {
            text: Tracer::new(TraceFormat::Text, true, Box::new(text_out.clone()), false)
                .with_summary(),
            json: Tracer::new(TraceFormat::Json, true, Box::new(json_out.clone()), false),
            text_out,
            json_out,
            records: 0,
        }
    }

    fn exception(&mut self, frame: &TrapFrame) {
        let state = microvm::exception::FaultState {
            in_mapping: frame.error_code & 1 != 0,
            fpu: Some(microvm::exception::FpuStatus::from_fxsave(&[
                frame.r12 as u32,
                0,
                0,
                0,
                0,
                0,
                frame.r13 as u32,
            ])),
        };
        let info = microvm::exception::siginfo(frame, &state);
        self.text.exception(frame, &info);
        self.json.exception(frame, &info);
        self.records += 1;
    }

    fn syscall(&mut self, mem: &UserMemory<'_>, frame: &TrapFrame, outcome: Disposition) {
        let ret = match outcome {
            Disposition::Return(v) | Disposition::Killed(v, _) => Some(v),
            Disposition::Exit(_) | Disposition::WaitsForever(_) => None,
        };
        self.text
            .count(frame.rax, ret, std::time::Duration::from_nanos(1));
        self.text.syscall(mem, frame, outcome);
        self.json.syscall(mem, frame, outcome);
        self.records += 1;
    }

    /// Finish both and check what they wrote (see [`check_text_trace`]
    /// and [`check_json_trace`]).
    fn check(mut self) {
        self.text.finish().expect("the text trace is written");
        self.json.finish().expect("the JSON trace is written");
        check_text_trace(&self.text_out.take(), self.records);
        check_json_trace(&self.json_out.take(), self.records);
    }
}

/// Panic unless `text` is a text trace of `records` records and a summary:
/// every byte printable ASCII or a newline (guest bytes are escaped), at
/// least a line per record, at most a summary table more.
pub fn check_text_trace(text: &[u8], records: usize) {
    if let Some(&b) = text
        .iter()
        .find(|&&b| b != b'\n' && !(0x20..0x7f).contains(&b))
    {
        panic!(
            "unescaped byte {b:#04x} in the text trace: {}",
            String::from_utf8_lossy(text)
        );
    }
    let lines = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    // The summary: header, rule, a row per syscall number seen (at most
    // one per record), rule, total.
    assert!(
        lines >= records && lines <= 2 * records + 4,
        "{lines} text lines for {records} records"
    );
}

/// Panic unless `json` is exactly `records` lines, each a JSON object.
pub fn check_json_trace(json: &[u8], records: usize) {
    let mut objects = 0;
    for line in json.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line)
            .unwrap_or_else(|e| panic!("bad JSON line {}: {e}", String::from_utf8_lossy(line)));
        assert!(v.is_object(), "{v}");
        objects += 1;
    }
    assert_eq!(objects, records, "one JSON line per record");
}

/// A trap frame with every register from the input.
fn arbitrary_frame(u: &mut Unstructured<'_>) -> TrapFrame {
    let mut w = || u.arbitrary::<u64>().unwrap_or(0);
    TrapFrame {
        rax: w(),
        rbx: w(),
        rcx: w(),
        rdx: w(),
        rsi: w(),
        rdi: w(),
        rbp: w(),
        rsp: w(),
        r8: w(),
        r9: w(),
        r10: w(),
        r11: w(),
        r12: w(),
        r13: w(),
        r14: w(),
        r15: w(),
        rip: w(),
        rflags: w(),
        cs: w(),
        ss: w(),
        kind: w(),
        vector: w(),
        error_code: w(),
        cr2: w(),
        ticket: w(),
    }
}

// ---------------------------------------------------------------------------
// (a) The program loader
// ---------------------------------------------------------------------------

/// Load `data` as a program (ELF or flat); a dynamic one gets `data`
/// itself as its interpreter, so that one input drives both the
/// program's and the interpreter's headers. It either loads, with its
/// entry in an executable user page and its stack pointer aligned in the
/// stack, or is refused with a message.
pub fn loader(data: &[u8]) {
    let (ram, mut space) = fresh_space();
    let argv = ["prog".to_string(), "arg".to_string()];
    let envp = ["K=V".to_string()];
    let start = StartInfo {
        start: Start {
            argv: &argv,
            envp: &envp,
            execfn: "/prog",
        },
        hwcap: 0,
        random: [0; 16],
    };
    let interp = |_: &Path| Ok(loader::Interpreter::Memory(data.to_vec()));
    match loader::load_program_with(
        &ram,
        &mut space,
        data.into(),
        Path::new("fuzz"),
        &start,
        Some(&interp),
    ) {
        Ok(p) => {
            let cr3 = space.tables().root();
            assert!(
                space.flags_at(p.entry).is_some_and(|f| f.exec && f.user),
                "entry {:#x} is not user-executable",
                p.entry
            );
            assert!(translate(&ram, cr3, p.entry, Access::UserRead).is_some());
            assert_eq!(p.stack % 16, 0, "stack {:#x}", p.stack);
            assert!(
                (USER_STACK_TOP - USER_STACK_SIZE..USER_STACK_TOP).contains(&p.stack),
                "stack {:#x}",
                p.stack
            );
            // argc, as the loader wrote it, is readable by ring 3.
            let mem = UserMemory::new(&ram, cr3);
            let mut argc = [0u8; 8];
            mem.read(p.stack, &mut argc).expect("argc is mapped");
            assert_eq!(u64::from_le_bytes(argc), 2);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

// ---------------------------------------------------------------------------
// (b) The syscall service and the trace
// ---------------------------------------------------------------------------

/// Four read-write user pages; the page after them is unmapped.
pub const DATA: u64 = 0x60_0000;
/// Pages in [`DATA`].
pub const DATA_PAGES: u64 = 4;
/// One read-only user page.
pub const RODATA: u64 = 0x70_0000;
/// A PROT_NONE reservation of 16 pages.
pub const RESERVED: u64 = 0x80_0000;
/// Nothing is mapped here.
pub const UNMAPPED: u64 = 0x90_0000;

/// The guest a syscall harness runs against: RAM, its user space with
/// [`DATA`], [`RODATA`] and [`RESERVED`], and the page-table root.
pub struct TestGuest {
    /// Guest RAM.
    pub ram: GuestRam,
    /// The user address space.
    pub space: AddressSpace,
}

impl TestGuest {
    /// The regions mapped, zeroed.
    pub fn new() -> Self {
        let (ram, mut space) = fresh_space();
        space
            .map(
                &ram,
                DATA,
                DATA + DATA_PAGES * PAGE_SIZE,
                PageFlags::USER_RW,
            )
            .expect("data pages");
        let ro = PageFlags {
            write: false,
            exec: false,
            user: true,
        };
        space
            .map(&ram, RODATA, RODATA + PAGE_SIZE, ro)
            .expect("read-only page");
        space
            .reserve(RESERVED, RESERVED + 16 * PAGE_SIZE)
            .expect("a reservation");
        TestGuest { ram, space }
    }

    /// Fill the data and read-only pages with `bytes` (in order, as far
    /// as they go).
    pub fn fill(&self, bytes: &[u8]) {
        let data = (DATA_PAGES * PAGE_SIZE) as usize;
        let (a, b) = bytes.split_at(bytes.len().min(data));
        self.space.copy_in(&self.ram, DATA, a).expect("data pages");
        let b = &b[..b.len().min(PAGE_SIZE as usize)];
        self.space.copy_in(&self.ram, RODATA, b).expect("ro page");
    }

    /// The user memory view.
    pub fn mem(&self) -> UserMemory<'_> {
        UserMemory::new(&self.ram, self.space.tables().root())
    }

    /// Serve one syscall `nr(args)` with `service`.
    pub fn call(&mut self, service: &mut SyscallService, frame: &TrapFrame) -> Disposition {
        let cr3 = self.space.tables().root();
        let mem = UserMemory::new(&self.ram, cr3);
        let mut requests = KernelRequests::default();
        let guest = Guest {
            mem: &mem,
            ram: &self.ram,
            space: &mut self.space,
            requests: &mut requests,
        };
        service.handle(guest, frame, &mut || {})
    }
}

impl Default for TestGuest {
    fn default() -> Self {
        TestGuest::new()
    }
}

/// A syscall frame as the run loop builds it: `nr` in rax, the arguments
/// in rdi, rsi, rdx, r10, r8, r9.
pub fn syscall_frame(nr: u64, a: [u64; 6]) -> TrapFrame {
    TrapFrame {
        rip: 0x40_1000,
        rcx: 0x40_1000,
        rflags: 0x202,
        r11: 0x202,
        rsp: USER_STACK_TOP - 0x100,
        cs: 0x33,
        ss: 0x2b,
        kind: microvm_abi::EntryKind::SyscallPageFault as u64,
        ..TrapFrame::syscall(nr, a)
    }
}

/// A syscall service as a run has it, with nothing that can block or
/// write outside: output to sinks, a stop handle already stopped (sleeps
/// and reads of a terminal or a pipe return EINTR at once), and files from
/// the scratch tree (or none).
pub fn quiet_service(fs_root: Option<&Path>) -> SyscallService {
    let mut service = SyscallService::new(Box::new(io::sink()), Box::new(io::sink()));
    if let Some(root) = fs_root {
        service = service.with_fs_root(root).expect("the scratch tree opens");
    }
    let stop = StopHandle::detached().expect("an eventfd");
    stop.stop(StopReason::Timeout);
    service.set_stop_handle(stop);
    service
}

/// An argument: mostly pointers near the mapped regions and their edges,
/// small numbers, the values that break arithmetic, powers of two, and
/// what an earlier call returned (an fd, an mmap address), near it.
fn arbitrary_arg(u: &mut Unstructured<'_>, results: &[u64]) -> u64 {
    let kind = u.arbitrary::<u8>().unwrap_or(0);
    let small = u64::from(u.arbitrary::<u16>().unwrap_or(0));
    match kind % 16 {
        12 | 13 if !results.is_empty() => {
            let r = results[usize::from(small as u8) % results.len()];
            let offset = (small >> 8) << 12;
            if kind % 16 == 12 {
                r
            } else {
                r.wrapping_add(offset)
            }
        }
        14 => 1u64 << (small % 64),
        15 => (1u64 << (small % 48)).wrapping_sub(small >> 6),
        0 => DATA + small % (DATA_PAGES * PAGE_SIZE),
        // A pointer that ends near the unmapped page after the data.
        1 => DATA + DATA_PAGES * PAGE_SIZE - (small % 64),
        2 => RODATA + small % PAGE_SIZE,
        3 => RESERVED + small % (16 * PAGE_SIZE),
        4 => UNMAPPED + small,
        5 => small % 16,
        6 => small,
        7 => [
            0,
            1 << 63,
            u64::MAX,
            u64::MAX - small,
            0x8000_0000_0000,
            0xffff_8000_0000_0000,
            0xffff_ffff_8000_0000 + small * 8,
            i64::MAX as u64,
        ][(small % 8) as usize],
        8 => (small << 12) | 0x7fff_0000_0000,
        9 => -(small as i64) as u64,
        _ => u.arbitrary::<u64>().unwrap_or(0),
    }
}

/// Every syscall in the table (served or refused: all are traced).
fn table() -> &'static [microvm_abi::linux::syscalls::Syscall] {
    microvm_abi::linux::syscalls::SYSCALLS
}

/// Serve a sequence of syscalls decoded from `data` over a guest memory
/// image (and, for some inputs, page tables) from `data`, tracing each as
/// text (with `--regs`) and JSON, with an exception frame or two among
/// them. Checks: the service answers every call, the trace is escaped and
/// well formed, and every file opened is inside the scratch tree.
pub fn syscalls(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let tree = scratch_tree();
    let with_root = u.arbitrary::<bool>().unwrap_or(false);
    let mut guest = TestGuest::new();
    let fill_len = u
        .int_in_range(0..=(DATA_PAGES as usize + 1) * 4096)
        .unwrap_or(0);
    guest.fill(u.bytes(fill_len.min(u.len())).unwrap_or(&[]));
    // Arbitrary page-table entries, for some inputs: the pool holds every
    // table, so these can point anywhere in guest RAM, or outside it.
    let pte_writes = if u.ratio(1, 8).unwrap_or(false) {
        u.int_in_range(0..=4).unwrap_or(0)
    } else {
        0
    };
    for _ in 0..pte_writes {
        let slots = (PAGE_TABLES_END - PAGE_TABLES_START) / 8;
        // Mostly in the first tables, which the walk uses.
        let slot = u.int_in_range(0..=slots - 1).unwrap_or(0) % (16 * 512);
        let value = u.arbitrary::<u64>().unwrap_or(0);
        let _ = guest.ram.write_obj(PAGE_TABLES_START + slot * 8, value);
    }
    let mut service = quiet_service(with_root.then_some(tree.root.as_path()));
    let mut tracers = Tracers::new();
    let calls = u.int_in_range(1..=12).unwrap_or(1);
    let mut results = Vec::new();
    for _ in 0..calls {
        if u.ratio(1, 16).unwrap_or(false) {
            let frame = arbitrary_frame(&mut u);
            tracers.exception(&frame);
            continue;
        }
        if u.ratio(1, 16).unwrap_or(false) {
            // rt_sigreturn's reading of a signal frame anywhere.
            let rsp = arbitrary_arg(&mut u, &results);
            // FXSAVE only, x87/SSE/AVX, or AVX-512 (either with XSAVEC).
            let layout = match u.int_in_range(0..=2u8).unwrap_or(1) {
                0 => microvm::syscall::sigframe::FpuLayout::FXSAVE,
                1 => microvm::syscall::sigframe::FpuLayout::avx(),
                _ => microvm::syscall::sigframe::FpuLayout::avx512(),
            };
            let fpu = layout.blank_area(4096);
            let _ = microvm::syscall::sigframe::read(&guest.mem(), rsp, 0x202, &fpu, &layout);
            continue;
        }
        let nr = if u.ratio(7, 8).unwrap_or(true) {
            u.choose(table()).map_or(0, |s| s.nr)
        } else {
            u.arbitrary::<u64>().unwrap_or(0)
        };
        let mut args = [0u64; 6];
        for a in &mut args {
            *a = arbitrary_arg(&mut u, &results);
        }
        let mut frame = syscall_frame(nr, args);
        if u.ratio(1, 8).unwrap_or(false) {
            let f = arbitrary_frame(&mut u);
            (frame.rbx, frame.rbp, frame.r12, frame.r15) = (f.rbx, f.rbp, f.r12, f.r15);
            (frame.rip, frame.rflags, frame.cs, frame.kind) = (f.rip, f.rflags, f.cs, f.kind);
        }
        let outcome = guest.call(&mut service, &frame);
        tracers.syscall(&guest.mem(), &frame, outcome);
        if let Disposition::Return(r) = outcome {
            if r >= 0 {
                results.push(r as u64);
            }
        }
        if let Disposition::Return(fd) = outcome {
            if matches!(nr, nr::OPEN | nr::OPENAT) && fd >= 0 {
                tree.check_guest_fd(&mut guest, &mut service, fd as u64);
            }
        }
        if !matches!(outcome, Disposition::Return(_)) {
            break;
        }
    }
    tracers.check();
}

// ---------------------------------------------------------------------------
// (c) Path resolution in the file view
// ---------------------------------------------------------------------------

/// A scratch directory tree full of hostile symlinks, and the identity
/// (device, inode) of everything in it.
pub struct ScratchTree {
    /// The directory the view shows as "/".
    pub root: PathBuf,
    /// The view of it.
    pub view: View,
    /// (st_dev, st_ino) of the root and everything under it.
    pub inside: HashSet<(u64, u64)>,
    /// (st_dev, st_ino) of a file outside the root that symlinks name.
    pub secret: (u64, u64),
}

/// The tree, made once per process under `$MICROVM_FUZZ_SCRATCH` (or the
/// temporary directory).
pub fn scratch_tree() -> &'static ScratchTree {
    static TREE: OnceLock<ScratchTree> = OnceLock::new();
    TREE.get_or_init(|| {
        let base = std::env::var_os("MICROVM_FUZZ_SCRATCH")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(format!("microvm-fuzz-tree-{}", std::process::id()));
        ScratchTree::create(&base).expect("the scratch tree is made")
    })
}

impl ScratchTree {
    /// Make the tree under `base` (replacing what was there).
    pub fn create(base: &Path) -> io::Result<ScratchTree> {
        use std::os::unix::fs::symlink;
        let _ = std::fs::remove_dir_all(base);
        let root = base.join("root");
        let outside = base.join("outside");
        for d in ["etc", "dir/sub", "empty"] {
            std::fs::create_dir_all(root.join(d))?;
        }
        std::fs::create_dir_all(&outside)?;
        std::fs::write(outside.join("secret"), "outside the view\n")?;
        std::fs::write(root.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n")?;
        std::fs::write(root.join("dir/file"), "a file\n")?;
        std::fs::write(root.join("dir/sub/deep"), "deep\n")?;
        let fifo = std::ffi::CString::new(root.join("fifo").as_os_str().as_encoded_bytes())
            .map_err(io::Error::other)?;
        // SAFETY: mkfifo reads the NUL-terminated path and nothing else.
        if unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let secret_abs = outside.join("secret");
        let links: [(&str, &Path); 19] = [
            ("abs", Path::new("/etc/passwd")),
            ("abs_out", &secret_abs),
            (
                "climb",
                Path::new("../../../../../../../../../../etc/passwd"),
            ),
            ("out", Path::new("../outside/secret")),
            ("dir/up", Path::new("../..")),
            ("dir/upout", Path::new("../../outside/secret")),
            ("dir/sub/top", Path::new("../../../../..")),
            ("loop1", Path::new("loop2")),
            ("loop2", Path::new("loop1")),
            ("self", Path::new(".")),
            ("rootlink", Path::new("/")),
            ("proc", Path::new("/proc/self")),
            ("procmem", Path::new("/proc/self/mem")),
            ("procfd", Path::new("/proc/self/fd/0")),
            ("thread", Path::new("/proc/thread-self/environ")),
            ("dev", Path::new("/dev")),
            ("zero", Path::new("/dev/zero")),
            ("deep", Path::new("dir/sub/../sub/../../dir/sub/deep")),
            ("dangling", Path::new("nowhere/at/all")),
        ];
        for (name, target) in links {
            symlink(target, root.join(name))?;
        }
        let mut inside = HashSet::new();
        collect_ids(&root, &mut inside)?;
        let secret = id(&std::fs::metadata(&secret_abs)?);
        let view = View::new(&root).map_err(io::Error::other)?;
        Ok(ScratchTree {
            root,
            view,
            inside,
            secret,
        })
    }

    /// Panic unless `fd` is something inside the tree.
    pub fn check_fd(&self, fd: BorrowedFd<'_>, what: &dyn std::fmt::Debug) {
        let st = nix::sys::stat::fstat(fd).expect("fstat of an open fd");
        let got = (st.st_dev, st.st_ino);
        assert_ne!(
            got, self.secret,
            "{what:?} opened the file outside the view"
        );
        assert!(
            self.inside.contains(&got),
            "{what:?} opened {got:?}, which is not in the scratch tree"
        );
    }

    /// Panic unless the guest's `fd` is a file inside the tree, as fstat
    /// through the service tells it.
    fn check_guest_fd(&self, guest: &mut TestGuest, service: &mut SyscallService, fd: u64) {
        let buf = DATA;
        let frame = syscall_frame(nr::FSTAT, [fd, buf, 0, 0, 0, 0]);
        assert_eq!(guest.call(service, &frame), Disposition::Return(0));
        let mut st = [0u8; 144];
        guest.mem().read(buf, &mut st).expect("the data page");
        let word = |at: usize| u64::from_le_bytes(st[at..at + 8].try_into().expect("8 bytes"));
        let got = (word(0), word(8));
        assert_ne!(
            got, self.secret,
            "guest fd {fd} is the file outside the view"
        );
        assert!(
            self.inside.contains(&got),
            "guest fd {fd} is {got:?}, not in the scratch tree"
        );
    }
}

fn id(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

fn collect_ids(dir: &Path, ids: &mut HashSet<(u64, u64)>) -> io::Result<()> {
    ids.insert(id(&std::fs::symlink_metadata(dir)?));
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let m = std::fs::symlink_metadata(&path)?;
        ids.insert(id(&m));
        if m.is_dir() {
            collect_ids(&path, ids)?;
        }
    }
    Ok(())
}

/// Path components for [`view_paths`]: every name in the scratch tree,
/// the hostile links, and the separators.
const COMPONENTS: [&[u8]; 32] = [
    b"/",
    b"/",
    b"..",
    b".",
    b"",
    b"etc",
    b"passwd",
    b"dir",
    b"sub",
    b"deep",
    b"file",
    b"up",
    b"upout",
    b"top",
    b"abs",
    b"abs_out",
    b"climb",
    b"out",
    b"loop1",
    b"loop2",
    b"self",
    b"rootlink",
    b"proc",
    b"procmem",
    b"procfd",
    b"thread",
    b"dev",
    b"zero",
    b"fifo",
    b"empty",
    b"outside",
    b"secret",
];

/// A path joined from the components `picks` choose, with a `/` between.
fn path_from_components(picks: &[u8]) -> Vec<u8> {
    let mut path = Vec::new();
    for (i, &p) in picks.iter().enumerate() {
        if i > 0 && p & 0x40 == 0 {
            path.push(b'/');
        }
        path.extend_from_slice(COMPONENTS[usize::from(p) % COMPONENTS.len()]);
    }
    path
}

/// Open an arbitrary path in the view of the scratch tree, with one of
/// the ways the service opens; whatever opens must be inside the tree,
/// and its path in the view must open the same thing again.
pub fn view_paths(data: &[u8]) {
    use nix::fcntl::OFlag;
    let tree = scratch_tree();
    let Some((&how, path)) = data.split_first() else {
        return;
    };
    let flags = [
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
        OFlag::O_PATH,
        OFlag::O_PATH | OFlag::O_NOFOLLOW,
        OFlag::O_PATH | OFlag::O_DIRECTORY,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_DIRECTORY,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW,
    ][usize::from(how) % 6];
    // With the top bit of the first byte, each byte picks a path component
    // (the kernel resolves the path, so libFuzzer sees no coverage inside
    // it: components make the interesting combinations likely). Else the
    // bytes are the path, up to the NUL, as the guest's would be.
    let built;
    let path = if how & 0x80 != 0 {
        built = path_from_components(path);
        &built[..]
    } else {
        path.split(|&b| b == 0).next().unwrap_or(&[])
    };
    let path = &path[..path.len().min(4096)];
    let Ok(fd) = tree.view.open(path, flags) else {
        return;
    };
    let what = String::from_utf8_lossy(path);
    tree.check_fd(fd.as_fd(), &what);
    let in_view = tree
        .view
        .path_of(fd.as_fd())
        .unwrap_or_else(|e| panic!("{what:?} opened, but has no path in the view: {e}"));
    assert!(
        in_view.starts_with(b"/"),
        "{:?}",
        String::from_utf8_lossy(&in_view)
    );
    let again = tree
        .view
        .open(&in_view, OFlag::O_PATH | OFlag::O_NOFOLLOW)
        .unwrap_or_else(|e| {
            panic!(
                "{what:?} is {:?} in the view, which does not open: {e}",
                String::from_utf8_lossy(&in_view)
            )
        });
    let a = nix::sys::stat::fstat(fd.as_fd()).expect("fstat");
    let b = nix::sys::stat::fstat(again.as_fd()).expect("fstat");
    assert_eq!(
        (a.st_dev, a.st_ino),
        (b.st_dev, b.st_ino),
        "{what:?} and its view path {:?} differ",
        String::from_utf8_lossy(&in_view)
    );
    let _ = fd.as_raw_fd();
}

// ---------------------------------------------------------------------------
// (d) The hypercall and exception frame decoder
// ---------------------------------------------------------------------------

/// Guest RAM reused by [`hypercall`] (it writes only the shared page).
fn hypercall_ram() -> &'static GuestRam {
    static RAM: OnceLock<GuestRam> = OnceLock::new();
    RAM.get_or_init(|| GuestRam::new(MIN_MEMORY).expect("8 MiB of guest RAM"))
}

/// Decode a hypercall whose shared page holds arbitrary bytes, as the run
/// loop does (read from guest memory, then [`hypercall::decode`]), and
/// trace the frame as text and JSON.
pub fn hypercall(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let last = u.arbitrary::<u64>().unwrap_or(0);
    let value = if u.ratio(3, 4).unwrap_or(true) {
        u.int_in_range(0..=5).unwrap_or(0)
    } else {
        u.arbitrary::<u32>().unwrap_or(0)
    };
    let size = std::mem::size_of::<SharedPage>();
    let mut bytes = u.bytes(size.min(u.len())).unwrap_or(&[]).to_vec();
    bytes.resize(size, 0);
    let ram = hypercall_ram();
    let at = microvm_abi::layout::SHARED_PAGE;
    ram.write(at, &bytes).expect("the shared page");
    let mut page: SharedPage = ram.read_obj(at).expect("the shared page");
    if u.ratio(3, 4).unwrap_or(true) {
        // Mostly the ticket the kernel would send.
        page.frame.ticket = last.wrapping_add(1);
    }
    let decoded = hypercall::decode(last, value, &page);
    let genuine = page.frame.ticket == last.wrapping_add(1);
    assert_eq!(decoded == Decoded::Forged, !genuine);
    // Whatever the guest wrote, what reaches the user's terminal is
    // printable ASCII on one line, and bounded.
    let clean = |m: &str| {
        assert!(
            m.bytes().all(|b| (0x20..0x7f).contains(&b)),
            "unescaped text from the guest: {m:?}"
        );
        assert!(
            m.len() <= 4 * microvm_abi::MESSAGE_LEN + 1024,
            "{}",
            m.len()
        );
    };
    let mut tracers = Tracers::new();
    match &decoded {
        Decoded::UserException => {
            let (_, reason) = hypercall::user_exception(&page.frame);
            clean(&reason);
        }
        Decoded::ForeignEntry => match hypercall::foreign_entry(&page.frame) {
            Ok((logged, reason)) => {
                clean(&reason);
                tracers.exception(&logged);
            }
            Err(m) => clean(&m),
        },
        Decoded::KernelFault(m) | Decoded::KernelFailure(m) => clean(m),
        Decoded::Forged => {}
    }
    tracers.exception(&page.frame);
    tracers.check();
}
