//! A ring-3 fault as strace shows the signal it raises, with microvm's own
//! view of the transition beside it:
//!
//! ```text
//! --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10} --- [#PF page fault (err=0x4 read user not-present) cr2=0x10 rip=0x401136]
//! ```
//!
//! Everything up to the second `---` is byte for byte strace's line; the
//! bracket after it holds what strace cannot show (the vector, the error
//! code decoded, CR2, RIP), so tools that read strace's form still find it
//! as the start of the line.

use crate::exception::{self, SigInfo};
use microvm_abi::TrapFrame;
use serde::Serialize;
use std::io::{self, Write};

/// `--- SIGSEGV {si_signo=..., si_code=..., si_addr=...} --- [detail]`.
pub fn fault_line(out: &mut impl Write, frame: &TrapFrame, info: &SigInfo) -> io::Result<()> {
    write!(out, "--- {} ", info.signal.name())?;
    siginfo(out, info)?;
    out.write_all(b" --- [")?;
    transition(out, frame)?;
    out.write_all(b"]")
}

/// `{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10}`, as strace
/// prints the siginfo of a fault signal.
pub fn siginfo(out: &mut impl Write, info: &SigInfo) -> io::Result<()> {
    write!(out, "{{si_signo={}, si_code=", info.signal.name())?;
    match info.code_name() {
        Some(name) => out.write_all(name.as_bytes())?,
        None => write!(out, "{}", info.code)?,
    }
    out.write_all(b", si_addr=")?;
    if info.addr == 0 {
        out.write_all(b"NULL")?;
    } else {
        write!(out, "{:#x}", info.addr)?;
    }
    out.write_all(b"}")
}

/// `#PF page fault (err=0x4 read user not-present) cr2=0x10 rip=0x401136`:
/// the exception microvm saw.
pub fn transition(out: &mut impl Write, frame: &TrapFrame) -> io::Result<()> {
    let v = exception::vector(frame.vector);
    write!(out, "{} {}", v.mnemonic, v.name)?;
    let err = frame.error_code;
    if frame.vector == exception::PF_VECTOR {
        write!(
            out,
            " (err={err:#x} {}) cr2={:#x}",
            exception::page_fault_error(err),
            frame.cr2
        )?;
    } else if let Some(what) = exception::selector_error(err).filter(|_| has_selector(frame)) {
        write!(out, " (err={err:#x} {what})")?;
    } else if exception::has_error_code(frame.vector) || err != 0 {
        write!(out, " (err={err:#x})")?;
    }
    write!(out, " rip={:#x}", frame.rip)
}

/// The vectors whose error code names a descriptor.
fn has_selector(frame: &TrapFrame) -> bool {
    matches!(frame.vector, 10..=13)
}

/// `--- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=1, si_uid=0} ---`:
/// a signal sent by `kill(2)` (`SI_USER`), `tkill`/`tgkill` (`SI_TKILL`)
/// from the program itself, or by the kernel as if by `kill` (SIGPIPE for
/// a write to a pipe with no reader), as strace shows it.
pub fn sent_line(out: &mut impl Write, sent: &SentSignal) -> io::Result<()> {
    let name = sent.signal.name();
    write!(
        out,
        "--- {name} {{si_signo={name}, si_code={}, si_pid={}, si_uid={}",
        code_name(sent.code),
        sent.pid,
        sent.uid
    )?;
    if let Some(v) = sent.value.filter(|_| sent.code == SI_QUEUE) {
        write!(out, ", si_int={}, si_ptr=", v as u32 as i32)?;
        if v == 0 {
            out.write_all(b"NULL")?;
        } else {
            write!(out, "{v:#x}")?;
        }
    }
    out.write_all(b"} ---")
}

/// `SI_QUEUE`: rt_sigqueueinfo's code, whose siginfo carries a value.
const SI_QUEUE: i32 = microvm_abi::linux::consts::SI_QUEUE;

/// `--- SIGSEGV {si_signo=SIGSEGV, si_code=SI_KERNEL, si_addr=NULL} ---`: a
/// signal the kernel forces with no fault behind it (a signal frame it could
/// not write or read back).
pub fn kernel_line(out: &mut impl Write, info: &SigInfo) -> io::Result<()> {
    write!(out, "--- {} ", info.signal.name())?;
    siginfo(out, info)?;
    out.write_all(b" ---")
}

/// The name of a generic `si_code`, or its number.
fn code_name(code: i32) -> String {
    microvm_abi::linux::consts::SIGINFO_CODES
        .name(i64::from(code) as u64)
        .map_or_else(|| code.to_string(), str::to_string)
}

/// A signal sent with `si_code=SI_USER`: by whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentSignal {
    /// The signal.
    pub signal: exception::Signal,
    /// `si_code`: `SI_USER` or `SI_TKILL`.
    pub code: i32,
    /// `si_pid`: the sender's pid (the program's own for SIGPIPE).
    pub pid: i64,
    /// `si_uid`: the sender's uid.
    pub uid: u32,
    /// `si_value`, for rt_sigqueueinfo.
    pub value: Option<u64>,
}

/// The JSON form of a [`SentSignal`].
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct JsonSentSignal {
    /// "SIGPIPE".
    pub si_signo: &'static str,
    /// "SI_USER".
    pub si_code: String,
    /// The sender's pid.
    pub si_pid: i64,
    /// The sender's uid.
    pub si_uid: u32,
    /// The signal's number.
    pub signo: i32,
    /// `si_code`'s number.
    pub code: i32,
}

