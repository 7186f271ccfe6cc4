//! strace's `-e` expressions: which syscalls are traced (`-e trace=`),
//! which results are shown (`-e status=`, `-z`, `-Z`), which signals
//! (`-e signal=`) and which of the `+++ ... +++` messages (`-e quiet=`,
//! `-q`, `-qq`).
//!
//! Everything is decided from the syscall table
//! (`microvm_abi::linux::syscalls`): names, numbers and classes come from
//! its rows, so this file knows no syscall by name. The syscall set is a
//! bitmap over the table's numbers, so deciding whether a call is traced
//! costs one load and a shift, before anything is decoded or formatted.

use microvm_abi::linux::consts::SIGNALS;
use microvm_abi::linux::syscalls::{by_name, by_nr, class, Syscall, MAX_NR, SYSCALLS};
use std::fmt;

/// A bad `-e` expression, said in one line: the expression as typed, then
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("-e {expr}: {problem}")]
pub struct FilterError {
    /// The expression, as the user typed it.
    pub expr: String,
    /// What is wrong.
    pub problem: String,
}

/// Words in the bitmap: one bit per number from 0 to [`MAX_NR`].
const WORDS: usize = (MAX_NR as usize + 1).div_ceil(64);

/// A set of syscall numbers (strace's `number_set` for `-e trace=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallSet {
    /// Bit `nr` for each number up to [`MAX_NR`], in the table or in one
    /// of its gaps.
    bits: [u64; WORDS],
    /// Whether numbers above [`MAX_NR`] are in the set (only an inverted
    /// set holds them, as in strace).
    above: bool,
}

impl Default for SyscallSet {
    /// Every syscall: strace's default.
    fn default() -> Self {
        SyscallSet::all()
    }
}

impl SyscallSet {
    /// No syscall.
    pub const fn none() -> Self {
        SyscallSet {
            bits: [0; WORDS],
            above: false,
        }
    }

    /// Every number, known or not.
    pub const fn all() -> Self {
        SyscallSet {
            bits: [u64::MAX; WORDS],
            above: true,
        }
    }

    /// True when syscall `nr` is in the set.
    #[inline]
    pub fn contains(&self, nr: u64) -> bool {
        match usize::try_from(nr) {
            Ok(i) if nr <= MAX_NR => self.bits[i / 64] >> (i % 64) & 1 != 0,
            _ => self.above,
        }
    }

    /// True when no number is in the set.
    pub fn is_empty(&self) -> bool {
        !self.above && self.bits.iter().all(|&w| w == 0)
    }

    fn add(&mut self, nr: u64) {
        if let Ok(i) = usize::try_from(nr) {
            if nr <= MAX_NR {
                self.bits[i / 64] |= 1 << (i % 64);
            }
        }
    }

    fn invert(&mut self) {
        for w in &mut self.bits {
            *w = !*w;
        }
        self.above = !self.above;
    }

    /// Add every row `pick` chooses; false when it chose none.
    fn add_rows(&mut self, mut pick: impl FnMut(&Syscall) -> bool) -> bool {
        let mut found = false;
        for row in SYSCALLS.iter().filter(|r| pick(r)) {
            self.add(row.nr);
            found = true;
        }
        found
    }

    /// The set `spec` names, as strace's `-e trace=SPEC` reads it: leading
    /// `!`s invert; `all`, `none`; else comma-separated tokens, each a
    /// name, a number, a `%class` (or one of the bare class names strace
    /// still accepts), or a `/regex` matched against the names; a token
    /// starting with `?` may match nothing. `expr` is the whole expression
    /// for the error message.
    pub fn parse(spec: &str, expr: &str) -> Result<SyscallSet, FilterError> {
        let error = |problem: String| FilterError {
            expr: expr.to_string(),
            problem,
        };
        let mut set = SyscallSet::none();
        let mut s = spec;
        let mut invert = false;
        while let Some(rest) = s.strip_prefix('!') {
            invert = !invert;
            s = rest;
        }
        match s {
            "none" => {}
            "all" => set.invert(),
            _ => {
                let mut tokens = s.split(',').filter(|t| !t.is_empty()).peekable();
                if tokens.peek().is_none() {
                    return Err(error("no syscall given".into()));
                }
                for token in tokens {
                    set.add_token(token).map_err(error)?;
                }
            }
        }
        if invert {
            set.invert();
        }
        Ok(set)
    }

