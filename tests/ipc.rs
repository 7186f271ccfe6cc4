//! futex, pipes and poll inside the one single-threaded process, end to
//! end on the real /dev/kvm: tests/c/ipc.c's scenarios. A call that can
//! never return ends the run with one line and 124 rather than hang; the
//! trace shows it as strace shows a call its process died in.

mod common;

use common::{build, run, stderr, stdout};
use std::process::Output;

fn scenario(name: &str, trace: bool) -> Option<Output> {
    let prog = build("gcc", "ipc", &["-static", "-O1"])?;
    let prog = prog.to_str().unwrap().to_owned();
    let mut args = vec!["run", "--timeout", "60s"];
    if !trace {
        args.extend(["--trace", "off"]);
    }
    args.extend([prog.as_str(), name]);
    Some(run(&args))
}

/// The run ended with the "waits forever" line naming `call` and `why`,
/// 124, and (with the trace) the call unfinished then the ending.
fn waits_forever(name: &str, call: &str, why: &str, traced: &str) {
    let Some(o) = scenario(name, true) else {
        return;
    };
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(124), "{err}");
    let line = format!("microvm: the program waits forever: {call}");
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with(&line) && last.ends_with(why), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let n = lines.len();
    assert!(n >= 3, "{err}");
    assert!(lines[n - 3].starts_with(traced), "{err}");
    assert!(lines[n - 3].ends_with(" = ?"), "{err}");
    assert_eq!(lines[n - 2], "+++ stopped: waits forever +++", "{err}");
    // Without the trace: the one line only.
    let o = scenario(name, false).unwrap();
    assert_eq!(o.status.code(), Some(124));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

#[test]
fn an_untimed_futex_wait_nobody_can_wake_ends_the_run() {
    require_kvm!();
    waits_forever(
        "futex-forever",
        "futex(0x",
        ", FUTEX_WAIT_PRIVATE, 3, NULL) with no other thread to wake it",
        "futex(0x",
    );
}

#[test]
fn a_read_of_an_empty_pipe_this_process_writes_ends_the_run() {
    require_kvm!();
    waits_forever(
        "read-forever",
        "read(3, 0x",
        "on an empty pipe whose write end only this process holds",
        "read(3,  <unfinished ...>)",
    );
}

#[test]
fn a_blocking_write_to_a_full_pipe_ends_the_run() {
    require_kvm!();
    waits_forever(
        "write-forever",
        "write(4, ",
        "on a full pipe that only this process reads",
        "write(4, ",
    );
}

#[test]
fn a_poll_with_no_timeout_on_what_cannot_become_ready_ends_the_run() {
    require_kvm!();
    waits_forever(
        "poll-forever",
        "poll([{fd=3, events=POLLIN}], 1, -1)",
        "on descriptors none of which can become ready, with no timeout",
        "poll([{fd=3, events=POLLIN}], 1, -1 <unfinished ...>)",
    );
}

#[test]
fn a_timed_futex_wait_times_out() {
    require_kvm!();
    let Some(o) = scenario("futex-timeout", true) else {
        return;
    };
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "futex=-1\n");
    assert!(stderr(&o).contains("futex(0x4"));
    assert!(stderr(&o).contains(
        ", FUTEX_WAIT_PRIVATE, 3, {tv_sec=0, tv_nsec=20000000}) = -1 ETIMEDOUT (Connection timed out)"
    ), "{}", stderr(&o));
}

#[test]
fn bytes_go_round_a_pipe_and_poll_sees_them_and_the_hang_up() {
    require_kvm!();
    let Some(o) = scenario("round-trip", true) else {
        return;
    };
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "before=0 write=4 after=1 revents=0x1 read=4 got=ping eof=0 hup=1 revents=0x10\n"
    );
    let err = stderr(&o);
    for line in [
        "pipe2([3, 4], 0) = 0",
        "poll([{fd=3, events=POLLIN}], 1, 0) = 0 (Timeout)",
        "write(4, \"ping\", 4) = 4",
        "poll([{fd=3, events=POLLIN}], 1, -1) = 1 ([{fd=3, revents=POLLIN}])",
        "read(3, \"ping\", 16) = 4",
        "read(3, \"\", 8) = 0",
        "poll([{fd=3, events=POLLIN}], 1, -1) = 1 ([{fd=3, revents=POLLHUP}])",
    ] {
        assert!(err.lines().any(|l| l == line), "no {line:?} in\n{err}");
    }
}

#[test]
fn a_write_to_a_pipe_with_no_reader_is_epipe_and_sigpipe() {
    require_kvm!();
    let Some(o) = scenario("sigpipe", true) else {
        return;
    };
    assert_eq!(o.status.code(), Some(141), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("write(4, \"x\", 1) = -1 EPIPE (Broken pipe)"),
        "{err}"
    );
    assert!(err.contains("+++ killed by SIGPIPE +++"), "{err}");
}

#[test]
fn dash_y_names_both_ends_of_a_pipe_as_strace_does() {
    require_kvm!();
    let Some(prog) = build("gcc", "ipc", &["-static", "-O1"]) else {
        return;
    };
    let o = run(&["run", "-y", prog.to_str().unwrap(), "round-trip"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let pipe2 = err
        .lines()
        .find(|l| l.starts_with("pipe2(["))
        .unwrap_or_else(|| panic!("no pipe2 in\n{err}"));
    // pipe2([3<pipe:[N]>, 4<pipe:[N]>], 0) = 0, the same N twice.
    let ino = pipe2
        .strip_prefix("pipe2([3<pipe:[")
        .and_then(|r| r.split_once(']'))
        .map(|(n, _)| n)
        .unwrap_or_else(|| panic!("{pipe2}"));
    assert!(ino.parse::<u64>().is_ok(), "{pipe2}");
    let p = format!("pipe:[{ino}]");
    assert_eq!(pipe2, format!("pipe2([3<{p}>, 4<{p}>], 0) = 0"));
    for line in [
        format!("poll([{{fd=3<{p}>, events=POLLIN}}], 1, 0) = 0 (Timeout)"),
        format!("write(4<{p}>, \"ping\", 4) = 4"),
        format!("close(4<{p}>) = 0"),
    ] {
        assert!(err.lines().any(|l| l == line), "no {line:?} in\n{err}");
    }
}
