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
    /// Run an unmodified Linux program as a rump kernel client: its calls on
    /// paths under --path (default /rump) go to the kernel (system-call hijacking).
    Run {
        #[command(flatten)]
        target: cmd::tools::Target,
        #[command(flatten)]
        args: cmd::run::RunArgs,
    },
    /// Replay recorded traces (JSON-lines captures) against a server and compare.
    Replay {
        #[command(flatten)]
        target: cmd::tools::Target,
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
    Conformance {
        #[command(flatten)]
        target: cmd::tools::Target,
        #[command(flatten)]
        args: cmd::conformance::ConformanceArgs,
    },
    /// Run the deterministic simulation: many clients, the server and a faulty
    /// network in one process, driven by one seed, with end-of-run checks.
    Simulate(cmd::simulate::SimulateArgs),
    /// Measure round-trip latency and concurrency against a plain-socket floor.
    Bench {
        #[command(flatten)]
        target: cmd::tools::Target,
        #[command(flatten)]
        args: cmd::bench::BenchArgs,
    },
    /// The plain-socket ping-pong floor server `rumpsp bench` starts (internal).
    #[command(hide = true)]
    BenchFloor {
        /// Where to listen.
        url: String,
    },
    /// Fuzz a live rump_sp server (--server-cmd 'CMD {url}' or --server URL):
    /// protocol operations built from the traces and mutated; a finding is a
    /// crash, a server that stops serving, a hang, or a protocol violation,
    /// minimised and written as a capture that --reproduce replays.
    /// Exit status 1 when something was found.
    Fuzz(cmd::fuzz::FuzzArgs),
    /// Write seed corpora for the fuzz targets from the conformance traces.
    FuzzSeeds {
        /// Where to write (one directory per target).
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus"))]
        out: PathBuf,
    },
    /// Print the simulated kernel's syscall coverage: number, name and support
    /// level (full, partial with what is missing, none).
    Syscalls {
        /// Only the implemented ones (full or partial).
        #[arg(long)]
        implemented: bool,
        /// One JSON object per line: number, name, level, missing.
        #[arg(long)]
        json: bool,
        /// The README's coverage tables (full and partial calls) in Markdown.
        #[arg(long, conflicts_with_all = ["implemented", "json"])]
        markdown: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = anyhow::Error::new(io).context("cannot listen on unix:///x: No such file");
        assert_eq!(error_text(&e), "cannot listen on unix:///x: No such file");
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = anyhow::Error::new(io).context("reading /x");
        assert_eq!(error_text(&e), "reading /x: No such file");
    }
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

/// The default of `conformance --corpus` and `--robustness`: the files built
/// into the binary (rumpsp_conformance::embedded), written to a private
/// temporary directory for the run.
pub(crate) const BUILT_IN: &str = "(built in)";

/// Replaces a [`BUILT_IN`] corpus or recordings path by a temporary directory
/// holding the embedded files; the directory lives as long as the guard.
fn built_in_dirs(
    args: &mut cmd::conformance::ConformanceArgs,
) -> anyhow::Result<Option<tempfile::TempDir>> {
    use rumpsp_conformance::embedded;
    let corpus = args.corpus.as_os_str() == BUILT_IN;
    let robustness = args.robustness.as_os_str() == BUILT_IN;
    let differential = args.differential.as_os_str() == BUILT_IN;
    let net = args.net.as_os_str() == BUILT_IN;
    if !corpus && !robustness && !differential && !net {
        return Ok(None);
    }
    let tmp = tempfile::tempdir()?;
    for (on, name, files, path) in [
        (corpus, "corpus", embedded::corpus(), &mut args.corpus),
        (
            robustness,
            "robustness",
            embedded::robustness(),
            &mut args.robustness,
        ),
        (
            differential,
            "differential",
            embedded::differential(),
            &mut args.differential,
        ),
        (net, "net", embedded::net(), &mut args.net),
    ] {
        if on {
            let dir = tmp.path().join(name);
            std::fs::create_dir(&dir)?;
            embedded::write_to(&files, &dir).map_err(|e| {
                anyhow::anyhow!("writing the built-in {name} to {}: {e}", dir.display())
            })?;
            *path = dir;
        }
    }
    Ok(Some(tmp))
}

/// `--server URL`, else `$RUMP_SERVER` when it is set and not empty, else
/// none (the command's own default: the simulated kernel).
fn server_or_env(target: cmd::tools::Target) -> Option<String> {
    target
        .server
        .or_else(|| std::env::var("RUMP_SERVER").ok().filter(|s| !s.is_empty()))
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Tool(t) => cmd::tools::run(t),
        Command::Serve(a) => cmd::serve::run(a).map(|_| 0),
        Command::Run { target, args } => cmd::run::run(args, server_or_env(target)),
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
        Command::Bench { target, args } => {
            cmd::bench::run(args, server_or_env(target).as_deref()).map(|_| 0)
        }
        Command::BenchFloor { url } => cmd::bench::run_floor(&url).map(|_| 0),
        Command::Fuzz(a) => cmd::fuzz::run(a),
        Command::FuzzSeeds { out } => {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let real = root.join("conformance/traces/real");
            let robust = root.join("conformance/traces/robustness");
            let net = root.join("conformance/traces/net");
            let n = cmd::seeds::run(&[&real, &robust, &net], &out)?;
            println!("wrote {n} seeds under {}", out.display());
            Ok(0)
        }
        Command::Replay { rules: true, .. } => {
            cmd::replay::print_rules();
            Ok(0)
        }
        Command::Replay {
            target,
            verbose,
            traces,
            ..
        } => {
            let scripts = cmd::replay::load(&traces)?;
            let server = server_or_env(target);
            match &server {
                Some(url) => println!("replaying {} traces against {url}", scripts.len()),
                None => println!(
                    "replaying {} traces against the simulated kernel (in-process, fresh per server run)",
                    scripts.len()
                ),
            }
            let results = cmd::replay::run_all(&scripts, server.as_deref())?;
            Ok(cmd::replay::report(&results, verbose))
        }
        Command::Conformance { target, mut args } => {
            let _built_in = built_in_dirs(&mut args)?;
            cmd::conformance::run(args, server_or_env(target).as_deref())
        }
        Command::Syscalls {
            implemented,
            json,
            markdown,
        } => {
            if markdown {
                print!("{}", cmd::syscalls::markdown());
            } else {
                print!("{}", cmd::syscalls::table(implemented, json));
            }
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

/// The exit status of a command whose output reader went away: 128 + SIGPIPE,
/// what a shell reports for a tool the signal ended.
const EXIT_BROKEN_PIPE: u8 = 141;

/// True when `e` (or one of its causes) is a write to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `println!` and `eprintln!` panic when the reader of stdout or stderr has
/// gone (`rumpsp syscalls | head`). A Unix tool ends quietly then: this hook
/// exits with [`EXIT_BROKEN_PIPE`] and prints nothing for those panics, and
/// leaves every other panic to the default hook. SIGPIPE itself stays ignored
/// (Rust's default), so a peer closing a socket is an error, not a kill.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            std::process::exit(i32::from(EXIT_BROKEN_PIPE));
        }
        default(info);
    }));
}

/// An error and its causes, each said once: a cause whose text the message
/// already holds (an error that prints its source) is not repeated.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if text.contains(&c) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&c);
    }
    text
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUMPSP_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(EXIT_BROKEN_PIPE),
        Err(e) => {
            eprintln!("rumpsp: {}", error_text(&e));
            ExitCode::from(2)
        }
    }
}