    /// Add what one token names.
    fn add_token(&mut self, token: &str) -> Result<(), String> {
        let optional = token.starts_with('?');
        let t = token.trim_start_matches('?');
        let found = if t.starts_with(|c: char| c.is_ascii_digit()) {
            match t.parse::<u64>().ok().and_then(by_nr) {
                Some(row) => {
                    self.add(row.nr);
                    Ok(true)
                }
                None => Err(format!("no syscall numbered {t}")),
            }
        } else if let Some(pattern) = t.strip_prefix('/') {
            let re = regex::Regex::new(pattern)
                .map_err(|e| format!("bad regex /{pattern}: {}", regex_problem(&e)))?;
            if self.add_rows(|r| re.is_match(r.name)) {
                Ok(true)
            } else {
                Err(format!("no syscall name matches /{pattern}"))
            }
        } else if let Some(bits) = class_bits(t) {
            // A class with no syscall in it is no error (strace's rule).
            self.add_rows(|r| r.class.contains(bits));
            Ok(true)
        } else if let Some(name) = t.strip_prefix('%') {
            Err(format!(
                "no syscall class %{name} (classes: {})",
                class_list()
            ))
        } else if let Some(row) = by_name(t) {
            self.add(row.nr);
            Ok(true)
        } else {
            Err(format!("no syscall named \"{t}\""))
        };
        match found {
            Ok(_) => Ok(()),
            Err(_) if optional => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The class names strace still accepts without `%` (and `all`, every
/// syscall the table has).
const BARE_CLASSES: [&str; 7] = [
    "desc", "file", "memory", "process", "signal", "ipc", "network",
];

/// The class bits a token names: `%name` (`%%stat`, `%%statfs` for the
/// `*_LIKE` classes), a bare legacy class name, or `all`.
fn class_bits(token: &str) -> Option<u32> {
    let name = match token.strip_prefix('%') {
        Some(name) => name,
        None if token == "all" => return Some(class::NONE),
        None if BARE_CLASSES.contains(&token) => token,
        None => return None,
    };
    class::NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, bits)| bits)
}

/// "%desc, %file, ...": the classes, for an error message.
fn class_list() -> String {
    class::NAMES
        .iter()
        .map(|(n, _)| format!("%{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The one line of a regex error that says what is wrong (the crate's
/// message draws the pattern and a caret over several lines).
fn regex_problem(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or_else(|| text.lines().next().unwrap_or("invalid"))
        .to_string()
}

/// A set of small numbers (statuses, signals, quiet kinds), strace's
/// `qualify_tokens`: leading `!`s invert, `all`, `none`, or
/// comma-separated names each `lookup` turns into a number below 256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SmallSet([u64; 4]);

impl SmallSet {
    const ALL: SmallSet = SmallSet([u64::MAX; 4]);
    const NONE: SmallSet = SmallSet([0; 4]);

    fn contains(self, n: u8) -> bool {
        self.0[usize::from(n / 64)] >> (n % 64) & 1 != 0
    }

    fn with(mut self, n: u8) -> SmallSet {
        self.0[usize::from(n / 64)] |= 1 << (n % 64);
        self
    }

    fn parse(
        spec: &str,
        expr: &str,
        what: &str,
        lookup: impl Fn(&str) -> Option<u8>,
    ) -> Result<SmallSet, FilterError> {
        let error = |problem: String| FilterError {
            expr: expr.to_string(),
            problem,
        };
        let mut s = spec;
        let mut invert = false;
        while let Some(rest) = s.strip_prefix('!') {
            invert = !invert;
            s = rest;
        }
        let mut set = match s {
            "none" => SmallSet::NONE,
            "all" => SmallSet::ALL,
            _ => {
                let mut set = SmallSet::NONE;
                let mut any = false;
                for token in s.split(',').filter(|t| !t.is_empty()) {
                    let n = lookup(token).ok_or_else(|| error(format!("no {what} \"{token}\"")))?;
                    set = set.with(n);
                    any = true;
                }
                if !any {
                    return Err(error(format!("no {what} given")));
                }
                set
            }
        };
        if invert {
            for w in &mut set.0 {
                *w = !*w;
            }
        }
        Ok(set)
    }
}

/// What came of a syscall, for `-e status=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It returned a value that is not an error.
    Successful,
    /// It returned an error (-4095..-1).
    Failed,
    /// It did not return (`= ?`: exit, exit_group).
    Unfinished,
    /// Its result could not be read (never, in one VM: accepted for
    /// strace's sake).
    Unavailable,
    /// The tracer detached during it (never, in one VM).
    Detached,
}

impl Status {
    /// The names `-e status=` takes, strace's.
    const NAMES: [(&'static str, Status); 5] = [
        ("successful", Status::Successful),
        ("failed", Status::Failed),
        ("unfinished", Status::Unfinished),
        ("unavailable", Status::Unavailable),
        ("detached", Status::Detached),
    ];

    /// The status of a call that returned `ret` (None: it did not return).
    pub fn of(ret: Option<i64>) -> Status {
        match ret {
            None => Status::Unfinished,
            Some(r) if is_error(r) => Status::Failed,
            Some(_) => Status::Successful,
        }
    }
}

/// A syscall's return value is an error: -4095..-1, Linux's `IS_ERR_VALUE`
/// (MAX_ERRNO in include/linux/err.h, which libc does not export).
pub fn is_error(ret: i64) -> bool {
    (-4095..0).contains(&ret)
}

/// Which `+++ ... +++` and other messages are left out (`-q`, `-qq`,
/// `-e quiet=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quiet {
    /// Attach and detach messages (there are none: accepted).
    Attach,
    /// `+++ exited with N +++`.
    Exit,
    /// Path resolution messages (none: accepted).
    PathResolution,
    /// Personality change messages (none: accepted).
    Personality,
    /// Superseded-thread messages (none: accepted).
    ThreadExecve,
}

impl Quiet {
    /// strace's names for them.
    const NAMES: [(&'static str, Quiet); 7] = [
        ("attach", Quiet::Attach),
        ("exit", Quiet::Exit),
        ("exits", Quiet::Exit),
        ("path-resolution", Quiet::PathResolution),
        ("personality", Quiet::Personality),
        ("superseded", Quiet::ThreadExecve),
        ("thread-execve", Quiet::ThreadExecve),
    ];
}

/// A signal's number from its name (`SIGSEGV`, `segv`, any case) or number
/// (up to 255), as strace reads `-e signal=`. The names are the ABI
/// crate's table ([`SIGNALS`], from the headers).
fn signal_number(token: &str) -> Option<u8> {
    if token.starts_with(|c: char| c.is_ascii_digit()) {
        return token.parse::<u8>().ok();
    }
    let upper = token.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNALS
        .entries
        .iter()
        .find(|(_, name)| name.strip_prefix("SIG") == Some(bare))
        .and_then(|&(n, _)| u8::try_from(n).ok())
}

/// The `-e` filters of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// `-e trace=`: the syscalls shown (and counted by `-c`).
    pub trace: SyscallSet,
    status: SmallSet,
    signals: SmallSet,
    quiet: SmallSet,
    /// `-e decode-fds=path` (or `all`): the same as `-y`.
    pub decode_fd_paths: bool,
}

impl Default for Filter {
    /// strace's defaults: every syscall, every status, every signal,
    /// nothing quiet.
    fn default() -> Self {
        Filter {
            trace: SyscallSet::all(),
            status: SmallSet::ALL,
            signals: SmallSet::ALL,
            quiet: SmallSet::NONE,
            decode_fd_paths: false,
        }
    }
}

/// The qualifiers `-e` takes (strace's names and abbreviations), and what
/// each is to microvm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    Trace,
    Status,
    Signal,
    Quiet,
    DecodeFds,
    /// One strace has that microvm does not do.
    Unsupported,
}

const QUALIFIERS: [(&str, Qualifier); 27] = [
    ("trace", Qualifier::Trace),
    ("t", Qualifier::Trace),
    ("status", Qualifier::Status),
    ("signal", Qualifier::Signal),
    ("signals", Qualifier::Signal),
    ("s", Qualifier::Signal),
    ("quiet", Qualifier::Quiet),
    ("silent", Qualifier::Quiet),
    ("silence", Qualifier::Quiet),
    ("q", Qualifier::Quiet),
    ("decode-fd", Qualifier::DecodeFds),
    ("decode-fds", Qualifier::DecodeFds),
    ("abbrev", Qualifier::Unsupported),
    ("a", Qualifier::Unsupported),
    ("verbose", Qualifier::Unsupported),
    ("v", Qualifier::Unsupported),
    ("raw", Qualifier::Unsupported),
    ("x", Qualifier::Unsupported),
    ("read", Qualifier::Unsupported),
    ("reads", Qualifier::Unsupported),
    ("r", Qualifier::Unsupported),
    ("write", Qualifier::Unsupported),
    ("writes", Qualifier::Unsupported),
    ("w", Qualifier::Unsupported),
    ("fault", Qualifier::Unsupported),
    ("inject", Qualifier::Unsupported),
    ("kvm", Qualifier::Unsupported),
];

impl Filter {
    /// Apply one `-e EXPR`: `QUALIFIER=SPEC`, or a bare SPEC (`-e
    /// open,close` is `-e trace=open,close`). A later expression for the
    /// same qualifier replaces the earlier one, as in strace.
    pub fn qualify(&mut self, expr: &str) -> Result<(), FilterError> {
        let (qualifier, spec) = expr
            .split_once('=')
            .and_then(|(name, spec)| {
                QUALIFIERS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|&(_, q)| (q, spec))
            })
            .unwrap_or((Qualifier::Trace, expr));
        match qualifier {
            Qualifier::Trace => self.trace = SyscallSet::parse(spec, expr)?,
            Qualifier::Status => {
                self.status = SmallSet::parse(spec, expr, "status", |t| {
                    Status::NAMES
                        .iter()
                        .find(|(n, _)| *n == t)
                        .map(|&(_, s)| s as u8)
                })?
            }
            Qualifier::Signal => {
                self.signals = SmallSet::parse(spec, expr, "signal", signal_number)?
            }
            Qualifier::Quiet => {
                self.quiet = SmallSet::parse(spec, expr, "quiet kind", |t| {
                    Quiet::NAMES
                        .iter()
                        .find(|(n, _)| *n == t)
                        .map(|&(_, q)| q as u8)
                })?
            }
            Qualifier::DecodeFds => {
                let set = SmallSet::parse(spec, expr, "decode-fds kind", |t| {
                    ["path", "socket", "dev", "pidfd"]
                        .iter()
                        .position(|n| *n == t)
                        .map(|i| i as u8)
                })?;
                self.decode_fd_paths = set.contains(0);
            }
            Qualifier::Unsupported => {
                return Err(FilterError {
                    expr: expr.to_string(),
                    problem: "microvm does not do this strace qualifier (it does trace=, status=, signal=, quiet=, decode-fds=)".into(),
                })
            }
        }
        Ok(())
    }

    /// `-z`: only calls that succeeded (`-e status=successful`).
    pub fn successful_only(&mut self) {
        self.status = SmallSet::NONE.with(Status::Successful as u8);
    }

    /// `-Z`: only calls that failed (`-e status=failed`).
    pub fn failed_only(&mut self) {
        self.status = SmallSet::NONE.with(Status::Failed as u8);
    }

    /// `-q` (1: attach and personality messages) or `-qq` (2: exit
    /// messages too) or `-qqq` (3: everything).
    pub fn quiet_level(&mut self, level: u8) {
        let kinds: &[Quiet] = match level {
            0 => &[],
            1 => &[Quiet::Attach, Quiet::Personality],
            2 => &[Quiet::Attach, Quiet::Personality, Quiet::Exit],
            _ => {
                self.quiet = SmallSet::ALL;
                return;
            }
        };
        for &k in kinds {
            self.quiet = self.quiet.with(k as u8);
        }
    }

    /// True when syscall `nr` is traced.
    #[inline]
    pub fn traces(&self, nr: u64) -> bool {
        self.trace.contains(nr)
    }

    /// True when a call that returned `ret` is shown.
    pub fn shows_status(&self, ret: Option<i64>) -> bool {
        self.status.contains(Status::of(ret) as u8)
    }

    /// True when a status filter is in force (not every status shown).
    pub fn filters_status(&self) -> bool {
        self.status != SmallSet::ALL
    }

    /// True when lines about signal `signo` are shown.
    pub fn shows_signal(&self, signo: i32) -> bool {
        u8::try_from(signo).is_ok_and(|n| self.signals.contains(n))
    }

    /// True when messages of `kind` are left out.
    pub fn quiet(&self, kind: Quiet) -> bool {
        self.quiet.contains(kind as u8)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Status::NAMES
            .iter()
            .find(|(_, s)| s == self)
            .map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use microvm_abi::linux::syscalls::nr;

    fn set(spec: &str) -> SyscallSet {
        SyscallSet::parse(spec, &format!("trace={spec}")).unwrap()
    }

    fn err(expr: &str) -> String {
        let mut f = Filter::default();
        f.qualify(expr).unwrap_err().to_string()
    }

    fn members(s: &SyscallSet) -> Vec<&'static str> {
        SYSCALLS
            .iter()
            .filter(|r| s.contains(r.nr))
            .map(|r| r.name)
            .collect()
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(members(&set("openat,close")), ["close", "openat"]);
        assert_eq!(members(&set("39")), ["getpid"]);
        // strtok: empty tokens are skipped.
        assert_eq!(members(&set(",getpid,,")), ["getpid"]);
        let s = set("read");
        assert!(s.contains(nr::READ));
        assert!(!s.contains(nr::WRITE));
        assert!(!s.contains(MAX_NR + 1));
        assert!(!s.contains(u64::MAX));
    }

    #[test]
    fn classes_with_and_without_percent() {
        let file = set("%file");
        assert!(file.contains(nr::OPENAT) && file.contains(nr::STAT));
        assert!(!file.contains(nr::READ) && !file.contains(nr::GETPID));
        assert_eq!(file, set("file"), "the bare legacy name");
        assert_eq!(set("%net"), set("%network"));
        assert!(set("%%stat").contains(nr::FSTAT) && set("%%stat").contains(nr::LSTAT));
        assert!(!set("%stat").contains(nr::FSTAT));
        assert!(set("%clock").contains(nr::CLOCK_GETTIME));
        // Each class holds exactly the rows the table puts in it.
        for (name, bits) in class::NAMES {
            let s = set(&format!("%{name}"));
            for row in SYSCALLS {
                assert_eq!(
                    s.contains(row.nr),
                    row.class.contains(*bits),
                    "%{name} {}",
                    row.name
                );
            }
        }
    }

    #[test]
    fn all_none_and_negation() {
        let all = set("all");
        assert!(all.contains(0) && all.contains(MAX_NR + 5) && all.contains(u64::MAX));
        assert!(set("none").is_empty());
        assert!(set("!all").is_empty());
        assert_eq!(set("!none"), all);
        assert_eq!(set("!!getpid"), set("getpid"));
        let not = set("!%memory,getpid");
        assert!(!not.contains(nr::BRK) && !not.contains(nr::MMAP) && !not.contains(nr::GETPID));
        assert!(not.contains(nr::READ));
        assert!(
            not.contains(MAX_NR + 1),
            "an inverted set holds unknown numbers"
        );
        // "all" as a token (a legacy class): every row, no unknown number.
        let token = set("getpid,all");
        assert!(token.contains(nr::READ) && !token.contains(MAX_NR + 1));
    }

    #[test]
    fn regex_matches_names_unanchored() {
        assert_eq!(members(&set("/^(read|write)$")), ["read", "write"]);
        let stat = set("/stat");
        assert!(stat.contains(nr::FSTAT) && stat.contains(nr::STATX));
        assert!(stat.contains(nr::NEWFSTATAT));
        assert!(!stat.contains(nr::READ));
    }

    #[test]
    fn question_mark_ignores_unknown_names() {
        assert_eq!(members(&set("?opne,getpid")), ["getpid"]);
        assert!(set("?opne").is_empty());
        assert!(set("?/zzzz").is_empty());
        assert!(set("??%nosuchclass,close").contains(nr::CLOSE));
    }

    #[test]
    fn bad_names_are_one_line() {
        assert_eq!(
            err("trace=opne"),
            "-e trace=opne: no syscall named \"opne\""
        );
        assert_eq!(err("opne"), "-e opne: no syscall named \"opne\"");
        assert_eq!(
            err("trace=open,opne"),
            "-e trace=open,opne: no syscall named \"opne\""
        );
        assert_eq!(err("trace=999"), "-e trace=999: no syscall numbered 999");
        assert_eq!(err("trace="), "-e trace=: no syscall given");
        assert_eq!(err("trace=,"), "-e trace=,: no syscall given");
        assert!(
            err("trace=%foo").starts_with("-e trace=%foo: no syscall class %foo (classes: %desc")
        );
        assert_eq!(
            err("trace=creds"),
            "-e trace=creds: no syscall named \"creds\""
        );
        assert_eq!(
            err("trace=/zzzz"),
            "-e trace=/zzzz: no syscall name matches /zzzz"
        );
        assert_eq!(err("foo=bar"), "-e foo=bar: no syscall named \"foo=bar\"");
        let re = err("trace=/(");
        assert!(re.starts_with("-e trace=/(: bad regex /(: "), "{re}");
        assert!(!re.contains('\n'), "{re}");
        for e in [err("status=bogus"), err("signal=SIGFOO"), err("abbrev=all")] {
            assert!(!e.contains('\n') && e.starts_with("-e "), "{e}");
        }
        assert_eq!(err("status=bogus"), "-e status=bogus: no status \"bogus\"");
        assert_eq!(
            err("signal=SIGFOO"),
            "-e signal=SIGFOO: no signal \"SIGFOO\""
        );
    }

    #[test]
    fn a_later_trace_replaces_an_earlier_one() {
        let mut f = Filter::default();
        f.qualify("trace=getpid").unwrap();
        f.qualify("t=close").unwrap();
        assert!(f.traces(nr::CLOSE) && !f.traces(nr::GETPID));
        f.qualify("openat").unwrap();
        assert!(f.traces(nr::OPENAT) && !f.traces(nr::CLOSE));
    }

    #[test]
    fn statuses() {
        let mut f = Filter::default();
        assert!(!f.filters_status());
        assert!(f.shows_status(Some(0)) && f.shows_status(Some(-2)) && f.shows_status(None));
        f.qualify("status=failed").unwrap();
        assert!(f.filters_status());
        assert!(f.shows_status(Some(-2)) && f.shows_status(Some(-4095)));
        assert!(!f.shows_status(Some(0)) && !f.shows_status(Some(-4096)) && !f.shows_status(None));
        f.successful_only();
        assert!(f.shows_status(Some(3)) && !f.shows_status(Some(-1)) && !f.shows_status(None));
        f.failed_only();
        assert!(f.shows_status(Some(-1)) && !f.shows_status(Some(3)));
        f.qualify("status=unfinished,successful").unwrap();
        assert!(f.shows_status(None) && f.shows_status(Some(1)) && !f.shows_status(Some(-1)));
        f.qualify("status=!failed").unwrap();
        assert!(f.shows_status(None) && f.shows_status(Some(1)) && !f.shows_status(Some(-1)));
        f.qualify("status=unavailable,detached").unwrap();
        assert!(!f.shows_status(None) && !f.shows_status(Some(1)) && !f.shows_status(Some(-1)));
        assert_eq!(Status::of(Some(-38)).to_string(), "failed");
    }

    #[test]
    fn signals_by_name_or_number() {
        let mut f = Filter::default();
        assert!(f.shows_signal(11));
        for spec in ["SIGSEGV", "segv", "SegV", "11", "sigsegv"] {
            f.qualify(&format!("signal={spec}")).unwrap();
            assert!(f.shows_signal(11) && !f.shows_signal(4), "{spec}");
        }
        f.qualify("signal=none").unwrap();
        assert!(!f.shows_signal(11));
        f.qualify("s=!SIGSEGV,SIGILL").unwrap();
        assert!(!f.shows_signal(11) && !f.shows_signal(4) && f.shows_signal(8));
        assert!(!f.shows_signal(-1) && !f.shows_signal(1000));
        // Every signal the table names, by its name.
        for &(n, name) in SIGNALS.entries {
            f.qualify(&format!("signal={name}")).unwrap();
            assert!(f.shows_signal(n as i32), "{name}");
            assert!(!f.shows_signal(n as i32 + 1), "{name}");
        }
    }

    #[test]
    fn quiet_levels_and_names() {
        let mut f = Filter::default();
        assert!(!f.quiet(Quiet::Exit));
        f.quiet_level(1);
        assert!(!f.quiet(Quiet::Exit) && f.quiet(Quiet::Attach));
        f.quiet_level(2);
        assert!(f.quiet(Quiet::Exit));
        let mut g = Filter::default();
        g.qualify("quiet=exit").unwrap();
        assert!(g.quiet(Quiet::Exit) && !g.quiet(Quiet::Attach));
        g.qualify("quiet=none").unwrap();
        assert!(!g.quiet(Quiet::Exit));
        g.quiet_level(3);
        assert!(g.quiet(Quiet::PathResolution));
    }

    #[test]
    fn decode_fds() {
        let mut f = Filter::default();
        f.qualify("decode-fds=path").unwrap();
        assert!(f.decode_fd_paths);
        f.qualify("decode-fds=socket").unwrap();
        assert!(!f.decode_fd_paths);
        f.qualify("decode-fd=all").unwrap();
        assert!(f.decode_fd_paths);
    }
}
