//! The `microvm` command.

use clap::{Parser, Subcommand};
use microvm::exception::Signal;
use microvm::memory::DEFAULT_MEMORY;
use microvm::seccomp::{Confinement, Mode as SeccompMode};
use microvm::stop::{StopReason, StopSlot};
use microvm::syscall::fs::{OutputStopped, StopAwareStderr};
use microvm::syscall::SyscallService;
use microvm::trace::filter::{Filter, FilterError};
use microvm::trace::style::{HexStrings, Style};
use microvm::trace::timing::{Timestamps, Timing};
use microvm::trace::{TraceFormat, Tracer};
use microvm::vm::{Outcome, Vm, VmConfig};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::LazyLock;
use std::time::Duration;

/// One line on stderr. Never panics (stderr may be a closed pipe), and
/// once the run is stopped never waits for a stderr nobody reads.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = format!("{}\n", format_args!($($arg)*));
        let _ = stderr().write_all(line.as_bytes());
    }};
}

/// The run's stop, once the VM exists: microvm's stderr (its lines and the
/// trace) waits for room together with it.
static STOP: LazyLock<StopSlot> = LazyLock::new(StopSlot::default);

/// microvm's stderr, watching the run's stop; made (its kind of descriptor
/// asked) before the seccomp filters, at the start of `run_held`.
static STDERR: LazyLock<StopAwareStderr> = LazyLock::new(|| StopAwareStderr::new(STOP.clone()));

/// microvm's stderr, watching the run's stop.
fn stderr() -> StopAwareStderr {
    STDERR.clone()
}

