//! `rumpsp fuzz`: a black-box, structure-aware fuzzer of a live rump_sp
//! server, started by `--server-cmd` or reached at `--server URL`.
//!
//! Each input is a short sequence of protocol operations ([`input`]), run on
//! new connections ([`exec`]). After each input the server must still be
//! running (with `--server-cmd`), serve a new client (banner, handshake,
//! getpid) in time, and not have grown beyond a memory bound; while it runs,
//! every frame must answer a request exactly once. Inputs that show new
//! behaviour are kept and mutated further (the AFLNet idea, without coverage
//! from the remote process). A finding is minimised ([`minimise`]) and written
//! as a capture that `--reproduce` replays ([`report`]); one that does not
//! show again is dropped. Runs are seeded: the same `--seed` against the same
//! server makes the same first inputs; which inputs are kept depends on what
//! the server answered, and so (for calls that may block, and reads after raw
//! frames) on timing.

mod exec;
mod input;
pub(crate) mod judge;
mod minimise;
mod report;
mod rng;
mod server;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;

use exec::{health_check, run_input, Bounds, Finding, Kind, Observed};
use input::{Op, Seeds};
use report::{quote, Reported};
use rng::Rng;
use server::Server;

/// Arguments of `rumpsp fuzz`.
#[derive(Args, Debug, Clone)]
pub struct FuzzArgs {
    /// The server to fuzz, as a command with `{url}` where its listening URL
    /// goes (and optionally `{hostname}`); restarted after every crash.
    #[arg(long, conflicts_with = "server")]
    pub server_cmd: Option<String>,
    /// A running server's URL; it cannot be restarted, so the run ends when it stops serving.
    #[arg(long)]
    pub server: Option<String>,
    /// Seed of the run: the same seed against the same server makes the same inputs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub time: u64,
    /// Stop after this many inputs (per worker).
    #[arg(long)]
    pub runs: Option<u64>,
    /// Workers, each with its own server (needs --server-cmd).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Directory the findings are written to.
    #[arg(long, default_value = "fuzz-findings")]
    pub out: PathBuf,
    /// Also write a JSON report to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Growth of the server's resident memory (MiB, --server-cmd) that counts as a finding.
    #[arg(long, default_value_t = 512)]
    pub rss_growth_mib: u64,
    /// Milliseconds a call that cannot block may take before it counts as a hang.
    #[arg(long, default_value_t = 1500)]
    pub hang_ms: u64,
    /// Stop at the first finding (and report how long it took).
    #[arg(long)]
    pub stop_on_finding: bool,
    /// Replay these findings instead of fuzzing; exit 1 if any still shows its finding.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub reproduce: Vec<PathBuf>,
}

/// Inputs after which a spawned server is replaced by a fresh one (its
/// memory growth counts from its start).
const RENEW_EVERY: u64 = 2000;

/// What the workers share: the stop flag and the counts the progress line shows.
#[derive(Debug, Default)]
struct Shared {
    /// Set by the first finding: with --stop-on-finding every worker stops.
    stop: AtomicBool,
    /// Inputs run, by all workers.
    runs: AtomicU64,
    /// Findings reported, by all workers.
    findings: AtomicU64,
}

/// What one worker did.
#[derive(Debug, Default)]
struct WorkerReport {
    runs: u64,
    features: BTreeSet<u64>,
    findings: Vec<Reported>,
}

/// The fuzzing state of one worker and its server.
struct Worker<'a> {
    args: &'a FuzzArgs,
    server: Server,
    banner: Vec<u8>,
    bounds: Bounds,
    /// Set when the server stopped serving and could not be restarted.
    gone: Option<String>,
}

