//! The trace: one record per user->kernel transition, strace-like text or
//! JSON lines, to stderr or a file.
//!
//! Records are buffered; the buffer is flushed before any program output
//! when both go to the terminal's stderr (so their order is kept), and at
//! the end of the run.

pub mod decode;
pub mod dirent;
pub mod execve;
pub mod fdpaths;
pub mod filter;
pub mod format;
pub mod futex;
pub mod net;
pub mod poll;
pub mod prctl;
pub mod select;
pub mod sigargs;
pub mod signal;
pub mod structs;
pub mod style;
pub mod summary;
pub mod termios;
#[cfg(test)]
pub mod testing;
pub mod timing;
pub mod wait;

#[cfg(test)]
mod options_tests;

use crate::exception;
use crate::stop::StopReason;
use crate::syscall::Disposition;
use crate::usermem::UserMemory;
use microvm_abi::TrapFrame;
use serde::Serialize;
use std::io::{self, BufWriter, Write};

/// How the trace is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    /// strace-like lines.
    Text,
    /// One JSON object per line.
    Json,
    /// No trace.
    Off,
}

/// Writes trace records.
pub struct Tracer {
    format: TraceFormat,
    regs: bool,
    out: BufWriter<Box<dyn Write + Send>>,
    /// The trace shares the terminal with program output (stderr).
    flush_before_output: bool,
    seq: u64,
    error: Option<io::Error>,
    summary: Option<summary::Summary>,
    style: style::Style,
    /// `-e trace=`, `status=`, `signal=`, `quiet=`.
    filter: filter::Filter,
    /// `-t`, `-r`, `-T`.
    clock: timing::Clock,
    /// The call between [`Tracer::enter`] and [`Tracer::syscall`].
    call: Entered,
    /// `-y`: the current call's descriptor paths.
    fds: fdpaths::FdSnapshot,
    /// The current call's `name(args...)` as it entered, for calls that
    /// overwrite their inputs (see [`Tracer::enter_args`]); empty if none.
    entry_text: Vec<u8>,
}

/// What [`Tracer::enter`] noted of the call being served.
#[derive(Debug, Clone, Copy, Default)]
struct Entered {
    /// The call's number; None when nothing was noted (untraced, or no
    /// `enter`).
    nr: Option<u64>,
    /// When it started (with `-t`, `-r`, `-T` or the summary).
    at: Option<timing::Stamp>,
    /// How long the host took to serve it.
    took: Option<std::time::Duration>,
}

/// The registers of a transition, as JSON: an object with one field per
/// register, in [`TrapFrame::registers`] order.
struct JsonRegs([(&'static str, u64); microvm_abi::SHOWN_REGISTERS]);

impl From<&TrapFrame> for JsonRegs {
    fn from(f: &TrapFrame) -> Self {
        JsonRegs(f.registers())
    }
}

impl Serialize for JsonRegs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut regs = s.serialize_struct("JsonRegs", self.0.len())?;
        for (name, value) in self.0 {
            regs.serialize_field(name, &value)?;
        }
        regs.end()
    }
}

#[derive(Serialize)]
struct JsonSyscall<'a> {
    seq: u64,
    kind: &'static str,
    entry: &'static str,
    nr: u64,
    name: Option<&'static str>,
    args: &'a [u64],
    /// The arguments as the text trace shows them.
    decoded: Vec<String>,
    ret: Option<i64>,
    errno: Option<&'static str>,
    /// The result as the text trace shows it after `= `.
    result: String,
    /// With `-t`/`-tt`/`-ttt`/`-r`: when the call started, in seconds
    /// since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<f64>,
    /// With `-T`: the seconds the call took.
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<f64>,
    /// With `-y`: the paths of the descriptor arguments as the call
    /// started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fd_paths: Vec<JsonFdPath>,
    /// With `-y`: the path of the descriptor it returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    ret_path: Option<String>,
    regs: JsonRegs,
}

/// A descriptor and its path (`-y`), for JSON.
#[derive(Serialize)]
struct JsonFdPath {
    fd: i32,
    path: String,
}

#[derive(Serialize)]
struct JsonException {
    seq: u64,
    kind: &'static str,
    vector: u64,
    mnemonic: &'static str,
    name: &'static str,
    error_code: u64,
    cr2: u64,
    signal: signal::JsonSigInfo,
    regs: JsonRegs,
}

