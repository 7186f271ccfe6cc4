//! What the host makes of a hypercall: the kernel's request, read from the
//! [`SharedPage`] in guest memory, decoded without KVM. The run loop acts
//! on the result (what needs the VM's state, such as the instruction at a
//! faulting RIP or the kernel's entry points, stays there); the fuzzers
//! and tests call these functions on arbitrary pages and frames.
//!
//! Everything in the page is guest-controlled (a kernel that ring 3 took
//! over could write any of it), so nothing here trusts a field: the ticket
//! decides whether the kernel sent the knock at all, the message length is
//! clamped to the message, and every byte of it is escaped.

use crate::exception::{self, Signal};
use microvm_abi::{selector, EntryKind, Hypercall, SharedPage, TrapFrame};

/// What a hypercall asks of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// The ticket is not the one after the last: the kernel did not send
    /// this knock, ring 3 did (it is the #GP hardware would raise).
    Forged,
    /// An exception in ring 3 (the page's frame): see [`user_exception`].
    UserException,
    /// A SYSCALL from compatibility mode or a SYSENTER reached the kernel:
    /// see [`foreign_entry`].
    ForeignEntry,
    /// A fault in ring 0; the message says what it was, for when the
    /// run loop finds it is not the program's doing.
    KernelFault(String),
    /// The guest kernel panicked (the message escaped), or asked for a
    /// hypercall that does not exist.
    KernelFailure(String),
}

/// Decode hypercall `value`, knocked with `page` in the shared page, when
/// the last ticket the kernel issued was `last_ticket`. A decoded (not
/// forged) hypercall carries ticket `last_ticket + 1`, which becomes the
/// last one.
pub fn decode(last_ticket: u64, value: u32, page: &SharedPage) -> Decoded {
    let frame = &page.frame;
    if frame.ticket != last_ticket.wrapping_add(1) {
        // The kernel advances the ticket before every hypercall, in memory
        // ring 3 cannot write: this knock came from ring 3.
        return Decoded::Forged;
    }
    match Hypercall::try_from(value) {
        Ok(Hypercall::UserException) => Decoded::UserException,
        Ok(Hypercall::ForeignEntry) => Decoded::ForeignEntry,
        Ok(Hypercall::KernelFault) => {
            let v = exception::vector(frame.vector);
            let mut regs = Vec::new();
            let _ = crate::trace::format::regs(&mut regs, frame);
            Decoded::KernelFault(format!(
                "{} {} in ring 0 at rip {:#x} (error code {:#x}, cr2 {:#x}){}",
                v.mnemonic,
                v.name,
                frame.rip,
                frame.error_code,
                frame.cr2,
                String::from_utf8_lossy(&regs)
            ))
        }
        Ok(Hypercall::Panic) => {
            let len = usize::try_from(page.message_len)
                .unwrap_or(usize::MAX)
                .min(page.message.len());
            Decoded::KernelFailure(format!(
                "the guest kernel panicked: {}",
                exception::escaped(&page.message[..len])
            ))
        }
        Err(nr) => Decoded::KernelFailure(format!("unknown hypercall {nr}")),
    }
}

/// The signal and the one-line reason for an exception ring 3 took with
/// `frame`: the vector's, unless ring 3 was not running the 64-bit user
/// code segment (KVM-PVM lets IRETQ and far transfers load a data selector
/// into CS, which hardware refuses with #GP): that is the #GP, SIGSEGV.
pub fn user_exception(frame: &TrapFrame) -> (Signal, String) {
    if frame.cs == u64::from(selector::USER_CS) {
        (
            exception::vector(frame.vector).signal,
            exception::kill_reason(frame.vector, frame.error_code, frame.cr2, frame.rip),
        )
    } else {
        (
            Signal::SIGSEGV,
            exception::foreign_cs_reason(frame.cs, frame.vector, frame.rip),
        )
    }
}

