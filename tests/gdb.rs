//! gdb on both sides of the boundary: `microvm run --gdb ADDR`, driven by
//! the real gdb in batch mode. The walkthrough microvm automates (the
//! seed's `main.c`): `b dup`, the `mov $0x20,%eax; syscall` in its
//! disassembly, `p fd1` one frame up, cs with RPL 3, then `catch syscall
//! dup` stopping in the guest kernel (RPL 0) with rax the number, and at
//! the return with rax the new descriptor — and the trace the same as
//! without gdb. Then stepi through `syscall` and `sysretq`, breakpoints,
//! Ctrl-C, kill, detach, a fault, and the errors.

mod common;

use common::{build, gdb, microvm, stderr, stdout};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long one gdb session may take before it counts as hung.
const LIMIT: Duration = Duration::from_secs(120);

/// A `microvm run --gdb` waiting for gdb.
struct Guest {
    child: Child,
    /// What `target remote` takes.
    addr: String,
    /// The rest of microvm's stderr, once it ends.
    err: std::thread::JoinHandle<Vec<String>>,
    /// Its stdout, line by line as it comes.
    out: mpsc::Receiver<String>,
}

/// Start `program args` under `microvm run --gdb at` (port 0: any free
/// one) and wait for its "waiting for gdb" line.
fn start(program: &Path, args: &[&str], at: &str) -> Guest {
    let mut child = microvm()
        .args(["run", "--gdb", at])
        .arg(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("microvm runs");
    let (addr_tx, addr_rx) = mpsc::channel();
    let err_pipe = child.stderr.take().expect("piped");
    let err = std::thread::spawn(move || {
        let mut lines = vec![];
        for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("microvm: waiting for gdb on ") {
                let addr = rest.split(' ').next().unwrap_or("").to_string();
                let _ = addr_tx.send(addr);
            }
            lines.push(line);
        }
        lines
    });
    let (out_tx, out) = mpsc::channel();
    let out_pipe = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(out_pipe).lines().map_while(Result::ok) {
            let _ = out_tx.send(line);
        }
    });
    let addr = addr_rx
        .recv_timeout(LIMIT)
        .expect("microvm says where it waits for gdb");
    Guest {
        child,
        addr,
        err,
        out,
    }
}

