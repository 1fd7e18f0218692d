//! `rumpsp`: the command-line front end of the toolkit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rumpsp_conformance::show::show_capture;
use rumpsp_conformance::Capture;
use rumpsp_protocol::Abi;

mod cmd;

/// Tools for NetBSD's rump_sp remote-syscall protocol.
#[derive(Parser)]
#[command(name = "rumpsp", version, about)]
struct Cli {
    #[command(flatten)]
    target: cmd::tools::Target,
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
    /// Tools run against a rump kernel (--server URL or $RUMP_SERVER).
    #[command(flatten)]
    Tool(cmd::tools::Tool),
    /// Serve the simulated kernel over rump_sp on a unix or TCP URL.
    Serve(cmd::serve::ServeArgs),
    /// Replay recorded traces (JSON-lines captures) against a server and compare.
    Replay {
        /// Also list the steps that passed only after normalisation, with the rules applied.
        #[arg(short, long)]
        verbose: bool,
        /// Print the normalisation rules (rule, field, why, comparison) and exit.
        #[arg(long)]
        rules: bool,
        /// Trace files.
        #[arg(required_unless_present = "rules")]
        traces: Vec<PathBuf>,
    },
    /// Record a client/server session through a transparent proxy into a capture.
    Record {
        /// Where clients connect (unix://… or tcp://…).
        #[arg(long)]
        listen: String,
        /// The server to forward to.
        #[arg(long)]
        upstream: String,
        /// The capture to write (rumpsp-tap/1 JSON lines).
        #[arg(short = 'o', long)]
        output: PathBuf,
        /// A name for the scenario (default: the output file's stem).
        #[arg(long)]
        scenario: Option<String>,
    },
    /// Run the conformance corpus and the robustness catalogue against a server
    /// (--server URL; default: the simulated server, in-process).
    Conformance(cmd::conformance::ConformanceArgs),
    /// Run the deterministic simulation: many clients, the server and a faulty
    /// network in one process, driven by one seed, with end-of-run checks.
    Simulate(cmd::simulate::SimulateArgs),
    /// Measure round-trip latency and concurrency against a plain-socket floor.
    Bench(cmd::bench::BenchArgs),
    /// The plain-socket ping-pong floor server `rumpsp bench` starts (internal).
    #[command(hide = true)]
    BenchFloor {
        /// Where to listen.
        url: String,
    },
    /// Write seed corpora for the fuzz targets from the conformance traces.
    FuzzSeeds {
        /// Where to write (one directory per target).
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus"))]
        out: PathBuf,
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
    /// Convert raw captures (rumpsp-tap/1 JSON lines) into text traces
    /// (rumpsp-trace/1: one record per frame, lossless; see conformance/TRACE-FORMAT.md).
    Import {
        /// Capture files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where to write NAME.trace for each input (default: beside the input).
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Write the text to standard output instead.
        #[arg(long, conflicts_with = "out_dir")]
        stdout: bool,
    },
    /// Print a capture frame by frame, with syscall, errno and signal names.
    Show {
        /// Capture files (rumpsp-tap/1 JSON lines).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Tool(t) => cmd::tools::run(cli.target, t),
        Command::Serve(a) => cmd::serve::run(a).map(|_| 0),
        Command::Record {
            listen,
            upstream,
            output,
            scenario,
        } => {
            let listen =
                rumpsp_protocol::url::parse_url(&listen, rumpsp_protocol::url::Role::Server)?;
            let upstream =
                rumpsp_protocol::url::parse_url(&upstream, rumpsp_protocol::url::Role::Client)?;
            let scenario = scenario.unwrap_or_else(|| {
                output
                    .file_stem()
                    .map_or_else(|| "session".into(), |s| s.to_string_lossy().into_owned())
            });
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                eprintln!(
                    "rumpsp: recording {listen} -> {upstream} into {} (Ctrl-C or SIGTERM to stop)",
                    output.display()
                );
                rumpsp_conformance::record::record(&listen, &upstream, &output, &scenario, async {
                    // Ctrl-C, or SIGTERM (a background job under a script ignores SIGINT)
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(mut term) => {
                            tokio::select! {
                                _ = tokio::signal::ctrl_c() => {}
                                _ = term.recv() => {}
                            }
                        }
                        Err(_) => {
                            let _ = tokio::signal::ctrl_c().await;
                        }
                    }
                })
                .await
            })?;
            Ok(0)
        }
        Command::Simulate(a) => cmd::simulate::run_cmd(a),
        Command::Bench(a) => cmd::bench::run(a, cli.target.server.as_deref()).map(|_| 0),
        Command::BenchFloor { url } => cmd::bench::run_floor(&url).map(|_| 0),
        Command::FuzzSeeds { out } => {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let real = root.join("conformance/traces/real");
            let robust = root.join("conformance/traces/robustness");
            let n = cmd::seeds::run(&[&real, &robust], &out)?;
            println!("wrote {n} seeds under {}", out.display());
            Ok(0)
        }
        Command::Replay { rules: true, .. } => {
            cmd::replay::print_rules();
            Ok(0)
        }
        Command::Replay {
            verbose, traces, ..
        } => {
            let scripts = cmd::replay::load(&traces)?;
            let results = cmd::replay::run_all(&scripts, cli.target.server.as_deref())?;
            Ok(cmd::replay::report(&results, verbose))
        }
        Command::Conformance(a) => cmd::conformance::run(a, cli.target.server.as_deref()),
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
            Ok(0)
        }
        Command::Trace {
            command:
                TraceCommand::Import {
                    files,
                    out_dir,
                    stdout,
                },
        } => {
            for f in &files {
                let cap = Capture::load(f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                let name = f.file_name().map_or_else(
                    || f.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let text = rumpsp_conformance::text::to_text(&cap, &name, Abi::Lp64Le);
                if stdout {
                    print!("{text}");
                    continue;
                }
                let out = out_dir
                    .as_deref()
                    .unwrap_or_else(|| f.parent().unwrap_or(std::path::Path::new(".")))
                    .join(f.with_extension("trace").file_name().unwrap_or_default());
                std::fs::write(&out, text)
                    .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
                println!("{} -> {}", f.display(), out.display());
            }
            Ok(0)
        }
        Command::Trace {
            command: TraceCommand::Show { files },
        } => {
            for (i, f) in files.iter().enumerate() {
                let cap = Capture::load(f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                if files.len() > 1 {
                    if i > 0 {
                        println!();
                    }
                    println!("## {}", f.display());
                }
                print!("{}", show_capture(&cap, Abi::Lp64Le));
            }
            Ok(0)
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUMPSP_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("rumpsp: {e:#}");
            ExitCode::from(2)
        }
    }
}
