//! Hypercalls from Rust code (the hot paths are in `entry.rs`).

use core::fmt;
use microvm_abi::{layout, Hypercall, Port, SharedPage, TrapFrame, MESSAGE_LEN};

/// The shared page, as the kernel sees it.
fn shared() -> *mut SharedPage {
    layout::kernel_virt(layout::SHARED_PAGE) as *mut SharedPage
}

/// A message being composed for the host, truncated at [`MESSAGE_LEN`].
pub struct Message {
    buf: [u8; MESSAGE_LEN],
    len: usize,
}

impl Message {
    pub const fn new() -> Self {
        Message {
            buf: [0; MESSAGE_LEN],
            len: 0,
        }
    }
}

impl fmt::Write for Message {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MESSAGE_LEN - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Advance the ticket and knock on the hypercall port.
fn call(nr: Hypercall) {
    let shared = shared();
    // SAFETY: the shared page is mapped kernel RW at this address by the VMM
    // (the ABI's memory map); the kernel runs on one vCPU with interrupts off,
    // so nothing else touches it. `out` only exits to the host.
    unsafe {
        let ticket = core::ptr::addr_of_mut!((*shared).frame.ticket);
        ticket.write_volatile(ticket.read_volatile().wrapping_add(1));
        core::arch::asm!(
            "out dx, eax",
            in("dx") Port::Hypercall as u16,
            in("eax") nr as u32,
            options(nostack, preserves_flags),
        );
    }
}

/// Hand a panic message to the host and stop.
pub fn panic(message: Message) -> ! {
    let shared = shared();
    // SAFETY: as in `call`; the copy stays within the message array.
    unsafe {
        let dst = core::ptr::addr_of_mut!((*shared).message) as *mut u8;
        core::ptr::copy_nonoverlapping(message.buf.as_ptr(), dst, message.len);
        core::ptr::addr_of_mut!((*shared).message_len).write_volatile(message.len as u64);
        core::ptr::addr_of_mut!((*shared).frame).write_volatile(TrapFrame::default());
    }
    call(Hypercall::Panic);
    halt()
}

/// Stop this vCPU for good (the host does not resume a halted kernel).
pub fn halt() -> ! {
    loop {
        // SAFETY: `cli; hlt` only stops the vCPU; HLT exits to the host.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) }
    }
}
