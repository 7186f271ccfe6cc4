//! microvm's trace against strace's own: each C program in tests/c/strace_*.c
//! (built with gcc and with musl-gcc, both static, and with plain gcc,
//! dynamic: ld.so and the host's libc.so.6) runs natively under
//! `setarch -R strace -f` and under `microvm run --fs-root /`, and after the
//! normalisation below the two traces must be the same lines, in order.
//!
//! The expected text is what the installed strace prints, captured at test
//! time. A test reports every differing line at once (both lines side by
//! side, grouped by syscall), so a failure is the list of what is left.
//!
//! Both runs are made as alike as they can be before any text is touched:
//! the same program file found through the same `PATH` (the only variable of
//! both environments, so argv\[0\] and `/* 1 var */` agree), `/` as the working
//! directory, stdin `/dev/null`, and the native process given the limits
//! and CPU set microvm's model reports (`RLIMIT_NOFILE` 1024,
//! `RLIMIT_STACK` 128 KiB, `RLIMIT_CORE` as high as it may go, CPU 0 alone).
//!
//! A call microvm refuses (its line ends `= -1 ENOSYS (Function not
//! implemented)`) is refused natively too: strace injects the same failure
//! there (`-e inject=NAME:error=ENOSYS`, with `when=` when microvm refused
//! only some of that syscall's calls). The program then takes the same path
//! in both runs, and strace itself shows what a failed call looks like: its
//! input arguments decoded, its output arguments as their address. Its
//! `(INJECTED)` mark is the one thing removed.
//!
//! The normalisation, applied to both traces (outside quoted strings unless
//! said otherwise):
//! 1. strace's `PID ` prefix (from `-f -o`) and `(INJECTED)` mark go, and the
//!    padding before `= result` is one space. The padding is checked apart,
//!    on each run's own lines: the result stands at column 40 (strace counts
//!    its prefix), or one space after a longer call — a rule the test checks
//!    on strace's lines first, then requires of microvm's.
//! 2. Addresses: a hex number of 0x10000 (`vm.mmap_min_addr`) and more is
//!    `ADDR` (stack, heap, mappings and environment lie at other places in
//!    the VM); `NULL` and smaller numbers stay.
//! 3. Times: the values of `tv_sec=`, `tv_nsec=`, `tv_usec=`; in `time`
//!    lines, the seconds and the date strace writes beside them.
//! 4. The VM's identity: the process id (microvm's pid is 1) in the result
//!    of `getpid`, `gettid`, `set_tid_address` and the arguments of `kill`,
//!    `tkill`, `tgkill`; `uname`'s nodename; `sched_getaffinity`'s result
//!    (the size of the kernel's CPU mask: `nr_cpu_ids`, not the CPUs given).
//! 5. Random bytes: each `\xHH` of `getrandom`'s buffer.
//!
//! Everything else must match exactly. That these rules set aside all
//! that differs between two native runs (and no more than the unit tests
//! below allow) is itself a test: strace against itself, without KVM.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{build, ReadOnlyTmpfs, Scratch};

/// The builds of each program: a name for the report, the compiler, its
/// flags. The dynamic one runs ld.so and the host's libc.so.6 (found
/// through the view of the host's `/` in the VM), so its trace starts with
/// ld.so's own calls.
const BUILDS: &[(&str, &str, &[&str])] = &[
    ("glibc static", "gcc", &["-static", "-O1"]),
    ("musl static", "musl-gcc", &["-static", "-O1"]),
    ("glibc dynamic", "gcc", &["-O1"]),
];

/// The ENOSYS line microvm writes for a call it does not serve.
const REFUSED: &str = " = -1 ENOSYS (Function not implemented)";

