//! `microvm run` end to end: real guests on the real /dev/kvm.

mod common;

use common::{after_execve, json_records, program, run, stderr, stdout};
use serde_json::Value;

const DEMO_OUTPUT: &str =
    "Hello from ring 3! Each trace line on stderr is one trip into the kernel.\n\
                           getpid() says I am pid 1\n";

const DEMO_TRACE: &str = r#"write(1, "Hello from ring 3! Each trace li"..., 74) = 74
getpid() = 1
write(1, "getpid() says I am pid 1\n", 25) = 25
dup(1) = 3
write(1, 0x8, 16) = -1 EFAULT (Bad address)
exit_group(0) = ?
+++ exited with 0 +++
"#;

#[test]
fn demo_flat_binary_output_and_whole_trace() {
    require_kvm!();
    let o = run(&["run", program("demo.bin").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), DEMO_OUTPUT);
    let err = stderr(&o);
    assert_eq!(
        common::unpadded(after_execve(&err, &program("demo.bin"), &[])),
        DEMO_TRACE
    );
}

#[test]
fn demo_as_elf_traces_the_same() {
    require_kvm!();
    let o = run(&["run", program("demo").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), DEMO_OUTPUT);
    let err = stderr(&o);
    assert_eq!(
        common::unpadded(after_execve(&err, &program("demo"), &[])),
        DEMO_TRACE
    );
}

#[test]
fn trace_and_output_keep_their_order_on_one_stream() {
    require_kvm!();
    let o = common::microvm()
        .arg("run")
        .arg(program("demo.bin"))
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    // Run again with both streams on one pipe through a shell.
    let merged = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' run '{}' 2>&1",
            env!("CARGO_BIN_EXE_microvm"),
            program("demo.bin").display()
        ))
        .output()
        .unwrap();
    let text = common::unpadded(&String::from_utf8_lossy(&merged.stdout));
    let hello = text.find("Hello from ring 3!").unwrap();
    let hello_trace = text.find("write(1, \"Hello").unwrap();
    let pid_trace = text.find("getpid() = 1").unwrap();
    let pid_line = text.find("getpid() says").unwrap();
    assert!(
        hello < hello_trace && hello_trace < pid_trace && pid_trace < pid_line,
        "{text}"
    );
}

fn syscalls_json() -> (std::process::Output, Vec<Value>) {
    let o = run(&[
        "run",
        "--trace",
        "json",
        program("syscalls.bin").to_str().unwrap(),
    ]);
    let records = json_records(&o);
    (o, records)
}

#[test]
fn each_served_syscall_returns_single_process_ids() {
    require_kvm!();
    let (o, r) = syscalls_json();
    assert_eq!(o.status.code(), Some(3), "exit(3) passes through");
    let expect = [
        ("getpid", 39, 1),
        ("getppid", 110, 0),
        ("gettid", 186, 1),
        ("getuid", 102, 0),
        ("geteuid", 107, 0),
        ("getgid", 104, 0),
        ("getegid", 108, 0),
    ];
    for (i, (name, nr, ret)) in expect.iter().enumerate() {
        assert_eq!(r[i]["kind"], "syscall");
        assert_eq!(r[i]["name"], *name);
        assert_eq!(r[i]["nr"], *nr);
        assert_eq!(r[i]["ret"], *ret, "{name}");
        assert_eq!(r[i]["errno"], Value::Null);
        assert_eq!(r[i]["args"].as_array().unwrap().len(), 0);
    }
}

