//! Writes the kernel's linker script from the ABI's memory map, so that the
//! load and link addresses have one source of truth.
use microvm_abi::layout::{KERNEL_BASE, KERNEL_LOAD};
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let script = format!(
        r#"ENTRY(_start)
KERNEL_BASE = {KERNEL_BASE:#x};
SECTIONS
{{
    . = KERNEL_BASE + {KERNEL_LOAD:#x};
    .text : AT(ADDR(.text) - KERNEL_BASE) {{
        KEEP(*(.microvm.header))
        *(.text.entry)
        *(.text .text.*)
    }}
    . = ALIGN(4096);
    .rodata : AT(ADDR(.rodata) - KERNEL_BASE) {{ *(.rodata .rodata.*) }}
    . = ALIGN(4096);
    .data : AT(ADDR(.data) - KERNEL_BASE) {{ *(.data .data.*) *(.got .got.*) }}
    .bss : AT(ADDR(.bss) - KERNEL_BASE) {{ *(.bss .bss.*) *(COMMON) }}
    /DISCARD/ : {{ *(.eh_frame*) *(.comment) *(.note*) }}
}}
"#
    );
    let path = out.join("kernel.ld");
    fs::write(&path, script).expect("write linker script");
    println!("cargo:rustc-link-arg-bins=-T{}", path.display());
    println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    println!("cargo:rustc-link-arg-bins=--no-pie");
    println!("cargo:rerun-if-changed=build.rs");
}
