//! The strace options of `microvm run`, one test each, on real guests: a C
//! program (tests/c/options.c, built with gcc -static) traced by microvm
//! and, where the option's effect can be compared, by the installed strace
//! with the same options, lines required equal after normalising what
//! legitimately differs (the pid; the VM's own start-up calls are left out
//! by `-e trace=`). Then the failure paths: a bad option, syscall, class,
//! regex, status or signal is one line and exit 1.

mod common;

use common::{build, microvm, stderr, Scratch};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The calls options.c makes after its C library's start-up.
const CALLS: &str = "trace=openat,read,close,write,newfstatat,exit_group";

/// The test program and a --fs-root holding the file it reads.
struct Setup {
    prog: PathBuf,
    root: Scratch,
}

fn setup(name: &str) -> Option<Setup> {
    if !common::kvm_available() {
        return None;
    }
    let prog = build("gcc", "options", &["-static", "-O1"])?;
    let root = Scratch::new(&format!("options-{name}"));
    std::fs::write(root.0.join("hello.txt"), "hello\n").unwrap();
    Some(Setup { prog, root })
}

impl Setup {
    /// `microvm run --fs-root ROOT OPTIONS PROG`.
    fn microvm(&self, options: &[&str]) -> Output {
        microvm_run(&self.root.0, &self.prog, options)
    }

    /// `strace OPTIONS PROG` natively, in ROOT (the guest's cwd is its
    /// root); None (with a skip line) when strace is missing.
    fn strace(&self, options: &[&str]) -> Option<Output> {
        strace_run(&self.root.0, &self.prog, options)
    }
}

fn microvm_run(root: &Path, prog: &Path, options: &[&str]) -> Output {
    microvm()
        .args(["run", "--fs-root"])
        .arg(root)
        .args(options)
        .arg(prog)
        .output()
        .expect("microvm runs")
}

fn strace_run(dir: &Path, prog: &Path, options: &[&str]) -> Option<Output> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("strace");
    cmd.args(options).arg(prog).current_dir(dir);
    // SAFETY: only_standard_fds makes one async-signal-safe syscall.
    unsafe { cmd.pre_exec(common::only_standard_fds) };
    match cmd.output() {
        Ok(o) => Some(o),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("CI is set but strace is missing (make setup installs it)")
        }
        Err(_) => {
            eprintln!("skipped: strace is not installed");
            None
        }
    }
}

/// The trace lines of `o`'s stderr, padding and all: microvm's own
/// `microvm:` lines and the
/// execve line (microvm's and strace's differ in the program's path and
/// environment; the comparison tests check it) left out, the pid `getpid`
/// returns made `PID`.
fn lines(o: &Output) -> Vec<String> {
    raw(o)
        .lines()
        .filter(|l| !l.starts_with("microvm: ") && !l.contains("execve("))
        .map(|l| match l.find("getpid()") {
            Some(i) => {
                let (head, tail) = l.split_at(i);
                let eq = tail.rfind("= ").map_or(tail.len(), |j| j + 2);
                format!("{head}{}PID", &tail[..eq])
            }
            None => l.to_string(),
        })
        .collect()
}