impl<'a> Worker<'a> {
    /// A worker with a server of its own (or the one at `--server`).
    fn start(args: &'a FuzzArgs) -> anyhow::Result<Worker<'a>> {
        let server = start_server(args)?;
        let banner = server.banner()?;
        Ok(Worker {
            args,
            server,
            banner,
            bounds: Bounds {
                answer: Duration::from_millis(args.hang_ms.max(100)),
                ..Bounds::default()
            },
            gone: None,
        })
    }

    /// Runs `ops`, then the oracles that look at the whole server.
    fn execute(&mut self, ops: &[Op]) -> Observed {
        let mut wire = self.server.wire();
        let mut obs = run_input(&mut wire, &self.banner, ops, self.bounds, false);
        drop(wire);
        let check = Duration::from_millis(self.args.hang_ms.max(100));
        if let Some(how) = self.server.exited(Duration::ZERO) {
            obs.finding = Some(Finding {
                kind: Kind::Crash,
                detail: how,
            });
            return obs;
        }
        if let Err(why) = health_check(&mut self.server.wire(), &self.banner, check) {
            obs.finding = Some(match self.server.exited(Duration::from_millis(500)) {
                Some(how) => Finding {
                    kind: Kind::Crash,
                    detail: how,
                },
                None => Finding {
                    kind: Kind::Unhealthy,
                    detail: why,
                },
            });
            return obs;
        }
        if let Some(kib) = self.server.rss_growth_kib() {
            if obs.finding.is_none() && kib > self.args.rss_growth_mib.saturating_mul(1024) {
                obs.finding = Some(Finding {
                    kind: Kind::Unhealthy,
                    detail: format!(
                        "the server's resident memory grew by {} MiB (bound {} MiB)",
                        kib / 1024,
                        self.args.rss_growth_mib
                    ),
                });
            }
        }
        obs
    }

    /// A server that serves again after a finding that may have broken it.
    /// A server that failed to restart ends the worker (`gone`), keeping what it found.
    fn recover(&mut self, kind: Kind) -> anyhow::Result<()> {
        if !matches!(kind, Kind::Crash | Kind::Unhealthy) {
            return Ok(());
        }
        self.renew(&format!("the server stopped serving ({})", kind.name()));
        Ok(())
    }

    /// A fresh server (and its banner) in place of this one, or `gone` with why not.
    fn renew(&mut self, why: &str) {
        if !self.server.restartable() {
            self.gone = Some(why.to_owned());
            return;
        }
        match self.server.restart().and_then(|()| self.server.banner()) {
            Ok(b) => self.banner = b,
            Err(e) => self.gone = Some(format!("{why}, and it could not be restarted: {e:#}")),
        }
    }

    /// The input cut down to what still shows a finding of `kind`.
    fn minimise(&mut self, ops: &[Op], kind: Kind) -> anyhow::Result<(Vec<Op>, Observed)> {
        let mut err = None;
        let small = minimise::minimise(ops, 48, |cand| {
            if err.is_some() || self.gone.is_some() {
                return false;
            }
            let obs = self.execute(cand);
            let k = obs.finding.as_ref().map(|f| f.kind);
            if let Some(k) = k {
                if let Err(e) = self.recover(k) {
                    err = Some(e);
                }
            }
            k == Some(kind)
        });
        if let Some(e) = err {
            return Err(e);
        }
        // One more run for the capture of the small input.
        let obs = self.execute(&small);
        if let Some(f) = &obs.finding {
            self.recover(f.kind)?;
        }
        Ok((small, obs))
    }
}

fn server_desc(a: &FuzzArgs) -> String {
    a.server_cmd
        .clone()
        .or_else(|| a.server.clone())
        .unwrap_or_default()
}

fn target_flag(a: &FuzzArgs) -> String {
    match (&a.server_cmd, &a.server) {
        (Some(cmd), _) => format!("--server-cmd {}", quote(cmd)),
        (None, Some(url)) => format!("--server {}", quote(url)),
        _ => String::new(),
    }
}

fn start_server(a: &FuzzArgs) -> anyhow::Result<Server> {
    match (&a.server_cmd, &a.server) {
        (Some(cmd), _) => Server::spawn(cmd),
        (None, Some(url)) => Server::at(url),
        (None, None) => {
            bail!("name the server to fuzz: --server-cmd 'CMD {{url}}' or --server URL")
        }
    }
}

/// A dedup key: one kind of finding (for crashes, with its signal) at the
/// same kind of last operation (a memory answer other than the right one, or
/// the syscall number, with unknown numbers lumped) is taken for one bug.
fn finding_key(f: &Finding, ops: &[Op]) -> String {
    let last = match ops.last() {
        Some(Op::Syscall { mem, .. }) if *mem != input::Mem::Right => format!("memory {mem:?}"),
        Some(Op::Syscall { sysnum, .. }) if rumpsp_protocol::netbsd::syscall(*sysnum).is_some() => {
            format!("syscall {sysnum}")
        }
        Some(Op::Syscall { sysnum, .. }) if *sysnum >= 0x8000_0000 => {
            "a syscall number >= 0x80000000".to_owned()
        }
        Some(Op::Syscall { .. }) => "an unknown syscall number".to_owned(),
        Some(o) => o.describe(),
        None => String::new(),
    };
    let how = if f.kind == Kind::Crash {
        f.detail.as_str()
    } else {
        ""
    };
    format!("{} {how} {last}", f.kind.name())
}

fn worker(
    a: &FuzzArgs,
    index: usize,
    seeds: &Seeds,
    deadline: Instant,
    shared: &Shared,
) -> anyhow::Result<WorkerReport> {
    let mut w = Worker::start(a)?;
    let mut rng = Rng::new(
        a.seed
            .wrapping_add((index as u64).wrapping_mul(0x1_0000_0001)),
    );
    let mut rep = WorkerReport::default();
    let mut corpus: Vec<Vec<Op>> = Vec::new();
    let mut keys = BTreeSet::new();
    let mut last_progress = Instant::now();
    let started = Instant::now();
    while Instant::now() < deadline
        && a.runs.is_none_or(|n| rep.runs < n)
        && w.gone.is_none()
        && !(a.stop_on_finding && (!rep.findings.is_empty() || shared.stop.load(Ordering::Relaxed)))
    {
        let ops = if corpus.is_empty() || rng.chance(1, 4) {
            input::generate(&mut rng, seeds)
        } else {
            let base = rng.pick(&corpus).clone();
            input::mutate(&mut rng, seeds, &base)
        };
        let Observed {
            features,
            finding,
            events,
            ..
        } = w.execute(&ops);
        rep.runs += 1;
        shared.runs.fetch_add(1, Ordering::Relaxed);
        let before = rep.features.len();
        rep.features.extend(features);
        if rep.features.len() > before && corpus.len() < 4096 {
            corpus.push(ops.clone());
        }
        if let Some(f) = finding {
            let found_after = (rep.runs, started.elapsed());
            w.recover(f.kind)?;
            let (small, small_obs) = w.minimise(&ops, f.kind)?;
            let (ops_kept, events_kept, finding) = match small_obs.finding {
                Some(g) if g.kind == f.kind => (small, small_obs.events, g),
                // Not shown again when cut down: the original input once more;
                // a finding that does not show again is not reported.
                _ => {
                    let again = w.execute(&ops);
                    if let Some(g) = &again.finding {
                        w.recover(g.kind)?;
                    }
                    match again.finding {
                        Some(g) if g.kind == f.kind => (ops.clone(), again.events, g),
                        _ => {
                            let _ = events;
                            eprintln!(
                                "fuzz: {} ({}) did not show again; not reported",
                                f.kind.name(),
                                f.detail
                            );
                            continue;
                        }
                    }
                }
            };
            let key = finding_key(&finding, &ops_kept);
            if keys.insert(key) {
                std::fs::create_dir_all(&a.out)
                    .with_context(|| format!("creating {}", a.out.display()))?;
                let file = a.out.join(format!(
                    "{}-{}-{}.jsonl",
                    finding.kind.name(),
                    index,
                    rep.findings.len() + 1
                ));
                let reproduce = format!(
                    "rumpsp fuzz {} --reproduce {}",
                    target_flag(a),
                    quote(&file.display().to_string())
                );
                report::write_capture(
                    &file,
                    &finding,
                    &ops_kept,
                    &events_kept,
                    &server_desc(a),
                    &reproduce,
                )?;
                eprintln!(
                    "fuzz: finding {} after {} runs, {:.1} s: {} ({} operations, from {}); replay: {reproduce}",
                    finding.kind.name(),
                    found_after.0,
                    found_after.1.as_secs_f64(),
                    finding.detail,
                    ops_kept.len(),
                    ops.len()
                );
                shared.stop.store(true, Ordering::Relaxed);
                shared.findings.fetch_add(1, Ordering::Relaxed);
                rep.findings.push(Reported {
                    seconds: found_after.1.as_secs_f64(),
                    finding,
                    ops: ops_kept,
                    original_len: ops.len(),
                    file,
                    reproduce,
                });
            }
        }
        // A fresh server now and then: memory growth is measured from its start.
        if rep.runs % RENEW_EVERY == 0 && w.server.restartable() {
            w.renew("the server could not be restarted");
        }
        if index == 0 && last_progress.elapsed() >= Duration::from_secs(5) {
            last_progress = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            let runs = shared.runs.load(Ordering::Relaxed);
            eprintln!(
                "fuzz: {secs:.0} s, {runs} runs ({:.1}/s), {} behaviours (worker 0), {} findings",
                runs as f64 / secs.max(0.001),
                rep.features.len(),
                shared.findings.load(Ordering::Relaxed)
            );
        }
    }
    if let Some(why) = w.gone {
        eprintln!("fuzz: worker {index} stopped: {why}");
    }
    Ok(rep)
}

/// Replays finding captures; 1 if any still shows its finding.
fn reproduce(a: &FuzzArgs) -> anyhow::Result<u8> {
    let mut still = 0;
    for file in &a.reproduce {
        let (kind, ops) = report::read_finding(file)?;
        let mut w = Worker::start(a)?;
        let obs = w.execute(&ops);
        match obs.finding {
            Some(f) if f.kind.name() == kind => {
                still += 1;
                println!(
                    "{}: reproduced: {}: {}",
                    file.display(),
                    f.kind.name(),
                    f.detail
                );
            }
            Some(f) => println!(
                "{}: shows another finding, {}: {} (recorded: {kind})",
                file.display(),
                f.kind.name(),
                f.detail
            ),
            None => println!("{}: not reproduced (recorded: {kind})", file.display()),
        }
    }
    Ok(u8::from(still > 0))
}

/// Runs `rumpsp fuzz`; exit status 0 when nothing was found, 1 with findings.
pub fn run(a: FuzzArgs) -> anyhow::Result<u8> {
    if a.server_cmd.is_some() && a.server.is_some() {
        bail!("--server and --server-cmd exclude each other");
    }
    if !a.reproduce.is_empty() {
        return reproduce(&a);
    }
    if a.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    if a.jobs > 1 && a.server_cmd.is_none() {
        bail!(
            "--jobs {} needs --server-cmd: each worker fuzzes its own server",
            a.jobs
        );
    }
    let seeds = Seeds::embedded();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(a.time);
    let shared = Shared::default();
    let reports: Vec<anyhow::Result<WorkerReport>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..a.jobs)
            .map(|i| {
                let (a, seeds, shared) = (&a, &seeds, &shared);
                s.spawn(move || worker(a, i, seeds, deadline, shared))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a fuzz worker panicked")))
            })
            .collect()
    });
    let mut runs = 0;
    let mut features = BTreeSet::new();
    let mut findings = Vec::new();
    let mut keys = BTreeSet::new();
    for r in reports {
        let r = r?;
        runs += r.runs;
        features.extend(r.features);
        for f in r.findings {
            if keys.insert(finding_key(&f.finding, &f.ops)) {
                findings.push(f);
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "fuzz: seed {}, {runs} runs in {secs:.1} s ({:.1}/s), {} behaviours, {} findings",
        a.seed,
        runs as f64 / secs.max(0.001),
        features.len(),
        findings.len()
    );
    for f in &findings {
        println!(
            "  {}: {} ({} operations, from {}): {}\n    replay: {}",
            f.finding.kind.name(),
            f.finding.detail,
            f.ops.len(),
            f.original_len,
            f.file.display(),
            f.reproduce
        );
    }
    if let Some(path) = &a.json {
        let v = serde_json::json!({
            "seed": a.seed,
            "server": server_desc(&a),
            "runs": runs,
            "seconds": secs,
            "behaviours": features.len(),
            "findings": findings.iter().map(|f| serde_json::json!({
                "kind": f.finding.kind.name(),
                "detail": f.finding.detail,
                "operations": f.ops.iter().map(Op::describe).collect::<Vec<_>>(),
                "original_operations": f.original_len,
                "seconds_to_find": f.seconds,
                "file": f.file.display().to_string(),
                "reproduce": f.reproduce,
            })).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(u8::from(!findings.is_empty()))
}
