//! `microvm bench`: what a user->kernel transition costs on this host, next
//! to the floor the KVM underneath sets and to the tool a user would pick
//! instead (ptrace, as strace uses it).
//!
//! Every guest figure runs the `bench` program from `guest/user` (a loop of
//! getppid) under one kernel path — see [`Row`] — and divides the time of
//! `Vm::run` by the iteration count. VM creation is not inside those
//! figures; it has rows of its own. Iteration counts adapt so that each
//! figure takes about the configured time; each figure is repeated and
//! reported as the median, min and max of the repetitions. The guest runs
//! on a thread confined by the vCPU's seccomp filter, as in `microvm run`
//! (`--seccomp` chooses the mode; `unsafe-off` measures without it).

use crate::error::{Error, Result};
use crate::memory::{GuestRam, DEFAULT_MEMORY};
use crate::seccomp::{Confinement, Mode as SeccompMode, Thread};
use crate::syscall::SyscallService;
use crate::trace::filter::Filter;
use crate::trace::{TraceFormat, Tracer};
use crate::vm::{Bench, Image, Outcome, Vm};
use microvm_abi::BenchMode;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The benchmark loop program (flat binary), embedded like the kernel.
pub static BENCH_PROGRAM: &[u8] = include_bytes!(concat!(env!("MICROVM_GUEST_DIR"), "/bench.bin"));

/// One measured quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Row {
    /// ring-3 SYSCALL -> kernel -> hypercall exit -> host service -> back:
    /// the `microvm run` path, trace off.
    Forwarded,
    /// The same, with the text trace written to /dev/null.
    ForwardedTraced,
    /// The same, with the text trace on and `-e trace=%file` filtering
    /// out every line of the loop.
    ForwardedFiltered,
    /// The same transitions with the kernel and host doing nothing else.
    NullForwarded,
    /// ring 3 -> kernel -> ring 3, answered in the guest, no exit.
    InGuest,
    /// A hypercall round trip from ring 0, no ring switch.
    BareExit,
    /// getppid on the host.
    HostSyscall,
    /// clock_gettime(CLOCK_MONOTONIC) in the guest, through microvm's
    /// vDSO: no transition.
    VdsoClock,
    /// The same call on the host, through the host's vDSO.
    HostClock,
    /// getppid in a host child traced with PTRACE_SYSCALL + PTRACE_GETREGS.
    Ptrace,
    /// Creating a microvm VM and running its program to its first syscall
    /// (exit_group at once).
    Startup,
    /// Creating a bare VM (same memory) and running it to its first HLT.
    StartupFloor,
    /// A whole `microvm run` process for a program that exits at once.
    Process,
    /// Creating a VM for a dynamically linked program ([`DYNAMIC_PROGRAM`],
    /// whose `main` makes no syscall before it exits) and running it, its
    /// interpreter loading libc from the file view, to its exit.
    StartupDynamic,
    /// The same program started natively: fork, exec, wait.
    NativeExecDynamic,
}

/// The dynamically linked program of the dynamic start-up rows: the
/// host's `true`, whose `main` returns at once, so that its first syscall
/// in `main` is its exit.
pub const DYNAMIC_PROGRAM: &str = "/bin/true";

impl Row {
    /// Every row, in table order.
    pub const ALL: [Row; 15] = [
        Row::Forwarded,
        Row::ForwardedTraced,
        Row::ForwardedFiltered,
        Row::NullForwarded,
        Row::InGuest,
        Row::BareExit,
        Row::HostSyscall,
        Row::VdsoClock,
        Row::HostClock,
        Row::Ptrace,
        Row::Startup,
        Row::StartupFloor,
        Row::Process,
        Row::StartupDynamic,
        Row::NativeExecDynamic,
    ];

