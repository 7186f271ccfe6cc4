//! The runtime of microvm's own ring-3 programs: the entry stub, raw Linux
//! x86-64 system calls, and a panic handler. Programs are `#![no_std]`,
//! `#![no_main]` binaries that define `program_main`.
#![no_std]

use core::arch::asm;

/// Linux x86-64 syscall numbers (shared with the host through the ABI crate).
pub use microvm_abi::linux::nr;

/// The process entry point: the Linux ABI puts argc at the stack pointer.
///
/// # Safety
/// Only the loader jumps here.
#[unsafe(naked)]
#[no_mangle]
#[link_section = ".text.entry"]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov rdi, rsp",
        "and rsp, -16",
        "call {start}",
        "ud2",
        start = sym start,
    )
}

extern "Rust" {
    /// Defined by each program: returns the exit status.
    fn program_main(args: Args) -> i32;
}

/// The program's arguments, as the loader laid them on the stack.
#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const u8,
}

impl Args {
    /// Number of arguments, the program name included.
    pub fn len(&self) -> usize {
        self.argc
    }

    /// True when there are none (never, with a loader that sets argv[0]).
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i` as bytes, without its NUL.
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: the loader wrote argc pointers to NUL-terminated strings.
        unsafe {
            let p = *self.argv.add(i);
            let mut n = 0;
            while *p.add(n) != 0 {
                n += 1;
            }
            Some(core::slice::from_raw_parts(p, n))
        }
    }
}

impl Args {
    /// The value of auxiliary-vector entry `key`, past argv and envp.
    pub fn aux(&self, key: u64) -> Option<u64> {
        // SAFETY: the loader laid out argv[], NULL, envp[], NULL, then the
        // auxv pairs up to AT_NULL.
        unsafe {
            let mut p = self.argv.add(self.argc + 1) as *const u64;
            while *p != 0 {
                p = p.add(1);
            }
            p = p.add(1);
            while *p != 0 {
                if *p == key {
                    return Some(*p.add(1));
                }
                p = p.add(2);
            }
        }
        None
    }
}

/// Read a `T` at `addr`.
///
/// # Safety
/// `addr` must be readable.
unsafe fn at<T: Copy>(addr: u64) -> T {
    // SAFETY: the caller vouches for the address.
    unsafe { core::ptr::read_unaligned(addr as *const T) }
}

/// The address of `name` in the vDSO the loader mapped (AT_SYSINFO_EHDR),
/// looked up in its dynamic symbol table as a C library looks it up:
/// PT_LOAD for the load bias, PT_DYNAMIC for DT_HASH, DT_SYMTAB and
/// DT_STRTAB.
pub fn vdso_symbol(args: &Args, name: &[u8]) -> Option<u64> {
    const AT_SYSINFO_EHDR: u64 = 33;
    const PT_LOAD: u32 = 1;
    const PT_DYNAMIC: u32 = 2;
    const DT_HASH: u64 = 4;
    const DT_STRTAB: u64 = 5;
    const DT_SYMTAB: u64 = 6;
    let base = args.aux(AT_SYSINFO_EHDR)?;
    // SAFETY: the vDSO is a mapped, readable ELF image; every address
    // read is inside it as its own headers say.
    unsafe {
        let phoff: u64 = at(base + 32);
        let phentsize = u64::from(at::<u16>(base + 54));
        let phnum = u64::from(at::<u16>(base + 56));
        let (mut bias, mut dynamic) = (None, None);
        for i in 0..phnum {
            let ph = base + phoff + i * phentsize;
            let vaddr: u64 = at(ph + 16);
            match at::<u32>(ph) {
                PT_LOAD if bias.is_none() => bias = Some(base.wrapping_sub(vaddr)),
                PT_DYNAMIC => dynamic = Some(vaddr),
                _ => {}
            }
        }
        let bias = bias?;
        let mut d = bias.wrapping_add(dynamic?);
        let (mut hash, mut strtab, mut symtab) = (0, 0, 0);
        loop {
            let (tag, val): (u64, u64) = (at(d), at(d + 8));
            match tag {
                0 => break,
                DT_HASH => hash = bias.wrapping_add(val),
                DT_STRTAB => strtab = bias.wrapping_add(val),
                DT_SYMTAB => symtab = bias.wrapping_add(val),
                _ => {}
            }
            d += 16;
        }
        if hash == 0 || strtab == 0 || symtab == 0 {
            return None;
        }
        let nsyms = u64::from(at::<u32>(hash + 4));
        for i in 0..nsyms {
            let sym = symtab + i * 24;
            let s = strtab + u64::from(at::<u32>(sym));
            let value: u64 = at(sym + 8);
            let matches = name
                .iter()
                .enumerate()
                .all(|(k, &c)| at::<u8>(s + k as u64) == c)
                && at::<u8>(s + name.len() as u64) == 0;
            if matches && value != 0 {
                return Some(bias.wrapping_add(value));
            }
        }
    }
    None
}

extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: `sp` is the initial stack pointer: argc, then argv[].
    let args = unsafe {
        Args {
            argc: *sp,
            argv: sp.add(1) as *const *const u8,
        }
    };
    // SAFETY: every program defines `program_main` with this signature.
    let status = unsafe { program_main(args) };
    exit_group(status)
}

/// A raw system call with up to six arguments.
///
/// # Safety
/// The arguments must be what the syscall expects.
#[inline(always)]
pub unsafe fn syscall(nr: u64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: SYSCALL clobbers rcx and r11 only; the caller vouches for
    // the arguments.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as i64 => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// write(2) from a raw pointer (may be bad on purpose).
pub fn write_raw(fd: i32, buf: u64, len: u64) -> i64 {
    // SAFETY: the kernel checks the pointer; a bad one gives -EFAULT.
    unsafe { syscall(nr::WRITE, [fd as u64, buf, len, 0, 0, 0]) }
}

/// write(2) a byte string.
pub fn write(fd: i32, bytes: &[u8]) -> i64 {
    write_raw(fd, bytes.as_ptr() as u64, bytes.len() as u64)
}

/// A syscall with no arguments.
pub fn syscall0(nr: u64) -> i64 {
    // SAFETY: no pointers involved.
    unsafe { syscall(nr, [0; 6]) }
}

/// A syscall with one integer argument.
pub fn syscall1(nr: u64, a: u64) -> i64 {
    // SAFETY: callers pass integers, not pointers.
    unsafe { syscall(nr, [a, 0, 0, 0, 0, 0]) }
}

/// exit_group(2).
pub fn exit_group(status: i32) -> ! {
    syscall1(nr::EXIT_GROUP, status as u64);
    // The host never returns from exit_group; if it did, fault loudly.
    loop {
        // SAFETY: ud2 raises #UD, which ends the program.
        unsafe { asm!("ud2", options(nomem, nostack)) }
    }
}

/// Format `v` in decimal into `buf`, returning the digits.
pub fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    write(2, b"program panicked\n");
    exit_group(101)
}

/// A syscall with arguments that are integers or pointers the caller
/// knows the host may use as the syscall says (its own buffers, or
/// addresses chosen to be refused).
pub fn sys(nr: u64, args: &[u64]) -> i64 {
    let mut a = [0u64; 6];
    for (slot, v) in a.iter_mut().zip(args) {
        *slot = *v;
    }
    // SAFETY: the callers in these test programs pass their own buffers
    // with their true lengths, or addresses the host must refuse (EFAULT),
    // which it never writes.
    unsafe { syscall(nr, a) }
}

/// A line of output built on the stack and written with one write(2).
pub struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    /// An empty line.
    pub const fn new() -> Self {
        Line {
            buf: [0; 512],
            len: 0,
        }
    }

    /// Append bytes (cut at the capacity).
    pub fn s(&mut self, bytes: &[u8]) -> &mut Self {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        self
    }

    /// Append a decimal number.
    pub fn n(&mut self, v: i64) -> &mut Self {
        let mut digits = [0u8; 20];
        self.s(fmt_i64(v, &mut digits))
    }

    /// Append `0x` and 16 hex digits.
    pub fn x(&mut self, v: u64) -> &mut Self {
        let mut digits = [0u8; 16];
        fmt_hex(v, &mut digits);
        self.s(b"0x").s(&digits)
    }

    /// Write the line and a newline to `fd`.
    pub fn to(&mut self, fd: i32) {
        self.s(b"\n");
        write(fd, &self.buf[..self.len]);
        self.len = 0;
    }

    /// Write the line and a newline to stdout.
    pub fn print(&mut self) {
        self.to(1)
    }
}

/// Print `label=value`.
pub fn say(label: &[u8], v: i64) {
    Line::new().s(label).s(b"=").n(v).print();
}

/// Format `v` as 16 lowercase hex digits into `buf`.
pub fn fmt_hex(v: u64, buf: &mut [u8; 16]) -> &[u8] {
    for (i, b) in buf.iter_mut().enumerate() {
        let nibble = (v >> (60 - 4 * i)) & 0xf;
        *b = b"0123456789abcdef"[nibble as usize];
    }
    &buf[..]
}