/// Wait for gdb's `shell touch` of `flag` (failing with `what` past the
/// limit).
fn wait_for_file(flag: &Path, what: &str) {
    let since = std::time::Instant::now();
    while !flag.exists() {
        assert!(since.elapsed() < LIMIT, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How a guest's run ended: its status, stdout and stderr (the
/// "waiting for gdb" line taken out).
struct Ended {
    code: Option<i32>,
    stdout: String,
    trace: String,
}

impl Guest {
    /// gdb, batch mode, connected, with `commands`, on `program`'s symbols.
    fn gdb(&self, gdb: &Path, program: &Path, commands: &[&str]) -> Command {
        let mut cmd = Command::new(gdb);
        cmd.args(["-q", "-batch", "-nx", "-ex", "set sysroot /"]);
        cmd.args(["-ex", &format!("target remote {}", self.addr)]);
        for c in commands {
            cmd.args(["-ex", c]);
        }
        cmd.arg(program);
        cmd
    }

    /// Wait for microvm to end (failing, naming it, past the limit).
    fn wait(mut self) -> Ended {
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("waiting for microvm") {
                break s;
            }
            if start.elapsed() > LIMIT {
                let _ = self.child.kill();
                panic!("microvm --gdb still running after {LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let lines = self.err.join().expect("stderr reader");
        let mut stdout = String::new();
        while let Ok(l) = self.out.recv_timeout(Duration::from_secs(5)) {
            stdout.push_str(&l);
            stdout.push('\n');
        }
        let trace = lines
            .iter()
            .filter(|l| !l.starts_with("microvm: waiting for gdb on "))
            .map(|l| format!("{l}\n"))
            .collect::<String>();
        Ended {
            code: status.code(),
            stdout,
            trace: common::unpadded(&trace),
        }
    }
}

/// Run gdb `commands` against `program args` under microvm; gdb's output
/// and how the run ended.
fn session(gdb: &Path, program: &Path, args: &[&str], commands: &[&str]) -> (String, Ended) {
    let guest = start(program, args, "127.0.0.1:0");
    let out = common::output_within(&mut guest.gdb(gdb, program, commands), LIMIT);
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    (text, guest.wait())
}

/// The value gdb printed after the marker line `@name` (the commands put
/// `echo @name\n` before a `print`): the text after `= `.
fn value(gdb_out: &str, name: &str) -> String {
    let marker = format!("@{name}");
    let mut lines = gdb_out.lines().skip_while(|l| *l != marker);
    lines.next();
    let line = lines
        .next()
        .unwrap_or_else(|| panic!("no value after {marker} in:\n{gdb_out}"));
    line.split_once(" = ")
        .map_or(line, |(_, v)| v)
        .trim()
        .to_string()
}

/// `echo @name` then `command`: a value [`value`] finds.
fn show(name: &str, command: &str) -> [String; 2] {
    [format!("echo @{name}\\n"), command.to_string()]
}

/// The commands, with [`show`] pairs flattened in.
fn commands(parts: &[&[String]]) -> Vec<String> {
    parts.iter().flat_map(|p| p.iter().cloned()).collect()
}

fn plain(cmds: &[&str]) -> Vec<String> {
    cmds.iter().map(|s| s.to_string()).collect()
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The trace, with what differs between two runs of the same program
/// made the same: getrandom's bytes.
fn normalised(trace: &str) -> String {
    let re = regex::Regex::new(r#"getrandom\("[^"]*""#).unwrap();
    re.replace_all(trace, "getrandom(\"...\"").into_owned()
}

/// The seed walkthrough's `main.c`, built `gcc -g` (dynamic) and
/// `gcc -g -static`.
fn seed_builds() -> Vec<PathBuf> {
    [&["-g"][..], &["-g", "-static"][..]]
        .iter()
        .filter_map(|flags| build("gcc", "seed_main", flags))
        .collect()
}

#[test]
fn the_walkthrough_in_one_gdb_session() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    for program in seed_builds() {
        let cmds = commands(&[
            &plain(&["b dup", "c", "info sharedlibrary", "disassemble"]),
            &show("rdi", "p $rdi"),
            &show("cs_user", "p /t $cs"),
            &plain(&["up"]),
            &show("fd1", "p fd1"),
            &plain(&["down", "catch syscall dup", "c"]),
            &show("rax_entry", "p $rax"),
            &show("cs_kernel", "p /t $cs"),
            &show("rcx_entry", "p/x $rcx"),
            &show("pc_dup", "p/x (long)&dup"),
            &plain(&["c"]),
            &show("rax_return", "p $rax"),
            &plain(&["c"]),
        ]);
        let (out, ended) = session(&gdb, &program, &[], &as_strs(&cmds));
        let what = format!("{}:\n{out}", program.display());
        assert!(out.contains("Breakpoint 1, "), "{what}");
        // The dynamic build: gdb found the libraries, and dup in libc.
        if !program.to_string_lossy().contains("static") {
            assert!(out.contains("/libc.so.6\n"), "{what}");
            assert!(out.contains("Breakpoint 1, __GI_dup ()"), "{what}");
        }
        assert!(out.contains("mov    $0x20,%eax"), "{what}");
        assert!(out.contains("syscall"), "{what}");
        assert_eq!(value(&out, "rdi"), "3", "{what}");
        assert!(value(&out, "cs_user").ends_with("11"), "{what}");
        assert_eq!(value(&out, "fd1"), "3", "{what}");
        assert!(out.contains("Catchpoint 2 (call to syscall dup)"), "{what}");
        assert_eq!(value(&out, "rax_entry"), "32", "{what}");
        assert!(value(&out, "cs_kernel").ends_with("00"), "{what}");
        // rcx: where the syscall returns, inside dup (after `syscall`).
        let rcx = u64::from_str_radix(value(&out, "rcx_entry").trim_start_matches("0x"), 16);
        let dup = u64::from_str_radix(value(&out, "pc_dup").trim_start_matches("0x"), 16);
        assert_eq!(rcx.unwrap() - dup.unwrap(), 7, "{what}");
        assert!(
            out.contains("Catchpoint 2 (returned from syscall dup)"),
            "{what}"
        );
        assert_eq!(value(&out, "rax_return"), "4", "{what}");
        assert!(
            out.contains("[Inferior 1 (process 1) exited normally]"),
            "{what}"
        );
        assert_eq!(ended.code, Some(0), "{}", ended.trace);
        // The trace is the one microvm gives without gdb.
        let plain_run = microvm().arg("run").arg(&program).output().unwrap();
        assert_eq!(plain_run.status.code(), Some(0));
        assert_eq!(
            normalised(&ended.trace),
            normalised(&stderr(&plain_run)),
            "{}",
            program.display()
        );
        assert!(ended.trace.contains("dup(3) = 4\n"), "{}", ended.trace);
    }
}

#[test]
fn stepi_goes_through_syscall_into_the_kernel_and_back_through_sysretq() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    // The kernel's symbols, as the user gets them.
    let dir = common::tempdir("gdb-kernel");
    let kernel = dir.join("microvm-kernel.elf");
    let o = microvm()
        .args(["kernel", "--elf"])
        .arg(&kernel)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let add = format!("add-symbol-file {}", kernel.display());
    // The stub the syscall lands in: LSTAR's on hardware KVM, the #PF
    // entry's on KVM-PVM; the knock's next instruction, its SYSRETQ.
    let stub = match common::expected_entry() {
        "page-fault" => "syscall_page_fault_resume",
        _ => "syscall_lstar_resume",
    };
    for program in seed_builds() {
        let cmds = commands(&[
            &plain(&[&add, "b dup", "c", "stepi"]),
            &show("insn", "x/i $pc"),
            &plain(&["stepi"]),
            &show("cs_kernel", "p /t $cs"),
            &show("pc_kernel", "p/x $pc"),
            &show("insn_kernel", "x/i $pc"),
            &show("symbol", "info symbol $pc"),
            &plain(&["stepi"]),
            &show("cs_back", "p /t $cs"),
            &show("pc_back", "p/x $pc - (long)&dup"),
            &show("rax_back", "p $rax"),
            &plain(&["c"]),
        ]);
        let (out, ended) = session(&gdb, &program, &[], &as_strs(&cmds));
        let what = format!("{}:\n{out}", program.display());
        assert!(value(&out, "insn").contains("syscall"), "{what}");
        assert!(value(&out, "cs_kernel").ends_with("00"), "{what}");
        assert!(
            value(&out, "pc_kernel").starts_with("0xffffffff8"),
            "{what}"
        );
        // The knock's next instruction: the stub's SYSRETQ.
        assert!(value(&out, "insn_kernel").contains("sysretq"), "{what}");
        let symbol = out
            .lines()
            .skip_while(|l| *l != "@symbol")
            .nth(1)
            .unwrap_or("");
        assert!(
            symbol.starts_with(&format!("{stub} in section .text")),
            "{what}"
        );
        assert!(value(&out, "cs_back").ends_with("11"), "{what}");
        assert_eq!(value(&out, "pc_back"), "0x7", "{what}");
        assert_eq!(value(&out, "rax_back"), "4", "{what}");
        assert!(out.contains("exited normally"), "{what}");
        assert_eq!(ended.code, Some(0), "{}", ended.trace);
    }
}

/// tests/c/gdb_cases.c, static (its addresses the same natively).
fn cases() -> Option<PathBuf> {
    build("gcc", "gdb_cases", &["-g", "-static"])
}

#[test]
fn software_and_hardware_breakpoints_stop_where_they_stand() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    let Some(program) = cases() else { return };
    let cmds = commands(&[
        &plain(&["b read_counter", "hbreak bump", "c"]),
        &show("counter1", "p counter"),
        &plain(&["c"]),
        &show("counter2", "p counter"),
        &plain(&["delete 2", "c"]),
        &show("counter3", "p counter"),
        &plain(&["bt", "c"]),
    ]);
    let (out, ended) = session(&gdb, &program, &[], &as_strs(&cmds));
    assert!(out.contains("Hardware assisted breakpoint 2"), "{out}");
    assert!(out.contains("Breakpoint 2, bump ()"), "{out}");
    assert_eq!(value(&out, "counter1"), "0", "{out}");
    assert_eq!(value(&out, "counter2"), "1", "{out}");
    assert!(out.contains("Breakpoint 1, read_counter ()"), "{out}");
    assert_eq!(value(&out, "counter3"), "3", "{out}");
    assert!(out.contains("in main ("), "{out}");
    assert_eq!(ended.code, Some(0), "{}", ended.trace);
    assert_eq!(ended.stdout, "counter=3 read=3\n");
}

#[test]
fn a_watchpoint_on_a_global_stops_at_each_change() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    let Some(program) = cases() else { return };
    let cmds = plain(&[
        "b main",
        "c",
        "watch counter",
        "c",
        "c",
        "delete",
        "rwatch counter",
        "c",
        "delete",
        "c",
    ]);
    let (out, ended) = session(&gdb, &program, &[], &as_strs(&cmds));
    assert!(out.contains("Hardware watchpoint 2: counter"), "{out}");
    assert!(out.contains("Old value = 0\nNew value = 1\n"), "{out}");
    assert!(out.contains("Old value = 1\nNew value = 2\n"), "{out}");
    assert!(out.contains("bump () at "), "{out}");
    // Read watchpoints need the debug registers: where KVM-PVM never
    // fires them in ring 3 (`microvm info`), gdb is told so.
    if microvm::info::sw_breakpoints_via_kvm().unwrap() {
        assert!(
            out.contains("Hardware read watchpoint 3: counter\n\nValue = 3\n"),
            "{out}"
        );
        assert!(out.contains("read_counter () at "), "{out}");
    } else {
        assert!(
            out.contains("Could not insert hardware watchpoint 3."),
            "{out}"
        );
    }
    assert!(out.contains("exited normally"), "{out}");
    assert_eq!(ended.code, Some(0), "{}", ended.trace);
    assert_eq!(ended.stdout, "counter=3 read=3\n");
}

#[test]
fn a_segfault_stops_at_the_faulting_instruction_as_natively() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    let Some(program) = cases() else { return };
    let cmds = commands(&[&plain(&["c"]), &show("pc", "p/x $pc"), &plain(&["bt", "c"])]);
    let (out, ended) = session(&gdb, &program, &["segv"], &as_strs(&cmds));
    assert!(
        out.contains("Program received signal SIGSEGV, Segmentation fault."),
        "{out}"
    );
    assert!(out.contains("in main ("), "{out}");
    assert!(
        out.contains("Program terminated with signal SIGSEGV"),
        "{out}"
    );
    assert_eq!(ended.code, Some(139), "{}", ended.trace);
    // The same pc as gdb shows natively.
    let native = Command::new(&gdb)
        .args([
            "-q",
            "-batch",
            "-nx",
            "-ex",
            "run",
            "-ex",
            "echo @pc\\n",
            "-ex",
            "p/x $pc",
            "--args",
        ])
        .arg(&program)
        .arg("segv")
        .output()
        .unwrap();
    let native = stdout(&native);
    assert_eq!(value(&out, "pc"), value(&native, "pc"), "{native}");
}

#[test]
fn kill_ends_the_program_and_detach_lets_it_run_on() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    let Some(program) = cases() else { return };
    let (out, ended) = session(&gdb, &program, &[], &["b bump", "c", "kill"]);
    assert!(out.contains("Breakpoint 1, bump ()"), "{out}");
    assert_eq!(ended.code, Some(137), "{}", ended.trace);
    assert!(
        ended.trace.ends_with(
            "+++ killed by SIGKILL +++\nmicrovm: guest killed by SIGKILL: killed from gdb\n"
        ),
        "{}",
        ended.trace
    );
    assert_eq!(ended.stdout, "");

    let (out, ended) = session(&gdb, &program, &[], &["b bump", "c", "detach"]);
    assert!(out.contains("Breakpoint 1, bump ()"), "{out}");
    assert!(out.contains("[Inferior 1 (process 1) detached]"), "{out}");
    assert_eq!(ended.code, Some(0), "{}", ended.trace);
    assert_eq!(ended.stdout, "counter=3 read=3\n");
    assert!(
        ended.trace.ends_with("+++ exited with 0 +++\n"),
        "{}",
        ended.trace
    );
}

/// `gdb_cases spin` under gdb running `commands`; SIGINT to gdb once the
/// guest spins. gdb's stdout and how the run ended.
fn interrupted(gdb: &Path, program: &Path, commands: &[&str]) -> (String, Ended) {
    let guest = start(program, &["spin"], "127.0.0.1:0");
    let mut gdb_child = guest
        .gdb(gdb, program, commands)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let line = guest.out.recv_timeout(LIMIT).expect("the guest spins");
    assert_eq!(line, "spinning");
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on the child's pid has no memory effects.
    unsafe { libc::kill(gdb_child.id() as i32, libc::SIGINT) };
    let mut pipe = gdb_child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let ended = guest.wait();
    let _ = gdb_child.wait();
    (reader.join().unwrap(), ended)
}

#[test]
fn ctrl_c_in_gdb_interrupts_a_spinning_guest() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    let Some(program) = cases() else { return };
    let (text, ended) = interrupted(
        &gdb,
        &program,
        &["c", "echo @stop\\n", "p stop", "set var stop = 1", "c"],
    );
    assert!(text.contains("Program received signal SIGINT"), "{text}");
    assert_eq!(value(&text, "stop"), "0", "{text}");
    assert!(text.contains("exited with code 03"), "{text}");
    assert_eq!(ended.code, Some(3), "{}", ended.trace);
}