    /// The row's label in the table.
    pub fn label(self) -> &'static str {
        match self {
            Row::Forwarded => "forwarded syscall",
            Row::ForwardedTraced => "forwarded, text trace to /dev/null",
            Row::ForwardedFiltered => "forwarded, -e trace filtering all out",
            Row::NullForwarded => "null-forwarded (KVM floor)",
            Row::InGuest => "in-guest syscall (no exit)",
            Row::BareExit => "bare exit from ring 0",
            Row::HostSyscall => "host getppid()",
            Row::VdsoClock => "guest clock_gettime (vDSO)",
            Row::HostClock => "host clock_gettime (vDSO)",
            Row::Ptrace => "ptrace getppid (strace's way)",
            Row::Startup => "start-up: new VM to ring 3",
            Row::StartupFloor => "start-up floor: bare VM to HLT",
            Row::Process => "whole `microvm run` process",
            Row::StartupDynamic => "start-up: dynamic /bin/true to exit",
            Row::NativeExecDynamic => "native fork+exec of /bin/true",
        }
    }
}

/// How long and how often to measure.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Time spent on each figure, all repetitions together.
    pub per_figure: Duration,
    /// Repetitions per figure.
    pub repetitions: usize,
}

impl Config {
    /// About a second per figure, five repetitions.
    pub const FULL: Config = Config {
        per_figure: Duration::from_secs(1),
        repetitions: 5,
    };
    /// For smoke tests: quick and rough.
    pub const QUICK: Config = Config {
        per_figure: Duration::from_millis(60),
        repetitions: 3,
    };
}

/// One row of results.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Which quantity.
    pub row: Row,
    /// Its label.
    pub label: &'static str,
    /// Median over repetitions, ns per operation.
    pub median_ns: f64,
    /// Fastest repetition, ns per operation.
    pub min_ns: f64,
    /// Slowest repetition, ns per operation.
    pub max_ns: f64,
    /// Operations per second at the median.
    pub ops_per_sec: f64,
    /// Operations in each repetition.
    pub iterations: u64,
    /// Repetitions.
    pub repetitions: usize,
}

/// A ratio between two rows, and its target if it has one.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// What it compares, e.g. "forwarded / null-forwarded".
    pub name: &'static str,
    /// The ratio of the medians.
    pub value: f64,
    /// The target, where the project has one (the ratio should stay below).
    pub target: Option<f64>,
}

/// Everything `microvm bench` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The host's KVM module and the SYSCALL path taken.
    pub kvm_module: &'static str,
    /// The rows.
    pub rows: Vec<Measurement>,
    /// The ratios that matter.
    pub ratios: Vec<Ratio>,
}

/// Runs the measurements.
pub struct Bencher {
    /// The microvm binary, for the [`Row::Process`] figure.
    pub microvm: PathBuf,
    /// A scratch copy of the bench program, for that figure.
    program_file: PathBuf,
    /// The vCPU filter the guest rows run under.
    confinement: Confinement,
}

fn bench_error(what: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |e| Error::Supervisor(what, e)
}

impl Bencher {
    /// A bencher that runs `microvm` for the process figure.
    pub fn new(microvm: &Path) -> Result<Bencher> {
        let program_file =
            std::env::temp_dir().join(format!("microvm-bench-{}.bin", std::process::id()));
        std::fs::write(&program_file, BENCH_PROGRAM)
            .map_err(bench_error("writing the bench program"))?;
        Ok(Bencher {
            microvm: microvm.to_path_buf(),
            program_file,
            confinement: Confinement::new(SeccompMode::Kill, None, false)?,
        })
    }

    /// Run the guest rows under the vCPU filter of `mode` (default: kill).
    pub fn with_seccomp(mut self, mode: SeccompMode) -> Result<Bencher> {
        self.confinement = Confinement::new(mode, None, false)?;
        Ok(self)
    }

    /// Time `n` operations of `row` once. Guest rows are differential: a
    /// run of `n` iterations minus a run of none in a VM made the same way,
    /// so that booting and leaving the VM do not count.
    pub fn run_once(&self, row: Row, n: u64) -> Result<Duration> {
        self.time(row, n).map(|t| t.net)
    }

