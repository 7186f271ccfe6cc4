//! The Tracer under strace's options, without KVM: which records the
//! filters let through, what the summary counts, the leader and `-T`.

use super::filter::Filter;
use super::style::FdTable;
use super::timing::{Timestamps, Timing};
use super::{TraceFormat, Tracer};
use crate::arch::paging::PageTables;
use crate::exception::Signal;
use crate::memory::{FrameAllocator, GuestRam};
use crate::space::AddressSpace;
use crate::syscall::Disposition;
use crate::usermem::UserMemory;
use microvm_abi::layout::MIN_MEMORY;
use microvm_abi::linux::syscalls::nr;
use microvm_abi::TrapFrame;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

/// What the tracer wrote.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A descriptor table where every fd is `/f<fd>` and the cwd `/`.
struct Paths;

impl FdTable for Paths {
    fn fd_path(&self, fd: i32, out: &mut Vec<u8>) -> bool {
        match fd {
            libc::AT_FDCWD => out.extend_from_slice(b"/"),
            0.. => out.extend_from_slice(format!("/f{fd}").as_bytes()),
            _ => return false,
        }
        true
    }
}

/// A tracer with `filter` (each `-e`) and `timing`, and what it writes.
fn tracer(format: TraceFormat, exprs: &[&str], timing: Timing) -> (Tracer, Capture) {
    let out = Capture::default();
    let mut filter = Filter::default();
    for e in exprs {
        filter.qualify(e).unwrap();
    }
    let t = Tracer::new(format, false, Box::new(out.clone()), false)
        .with_filter(filter)
        .with_timing(timing);
    (t, out)
}

/// Run syscall `nr(arg0)` returning `outcome` through `t`, as the VM does.
fn call(t: &mut Tracer, nr: u64, arg0: u64, outcome: Disposition) {
    let ram = GuestRam::new(MIN_MEMORY).unwrap();
    let space = AddressSpace::new(PageTables::new(), FrameAllocator::new(MIN_MEMORY));
    let mem = UserMemory::new(&ram, space.tables().root());
    let frame = TrapFrame {
        rax: nr,
        rdi: arg0,
        ..TrapFrame::default()
    };
    t.enter(&frame, &Paths);
    t.served(&mem, &frame, outcome, &Paths);
    t.syscall(&mem, &frame, outcome);
}

fn written(mut t: Tracer, out: &Capture) -> String {
    t.finish().unwrap();
    String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
}

/// The lines, the result column's padding made one space.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn trace_and_status_filters_pick_the_lines() {
    let (mut t, out) = tracer(
        TraceFormat::Text,
        &["trace=close,getpid,exit_group", "status=failed,unfinished"],
        Timing::default(),
    );
    call(&mut t, nr::CLOSE, 3, Disposition::Return(0));
    call(&mut t, nr::CLOSE, 9, Disposition::Return(-9));
    call(&mut t, nr::READ, 9, Disposition::Return(-9));
    call(&mut t, nr::GETPID, 0, Disposition::Return(1));
    call(&mut t, nr::EXIT_GROUP, 0, Disposition::Exit(0));
    t.end(Some(0), None);
    assert_eq!(
        lines(&written(t, &out)),
        [
            "close(9) = -1 EBADF (Bad file descriptor)",
            "exit_group(0) = ?",
            "+++ exited with 0 +++"
        ]
    );
}

#[test]
fn the_summary_counts_the_traced_calls_whatever_their_status() {
    let (t, out) = tracer(
        TraceFormat::Off,
        &["trace=close", "status=failed"],
        Timing::default(),
    );
    let mut t = t.with_summary();
    call(&mut t, nr::CLOSE, 3, Disposition::Return(0));
    call(&mut t, nr::CLOSE, 9, Disposition::Return(-9));
    call(&mut t, nr::GETPID, 0, Disposition::Return(1));
    call(&mut t, nr::EXIT_GROUP, 0, Disposition::Exit(0));
    let text = written(t, &out);
    assert!(
        !text.contains("exit_group"),
        "strace -c counts no call that does not return: {text}"
    );
    let close = text.lines().find(|l| l.ends_with(" close")).expect(&text);
    let cols: Vec<&str> = close.split_whitespace().collect();
    assert_eq!(cols[3..], ["2", "1", "close"], "{text}");
    assert!(!text.contains("getpid"), "{text}");
}

