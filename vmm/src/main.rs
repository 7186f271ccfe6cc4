//! The `microvm` command.

use clap::{Parser, Subcommand};
use microvm::memory::DEFAULT_MEMORY;
use microvm::syscall::SyscallService;
use microvm::trace::{TraceFormat, Tracer};
use microvm::vm::{Outcome, Vm, VmConfig};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

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
    Run(RunArgs),
    /// Show which KVM this host has, the capabilities microvm relies on,
    /// and which SYSCALL entry the guest kernel takes here.
    Info {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
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
    /// Write the trace to FILE instead of stderr.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Trace format.
    #[arg(long, value_enum, default_value_t = TraceFormat::Text)]
    trace: TraceFormat,
    /// Add the full user register state to each text trace line.
    #[arg(long)]
    regs: bool,
    /// The program to run.
    program: PathBuf,
    /// Arguments passed to the program.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
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

fn run(args: RunArgs) -> Result<Outcome, microvm::Error> {
    let config = VmConfig {
        memory: args.memory,
        kernel: args.kernel,
        program: args.program,
        args: args.args,
    };
    let mut tracer = match (&args.output, args.trace) {
        (_, TraceFormat::Off) => Tracer::off(),
        (Some(path), format) => {
            let file =
                std::fs::File::create(path).map_err(|source| microvm::Error::TraceOutput {
                    path: path.display().to_string(),
                    source,
                })?;
            Tracer::new(format, args.regs, Box::new(file), false)
        }
        (None, format) => Tracer::new(format, args.regs, Box::new(std::io::stderr()), true),
    };
    let mut vm = Vm::new(&config)?;
    let mut service = SyscallService::default();
    let outcome = vm.run(&mut service, &mut tracer);
    let flushed = tracer.finish();
    let outcome = outcome?;
    if let Err(source) = flushed {
        // A trace that could not be written is reported, but the program's
        // own status still wins.
        eprintln!("microvm: trace output failed: {source}");
    }
    let _ = std::io::stderr().is_terminal();
    Ok(outcome)
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("microvm: internal error (a bug in microvm; please report it): {info}");
    }));
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => match run(args) {
            Ok(Outcome::Exited(status)) => ExitCode::from(status as u8),
            Ok(outcome @ Outcome::Killed { .. }) => {
                if let Outcome::Killed { signal, reason } = &outcome {
                    eprintln!("microvm: guest killed by {}: {reason}", signal.name());
                }
                ExitCode::from(outcome.exit_status() as u8)
            }
            Err(e) => fail(e),
        },
        Command::Info { json } => match microvm::info::probe() {
            Ok(info) if json => {
                println!("{}", serde_json::to_string(&info).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Ok(info) => {
                print!("{}", info.text());
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}

fn fail(e: microvm::Error) -> ExitCode {
    eprintln!("microvm: {e}");
    ExitCode::from(1)
}