    /// Time `n` operations of `row`: the net figure, and the whole time the
    /// run took (calibration grows `n` on the latter, which noise cannot
    /// shrink to nothing).
    fn time(&self, row: Row, n: u64) -> Result<Timing> {
        let differential = |f: &dyn Fn(u64) -> Result<Duration>| -> Result<Timing> {
            let empty = f(0)?;
            let full = f(n)?;
            Ok(Timing {
                net: full.saturating_sub(empty),
                total: full + empty,
            })
        };
        let plain = |t: Result<Duration>| t.map(|t| Timing { net: t, total: t });
        let c = &self.confinement;
        match row {
            Row::Forwarded => differential(&|n| guest_loop(c, BenchMode::Off, n, Trace::Off)),
            Row::ForwardedTraced => {
                differential(&|n| guest_loop(c, BenchMode::Off, n, Trace::Text))
            }
            Row::ForwardedFiltered => {
                differential(&|n| guest_loop(c, BenchMode::Off, n, Trace::FilteredOut))
            }
            Row::NullForwarded => {
                differential(&|n| guest_loop(c, BenchMode::NullForward, n, Trace::Off))
            }
            Row::InGuest => differential(&|n| guest_loop(c, BenchMode::InGuest, n, Trace::Off)),
            Row::BareExit => differential(&|n| bare_exits(c, n)),
            Row::HostSyscall => plain(Ok(host_syscalls(n))),
            Row::VdsoClock => differential(&|n| vdso_clock_loop(c, n)),
            Row::HostClock => plain(Ok(host_clock_calls(n))),
            Row::Ptrace => plain(ptrace_syscalls(n)),
            Row::Startup => plain(repeat(n, startup)),
            Row::StartupFloor => plain(repeat(n, startup_floor)),
            Row::Process => plain(repeat(n, || self.process())),
            Row::StartupDynamic => plain(repeat(n, startup_dynamic)),
            Row::NativeExecDynamic => plain(repeat(n, native_exec_dynamic)),
        }
    }

    /// Measure `row` under `config`.
    pub fn measure(&self, row: Row, config: Config) -> Result<Measurement> {
        let per_rep = config.per_figure / config.repetitions.max(1) as u32;
        // Calibrate: grow n until one run takes a tenth of a repetition.
        let mut n = 1u64;
        let per_op = loop {
            let t = self.time(row, n)?;
            if t.total >= per_rep / 10 || n >= 1 << 24 {
                break t.total.as_secs_f64() / n as f64;
            }
            n *= 4;
        };
        let n = ((per_rep.as_secs_f64() / per_op.max(1e-9)) as u64).clamp(1, 1 << 26);
        let mut samples: Vec<f64> = (0..config.repetitions.max(1))
            .map(|_| {
                self.run_once(row, n)
                    .map(|t| t.as_nanos() as f64 / n as f64)
            })
            .collect::<Result<_>>()?;
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        Ok(Measurement {
            row,
            label: row.label(),
            median_ns: median,
            min_ns: samples[0],
            max_ns: samples[samples.len() - 1],
            ops_per_sec: 1e9 / median,
            iterations: n,
            repetitions: samples.len(),
        })
    }

    /// Measure `rows` (every row if empty) and compute the ratios between
    /// those measured.
    pub fn report(&self, config: Config, rows: &[Row]) -> Result<Report> {
        let selected = if rows.is_empty() { &Row::ALL[..] } else { rows };
        let rows = selected
            .iter()
            .map(|&row| self.measure(row, config))
            .collect::<Result<Vec<_>>>()?;
        let get = |r: Row| {
            rows.iter()
                .find(|m| m.row == r)
                .map_or(f64::NAN, |m| m.median_ns)
        };
        let ratio = |name, a, b, target| Ratio {
            name,
            value: get(a) / get(b),
            target,
        };
        let ratios = vec![
            ratio(
                "forwarded / null-forwarded",
                Row::Forwarded,
                Row::NullForwarded,
                Some(1.10),
            ),
            ratio(
                "traced / untraced",
                Row::ForwardedTraced,
                Row::Forwarded,
                Some(1.15),
            ),
            ratio(
                "start-up / start-up floor",
                Row::Startup,
                Row::StartupFloor,
                Some(1.2),
            ),
            ratio(
                "filtered out / untraced",
                Row::ForwardedFiltered,
                Row::Forwarded,
                Some(1.0),
            ),
            ratio(
                "dynamic start-up / native exec",
                Row::StartupDynamic,
                Row::NativeExecDynamic,
                None,
            ),
            ratio(
                "guest vDSO clock / host vDSO clock",
                Row::VdsoClock,
                Row::HostClock,
                Some(3.0),
            ),
            ratio("ptrace / forwarded", Row::Ptrace, Row::Forwarded, None),
            ratio(
                "forwarded / host getppid",
                Row::Forwarded,
                Row::HostSyscall,
                None,
            ),
            ratio(
                "null-forwarded / (in-guest + bare exit)",
                Row::NullForwarded,
                Row::InGuest,
                None,
            ),
        ];
        let mut ratios = ratios;
        // The last ratio's denominator is a sum.
        if let Some(last) = ratios.last_mut() {
            last.value = get(Row::NullForwarded) / (get(Row::InGuest) + get(Row::BareExit));
        }
        ratios.retain(|r| r.value.is_finite());
        Ok(Report {
            kvm_module: crate::info::kvm_module().0,
            rows,
            ratios,
        })
    }

