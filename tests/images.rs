//! Images microvm must refuse: one line on stderr saying why, exit 1.

mod common;

use common::{program, run, stderr};
use std::path::PathBuf;

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microvm-images-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn refused(args: &[&str], why: &str) {
    let o = run(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("microvm: "), "{err}");
    assert!(err.contains(why), "{args:?}: expected {why:?} in {err:?}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A copy of a real guest ELF with some header bytes changed.
fn patched_elf(name: &str, patch: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(program("exit42")).unwrap();
    patch(&mut bytes);
    scratch(name, &bytes)
}

#[test]
fn missing_file() {
    require_kvm!();
    refused(
        &["run", "/nonexistent/prog"],
        "cannot read /nonexistent/prog: No such file",
    );
}

#[test]
fn empty_file() {
    require_kvm!();
    let p = scratch("empty", b"");
    refused(&["run", p.to_str().unwrap()], "the file is empty");
}

#[test]
fn larger_than_guest_memory() {
    require_kvm!();
    let p = scratch("big", &vec![0x90u8; 9 << 20]);
    refused(
        &["run", "--memory", "8M", p.to_str().unwrap()],
        "more than the",
    );
}

#[test]
fn elf32() {
    require_kvm!();
    let p = patched_elf("elf32", |b| b[4] = 1);
    refused(&["run", p.to_str().unwrap()], "32-bit ELF");
}

#[test]
fn foreign_machine() {
    require_kvm!();
    // e_machine = 183 (AArch64).
    let p = patched_elf("aarch64", |b| {
        b[18] = 183;
        b[19] = 0;
    });
    refused(&["run", p.to_str().unwrap()], "not x86-64");
}

#[test]
fn dynamically_linked() {
    require_kvm!();
    // This test binary is itself a dynamically linked executable: its
    // interpreter comes from the file view, which --no-fs takes away.
    let me = std::env::current_exe().unwrap();
    refused(
        &["run", "--no-fs", me.to_str().unwrap()],
        "it is dynamically linked and its interpreter /lib64/ld-linux-x86-64.so.2 is read from the file view, which --no-fs took away",
    );
}

#[test]
fn not_an_executable() {
    require_kvm!();
    // e_type = ET_REL.
    let p = patched_elf("relocatable", |b| {
        b[16] = 1;
        b[17] = 0;
    });
    refused(&["run", p.to_str().unwrap()], "not an executable");
}

#[test]
fn segment_outside_the_file() {
    require_kvm!();
    // Push the first program header's p_offset far past the end.
    let p = patched_elf("truncated", |b| {
        let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
        b[phoff + 8..phoff + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    });
    refused(&["run", p.to_str().unwrap()], "outside the file");
}

#[test]
fn kernel_that_is_not_a_microvm_kernel() {
    require_kvm!();
    let p = scratch("not-a-kernel", b"this is not a kernel");
    refused(
        &[
            "run",
            "--kernel",
            p.to_str().unwrap(),
            program("exit42").to_str().unwrap(),
        ],
        "cannot use kernel",
    );
    // A valid ELF, but a ring-3 program rather than a kernel.
    refused(
        &[
            "run",
            "--kernel",
            program("exit42").to_str().unwrap(),
            program("exit42").to_str().unwrap(),
        ],
        "cannot use kernel",
    );
}

#[test]
fn memory_option_is_checked() {
    require_kvm!();
    refused(
        &["run", "--memory", "1M", program("exit42").to_str().unwrap()],
        "too small",
    );
    let o = run(&[
        "run",
        "--memory",
        "lots",
        program("exit42").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "a bad option: one line, exit 1");
    assert!(stderr(&o).contains("'lots' is not a size"));
}

#[test]
fn builtin_kernel_can_be_given_explicitly() {
    require_kvm!();
    let o = run(&[
        "run",
        "--kernel",
        env!("MICROVM_KERNEL_PATH"),
        program("exit42").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(42), "{}", stderr(&o));
}