/// The syscall a trace line is of (`None` for `+++ exited ... +++` and the
/// like).
fn syscall_name(line: &str) -> Option<&str> {
    let name = &line[..line.find('(')?];
    (!name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
    .then_some(name)
}

/// `-e inject=` options that make strace refuse natively what microvm
/// refused: per syscall, all its calls, or the range of them (`when=A..B`,
/// counted from 1) microvm refused. A syscall refused at scattered calls, or
/// one strace has no name for (`syscall_0x3e8`), is left alone (its lines
/// will differ, which the comparison reports).
fn injections(microvm_trace: &[String]) -> Vec<String> {
    let mut calls: BTreeMap<&str, (usize, Vec<usize>)> = BTreeMap::new();
    for line in microvm_trace {
        let Some(name) = syscall_name(line).filter(|n| !n.starts_with("syscall_")) else {
            continue;
        };
        let entry = calls.entry(name).or_default();
        entry.0 += 1;
        if line.ends_with(REFUSED) {
            entry.1.push(entry.0);
        }
    }
    let mut out = Vec::new();
    for (name, (total, refused)) in calls {
        let (Some(&first), Some(&last)) = (refused.first(), refused.last()) else {
            continue;
        };
        if refused.len() == total {
            out.push(format!("inject={name}:error=ENOSYS"));
        } else if last - first + 1 == refused.len() {
            out.push(format!("inject={name}:error=ENOSYS:when={first}..{last}"));
        }
    }
    out
}

/// One run's trace.
struct Trace {
    /// The lines as the run wrote them.
    lines: Vec<String>,
    /// The traced process's id in that run.
    pid: i64,
    /// Written by strace (each line has its `PID ` prefix).
    by_strace: bool,
}

impl Trace {
    /// Each line without what only strace adds (rule 1's prefix and mark).
    fn bare(&self) -> Vec<&str> {
        self.lines
            .iter()
            .map(|l| {
                if self.by_strace {
                    strip_strace(l, self.pid)
                } else {
                    l
                }
            })
            .collect()
    }

    /// Each line normalised.
    fn normalised(&self) -> Vec<String> {
        self.bare()
            .into_iter()
            .map(|l| normalise(l, self.pid))
            .collect()
    }
}

/// Where a program's traces go, and how it is found: by name through a
/// `PATH` of its own directory.
struct Run<'a> {
    prog: &'a Path,
    args: &'a [&'a str],
    scratch: &'a Scratch,
}

impl Run<'_> {
    fn dir(&self) -> &Path {
        self.prog.parent().unwrap()
    }

    fn out(&self, tag: &str) -> PathBuf {
        let stem = self.prog.file_name().unwrap().to_string_lossy();
        self.scratch.0.join(format!("{stem}.{tag}"))
    }

    /// The program under microvm.
    fn microvm(&self) -> Trace {
        let out = self.out("microvm");
        let mut path_var = OsString::from("PATH=");
        path_var.push(self.dir());
        let o = common::microvm()
            .arg("run")
            .arg("-o")
            .arg(&out)
            .arg("--env")
            .arg(&path_var)
            .args(["--fs-root", "/"])
            .arg(self.prog)
            .args(self.args)
            .current_dir("/")
            .output()
            .expect("microvm runs");
        assert_eq!(
            o.status.code(),
            Some(0),
            "microvm run {}: {}",
            self.prog.display(),
            common::stderr(&o)
        );
        Trace {
            lines: read_lines(&out),
            pid: i64::from(microvm::syscall::GUEST_PID),
            by_strace: false,
        }
    }

    /// The program natively under `strace -f`, refusing what `refused`
    /// says (its `-e inject=` options), written to the file tagged `tag`.
    fn strace(&self, strace: &Path, refused: &[String], tag: &str) -> Trace {
        let out = self.out(tag);
        let mut cmd = Command::new(strace);
        cmd.arg("-f").arg("-o").arg(&out);
        for inject in refused {
            cmd.args(["-e", inject]);
        }
        cmd.arg(self.prog.file_name().unwrap())
            .args(self.args)
            .env_clear()
            .env("PATH", self.dir())
            .current_dir("/")
            .stdin(Stdio::null());
        // SAFETY: between fork and exec the closure only makes
        // async-signal-safe syscalls (personality, getrlimit, setrlimit,
        // sched_setaffinity, close_range) on the child itself, with values on its own
        // stack.
        unsafe {
            cmd.pre_exec(like_the_vm);
            // Only fds 0-2, as the guest starts (the emulated machine of
            // make test-native hands its tests more).
            cmd.pre_exec(common::only_standard_fds);
        }
        let o = cmd.output().expect("strace runs");
        assert!(
            o.status.success(),
            "strace {}: {}",
            self.prog.display(),
            common::stderr(&o)
        );
        let lines = read_lines(&out);
        let pid = lines
            .first()
            .and_then(|l| l.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no pid prefix in strace's first line: {lines:?}"));
        Trace {
            lines,
            pid,
            by_strace: true,
        }
    }
}

