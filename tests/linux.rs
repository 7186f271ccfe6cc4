//! Unmodified static Linux executables, built from the C sources in
//! tests/c with gcc (glibc) and musl-gcc, run in ring 3 with the host
//! serving their syscalls.

mod common;

use common::{run, stderr, stdout};
use std::path::PathBuf;

use common::build;

fn glibc(name: &str) -> Option<PathBuf> {
    build("gcc", name, &["-g", "-static", "-O1"])
}

#[test]
fn glibc_static_hello_world() {
    require_kvm!();
    let Some(p) = glibc("hello") else { return };
    let o = run(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hello, world\n");
    let err = stderr(&o);
    assert!(
        err.contains("write(1, \"hello, world\\n\", 13) = 13\n"),
        "{err}"
    );
    assert!(err.contains("arch_prctl(ARCH_SET_FS, 0x"), "{err}");
    assert!(
        err.ends_with("exit_group(0) = ?\n+++ exited with 0 +++\n"),
        "{err}"
    );
}

#[test]
fn glibc_static_pie_hello_world() {
    require_kvm!();
    let Some(p) = build("gcc", "hello", &["-static-pie", "-O1"]) else {
        return;
    };
    let o = run(&["run", "--trace", "json", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hello, world\n");
    // Placed at the fixed PIE base.
    let records = common::json_records(&o);
    let first = &records[0];
    assert!(first["regs"]["rip"].as_u64().unwrap() >= microvm::loader::PIE_BASE);
    // The JSON has what the text line shows, beside the raw values.
    let write = records
        .iter()
        .find(|r| r["name"] == "write")
        .expect("a write record");
    assert_eq!(
        write["decoded"],
        serde_json::json!(["1", "\"hello, world\\n\"", "13"])
    );
    assert_eq!(write["result"], "13");
    assert_eq!(write["args"][2], 13);
    let rseq = records.iter().find(|r| r["name"] == "rseq").unwrap();
    assert_eq!(rseq["result"], "0");
}

#[test]
fn musl_static_hello_world() {
    require_kvm!();
    let Some(p) = build("musl-gcc", "hello", &["-static", "-O1"]) else {
        return;
    };
    let o = run(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hello, world\n");
}

#[test]
fn argv_and_environment_reach_main() {
    require_kvm!();
    let Some(p) = glibc("args") else { return };
    let o = run(&[
        "run",
        "--trace",
        "off",
        "--env",
        "GREETING=hi there",
        "--env",
        "EMPTY=",
        p.to_str().unwrap(),
        "one",
        "two words",
    ]);
    assert_eq!(o.status.code(), Some(3), "returns argc: {}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "argv[0]=glibc-argsgO1static\nargv[1]=one\nargv[2]=two words\nenv GREETING=hi there\nenv EMPTY=\n"
            .replace("glibc-argsgO1static", p.file_name().unwrap().to_str().unwrap())
    );
    // No --env: an empty environment.
    let o = run(&["run", "--trace", "off", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stdout(&o).contains("env "));
    let o = run(&["run", "--env", "NOEQUALS", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "a bad option: one line, exit 1");
    assert!(stderr(&o).contains("'NOEQUALS' is not KEY=VALUE"));
}

#[test]
fn heap_mmap_mprotect_munmap_and_tls() {
    require_kvm!();
    let Some(p) = glibc("memory") else { return };
    let o = run(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "heap ok, big[4194303]=0xab, m[0]=1, tls=42\n");
    let err = stderr(&o);
    assert!(err.contains("brk(NULL) = 0x"), "{err}");
    assert!(
        err.contains(", 12288, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x"),
        "{err}"
    );
    assert!(
        err.contains("mmap(NULL, 1073741824, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x"),
        "{err}"
    );
    assert!(err.contains(", 4096, PROT_READ) = 0\n"), "{err}");
}

/// Run `segv` with `args`; it must die with SIGSEGV. Returns the #PF
/// record and the address its mmap returned.
fn segv(args: &[&str]) -> Option<(serde_json::Value, u64)> {
    let p = glibc("segv")?;
    let mut all = vec!["run", "--trace", "json", p.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = run(&all);
    assert_eq!(o.status.code(), Some(139), "{}", stderr(&o));
    let r = common::json_records(&o);
    let mmap = r.iter().find(|r| r["name"] == "mmap").unwrap()["ret"]
        .as_i64()
        .unwrap() as u64;
    let e = r.iter().find(|r| r["kind"] == "exception").unwrap().clone();
    assert_eq!(e["vector"], 14);
    Some((e, mmap))
}

#[test]
fn writing_a_page_made_read_only_is_sigsegv() {
    require_kvm!();
    let Some((e, mmap)) = segv(&[]) else { return };
    assert_eq!(e["error_code"], 7, "write, user, protection");
    assert_eq!(e["cr2"].as_u64(), Some(mmap));
    assert_eq!(e["signal"]["si_code"], "SEGV_ACCERR");
    assert_eq!(e["signal"]["si_addr"].as_u64(), Some(mmap));
}

#[test]
fn reading_an_unmapped_page_is_sigsegv() {
    require_kvm!();
    let Some((e, mmap)) = segv(&["unmap"]) else {
        return;
    };
    assert_eq!(e["error_code"], 4, "read, user, not present");
    assert_eq!(e["cr2"].as_u64(), Some(mmap + 4096));
    assert_eq!(e["signal"]["si_code"], "SEGV_MAPERR");
    assert_eq!(e["signal"]["si_addr"].as_u64(), Some(mmap + 4096));
}

#[test]
fn running_out_of_guest_memory_is_enomem_in_the_guest() {
    require_kvm!();
    let Some(p) = glibc("oom") else { return };
    let o = run(&[
        "run",
        "--trace",
        "off",
        "--memory",
        "24M",
        p.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("mapped ") && out.ends_with(" MiB, then ENOMEM\n"),
        "{out}"
    );
}

#[test]
fn summary_counts_calls_like_strace_c() {
    require_kvm!();
    let Some(p) = glibc("hello") else { return };
    let o = run(&["run", "--trace", "off", "--summary", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        "% time     seconds  usecs/call     calls    errors syscall"
    );
    let write = lines.iter().find(|l| l.ends_with(" write")).unwrap();
    assert!(write.split_whitespace().nth(3) == Some("1"), "{write}");
    let total = lines.last().unwrap();
    assert!(total.ends_with(" total"), "{total}");
    assert!(
        !err.contains("write(1,"),
        "no per-call lines with --trace off"
    );
}

#[test]
fn the_walkthrough_dup_example() {
    require_kvm!();
    let Some(p) = glibc("dup_trace") else { return };
    let o = run(&["run", "--regs", "--fs-root", "/", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in\n{err}"))
    };
    let open = at("openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY) = 3  [");
    let dup = at("dup(3) = 4  [");
    let close3 = at("close(3) = 0  [");
    let close4 = at("close(4) = 0  [");
    assert!(open < dup && dup < close3 && close3 < close4, "{err}");
    assert!(lines[dup].contains("[rax=0x20 "), "{}", lines[dup]);
    assert!(lines[dup].contains(" rdi=0x3 "), "{}", lines[dup]);
}
