//! A trace's first and last lines as strace shows them: the same static C
//! programs, run natively under strace and under microvm, give the same
//! `execve(...) = 0` line, the same `--- SIGSEGV {si_signo=..., si_code=...,
//! si_addr=...} ---` (microvm's exception detail follows it, in brackets)
//! and the same `+++ killed by SIGSEGV +++`, and end with the same status.
//! Only what legitimately differs is normalised: the envp address of the
//! exec, and a stack or mmap address where the fault is at one.

mod common;

use common::{build, tempdir};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where a fault's `si_addr` may differ between the two runs.
#[derive(Debug, Clone, Copy)]
enum Addr {
    /// Nowhere: the same static binary faults at the same address.
    Same,
    /// In the stack, which Linux randomises and microvm does not.
    Stack,
    /// This far into the last mapping `mmap` returned.
    Mmap(u64),
}

/// How a run ended: the signal that killed it, or its exit status.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Killed(i32),
    Exited(i32),
}

/// What the program's stdout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    /// /dev/null.
    Null,
    /// A pipe whose reader is gone: a write raises SIGPIPE.
    BrokenPipe,
}

impl Out {
    fn stdio(self) -> Stdio {
        match self {
            Out::Null => Stdio::null(),
            Out::BrokenPipe => {
                let (reader, writer) = std::io::pipe().expect("a pipe");
                drop(reader);
                Stdio::from(writer)
            }
        }
    }
}

/// The strace trace of `program args` run natively and how it ended. Run
/// by its name with PATH = its directory and nothing else in the
/// environment, so that strace shows the path microvm is given and the
/// argv[0] and environment microvm passes: `execve("/dir/prog", ["prog",
/// ...], 0x... /* 1 var */)`.
fn native(strace: &Path, program: &Path, args: &[&str], how: How, tag: &str) -> (String, End) {
    let dir = program.parent().unwrap();
    let out = tempdir("faults-strace").join(format!("{tag}.trace"));
    let o = Command::new(strace)
        .env_clear()
        .env("PATH", dir)
        .args(how.options)
        .arg("-o")
        .arg(&out)
        .arg(program.file_name().unwrap())
        .args(args)
        .stdin(Stdio::null())
        .stdout(how.stdout.stdio())
        .output()
        .expect("strace runs");
    let trace = std::fs::read_to_string(&out).unwrap_or_default();
    // Every run the tests make traces some line (their filters leave some).
    assert!(
        !trace.is_empty(),
        "strace could not trace {} here (is ptrace allowed?): {}",
        program.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let end = match (o.status.signal(), o.status.code()) {
        (Some(sig), _) => End::Killed(sig),
        (None, Some(code)) => End::Exited(code),
        (None, None) => unreachable!("a status is a signal or a code"),
    };
    (trace, end)
}

/// microvm's trace of the same run and how it ended (128 + n is signal n,
/// as a shell reports it).
fn microvm(program: &Path, args: &[&str], how: How) -> (String, End) {
    let path = format!("PATH={}", program.parent().unwrap().display());
    let o = common::microvm()
        .args(["run", "--env", &path])
        .args(how.options)
        .arg(program)
        .args(args)
        .stdout(how.stdout.stdio())
        .output()
        .expect("microvm runs");
    let code = o.status.code().expect("microvm exits");
    let end = match code {
        129..=159 => End::Killed(code - 128),
        _ => End::Exited(code),
    };
    // As written: strace's result column is compared too.
    (String::from_utf8_lossy(&o.stderr).into_owned(), end)
}

/// The lines the two traces must share: the execve line with its envp
/// address normalised, then every line from the first signal or exit line
/// on, with microvm's bracketed detail cut off and `si_addr` normalised as
/// `addr` allows. strace says `(core dumped)` when a core was written:
/// microvm says it for every core-dumping signal (writing none), the
/// native run writes none (RLIMIT_CORE 0): left out of both.
fn shared_lines(trace: &str, addr: Addr) -> Vec<String> {
    let mut lines = trace.lines();
    let execve = lines.next().unwrap_or_default();
    let mut shared = vec![normalise_envp(execve)];
    let mut tail: Vec<&str> = lines
        .skip_while(|l| !(l.starts_with("--- ") || l.starts_with("+++ ")))
        .collect();
    // microvm's own lines on its stderr come after the trace.
    tail.retain(|l| !l.starts_with("microvm: "));
    for l in tail {
        let l = &l.replace(" (core dumped) +++", " +++");
        let strace_part = l
            .split_once(" --- [")
            .map_or(l.to_string(), |(s, _)| format!("{s} ---"));
        shared.push(normalise_sender(&normalise_si_addr(
            &strace_part,
            trace,
            addr,
        )));
    }
    shared
}

/// `..., 0x7ffd4a2c5e18 /* 1 var */) = 0` with the address as `ENVP`.
fn normalise_envp(line: &str) -> String {
    let Some(start) = line.rfind("], 0x") else {
        return line.to_string();
    };
    let hex_start = start + "], ".len();
    let hex_len = line[hex_start + 2..]
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap_or(0)
        + 2;
    format!("{}ENVP{}", &line[..hex_start], &line[hex_start + hex_len..])
}

/// `si_pid=N, si_uid=M` (a signal sent as by kill(2)) as `PID` and `UID`:
/// the native process's pid and the tester's uid are not the guest's 1 and
/// 0.
fn normalise_sender(line: &str) -> String {
    let Some((head, rest)) = line.split_once(", si_pid=") else {
        return line.to_string();
    };
    let Some((_, after_uid)) = rest.split_once(", si_uid=") else {
        return line.to_string();
    };
    let tail = after_uid.trim_start_matches(|c: char| c.is_ascii_digit());
    format!("{head}, si_pid=PID, si_uid=UID{tail}")
}

/// `si_addr=0x...` as `STACK` or `MMAP+n` where `addr` says it may differ
/// and it is where it should be; unchanged otherwise (and then compared
/// as it is).
fn normalise_si_addr(line: &str, trace: &str, addr: Addr) -> String {
    let Some((head, rest)) = line.split_once("si_addr=0x") else {
        return line.to_string();
    };
    let hex_len = rest
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap_or(rest.len());
    let Ok(value) = u64::from_str_radix(&rest[..hex_len], 16) else {
        return line.to_string();
    };
    let shown = match addr {
        Addr::Same => return line.to_string(),
        Addr::Stack if (0x7ff0_0000_0000..0x8000_0000_0000).contains(&value) => "STACK".to_string(),
        Addr::Mmap(offset) if last_mmap(trace).map(|m| m + offset) == Some(value) => {
            format!("MMAP+{offset:#x}")
        }
        _ => return line.to_string(),
    };
    format!("{head}si_addr={shown}{}", &rest[hex_len..])
}

/// What the last successful `mmap` in `trace` returned.
fn last_mmap(trace: &str) -> Option<u64> {
    trace
        .lines()
        .filter(|l| l.starts_with("mmap("))
        .filter_map(|l| l.rsplit_once("= 0x"))
        .filter_map(|(_, hex)| u64::from_str_radix(hex.trim(), 16).ok())
        .next_back()
}

/// Run `program args` both ways; the shared lines and the ends must be
/// equal. Returns microvm's trace.
/// How a program is run, both ways: the trace options (strace's, which
/// microvm takes too) and its stdout.
#[derive(Debug, Clone, Copy)]
struct How {
    options: &'static [&'static str],
    stdout: Out,
}