#[derive(Serialize)]
struct JsonSent {
    kind: &'static str,
    signal: signal::JsonSentSignal,
}

#[derive(Serialize)]
struct JsonKernelSignal {
    kind: &'static str,
    signal: signal::JsonSigInfo,
}

#[derive(Serialize)]
struct JsonEnd {
    kind: &'static str,
    status: Option<i32>,
    signal: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<&'static str>,
}

/// The name of the path a syscall came in by.
pub fn entry_name(kind: u64) -> &'static str {
    match microvm_abi::EntryKind::try_from(kind) {
        Ok(microvm_abi::EntryKind::SyscallLstar) => "lstar",
        Ok(microvm_abi::EntryKind::SyscallPageFault) => "page-fault",
        Ok(microvm_abi::EntryKind::Exception) => "exception",
        Ok(microvm_abi::EntryKind::CompatSyscall) => "compat-syscall",
        Ok(microvm_abi::EntryKind::Sysenter) => "sysenter",
        Err(_) => "unknown",
    }
}

impl Tracer {
    /// A tracer writing `format` to `out`; `regs` adds registers to text
    /// lines; `shares_terminal` when `out` is the stderr the program also
    /// writes to.
    pub fn new(
        format: TraceFormat,
        regs: bool,
        out: Box<dyn Write + Send>,
        shares_terminal: bool,
    ) -> Tracer {
        Tracer {
            format,
            regs,
            out: BufWriter::with_capacity(64 * 1024, out),
            flush_before_output: shares_terminal,
            seq: 0,
            error: None,
            summary: None,
            style: style::Style::default(),
            filter: filter::Filter::default(),
            clock: timing::Clock::new(timing::Timing::default()),
            call: Entered::default(),
            fds: fdpaths::FdSnapshot::default(),
            entry_text: Vec::new(),
        }
    }

    /// Trace only what `filter` lets through (`-e`, `-z`, `-Z`, `-q`).
    pub fn with_filter(mut self, filter: filter::Filter) -> Tracer {
        self.filter = filter;
        self
    }

    /// Show the times `timing` asks for (`-t`, `-tt`, `-ttt`, `-r`, `-T`).
    pub fn with_timing(mut self, timing: timing::Timing) -> Tracer {
        self.clock = timing::Clock::new(timing);
        self
    }

    /// The current call's descriptor paths (`-y`), for the formatter.
    pub fn fd_paths(&self) -> &dyn style::FdPaths {
        &self.fds
    }

    /// Note a syscall as the host is about to serve it: whether it is
    /// traced (one bit of a bitmap; nothing else happens for a call that is
    /// not), when it started, and with `-y` its descriptors' paths, which
    /// serving it may change (`close`).
    #[inline]
    pub fn enter(&mut self, frame: &TrapFrame, fds: &dyn style::FdTable) {
        self.call = Entered::default();
        if !(self.enabled() || self.summary.is_some()) || !self.filter.traces(frame.rax) {
            return;
        }
        self.call.nr = Some(frame.rax);
        let timing = self.clock.timing();
        if timing.has_leader() || timing.durations || self.summary.is_some() {
            self.call.at = Some(timing::Stamp::now());
        }
        if self.style.fd_paths && self.enabled() {
            self.fds.take_args(frame.rax, &frame.syscall_args(), fds);
        }
    }

    /// Show the arguments of a call that overwrites them (select's sets,
    /// the timeouts of select, pselect6 and ppoll) as they were when it
    /// entered, as strace does: call after [`Tracer::enter`], before the
    /// call is served. Nothing happens for any other call.
    /// With `-y`, it also takes the paths of poll's descriptors.
    #[inline]
    pub fn enter_args(
        &mut self,
        mem: &UserMemory<'_>,
        frame: &TrapFrame,
        fds: &dyn style::FdTable,
    ) {
        use microvm_abi::linux::nr;
        self.entry_text.clear();
        if self.call.nr == Some(frame.rax)
            && self.style.fd_paths
            && matches!(frame.rax, nr::POLL | nr::PPOLL)
        {
            self.take_held(mem, frame.rdi, frame.rsi, 8, fds);
        }
        if self.call.nr != Some(frame.rax)
            || self.format != TraceFormat::Text
            || !matches!(frame.rax, nr::SELECT | nr::PSELECT6 | nr::PPOLL)
        {
            return;
        }
        let style = self.style;
        let mut call = decode::Call::new(mem, frame, None, &style);
        if style.fd_paths {
            call = call.with_fd_paths(&self.fds);
        }
        // Writing to a Vec cannot fail.
        let _ = decode::call(&mut self.entry_text, &call);
    }

