//! Every checked-in fuzz input, replayed through the fuzz harnesses
//! (fuzz/src/lib.rs) in the normal test suite: the seed corpora
//! (fuzz/corpus/TARGET/) and every input a fuzzer ever crashed on
//! (fuzz/regressions/TARGET/, each kept with the fix it led to). So a
//! crash `make fuzz` found stays fixed without nightly or cargo-fuzz.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};
use std::sync::Once;

/// Make the harnesses' scratch tree in this test's temporary directory
/// (not the target directory: it is read-only under make test-native).
fn scratch_under_target() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let dir = std::env::temp_dir().join(format!("microvm-fuzz-inputs-{}", std::process::id()));
        // SAFETY: set once, before any harness reads it; the Rust
        // standard library serialises its own environment accesses.
        unsafe { std::env::set_var("MICROVM_FUZZ_SCRATCH", dir) };
    });
}

/// The checked-in inputs of `target`: (path, bytes).
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut all = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                all.push((path, bytes));
            }
        }
    }
    all.sort();
    all
}

/// Run `harness` on every input of `target`, naming the one that fails.
fn replay(target: &str, harness: fn(&[u8])) {
    scratch_under_target();
    let all = inputs(target);
    assert!(!all.is_empty(), "no checked-in inputs for {target}");
    for (path, bytes) in all {
        let r = std::panic::catch_unwind(|| harness(&bytes));
        assert!(r.is_ok(), "{target}: {} fails", path.display());
    }
}

#[test]
fn loader_inputs() {
    replay("loader", harness::loader);
}

#[test]
fn syscalls_inputs() {
    replay("syscalls", harness::syscalls);
}

#[test]
fn view_paths_inputs() {
    replay("view_paths", harness::view_paths);
}

#[test]
fn hypercall_inputs() {
    replay("hypercall", harness::hypercall);
}

#[test]
fn the_containment_check_catches_a_file_outside_the_view() {
    scratch_under_target();
    let tree = harness::scratch_tree();
    let secret = tree.root.parent().unwrap().join("outside/secret");
    let outside = std::fs::File::open(&secret).unwrap();
    let r = std::panic::catch_unwind(|| {
        tree.check_fd(std::os::fd::AsFd::as_fd(&outside), &"outside/secret")
    });
    assert!(r.is_err(), "opening the outside file must fail the check");
    let passwd = std::fs::File::open(tree.root.join("etc/passwd")).unwrap();
    tree.check_fd(std::os::fd::AsFd::as_fd(&passwd), &"etc/passwd");
    let host = std::fs::File::open("/etc/hostname").or_else(|_| std::fs::File::open("/"));
    let host = host.unwrap();
    let r = std::panic::catch_unwind(|| tree.check_fd(std::os::fd::AsFd::as_fd(&host), &"host"));
    assert!(r.is_err(), "a host file must fail the check");
}

#[test]
fn the_trace_checks_catch_raw_bytes_and_broken_records() {
    let line = b"write(1, \"hi\\n\", 3) = 3  [rax=0x1]\n";
    harness::check_text_trace(line, 1);
    let raw = b"write(1, \"\x1b[2J\", 4) = 4\n";
    assert!(std::panic::catch_unwind(|| harness::check_text_trace(raw, 1)).is_err());
    let missing = std::panic::catch_unwind(|| harness::check_text_trace(b"", 1));
    assert!(missing.is_err(), "a record without a line");
    harness::check_json_trace(b"{\"seq\":1}\n", 1);
    for bad in [
        &b"{\"seq\":1}\n{\"seq\":2}\n"[..],
        b"{\"seq\":1\n",
        b"[1]\n",
    ] {
        let r = std::panic::catch_unwind(|| harness::check_json_trace(bad, 1));
        assert!(r.is_err(), "{}", String::from_utf8_lossy(bad));
    }
}
