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
    let builtin = Path::new("(built-in kernel)");
    let mut vm = Vm::from_images(
        crate::memory::DEFAULT_MEMORY,
        Image {
            bytes: crate::BUILTIN_KERNEL.into(),
            name: builtin,
        },
        Image {
            bytes: PROBE.into(),
            name: Path::new("(probe)"),
        },
        &crate::vm::Start {
            argv: &["probe".to_string()],
            envp: &[],
            execfn: "probe",
        },
        crate::vm::Bench::default(),
    )?;
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
        seccomp: crate::seccomp::rules(),
    })
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
        let mut s = format!(
            "KVM API version:    {}\nKVM module:         {} ({kind})\nring-3 SYSCALL:     {entry}\ncapabilities:\n",
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
