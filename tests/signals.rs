//! Signals as a Linux process has them: each case of tests/c/signals.c,
//! built with gcc and musl-gcc (static), run natively under `strace -f` and
//! under microvm. The two must end the same way (exit status or signal),
//! print the same, and trace the same signal lines: every `--- SIG... ---`
//! delivery, every `rt_sigreturn(...) = ...`, the calls that send, block and
//! handle signals, and the `+++ ... +++` ending. Only pids are normalised
//! (and `(core dumped)`, which strace shows only when a core was written:
//! microvm says it for every core-dumping signal and writes none).
//!
//! The dynamically linked build (plain gcc) runs with `--fs-root /` (its
//! interpreter and libc come from the host) and natively under `setarch -R`
//! (no ASLR: the same addresses as microvm's fixed ones).

mod common;

use common::{build, microvm};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Every case of signals.c.
const CASES: &[&str] = &[
    "abort",
    "raise",
    "segv-longjmp",
    "altstack",
    "pending",
    "resethand",
    "clobber",
    "fault-in-handler",
    "kill-term",
    "ignore",
    "mask-in-handler",
    "sigreturn-garbage",
    "sigreturn-noncanonical",
    "sigreturn-bad-cs",
    "sigreturn-eflags",
    "sigreturn-noncanonical-rsp",
    "sigreturn-compacted",
    "handler-unmapped",
    "handler-noncanonical",
    "no-room",
    "sigsuspend",
    "errors",
    "sigqueue",
];

/// The calls whose lines are compared, besides the signal and end lines.
const SIGNAL_CALLS: &[&str] = &[
    "rt_sigreturn(",
    "rt_sigaction(",
    "rt_sigprocmask(",
    "rt_sigpending(",
    "sigaltstack(",
    "kill(",
    "tgkill(",
    "rt_sigsuspend(",
];

/// How a run ended.
fn end(o: &Output) -> (Option<i32>, Option<i32>) {
    (o.status.code(), o.status.signal())
}

/// microvm's status for a run that ended as `native` did.
fn status_as_shell(o: &Output) -> i32 {
    match end(o) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => -1,
    }
}

/// The lines the traces must share, normalised.
fn signal_lines(trace: &str) -> Vec<String> {
    trace
        .lines()
        .map(|l| {
            l.strip_prefix("[pid ")
                .map_or(l, |r| r.split_once("] ").map_or(r, |x| x.1))
        })
        .filter(|l| {
            l.starts_with("--- ")
                || l.starts_with("+++ ")
                || SIGNAL_CALLS.iter().any(|c| l.starts_with(c))
        })
        .map(normalise)
        .collect()
}

/// Pids as `PID`, stack addresses as `STACK`, microvm's bracket after a
/// fault line cut, runs of spaces
/// before the result as one, `(core dumped)` left out.
fn normalise(line: &str) -> String {
    static RULES: std::sync::OnceLock<[(regex::Regex, &str); 7]> = std::sync::OnceLock::new();
    let rules = RULES.get_or_init(|| {
        let r = |p: &str| regex::Regex::new(p).unwrap();
        [
            (r(r"si_pid=\d+"), "si_pid=PID"),
            (r(r"^tgkill\(\d+, "), "tgkill(PID, "),
            (r(r"^(tgkill\([^,]+, )\d+, "), "${1}PID, "),
            (r(r"^kill\(\d+, "), "kill(PID, "),
            (r(r"\) +="), ") ="),
            (r(r" --- \[.*$"), " ---"),
            // The stack, which Linux randomises and microvm does not.
            (r(r"0x7ff[0-9a-f]{9}\b"), "STACK"),
        ]
    });
    let mut l = line.replace(" (core dumped) +++", " +++");
    for (re, with) in rules {
        l = re.replace_all(&l, *with).into_owned();
    }
    l
}

/// How the program is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Static,
    /// Dynamically: its interpreter and libraries from the host's `/`.
    Dynamic,
}

fn native(strace: &Path, program: &Path, case: &str, link: Link) -> Output {
    let mut cmd = match link {
        Link::Static => Command::new(strace),
        Link::Dynamic => {
            let mut c = Command::new("setarch");
            c.arg("-R").arg(strace);
            c
        }
    };
    cmd.arg("-f").arg(program).arg(case);
    common::output_within(&mut cmd, HANG)
}

/// A hang guard for one run (a case takes well under a second on a host,
/// a few under make test-native's emulation).
const HANG: Duration = Duration::from_secs(120);

