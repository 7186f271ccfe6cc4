//! The vDSO: clock_gettime, gettimeofday, time, getcpu and clock_getres
//! answered in ring 3 (tests/c/vdso.c), by static glibc and musl programs.
//! Their calls leave no line in the trace, exactly as a native `strace -f`
//! of the same program shows none; the clocks the vDSO leaves to the
//! system call are traced in both. The times agree with the host's clocks
//! (read by direct system calls just before and after, which microvm
//! serves from the host) within a millisecond, and monotonic clocks never
//! go backwards. The data page cannot be made writable; /proc/self/maps
//! names both pages as Linux does.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The calls a C library may send to the vDSO.
const VDSO_CALLS: [&str; 5] = [
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "getcpu",
];

/// Whether the host keeps time with the TSC (only then does microvm's
/// vDSO serve clocks: see `microvm::vdso::host_clock_is_the_tsc`).
fn host_clock_is_the_tsc() -> bool {
    microvm::vdso::host_clock_is_the_tsc()
}

/// The names of the calls of a trace that the vDSO could answer, in order.
fn vdso_calls(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter_map(|l| {
            // strace -f -o prefixes a pid.
            let l = l.trim_start_matches(|c: char| c.is_ascii_digit()).trim();
            let name = &l[..l.find('(')?];
            VDSO_CALLS.contains(&name).then(|| name.to_string())
        })
        .collect()
}

/// The vdso program built with `compiler` (static).
fn vdso_program(compiler: &str) -> Option<PathBuf> {
    common::build(compiler, "vdso", &["-static", "-O2"])
}

/// `prog args` natively under `strace -f`: (stdout, the trace).
fn native_strace(strace: &Path, prog: &Path, args: &[&str]) -> (String, String) {
    // One directory per program: the tests run at the same time.
    let name = prog.file_name().unwrap().to_string_lossy();
    let dir = common::tempdir(&format!("vdso-strace-{name}"));
    let out = dir.join("trace");
    let mut cmd = Command::new(strace);
    cmd.arg("-f")
        .arg("-o")
        .arg(&out)
        .arg(prog)
        .args(args)
        .stdin(Stdio::null());
    // SAFETY: only_standard_fds makes one system call.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(common::only_standard_fds);
    }
    let o = cmd.output().expect("strace runs");
    assert!(o.status.success(), "strace: {}", common::stderr(&o));
    let trace = std::fs::read_to_string(&out).unwrap();
    (common::stdout(&o), trace)
}

/// What microvm says of a dynamic program when it runs static ones only.
const STATIC_ONLY: &str = "it is dynamically linked; microvm runs static executables";

fn no_vdso_lines_as_natively(compiler: &str) {
    require_kvm!();
    if let Some(prog) = vdso_program(compiler) {
        assert!(no_vdso_lines(&prog));
    }
}

/// `prog loop` shows no vDSO call in microvm's trace, as natively; false
/// when this microvm refuses the (dynamic) program.
fn no_vdso_lines(prog: &Path) -> bool {
    // Enough rounds that a trace line per call could not hide; where every
    // call is a traced system call (below), a few make the point.
    let tsc = host_clock_is_the_tsc();
    let args = ["loop", if tsc { "20000" } else { "200" }];
    let p = prog.to_str().unwrap();
    let o = common::run(&["run", "--fs-root", "/", p, args[0], args[1]]);
    let trace = common::stderr(&o);
    if trace.contains(STATIC_ONLY) {
        return false;
    }
    assert!(o.status.success(), "{trace}");
    // The one CPU, node 0; every clock went forwards.
    assert_eq!(common::stdout(&o), "ok cpu 0 node 0\n", "{trace}");
    let ours = vdso_calls(&trace);
    // The CPU-time clock is the system call's, in the vDSO as in Linux's.
    assert!(
        trace.contains("clock_gettime(CLOCK_PROCESS_CPUTIME_ID, {tv_sec="),
        "{trace}"
    );
    if !tsc {
        // The host keeps time with another clock source (an emulated
        // machine whose kernel found its TSC unstable): microvm's vDSO
        // serves no clock there, every call is traced, while Linux's still
        // answers the coarse clocks and time() from its tick.
        assert!(ours.len() > 200, "{} calls traced", ours.len());
        eprintln!("skipped the comparison with strace: the host's clock source is not the TSC");
        return true;
    }
    assert!(ours.len() < 100, "{} vDSO calls traced", ours.len());
    let Some(strace) = common::strace() else {
        return true;
    };
    let (out, native) = native_strace(&strace, prog, &args);
    assert!(out.starts_with("ok cpu "), "{out}");
    assert_eq!(
        ours,
        vdso_calls(&native),
        "microvm:\n{trace}\nnative:\n{native}"
    );
    true
}