/// `o`'s stderr as written (common::stderr undoes the result column).
fn raw(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// microvm and strace print the same lines for `options`.
fn same_as_strace(s: &Setup, options: &[&str]) {
    let ours = s.microvm(options);
    let Some(theirs) = s.strace(options) else {
        return;
    };
    assert_eq!(ours.status.code(), theirs.status.code(), "{options:?}");
    assert_eq!(
        lines(&ours),
        lines(&theirs),
        "microvm {options:?}:\n{}\nstrace:\n{}",
        stderr(&ours),
        stderr(&theirs)
    );
}

#[test]
fn trace_by_name_number_class_regex_and_negation() {
    let Some(s) = setup("trace") else { return };
    for spec in [
        CALLS,
        "trace=openat,close",
        "openat",
        "trace=%desc",
        "trace=desc",
        "trace=/^(read|write)$",
        "trace=?opne,close",
        "trace=3,257",
        "trace=none",
        "trace=!all",
        "t=close",
    ] {
        same_as_strace(&s, &["-e", spec]);
    }
    // A later -e trace= replaces an earlier one, as in strace.
    same_as_strace(&s, &["-e", "trace=read", "-e", "trace=close"]);
    // %file and the negation reach the C library's start-up, which differs
    // in the VM (rseq, prlimit64, brk addresses): judged by which calls.
    let names = |o: &Output| -> Vec<String> {
        lines(o)
            .iter()
            .filter(|l| !l.starts_with("+++"))
            .map(|l| l.split('(').next().unwrap_or("").to_string())
            .collect()
    };
    for spec in [
        "trace=%file",
        "trace=file",
        "trace=!%memory,getpid",
        "trace=%%stat",
    ] {
        let ours = s.microvm(&["-e", spec]);
        let Some(theirs) = s.strace(&["-e", spec]) else {
            return;
        };
        assert!(!names(&ours).is_empty(), "{spec}: {}", stderr(&ours));
        assert_eq!(
            names(&ours),
            names(&theirs),
            "{spec}: microvm\n{}\nstrace\n{}",
            stderr(&ours),
            stderr(&theirs)
        );
    }
}

#[test]
fn status_z_and_capital_z() {
    let Some(s) = setup("status") else { return };
    for options in [
        &["-e", CALLS, "-e", "status=failed"][..],
        &["-e", CALLS, "-e", "status=successful"],
        &["-e", CALLS, "-e", "status=unfinished"],
        &["-e", CALLS, "-e", "status=!failed"],
        &["-e", CALLS, "-e", "status=unavailable,detached"],
        &["-e", CALLS, "-z"],
        &["-e", CALLS, "-Z"],
        // strace's options combine: -e trace= with -e status=.
        &["-e", "trace=openat", "-e", "status=failed"],
    ] {
        same_as_strace(&s, options);
    }
    let failed = s.microvm(&["-Z"]);
    let l = lines(&failed);
    assert!(
        l.iter()
            .any(|l| l.starts_with("openat(AT_FDCWD, \"missing.txt\"")),
        "{l:?}"
    );
    assert!(
        l.iter()
            .all(|l| l.contains("= -1 E") || l.starts_with("+++")),
        "{l:?}"
    );
}

#[test]
fn string_limit_and_hex() {
    let Some(s) = setup("strings") else { return };
    for options in [
        &["-e", "trace=write,read", "-s", "2"][..],
        &["-e", "trace=write,read", "-s0"],
        &["-e", "trace=write,read", "-s", "100"],
        &["-e", "trace=write,read", "-x"],
        &["-e", "trace=write,read", "-xx"],
        &["-e", "trace=write,read", "-xx", "-s", "3"],
    ] {
        same_as_strace(&s, options);
    }
}

#[test]
fn verbose_structs() {
    let Some(s) = setup("verbose") else { return };
    same_as_strace(&s, &["-e", "trace=newfstatat", "-v"]);
}

#[test]
fn verbose_is_accepted() {
    let Some(s) = setup("verbose-accepted") else {
        return;
    };
    let o = s.microvm(&["-v", "-e", "trace=close"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        lines(&o),
        [
            "close(3)                                = 0",
            "+++ exited with 3 +++"
        ]
    );
}

#[test]
fn fd_paths_in_the_text_trace() {
    let Some(s) = setup("fd-paths-text") else {
        return;
    };
    let o = s.microvm(&["-y", "-e", "trace=openat,read,close"]);
    assert_eq!(
        lines(&o)[..3],
        [
            "openat(AT_FDCWD</>, \"hello.txt\", O_RDONLY) = 3</hello.txt>",
            "read(3</hello.txt>, \"hello\\n\", 64)      = 6",
            "close(3</hello.txt>)                    = 0",
        ]
    );
}

#[test]
fn fd_paths_as_each_call_started() {
    let Some(s) = setup("fd-paths") else { return };
    let calls_traced = "trace=openat,read,close,write";
    for fd_option in [&["-y"][..], &["-yy"], &["-e", "decode-fds=path"]] {
        let mut options = fd_option.to_vec();
        options.extend(["--trace", "json", "-e", calls_traced]);
        let y = fd_option.join(" ");
        let o = s.microvm(&options);
        let records = common::json_records(&o);
        let calls: Vec<&serde_json::Value> =
            records.iter().filter(|r| r["kind"] == "syscall").collect();
        let by_name = |name: &str| -> Vec<&serde_json::Value> {
            calls
                .iter()
                .copied()
                .filter(|r| r["name"] == name)
                .collect()
        };
        let open = by_name("openat");
        assert_eq!(
            open[0]["fd_paths"][0]["fd"],
            libc::AT_FDCWD,
            "{y}: {}",
            open[0]
        );
        assert_eq!(open[0]["fd_paths"][0]["path"], "/", "the cwd");
        assert_eq!(open[0]["ret_path"], "/hello.txt", "{y}");
        assert!(
            open[1].get("ret_path").is_none(),
            "a failed open: {}",
            open[1]
        );
        assert_eq!(by_name("read")[0]["fd_paths"][0]["path"], "/hello.txt");
        // Taken before the call was served: what close closed.
        assert_eq!(by_name("close")[0]["fd_paths"][0]["path"], "/hello.txt");
        // The program's stdout is microvm's: a pipe here.
        let out = &by_name("write")[0]["fd_paths"][0];
        assert_eq!(out["fd"], 1);
        assert!(out["path"].as_str().unwrap().starts_with("pipe:["), "{out}");
    }
    // Without -y nothing is looked up or shown.
    let o = s.microvm(&["--trace", "json", "-e", "trace=close"]);
    let records = common::json_records(&o);
    assert!(records[0].get("fd_paths").is_none(), "{}", records[0]);
}

/// A line split after its leader of `leader_len` bytes.
fn leader_and_rest(line: &str, leader_len: usize) -> (&str, &str) {
    assert!(line.len() > leader_len, "{line:?}");
    line.split_at(leader_len)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `HH:MM:SS` (and `.uuuuuu` with `micros`) as seconds of the day.
fn time_of_day(t: &str, micros: bool) -> u32 {
    let (hms, frac) = match t.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (t, None),
    };
    assert_eq!(frac.is_some(), micros, "{t:?}");
    if let Some(f) = frac {
        assert!(f.len() == 6 && is_digits(f), "{t:?}");
    }
    let parts: Vec<&str> = hms.split(':').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| p.len() == 2 && is_digits(p)),
        "{t:?}"
    );
    parts
        .iter()
        .fold(0, |acc, p| acc * 60 + p.parse::<u32>().unwrap())
}

