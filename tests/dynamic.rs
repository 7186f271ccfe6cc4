//! Dynamically linked programs, as `gcc` builds them by default and as
//! nearly every program on the host is: the loader maps the program and
//! its interpreter (ld.so) from the file view, ld.so loads libc through
//! the served file mmap, and the program runs as natively.

mod common;

use common::{build, run, stderr, stdout, Scratch};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `tests/c/NAME.c` built with plain `gcc -g`: dynamic, PIE.
fn dynamic(name: &str) -> Option<PathBuf> {
    build("gcc", name, &["-g"])
}

/// The interpreter Debian's gcc links x86-64 programs against.
const INTERP: &str = "/lib64/ld-linux-x86-64.so.2";

/// The position of the first line of `err` starting with `prefix`.
fn line_at(lines: &[&str], err: &str, prefix: &str) -> usize {
    lines
        .iter()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in\n{err}"))
}

#[test]
fn the_seed_walkthrough_built_dynamic_runs() {
    require_kvm!();
    let Some(p) = dynamic("dup_trace") else {
        return;
    };
    let o = run(&["run", "--fs-root", "/", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    // ld.so ran first: the program's break right after its image at the
    // PIE base, libc found through the cache and mapped from the file.
    assert!(lines[1].starts_with("brk(NULL) = 0x555555"), "{err}");
    let cache = line_at(
        &lines,
        &err,
        "openat(AT_FDCWD, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC) = 3",
    );
    let libc = line_at(
        &lines,
        &err,
        "openat(AT_FDCWD, \"/lib/x86_64-linux-gnu/libc.so.6\", O_RDONLY|O_CLOEXEC) = 3",
    );
    // ld.so's first mapping holds its record of the vDSO, as natively.
    assert!(
        lines[2].starts_with(
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7"
        ),
        "{err}"
    );
    // The cache's mapping is the first after its open.
    let map = cache
        + lines[cache..]
            .iter()
            .position(|l| l.starts_with("mmap(NULL, "))
            .unwrap_or_else(|| panic!("no mmap of the cache in\n{err}"));
    assert!(
        lines[map].contains("PROT_READ, MAP_PRIVATE, 3, 0) = 0x7ffff7"),
        "{err}"
    );
    assert!(
        err.contains("MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x"),
        "{err}"
    );
    let open = line_at(
        &lines,
        &err,
        "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY) = 3",
    );
    let dup = line_at(&lines, &err, "dup(3) = 4");
    let close3 = line_at(&lines, &err, "close(3) = 0");
    let close4 = line_at(&lines, &err, "close(4) = 0");
    assert!(cache < libc && libc < open, "{err}");
    // close(3) of the cache and of libc come before; the program's after.
    let close3 = close3.max(
        lines
            .iter()
            .rposition(|l| l.starts_with("close(3) = 0"))
            .unwrap(),
    );
    assert!(open < dup && dup < close3 && close3 < close4, "{err}");
    assert!(
        err.ends_with("exit_group(0) = ?\n+++ exited with 0 +++\n"),
        "{err}"
    );
}

#[test]
fn the_seed_walkthrough_built_dynamic_shows_its_registers() {
    require_kvm!();
    let Some(p) = dynamic("dup_trace") else {
        return;
    };
    let o = run(&["run", "--regs", "--fs-root", "/", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    let dup = line_at(&lines, &err, "dup(3) = 4  [");
    assert!(lines[dup].contains("[rax=0x20 "), "{}", lines[dup]);
    assert!(lines[dup].contains(" rdi=0x3 "), "{}", lines[dup]);
    // The call comes from libc, mapped below the interpreter.
    assert!(lines[dup].contains(" rcx=0x7ffff7"), "{}", lines[dup]);
}

#[test]
fn an_interpreter_the_view_lacks_is_one_clear_line() {
    require_kvm!();
    let Some(p) = dynamic("dup_trace") else {
        return;
    };
    let empty = Scratch::new("dynamic-empty-view");
    let o = run(&["run", "--fs-root", empty.path(), p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(
        err,
        format!(
            "microvm: cannot run {}: cannot open its interpreter {INTERP}: No such file or directory\n",
            p.display()
        )
    );
    // Nothing ran: no trace line at all.
    assert!(!err.contains("execve("), "{err}");
}

#[test]
fn a_dynamic_program_without_a_view_names_its_interpreter() {
    let Some(p) = dynamic("dup_trace") else {
        return;
    };
    let file = microvm::loader::ImageFile::open(&p).unwrap();
    let ram = microvm::memory::GuestRam::new(microvm_abi::layout::MIN_MEMORY).unwrap();
    let mut space = microvm::space::AddressSpace::new(
        microvm::arch::paging::PageTables::new(),
        microvm::memory::FrameAllocator::new(microvm_abi::layout::MIN_MEMORY),
    );
    let start = microvm::loader::StartInfo {
        start: microvm::loader::Start {
            argv: &["dup_trace".to_string()],
            envp: &[],
            execfn: "dup_trace",
        },
        hwcap: 0,
        random: [0; 16],
    };
    let err = microvm::loader::load_program(&ram, &mut space, file.bytes(), &p, &start)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("its interpreter {INTERP}")), "{err}");
    assert!(err.contains("file view"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

/// Run `args` under `setarch -R strace -f`, its trace lines (pid column
/// dropped); `None` (skipped) without strace or setarch.
fn native_strace(args: &[&str], scratch: &Scratch) -> Option<Vec<String>> {
    let out = Path::new(scratch.path()).join("native.strace");
    let mut cmd = Command::new("setarch");
    cmd.args(["-R", "strace", "-f", "-o"])
        .arg(&out)
        .args(args)
        .env_clear();
    // SAFETY: between fork and exec the closure only calls close_range on
    // the child itself. Only fds 0-2, as the guest starts (the emulated
    // machine of make test-native hands its tests more).
    unsafe { cmd.pre_exec(common::only_standard_fds) };
    let status = cmd.output();
    match status {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "native strace failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("CI is set but setarch/strace is missing")
        }
        Err(_) => {
            eprintln!("skipped: setarch or strace is missing");
            return None;
        }
    }
    let text = std::fs::read_to_string(&out).unwrap();
    Some(
        text.lines()
            .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest.trim_start()))
            .map(|l| common::unpadded(&format!("{l}\n")).trim_end().to_string())
            .collect(),
    )
}

/// The lines of ld.so loading libraries: opens, file mappings (an fd that
/// is not -1), protections and unmaps. Addresses in the mmap area are
/// normalised: Linux puts its vDSO pages there (below ld.so), which moves
/// everything mapped after them.
fn library_loading(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| {
            l.starts_with("openat(")
                || l.starts_with("mprotect(")
                || l.starts_with("munmap(")
                || (l.starts_with("mmap(") && !l.contains(", -1, 0)"))
        })
        .take_while(|l| !l.contains("/etc/passwd") && !l.contains("\"hello"))
        .map(|l| {
            let mut out = String::new();
            let mut rest = l.as_str();
            while let Some(i) = rest.find("0x7ffff7") {
                out.push_str(&rest[..i]);
                out.push_str("ADDR");
                rest = rest[i..].trim_start_matches(|c: char| c == 'x' || c.is_ascii_hexdigit());
            }
            out.push_str(rest);
            out
        })
        .collect()
}

#[test]
fn ld_so_loads_libc_as_under_linux_without_aslr() {
    require_kvm!();
    let Some(p) = dynamic("hello") else { return };
    let scratch = Scratch::new("dynamic-strace");
    let Some(native) = native_strace(&[p.to_str().unwrap()], &scratch) else {
        return;
    };
    let o = run(&["run", "--fs-root", "/", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hello, world\n");
    let vm: Vec<String> = stderr(&o).lines().map(str::to_string).collect();
    let (want, got) = (library_loading(&native), library_loading(&vm));
    assert!(want.len() > 8, "{want:#?}");
    assert_eq!(
        got,
        want,
        "native:\n{}\nmicrovm:\n{}",
        native.join("\n"),
        vm.join("\n")
    );
    // The program itself is where `setarch -R` puts it, exactly: its
    // RELRO page is protected at the same address.
    let relro = |t: &[String]| t.iter().find(|l| l.starts_with("mprotect(0x5555")).cloned();
    assert_eq!(relro(&vm), relro(&native));
    assert!(relro(&vm).is_some());
}

#[test]
fn file_mappings_mremap_and_madvise_answer_as_linux() {
    require_kvm!();
    for flags in [&["-O1", "-static"][..], &["-O1"][..]] {
        let Some(p) = build("gcc", "filemap", flags) else {
            return;
        };
        // A file of less than a page, and one of many.
        for file in ["/etc/passwd", "/bin/ls"] {
            let native = Command::new(&p).arg(file).output().unwrap();
            assert!(native.status.success());
            let o = run(&[
                "run",
                "--trace",
                "off",
                "--fs-root",
                "/",
                p.to_str().unwrap(),
                file,
            ]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            let native = String::from_utf8_lossy(&native.stdout).into_owned();
            assert!(native.contains("madvise dontneed file"), "{native}");
            assert_eq!(stdout(&o), native, "{flags:?} {file}");
        }
    }
}

#[test]
fn ls_l_etc_prints_what_it_prints_natively() {
    require_kvm!();
    let env = ["LC_ALL=C", "TZ=UTC"];
    let native = Command::new("/bin/ls")
        .args(["-l", "/etc"])
        .env_clear()
        .envs(env.iter().map(|e| e.split_once('=').unwrap()))
        .output()
        .unwrap();
    assert!(native.status.success());
    let mut args = vec!["run", "--trace", "off", "--fs-root", "/"];
    for e in &env {
        args.extend(["--env", e]);
    }
    args.extend(["/bin/ls", "-l", "/etc"]);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), String::from_utf8_lossy(&native.stdout));
}

#[test]
fn python3_prints_42() {
    require_kvm!();
    // With no flag: the default view is the host's / read-only.
    let o = run(&["run", "/usr/bin/python3", "-c", "print(6*7)"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(stdout(&o), "42\n");
    // Python's own start-up calls are served, not refused: the trace shows
    // no ENOSYS but for the socket glibc may try (nscd), which microvm
    // leaves to the program's fallback. rseq is served.
    assert!(
        err.lines()
            .any(|l| l.starts_with("rseq(") && l.ends_with(" = 0")),
        "{err}"
    );
    for line in err.lines().filter(|l| l.contains("ENOSYS")) {
        assert!(
            line.starts_with("socket("),
            "unexpected refusal: {line}\n{err}"
        );
    }
}

#[test]
fn a_musl_dynamic_program_runs_with_musl_s_loader() {
    require_kvm!();
    let Some(p) = build("musl-gcc", "hello", &["-O1"]) else {
        return;
    };
    let o = run(&["run", "--fs-root", "/", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hello, world\n");
    // musl's libc is its own loader: nothing is opened, ld.so.cache least.
    let err = stderr(&o);
    assert!(!err.contains("ld.so.cache"), "{err}");
    assert!(
        err.ends_with("exit_group(0) = ?\n+++ exited with 0 +++\n"),
        "{err}"
    );
}