    /// `-y`: the paths of the first `count` descriptors (each the first
    /// 4 bytes of a `size`-byte record) at `addr`.
    fn take_held(
        &mut self,
        mem: &UserMemory<'_>,
        addr: u64,
        count: u64,
        size: u64,
        fds: &dyn style::FdTable,
    ) {
        for i in 0..(count as u32 as u64).min(fdpaths::MAX_HELD as u64) {
            let mut b = [0u8; 4];
            if mem.read(addr.wrapping_add(i * size), &mut b).is_err() {
                return;
            }
            self.fds.take_held(i32::from_le_bytes(b), fds);
        }
    }

    /// Note what came of the call [`Tracer::enter`] noted: how long it
    /// took (counted for the summary), and with `-y` the path of the
    /// descriptor it returned.
    #[inline]
    pub fn served(
        &mut self,
        mem: &UserMemory<'_>,
        frame: &TrapFrame,
        outcome: Disposition,
        fds: &dyn style::FdTable,
    ) {
        if self.call.nr != Some(frame.rax) {
            return;
        }
        let ret = outcome_ret(outcome);
        if let Some(at) = self.call.at {
            let took = at.mono.elapsed();
            self.call.took = Some(took);
            // As strace -c: a call that does not return (exit_group) is
            // not counted.
            if ret.is_some() {
                self.count(frame.rax, ret, took);
            }
        }
        if self.style.fd_paths && self.enabled() {
            self.fds.take_returned(frame.rax, ret, fds);
            use microvm_abi::linux::nr;
            if matches!(frame.rax, nr::PIPE | nr::PIPE2) && ret == Some(0) {
                self.take_held(mem, frame.rdi, 2, 4, fds);
            }
        }
    }

    /// Show values as `style` says (`-s`, `-x`, `-v`, `-y`).
    pub fn with_style(mut self, style: style::Style) -> Tracer {
        self.style = style;
        self
    }

    /// Also count every syscall and print a `strace -c`-like summary at
    /// the end (to the trace output; with no trace, to `out`).
    pub fn with_summary(mut self) -> Tracer {
        self.summary = Some(summary::Summary::default());
        self
    }

    /// True when syscalls are being counted for the summary.
    pub fn counting(&self) -> bool {
        self.summary.is_some()
    }

    /// Count one syscall for the summary: its number, result and the time
    /// the host spent serving it.
    pub fn count(&mut self, nr: u64, ret: Option<i64>, host_time: std::time::Duration) {
        if let Some(s) = self.summary.as_mut() {
            s.add(nr, ret, host_time);
        }
    }

    /// A tracer that writes nothing.
    pub fn off() -> Tracer {
        Tracer::new(TraceFormat::Off, false, Box::new(io::sink()), false)
    }

    fn enabled(&self) -> bool {
        self.format != TraceFormat::Off && self.error.is_none()
    }