/// `a` and `b` (seconds of the day) are within a minute, across midnight.
fn close_in_time(a: u32, b: u32) -> bool {
    let d = a.abs_diff(b);
    d.min(86_400 - d) <= 60
}

#[test]
fn absolute_timestamps() {
    let Some(s) = setup("timestamps") else { return };
    let Some(native) = s.strace(&["-t", "-e", "trace=close"]) else {
        return;
    };
    let native_time = time_of_day(&lines(&native)[0][..8], false);
    for (t, len, micros) in [("-t", 9, false), ("-tt", 16, true)] {
        let o = s.microvm(&[t, "-e", "trace=close"]);
        let l = lines(&o);
        assert_eq!(l.len(), 2, "{l:?}");
        let (lead, rest) = leader_and_rest(&l[0], len);
        assert!(lead.ends_with(' '), "{l:?}");
        let when = time_of_day(lead.trim_end(), micros);
        assert!(
            close_in_time(when, native_time),
            "{t}: {lead} vs strace's {native_time}s"
        );
        // The column of ` = ` counts the leader, as in strace.
        let pad = " ".repeat(40 - len - "close(3)".len());
        assert_eq!(rest, format!("close(3){pad}= 0"), "{t}");
        let (lead, rest) = leader_and_rest(&l[1], len);
        time_of_day(lead.trim_end(), micros);
        assert_eq!(rest, "+++ exited with 3 +++");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let o = s.microvm(&["-ttt", "-e", "trace=close"]);
    let l = lines(&o);
    let (secs, rest) = l[0].split_once(' ').unwrap();
    let (whole, frac) = secs.split_once('.').unwrap();
    assert!(
        is_digits(whole) && frac.len() == 6 && is_digits(frac),
        "{l:?}"
    );
    let at: f64 = secs.parse().unwrap();
    assert!((at - now).abs() < 60.0, "{at} vs {now}");
    assert!(rest.starts_with("close(3) "), "{l:?}");
    assert!(l[1].ends_with(" +++ exited with 3 +++"), "{l:?}");
}

#[test]
fn relative_timestamps() {
    let Some(s) = setup("relative") else { return };
    let o = s.microvm(&["-r", "-e", "trace=close,write"]);
    let l = lines(&o);
    assert_eq!(l.len(), 3, "{l:?}");
    // `%6ld.%06ld `: the first line 0, each the time since the previous.
    assert!(l[0].starts_with("     0.000000 close(3) "), "{l:?}");
    for line in &l[1..] {
        let (lead, _) = line.split_at(14);
        let (s, us) = lead.trim().split_once('.').unwrap();
        assert!(is_digits(s) && us.len() == 6 && is_digits(us), "{line:?}");
        assert!(lead.starts_with("     ") && lead.ends_with(' '), "{line:?}");
    }
    assert!(l[1][14..].starts_with("write(1, "), "{l:?}");
    assert!(l[2][14..].starts_with("+++ exited with 3"), "{l:?}");
    // With -t: `HH:MM:SS (+     0.000000) `.
    let o = s.microvm(&["-r", "-t", "-e", "trace=close"]);
    let l = lines(&o);
    time_of_day(&l[0][..8], false);
    assert_eq!(&l[0][8..], " (+     0.000000) close(3)      = 0", "{l:?}");
}

#[test]
fn syscall_times() {
    let Some(s) = setup("times") else { return };
    let o = s.microvm(&["-T", "-e", "trace=close,openat,exit_group"]);
    let l = lines(&o);
    assert_eq!(l.len(), 5, "{l:?}");
    for (line, head) in l[..3].iter().zip([
        "openat(AT_FDCWD, \"hello.txt\", O_RDONLY) = 3 <",
        "close(3)                                = 0 <",
        "openat(AT_FDCWD, \"missing.txt\", O_RDONLY) = -1 ENOENT (No such file or directory) <",
    ]) {
        let time = line
            .strip_prefix(head)
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or_else(|| panic!("{line:?}"));
        let (s, us) = time.split_once('.').unwrap();
        assert!(is_digits(s) && us.len() == 6 && is_digits(us), "{line:?}");
    }
    // A call that does not return has no time, as in strace.
    assert_eq!(l[3], "exit_group(3)                           = ?");
    // -ttT: both.
    let o = s.microvm(&["-ttT", "-e", "trace=close"]);
    let l = lines(&o);
    time_of_day(&l[0][..15], true);
    assert!(
        l[0][16..].starts_with("close(3)                = 0 <"),
        "{l:?}"
    );
    // JSON gets the same: the duration and the timestamp.
    let o = s.microvm(&["-tT", "--trace", "json", "-e", "trace=close"]);
    let r = &common::json_records(&o)[0];
    assert!(
        r["duration"]
            .as_f64()
            .is_some_and(|d| (0.0..10.0).contains(&d)),
        "{r}"
    );
    assert!(r["timestamp"].as_f64().is_some_and(|t| t > 1.0e9), "{r}");
}

#[test]
fn summary_only_and_summary_with_the_trace() {
    let Some(s) = setup("summary") else { return };
    let header = "% time     seconds  usecs/call     calls    errors syscall";
    // -c: the summary alone.
    let o = s.microvm(&["-c"]);
    let text = raw(&o);
    assert_eq!(o.status.code(), Some(3));
    assert!(text.starts_with(header), "{text}");
    assert!(!text.contains("+++") && !text.contains(" = "), "{text}");
    let row = |text: &str, name: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.ends_with(&format!(" {name}")))
            .unwrap_or_else(|| panic!("no {name} row in {text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row(&text, "openat")[3..], ["2", "1", "openat"], "{text}");
    // -c with -e trace=: only those calls are counted, as in strace.
    let o = s.microvm(&["-c", "-e", "trace=openat,close"]);
    let text = raw(&o);
    let names: Vec<&str> = text
        .lines()
        .skip(2)
        .filter(|l| !l.starts_with("---"))
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    assert_eq!(names.len(), 3, "{text}");
    assert!(
        names.contains(&"openat") && names.contains(&"close") && names.contains(&"total"),
        "{text}"
    );
    assert_eq!(row(&text, "total")[3..], ["3", "1", "total"], "{text}");
    // The same calls and errors as strace -c counts (times differ).
    let counts = |text: &str| -> Vec<String> {
        let mut rows: Vec<String> = text
            .lines()
            .skip(2)
            .filter(|l| !l.starts_with("---"))
            .map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                // calls [errors] name
                cols[3..].join(" ")
            })
            .collect();
        rows.sort();
        rows
    };
    let c = ["-c", "-e", CALLS];
    if let Some(theirs) = s.strace(&c) {
        let ours = s.microvm(&c);
        assert_eq!(
            counts(&raw(&ours)),
            counts(&raw(&theirs)),
            "{}\n{}",
            raw(&ours),
            raw(&theirs)
        );
    }
    // -C and --summary: the trace, then the summary.
    for c in ["-C", "--summary"] {
        let o = s.microvm(&[c, "-e", "trace=close"]);
        let text = raw(&o);
        let l: Vec<&str> = text.lines().collect();
        assert_eq!(
            l[0], "close(3)                                = 0",
            "{text}"
        );
        assert_eq!(l[1], "+++ exited with 3 +++", "{text}");
        assert_eq!(l[2], header, "{text}");
        assert_eq!(row(&text, "close")[3..], ["1", "close"], "{text}");
    }
    // strace's warning for an option -c makes pointless.
    let o = s.microvm(&["-c", "-T"]);
    assert!(
        stderr(&o)
            .starts_with("microvm: -T/--syscall-times has no effect with -c/--summary-only\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn output_file_and_follow_forks() {
    let Some(s) = setup("output") else { return };
    let file = s.root.0.join("../options-output-trace.txt");
    let o = s.microvm(&["-o", file.to_str().unwrap(), "-tt", "-e", "trace=close"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(lines(&o).is_empty(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        text.lines().next().unwrap()[16..].starts_with("close(3) "),
        "{text}"
    );
    // -f and -ff: accepted; one process, nothing changes.
    let plain = s.microvm(&["-e", CALLS]);
    for f in ["-f", "-ff"] {
        let o = s.microvm(&[f, "-e", CALLS]);
        assert_eq!(o.status.code(), Some(3), "{f}: {}", stderr(&o));
        assert_eq!(lines(&o), lines(&plain), "{f}");
    }
}

#[test]
fn quiet() {
    let Some(s) = setup("quiet") else { return };
    for options in [
        &["-q", "-e", "trace=close"][..],
        &["-qq", "-e", "trace=close"],
        &["-qqq", "-e", "trace=close"],
        &["-e", "quiet=exit", "-e", "trace=close"],
        &["-e", "quiet=attach", "-e", "trace=close"],
    ] {
        same_as_strace(&s, options);
    }
    let o = s.microvm(&["-qq", "-e", "trace=close"]);
    assert_eq!(lines(&o), ["close(3)                                = 0"]);
}

#[test]
fn signal_set_shows_or_hides_the_signal_lines() {
    if !common::kvm_available() {
        return;
    }
    let Some(prog) = build("gcc", "segv", &["-static", "-O1"]) else {
        return;
    };
    let root = Scratch::new("options-signal");
    let run = |options: &[&str]| microvm_run(&root.0, &prog, options);
    // The signal's line (`--- ... ---`) and `+++ killed by ... +++`.
    let signal_lines = |o: &Output| -> Vec<String> {
        lines(o)
            .into_iter()
            .filter(|l| l.starts_with("--- ") || l.starts_with("+++ killed"))
            .collect()
    };
    let shown = run(&["-e", "trace=none"]);
    assert_eq!(shown.status.code(), Some(139));
    let l = signal_lines(&shown);
    assert_eq!(l.len(), 2, "{}", stderr(&shown));
    assert_eq!(l[1], "+++ killed by SIGSEGV (core dumped) +++");
    for spec in [
        "signal=SIGSEGV",
        "signal=segv",
        "signal=11",
        "signal=all",
        "signal=!SIGILL",
        "s=SEGV",
    ] {
        let o = run(&["-e", "trace=none", "-e", spec]);
        assert_eq!(signal_lines(&o), l, "{spec}");
    }
    // strace leaves out both the signal and `+++ killed by` for a signal
    // outside the set.
    let Some(native) = strace_run(&root.0, &prog, &["-e", "trace=none", "-e", "signal=none"])
    else {
        return;
    };
    assert!(signal_lines(&native).is_empty(), "{}", stderr(&native));
    for spec in ["signal=none", "signal=!SIGSEGV", "signal=SIGILL,SIGBUS"] {
        let o = run(&["-e", "trace=none", "-e", spec]);
        assert_eq!(o.status.code(), Some(139), "{spec}");
        assert!(signal_lines(&o).is_empty(), "{spec}: {}", stderr(&o));
        // microvm's own line on stderr still says why the program died.
        assert!(
            stderr(&o).contains("microvm: guest killed by SIGSEGV"),
            "{spec}"
        );
    }
}

/// microvm's stderr for a run that must fail before the guest starts.
fn refused(args: &[&str]) -> String {
    let o = microvm().args(args).output().expect("microvm runs");
    let text = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {text}");
    assert!(o.stdout.is_empty(), "{args:?}");
    assert_eq!(text.lines().count(), 1, "{args:?}: one line, not\n{text}");
    assert!(text.starts_with("microvm: "), "{args:?}: {text}");
    assert!(!text.contains("Usage"), "{args:?}: {text}");
    text.trim_end().to_string()
}

#[test]
fn bad_options_and_filters_are_one_line_and_exit_1() {
    // Nothing here reaches KVM: every refusal comes first.
    let prog = "/bin/true";
    let r = |options: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(options);
        args.push(prog);
        refused(&args)
    };
    assert_eq!(
        r(&["-e", "trace=opne"]),
        "microvm: -e trace=opne: no syscall named \"opne\""
    );
    assert_eq!(
        r(&["-e", "opne"]),
        "microvm: -e opne: no syscall named \"opne\""
    );
    assert_eq!(
        r(&["-e", "trace=open", "-e", "trace=close,clsoe"]),
        "microvm: -e trace=close,clsoe: no syscall named \"clsoe\""
    );
    assert!(r(&["-e", "trace=%fiel"])
        .starts_with("microvm: -e trace=%fiel: no syscall class %fiel (classes: %desc %file"));
    assert_eq!(
        r(&["-e", "trace=/("]),
        "microvm: -e trace=/(: bad regex /(: unclosed group"
    );
    assert_eq!(
        r(&["-e", "trace=/zzzz"]),
        "microvm: -e trace=/zzzz: no syscall name matches /zzzz"
    );
    assert_eq!(
        r(&["-e", "trace=1000"]),
        "microvm: -e trace=1000: no syscall numbered 1000"
    );
    assert_eq!(r(&["-e", "trace="]), "microvm: -e trace=: no syscall given");
    assert_eq!(
        r(&["-e", "status=bogus"]),
        "microvm: -e status=bogus: no status \"bogus\""
    );
    assert_eq!(
        r(&["-e", "signal=SIGFOO"]),
        "microvm: -e signal=SIGFOO: no signal \"SIGFOO\""
    );
    assert_eq!(
        r(&["-e", "quiet=loud"]),
        "microvm: -e quiet=loud: no quiet kind \"loud\""
    );
    assert!(r(&["-e", "inject=open:error=ENOENT"])
        .contains("microvm does not do this strace qualifier"));
    assert!(r(&["-s", "abc"]).contains("invalid value 'abc'"));
    assert!(r(&["-s", "-1"]).starts_with("microvm: "));
    assert!(r(&["--frob"]).contains("unexpected argument '--frob'"));
    assert!(r(&["-p", "1"]).contains("unexpected argument '-p'"));
    assert!(refused(&["run"]).contains("<PROGRAM>"));
    assert!(refused(&["frob"]).contains("unrecognized subcommand 'frob'"));
}

#[test]
fn help_lists_the_strace_options_in_straces_words() {
    let o = microvm().args(["run", "--help"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    for words in [
        "strace options",
        "-e <EXPR>",
        "trace=[!][?]{SYSCALL|%CLASS|/REGEX}",
        "status=SET",
        "signal=SET",
        "-z, --successful-only",
        "Print only syscalls that returned without an error code",
        "-Z, --failed-only",
        "-s, --string-limit <STRSIZE>",
        "Limit length of print strings to STRSIZE chars (default 32)",
        "print non-ASCII strings in hex",
        "print all strings in hex",
        "-v, --no-abbrev",
        "Print paths associated with file descriptor arguments",
        "-T, --syscall-times",
        "Print time spent in each syscall",
        "print absolute timestamp",
        "-r, --relative-timestamps",
        "-c, --summary-only",
        "-C, --summary",
        "Like -c, but also print the regular output",
        "-o, --output <FILE>",
        "Follow forks",
        "the guest is one process",
        "suppress messages about process exit status",
    ] {
        assert!(help.contains(words), "{words:?} missing in\n{help}");
    }
}