#[test]
fn glibc_vdso_calls_leave_no_trace_as_natively() {
    no_vdso_lines_as_natively("gcc");
}

#[test]
fn musl_vdso_calls_leave_no_trace_as_natively() {
    no_vdso_lines_as_natively("musl-gcc");
}

fn times_agree_with_the_host(compiler: &str) {
    require_kvm!();
    if let Some(prog) = vdso_program(compiler) {
        times_agree(&prog);
    }
}

/// Each clock `prog agree` reads through the C library lies between the
/// host's readings around it.
fn times_agree(prog: &Path) {
    let p = prog.to_str().unwrap();
    let o = common::run(&["run", "--fs-root", "/", p, "agree"]);
    let (out, trace) = (common::stdout(&o), common::stderr(&o));
    assert!(o.status.success(), "{out}\n{trace}");
    // Seven clocks, gettimeofday and time, each between the host's readings.
    let agreeing = out.lines().filter(|l| l.contains(" agrees")).count();
    assert_eq!(agreeing, 9, "{out}");
    // The readings before and after are direct system calls: traced.
    for clock in [
        "CLOCK_REALTIME",
        "CLOCK_MONOTONIC",
        "CLOCK_BOOTTIME",
        "CLOCK_TAI",
    ] {
        let direct = format!("clock_gettime({clock}, {{tv_sec=");
        assert!(
            trace.matches(&direct).count() >= 2,
            "{clock} direct calls not traced:\n{trace}"
        );
    }
}

#[test]
fn glibc_vdso_times_agree_with_the_host_s_clocks() {
    times_agree_with_the_host("gcc");
}

#[test]
fn musl_vdso_times_agree_with_the_host_s_clocks() {
    times_agree_with_the_host("musl-gcc");
}

#[test]
fn the_vvar_page_cannot_be_made_writable() {
    require_kvm!();
    let Some(prog) = vdso_program("gcc") else {
        return;
    };
    let o = common::run(&["run", prog.to_str().unwrap(), "vvar"]);
    let trace = common::stderr(&o);
    // mprotect refuses as Linux does; the write faults.
    assert_eq!(common::stdout(&o), "mprotect: -1 Permission denied\n");
    assert!(
        trace.contains(", 4096, PROT_READ|PROT_WRITE) = -1 EACCES (Permission denied)"),
        "{trace}"
    );
    assert!(
        trace.contains("+++ killed by SIGSEGV (core dumped) +++"),
        "{trace}"
    );
    assert_eq!(o.status.code(), Some(139));
    // And natively the same.
    let native = Command::new(&prog)
        .arg("vvar")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(common::stdout(&native), "mprotect: -1 Permission denied\n");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(native.status.signal(), Some(libc::SIGSEGV));
}

#[test]
fn madv_dontneed_leaves_the_vdso_working_as_natively() {
    require_kvm!();
    let Some(prog) = vdso_program("gcc") else {
        return;
    };
    let want = "data page: -1 EINVAL\nimage: 0 \nclock_gettime after: 0 1\n";
    let native = Command::new(&prog)
        .arg("dontneed")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(common::stdout(&native), want);
    let o = common::run(&["run", prog.to_str().unwrap(), "dontneed"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(common::stdout(&o), want);
    let trace = common::stderr(&o);
    assert!(
        trace.contains(", 4096, MADV_DONTNEED) = -1 EINVAL (Invalid argument)"),
        "{trace}"
    );
}

#[test]
fn proc_self_maps_names_the_vdso_as_natively() {
    require_kvm!();
    let Some(prog) = vdso_program("gcc") else {
        return;
    };
    let want = "vdso at AT_SYSINFO_EHDR: 1\nvdso r-xp\nvvar r--p below: 1\n";
    let native = Command::new(&prog)
        .arg("maps")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(common::stdout(&native), want);
    let o = common::run(&["run", "--fs-root", "/", prog.to_str().unwrap(), "maps"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(common::stdout(&o), want);
}

/// The same with glibc's dynamic loader setting up the vDSO (as ld.so
/// does it: a link map of its own). Skipped with a line while this
/// microvm refuses dynamic programs (the loader of issue 11's first part).
#[test]
fn dynamic_glibc_uses_the_vdso_too() {
    require_kvm!();
    let Some(prog) = common::build("gcc", "vdso", &["-O2"]) else {
        return;
    };
    if !no_vdso_lines(&prog) {
        eprintln!("skipped: this microvm runs static programs only");
        return;
    }
    times_agree(&prog);
}
