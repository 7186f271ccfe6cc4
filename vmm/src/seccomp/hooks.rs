//! Test-only: make a host syscall outside a thread's allow-list right after
//! its filter is installed, so the tests can see what a refusal does.
//! Compiled only with the `test-hooks` feature, which the integration
//! tests turn on through a dev-dependency of this crate on itself: `cargo
//! build` (and `make build`) never has it; what `cargo test` or `cargo
//! bench` builds does, and acts on it only when the person starting
//! microvm sets the variable — nothing a guest does can reach microvm's
//! environment, and all the hook can do is end microvm.
//!
//! `MICROVM_TEST_FORBIDDEN_SYSCALL=THREAD:KIND`, THREAD `vcpu` or
//! `supervisor`, KIND one of `socket`, `ioctl` (KVM_SET_REGS on fd -1),
//! `mmap-exec` (anonymous, PROT_EXEC), `openat2` (from AT_FDCWD); and
//! `openat`, which is refused with an errno rather than killed: the hook
//! says on stderr what it got.

use super::table::Thread;

/// The environment variable read.
pub const VAR: &str = "MICROVM_TEST_FORBIDDEN_SYSCALL";

/// Make the forbidden syscall the environment asks `thread` for, if any.
/// Whatever it creates when let through (log or unsafe-off mode) is
/// released again.
pub fn after_enter(thread: Thread) {
    let Ok(spec) = std::env::var(VAR) else {
        return;
    };
    let Some((who, kind)) = spec.split_once(':') else {
        return;
    };
    if who != thread.name() {
        return;
    }
    // SAFETY: each call passes valid arguments (or none that the kernel
    // dereferences); what succeeds is undone at once.
    unsafe {
        match kind {
            "socket" => {
                let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
                if fd >= 0 {
                    libc::close(fd);
                }
            }
            "ioctl" => {
                let set_regs = vmm_sys_util::ioctl::ioctl_expr(
                    vmm_sys_util::ioctl::_IOC_WRITE,
                    kvm_bindings::KVMIO,
                    0x82,
                    std::mem::size_of::<kvm_bindings::kvm_regs>() as u32,
                );
                libc::ioctl(-1, set_regs as libc::Ioctl, 0);
            }
            "mmap-exec" => {
                let p = libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ | libc::PROT_EXEC,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                if p != libc::MAP_FAILED {
                    libc::munmap(p, 4096);
                }
            }
            "openat2" => {
                // struct open_how: flags, mode, resolve.
                let how: [u64; 3] = [(libc::O_PATH | libc::O_CLOEXEC) as u64, 0, 0];
                let fd = libc::syscall(
                    libc::SYS_openat2,
                    libc::AT_FDCWD,
                    c"/".as_ptr(),
                    how.as_ptr(),
                    std::mem::size_of_val(&how),
                );
                if fd >= 0 {
                    libc::close(fd as libc::c_int);
                }
            }
            "openat" => {
                let fd = libc::openat(
                    libc::AT_FDCWD,
                    c"/proc/sys/vm/overcommit_memory".as_ptr(),
                    libc::O_RDONLY | libc::O_CLOEXEC,
                );
                let result = if fd >= 0 {
                    libc::close(fd);
                    "opened".to_string()
                } else {
                    std::io::Error::last_os_error().to_string()
                };
                eprintln!("microvm: test hook: openat: {result}");
            }
            _ => {}
        }
    }
}