#[derive(Parser)]
#[command(
    name = "microvm",
    version,
    about = "Run a program in ring 3 of a KVM micro-VM and trace every user->kernel transition"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run PROGRAM (a static ELF64 x86-64 executable or a flat binary) in ring 3.
    Run(Box<RunArgs>),
    /// Measure what a user->kernel transition costs on this host.
    Bench {
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// A quick, rough run (for smoke tests).
        #[arg(long)]
        quick: bool,
        /// Measure only these rows (comma-separated).
        #[arg(long, value_enum, value_delimiter = ',')]
        only: Vec<microvm::bench::Row>,
        /// The vCPU seccomp filter the guest rows run under, as in `run`
        /// (`unsafe-off` measures without it).
        #[arg(long, value_enum, value_name = "MODE", default_value_t = SeccompMode::Kill)]
        seccomp: SeccompMode,
    },
    /// Show which KVM this host has, the capabilities microvm relies on,
    /// and which SYSCALL entry the guest kernel takes here.
    Info {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the built-in guest kernel, an ELF with its symbols, for gdb:
    /// `add-symbol-file FILE` names its entry stubs in a `--gdb` session.
    Kernel {
        /// Where to write it.
        #[arg(long, value_name = "FILE")]
        elf: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Guest memory, e.g. 64M, 1G (suffixes K, M, G; default 128M).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value_t = DEFAULT_MEMORY)]
    memory: u64,
    /// Use this guest kernel image instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,
    /// Send trace output to FILE instead of stderr.
    #[arg(short = 'o', long = "output", value_name = "FILE", help_heading = STRACE)]
    output: Option<PathBuf>,
    /// Trace format.
    #[arg(long, value_enum, default_value_t = TraceFormat::Text)]
    trace: TraceFormat,
    /// Add the full user register state to each text trace line.
    #[arg(long)]
    regs: bool,
    /// Add KEY=VALUE to the program's environment (repeatable; empty by default).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<String>,
    /// A qualifying expression: trace=[!][?]{SYSCALL|%CLASS|/REGEX}[,...]|all|none
    /// (trace only the specified syscalls; -e open,close is -e trace=open,close);
    /// status=SET (print only syscalls with the return statuses in SET:
    /// successful, failed, unfinished, unavailable, detached); signal=SET
    /// (print only the signals from SET); quiet=SET (suppress messages:
    /// attach, exit, path-resolution, personality, thread-execve);
    /// decode-fds=path (as -y).
    #[arg(short = 'e', value_name = "EXPR", help_heading = STRACE)]
    expr: Vec<String>,
    /// Print only syscalls that returned without an error code (-e status=successful).
    #[arg(short = 'z', long = "successful-only", help_heading = STRACE)]
    successful_only: bool,
    /// Print only syscalls that returned with an error code (-e status=failed).
    #[arg(short = 'Z', long = "failed-only", help_heading = STRACE)]
    failed_only: bool,
    /// Limit length of print strings to STRSIZE chars (default 32).
    #[arg(short = 's', long = "string-limit", value_name = "STRSIZE", help_heading = STRACE)]
    string_limit: Option<usize>,
    /// -x: print non-ASCII strings in hex; -xx: print all strings in hex.
    #[arg(short = 'x', action = clap::ArgAction::Count, help_heading = STRACE)]
    hex: u8,
    /// Verbose mode: print entities unabbreviated.
    #[arg(short = 'v', long = "no-abbrev", help_heading = STRACE)]
    verbose: bool,
    /// Print paths associated with file descriptor arguments (-yy: the same).
    #[arg(short = 'y', action = clap::ArgAction::Count, help_heading = STRACE)]
    decode_fds: u8,
    /// Print time spent in each syscall (the host's time serving it).
    #[arg(short = 'T', long = "syscall-times", help_heading = STRACE)]
    syscall_times: bool,
    /// -t: print absolute timestamp; -tt: with usecs; -ttt: UNIX time with usecs.
    #[arg(short = 't', action = clap::ArgAction::Count, help_heading = STRACE)]
    timestamps: u8,
    /// Print relative timestamp (the time since the previous line).
    #[arg(short = 'r', long = "relative-timestamps", help_heading = STRACE)]
    relative: bool,
    /// Count time, calls, and errors for each syscall and report summary
    /// (time: the host's, serving each call); no trace.
    #[arg(short = 'c', long = "summary-only", help_heading = STRACE)]
    summary_only: bool,
    /// Like -c, but also print the regular output.
    #[arg(short = 'C', long = "summary", help_heading = STRACE)]
    summary: bool,
    /// Follow forks (-ff: into separate files). Accepted; the guest is one
    /// process, so they change nothing.
    #[arg(short = 'f', action = clap::ArgAction::Count, help_heading = STRACE)]
    follow_forks: u8,
    /// -q: suppress messages about attaching, detaching, etc. (there are
    /// none); -qq: suppress messages about process exit status as well.
    #[arg(short = 'q', action = clap::ArgAction::Count, help_heading = STRACE)]
    quiet: u8,
    /// Stop the guest after DURATION (e.g. 2s, 500ms, 1m) and exit 124.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Narrow the program's file system to a read-only view of DIR ("/"
    /// is DIR; nothing outside it can be reached). Without it the program
    /// sees the host's "/", read-only (writes and creation fail with EROFS;
    /// the host's processes under /proc are hidden). The working directory
    /// is microvm's own when it lies inside the view, else the view's "/".
    #[arg(long, value_name = "DIR", conflicts_with = "no_fs")]
    fs_root: Option<PathBuf>,
    /// Give the program no file system at all: every path lookup fails
    /// with ENOENT (only its own /proc/self is there).
    #[arg(long)]
    no_fs: bool,
    /// What a host syscall outside microvm's seccomp allow-lists does:
    /// `kill` ends microvm with a line naming it; `log` lets it through and
    /// the kernel logs it (dmesg, or the audit log); `unsafe-off` installs
    /// no filter (unsafe with an untrusted program).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = SeccompMode::Kill)]
    seccomp: SeccompMode,
    /// Serve gdb's remote protocol at ADDR (HOST:PORT, :PORT for
    /// 127.0.0.1, port 0 for any free one, or a Unix socket path): the
    /// program stops at its first instruction until gdb connects (`target
    /// remote ADDR`); one gdb sees both sides of each syscall (`catch
    /// syscall`, `stepi` into the guest kernel; `microvm kernel --elf FILE`
    /// gives its symbols).
    #[arg(long, value_name = "ADDR", value_parser = parse_gdb_addr)]
    gdb: Option<microvm::gdb::GdbAddr>,
    /// The program to run, then its arguments: everything after PROGRAM
    /// is the program's, options too (`microvm run python3 -c CODE`), as
    /// strace reads its command line.
    #[arg(
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        value_names = ["PROGRAM", "ARGS"]
    )]
    command: Vec<String>,
}