const PLAIN: How = How {
    options: &[],
    stdout: Out::Null,
};

fn compare(strace: &Path, program: &Path, args: &[&str], addr: Addr, tag: &str) -> String {
    compare_with(strace, program, args, addr, PLAIN, tag)
}

/// [`compare`], run as `how` says.
fn compare_with(
    strace: &Path,
    program: &Path,
    args: &[&str],
    addr: Addr,
    how: How,
    tag: &str,
) -> String {
    let (native_trace, native_end) = native(strace, program, args, how, tag);
    let (vm_trace, vm_end) = microvm(program, args, how);
    assert_eq!(
        shared_lines(&vm_trace, addr),
        shared_lines(&native_trace, addr),
        "{tag}: microvm (left) and strace (right) differ\nmicrovm:\n{vm_trace}\nstrace:\n{native_trace}"
    );
    assert_eq!(vm_end, native_end, "{tag}");
    vm_trace
}

fn faults_c() -> Option<PathBuf> {
    build("gcc", "faults", &["-static", "-O1"])
}

/// Compare every kind in `kinds` of tests/c/faults.c built with gcc and
/// with musl-gcc; each must end in a signal line with microvm's detail
/// beside it.
fn compare_faults(kinds: &[(&str, Addr)]) {
    let Some(strace) = common::strace() else {
        return;
    };
    let Some(glibc) = faults_c() else { return };
    let Some(musl) = build("musl-gcc", "faults", &["-static", "-O1"]) else {
        return;
    };
    for (p, libc) in [(glibc, "glibc"), (musl, "musl")] {
        compare_kinds(&strace, &p, libc, kinds);
    }
}