#[test]
fn ctrl_c_during_a_watch_then_detach_leaves_nothing_behind() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    let Some(program) = cases() else { return };
    // `stop` never changes by itself: on KVM-PVM the continue goes a
    // step at a time until Ctrl-C; after the detach the program must run
    // with no TF, int3 or stop of gdb's left.
    let (text, ended) = interrupted(
        &gdb,
        &program,
        &["watch stop", "c", "set var stop = 1", "detach"],
    );
    assert!(text.contains("Program received signal SIGINT"), "{text}");
    assert!(text.contains("[Inferior 1 (process 1) detached]"), "{text}");
    assert_eq!(ended.code, Some(3), "{}", ended.trace);
    assert!(
        ended.trace.ends_with("+++ exited with 3 +++\n"),
        "{}",
        ended.trace
    );
}

#[test]
fn sigint_ends_the_run_while_gdb_sits_at_a_stop() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    let Some(program) = cases() else { return };
    let dir = common::tempdir("gdb-sigint");
    let flag = dir.join("stopped");
    let guest = start(&program, &[], "127.0.0.1:0");
    let touch = format!("shell touch {}", flag.display());
    let mut gdb_child = guest
        .gdb(&gdb, &program, &["b bump", "c", &touch, "shell sleep 20"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&flag, "gdb never stopped at bump");
    // microvm waits for gdb's next packet; SIGINT (or --timeout, the same
    // stop) ends the run all the same.
    // SAFETY: kill(2) on the child's pid has no memory effects.
    unsafe { libc::kill(guest.child.id() as i32, libc::SIGINT) };
    let ended = guest.wait();
    let _ = gdb_child.kill();
    let _ = gdb_child.wait();
    assert_eq!(ended.code, Some(130), "{}", ended.trace);
    assert!(
        ended.trace.ends_with(
            "+++ killed by SIGINT +++\nmicrovm: interrupted (SIGINT): the guest was stopped\n"
        ),
        "{}",
        ended.trace
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_unix_socket_serves_too_and_a_second_gdb_is_refused() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    let Some(program) = cases() else { return };
    let dir = common::tempdir("gdb-unix");
    let sock = dir.join("gdb.sock");
    let guest = start(&program, &[], sock.to_str().unwrap());
    assert_eq!(guest.addr, sock.to_str().unwrap());
    let flag = dir.join("connected");
    let touch = format!("shell touch {}", flag.display());
    let first = guest
        .gdb(
            &gdb,
            &program,
            &["b bump", "c", &touch, "shell sleep 1", "c"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first has it, a second gdb finds no one listening.
    wait_for_file(&flag, "the first gdb never stopped at bump");
    let second = common::output_within(&mut guest.gdb(&gdb, &program, &["p 1"]), LIMIT);
    let second = format!("{}{}", stdout(&second), stderr(&second));
    assert!(second.contains("Connection refused"), "{second}");
    let first_out = first.wait_with_output().unwrap();
    let first_text = stdout(&first_out);
    assert!(first_text.contains("Breakpoint 1, bump ()"), "{first_text}");
    let ended = guest.wait();
    assert_eq!(ended.code, Some(0), "{}", ended.trace);
    // The socket file stays; the next run at the same path takes it over.
    let again = start(&program, &[], sock.to_str().unwrap());
    let out = common::output_within(&mut again.gdb(&gdb, &program, &["c"]), LIMIT);
    assert!(stdout(&out).contains("exited normally"), "{}", stdout(&out));
    assert_eq!(again.wait().code, Some(0));
    // A file that is not a socket is never replaced.
    let file = dir.join("not-a-socket");
    std::fs::write(&file, "keep").unwrap();
    let o = microvm()
        .args(["run", "--gdb", file.to_str().unwrap()])
        .arg(&program)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "microvm: --gdb: cannot listen on {}: Address already in use (os error 98)\n",
            file.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_address_or_a_port_in_use_is_one_line() {
    require_kvm!();
    let program = common::program("exit42");
    for bad in ["1234", "host", ":99999"] {
        let o = microvm()
            .args(["run", "--gdb", bad])
            .arg(&program)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{bad}");
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.starts_with("microvm: "), "{e}");
        assert!(e.contains(bad), "{e}");
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = taken.local_addr().unwrap().to_string();
    let o = microvm()
        .args(["run", "--gdb", &at])
        .arg(&program)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!("microvm: --gdb: cannot listen on {at}: Address already in use (os error 98)\n")
    );
}

#[test]
fn without_gdb_connecting_a_timeout_still_ends_the_run() {
    require_kvm!();
    let program = common::program("exit42");
    let o = microvm()
        .args(["run", "--timeout", "1s", "--gdb", "127.0.0.1:0"])
        .arg(&program)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("microvm: timed out"), "{e}");
}

#[test]
fn when_gdb_dies_the_program_runs_on_and_microvm_says_so() {
    require_kvm!();
    let Some(gdb) = gdb() else { return };
    let Some(program) = cases() else { return };
    let dir = common::tempdir("gdb-dies");
    let flag = dir.join("stopped");
    let guest = start(&program, &[], "127.0.0.1:0");
    let touch = format!("shell touch {}", flag.display());
    let mut gdb_child = guest
        .gdb(&gdb, &program, &["b bump", "c", &touch, "shell sleep 20"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&flag, "gdb never stopped at bump");
    // gdb goes away at a breakpoint, without a word to microvm.
    gdb_child.kill().unwrap();
    let _ = gdb_child.wait();
    let ended = guest.wait();
    assert_eq!(ended.code, Some(0), "{}", ended.trace);
    assert_eq!(ended.stdout, "counter=3 read=3\n");
    assert!(
        ended
            .trace
            .contains("microvm: lost gdb (Connection Error while reading request: gdb closed the connection); the program runs on without it\n"),
        "{}",
        ended.trace
    );
    assert!(
        ended.trace.ends_with("+++ exited with 0 +++\n"),
        "{}",
        ended.trace
    );
    let _ = std::fs::remove_dir_all(&dir);
}