    fn record(&mut self, result: io::Result<()>) {
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    /// Log a syscall and what came of it (if the filters let it through).
    pub fn syscall(&mut self, mem: &UserMemory<'_>, frame: &TrapFrame, outcome: Disposition) {
        let entered = std::mem::take(&mut self.call);
        let ret = outcome_ret(outcome);
        if !self.enabled() || !self.filter.traces(frame.rax) || !self.filter.shows_status(ret) {
            return;
        }
        self.seq += 1;
        let entered = Some(entered).filter(|e| e.nr == Some(frame.rax));
        if entered.is_none() && self.style.fd_paths {
            // Not noted by `enter`: no paths, rather than another call's.
            self.fds.clear();
        }
        let at = entered.and_then(|e| e.at);
        let took = entered
            .and_then(|e| e.took)
            .filter(|_| self.clock.timing().durations);
        let result = match self.format {
            TraceFormat::Text => {
                let style = self.style;
                // Lent to the formatter while the line is written (moving
                // it allocates nothing).
                let fds = std::mem::take(&mut self.fds);
                let entry_text = std::mem::take(&mut self.entry_text);
                let mut call = decode::Call::new(mem, frame, ret, &style);
                if style.fd_paths && entered.is_some() {
                    call = call.with_fd_paths(&fds);
                }
                let leader = self.leader(at);
                let lead = leader.bytes().len();
                let written = self.text_line_led(frame, &leader, |out| {
                    let mut line = Column::new(out);
                    line.written = lead;
                    match outcome {
                        Disposition::WaitsForever(_) => decode::unfinished_call(&mut line, &call)?,
                        _ if !entry_text.is_empty() && entered.is_some() => {
                            line.write_all(&entry_text)?
                        }
                        _ => decode::call(&mut line, &call)?,
                    }
                    line.tab_to(RESULT_COLUMN)?;
                    decode::result(line.inner, &call)?;
                    match took {
                        // strace shows no time for a call that did not return.
                        Some(t) if ret.is_some() => timing::duration(line.inner, t),
                        _ => Ok(()),
                    }
                });
                self.fds = fds;
                self.entry_text = entry_text;
                written
            }
            TraceFormat::Json => {
                let style = self.style;
                let call = decode::Call::new(mem, frame, ret, &style);
                let ent = microvm_abi::linux::syscalls::by_nr(frame.rax);
                let all = frame.syscall_args();
                let n = ent.map_or(6, |e| e.args.len());
                let record = JsonSyscall {
                    seq: self.seq,
                    kind: "syscall",
                    entry: entry_name(frame.kind),
                    nr: frame.rax,
                    name: ent.map(|e| e.name),
                    args: &all[..n],
                    decoded: decode::shown_args(&call),
                    ret,
                    errno: ret.and_then(format::errno_name),
                    result: decode::shown_result(&call),
                    timestamp: at
                        .filter(|_| self.clock.timing().has_leader())
                        .map(|a| epoch_seconds(a.wall)),
                    duration: took.filter(|_| ret.is_some()).map(|t| t.as_secs_f64()),
                    fd_paths: match (self.style.fd_paths, entered) {
                        (true, Some(_)) => self
                            .fds
                            .arguments()
                            .map(|(fd, path)| JsonFdPath {
                                fd,
                                path: String::from_utf8_lossy(path).into_owned(),
                            })
                            .collect(),
                        _ => Vec::new(),
                    },
                    ret_path: match (self.style.fd_paths, entered) {
                        (true, Some(_)) => self
                            .fds
                            .returned_fd()
                            .map(|(_, path)| String::from_utf8_lossy(path).into_owned()),
                        _ => None,
                    },
                    regs: frame.into(),
                };
                json_line(&mut self.out, &record)
            }
            TraceFormat::Off => Ok(()),
        };
        self.record(result);
    }

    /// The leader (`-t`, `-r`) of a line whose event happened at `at`
    /// (None: now).
    fn leader(&mut self, at: Option<timing::Stamp>) -> timing::Leader {
        if !self.clock.timing().has_leader() {
            return timing::Clock::no_leader();
        }
        let at = at.unwrap_or_else(timing::Stamp::now);
        self.clock.leader(at)
    }

    /// One text line of an event happening now: the leader, what `body`
    /// writes, the registers with `--regs`, and the newline.
    fn text_line(
        &mut self,
        frame: &TrapFrame,
        body: impl FnOnce(&mut BufWriter<Box<dyn Write + Send>>) -> io::Result<()>,
    ) -> io::Result<()> {
        let leader = self.leader(None);
        self.text_line_led(frame, &leader, body)
    }

    /// One text line: `leader`, what `body` writes, the registers with
    /// `--regs`, and the newline.
    fn text_line_led(
        &mut self,
        frame: &TrapFrame,
        leader: &timing::Leader,
        body: impl FnOnce(&mut BufWriter<Box<dyn Write + Send>>) -> io::Result<()>,
    ) -> io::Result<()> {
        self.out.write_all(leader.bytes())?;
        body(&mut self.out)?;
        if self.regs {
            format::regs(&mut self.out, frame)?;
        }
        self.out.write_all(b"\n")
    }

    /// Log the program's start, strace's first line: `execve(...) = 0`.
    /// It is no transition (microvm made the exec): no registers, no seq.
    /// `-e trace=` drops it as it drops any execve.
    pub fn execve(&mut self, exec: &execve::Exec) {
        let nr = microvm_abi::linux::nr::EXECVE;
        if !self.filter.traces(nr) {
            return;
        }
        self.count(nr, Some(0), std::time::Duration::ZERO);
        if !self.enabled() {
            return;
        }
        let result = match self.format {
            TraceFormat::Text => {
                let leader = self.leader(None);
                let mut line = Column::new(&mut self.out);
                line.write_all(leader.bytes())
                    .and_then(|()| execve::call(&mut line, exec, &self.style))
                    .and_then(|()| line.tab_to(RESULT_COLUMN))
                    .and_then(|()| line.inner.write_all(b"= 0\n"))
            }
            TraceFormat::Json => {
                json_line(&mut self.out, &execve::JsonExecve::new(exec, &self.style))
            }
            TraceFormat::Off => Ok(()),
        };
        self.record(result);
    }

    /// Log an exception taken in ring 3, ending the program with the
    /// signal of `info` (unless `-e signal=` leaves it out).
    pub fn exception(&mut self, frame: &TrapFrame, info: &exception::SigInfo) {
        if !self.enabled() || !self.shows(Some(info.signal)) {
            return;
        }
        self.seq += 1;
        let v = exception::vector(frame.vector);
        let result = match self.format {
            TraceFormat::Text => self.text_line(frame, |out| signal::fault_line(out, frame, info)),
            TraceFormat::Json => json_line(
                &mut self.out,
                &JsonException {
                    seq: self.seq,
                    kind: "exception",
                    vector: frame.vector,
                    mnemonic: v.mnemonic,
                    name: v.name,
                    error_code: frame.error_code,
                    cr2: frame.cr2,
                    signal: info.into(),
                    regs: frame.into(),
                },
            ),
            TraceFormat::Off => Ok(()),
        };
        self.record(result);
    }

    /// Log a signal the kernel sends the program as if by `kill(2)` (SIGPIPE
    /// after a write to a pipe with no reader), before it ends the program.
    /// It is no transition: no registers, no seq.
    pub fn sent_signal(&mut self, sent: &signal::SentSignal) {
        if !self.enabled() || !self.shows(Some(sent.signal)) {
            return;
        }
        let result = match self.format {
            TraceFormat::Text => {
                let leader = self.leader(None);
                self.out
                    .write_all(leader.bytes())
                    .and_then(|()| signal::sent_line(&mut self.out, sent))
                    .and_then(|()| self.out.write_all(b"\n"))
            }
            TraceFormat::Json => json_line(
                &mut self.out,
                &JsonSent {
                    kind: "signal",
                    signal: sent.into(),
                },
            ),
            TraceFormat::Off => Ok(()),
        };
        self.record(result);
    }

    /// Log a signal the kernel forces with no fault behind it (a signal
    /// frame it could not write or read back): strace's
    /// `--- SIGSEGV {si_signo=SIGSEGV, si_code=SI_KERNEL, si_addr=NULL} ---`.
    /// It is no transition: no registers, no seq.
    pub fn kernel_signal(&mut self, info: &exception::SigInfo) {
        if !self.enabled() || !self.shows(Some(info.signal)) {
            return;
        }
        let result = match self.format {
            TraceFormat::Text => {
                let leader = self.leader(None);
                self.out
                    .write_all(leader.bytes())
                    .and_then(|()| signal::kernel_line(&mut self.out, info))
                    .and_then(|()| self.out.write_all(b"\n"))
            }
            TraceFormat::Json => json_line(
                &mut self.out,
                &JsonKernelSignal {
                    kind: "signal",
                    signal: info.into(),
                },
            ),
            TraceFormat::Off => Ok(()),
        };
        self.record(result);
    }

    /// Log the end of the program: its exit status or the signal.
    pub fn end(&mut self, status: Option<i32>, signal: Option<exception::Signal>) {
        // As strace: -qq leaves out the exit, -e signal= the killing signal.
        let quiet = match signal {
            Some(_) => !self.shows(signal),
            None => self.filter.quiet(filter::Quiet::Exit),
        };
        if !self.enabled() || quiet {
            return;
        }
        let result = match self.format {
            TraceFormat::Text => {
                let leader = self.leader(None);
                let r = self.out.write_all(leader.bytes());
                r.and_then(|()| match (status, signal) {
                    // As strace shows a core-dumping signal's end
                    // (microvm writes no core).
                    (_, Some(sig)) if sig.dumps_core() => {
                        writeln!(self.out, "+++ killed by {} (core dumped) +++", sig.name())
                    }
                    (_, Some(sig)) => writeln!(self.out, "+++ killed by {} +++", sig.name()),
                    (Some(s), None) => writeln!(self.out, "+++ exited with {s} +++"),
                    (None, None) => Ok(()),
                })
            }
            TraceFormat::Json => json_line(
                &mut self.out,
                &JsonEnd {
                    kind: "end",
                    status,
                    signal: signal.map(|s| s.name()),
                    stopped: None,
                },
            ),
            TraceFormat::Off => Ok(()),
        };
        self.record(result);
    }

    /// Log that microvm stopped the program from outside.
    pub fn stopped(&mut self, reason: StopReason) {
        if !self.enabled() {
            return;
        }
        let what = match reason {
            StopReason::Timeout => "timeout",
            StopReason::Interrupt => "SIGINT",
            StopReason::Terminate => "SIGTERM",
        };
        let result = match self.format {
            TraceFormat::Text => {
                let leader = self.leader(None);
                let r = self.out.write_all(leader.bytes());
                r.and_then(|()| match reason {
                    StopReason::Timeout => writeln!(self.out, "+++ stopped: timed out +++"),
                    _ => writeln!(self.out, "+++ killed by {what} +++"),
                })
            }
            TraceFormat::Json => json_line(
                &mut self.out,
                &JsonEnd {
                    kind: "end",
                    status: None,
                    signal: None,
                    stopped: Some(what),
                },
            ),
            TraceFormat::Off => Ok(()),
        };
        self.record(result);
    }

    /// Log that the run ended because the program waits for ever (see
    /// [`Disposition::WaitsForever`]): `+++ stopped: waits forever +++`,
    /// as `--timeout`'s `+++ stopped: timed out +++`.
    pub fn waits_forever(&mut self) {
        if !self.enabled() {
            return;
        }
        let result = match self.format {
            TraceFormat::Text => {
                let leader = self.leader(None);
                let r = self.out.write_all(leader.bytes());
                r.and_then(|()| writeln!(self.out, "+++ stopped: waits forever +++"))
            }
            TraceFormat::Json => json_line(
                &mut self.out,
                &JsonEnd {
                    kind: "end",
                    status: None,
                    signal: None,
                    stopped: Some("waits forever"),
                },
            ),
            TraceFormat::Off => Ok(()),
        };
        self.record(result);
    }

    /// True when lines about `signal` are shown (`-e signal=`).
    fn shows(&self, signal: Option<exception::Signal>) -> bool {
        signal.is_none_or(|s| self.filter.shows_signal(s.number()))
    }

    /// True once a write to the trace output has failed.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// True when the trace output failed because its reader went away.
    pub fn broken_pipe(&self) -> bool {
        self.error
            .as_ref()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// Called before the program's output is written.
    pub fn before_output(&mut self) {
        if self.flush_before_output && !self.out.buffer().is_empty() {
            let r = self.out.flush();
            self.record(r);
        }
    }

    /// Write the summary (if counting), flush everything; the first write
    /// error, if any, is returned.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(s) = self.summary.take() {
            if self.error.is_none() {
                let r = s.write(&mut self.out);
                self.record(r);
            }
        }
        let r = self.out.flush();
        self.record(r);
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The column strace aligns ` = result` at (its `-a` default).
const RESULT_COLUMN: usize = 40;

/// A writer that counts what the line holds so far.
struct Column<'w, W: Write> {
    inner: &'w mut W,
    written: usize,
}

impl<'w, W: Write> Column<'w, W> {
    fn new(inner: &'w mut W) -> Self {
        Column { inner, written: 0 }
    }

    /// Pad with spaces to `column`, or one space when past it (strace's
    /// `tabto`).
    fn tab_to(&mut self, column: usize) -> io::Result<()> {
        const SPACES: [u8; RESULT_COLUMN] = [b' '; RESULT_COLUMN];
        let pad = column.saturating_sub(self.written).clamp(1, SPACES.len());
        self.inner.write_all(&SPACES[..pad])
    }
}

impl<W: Write> Write for Column<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What a call returned (None: it did not return).
fn outcome_ret(outcome: Disposition) -> Option<i64> {
    match outcome {
        Disposition::Return(v) | Disposition::Killed(v, _) => Some(v),
        Disposition::Exit(_) | Disposition::WaitsForever(_) => None,
    }
}

/// `wall` in seconds since the epoch.
fn epoch_seconds(wall: std::time::SystemTime) -> f64 {
    wall.duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn json_line<T: Serialize>(out: &mut impl Write, record: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, record).map_err(io::Error::other)?;
    out.write_all(b"\n")
}