#[test]
fn signals_and_quiet_hide_the_end_lines() {
    let (mut t, out) = tracer(TraceFormat::Text, &["signal=none"], Timing::default());
    let frame = TrapFrame {
        vector: 14,
        ..TrapFrame::default()
    };
    t.exception(&frame, &crate::exception::SigInfo::kernel(Signal::SIGSEGV));
    t.end(None, Some(Signal::SIGSEGV));
    assert_eq!(written(t, &out), "");
    let (mut t, out) = tracer(TraceFormat::Text, &["signal=SIGSEGV"], Timing::default());
    t.exception(&frame, &crate::exception::SigInfo::kernel(Signal::SIGSEGV));
    t.end(None, Some(Signal::SIGSEGV));
    let l = lines(&written(t, &out));
    assert_eq!(l.len(), 2, "{l:?}");
    assert_eq!(l[1], "+++ killed by SIGSEGV (core dumped) +++");
    // -qq: the exit line goes, a killing signal's stays (strace's rule).
    let (t, out) = tracer(TraceFormat::Text, &[], Timing::default());
    let mut filter = Filter::default();
    filter.quiet_level(2);
    let mut t = t.with_filter(filter);
    t.end(Some(3), None);
    t.end(None, Some(Signal::SIGSEGV));
    assert_eq!(
        lines(&written(t, &out)),
        ["+++ killed by SIGSEGV (core dumped) +++"]
    );
}

#[test]
fn durations_and_the_leader() {
    let timing = Timing {
        timestamps: Timestamps::Epoch,
        relative: false,
        durations: true,
    };
    let (mut t, out) = tracer(TraceFormat::Text, &[], timing);
    call(&mut t, nr::CLOSE, 3, Disposition::Return(0));
    call(&mut t, nr::EXIT_GROUP, 0, Disposition::Exit(0));
    let text = written(t, &out);
    let l: Vec<&str> = text.lines().collect();
    let (stamp, rest) = l[0].split_once(' ').unwrap();
    assert!(stamp.parse::<f64>().is_ok_and(|s| s > 1.0e9), "{text}");
    // The leader counts towards strace's column 40.
    assert_eq!(rest.find("= 0").unwrap() + stamp.len() + 1, 40, "{text}");
    assert!(rest.ends_with('>') && rest.contains("= 0 <0."), "{text}");
    assert!(
        l[1].ends_with("= ?"),
        "no time for a call that did not return: {text}"
    );
}

#[test]
fn fd_paths_reach_the_json_trace_only_with_y() {
    let (t, out) = tracer(TraceFormat::Json, &[], Timing::default());
    let mut t = t.with_style(super::style::Style {
        fd_paths: true,
        ..super::style::Style::default()
    });
    call(&mut t, nr::CLOSE, 3, Disposition::Return(0));
    call(&mut t, nr::DUP, 3, Disposition::Return(4));
    let text = written(t, &out);
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records[0]["fd_paths"][0]["path"], "/f3", "{text}");
    assert_eq!(records[1]["ret_path"], "/f4", "{text}");
    let (mut t, out) = tracer(TraceFormat::Json, &[], Timing::default());
    call(&mut t, nr::CLOSE, 3, Disposition::Return(0));
    assert!(!written(t, &out).contains("fd_paths"));
}

#[test]
fn a_call_that_waits_forever_is_shown_unfinished_as_strace_shows_a_killed_one() {
    let (mut t, out) = tracer(TraceFormat::Text, &[], Timing::default());
    // Shown whole on entry (rt_sigsuspend's mask is an input): no mark.
    call(&mut t, nr::PAUSE, 0, Disposition::WaitsForever("never"));
    // An output buffer: cut before it, as strace's `read(3,  <unfinished ...>)`.
    call(&mut t, nr::READ, 3, Disposition::WaitsForever("never"));
    // Arguments all inputs, but the result shows more (revents).
    call(&mut t, nr::POLL, 0, Disposition::WaitsForever("never"));
    t.waits_forever();
    let text = written(t, &out);
    let l: Vec<&str> = text.lines().collect();
    assert_eq!(l[0], format!("pause(){}= ?", " ".repeat(33)));
    assert_eq!(
        l[1],
        format!("read(3,  <unfinished ...>){}= ?", " ".repeat(14))
    );
    assert_eq!(
        l[2],
        format!("poll(NULL, 0, 0 <unfinished ...>){}= ?", " ".repeat(7))
    );
    assert_eq!(l[3], "+++ stopped: waits forever +++");
    assert_eq!(l.len(), 4);
    // JSON: no return value, `?`, and the end record says why.
    let (mut t, out) = tracer(TraceFormat::Json, &[], Timing::default());
    call(&mut t, nr::READ, 3, Disposition::WaitsForever("never"));
    t.waits_forever();
    let text = written(t, &out);
    let l: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(l[0]["ret"], serde_json::Value::Null);
    assert_eq!(l[0]["result"], "?");
    assert_eq!(l[1]["kind"], "end");
    assert_eq!(l[1]["stopped"], "waits forever");
}