    fn process(&self) -> Result<()> {
        let status = std::process::Command::new(&self.microvm)
            .args(["run", "--trace", "off"])
            .arg(&self.program_file)
            .arg("0")
            .status()
            .map_err(bench_error("running microvm"))?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::Kernel(format!("microvm run exited with {status}")))
        }
    }
}

impl Drop for Bencher {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.program_file);
    }
}

/// One timed run.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// What the operations cost (differential rows: the run minus an empty one).
    net: Duration,
    /// Everything the measurement took.
    total: Duration,
}

fn repeat(n: u64, mut f: impl FnMut() -> Result<()>) -> Result<Duration> {
    let start = Instant::now();
    for _ in 0..n {
        f()?;
    }
    Ok(start.elapsed())
}

fn bench_vm(mode: BenchMode, iterations: u64, loop_count: u64) -> Result<Vm> {
    bench_vm_with(mode, iterations, &["bench".into(), loop_count.to_string()])
}

/// A VM running the bench program with `argv`.
fn bench_vm_with(mode: BenchMode, iterations: u64, argv: &[String]) -> Result<Vm> {
    Vm::from_images(
        DEFAULT_MEMORY,
        Image {
            bytes: crate::BUILTIN_KERNEL.into(),
            name: Path::new("(built-in kernel)"),
        },
        Image {
            bytes: BENCH_PROGRAM.into(),
            name: Path::new("(bench program)"),
        },
        &crate::vm::Start {
            argv,
            envp: &[],
            execfn: "bench",
        },
        Bench { mode, iterations },
    )
}

fn sink_service() -> SyscallService {
    SyscallService::new(Box::new(std::io::sink()), Box::new(std::io::sink()))
}

fn expect_exit(outcome: Outcome) -> Result<()> {
    match outcome {
        Outcome::Exited(0) => Ok(()),
        other => Err(Error::Kernel(format!(
            "the bench program ended with {other:?}"
        ))),
    }
}

/// Run `vm` to its end, timed, on a thread confined as the vCPU thread of
/// `microvm run` is.
fn timed_run(
    confinement: &Confinement,
    vm: &mut Vm,
    service: &mut SyscallService,
    tracer: &mut Tracer,
) -> Result<(Outcome, Duration)> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                confinement.enter(Thread::Vcpu)?;
                let start = Instant::now();
                let outcome = vm.run(service, tracer)?;
                Ok((outcome, start.elapsed()))
            })
            .join()
            .map_err(|_| Error::Kernel("the vCPU thread panicked".into()))?
    })
}

/// The trace a guest loop runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trace {
    /// `--trace off`.
    Off,
    /// The text trace, to /dev/null.
    Text,
    /// The text trace, to /dev/null, with `-e trace=%file`: the loop's
    /// getppid calls (and its exit) are all filtered out.
    FilteredOut,
}

