//! Helpers shared by the integration tests: KVM availability, paths of the
//! guest programs, and running the `microvm` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// True when /dev/kvm is there. Without it a test skips with one line —
/// unless CI is set, where a missing /dev/kvm is a failure.
pub fn kvm_available() -> bool {
    if Path::new("/dev/kvm").exists() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but /dev/kvm is missing: the KVM integration tests cannot run");
    }
    eprintln!("skipped: /dev/kvm is missing on this host");
    false
}

/// Skip the calling test when KVM is missing (see [`kvm_available`]).
#[macro_export]
macro_rules! require_kvm {
    () => {
        if !$crate::common::kvm_available() {
            return;
        }
    };
}

/// A ring-3 program built from guest/user (`name` or `name.bin`).
pub fn program(name: &str) -> PathBuf {
    Path::new(microvm::GUEST_PROGRAMS_DIR).join(name)
}

/// The microvm binary under test.
pub fn microvm() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_microvm"));
    cmd.stdin(Stdio::null());
    cmd
}

/// Run microvm with `args` and collect everything.
pub fn run(args: &[&str]) -> Output {
    microvm().args(args).output().expect("microvm runs")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    unpadded(&String::from_utf8_lossy(&o.stderr))
}

/// A text trace with strace's result column undone: the spaces that pad
/// `name(args)` to column 40 before `= result` become one, so the tests
/// can look for `write(1, "hi\n", 3) = 3` wherever the line's column falls.
/// (tests/strace.rs compares the padding itself with strace's.)
pub fn unpadded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.find(")  ") {
            Some(i) if line[i + 1..].trim_start_matches(' ').starts_with("= ") => {
                out.push_str(&line[..=i]);
                out.push(' ');
                out.push_str(line[i + 1..].trim_start_matches(' '));
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// Every JSON trace record on stderr (lines that parse as JSON objects).
pub fn all_json_records(o: &Output) -> Vec<serde_json::Value> {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The JSON trace records of the transitions and the end, on stderr: all
/// but the `execve` record a trace starts with (unless `-e trace=` leaves
/// it out; see [`all_json_records`]).
pub fn json_records(o: &Output) -> Vec<serde_json::Value> {
    let mut r = all_json_records(o);
    if r.first().is_some_and(|first| first["kind"] == "execve") {
        r.remove(0);
    }
    r
}

/// The text trace after its first line, which this checks is the
/// `execve("PATH", ["NAME", ARGS...], 0x7fff... /* 0 vars */) = 0` microvm
/// starts every trace of `path` run with `args` (no environment) with; the
/// envp address is checked to be on the stack, not for its value.
pub fn after_execve<'a>(trace: &'a str, path: &Path, args: &[&str]) -> &'a str {
    let (first, rest) = trace.split_once('\n').unwrap_or((trace, ""));
    let name = path.file_name().unwrap().to_str().unwrap();
    let argv: Vec<String> = std::iter::once(name)
        .chain(args.iter().copied())
        .map(|a| format!("\"{a}\""))
        .collect();
    let head = format!("execve(\"{}\", [{}], 0x", path.display(), argv.join(", "));
    let envp = first
        .strip_prefix(&head)
        .and_then(|l| l.strip_suffix(" /* 0 vars */) = 0"))
        .unwrap_or_else(|| panic!("not {head}... /* 0 vars */) = 0: {first:?}"));
    let envp = u64::from_str_radix(envp, 16).unwrap_or_else(|_| panic!("{first}"));
    assert!(
        (0x7fff_0000_0000..0x8000_0000_0000).contains(&envp),
        "envp on the stack: {first}"
    );
    rest
}

/// Which SYSCALL entry the kernel takes on this host's KVM.
pub fn expected_entry() -> &'static str {
    match microvm::info::kvm_module().1 {
        "pvm" => "page-fault",
        _ => "lstar",
    }
}

/// Build tests/c/NAME.c with `compiler` and `flags` (cached in the target
/// directory); `None` (with a skip line) when the compiler is missing —
/// a failure under CI, where the Makefile installs it.
pub fn build(compiler: &str, name: &str, flags: &[&str]) -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/c/{name}.c"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c");
    std::fs::create_dir_all(&dir).unwrap();
    let tag = flags.join("").replace(['-', ' '], "");
    let out = dir.join(format!("{compiler}-{name}{tag}"));
    let fresh = |o: &Path| {
        let (Ok(a), Ok(b)) = (std::fs::metadata(o), std::fs::metadata(&src)) else {
            return false;
        };
        a.modified().ok() >= b.modified().ok()
    };
    if fresh(&out) {
        return Some(out);
    }
    // Built under a name of its own, then renamed: tests running at the
    // same time never see a half-written binary.
    let tmp = out.with_extension(
        format!("{}-{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], ""),
    );
    match Command::new(compiler)
        .args(flags)
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .output()
    {
        Ok(o) if o.status.success() => {
            std::fs::rename(&tmp, &out).unwrap();
            Some(out)
        }
        Ok(o) => panic!(
            "{compiler} {name}.c failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("CI is set but {compiler} is missing (make setup installs it)")
        }
        Err(_) => {
            eprintln!("skipped: {compiler} is not installed");
            None
        }
    }
}

/// The address of symbol `name` in the ELF file at `path`.
pub fn elf_symbol(path: &Path, name: &str) -> u64 {
    let file = std::fs::read(path).unwrap();
    let elf = goblin::elf::Elf::parse(&file).unwrap();
    elf.syms
        .iter()
        .find(|s| elf.strtab.get_at(s.st_name) == Some(name))
        .unwrap_or_else(|| panic!("no symbol {name} in {}", path.display()))
        .st_value
}

