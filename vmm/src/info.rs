//! `microvm info`: which KVM this host has, the capabilities microvm relies
//! on, — by running a three-instruction program — which SYSCALL entry the
//! guest kernel takes here, and the seccomp allow-lists of `microvm run`.

use crate::error::Result;
use crate::syscall::SyscallService;
use crate::trace::Tracer;
use crate::vm::{open_kvm, Image, Outcome, Vm};
use kvm_ioctls::Cap;
use serde::Serialize;
use std::path::Path;

/// `mov eax, 231; xor edi, edi; syscall` — exit_group(0).
const PROBE: &[u8] = &[0xb8, 0xe7, 0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05];

/// `int3`, then [`PROBE`]'s exit: does KVM take the int3 itself?
const INT3_PROBE: &[u8] = &[0xcc, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05];

/// What `microvm info` reports.
#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    /// KVM_GET_API_VERSION.
    pub api_version: i32,
    /// The KVM module loaded: kvm_intel, kvm_amd, kvm_pvm, or unknown.
    pub module: &'static str,
    /// "hardware" (VT-x/AMD-V), "pvm" (KVM-PVM, software) or "unknown".
    pub kind: &'static str,
    /// Capabilities microvm uses, and whether this KVM has them.
    pub capabilities: Vec<(&'static str, bool)>,
    /// How a ring-3 SYSCALL reached the kernel in the probe: "lstar" or
    /// "page-fault".
    pub syscall_entry: &'static str,
    /// How `run --gdb` breaks: "kvm" (software breakpoints through
    /// KVM_GUESTDBG_USE_SW_BP, hardware ones in debug registers) or
    /// "guest" (both as int3s the guest kernel takes, where KVM refuses
    /// its software breakpoints: KVM-PVM).
    pub gdb_breakpoints: &'static str,
    /// The host syscalls each thread of `microvm run` may make once the
    /// guest runs (`--seccomp kill`, the default), and why.
    pub seccomp: Vec<crate::seccomp::Rule>,
}

/// The loaded KVM module, from /sys/module.
pub fn kvm_module() -> (&'static str, &'static str) {
    for (module, kind) in [
        ("kvm_pvm", "pvm"),
        ("kvm_intel", "hardware"),
        ("kvm_amd", "hardware"),
    ] {
        if Path::new("/sys/module").join(module).exists() {
            return (module, kind);
        }
    }
    ("unknown", "unknown")
}

/// Look at the host's KVM and run the probe.
pub fn probe() -> Result<HostInfo> {
    let kvm = open_kvm()?;
    let capabilities = [
        ("KVM_CAP_USER_MEMORY", Cap::UserMemory),
        ("KVM_CAP_EXT_CPUID", Cap::ExtCpuid),
        ("KVM_CAP_IMMEDIATE_EXIT", Cap::ImmediateExit),
        ("KVM_CAP_SYNC_REGS", Cap::SyncRegs),
        ("KVM_CAP_SET_GUEST_DEBUG", Cap::SetGuestDebug),
    ]
    .into_iter()
    .map(|(name, cap)| (name, kvm.check_extension(cap)))
    .collect();
    let (module, kind) = kvm_module();
    let mut vm = probe_vm(PROBE)?;
    let mut service = SyscallService::new(Box::new(std::io::sink()), Box::new(std::io::sink()));
    let outcome = vm.run(&mut service, &mut Tracer::off())?;
    let stats = vm.stats();
    let syscall_entry = match (outcome, stats.syscalls_lstar, stats.syscalls_page_fault) {
        (Outcome::Exited(0), 1, 0) => "lstar",
        (Outcome::Exited(0), 0, 1) => "page-fault",
        _ => "unknown",
    };
    Ok(HostInfo {
        api_version: kvm.get_api_version(),
        module,
        kind,
        capabilities,
        syscall_entry,
        gdb_breakpoints: if sw_breakpoints_via_kvm()? {
            "kvm"
        } else {
            "guest"
        },
        seccomp: crate::seccomp::rules(),
    })
}

/// Whether KVM takes a ring-3 int3 itself when asked to
/// (KVM_GUESTDBG_USE_SW_BP), by running a program that starts with one.
pub fn sw_breakpoints_via_kvm() -> Result<bool> {
    Ok(probe_vm(INT3_PROBE)?.probe_sw_breakpoints())
}

/// A VM with the built-in kernel and `program`, flat, ready to run.
fn probe_vm(program: &[u8]) -> Result<Vm> {
    let builtin = Path::new("(built-in kernel)");
    Vm::from_images(
        crate::memory::DEFAULT_MEMORY,
        Image {
            bytes: crate::BUILTIN_KERNEL.into(),
            name: builtin,
        },
        Image {
            bytes: program.into(),
            name: Path::new("(probe)"),
        },
        &crate::vm::Start {
            argv: &["probe".to_string()],
            envp: &[],
            execfn: "probe",
        },
        crate::vm::Bench::default(),
    )
}

impl HostInfo {
    /// The human-readable report.
    pub fn text(&self) -> String {
        let kind = match self.kind {
            "hardware" => "hardware virtualisation",
            "pvm" => "KVM-PVM (software, no hardware virtualisation)",
            _ => "unknown",
        };
        let entry = match self.syscall_entry {
            "lstar" => "LSTAR in ring 0; returns with SYSRETQ (architectural)",
            "page-fault" => {
                "#PF at LSTAR from ring 3, taken as the syscall; returns with SYSRETQ (KVM-PVM)"
            }
            _ => "unknown (the probe did not end as expected)",
        };
        let breakpoints = match self.gdb_breakpoints {
            "kvm" => "software through KVM (KVM_GUESTDBG_USE_SW_BP), hardware in debug registers",
            _ => "software and hardware as int3s the guest kernel takes (KVM_GUESTDBG_USE_SW_BP ends in KVM_EXIT_INTERNAL_ERROR here, and ring 3 never fires debug registers); write watchpoints in software, a step at a time; no read watchpoints",
        };
        let mut s = format!(
            "KVM API version:    {}\nKVM module:         {} ({kind})\nring-3 SYSCALL:     {entry}\ngdb breakpoints:    {breakpoints}\ncapabilities:\n",
            self.api_version, self.module
        );
        for (name, present) in &self.capabilities {
            s += &format!("  {name:<24} {}\n", if *present { "yes" } else { "no" });
        }
        s += "seccomp allow-lists of `microvm run` (anything else ends it; see --seccomp):\n";
        let mut thread = "";
        for rule in &self.seccomp {
            if rule.thread != thread {
                thread = rule.thread;
                s += &format!(
                    "  {thread} thread{}:\n",
                    if thread == "both" { "s" } else { "" }
                );
            }
            s += &format!(
                "    {:<16} {}\n    {:<16} why: {}\n",
                rule.syscall, rule.args, "", rule.why
            );
        }
        s
    }
}