/// `n` getppid syscalls through the kernel path `mode`.
fn guest_loop(
    confinement: &Confinement,
    mode: BenchMode,
    n: u64,
    trace: Trace,
) -> Result<Duration> {
    let mut vm = bench_vm(mode, 0, n)?;
    let mut tracer = if trace == Trace::Off {
        Tracer::off()
    } else {
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .map_err(bench_error("opening /dev/null"))?;
        let tracer = Tracer::new(TraceFormat::Text, false, Box::new(null), false);
        let mut filter = Filter::default();
        if trace == Trace::FilteredOut {
            filter
                .qualify("trace=%file")
                .map_err(|e| Error::Kernel(e.to_string()))?;
        }
        tracer.with_filter(filter)
    };
    let mut service = sink_service();
    let (outcome, t) = timed_run(confinement, &mut vm, &mut service, &mut tracer)?;
    expect_exit(outcome)?;
    // Check that the loop took the path being measured.
    let stats = vm.stats();
    let forwarded = stats.syscalls_lstar + stats.syscalls_page_fault;
    let (want_forwarded, want_null) = match mode {
        BenchMode::Off => (n + 1, 0),
        BenchMode::NullForward => (1, n),
        BenchMode::InGuest | BenchMode::BareExit => (1, 0),
    };
    if (forwarded, stats.null_hypercalls) != (want_forwarded, want_null) {
        return Err(Error::Kernel(format!(
            "bench mode {mode:?}: {forwarded} forwarded syscalls and {} null hypercalls for {n} iterations",
            stats.null_hypercalls
        )));
    }
    Ok(t)
}

/// `n` clock_gettime(CLOCK_MONOTONIC) calls through the guest's vDSO.
fn vdso_clock_loop(confinement: &Confinement, n: u64) -> Result<Duration> {
    let argv = ["bench".to_string(), n.to_string(), "clock".to_string()];
    let mut vm = bench_vm_with(BenchMode::Off, 0, &argv)?;
    let mut service = sink_service();
    let (outcome, t) = timed_run(confinement, &mut vm, &mut service, &mut Tracer::off())?;
    expect_exit(outcome)?;
    // No call left the guest but the exit.
    let stats = vm.stats();
    let forwarded = stats.syscalls_lstar + stats.syscalls_page_fault;
    if forwarded != 1 {
        return Err(Error::Kernel(format!(
            "{forwarded} syscalls forwarded for {n} vDSO clock_gettime calls"
        )));
    }
    Ok(t)
}

fn host_clock_calls(n: u64) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let start = Instant::now();
    for _ in 0..n {
        // SAFETY: clock_gettime writes one timespec into `ts`.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, std::hint::black_box(&mut ts)) };
    }
    start.elapsed()
}

/// `n` null hypercalls from ring 0.
fn bare_exits(confinement: &Confinement, n: u64) -> Result<Duration> {
    let mut vm = bench_vm(BenchMode::BareExit, n, 0)?;
    let mut service = sink_service();
    let (outcome, t) = timed_run(confinement, &mut vm, &mut service, &mut Tracer::off())?;
    expect_exit(outcome)?;
    if vm.stats().null_hypercalls != n {
        return Err(Error::Kernel("the kernel skipped bare exits".into()));
    }
    Ok(t)
}

fn host_syscalls(n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    start.elapsed()
}

/// `n` getppid in a child stopped at each syscall entry and exit, with the
/// registers fetched at each stop, as strace does.
fn ptrace_syscalls(n: u64) -> Result<Duration> {
    use nix::sys::ptrace;
    use nix::sys::signal::Signal;
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    let err = |what: &'static str| move |e: nix::Error| Error::Supervisor(what, e.into());
    // SAFETY: the child only makes raw system calls (async-signal-safe)
    // and leaves with _exit.
    match unsafe { fork() }.map_err(err("fork"))? {
        ForkResult::Child => {
            // SAFETY: raw syscalls only, then _exit; no allocation or locks.
            unsafe {
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
                libc::raise(libc::SIGSTOP);
                for _ in 0..n {
                    libc::syscall(libc::SYS_getppid);
                }
                libc::_exit(0);
            }
        }
        ForkResult::Parent { child } => {
            waitpid(child, None).map_err(err("waitpid"))?;
            ptrace::setoptions(
                child,
                ptrace::Options::PTRACE_O_TRACESYSGOOD | ptrace::Options::PTRACE_O_EXITKILL,
            )
            .map_err(err("ptrace"))?;
            let start = Instant::now();
            loop {
                ptrace::syscall(child, None).map_err(err("ptrace"))?;
                match waitpid(child, None).map_err(err("waitpid"))? {
                    WaitStatus::PtraceSyscall(pid) => {
                        ptrace::getregs(pid).map_err(err("ptrace"))?;
                    }
                    WaitStatus::Exited(..) | WaitStatus::Signaled(..) => break,
                    WaitStatus::Stopped(_, Signal::SIGSTOP) => {}
                    _ => {}
                }
            }
            Ok(start.elapsed())
        }
    }
}