fn under_microvm_linked(program: &Path, case: &str, link: Link) -> Output {
    let mut cmd = microvm();
    cmd.arg("run");
    if link == Link::Dynamic {
        cmd.args(["--fs-root", "/"]);
    }
    cmd.arg(program).arg(case);
    common::output_within(&mut cmd, HANG)
}

fn under_microvm(program: &Path, case: &str) -> Output {
    under_microvm_linked(program, case, Link::Static)
}

/// Compare every case of `program`; the differences, one per line.
fn compare(strace: &Path, program: &Path, tag: &str, link: Link) -> Vec<String> {
    compare_cases(strace, program, tag, link, CASES)
}

/// Compare `cases` of `program`; the differences, one per line.
fn compare_cases(
    strace: &Path,
    program: &Path,
    tag: &str,
    link: Link,
    cases: &[&str],
) -> Vec<String> {
    let mut diffs = Vec::new();
    for case in cases {
        let n = native(strace, program, case, link);
        let m = under_microvm_linked(program, case, link);
        let (nt, mt) = (
            String::from_utf8_lossy(&n.stderr),
            String::from_utf8_lossy(&m.stderr),
        );
        let (nl, ml) = (signal_lines(&nt), signal_lines(&mt));
        if status_as_shell(&n) != m.status.code().unwrap_or(-1) {
            diffs.push(format!(
                "{tag} {case}: native ended {:?}, microvm {:?}",
                end(&n),
                m.status.code()
            ));
        }
        if n.stdout != m.stdout {
            diffs.push(format!(
                "{tag} {case}: stdout native {:?}, microvm {:?}",
                String::from_utf8_lossy(&n.stdout),
                String::from_utf8_lossy(&m.stdout)
            ));
        }
        if nl != ml {
            diffs.push(format!(
                "{tag} {case}: signal lines differ\nnative:\n  {}\nmicrovm:\n  {}",
                nl.join("\n  "),
                ml.join("\n  ")
            ));
        }
    }
    diffs
}

#[test]
fn signal_cases_end_print_and_trace_as_natively() {
    require_kvm!();
    let Some(strace) = common::strace() else {
        return;
    };
    let mut diffs = Vec::new();
    for (compiler, tag) in [("gcc", "glibc-static"), ("musl-gcc", "musl-static")] {
        if let Some(p) = build(compiler, "signals", &["-static", "-O1"]) {
            diffs.extend(compare(&strace, &p, tag, Link::Static));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// A frame whose FP state sets MXCSR's reserved bits: XRSTOR refuses it,
/// so Linux's rt_sigreturn fails and SIGSEGV follows. Its own test, as
/// QEMU's emulation (under make test-native) loads any MXCSR without the
/// #GP (tests/native/skip).
#[test]
fn a_frame_with_reserved_mxcsr_bits_ends_as_natively() {
    require_kvm!();
    let Some(strace) = common::strace() else {
        return;
    };
    let Some(p) = build("gcc", "signals", &["-static", "-O1"]) else {
        return;
    };
    let case = ["sigreturn-bad-fpstate"];
    let mut diffs = compare_cases(&strace, &p, "glibc-static", Link::Static, &case);
    if let Some(musl) = build("musl-gcc", "signals", &["-static", "-O1"]) {
        diffs.extend(compare_cases(
            &strace,
            &musl,
            "musl-static",
            Link::Static,
            &case,
        ));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let o = under_microvm(&p, "sigreturn-bad-fpstate");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(139), "{err}");
    assert!(
        err.contains("--- SIGSEGV {si_signo=SIGSEGV, si_code=SI_KERNEL, si_addr=NULL} ---"),
        "{err}"
    );
}

#[test]
fn the_cases_end_as_linux_ends_them() {
    // The statuses themselves, not only their agreement with a native run.
    require_kvm!();
    let Some(p) = build("gcc", "signals", &["-static", "-O1"]) else {
        return;
    };
    for (case, status, last) in [
        ("abort", 134, "+++ killed by SIGABRT (core dumped) +++"),
        ("raise", 0, "+++ exited with 0 +++"),
        ("clobber", 0, "+++ exited with 0 +++"),
        ("resethand", 138, "+++ killed by SIGUSR1 +++"),
        ("kill-term", 143, "+++ killed by SIGTERM +++"),
        ("sigreturn-noncanonical-rsp", 0, "+++ exited with 0 +++"),
        (
            "fault-in-handler",
            139,
            "+++ killed by SIGSEGV (core dumped) +++",
        ),
        (
            "sigreturn-garbage",
            139,
            "+++ killed by SIGSEGV (core dumped) +++",
        ),
    ] {
        let o = under_microvm(&p, case);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(status), "{case}: {err}");
        assert!(
            err.lines().any(|l| l == last),
            "{case}: no {last:?} in\n{err}"
        );
    }
    // The FP state in XSAVEC's compacted form comes back.
    let o = under_microvm(&p, "sigreturn-compacted");
    let out = String::from_utf8_lossy(&o.stdout);
    if out == "compacted: no XSAVEC on this CPU\n" {
        eprintln!("skipped: the compacted case needs XSAVEC");
    } else {
        assert!(out.starts_with("compacted: xmm0 42"), "{out}");
        assert!(
            out.ends_with(", k1 0x1234\n") || out.ends_with(" (no AVX-512)\n"),
            "{out}"
        );
    }
    let o = under_microvm(&p, "clobber");
    let out = String::from_utf8_lossy(&o.stdout);
    if out == "clobber: no AVX on this CPU\n" {
        eprintln!("skipped: the clobber case needs AVX");
    } else {
        assert_eq!(out, "clobber: all registers unchanged\n");
    }
}

#[test]
fn a_handled_sigpipe_leaves_the_write_failing_with_epipe() {
    require_kvm!();
    let Some(p) = build("gcc", "signals", &["-static", "-O1"]) else {
        return;
    };
    let mut fds = [0; 2];
    // SAFETY: pipe writes two descriptors into `fds`.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both are ours, open, and owned once.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    let o = microvm()
        .args(["run"])
        .arg(&p)
        .arg("sigpipe-handled")
        .stdout(Stdio::from(write))
        .output()
        .unwrap();
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            "write(1, \"x\", 1) = -1 EPIPE (Broken pipe)\n\
                      --- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=1, si_uid=0} ---\n\
                      rt_sigreturn({mask=[]}) = -1 EPIPE (Broken pipe)\n"
        ),
        "{err}"
    );
    assert!(err.contains("sigpipe-handled: write -1 got 13"), "{err}");
}