/// The heading strace's options are listed under in `microvm run --help`.
const STRACE: &str = "strace options (as strace 6 reads them)";

/// What the strace options make of the trace: the filters, how values are
/// shown, which times.
struct TraceOptions {
    filter: Filter,
    style: Style,
    timing: Timing,
}

impl RunArgs {
    /// The program to run.
    fn program(&self) -> PathBuf {
        PathBuf::from(self.command.first().map_or("", String::as_str))
    }

    /// The arguments after the program.
    fn program_args(&self) -> Vec<String> {
        self.command.iter().skip(1).cloned().collect()
    }

    /// The strace options, read as strace does; a bad `-e` is an error.
    fn trace_options(&self) -> Result<TraceOptions, FilterError> {
        let mut filter = Filter::default();
        for expr in &self.expr {
            filter.qualify(expr)?;
        }
        if self.successful_only {
            filter.successful_only();
        }
        if self.failed_only {
            filter.failed_only();
        }
        filter.quiet_level(self.quiet);
        let style = Style {
            string_limit: self.string_limit.unwrap_or(Style::default().string_limit),
            hex: match self.hex {
                0 => HexStrings::None,
                1 => HexStrings::NonAscii,
                _ => HexStrings::All,
            },
            verbose: self.verbose,
            fd_paths: self.decode_fds > 0 || filter.decode_fd_paths,
        };
        let timing = Timing {
            timestamps: Timestamps::from_count(self.timestamps),
            relative: self.relative,
            durations: self.syscall_times,
        };
        Ok(TraceOptions {
            filter,
            style,
            timing,
        })
    }

    /// strace's warnings for options -c makes pointless.
    fn warn_summary_only(&self) {
        if !self.summary_only {
            return;
        }
        let pointless = [
            (self.syscall_times, "-T/--syscall-times"),
            (self.timestamps > 0, "-t/--absolute-timestamps"),
            (self.relative, "-r/--relative-timestamps"),
            (self.decode_fds > 0, "-y/--decode-fds"),
        ];
        for (given, option) in pointless {
            if given {
                say!("microvm: {option} has no effect with -c/--summary-only");
            }
        }
    }
}

/// `--gdb ADDR`.
fn parse_gdb_addr(s: &str) -> Result<microvm::gdb::GdbAddr, String> {
    s.parse()
}

/// KEY=VALUE, with a non-empty KEY and no NUL.
fn parse_env(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((k, _)) if !k.is_empty() && !s.contains('\0') => Ok(s.to_string()),
        _ => Err(format!("'{s}' is not KEY=VALUE")),
    }
}

/// "2s", "500ms", or a plain number of seconds. A duration too long to
/// represent is the longest there is: no limit, in effect.
fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
        }
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("'{s}' is not a duration (try 2s or 500ms): {e}"))
}

