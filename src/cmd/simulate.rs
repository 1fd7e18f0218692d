//! `rumpsp simulate`: the deterministic simulation of clients, network and
//! server, one seed or a range of seeds.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use rumpsp_simulation::{Faults, Options, Report, Sabotage, Simulation};

/// Arguments of `rumpsp simulate`.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The seed: it fixes the workloads, delays, faults and the kernel's randomness.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Client processes started at once (forks add short-lived ones).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    clients: u64,
    /// Operations per client (connecting counts as one).
    #[arg(long, default_value_t = 100)]
    steps: u64,
    /// Network faults: none (delays and reordering only), light, heavy.
    #[arg(long, default_value = "light", value_parser = ["none", "light", "heavy"])]
    faults: String,
    /// Run this many consecutive seeds, starting at --seed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// Write the event log of the (first) run to FILE ("-": standard output).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Run every seed twice and fail if the two event logs differ.
    #[arg(long)]
    check_determinism: bool,
    /// Print only failing seeds and the summary.
    #[arg(long, short)]
    quiet: bool,
    /// Break something on purpose, to see the checkers catch it: leak-process
    /// (a process nobody owns), drop-connection (the server drops a client
    /// without a fault).
    #[arg(long, hide = true, value_parser = ["leak-process", "drop-connection"])]
    sabotage: Option<String>,
}

/// One run, with the sabotage applied if asked for.
fn simulate(opts: &Options, sabotage: Option<Sabotage>) -> Report {
    let mut sim = Simulation::new(opts);
    if let Some(s) = sabotage {
        sim.sabotage(s);
    }
    sim.finish()
}

fn line(r: &Report, wall: f64) -> String {
    let s = &r.stats;
    format!(
        "{} requests ({} syscalls), {} lost to {} injected disconnects, {} stalls ({} past the \
         COPYIN timeout, {} calls timed out), {} connections, {:.1} s virtual, {:.3} s wall \
         ({:.0} syscalls/s), log {} lines digest {:016x}",
        s.calls,
        s.syscalls,
        s.lost,
        s.disconnects,
        s.stalls,
        s.long_stalls,
        s.timeouts,
        s.connections,
        s.virtual_us as f64 / 1e6,
        wall,
        s.syscalls as f64 / wall.max(1e-9),
        r.log_lines,
        r.digest
    )
}

/// Runs the simulations; exit code 0 when every seed passed, 1 otherwise.
pub fn run_cmd(a: SimulateArgs) -> anyhow::Result<u8> {
    let faults = Faults::by_name(&a.faults).context("unknown fault preset")?;
    let sabotage = a.sabotage.as_deref().and_then(Sabotage::by_name);
    let mut failed = Vec::new();
    let mut total_syscalls = 0u64;
    let started = Instant::now();
    for i in 0..a.seeds {
        let opts = Options {
            seed: a.seed.wrapping_add(i),
            clients: a.clients as usize,
            steps: a.steps,
            faults,
            keep_log: i == 0 && a.log.is_some(),
        };
        let t = Instant::now();
        let r = simulate(&opts, sabotage);
        let wall = t.elapsed().as_secs_f64();
        total_syscalls += r.stats.syscalls * if a.check_determinism { 2 } else { 1 };
        if let (0, Some(path)) = (i, &a.log) {
            if path.as_os_str() == "-" {
                std::io::stdout().write_all(r.log.as_bytes())?;
            } else {
                std::fs::write(path, &r.log)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        let mut problems = r.violations.clone();
        if a.check_determinism {
            let again = simulate(&opts, sabotage);
            if again.digest != r.digest || again.log_lines != r.log_lines {
                problems.push(format!(
                    "not deterministic: the second run's log has {} lines, digest {:016x}",
                    again.log_lines, again.digest
                ));
            }
        }
        if problems.is_empty() {
            if !a.quiet {
                eprintln!("seed {}: ok: {}", opts.seed, line(&r, wall));
            }
        } else {
            eprintln!("seed {}: FAILED: {}", opts.seed, line(&r, wall));
            for p in &problems {
                eprintln!("  {p}");
            }
            let extra = a
                .sabotage
                .as_deref()
                .map_or(String::new(), |s| format!(" --sabotage {s}"));
            eprintln!(
                "  reproduce with: {}{extra} (add --log FILE for its event log)",
                opts.repro_command()
            );
            failed.push(opts.seed);
        }
    }
    if a.seeds > 1 {
        let wall = started.elapsed().as_secs_f64();
        eprintln!(
            "{} of {} seeds passed{}; {total_syscalls} syscalls in {wall:.2} s ({:.0} syscalls/s)",
            a.seeds - failed.len() as u64,
            a.seeds,
            if a.check_determinism {
                ", each run twice with identical event logs"
            } else {
                ""
            },
            total_syscalls as f64 / wall.max(1e-9)
        );
        if !failed.is_empty() {
            eprintln!("failed seeds: {failed:?}");
        }
    }
    Ok(u8::from(!failed.is_empty()))
}