#[test]
fn write_sends_every_byte_to_the_right_stream() {
    require_kvm!();
    let (o, r) = syscalls_json();
    // fd 2 went to microvm's stderr, before the trace records after it.
    assert!(stderr(&o).contains("to stderr\n"));
    assert_eq!(r[7]["name"], "write");
    assert_eq!(r[7]["args"][0], 2);
    assert_eq!(r[7]["ret"], 10);
    // Three pages of pattern, every byte, on stdout.
    let expected: Vec<u8> = (0..12288u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(o.stdout, expected);
    assert_eq!(r[8]["ret"], 12288);
    // A descriptor the guest does not have.
    assert_eq!(r[9]["args"][0], 5);
    assert_eq!(r[9]["errno"], "EBADF");
    assert_eq!(r[9]["ret"], -9);
}

#[test]
fn bad_pointers_get_efault_and_never_reach_the_output() {
    require_kvm!();
    let (o, r) = syscalls_json();
    let bad = [
        (8u64, 16u64),
        (0xffff_ffff_8000_4000, 8),
        (0x7fff_ffff_effc, 8),
        (0x8000_0000_0000, 1),
        (0x40_0000, u64::MAX),
    ];
    for (i, (ptr, len)) in bad.iter().enumerate() {
        let rec = &r[10 + i];
        assert_eq!(rec["name"], "write");
        assert_eq!(rec["args"][1].as_u64(), Some(*ptr));
        assert_eq!(rec["args"][2].as_u64(), Some(*len));
        assert_eq!(rec["ret"], -14, "{rec}");
        assert_eq!(rec["errno"], "EFAULT");
    }
    assert_eq!(o.stdout.len(), 12288, "no bytes from a refused write");
}

#[test]
fn unserved_and_unknown_syscalls_get_enosys() {
    require_kvm!();
    let (_, r) = syscalls_json();
    assert_eq!(r[15]["name"], "fork");
    assert_eq!(r[15]["errno"], "ENOSYS");
    assert_eq!(r[15]["ret"], -38);
    assert_eq!(r[16]["nr"], 1000);
    assert_eq!(r[16]["name"], Value::Null);
    assert_eq!(r[16]["errno"], "ENOSYS");
    assert_eq!(r[17]["name"], "exit");
    assert_eq!(r[17]["ret"], Value::Null);
    assert_eq!(r[18]["kind"], "end");
    assert_eq!(r[18]["status"], 3);
    assert_eq!(r.len(), 19);
}

#[test]
fn text_trace_decodes_errors_and_unknown_numbers() {
    require_kvm!();
    let o = run(&["run", program("syscalls.bin").to_str().unwrap()]);
    let err = stderr(&o);
    assert!(
        err.contains("write(5, \"x\", 1) = -1 EBADF (Bad file descriptor)\n"),
        "{err}"
    );
    assert!(err.contains("write(1, 0xffffffff80004000, 8) = -1 EFAULT (Bad address)\n"));
    assert!(
        err.contains("syscall_0x3e8(0, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)\n")
    );
    assert!(err.contains(
        "write(1, \"\\0\\1\\2\\3\\4\\5\\6\\7\\10\\t\\n\\v\\f\\r\\16\\17\\20\\21\\22\\23\\24\\25\\26\\27\\30\\31\\32\\33\\34\\35\\36\\37\"..., 12288) = 12288\n"
    ));
    assert!(err.ends_with("exit(3) = ?\n+++ exited with 3 +++\n"));
}

#[test]
fn exit_group_status_passes_through() {
    require_kvm!();
    let o = run(&["run", program("exit42").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(42));
    let err = stderr(&o);
    assert_eq!(
        common::unpadded(after_execve(&err, &program("exit42"), &[])),
        "exit_group(42) = ?\n+++ exited with 42 +++\n"
    );
}

#[test]
fn registers_reach_the_trace_exactly() {
    require_kvm!();
    let o = run(&["run", "--trace", "json", program("regs").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The program reports where its SYSCALL returns to and its RFLAGS.
    let out = stdout(&o);
    let field = |key: &str| {
        let v = out
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap();
        u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap()
    };
    let after = field("after=");
    let rflags = field("rflags=");
    assert_eq!(rflags & 1, 1, "CF set by stc");
    let r = json_records(&o);
    let getpid = &r[0];
    assert_eq!(getpid["name"], "getpid");
    assert_eq!(getpid["entry"], common::expected_entry());
    let regs = &getpid["regs"];
    let expect: [(&str, u64); 20] = [
        ("rax", 39),
        ("rbx", 0x1111_1111_1111_1111),
        ("rcx", after),
        ("rdx", 0x3333_3333_3333_3333),
        ("rsi", 0x4444_4444_4444_4444),
        ("rdi", 0x5555_5555_5555_5555),
        ("rbp", 0x6666_6666_6666_6666),
        ("rsp", 0x7fff_fffe_7ff8),
        ("r8", 0x8888_8888_8888_8888),
        ("r9", 0x9999_9999_9999_9999),
        ("r10", 0xaaaa_aaaa_aaaa_aaaa),
        ("r11", rflags),
        ("r12", 0xcccc_cccc_cccc_cccc),
        ("r13", 0xdddd_dddd_dddd_dddd),
        ("r14", 0xeeee_eeee_eeee_eeee),
        ("r15", 0xffff_ffff_ffff_ffff),
        ("rip", after),
        ("rflags", rflags),
        ("cs", 0x23),
        ("ss", 0x1b),
    ];
    for (name, value) in expect {
        assert_eq!(regs[name].as_u64(), Some(value), "{name} in {regs}");
    }
    // The JSON object lists them in this order, and nothing else.
    let records = common::all_json_records(&o);
    assert_eq!(records[0]["kind"], "execve", "{}", records[0]);
    assert!(records[0].get("regs").is_none(), "{}", records[0]);
    let line = stderr(&o).lines().nth(1).unwrap().to_string();
    let object = line.split_once(r#""regs":{"#).unwrap().1;
    let object = object.split_once('}').unwrap().0;
    let fields: Vec<String> = expect
        .iter()
        .map(|(name, value)| format!("\"{name}\":{value}"))
        .collect();
    assert_eq!(object, fields.join(","), "{line}");

    // --regs shows the same registers, in the same order, in hex, the
    // selectors with their RPL.
    let o = run(&["run", "--regs", program("regs").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text: Vec<String> = expect
        .iter()
        .map(|&(name, value)| match name {
            "cs" | "ss" => format!("{name}={value:#x} (rpl {})", value & 3),
            _ => format!("{name}={value:#x}"),
        })
        .collect();
    let err = common::unpadded(after_execve(&stderr(&o), &program("regs"), &[]));
    let line = err.lines().next().unwrap();
    assert!(line.starts_with("getpid() = 1  ["), "{line}");
    assert!(line.ends_with(&format!("  [{}]", text.join(" "))), "{line}");
}

#[test]
fn regs_option_adds_registers_with_rpl() {
    require_kvm!();
    let o = run(&["run", "--regs", program("exit42").to_str().unwrap()]);
    let err = stderr(&o);
    // execve is no transition: no registers.
    let line = after_execve(&err, &program("exit42"), &[])
        .lines()
        .next()
        .unwrap();
    assert!(line.starts_with("exit_group(42) = ?  [rax=0xe7 "), "{line}");
    assert!(line.contains(" rdi=0x2a "), "{line}");
    assert!(line.ends_with("cs=0x23 (rpl 3) ss=0x1b (rpl 3)]"), "{line}");
}

#[test]
fn trace_off_and_trace_to_file() {
    require_kvm!();
    let o = run(&[
        "run",
        "--trace",
        "off",
        program("demo.bin").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), "");
    assert_eq!(stdout(&o), DEMO_OUTPUT);

    let dir = std::env::temp_dir().join(format!("microvm-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("trace.txt");
    let o = run(&[
        "run",
        "-o",
        file.to_str().unwrap(),
        program("demo.bin").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), "");
    let trace = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        common::unpadded(after_execve(&trace, &program("demo.bin"), &[])),
        DEMO_TRACE
    );

    let o = run(&[
        "run",
        "-o",
        "/nonexistent-dir/trace",
        program("demo.bin").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("microvm: trace output /nonexistent-dir/trace:"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn arguments_reach_the_program() {
    require_kvm!();
    let o = run(&[
        "run",
        "--trace",
        "off",
        program("echo").to_str().unwrap(),
        "a",
        "b c",
        "-d",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "a b c -d\n");
    // Everything after the program is the program's, microvm's own
    // options too (`python3 -c CODE`), as strace reads its command line.
    let o = run(&[
        "run",
        "--trace",
        "off",
        program("echo").to_str().unwrap(),
        "-c",
        "--trace",
        "json",
        "--",
        "-o",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "-c --trace json -- -o\n");
    assert_eq!(stderr(&o), "");
}

#[test]
fn json_trace_schema() {
    require_kvm!();
    let o = run(&[
        "run",
        "--trace",
        "json",
        program("demo.bin").to_str().unwrap(),
    ]);
    let r = json_records(&o);
    assert_eq!(r.len(), 7);
    for (i, rec) in r[..6].iter().enumerate() {
        assert_eq!(rec["seq"], i as u64 + 1);
        assert_eq!(rec["kind"], "syscall");
        assert_eq!(rec["entry"], common::expected_entry());
        for key in ["nr", "name", "args", "ret", "errno", "regs"] {
            assert!(rec.get(key).is_some(), "{key} missing in {rec}");
        }
        assert_eq!(rec["regs"]["cs"], 0x23);
        assert_eq!(rec["regs"]["rax"], rec["nr"]);
    }
    assert_eq!(r[0]["args"][0], 1);
    assert_eq!(r[0]["args"][2], 74);
    assert_eq!(r[3]["name"], "dup");
    assert_eq!(r[3]["ret"], 3);
    assert_eq!(r[3]["errno"], Value::Null);
    assert_eq!(
        r[6],
        serde_json::json!({"kind": "end", "status": 0, "signal": null})
    );
}

#[test]
fn info_reports_the_kvm_and_the_syscall_entry_it_takes() {
    require_kvm!();
    let o = run(&["info", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let info: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["api_version"], 12);
    let (module, kind) = microvm::info::kvm_module();
    assert_eq!(info["module"], module);
    assert_eq!(info["kind"], kind);
    // The architectural path on hardware KVM, the #PF path on KVM-PVM.
    let entry = match kind {
        "hardware" => "lstar",
        "pvm" => "page-fault",
        other => panic!("unknown KVM kind {other}"),
    };
    assert_eq!(info["syscall_entry"], entry);
    assert_eq!(common::expected_entry(), entry);
    if std::env::var_os("MICROVM_EXPECT_KVM").is_some_and(|v| v == "hardware") {
        assert_eq!(
            kind, "hardware",
            "the nested run must be on kvm_amd/kvm_intel"
        );
    }
    let text = stdout(&run(&["info"]));
    assert!(text.contains("ring-3 SYSCALL:"), "{text}");
}

#[test]
fn a_timeout_too_long_to_reach_is_no_limit() {
    require_kvm!();
    let exit42 = program("exit42");
    // Each of these panicked once (Duration::from_secs_f64, Instant + Duration).
    for t in [
        "1e20",
        "1e19",
        "1e308",
        "18446744073709551615s",
        "500000000000years",
    ] {
        let o = run(&["run", "--timeout", t, exit42.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(42), "--timeout {t}: {}", stderr(&o));
        assert!(
            stderr(&o).ends_with("exit_group(42) = ?\n+++ exited with 42 +++\n"),
            "--timeout {t}: {}",
            stderr(&o)
        );
    }
    // What is no duration at all is refused before anything runs.
    for t in ["inf", "NaN", "-1s", "5 fortnights"] {
        let o = run(&["run", &format!("--timeout={t}"), exit42.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "--timeout {t}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("'{t}' is not a duration")),
            "--timeout {t}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn a_trace_that_cannot_be_written_is_a_failure() {
    require_kvm!();
    let exit42 = program("exit42");
    for extra in [&[][..], &["--trace", "off", "--summary"][..]] {
        let mut args = vec!["run", "-o", "/dev/full"];
        args.extend_from_slice(extra);
        args.push(exit42.to_str().unwrap());
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            "microvm: trace output /dev/full failed: No space left on device (os error 28); the program's status was 42\n",
            "{args:?}"
        );
    }
}

#[test]
fn the_trace_starts_with_the_exec() {
    require_kvm!();
    let p = program("exit42");
    let args = [
        "run",
        "--env",
        "A=1",
        "--env",
        "B=2",
        p.to_str().unwrap(),
        "x",
    ];
    let o = run(&args);
    let err = stderr(&o);
    let first = err.lines().next().unwrap();
    let head = format!("execve(\"{}\", [\"exit42\", \"x\"], 0x7fff", p.display());
    assert!(first.starts_with(&head), "{first}");
    assert!(first.ends_with(" /* 2 vars */) = 0"), "{first}");

    let mut json = vec!["run", "--trace", "json"];
    json.extend_from_slice(&args[1..]);
    let r = common::all_json_records(&run(&json));
    let e = &r[0];
    assert_eq!(e["kind"], "execve");
    assert_eq!(e["nr"], 59);
    assert_eq!(e["name"], "execve");
    assert_eq!(e["path"], p.to_str().unwrap());
    assert_eq!(e["argv"], serde_json::json!(["exit42", "x"]));
    assert_eq!(e["envc"], 2);
    assert_eq!(e["ret"], 0);
    assert_eq!(e["result"], "0");
    assert_eq!(e["decoded"][0], format!("\"{}\"", p.display()));
    assert_eq!(e["decoded"][1], "[\"exit42\", \"x\"]");
    // The same envp address the text shows; no registers, no seq: microvm,
    // not the program, made the exec.
    let envp = e["envp"].as_u64().unwrap();
    assert!(
        first.contains(&format!("], {envp:#x} /* 2 vars */")),
        "{first} {e}"
    );
    assert_eq!(e["decoded"][2], format!("{envp:#x} /* 2 vars */"));
    assert!(e.get("regs").is_none() && e.get("seq").is_none(), "{e}");
    assert_eq!(r[1]["seq"], 1, "the first transition is still seq 1");

    // Counted as strace -c counts it: one call.
    let o = run(&["run", "--summary", "--trace", "off", p.to_str().unwrap()]);
    let err = stderr(&o);
    let row = err
        .lines()
        .find(|l| l.ends_with(" execve"))
        .unwrap_or_default();
    assert_eq!(row.split_whitespace().nth(3), Some("1"), "{err}");
}
