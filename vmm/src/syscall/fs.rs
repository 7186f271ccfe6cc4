//! File descriptors: the program's fd table and the syscalls on it.
//! fd 0, 1 and 2 are microvm's own stdin, stdout and stderr.

use super::{errno, io_errno, nr, Context, MAX_RW_COUNT};
use crate::arch::paging::Access;
use microvm_abi::layout::PAGE_SIZE;
use std::io::Write;
use vm_memory::{Bytes, GuestAddress};

/// The program's open files.
pub struct Files {
    stdout: Box<dyn Write + Send>,
    stderr: Box<dyn Write + Send>,
}

impl Files {
    /// A table with fd 1 and 2 writing to `stdout` and `stderr`.
    pub fn new(stdout: Box<dyn Write + Send>, stderr: Box<dyn Write + Send>) -> Self {
        Files { stdout, stderr }
    }

    /// Serve `nr` if it is a file syscall.
    pub fn handle(&mut self, nr: u64, args: &[u64; 6], ctx: &mut Context<'_, '_>) -> Option<i64> {
        match nr {
            nr::WRITE => Some(self.write(ctx, args[0], args[1], args[2])),
            _ => None,
        }
    }

    fn write(&mut self, ctx: &mut Context<'_, '_>, fd: u64, buf: u64, count: u64) -> i64 {
        let count = count.min(MAX_RW_COUNT);
        let out: &mut dyn Write = match fd {
            1 => &mut *self.stdout,
            2 => &mut *self.stderr,
            _ => return -errno::EBADF,
        };
        let mem = ctx.mem;
        // Check the whole buffer before writing a byte of it.
        if mem
            .for_each_piece(buf, count, Access::UserRead, |_, _| {})
            .is_err()
        {
            return -errno::EFAULT;
        }
        (ctx.before_output)();
        let mut chunk = [0u8; PAGE_SIZE as usize];
        let mut failure = None;
        let mut written = 0i64;
        let ram = mem.ram();
        let _ = mem.for_each_piece(buf, count, Access::UserRead, |phys, n| {
            if failure.is_some() {
                return;
            }
            let piece = &mut chunk[..n];
            if ram.mem().read_slice(piece, GuestAddress(phys)).is_err() {
                failure = Some(errno::EFAULT);
                return;
            }
            match out.write_all(piece) {
                Ok(()) => written += n as i64,
                Err(e) => failure = Some(io_errno(&e)),
            }
        });
        if let Err(e) = out.flush() {
            failure.get_or_insert(io_errno(&e));
        }
        match failure {
            Some(errno::EPIPE) => -errno::EPIPE,
            Some(_) if written > 0 => written,
            Some(e) => -e,
            None => written,
        }
    }
}