/// The address of symbol `name` in the built-in kernel.
pub fn kernel_symbol(name: &str) -> u64 {
    elf_symbol(Path::new(env!("MICROVM_KERNEL_PATH")), name)
}

/// The file offset of virtual address `vaddr` in the ELF image `bytes`.
pub fn elf_offset(bytes: &[u8], vaddr: u64) -> usize {
    let elf = goblin::elf::Elf::parse(bytes).unwrap();
    let ph = elf
        .program_headers
        .iter()
        .find(|p| (p.p_vaddr..p.p_vaddr + p.p_filesz).contains(&vaddr))
        .unwrap_or_else(|| panic!("{vaddr:#x} is in no segment"));
    (vaddr - ph.p_vaddr + ph.p_offset) as usize
}

/// A copy of the built-in kernel with `patch` written at symbol `name`.
pub fn patched_kernel(file_name: &str, name: &str, patch: &[u8]) -> PathBuf {
    let mut bytes = std::fs::read(env!("MICROVM_KERNEL_PATH")).unwrap();
    let off = elf_offset(&bytes, kernel_symbol(name));
    bytes[off..off + patch.len()].copy_from_slice(patch);
    let path = tempdir("kernels").join(file_name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A scratch directory for this test process.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microvm-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A scratch directory under the system's temporary directory (the tree is
/// read-only under `make test-native`), empty when made and removed when
/// dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `microvm-NAME-PID`, made anew.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("microvm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Its path, as text (for command lines).
    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// True when this host's kernel gives processes a 5-level (56-bit) user
/// space (the CPU has LA57: QEMU's `-cpu max` under `make test-native`):
/// there, addresses past 2^47 are canonical natively but not in the guest,
/// whose user space is 4-level.
#[allow(dead_code)]
pub fn five_level_paging() -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| {
        c.lines()
            .find(|l| l.starts_with("flags"))
            .is_some_and(|l| l.split_whitespace().any(|f| f == "la57"))
    })
}

/// For `pre_exec`: mark every descriptor above 2 close-on-exec, so a
/// native reference run starts with only 0, 1 and 2 as microvm's guest does
/// (the emulated machine of `make test-native` hands its tests one more).
#[allow(dead_code)]
pub fn only_standard_fds() -> std::io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on this
    // process's descriptors; it touches no memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A read-only tmpfs mounted at `DIR/ro` for strace_fsinfo.c, unmounted
/// when dropped: "data" (with the attribute user.test="hello" where tmpfs
/// takes user attributes, Linux 6.6 and later), "link" (to "data"), "sub/".
/// A file system mounted read-only, so that the native run gets a
/// read-only file system's answers, which the view must give too.
pub struct ReadOnlyTmpfs(pub PathBuf);

impl ReadOnlyTmpfs {
    /// `None` where this process may not mount (not root), with a line.
    pub fn new(scratch: &Scratch) -> Option<ReadOnlyTmpfs> {
        use std::ffi::CString;
        let dir = scratch.0.join("ro");
        std::fs::create_dir_all(&dir).unwrap();
        let target = CString::new(dir.to_str().unwrap()).unwrap();
        let mount = |flags: libc::c_ulong| {
            // SAFETY: NUL-terminated strings that live through the call.
            unsafe {
                libc::mount(
                    c"microvm-test".as_ptr(),
                    target.as_ptr(),
                    c"tmpfs".as_ptr(),
                    flags,
                    c"size=64k".as_ptr().cast(),
                )
            }
        };
        if mount(0) != 0 {
            eprintln!(
                "skipped: cannot mount a tmpfs here ({})",
                std::io::Error::last_os_error()
            );
            return None;
        }
        let ro = ReadOnlyTmpfs(dir.clone());
        std::fs::write(dir.join("data"), "0123456789abcdef\n").unwrap();
        std::os::unix::fs::symlink("data", dir.join("link")).unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        let data = CString::new(dir.join("data").to_str().unwrap()).unwrap();
        // SAFETY: NUL-terminated strings and a 5-byte value that live
        // through the call. Its failure (an older tmpfs) leaves no
        // attribute, which both runs then see.
        unsafe {
            libc::setxattr(
                data.as_ptr(),
                c"user.test".as_ptr(),
                c"hello".as_ptr().cast(),
                5,
                0,
            )
        };
        // A child another test thread forks can hold "data"'s write
        // descriptor for a moment (until its exec closes it): the remount
        // is EBUSY then, and is tried again.
        let mut tries = 0;
        while mount(libc::MS_REMOUNT | libc::MS_RDONLY) != 0 {
            let e = std::io::Error::last_os_error();
            tries += 1;
            assert!(
                e.raw_os_error() == Some(libc::EBUSY) && tries < 100,
                "remount read-only: {e}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Some(ro)
    }
}

impl Drop for ReadOnlyTmpfs {
    fn drop(&mut self) {
        let target = std::ffi::CString::new(self.0.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path that lives through the call.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// The installed strace on PATH, or `None` with a skip line: a failure
/// under CI, where `make setup` installs it.
pub fn strace() -> Option<PathBuf> {
    tool("strace")
}

/// The installed gdb on PATH, as [`strace`].
pub fn gdb() -> Option<PathBuf> {
    tool("gdb")
}

/// Program `name` on PATH, or `None` with a skip line: a failure under
/// CI, where `make setup` installs it.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {name} is missing (make setup installs it)"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

/// `cmd`'s output, as [`Command::output`] gives it (stdin empty), but
/// killed and failed, naming the command, if it runs past `limit`: a hang
/// guard that says which run hung, where the test binary's own time limit
/// would only say that the binary did.
pub fn output_within(cmd: &mut Command, limit: std::time::Duration) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = pipe.read_to_end(&mut all);
            all
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped")));
    let err = drain(Box::new(child.stderr.take().expect("piped")));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}
