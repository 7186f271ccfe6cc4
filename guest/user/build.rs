//! Writes the ring-3 programs' linker script: linked at the ABI's user base,
//! with the entry stub first so that the flat image starts at its entry.
use microvm_abi::layout::USER_BASE;
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let script = format!(
        r#"ENTRY(_start)
SECTIONS
{{
    . = {USER_BASE:#x};
    .text : {{ *(.text.entry) *(.text .text.*) }}
    . = ALIGN(4096);
    .rodata : {{ *(.rodata .rodata.*) }}
    . = ALIGN(4096);
    .data : {{ *(.data .data.*) *(.got .got.*) }}
    .bss : {{ *(.bss .bss.*) *(COMMON) }}
    /DISCARD/ : {{ *(.eh_frame*) *(.comment) *(.note*) }}
}}
"#
    );
    let path = out.join("user.ld");
    fs::write(&path, script).expect("write linker script");
    println!("cargo:rustc-link-arg-bins=-T{}", path.display());
    println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    println!("cargo:rustc-link-arg-bins=--no-pie");
    println!("cargo:rerun-if-changed=build.rs");
}