impl From<&SentSignal> for JsonSentSignal {
    fn from(s: &SentSignal) -> Self {
        JsonSentSignal {
            si_signo: s.signal.name(),
            si_code: code_name(s.code),
            si_pid: s.pid,
            si_uid: s.uid,
            signo: s.signal.number(),
            code: s.code,
        }
    }
}

/// The siginfo in a JSON exception record: the names strace prints and the
/// numbers behind them.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct JsonSigInfo {
    /// "SIGSEGV".
    pub si_signo: &'static str,
    /// "SEGV_MAPERR" (the number where it has no name).
    pub si_code: String,
    /// The faulting address, 0 for NULL.
    pub si_addr: u64,
    /// The signal's number.
    pub signo: i32,
    /// `si_code`'s number.
    pub code: i32,
}

impl From<&SigInfo> for JsonSigInfo {
    fn from(info: &SigInfo) -> Self {
        JsonSigInfo {
            si_signo: info.signal.name(),
            si_code: info
                .code_name()
                .map_or_else(|| info.code.to_string(), str::to_string),
            si_addr: info.addr,
            signo: info.signal.number(),
            code: info.code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exception::{si_code, FaultState, Signal};

    fn line(frame: &TrapFrame, state: &FaultState) -> String {
        let mut out = Vec::new();
        let info = exception::siginfo(frame, state);
        fault_line(&mut out, frame, &info).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn frame(vector: u64, error_code: u64, cr2: u64, rip: u64) -> TrapFrame {
        TrapFrame {
            vector,
            error_code,
            cr2,
            rip,
            ..Default::default()
        }
    }

    #[test]
    fn page_faults_as_strace_shows_them() {
        assert_eq!(
            line(&frame(14, 0x4, 0x10, 0x401136), &FaultState::default()),
            "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10} --- \
             [#PF page fault (err=0x4 read user not-present) cr2=0x10 rip=0x401136]"
        );
        let mapped = FaultState {
            in_mapping: true,
            ..Default::default()
        };
        assert_eq!(
            line(&frame(14, 0x7, 0x479004, 0x401745), &mapped),
            "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x479004} --- \
             [#PF page fault (err=0x7 write user protection) cr2=0x479004 rip=0x401745]"
        );
    }

    #[test]
    fn kernel_signals_have_no_address() {
        assert_eq!(
            line(&frame(13, 0, 0, 0x401000), &FaultState::default()),
            "--- SIGSEGV {si_signo=SIGSEGV, si_code=SI_KERNEL, si_addr=NULL} --- \
             [#GP general protection (err=0x0) rip=0x401000]"
        );
        assert_eq!(
            line(
                &frame(13, 0x81 << 3 | 2, 0, 0x401000),
                &FaultState::default()
            ),
            "--- SIGSEGV {si_signo=SIGSEGV, si_code=SI_KERNEL, si_addr=NULL} --- \
             [#GP general protection (err=0x40a idt vector 0x81) rip=0x401000]"
        );
        assert_eq!(
            line(&frame(3, 0, 0, 0x401001), &FaultState::default()),
            "--- SIGTRAP {si_signo=SIGTRAP, si_code=SI_KERNEL, si_addr=NULL} --- \
             [#BP breakpoint rip=0x401001]"
        );
    }

    #[test]
    fn instruction_faults_point_at_the_instruction() {
        assert_eq!(
            line(&frame(6, 0, 0, 0x4017c0), &FaultState::default()),
            "--- SIGILL {si_signo=SIGILL, si_code=ILL_ILLOPN, si_addr=0x4017c0} --- \
             [#UD invalid opcode rip=0x4017c0]"
        );
        assert_eq!(
            line(&frame(0, 0, 0, 0x4017eb), &FaultState::default()),
            "--- SIGFPE {si_signo=SIGFPE, si_code=FPE_INTDIV, si_addr=0x4017eb} --- \
             [#DE divide error rip=0x4017eb]"
        );
        assert_eq!(
            line(&frame(17, 0, 0, 0x4017eb), &FaultState::default()),
            "--- SIGBUS {si_signo=SIGBUS, si_code=BUS_ADRALN, si_addr=NULL} --- \
             [#AC alignment check (err=0x0) rip=0x4017eb]"
        );
    }

    #[test]
    fn a_sent_signal_as_strace_shows_it() {
        let sent = SentSignal {
            signal: Signal::SIGPIPE,
            code: libc::SI_USER,
            pid: 1,
            uid: 0,
            value: None,
        };
        let mut out = Vec::new();
        sent_line(&mut out, &sent).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "--- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=1, si_uid=0} ---"
        );
        let json = JsonSentSignal::from(&sent);
        assert_eq!(
            (json.si_code.as_str(), json.code, json.signo),
            ("SI_USER", 0, 13)
        );
    }

    #[test]
    fn an_unnamed_code_is_shown_as_its_number() {
        let info = SigInfo {
            signal: Signal::SIGSEGV,
            code: 99,
            addr: 8,
        };
        let mut out = Vec::new();
        siginfo(&mut out, &info).unwrap();
        assert_eq!(out, b"{si_signo=SIGSEGV, si_code=99, si_addr=0x8}");
        let json = JsonSigInfo::from(&info);
        assert_eq!((json.si_code.as_str(), json.code), ("99", 99));
        let known = JsonSigInfo::from(&SigInfo::kernel(Signal::SIGBUS));
        assert_eq!(
            known,
            JsonSigInfo {
                si_signo: "SIGBUS",
                si_code: "SI_KERNEL".into(),
                si_addr: 0,
                signo: libc::SIGBUS,
                code: si_code::SI_KERNEL,
            }
        );
    }
}
