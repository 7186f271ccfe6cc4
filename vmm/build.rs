//! Builds the guest side (guest/: the kernel and the ring-3 programs) for
//! x86_64-unknown-none with a nested cargo, embeds the kernel in microvm,
//! and makes flat binaries of the programs with objcopy.
//!
//! Exports to the crate: MICROVM_KERNEL_PATH (the kernel ELF, embedded with
//! include_bytes!), MICROVM_VDSO_PATH (the vDSO, a shared object linked here
//! from guest/vdso with the toolchain's rust-lld, embedded too) and
//! MICROVM_GUEST_DIR (the built programs, used by tests and benchmarks).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

const GUEST_TARGET: &str = "x86_64-unknown-none";

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.parent().expect("vmm/ has a parent").to_path_buf();
    let guest = root.join("guest");
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("guest");

    for p in [
        "guest/kernel",
        "guest/user",
        "guest/vdso",
        "guest/Cargo.toml",
        "guest/Cargo.lock",
        "guest/.cargo",
        "abi/src",
        "abi/Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&guest)
        .args([
            "build",
            "--release",
            "--target",
            GUEST_TARGET,
            "--target-dir",
        ])
        .arg(&target_dir);
    // The outer build's settings are for the host; the guest has its own.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo for the guest: {e}"));
    if !status.success() {
        panic!(
            "building the guest (guest/) failed; if the error above says `can't find crate for core`, \
             install the target with `rustup target add {GUEST_TARGET}` (or run `make setup`)"
        );
    }
    let out = target_dir.join(GUEST_TARGET).join("release");
    let kernel = out.join("microvm-kernel");
    println!("cargo:rustc-env=MICROVM_KERNEL_PATH={}", kernel.display());
    println!("cargo:rustc-env=MICROVM_GUEST_DIR={}", out.display());
    let vdso = out.join("linux-vdso.so.1");
    link_vdso(&guest.join("vdso"), &out.join("libmicrovm_vdso.a"), &vdso);
    println!("cargo:rustc-env=MICROVM_VDSO_PATH={}", vdso.display());

    for entry in fs::read_dir(guest.join("user/src/bin")).expect("guest/user/src/bin exists") {
        let path = entry.expect("readable directory").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path
                .file_stem()
                .expect("a file name")
                .to_string_lossy()
                .to_string();
            flat_binary(&out.join(&name), &out.join(format!("{name}.bin")));
        }
    }
}

/// `objcopy -O binary`: the program's loadable bytes from its first address.
fn flat_binary(elf: &Path, bin: &Path) {
    let status = Command::new("objcopy")
        .args(["-O", "binary"])
        .arg(elf)
        .arg(bin)
        .status()
        .unwrap_or_else(|e| panic!("cannot run objcopy (install binutils): {e}"));
    assert!(status.success(), "objcopy failed on {}", elf.display());
}

/// The symbols the vDSO exports (its version script names them too).
const VDSO_SYMBOLS: [&str; 5] = [
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_time",
    "__vdso_getcpu",
    "__vdso_clock_getres",
];

/// Link the vDSO archive into `linux-vdso.so.1` as Linux links its vDSO: a
/// shared object with both hash tables, the LINUX_2.6 version, no
/// relocation, laid out by guest/vdso/vdso.ld.
fn link_vdso(dir: &Path, archive: &Path, so: &Path) {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run rustc --print sysroot: {e}"));
    let sysroot = String::from_utf8(sysroot.stdout).expect("a UTF-8 sysroot path");
    let host = env::var("HOST").expect("set by cargo");
    let lld = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin/rust-lld");
    let mut cmd = Command::new(&lld);
    cmd.args(["-flavor", "gnu", "-shared", "--hash-style=both"])
        .arg(format!(
            "--version-script={}",
            dir.join("vdso.ver").display()
        ))
        .arg(format!("-T{}", dir.join("vdso.ld").display()))
        .args([
            "-soname=linux-vdso.so.1",
            "--no-undefined",
            "--gc-sections",
            "--build-id=none",
            "-z",
            "max-page-size=4096",
            "-z",
            "norelro",
            "-o",
        ])
        .arg(so);
    for sym in VDSO_SYMBOLS {
        // Pull the one object that defines them out of the archive.
        cmd.args(["-u", sym]);
    }
    let status = cmd.arg(archive).status().unwrap_or_else(|e| {
        panic!(
            "cannot run {} to link the vDSO (rustup ships it with every toolchain): {e}",
            lld.display()
        )
    });
    assert!(status.success(), "linking the vDSO failed");
}