/// In the native child before exec: the limits and CPU set microvm reports
/// (`RLIMIT_NOFILE` 1024, `RLIMIT_STACK` 128 KiB, one CPU: 0), and its
/// layout: no randomisation (`setarch -R`), so the program and ld.so lie
/// where microvm puts them.
fn like_the_vm() -> std::io::Result<()> {
    // SAFETY: personality only sets the calling process's execution domain
    // (inherited by strace and the program it starts).
    if unsafe { libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    for (resource, value) in [
        (libc::RLIMIT_NOFILE, 1024),
        (libc::RLIMIT_STACK, 128 * 1024),
        (libc::RLIMIT_CORE, libc::RLIM_INFINITY),
    ] {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the rlimit on the stack it is given.
        if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // Lowered to the VM's value; never above the hard limit (raising
        // it takes a privilege).
        let value = value.min(limit.rlim_max);
        let limit = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: a valid rlimit on the stack; setrlimit only reads it.
        if unsafe { libc::setrlimit(resource, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    // SAFETY: cpu_set_t is plain data, valid all-zero; CPU_SET writes within
    // it; sched_setaffinity reads `size_of` bytes of it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A line cut into quoted strings (`true`) and the text between them.
fn segments(line: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut cur = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_string {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                out.push((true, std::mem::take(&mut cur)));
                in_string = false;
            }
        } else if c == '"' {
            if !cur.is_empty() {
                out.push((false, std::mem::take(&mut cur)));
            }
            cur.push(c);
            in_string = true;
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push((in_string, cur));
    }
    out
}

/// Rule 2: hex numbers of 0x10000 and more are `ADDR`.
fn addresses(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let starts = b[i] == b'0'
            && b.get(i + 1) == Some(&b'x')
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if starts {
            let end = (i + 2..=b.len())
                .find(|&j| j == b.len() || !b[j].is_ascii_hexdigit())
                .unwrap_or(b.len());
            let digits = &text[i + 2..end];
            if !digits.is_empty() {
                let big = u128::from_str_radix(digits, 16).map_or(true, |v| v >= 0x10000);
                out.push_str(if big { "ADDR" } else { &text[i..end] });
                i = end;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// Replace the decimal number after each `key` with `with`.
fn number_after(text: &str, key: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let (head, tail) = rest.split_at(at + key.len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str(with);
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// Replace whole decimal tokens for which `pick` holds with `with`.
fn tokens(text: &str, pick: impl Fn(&str) -> bool, with: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) && pick(word) {
            out.push_str(with);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Rule 3's dates (`2026-11-28T04:24:16+0000`) are `DATE`.
fn dates(text: &str) -> String {
    tokens_any(text, |w| {
        let b = w.as_bytes();
        b.len() == 24 && b[4] == b'-' && b[10] == b'T' && matches!(b[19], b'+' | b'-')
    })
}

/// Replace whole words (digits, letters, `-`, `:`, `+`) for which `pick`
/// holds with `DATE`.
fn tokens_any(text: &str, pick: impl Fn(&str) -> bool) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_alphanumeric() || c == '-' || c == ':' || c == '+' {
            word.push(c);
            continue;
        }
        out.push_str(if pick(&word) { "DATE" } else { &word });
        word.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// The text between strings of a line of syscall `name`, normalised.
fn outside(text: &str, name: Option<&str>, pid: i64) -> String {
    let mut t = addresses(text);
    // Rule 1: strace pads the result to column 40.
    while t.contains("  =") {
        t = t.replace("  =", " =");
    }
    for key in ["tv_sec=", "tv_nsec=", "tv_usec="] {
        t = number_after(&t, key, "N");
    }
    let pid = pid.to_string();
    match name {
        Some("time") => {
            t = dates(&t);
            t = tokens(&t, |w| w.len() >= 9, "SECS");
        }
        Some("getpid" | "gettid" | "set_tid_address" | "kill" | "tkill" | "tgkill") => {
            t = tokens(&t, |w| w == pid, "PID");
        }
        Some("sched_getaffinity") => {
            if let Some(at) = t.rfind(") = ") {
                let result = tokens(&t[at..], |_| true, "N");
                t.replace_range(at.., &result);
            }
        }
        _ => {}
    }
    t
}

/// Rule 5: each `\xHH` of a random buffer is `\x..`.
fn random_bytes(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 3).is_some_and(u8::is_ascii_hexdigit)
        {
            out.push_str("\\x..");
            i += 4;
        } else if b[i] == b'\\' && i + 1 < b.len() {
            out.push_str(&s[i..i + 2]);
            i += 2;
        } else {
            let c = s[i..].chars().next().unwrap_or('?');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The column strace writes `= result` at (its `-a` default), counting
/// the `PID ` prefix; a longer call is followed by one space.
const RESULT_COLUMN: usize = 40;

/// The byte offsets of the end of a line's call (after its `)`) and of the
/// `=` of its result, found outside quoted strings.
fn result_at(line: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    for (is_string, text) in segments(line) {
        if !is_string {
            let b = text.as_bytes();
            for (k, _) in text.match_indices(')') {
                let spaces = b[k + 1..].iter().take_while(|&&c| c == b' ').count();
                if spaces > 0 && text[k + 1 + spaces..].starts_with("= ") {
                    return Some((offset + k + 1, offset + k + 1 + spaces));
                }
            }
        }
        offset += text.len();
    }
    None
}

/// Whether a line's result stands where strace puts it: at
/// [`RESULT_COLUMN`], or one space after a longer call.
fn at_strace_column(line: &str) -> bool {
    result_at(line).is_none_or(|(call_end, eq)| eq == RESULT_COLUMN.max(call_end + 1))
}

/// One trace line, normalised (see the module's rules). `pid` is the traced
/// process's id in that run.
fn normalise(line: &str, pid: i64) -> String {
    let name = syscall_name(line);
    let mut out = String::new();
    let mut after_nodename = false;
    let mut first_string = true;
    for (is_string, text) in segments(line) {
        if !is_string {
            after_nodename = text.ends_with("nodename=");
            out.push_str(&outside(&text, name, pid));
            continue;
        }
        if name == Some("uname") && after_nodename {
            out.push_str("\"HOST\"");
        } else if name == Some("getrandom") && first_string {
            out.push_str(&random_bytes(&text));
        } else {
            out.push_str(&text);
        }
        first_string = false;
    }
    out
}

/// Rule 1 for strace's lines: its `PID ` prefix and `(INJECTED)` mark.
fn strip_strace(line: &str, pid: i64) -> &str {
    let line = line
        .strip_prefix(&pid.to_string())
        .map_or(line, str::trim_start);
    line.strip_suffix(" (INJECTED)").unwrap_or(line)
}

/// A difference between the two normalised traces: a line of each (by
/// index), or a line only one of them has.
#[derive(Debug, PartialEq)]
struct Difference {
    syscall: String,
    strace: Option<usize>,
    microvm: Option<usize>,
}

/// Compare the normalised traces line by line (a longest common
/// subsequence, so a missing or extra line is reported as such and the
/// rest still lines up): the lines that match (by index), and every
/// differing line, the two paired by syscall where a stretch differs.
fn compare(expected: &[String], got: &[String]) -> (Vec<(usize, usize)>, Vec<Difference>) {
    let (n, m) = (expected.len(), got.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == got[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = Vec::new();
    let mut matched = Vec::new();
    let (mut i, mut j) = (0, 0);
    let (mut only_e, mut only_g) = (Vec::new(), Vec::new());
    while i < n || j < m {
        if i < n && j < m && expected[i] == got[j] {
            pair_up(expected, got, &mut only_e, &mut only_g, &mut out);
            matched.push((i, j));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            only_g.push(j);
            j += 1;
        } else {
            only_e.push(i);
            i += 1;
        }
    }
    pair_up(expected, got, &mut only_e, &mut only_g, &mut out);
    (matched, out)
}

/// The lines of one differing stretch, strace's and microvm's of the same
/// syscall side by side.
fn pair_up(
    expected: &[String],
    got: &[String],
    only_e: &mut Vec<usize>,
    only_g: &mut Vec<usize>,
    out: &mut Vec<Difference>,
) {
    let name = |l: &str| syscall_name(l).unwrap_or("(other)").to_owned();
    let mut partners: Vec<Option<usize>> = only_g.drain(..).map(Some).collect();
    for e in only_e.drain(..) {
        let syscall = name(&expected[e]);
        let partner = partners
            .iter_mut()
            .find(|g| g.is_some_and(|g| name(&got[g]) == syscall))
            .and_then(Option::take);
        out.push(Difference {
            syscall,
            strace: Some(e),
            microvm: partner,
        });
    }
    for g in partners.into_iter().flatten() {
        out.push(Difference {
            syscall: name(&got[g]),
            strace: None,
            microvm: Some(g),
        });
    }
}

/// Every line of `got` that differs from strace's `expected`, as
/// `(syscall, both lines)`: after normalisation, or in where its result
/// stands.
fn differences(expected: &Trace, got: &Trace) -> Vec<(String, String)> {
    // The column rule is checked against the installed strace's own lines
    // (with their `PID ` prefix, which strace counts).
    for line in &expected.lines {
        assert!(
            at_strace_column(line),
            "strace does not put this result where tests/strace.rs expects \
             (column {RESULT_COLUMN}): {line}"
        );
    }
    let (matched, unmatched) = compare(&expected.normalised(), &got.normalised());
    let misplaced = matched
        .into_iter()
        .filter(|&(_, j)| !at_strace_column(&got.lines[j]))
        .map(|(i, j)| Difference {
            syscall: syscall_name(&got.lines[j]).unwrap_or("(other)").to_owned(),
            strace: Some(i),
            microvm: Some(j),
        });
    // Shown as each run wrote them (the comparison was of the normalised
    // lines).
    fn raw(t: &Trace, i: Option<usize>) -> &str {
        i.map_or("(no such line)", |i| t.lines[i].as_str())
    }
    let other = if got.by_strace { "strace:" } else { "microvm:" };
    misplaced
        .chain(unmatched)
        .map(|d| {
            let text = format!(
                "    strace:  {}\n    {other:<8} {}",
                raw(expected, d.strace),
                raw(got, d.microvm)
            );
            (d.syscall, text)
        })
        .collect()
}

/// The report of every difference, grouped by syscall (`None` when there is
/// none).
fn report(title: &str, differences: Vec<(String, String)>) -> Option<String> {
    if differences.is_empty() {
        return None;
    }
    let mut by_syscall: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let count = differences.len();
    for (syscall, text) in differences {
        by_syscall.entry(syscall).or_default().push(text);
    }
    let mut msg = format!("{title}: {count} lines differ from strace's\n");
    for (syscall, texts) in by_syscall {
        msg.push_str(&format!("{syscall}:\n"));
        for t in texts {
            msg.push_str(&t);
            msg.push('\n');
        }
    }
    Some(msg)
}

/// Run tests/c/strace_NAME.c with both C libraries, under microvm and
/// natively under strace with what microvm refused refused there too, and
/// fail with every differing line, grouped by syscall.
fn compare_program(name: &str, args: &[&str], scratch: &Scratch) {
    let Some(strace) = common::strace() else {
        return;
    };
    let mut differences = Vec::new();
    for &(build_name, compiler, flags) in BUILDS {
        let Some(prog) = build(compiler, &format!("strace_{name}"), flags) else {
            continue;
        };
        let run = Run {
            prog: &prog,
            args,
            scratch,
        };
        let vm = run.microvm();
        let native = run.strace(&strace, &injections(&vm.lines), "strace");
        differences.extend(
            self::differences(&native, &vm)
                .into_iter()
                .map(|(syscall, text)| (syscall, format!("  [{build_name}]\n{text}"))),
        );
    }
    if let Some(msg) = report(&format!("strace_{name}"), differences) {
        panic!("{msg}");
    }
}

/// The directory strace_files.c reads: "data", "link" (to "data"), "sub/".
fn files_fixture(scratch: &Scratch) -> String {
    let dir = scratch.0.join("dir");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("data"), "0123456789abcdef\n").unwrap();
    std::os::unix::fs::symlink("data", dir.join("link")).unwrap();
    dir.to_str().unwrap().to_owned()
}

#[test]
fn files_match_strace() {
    require_kvm!();
    let scratch = Scratch::new("strace-files");
    let dir = files_fixture(&scratch);
    compare_program("files", &[&dir], &scratch);
}

#[test]
fn fsinfo_matches_strace_on_a_read_only_file_system() {
    require_kvm!();
    let scratch = Scratch::new("strace-fsinfo");
    let Some(ro) = ReadOnlyTmpfs::new(&scratch) else {
        return;
    };
    compare_program("fsinfo", &[ro.0.to_str().unwrap()], &scratch);
}

#[test]
fn memory_matches_strace() {
    require_kvm!();
    compare_program("memory", &[], &Scratch::new("strace-memory"));
}

#[test]
fn time_matches_strace() {
    require_kvm!();
    compare_program("time", &[], &Scratch::new("strace-time"));
}

#[test]
fn limits_match_strace() {
    require_kvm!();
    compare_program("limits", &[], &Scratch::new("strace-limits"));
}

#[test]
fn signals_match_strace() {
    require_kvm!();
    compare_program("signals", &[], &Scratch::new("strace-signals"));
}

#[test]
fn rseq_matches_strace() {
    require_kvm!();
    compare_program("rseq", &[], &Scratch::new("strace-rseq"));
}

#[test]
fn sockets_poll_prctl_futex_writev_match_strace() {
    require_kvm!();
    compare_program("misc", &[], &Scratch::new("strace-misc"));
}

#[test]
fn futex_pipes_poll_match_strace() {
    require_kvm!();
    compare_program("ipc", &[], &Scratch::new("strace-ipc"));
}

/// The rules set aside all that differs between two native runs of the
/// same program (pid, addresses, times, random bytes): strace against
/// itself, every program, both C libraries. No KVM needed.
#[test]
fn two_native_runs_agree_after_normalisation() {
    let Some(strace) = common::strace() else {
        return;
    };
    let scratch = Scratch::new("strace-native");
    let dir = files_fixture(&scratch);
    let mut differences = Vec::new();
    for name in [
        "files", "memory", "time", "limits", "signals", "misc", "ipc", "rseq",
    ] {
        let args: &[&str] = if name == "files" { &[&dir] } else { &[] };
        for &(build_name, compiler, flags) in BUILDS {
            let Some(prog) = build(compiler, &format!("strace_{name}"), flags) else {
                continue;
            };
            let run = Run {
                prog: &prog,
                args,
                scratch: &scratch,
            };
            let first = run.strace(&strace, &[], "first");
            let second = run.strace(&strace, &[], "second");
            assert_ne!(first.pid, second.pid);
            differences.extend(
                self::differences(&first, &second)
                    .into_iter()
                    .map(|(syscall, text)| (syscall, format!("  [{name}, {build_name}]\n{text}"))),
            );
        }
    }
    if let Some(msg) = report("two native runs", differences) {
        panic!("{msg}");
    }
}

/// The comparison itself: the rules normalise what they say and nothing
/// else, and a difference is reported with both lines.
#[test]
fn normalisation_keeps_what_must_match() {
    let pid = 4242;
    let strace_line =
        "4242  mmap(NULL, 16384, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f47597e9000";
    assert_eq!(
        normalise(strip_strace(strace_line, pid), pid),
        "mmap(NULL, 16384, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ADDR"
    );
    // Small hex numbers, NULL and strings stay.
    assert_eq!(
        normalise(
            "fcntl(3, F_GETFL)      = 0x8000 (flags O_RDONLY|O_LARGEFILE)",
            1
        ),
        "fcntl(3, F_GETFL) = 0x8000 (flags O_RDONLY|O_LARGEFILE)"
    );
    assert_eq!(
        normalise("write(1, \"0x7fffffff  = 1\", 15) = 15", 1),
        "write(1, \"0x7fffffff  = 1\", 15) = 15"
    );
    assert_ne!(
        normalise("rseq(0x4acca0, 32, 0x0, 0x53053053) = -1", 1),
        normalise("rseq(0x4acca0, 0x20, 0, 0x53053053) = -1", 1)
    );
    // Times, pids, nodename, random bytes.
    assert_eq!(
        normalise("time([1795839856 /* 2026-11-28T04:24:16+0000 */]) = 1795839856 (2026-11-28T04:24:16+0000)", 1),
        "time([SECS /* DATE */]) = SECS (DATE)"
    );
    assert_eq!(
        normalise(
            "clock_gettime(CLOCK_MONOTONIC, {tv_sec=11282, tv_nsec=93016859}) = 0",
            1
        ),
        "clock_gettime(CLOCK_MONOTONIC, {tv_sec=N, tv_nsec=N}) = 0"
    );
    assert_eq!(
        normalise("tgkill(4242, 4242, 0) = 0", 4242),
        "tgkill(PID, PID, 0) = 0"
    );
    assert_eq!(
        normalise("tgkill(1, 1, 0) = 0", 1),
        "tgkill(PID, PID, 0) = 0"
    );
    // Only in the listed syscalls: a 1 elsewhere is a 1.
    assert_eq!(normalise("close(1) = 0", 1), "close(1) = 0");
    assert_eq!(
        normalise("sched_getaffinity(0, 128, [0])    = 32", 1),
        "sched_getaffinity(0, 128, [0]) = N"
    );
    assert_eq!(
        normalise("uname({sysname=\"Linux\", nodename=\"vm\", ...}) = 0", 1),
        "uname({sysname=\"Linux\", nodename=\"HOST\", ...}) = 0"
    );
    assert_eq!(
        normalise("getrandom(\"\\x3c\\xb3\", 2, 0) = 2", 1),
        "getrandom(\"\\x..\\x..\", 2, 0) = 2"
    );
    // Octal escapes are not strace's form for random bytes: they stay.
    assert_eq!(
        normalise("getrandom(\"\\312\", 1, 0) = 1", 1),
        "getrandom(\"\\312\", 1, 0) = 1"
    );
    assert_eq!(
        strip_strace("4242  rseq(0x1, 0x20, 0, 0x53053053) = -1 ENOSYS (Function not implemented) (INJECTED)", 4242),
        "rseq(0x1, 0x20, 0, 0x53053053) = -1 ENOSYS (Function not implemented)"
    );
}

#[test]
fn the_result_column_is_strace_s() {
    // Padded to column 40, counting a pid prefix; one space after a longer
    // call; a ") = " inside a string is no result.
    assert!(at_strace_column(
        "brk(NULL)                               = 0x4ac000"
    ));
    assert!(at_strace_column(
        "2919  brk(NULL)                         = 0xa1e8000"
    ));
    assert!(at_strace_column(
        "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=128*1024, rlim_max=128*1024}) = 0"
    ));
    assert!(at_strace_column(
        "exit_group(0)                           = ?"
    ));
    assert!(at_strace_column("+++ exited with 0 +++"));
    assert!(!at_strace_column("brk(NULL) = 0x4ac000"));
    assert!(!at_strace_column(
        "brk(NULL)                                = 0x4ac000"
    ));
    assert!(!at_strace_column(
        "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=128*1024, rlim_max=128*1024})  = 0"
    ));
    assert_eq!(
        result_at(&format!("write(1, \"x) = 1\", 6){:19}= 6", "")),
        Some((21, 40))
    );
}

#[test]
fn a_difference_shows_both_lines_and_the_rest_lines_up() {
    let s = |v: &[&str]| v.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let expected = s(&["execve(\"/p\") = 0", "a(1) = 0", "b(2) = 0", "c(3) = 0"]);
    let got = s(&["a(1) = 0", "b(0x2) = 0", "c(3) = 0", "d() = 0"]);
    let diff = |syscall: &str, strace, microvm| Difference {
        syscall: syscall.to_owned(),
        strace,
        microvm,
    };
    let (matched, differences) = compare(&expected, &got);
    assert_eq!(matched, vec![(1, 0), (3, 2)]);
    assert_eq!(
        differences,
        vec![
            diff("execve", Some(0), None),
            diff("b", Some(2), Some(1)),
            diff("d", None, Some(3)),
        ]
    );
    assert!(compare(&got, &got).1.is_empty());
}

#[test]
fn refused_calls_are_injected_natively_by_occurrence() {
    let s = |v: &[&str]| v.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let trace = s(&[
        "rseq(0x1, 32, 0, 0x53053053) = -1 ENOSYS (Function not implemented)",
        "ioctl(0, TCGETS, 0x7fff) = -1 ENOTTY (Inappropriate ioctl for device)",
        "ioctl(0, FIONREAD, 0x7fff) = -1 ENOSYS (Function not implemented)",
        "ioctl(0, FIONBIO, 0x7fff) = -1 ENOSYS (Function not implemented)",
        "prctl(15, 0x1) = -1 ENOSYS (Function not implemented)",
        "prctl(16, 0x1) = 0",
        "prctl(16, 0x1) = -1 ENOSYS (Function not implemented)",
        "close(3) = 0",
        "syscall_0x3e8(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)",
        "+++ exited with 0 +++",
    ]);
    assert_eq!(
        injections(&trace),
        vec![
            "inject=ioctl:error=ENOSYS:when=2..3".to_string(),
            "inject=rseq:error=ENOSYS".to_string(),
        ]
    );
}