#[test]
fn json_records_each_delivery_and_sigreturn() {
    require_kvm!();
    let Some(p) = build("gcc", "signals", &["-static", "-O1"]) else {
        return;
    };
    let o = microvm()
        .args(["run", "--trace", "json"])
        .arg(&p)
        .arg("raise")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let records = common::all_json_records(&o);
    let signal = records
        .iter()
        .find(|r| r["kind"] == "signal")
        .expect("a signal record");
    assert_eq!(signal["signal"]["si_signo"], "SIGUSR1");
    assert_eq!(signal["signal"]["si_code"], "SI_TKILL");
    assert_eq!(signal["signal"]["si_pid"], 1);
    assert!(
        records.iter().any(|r| r["name"] == "rt_sigreturn"
            && r["ret"] == 0
            && r["decoded"][0] == "{mask=[]}"),
        "no rt_sigreturn record"
    );
}

#[test]
fn the_dynamic_build_ends_prints_and_traces_as_natively() {
    require_kvm!();
    let Some(strace) = common::strace() else {
        return;
    };
    let Some(p) = build("gcc", "signals", &["-O1"]) else {
        return;
    };
    if Command::new("setarch").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but setarch is missing"
        );
        eprintln!("skipped: setarch is missing");
        return;
    }
    let diffs = compare(&strace, &p, "glibc-dynamic", Link::Dynamic);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn pause_with_nothing_to_wait_for_ends_the_run() {
    require_kvm!();
    let Some(p) = build("gcc", "signals", &["-static", "-O1"]) else {
        return;
    };
    let o = microvm().arg("run").arg(&p).arg("pause").output().unwrap();
    let err = common::unpadded(&common::stderr(&o));
    // No signal can arrive (the program sends its own only): pause would
    // wait for ever, so the run ends at once with one line, as an untimed
    // futex wait does.
    assert_eq!(common::stdout(&o), "pausing\n");
    assert_eq!(o.status.code(), Some(124), "{err}");
    assert!(
        err.ends_with(
            "pause() = ?\n+++ stopped: waits forever +++\n\
             microvm: the program waits forever: pause() with no signal that can arrive\n"
        ),
        "{err}"
    );
}