/// Create a VM for a program that exits at once and run it to that exit.
fn startup() -> Result<()> {
    let mut vm = bench_vm(BenchMode::Off, 0, 0)?;
    expect_exit(vm.run(&mut sink_service(), &mut Tracer::off())?)
}

/// Create a VM for [`DYNAMIC_PROGRAM`], its interpreter and libraries read
/// from a view of the host's `/`, and run it to its exit.
fn startup_dynamic() -> Result<()> {
    let path = Path::new(DYNAMIC_PROGRAM);
    let mut service = sink_service().with_fs_root(Path::new("/"))?;
    let file = crate::loader::ImageFile::open(path)?;
    let interp = service
        .view()
        .map(|v| v as &dyn crate::loader::OpenInterpreter);
    let mut vm = Vm::from_images_in(
        DEFAULT_MEMORY,
        Image {
            bytes: crate::BUILTIN_KERNEL.into(),
            name: Path::new("(built-in kernel)"),
        },
        Image {
            bytes: file.bytes(),
            name: path,
        },
        &crate::vm::Start {
            argv: &["true".to_string()],
            envp: &[],
            execfn: DYNAMIC_PROGRAM,
        },
        Bench::default(),
        interp,
    )?;
    expect_exit(vm.run(&mut service, &mut Tracer::off())?)
}

/// Start [`DYNAMIC_PROGRAM`] natively with the same (empty) environment
/// and wait for it.
fn native_exec_dynamic() -> Result<()> {
    let status = std::process::Command::new(DYNAMIC_PROGRAM)
        .env_clear()
        .status()
        .map_err(bench_error("running /bin/true"))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Kernel(format!("/bin/true exited with {status}")))
    }
}

/// The floor: open KVM, a VM with the same guest memory, one vCPU in real
/// mode at a HLT, run to the HLT.
fn startup_floor() -> Result<()> {
    use kvm_ioctls::VcpuExit;
    let kvm = crate::vm::open_kvm()?;
    let ram = GuestRam::new(DEFAULT_MEMORY)?;
    let vm = kvm.create_vm().map_err(Error::kvm("creating a VM"))?;
    ram.write(0x1000, &[0xf4])?;
    // SAFETY: `ram` outlives the VM, which is declared before it and so
    // dropped first at the end of this function.
    unsafe { ram.register(&vm) }?;
    let mut vcpu = vm.create_vcpu(0).map_err(Error::kvm("creating a vCPU"))?;
    let mut sregs = vcpu.get_sregs().map_err(Error::kvm("reading sregs"))?;
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    vcpu.set_sregs(&sregs)
        .map_err(Error::kvm("setting sregs"))?;
    let regs = kvm_bindings::kvm_regs {
        rip: 0x1000,
        rflags: 2,
        ..Default::default()
    };
    vcpu.set_regs(&regs).map_err(Error::kvm("setting regs"))?;
    match vcpu.run().map_err(Error::kvm("running"))? {
        VcpuExit::Hlt => Ok(()),
        other => Err(Error::Kernel(format!(
            "floor VM: unexpected exit {other:?}"
        ))),
    }
}

impl Report {
    /// The table, for people.
    pub fn text(&self) -> String {
        let mut s = format!(
            "microvm bench on {} (each figure: median of the repetitions, ns per operation)\n\n",
            self.kvm_module
        );
        s += &format!(
            "{:<36} {:>12} {:>12} {:>12} {:>12} {:>10}\n",
            "what", "median ns", "min ns", "max ns", "ops/s", "n/rep"
        );
        for m in &self.rows {
            s += &format!(
                "{:<36} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>10}\n",
                m.label, m.median_ns, m.min_ns, m.max_ns, m.ops_per_sec, m.iterations
            );
        }
        s += "\nratios (medians of this run)\n";
        for r in &self.ratios {
            let target = match r.target {
                Some(t) if r.value <= t => format!("target <= {t:.2}: met"),
                Some(t) => format!("target <= {t:.2}: MISSED"),
                None => String::new(),
            };
            s += &format!("  {:<42} {:>8.2}   {target}\n", r.name, r.value);
        }
        s
    }
}