/// "64M" -> 64 MiB.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let trimmed = lower.trim_end_matches("ib").trim_end_matches('b');
    let (digits, shift) = match trimmed.chars().last() {
        Some('k') => (&trimmed[..trimmed.len() - 1], 10),
        Some('m') => (&trimmed[..trimmed.len() - 1], 20),
        Some('g') => (&trimmed[..trimmed.len() - 1], 30),
        _ => (trimmed, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a size (try 64M or 1G)"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// How a run ended: the program's outcome, and the trace's write error if
/// the trace was lost.
struct Ended {
    outcome: Outcome,
    trace_lost: Option<(String, std::io::Error)>,
}

/// Say what `--seccomp` other than the default means for this run.
fn announce(mode: SeccompMode) {
    match mode {
        SeccompMode::Kill => {}
        SeccompMode::Log => say!(
            "microvm: --seccomp log: host syscalls outside the allow-lists are allowed and logged by the kernel (dmesg, or the audit log)"
        ),
        SeccompMode::UnsafeOff => say!(
            "microvm: warning: --seccomp unsafe-off: microvm's host syscalls are not confined; do not run an untrusted program like this"
        ),
    }
}

fn run(args: RunArgs, options: TraceOptions) -> Result<Ended, microvm::Error> {
    args.warn_summary_only();
    // -c: the summary alone, as `--trace off` with the summary.
    let format = if args.summary_only {
        TraceFormat::Off
    } else {
        args.trace
    };
    let summary = args.summary || args.summary_only;
    let config = VmConfig {
        program: args.program(),
        args: args.program_args(),
        memory: args.memory,
        kernel: args.kernel,
        env: args.env,
    };
    let tracer = match (&args.output, format) {
        (None, TraceFormat::Off) if summary => {
            Tracer::new(TraceFormat::Off, false, Box::new(stderr()), true)
        }
        (Some(path), TraceFormat::Off) if summary => {
            let file =
                std::fs::File::create(path).map_err(|source| microvm::Error::TraceOutput {
                    path: path.display().to_string(),
                    source,
                })?;
            Tracer::new(TraceFormat::Off, false, Box::new(file), false)
        }
        (_, TraceFormat::Off) => Tracer::off(),
        (Some(path), format) => {
            let file =
                std::fs::File::create(path).map_err(|source| microvm::Error::TraceOutput {
                    path: path.display().to_string(),
                    source,
                })?;
            Tracer::new(format, args.regs, Box::new(file), false)
        }
        (None, format) => Tracer::new(format, args.regs, Box::new(stderr()), true),
    };
    let tracer = if summary {
        tracer.with_summary()
    } else {
        tracer
    };
    let fd_paths = options.style.fd_paths;
    let tracer = tracer
        .with_filter(options.filter)
        .with_style(options.style)
        .with_timing(options.timing);
    let mut service = SyscallService::default()
        .with_exe_path(&config.program)
        .with_start(
            &microvm::loader::guest_argv(&config.program, &config.args),
            &config.env,
        );
    if !args.no_fs {
        let root = args.fs_root.as_deref().unwrap_or(Path::new("/"));
        service = service.with_fs_root(root)?;
    }
    if fd_paths {
        service = service.with_stdio_paths();
    }
    // Listening before anything else is set up: a port in use is one line
    // at once.
    let listener = args
        .gdb
        .as_ref()
        .map(microvm::gdb::Listener::bind)
        .transpose()?;
    let interp = service
        .view()
        .map(|v| v as &dyn microvm::loader::OpenInterpreter);
    let vm = Vm::new_in(&config, interp)?;
    STOP.set(vm.stop_handle());
    let view_root = service.view_root().map(|fd| fd.as_raw_fd());
    let confinement = Confinement::new(args.seccomp, view_root, listener.is_some())?;
    announce(args.seccomp);
    let gdb = match listener {
        Some(listener) => {
            say!(
                "microvm: waiting for gdb on {0} (in gdb: target remote {0})",
                listener.shown()
            );
            let exe = std::fs::canonicalize(&config.program).unwrap_or(config.program.clone());
            let sw_via_kvm = microvm::info::sw_breakpoints_via_kvm()?;
            Some(
                microvm::gdb::attach(listener, exe, sw_via_kvm)
                    .map_err(|e| microvm::Error::Supervisor("creating an eventfd", e))?,
            )
        }
        None => None,
    };
    let (outcome, mut tracer) =
        microvm::supervisor::run(vm, service, tracer, args.timeout, &confinement, gdb)?;
    let flushed = tracer.finish();
    let outcome = outcome?;
    let trace_lost = match flushed {
        // A reader that went away ends microvm quietly, like any writer.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => None,
        // Stopped with stderr full: the rest of the trace was dropped so
        // that the stop is not held by a reader that does not read; the
        // stop's own status stands.
        Err(e) if OutputStopped::is(&e) => None,
        Err(source) => {
            let path = args
                .output
                .as_ref()
                .map_or_else(|| "(stderr)".to_string(), |p| p.display().to_string());
            Some((path, source))
        }
        Ok(()) => None,
    };
    Ok(Ended {
        outcome,
        trace_lost,
    })
}

/// `run`, with SIGINT and SIGTERM held from the start: one that comes while
/// the VM is being set up waits for the supervisor, which then stops the
/// guest at once and flushes the trace.
fn run_held(args: RunArgs, options: TraceOptions) -> Result<Ended, microvm::Error> {
    microvm::supervisor::hold_stop_signals();
    LazyLock::force(&STDERR);
    run(args, options)
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        say!("microvm: internal error (a bug in microvm; please report it): {info}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match cli.command {
        Command::Run(args) => match trace_options(&args) {
            Err(code) => code,
            Ok(options) => match run_held(*args, options) {
                Ok(Ended {
                    outcome,
                    trace_lost,
                }) => {
                    match &outcome {
                        Outcome::Exited(_) => {}
                        // Like any writer whose reader went away: quietly.
                        Outcome::Killed {
                            signal: Signal::SIGPIPE,
                            ..
                        } => {}
                        Outcome::Killed { signal, reason } => {
                            say!("microvm: guest killed by {}: {reason}", signal.name())
                        }
                        Outcome::WaitsForever { call, why } => {
                            say!("microvm: the program waits forever: {call} {why}")
                        }
                        Outcome::Stopped(StopReason::Timeout) => {
                            say!("microvm: timed out: the guest was stopped")
                        }
                        Outcome::Stopped(StopReason::Interrupt) => {
                            say!("microvm: interrupted (SIGINT): the guest was stopped")
                        }
                        Outcome::Stopped(StopReason::Terminate) => {
                            say!("microvm: terminated (SIGTERM): the guest was stopped")
                        }
                    }
                    if let Some((path, source)) = trace_lost {
                        // A lost trace is a failure, whatever the program did.
                        say!(
                        "microvm: trace output {path} failed: {source}; the program's status was {}",
                        outcome.exit_status()
                    );
                        return ExitCode::from(1);
                    }
                    ExitCode::from(outcome.exit_status() as u8)
                }
                Err(e) => fail(e),
            },
        },
        Command::Bench {
            json,
            quick,
            only,
            seccomp,
        } => {
            let config = if quick {
                microvm::bench::Config::QUICK
            } else {
                microvm::bench::Config::FULL
            };
            let report = std::env::current_exe()
                .map_err(|e| microvm::Error::Supervisor("locating microvm", e))
                .and_then(|exe| microvm::bench::Bencher::new(&exe))
                .and_then(|b| b.with_seccomp(seccomp))
                .and_then(|b| b.report(config, &only));
            match report {
                Ok(r) if json => {
                    let text = serde_json::to_string(&r).unwrap_or_default();
                    let _ = writeln!(std::io::stdout(), "{text}");
                    ExitCode::SUCCESS
                }
                Ok(r) => {
                    let _ = write!(std::io::stdout(), "{}", r.text());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::Kernel { elf } => match std::fs::write(&elf, microvm::BUILTIN_KERNEL) {
            Ok(()) => {
                let _ = writeln!(
                    std::io::stdout(),
                    "microvm: wrote the guest kernel (ELF, with symbols) to {0}; in gdb: add-symbol-file {0}",
                    elf.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                say!("microvm: cannot write {}: {e}", elf.display());
                ExitCode::from(1)
            }
        },
        Command::Info { json } => match microvm::info::probe() {
            Ok(info) if json => {
                let json = serde_json::to_string(&info).unwrap_or_default();
                let _ = writeln!(std::io::stdout(), "{json}");
                ExitCode::SUCCESS
            }
            Ok(info) => {
                let _ = write!(std::io::stdout(), "{}", info.text());
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}

/// The strace options of `args`; a bad `-e` is one line and exit 1.
fn trace_options(args: &RunArgs) -> Result<TraceOptions, ExitCode> {
    args.trace_options().map_err(|e: FilterError| {
        say!("microvm: {e}");
        ExitCode::from(1)
    })
}

/// A command line clap refuses, in one line (clap's own message runs over
/// several, with the usage); `--help` and `--version` as clap prints them.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return ExitCode::from(1);
    }
    let text = e.render().to_string();
    // The first paragraph says what is wrong; the rest is usage and tips.
    let what = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let what = what.strip_prefix("error: ").unwrap_or(&what);
    say!("microvm: {what} (see microvm run --help)");
    ExitCode::from(1)
}

fn fail(e: microvm::Error) -> ExitCode {
    say!("microvm: {e}");
    ExitCode::from(1)
}
