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
