//! `rumpsp`: the command-line front end of the toolkit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rumpsp_conformance::show::show_capture;
use rumpsp_conformance::Capture;
use rumpsp_protocol::Abi;

/// Tools for NetBSD's rump_sp remote-syscall protocol.
#[derive(Parser)]
#[command(name = "rumpsp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read recorded traffic.
    Trace {
        #[command(subcommand)]
        command: TraceCommand,
    },
    /// Print the simulated kernel's syscall coverage: number, name, implemented or not.
    Syscalls {
        /// Only the implemented ones.
        #[arg(long)]
        implemented: bool,
    },
}

#[derive(Subcommand)]
enum TraceCommand {
    /// Print a capture frame by frame, with syscall, errno and signal names.
    Show {
        /// Capture files (rumpsp-tap/1 JSON lines).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Syscalls { implemented } => {
            let rows = rumpsp_sim_kernel::sys::coverage();
            let done = rows.iter().filter(|r| r.2).count();
            println!("{:>4}  {:<22} implemented", "num", "name");
            for (n, name, imp) in rows.iter().filter(|r| r.2 || !implemented) {
                println!(
                    "{n:>4}  {name:<22} {}",
                    if *imp { "yes" } else { "no (ENOSYS)" }
                );
            }
            println!("{done} of {} named syscalls implemented; every other number below 512 answers ENOSYS", rows.len());
            Ok(())
        }
        Command::Trace {
            command: TraceCommand::Show { files },
        } => {
            for (i, f) in files.iter().enumerate() {
                let cap = Capture::load(f)?;
                if files.len() > 1 {
                    if i > 0 {
                        println!();
                    }
                    println!("## {}", f.display());
                }
                print!("{}", show_capture(&cap, Abi::Lp64Le));
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rumpsp: {e:#}");
            ExitCode::from(2)
        }
    }
}
