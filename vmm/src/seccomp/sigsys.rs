//! What a refused host syscall does in `--seccomp kill`: the filter
//! returns `SECCOMP_RET_TRAP`, the kernel skips the syscall and raises
//! SIGSYS, and this handler writes one line on stderr — the syscall's
//! number and name and the thread — with a raw write(2), then makes the
//! same syscall again. SIGSYS is blocked inside its own handler, so the
//! kernel delivers that second SIGSYS with the default action: the
//! process dies by SIGSYS, as `SECCOMP_RET_KILL_PROCESS` would have killed
//! it (which prints nothing; hence the trap). The handler cannot be
//! replaced once the filter is on: rt_sigaction is on no allow-list.

use super::table::{syscall_name, Thread};
use std::cell::Cell;

thread_local! {
    /// The confined role of this thread (0: none yet), for the message.
    static ROLE: Cell<u8> = const { Cell::new(0) };
}

/// Record that the calling thread runs under `thread`'s filter.
pub fn set_role(thread: Thread) {
    ROLE.with(|r| r.set(thread as u8 + 1));
}

fn role_name() -> &'static str {
    match ROLE.with(Cell::get) {
        1 => Thread::Vcpu.name(),
        2 => Thread::Supervisor.name(),
        _ => "unconfined",
    }
}

/// The head of `siginfo_t` for SIGSYS (`<asm-generic/siginfo.h>`, `_sigsys`).
#[repr(C)]
struct SigsysInfo {
    signo: libc::c_int,
    errno: libc::c_int,
    code: libc::c_int,
    _pad: libc::c_int,
    call_addr: *mut libc::c_void,
    syscall: libc::c_int,
    arch: libc::c_uint,
}

/// Install the SIGSYS handler (process-wide).
pub fn install() -> std::io::Result<()> {
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value;
    // the handler has the SA_SIGINFO signature and only makes
    // async-signal-safe calls.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigsys as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGSYS, &action, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A fixed buffer for the message: no allocation in a signal handler.
struct Line {
    buf: [u8; 256],
    len: usize,
}

impl Line {
    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    fn number(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// The message for host syscall `nr` refused on the calling thread.
fn message(nr: i64) -> Line {
    let mut line = Line {
        buf: [0; 256],
        len: 0,
    };
    line.push(b"microvm: seccomp: host syscall ");
    line.number(nr as u64 & 0xffff_ffff);
    line.push(b" (");
    line.push(syscall_name(nr).as_bytes());
    line.push(b") is not allowed on the ");
    line.push(role_name().as_bytes());
    line.push(b" thread; this is a bug in microvm\n");
    line
}

extern "C" fn on_sigsys(_: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a SIGSYS siginfo (whose union holds
    // `_sigsys`) and the interrupted thread's ucontext.
    let (nr, args) = unsafe {
        let info = &*(info as *const SigsysInfo);
        let g = &(*(ctx as *const libc::ucontext_t)).uc_mcontext.gregs;
        let reg = |r: libc::c_int| g[r as usize];
        (
            i64::from(info.syscall),
            [
                reg(libc::REG_RDI),
                reg(libc::REG_RSI),
                reg(libc::REG_RDX),
                reg(libc::REG_R10),
                reg(libc::REG_R8),
                reg(libc::REG_R9),
            ],
        )
    };
    let line = message(nr);
    // SAFETY: write(2) of a stack buffer; then the refused syscall again,
    // with its own arguments, which the filter refuses again (the kernel
    // kills the process by SIGSYS, blocked here); should anything return,
    // exit_group with the status a death by SIGSYS shows in a shell.
    unsafe {
        libc::write(2, line.buf.as_ptr().cast(), line.len);
        libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
        libc::syscall(libc::SYS_exit_group, 128 + libc::SIGSYS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_syscall_and_the_thread() {
        let line = message(libc::SYS_socket);
        assert_eq!(
            std::str::from_utf8(&line.buf[..line.len]).unwrap(),
            "microvm: seccomp: host syscall 41 (socket) is not allowed on the unconfined thread; this is a bug in microvm\n"
        );
        std::thread::spawn(|| {
            set_role(Thread::Vcpu);
            let line = message(9999);
            assert_eq!(
                std::str::from_utf8(&line.buf[..line.len]).unwrap(),
                "microvm: seccomp: host syscall 9999 (unknown) is not allowed on the vcpu thread; this is a bug in microvm\n"
            );
        })
        .join()
        .unwrap();
    }
}