fn compare_kinds(strace: &Path, p: &Path, libc: &str, kinds: &[(&str, Addr)]) {
    for &(kind, addr) in kinds {
        let tag = format!("{libc}-{kind}");
        let trace = compare(strace, p, &[kind], addr, &tag);
        if let Some(l) = trace.lines().find(|l| l.starts_with("--- ")) {
            assert!(l.contains(" --- [#"), "{tag}: microvm's detail: {l}");
            assert!(l.ends_with(']'), "{tag}: {l}");
        }
    }
}

#[test]
fn page_faults_as_strace_shows_them() {
    require_kvm!();
    compare_faults(&[
        ("read-null", Addr::Same),
        ("read-unmapped", Addr::Same),
        ("read-kernel", Addr::Same),
        ("write-ro", Addr::Same),
        ("exec-nx", Addr::Stack),
        ("read-prot-none", Addr::Mmap(0)),
    ]);
}

#[test]
fn protection_faults_as_strace_shows_them() {
    require_kvm!();
    let mut kinds = vec![
        ("hlt", Addr::Same),
        ("int-n", Addr::Same),
        ("in", Addr::Same),
        ("alignment", Addr::Same),
    ];
    if common::five_level_paging() {
        // 0x800000000000 (a pointer, and a stack) is a canonical, unmapped
        // address (SEGV_MAPERR) for a native process on a 5-level host, a
        // non-canonical one (#GP, #SS) in the guest's 4-level space;
        // tests/faults.rs checks the guest's side.
        eprintln!("noncanonical, stack: not compared on a 5-level paging host");
    } else {
        kinds.push(("noncanonical", Addr::Same));
        kinds.push(("stack", Addr::Same));
    }
    compare_faults(&kinds);
}

#[test]
fn instruction_faults_and_traps_as_strace_shows_them() {
    require_kvm!();
    compare_faults(&[
        ("ud2", Addr::Same),
        ("div0", Addr::Same),
        ("int3", Addr::Same),
        ("icebp", Addr::Same),
        ("single-step", Addr::Same),
        ("x87", Addr::Same),
        ("simd", Addr::Same),
    ]);
}

#[test]
fn a_program_that_survives_ends_as_natively() {
    require_kvm!();
    let (Some(strace), Some(p)) = (common::strace(), faults_c()) else {
        return;
    };
    let trace = compare(&strace, &p, &["nothing"], Addr::Same, "nothing");
    assert!(trace.ends_with("+++ exited with 100 +++\n"), "{trace}");
    assert!(!trace.contains("\n--- "), "{trace}");
}

#[test]
fn a_write_to_a_pipe_with_no_reader_is_sigpipe_as_strace_shows_it() {
    require_kvm!();
    let (Some(strace), Some(p)) = (common::strace(), faults_c()) else {
        return;
    };
    let t = compare_with(
        &strace,
        &p,
        &["write-stdout"],
        Addr::Same,
        How {
            options: &[],
            stdout: Out::BrokenPipe,
        },
        "epipe",
    );
    // The guest is pid 1 and uid 0 (what getpid and getuid answer).
    assert!(
        t.contains(
            "\n--- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=1, si_uid=0} ---\n\
             +++ killed by SIGPIPE +++\n"
        ),
        "{t}"
    );
}

#[test]
fn segv_c_as_strace_shows_it() {
    require_kvm!();
    let Some(strace) = common::strace() else {
        return;
    };
    let Some(p) = build("gcc", "segv", &["-static", "-O1"]) else {
        return;
    };
    // A write to the page it made read-only: SEGV_ACCERR at the mapping;
    // a read of the page it unmapped: SEGV_MAPERR a page into it.
    let t = compare(&strace, &p, &[], Addr::Mmap(0), "segv-write");
    assert!(t.contains("si_code=SEGV_ACCERR"), "{t}");
    let t = compare(&strace, &p, &["unmap"], Addr::Mmap(4096), "segv-read");
    assert!(t.contains("si_code=SEGV_MAPERR"), "{t}");
}

#[test]
fn the_execve_line_is_straces() {
    require_kvm!();
    let (Some(strace), Some(p)) = (common::strace(), faults_c()) else {
        return;
    };
    // Escapes, a string past strace's 32 bytes, an empty one.
    let odd = [
        "nothing",
        "a\tb\nc\"\\\u{1}\u{7f}",
        "0123456789012345678901234567890123456789",
        "",
        "é",
    ];
    let t = compare(&strace, &p, &odd, Addr::Same, "execve-odd");
    assert!(
        t.contains(", \"01234567890123456789012345678901\"..., \"\", "),
        "{t}"
    );
    // More than 32 strings: strace shows 32, then `...`.
    let many: Vec<String> = std::iter::once("nothing".to_string())
        .chain((1..40).map(|i| i.to_string()))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let t = compare(&strace, &p, &many, Addr::Same, "execve-many");
    assert!(t.contains(", \"30\", ...], 0x"), "{t}");
}