/// A foreign entry (SYSCALL from compatibility mode, SYSENTER) with
/// `frame`: the frame the trace shows (the #GP it is, at the return RIP
/// where there is one) and the reason the program ends with SIGSEGV; or,
/// if the frame names no such entry, what is wrong with the kernel.
pub fn foreign_entry(frame: &TrapFrame) -> Result<(TrapFrame, String), String> {
    let kind = match EntryKind::try_from(frame.kind) {
        Ok(k @ (EntryKind::CompatSyscall | EntryKind::Sysenter)) => k,
        _ => {
            return Err(format!(
                "foreign-entry hypercall with entry kind {:#x}",
                frame.kind
            ))
        }
    };
    // After a compat SYSCALL rcx/r11 are the return RIP and RFLAGS;
    // SYSENTER keeps neither. The selectors ring 3 ran with are lost.
    let (rip, rflags) = match kind {
        EntryKind::CompatSyscall => (frame.rcx, frame.r11),
        _ => (0, 0),
    };
    let logged = TrapFrame {
        rip,
        rflags,
        cs: 0,
        ss: 0,
        kind: EntryKind::Exception as u64,
        vector: exception::GP_VECTOR,
        error_code: 0,
        cr2: 0,
        ..*frame
    };
    Ok((logged, exception::foreign_entry_reason(kind, rip)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use microvm_abi::MESSAGE_LEN;

    fn page(ticket: u64) -> SharedPage {
        SharedPage {
            frame: TrapFrame {
                ticket,
                vector: 14,
                error_code: 0x6,
                cr2: 0x1000,
                rip: 0x40_1000,
                cs: u64::from(selector::USER_CS),
                ..TrapFrame::default()
            },
            requests: 0,
            fs_base: 0,
            gs_base: 0,
            message_len: 0,
            message: [0; MESSAGE_LEN],
        }
    }

    #[test]
    fn a_stale_or_future_ticket_is_forged() {
        for ticket in [0, 1, 3, u64::MAX] {
            assert_eq!(decode(1, 2, &page(ticket)), Decoded::Forged, "{ticket}");
        }
        assert_eq!(decode(u64::MAX, 2, &page(0)), Decoded::UserException);
    }

    #[test]
    fn each_hypercall_decodes() {
        let p = page(1);
        assert_eq!(
            decode(0, Hypercall::UserException as u32, &p),
            Decoded::UserException
        );
        assert_eq!(
            user_exception(&p.frame),
            (Signal::SIGSEGV, "#PF writing 0x1000 at rip 0x401000".into())
        );
        assert_eq!(
            decode(0, Hypercall::ForeignEntry as u32, &p),
            Decoded::ForeignEntry
        );
        let Decoded::KernelFault(m) = decode(0, Hypercall::KernelFault as u32, &p) else {
            panic!("not a kernel fault");
        };
        assert!(
            m.starts_with("#PF page fault in ring 0 at rip 0x401000"),
            "{m}"
        );
        assert_eq!(
            decode(0, 99, &p),
            Decoded::KernelFailure("unknown hypercall 99".into())
        );
    }

    #[test]
    fn a_foreign_entry_needs_a_foreign_kind() {
        let mut f = page(1).frame;
        assert!(foreign_entry(&f).unwrap_err().contains("entry kind 0x0"));
        f.kind = EntryKind::CompatSyscall as u64;
        f.rcx = 0x1234;
        let (logged, _) = foreign_entry(&f).unwrap();
        assert_eq!((logged.rip, logged.vector), (0x1234, exception::GP_VECTOR));
    }

    #[test]
    fn a_panic_message_is_clamped_and_escaped() {
        let mut p = page(1);
        p.message[..6].copy_from_slice(b"ab\x1b[2J");
        for (len, want) in [(3, "\"ab\\33\""), (u64::MAX, "\"ab\\33[2J\\0")] {
            p.message_len = len;
            let Decoded::KernelFailure(m) = decode(0, Hypercall::Panic as u32, &p) else {
                panic!("not a kernel failure");
            };
            let msg = m.strip_prefix("the guest kernel panicked: ").unwrap();
            assert!(msg.starts_with(want), "{len}: {m:?}");
            assert!(m.bytes().all(|b| (0x20..0x7f).contains(&b)), "{m:?}");
        }
    }
}