#[test]
fn normalising_leaves_what_must_match() {
    // The envp address goes; everything else stays.
    assert_eq!(
        normalise_envp("execve(\"/d/p\", [\"p\"], 0x7ffd4a2c5e18 /* 1 var */) = 0"),
        "execve(\"/d/p\", [\"p\"], ENVP /* 1 var */) = 0"
    );
    let segv = "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x7f0000001000} ---";
    let trace = "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = \
                 0x7f0000000000\n";
    assert_eq!(
        normalise_si_addr(segv, trace, Addr::Mmap(4096)),
        "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=MMAP+0x1000} ---"
    );
    // Not where it should be: left as it is, so the comparison fails.
    assert_eq!(normalise_si_addr(segv, trace, Addr::Mmap(0)), segv);
    assert_eq!(normalise_si_addr(segv, trace, Addr::Same), segv);
    assert_eq!(normalise_si_addr(segv, "", Addr::Stack), segv);
    assert_eq!(
        normalise_sender(
            "--- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=2806, si_uid=1000} ---"
        ),
        "--- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=PID, si_uid=UID} ---"
    );
    assert_eq!(normalise_sender(segv), segv);
    // microvm's bracket is cut; the strace part is kept whole.
    let vm = "execve(\"/d/p\", [\"p\"], 0x7fffffffee78 /* 1 var */) = 0\n\
              brk(NULL) = 0x4c6000\n\
              --- SIGBUS {si_signo=SIGBUS, si_code=BUS_ADRALN, si_addr=NULL} --- [#AC alignment \
              check (err=0x0) rip=0x4018a3]\n\
              +++ killed by SIGBUS (core dumped) +++\n\
              microvm: guest killed by SIGBUS: #AC alignment check at rip 0x4018a3\n";
    assert_eq!(
        shared_lines(vm, Addr::Same),
        [
            "execve(\"/d/p\", [\"p\"], ENVP /* 1 var */) = 0",
            "--- SIGBUS {si_signo=SIGBUS, si_code=BUS_ADRALN, si_addr=NULL} ---",
            "+++ killed by SIGBUS +++",
        ]
    );
}

#[test]
fn the_options_apply_to_the_first_and_last_lines_as_in_strace() {
    require_kvm!();
    let (Some(strace), Some(p)) = (common::strace(), faults_c()) else {
        return;
    };
    let args = ["nothing", "abcdefgh", "abc", "abcde", "abcdef", "a", "b"];
    // -s cuts the strings and the array; -v shows the environment.
    let how = |options| How {
        options,
        stdout: Out::Null,
    };
    let t = compare_with(&strace, &p, &args, Addr::Same, how(&["-s", "5"]), "s5");
    assert!(
        t.contains(", \"abcde\"..., \"abc\", \"abcde\", ...], 0x"),
        "{t}"
    );
    let t = compare_with(&strace, &p, &args, Addr::Same, how(&["-v"]), "v");
    assert!(t.contains("], [\"PATH="), "{t}");
    let t = compare_with(
        &strace,
        &p,
        &["nothing", "\u{e9}"],
        Addr::Same,
        how(&["-x"]),
        "x",
    );
    assert!(t.contains(", \"\\xc3\\xa9\"], 0x"), "{t}");
    // -e trace= leaves execve out like any call; -e signal= the fault line.
    let t = compare_with(
        &strace,
        &p,
        &["nothing"],
        Addr::Same,
        how(&["-e", "trace=exit_group"]),
        "trace-exit-group",
    );
    assert!(!t.contains("execve("), "{t}");
    let t = compare_with(
        &strace,
        &p,
        &["read-null"],
        Addr::Same,
        how(&["-e", "signal=none"]),
        "signal-none",
    );
    // strace leaves out the killing signal's +++ line too.
    assert!(!t.contains("--- SIG") && !t.contains("+++ killed"), "{t}");
    let t = compare_with(
        &strace,
        &p,
        &["read-null"],
        Addr::Same,
        how(&["-e", "trace=%file"]),
        "trace-file",
    );
    assert!(t.starts_with("execve("), "execve is in %file: {t}");
}
