//! `rumpsp conformance`: the recorded suites and the robustness catalogue
//! against one server (by default the simulated kernel, in-process), with a
//! terminal summary, `--json`, `--junit FILE`, selection and per-case timeouts.
//!
//! Suites, reported apart: `real` (recordings of real NetBSD clients and a real
//! NetBSD 7.99.34 rump kernel), `regression` (recordings of rumpsp's own
//! client and server, the corpus's `own_*` traces), `catalog` (the robustness
//! catalogue), `differential` (200 random programs recorded against the real
//! kernel, each on a fresh server) and `net` (the real kernel with network
//! components: each capture on a fresh server with the components its
//! recorded server loaded). `corpus` selects `real` and `regression` together.
//!
//! Exit codes: 0 everything selected passed, 1 at least one failure, 2 the
//! harness itself could not run (bad URL, unreachable server, unreadable corpus).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use rumpsp_conformance::catalog::{self, Case};
use rumpsp_conformance::mutate::{MutWire, Mutation, MutationCounter};
use rumpsp_conformance::replay::{replay_with, ReplayOptions, ScriptResult, Verdict};
use rumpsp_conformance::script::Script;
use rumpsp_conformance::socket::SocketWire;
use rumpsp_conformance::watch::BannerWatch;
use rumpsp_conformance::wire::{InProcess, Wire};
use rumpsp_conformance::Capture;
use rumpsp_protocol::url::{parse_url, Role, ServerAddr};
use rumpsp_sim_kernel::{Components, SimConfig, SimKernel};

use super::spawned::{stop_leftover_servers, Spawned, SERVERS_SERVED};

/// Arguments of `rumpsp conformance`.
#[derive(Args, Debug)]
pub struct ConformanceArgs {
    /// What to run: case ids (`frame/3`), areas (`frame`), recording or trace
    /// names, `trace/NAME`, or a whole suite (`real`, `regression`, `catalog`,
    /// `differential`, `net`; `corpus` = real + regression). Default: every suite.
    pub select: Vec<String>,
    /// Leave these out (same forms as the selection).
    #[arg(long, value_name = "CASE")]
    pub exclude: Vec<String>,
    /// List the selected cases and traces, run nothing.
    #[arg(long)]
    pub list: bool,
    /// Add the hardening we recommend beyond the reference server.
    #[arg(long)]
    pub strict: bool,
    /// Print the results as JSON on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Also write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Seconds each case (or each trace) may take before it counts as failed.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// Also list the steps that passed only after normalisation.
    #[arg(short, long)]
    pub verbose: bool,
    /// Start a fresh server for every recorded server run and every catalogue
    /// case with this shell command; `{url}` becomes a unix socket URL in a
    /// private directory (e.g. `rump_server -lrumpvfs -lrumpfs_tmpfs {url}` or
    /// `rumpsp serve {url} --hostname {hostname}`; `{hostname}` is the
    /// recording's host name, which sysctl answers depend on; `{components}`
    /// the kernel components the recording's server loaded, for
    /// `rumpsp serve --components {components}`: a trace that needs other
    /// components than the default is skipped when the command lacks it).
    /// Without it, `--server URL` serves everything.
    #[arg(long, value_name = "CMD")]
    pub server_cmd: Option<String>,
    /// The corpus: text traces (`*.trace`) and raw captures (`*.jsonl`) (default: the copy built into the binary).
    #[arg(long, default_value = crate::BUILT_IN)]
    pub corpus: PathBuf,
    /// The robustness recordings the catalogue replays (default: the copy built into the binary).
    #[arg(long, default_value = crate::BUILT_IN)]
    pub robustness: PathBuf,
    /// The differential captures (suite `differential`), one fresh server each.
    #[arg(long, default_value = crate::BUILT_IN)]
    pub differential: PathBuf,
    /// The network captures (suite `net`), one fresh server each, booted with
    /// the components the recording's server command names.
    #[arg(long, default_value = crate::BUILT_IN)]
    pub net: PathBuf,
    /// With `--server URL`: also run the traces that reboot the server (it stops).
    #[arg(long)]
    pub allow_reboot: bool,
    /// Put this server bug (or control) of the mutation suite between the judge
    /// and the server (`--mutants` lists them).
    #[arg(long, value_name = "NAME", hide = true)]
    pub mutant: Option<String>,
    /// Also run every finding of `rumpsp fuzz` in this directory (`*.jsonl`)
    /// as a catalogue case `finding/NAME`: it passes when the server survives
    /// it, serves a new client and answers every request exactly once.
    #[arg(long, value_name = "DIR")]
    pub catalog_extra: Option<PathBuf>,
    /// Run the mutation suite over the selection: every mutant must be killed
    /// and every control must pass; prints the kill table (exit 1 otherwise).
    #[arg(long)]
    pub mutants: bool,
}

/// One reported result.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) suite: &'static str,
    pub(crate) id: String,
    title: String,
    verdict: &'static str,
    pub(crate) pass: bool,
    expected: String,
    actual: String,
    details: Vec<String>,
    elapsed: Duration,
    /// How often the mutation (if any) changed what the server sent here.
    pub(crate) injected: usize,
}

/// One recorded server run: its scripts in order with whether each is reported.
pub(crate) struct Group {
    /// `differential`, `net`, or the corpus (each trace then reports under [`suite_of`] its name).
    suite: &'static str,
    /// The kernel components the recorded server had (`None`: the default ones).
    components: Option<Components>,
    scripts: Vec<(Script, bool)>,
}

/// What runs: trace groups (one server run each) and catalogue cases.
pub(crate) struct Plan {
    groups: Vec<Group>,
    cases: Vec<&'static Case>,
}

/// The suite a corpus trace belongs to: the corpus's recordings of rumpsp
/// itself are named `own_*` (ci/record-corpus.sh); all others are real NetBSD.
fn suite_of(name: &str) -> &'static str {
    if name.starts_with("own_") {
        "regression"
    } else {
        "real"
    }
}

fn matches(keys: &[String], suite: &str, id: &str, name: &str) -> bool {
    keys.iter().any(|k| {
        k == suite
            || (k == "corpus" && (suite == "real" || suite == "regression"))
            || k == id
            || k == name
            || (!ONE_SERVER_EACH.contains(&suite)
                && id.split('/').next() == Some(k.trim_end_matches('/')))
    })
}

pub(crate) fn plan(a: &ConformanceArgs) -> anyhow::Result<Plan> {
    let pick = |suite: &str, id: &str, name: &str| {
        let chosen = if a.select.is_empty() {
            !SELECTED_ONLY.contains(&suite)
        } else {
            matches(&a.select, suite, id, name)
        };
        chosen && !matches(&a.exclude, suite, id, name)
    };
    let files = super::replay::corpus(&a.corpus)?;
    // A selected trace brings the traces recorded before it on the same
    // server (they built the state it expects); those run but are not reported.
    let mut groups: Vec<Group> = Vec::new();
    for s in super::replay::load(&files)? {
        let suite = suite_of(&s.name);
        let chosen = pick(suite, &format!("trace/{}", s.name), &s.name);
        match groups.last_mut() {
            Some(g) if g.scripts[0].0.server_run == s.server_run => g.scripts.push((s, chosen)),
            _ => groups.push(Group {
                suite,
                components: super::replay::recorded_components(&s),
                scripts: vec![(s, chosen)],
            }),
        }
    }
    // Each differential and network capture ran on its own fresh server.
    for (suite, dir) in [("differential", &a.differential), ("net", &a.net)] {
        if !dir.is_dir() {
            continue;
        }
        for f in super::replay::corpus(dir)? {
            for s in super::replay::load(std::slice::from_ref(&f))? {
                let chosen = pick(suite, &format!("trace/{}", s.name), &s.name);
                groups.push(Group {
                    suite,
                    components: super::replay::recorded_components(&s),
                    scripts: vec![(s, chosen)],
                });
            }
        }
    }
    for g in &mut groups {
        let keep = g.scripts.iter().rposition(|(_, c)| *c).map_or(0, |i| i + 1);
        g.scripts.truncate(keep);
    }
    groups.retain(|g| !g.scripts.is_empty());
    let cases: Vec<&'static Case> = catalog::CASES
        .iter()
        .filter(|c| pick("catalog", c.id, c.name))
        .collect();
    for c in &cases {
        let p = a.robustness.join(format!("{}.jsonl", c.name));
        if !p.is_file() {
            bail!("the recording of {} is missing: {}", c.id, p.display());
        }
    }
    if groups.is_empty() && cases.is_empty() {
        bail!("nothing selected (see --list)");
    }
    Ok(Plan { groups, cases })
}

/// Suites that run only when selected by name (`rumpsp conformance net`),
/// not by default: the network captures, while the simulated kernel's
/// network stack does not pass them all.
const SELECTED_ONLY: &[&str] = &["net"];

/// The suites whose captures each ran on a fresh server of their own.
const ONE_SERVER_EACH: [&str; 2] = ["differential", "net"];

fn sim_wire(
    hostname: Option<String>,
    components: Option<Components>,
) -> anyhow::Result<InProcess<SimKernel>> {
    let mut config = SimConfig::default();
    if let Some(h) = hostname {
        config.hostname = h;
    }
    if let Some(c) = components {
        config.components = c;
    }
    Ok(InProcess::with_kernel(SimKernel::new(config))?)
}

/// Where the cases run.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// The simulated kernel, in-process, fresh per server run and per case.
    InProcess,
    /// One server at this address for everything.
    Shared(ServerAddr),
    /// A fresh server per server run and per case, started by this command.
    Spawn(String),
}

/// A mutation to inject, and the counter of its injections.
pub(crate) type Inject = Option<(Mutation, MutationCounter)>;

/// What a fresh server for one job boots with: the recording's host name and
/// kernel components (`None`: the defaults).
#[derive(Debug, Clone, Default)]
pub(crate) struct Boot {
    hostname: Option<String>,
    components: Option<Components>,
}

/// Opens the wire a job runs on (and the server it owns, if any), through the mutation if one is given.
fn open_wire(
    target: &Target,
    boot: Boot,
    inject: &Inject,
) -> anyhow::Result<(Box<dyn Wire>, Option<Spawned>)> {
    let (wire, server) = open_plain_wire(target, boot)?;
    Ok(match inject {
        Some((m, n)) => (Box::new(MutWire::new(wire, *m, n.clone())), server),
        None => (wire, server),
    })
}

fn open_plain_wire(
    target: &Target,
    boot: Boot,
) -> anyhow::Result<(Box<dyn Wire>, Option<Spawned>)> {
    Ok(match target {
        Target::InProcess => (Box::new(sim_wire(boot.hostname, boot.components)?), None),
        Target::Shared(addr) => (Box::new(SocketWire::new(addr.clone())), None),
        Target::Spawn(cmd) => {
            let name = boot
                .hostname
                .unwrap_or_else(|| SimConfig::default().hostname);
            let components = boot.components.unwrap_or_default().to_string();
            let sp = Spawned::start(&cmd.replace("{components}", &components), &name)?;
            (Box::new(SocketWire::new(sp.addr.clone())), Some(sp))
        }
    })
}

/// Why a group cannot run on this target: it needs kernel components other
/// than the default and the `--server-cmd` cannot be told them.
fn cannot_boot(g: &Group, target: &Target) -> Option<String> {
    let needs = g.components.filter(|c| *c != Components::default())?;
    match target {
        Target::Spawn(cmd) if !cmd.contains("{components}") => Some(format!(
            "needs the kernel components {needs}; --server-cmd has no {{components}}"
        )),
        _ => None,
    }
}

/// Runs `job` on its own thread. `Ok(None)` if it did not finish within
/// `limit` (the thread is abandoned: socket reads time out on their own);
/// `Err` with the panic's message if the job panicked (an internal error,
/// not a timeout).
fn with_timeout<T: Send + 'static>(
    limit: Duration,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<Option<T>, String> {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(job());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => Ok(Some(v)),
        Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(match handle.join() {
            Err(p) => p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panic".into()),
            Ok(()) => "the job ended without a result".into(),
        }),
    }
}

fn trace_outcome(
    suite: &'static str,
    r: &ScriptResult,
    elapsed: Duration,
    verbose: bool,
    injected: usize,
) -> Outcome {
    let v = r.verdict();
    let mut details = Vec::new();
    let mut first_fail = None;
    for s in &r.steps {
        let shown = s.verdict >= Verdict::Fail || (verbose && s.verdict == Verdict::PassNormalised);
        if !shown {
            continue;
        }
        details.push(format!(
            "step {} (conn {}): {}: {}",
            s.index,
            s.conn,
            s.verdict.name(),
            s.request
        ));
        if !s.rules.is_empty() {
            details.push(format!("  rules: {}", s.rules.join(", ")));
        }
        if s.verdict >= Verdict::Fail {
            details.push(format!(
                "  expected: {}",
                s.expected.replace('\n', "\n    ")
            ));
            details.push(format!("  actual:   {}", s.actual.replace('\n', "\n    ")));
            first_fail.get_or_insert((s.expected.clone(), s.actual.clone()));
        }
    }
    let count = |x: Verdict| r.steps.iter().filter(|s| s.verdict == x).count();
    let (expected, actual) = first_fail.unwrap_or_default();
    Outcome {
        suite,
        id: format!("trace/{}", r.name),
        title: format!(
            "{} steps: {} pass, {} pass after normalisation, {} fail, {} error",
            r.steps.len(),
            count(Verdict::Pass),
            count(Verdict::PassNormalised),
            count(Verdict::Fail),
            count(Verdict::Error)
        ),
        verdict: v.name(),
        pass: v < Verdict::Fail,
        expected,
        actual,
        details,
        elapsed,
        injected,
    }
}

/// A banner that differs from the recording's: (recorded, received).
type BannerDiff = Option<(Vec<u8>, Vec<u8>)>;

/// Marks a trace failed because the server announced another banner than the recording's.
fn banner_failure(o: &mut Outcome, want: &[u8], got: &[u8]) {
    let show = |b: &[u8]| String::from_utf8_lossy(b).trim_end().to_owned();
    o.verdict = "fail";
    o.pass = false;
    o.expected = format!("banner {:?}", show(want));
    o.actual = format!("banner {:?}", show(got));
    o.details.insert(
        0,
        format!("banner: expected {:?}, got {:?}", show(want), show(got)),
    );
}

/// A failed verdict for an item the harness could not finish: `why` says what happened.
fn errored(
    suite: &'static str,
    id: String,
    title: String,
    expected: String,
    why: String,
) -> Outcome {
    Outcome {
        suite,
        id,
        title,
        verdict: "error",
        pass: false,
        expected,
        actual: why.clone(),
        details: vec![why],
        elapsed: Duration::ZERO,
        injected: 0,
    }
}

fn timed_out(suite: &'static str, id: String, title: String, limit: Duration) -> Outcome {
    Outcome {
        elapsed: limit,
        ..errored(
            suite,
            id,
            title,
            format!("done within {} s", limit.as_secs()),
            format!("timed out after {} s", limit.as_secs()),
        )
    }
}

/// A trace not run, with the reason (reported, counted apart, not a failure).
fn skipped(suite: &'static str, name: &str, why: &str) -> Outcome {
    Outcome {
        suite,
        id: format!("trace/{name}"),
        title: format!("skipped: {why}"),
        verdict: "skip",
        pass: true,
        expected: String::new(),
        actual: String::new(),
        details: vec![],
        elapsed: Duration::ZERO,
        injected: 0,
    }
}

fn script_suite(g: &Group, s: &Script) -> &'static str {
    if ONE_SERVER_EACH.contains(&g.suite) {
        g.suite
    } else {
        suite_of(&s.name)
    }
}

fn run_group(
    g: &Group,
    target: &Target,
    limit: Duration,
    verbose: bool,
    inject: &Inject,
) -> Vec<Outcome> {
    let group_owned: Vec<Script> = g.scripts.iter().map(|(s, _)| s.clone()).collect();
    let reported: Vec<bool> = g.scripts.iter().map(|(_, r)| *r).collect();
    let shown: Vec<&Script> = g
        .scripts
        .iter()
        .filter(|(_, r)| *r)
        .map(|(s, _)| s)
        .collect();
    if let Some(why) = cannot_boot(g, target) {
        return shown
            .iter()
            .map(|s| skipped(script_suite(g, s), &s.name, &why))
            .collect();
    }
    let components = g.components;
    // A fresh server per run, given the run's recordings in order.
    let same_history = !matches!(target, Target::Shared(_));
    let target = target.clone();
    let inject_job = inject.clone();
    let job = move || -> anyhow::Result<Vec<(ScriptResult, Duration, usize, BannerDiff)>> {
        let mut out = Vec::new();
        let boot = Boot {
            hostname: group_owned.iter().find_map(|s| s.recorded_hostname()),
            components,
        };
        let (mut wire, _server) = open_wire(&target, boot, &inject_job)?;
        let injected = || {
            inject_job
                .as_ref()
                .map_or(0, |(_, n)| n.load(Ordering::Relaxed))
        };
        for s in &group_owned {
            let t = Instant::now();
            let before = injected();
            let mut watch = BannerWatch::new(wire.as_mut());
            let r = replay_with(s, &mut watch, ReplayOptions { same_history });
            let banner = s.banner.as_deref().and_then(|want| {
                watch
                    .mismatch(want)
                    .map(|got| (want.to_vec(), got.to_vec()))
            });
            out.push((r, t.elapsed(), injected() - before, banner));
        }
        Ok(out)
    };
    let total = limit * u32::try_from(shown.len()).unwrap_or(u32::MAX);
    let each = |why: &dyn Fn(&Script) -> Outcome| shown.iter().map(|s| why(s)).collect();
    match with_timeout(total, job) {
        Ok(Some(Ok(rs))) => rs
            .iter()
            .zip(g.scripts.iter().zip(reported))
            .filter(|(_, (_, r))| *r)
            .map(|((r, e, n, b), ((s, _), _))| {
                let mut o = trace_outcome(script_suite(g, s), r, *e, verbose, *n);
                if let Some((want, got)) = b {
                    banner_failure(&mut o, want, got);
                }
                o
            })
            .collect(),
        Ok(Some(Err(e))) => each(&|s| {
            errored(
                script_suite(g, s),
                format!("trace/{}", s.name),
                String::new(),
                String::new(),
                format!("harness: {e:#}"),
            )
        }),
        Err(panic) => each(&|s| {
            errored(
                script_suite(g, s),
                format!("trace/{}", s.name),
                String::new(),
                String::new(),
                format!("internal error: {panic}"),
            )
        }),
        Ok(None) => each(&|s| {
            timed_out(
                script_suite(g, s),
                format!("trace/{}", s.name),
                String::new(),
                total,
            )
        }),
    }
}

fn run_catalog_case(
    case: &'static Case,
    dir: &Path,
    target: &Target,
    strict: bool,
    limit: Duration,
    inject: &Inject,
) -> anyhow::Result<Outcome> {
    let path = dir.join(format!("{}.jsonl", case.name));
    let cap = Capture::load(&path).with_context(|| format!("reading {}", path.display()))?;
    let target = target.clone();
    let inject = inject.clone();
    let job = move || -> anyhow::Result<(catalog::CaseResult, usize)> {
        let (mut wire, _server) = open_wire(&target, Boot::default(), &inject)?;
        let r = catalog::run_case(case, &cap, wire.as_mut(), strict);
        Ok((
            r,
            inject
                .as_ref()
                .map_or(0, |(_, n)| n.load(Ordering::Relaxed)),
        ))
    };
    let title = format!("{} ({})", case.title, case.requirement);
    Ok(match with_timeout(limit, job) {
        Ok(Some(Ok((r, injected)))) => Outcome {
            suite: "catalog",
            id: case.id.to_owned(),
            title,
            verdict: if r.pass { "pass" } else { "fail" },
            pass: r.pass,
            details: if r.pass {
                vec![]
            } else {
                vec![
                    format!("  expected: {}", r.expected),
                    format!("  actual:   {}", r.actual),
                ]
            },
            expected: r.expected,
            actual: r.actual,
            elapsed: r.elapsed,
            injected,
        },
        Ok(Some(Err(e))) => errored(
            "catalog",
            case.id.to_owned(),
            title,
            String::new(),
            format!("harness: {e:#}"),
        ),
        Err(panic) => errored(
            "catalog",
            case.id.to_owned(),
            title,
            String::new(),
            format!("internal error: {panic}"),
        ),
        Ok(None) => timed_out("catalog", case.id.to_owned(), title, limit),
    })
}

/// The findings of `rumpsp fuzz` in `dir`, each on a fresh server (`--catalog-extra`).
fn extra_cases(dir: &Path, target: &Target, limit: Duration) -> anyhow::Result<Vec<Outcome>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = format!("finding/{name}");
        let title = format!(
            "the finding {} (no crash, served, one answer per request)",
            path.display()
        );
        let target = target.clone();
        let job_path = path.clone();
        let job = move || -> anyhow::Result<(Result<(), String>, Duration)> {
            let t = Instant::now();
            let (mut wire, mut server) = open_plain_wire(&target, Boot::default())?;
            let synchronous = matches!(target, Target::InProcess);
            let mut exited = || {
                server
                    .as_mut()
                    .and_then(|s| s.child.try_wait().ok().flatten())
                    .map(|st| format!("the server ended: {st}"))
            };
            let r = super::fuzz::judge::judge(&job_path, wire.as_mut(), synchronous, &mut exited)?;
            Ok((r, t.elapsed()))
        };
        out.push(match with_timeout(limit, job) {
            Ok(Some(Ok((r, elapsed)))) => Outcome {
                suite: "catalog",
                id,
                title,
                verdict: if r.is_ok() { "pass" } else { "fail" },
                pass: r.is_ok(),
                details: match &r {
                    Ok(()) => vec![],
                    Err(why) => vec![format!("  actual:   {why}")],
                },
                expected: "no finding".to_owned(),
                actual: r.err().unwrap_or_else(|| "no finding".to_owned()),
                elapsed,
                injected: 0,
            },
            Ok(Some(Err(e))) => errored(
                "catalog",
                id,
                title,
                String::new(),
                format!("harness: {e:#}"),
            ),
            Err(panic) => errored(
                "catalog",
                id,
                title,
                String::new(),
                format!("internal error: {panic}"),
            ),
            Ok(None) => timed_out("catalog", id, title, limit),
        });
    }
    Ok(out)
}

/// Where the run goes, from `--server` / `--server-cmd`.
pub(crate) fn resolve_target(a: &ConformanceArgs, server: Option<&str>) -> anyhow::Result<Target> {
    Ok(match (server, &a.server_cmd) {
        (Some(_), Some(_)) => bail!("--server and --server-cmd exclude each other"),
        (None, Some(cmd)) => Target::Spawn(cmd.clone()),
        (None, None) => Target::InProcess,
        (Some(url), None) => {
            let addr = parse_url(url, Role::Client)
                .with_context(|| format!("invalid server URL {url:?}"))?;
            // Unreachable is a harness error; reachable but answering wrongly is
            // the server's failure, reported per case.
            let mut probe = SocketWire::new(addr.clone());
            match probe.connect() {
                Ok((c, _)) => probe.close(c),
                Err(e) => bail!("the server at {url} does not serve a client: {e}"),
            }
            Target::Shared(addr)
        }
    })
}

/// What the report says the run talked to.
pub(crate) fn describe(
    target: &Target,
    server: Option<&str>,
    mutation: Option<Mutation>,
) -> String {
    let base = match (target, server) {
        (Target::InProcess, _) => "the simulated server (in-process)".to_owned(),
        (Target::Spawn(cmd), _) => format!("fresh servers from {cmd:?}"),
        (Target::Shared(_), url) => url.unwrap_or_default().to_owned(),
    };
    match mutation {
        Some(m) => format!("{base}, through mutation {}", m.name()),
        None => base,
    }
}

/// On one shared server: the part of a group that can run, and the
/// reported traces left out with the reason.
fn shared_part(g: &Group, allow_reboot: bool) -> (Group, Vec<Outcome>) {
    let mut run = Vec::new();
    let mut skips = Vec::new();
    let mut blocked: Option<String> = None;
    for (s, reported) in &g.scripts {
        let why = if let Some(c) = g.components.filter(|c| *c != Components::default()) {
            Some(format!(
                "it needs a fresh server with the kernel components {c} (--server-cmd with {{components}} runs it)"
            ))
        } else if s.halts_server() {
            if allow_reboot {
                needs_fresh_server(s)
            } else {
                Some("it reboots the server (--allow-reboot runs it)".to_owned())
            }
        } else if let Some(b) = &blocked {
            Some(format!(
                "it follows trace/{b} in its recorded server run, which needs a fresh server"
            ))
        } else {
            let why = needs_fresh_server(s);
            if why.is_some() {
                blocked = Some(s.name.clone());
            }
            why
        };
        match why {
            Some(why) if *reported => skips.push(skipped(script_suite(g, s), &s.name, &why)),
            Some(_) => {}
            None => run.push((s.clone(), *reported)),
        }
    }
    let keep = run.iter().rposition(|(_, r)| *r).map_or(0, |i| i + 1);
    run.truncate(keep);
    (
        Group {
            suite: g.suite,
            components: g.components,
            scripts: run,
        },
        skips,
    )
}

/// Runs the plan; one outcome per reported trace and per case, in report order.
pub(crate) fn execute(
    plan: &Plan,
    target: &Target,
    a: &ConformanceArgs,
    mutation: Option<Mutation>,
    progress: bool,
) -> Vec<Outcome> {
    let limit = Duration::from_secs(a.timeout.max(1));
    let total = plan
        .groups
        .iter()
        .flat_map(|g| &g.scripts)
        .filter(|(_, r)| *r)
        .count()
        + plan.cases.len();
    let bar = if progress {
        indicatif::ProgressBar::new(total as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let inject = |m: Option<Mutation>| -> Inject { m.map(|m| (m, MutationCounter::default())) };
    // Traces that reboot the server run last: against a URL they stop it.
    let (halting, plain): (Vec<&Group>, Vec<&Group>) = plan
        .groups
        .iter()
        .partition(|g| g.scripts.iter().any(|(s, _)| s.halts_server()));
    let shared = matches!(target, Target::Shared(_));
    let mut outcomes = Vec::new();
    let traces = |groups: &[&Group], outcomes: &mut Vec<Outcome>| {
        for g in groups {
            bar.set_message(format!("trace/{}", g.scripts[0].0.name));
            let (part, mut got) = if shared {
                shared_part(g, a.allow_reboot)
            } else {
                (
                    Group {
                        suite: g.suite,
                        components: g.components,
                        scripts: g.scripts.clone(),
                    },
                    Vec::new(),
                )
            };
            if !part.scripts.is_empty() {
                got.extend(run_group(
                    &part,
                    target,
                    limit,
                    a.verbose,
                    &inject(mutation),
                ));
            }
            bar.inc(got.len() as u64);
            outcomes.extend(got);
        }
    };
    traces(&plain, &mut outcomes);
    for c in &plan.cases {
        bar.set_message(c.id);
        let o = run_catalog_case(c, &a.robustness, target, a.strict, limit, &inject(mutation))
            .unwrap_or_else(|e| {
                errored(
                    "catalog",
                    c.id.to_owned(),
                    c.title.to_owned(),
                    String::new(),
                    format!("{e:#}"),
                )
            });
        outcomes.push(o);
        bar.inc(1);
    }
    if let Some(dir) = &a.catalog_extra {
        match extra_cases(dir, target, limit) {
            Ok(got) => outcomes.extend(got),
            Err(e) => outcomes.push(errored(
                "catalog",
                "finding/*".to_owned(),
                format!("the findings in {}", dir.display()),
                String::new(),
                format!("{e:#}"),
            )),
        }
    }
    traces(&halting, &mut outcomes);
    bar.finish_and_clear();
    outcomes
}

/// Runs the command; returns the exit code.
pub fn run(a: ConformanceArgs, server: Option<&str>) -> anyhow::Result<u8> {
    let plan = plan(&a)?;
    if a.list {
        for g in &plan.groups {
            for (s, _) in g.scripts.iter().filter(|(_, r)| *r) {
                println!(
                    "trace/{:<30} {:<12} server run {}",
                    s.name,
                    script_suite(g, s),
                    s.server_run
                );
            }
        }
        for c in &plan.cases {
            println!("{:<36} catalog      {}: {}", c.id, c.title, c.requirement);
        }
        return Ok(0);
    }
    let target = resolve_target(&a, server)?;
    if a.mutants {
        let rc = super::mutants::run(&plan, &target, &a, &describe(&target, server, None));
        stop_leftover_servers();
        return rc;
    }
    let mutation = match &a.mutant {
        Some(name) => Some(Mutation::by_name(name).with_context(|| {
            format!("unknown mutation {name:?} (rumpsp conformance --mutants lists them)")
        })?),
        None => None,
    };
    let outcomes = execute(&plan, &target, &a, mutation, !a.json);
    stop_leftover_servers();
    let against = describe(&target, server, mutation);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json_report(&outcomes, &against, a.strict))?
        );
    } else {
        print_summary(&outcomes, &against, a.strict);
        if matches!(target, Target::Shared(_)) && plan.groups.len() > 1 {
            println!(
                "note: the recorded server runs shared one server here; a trace can see what an \
                 earlier one left (files, mounts, device numbers). --server-cmd gives each run a fresh server."
            );
        }
    }
    if let Some(path) = &a.junit {
        write_junit(&outcomes, path)?;
    }
    Ok(exit_status(&target, &outcomes))
}

/// 0 when everything passed, 1 on failures, 2 when a `--server-cmd` never
/// gave a server that accepted a connection (every case is then a harness
/// error, not a verdict on a server).
fn exit_status(target: &Target, outcomes: &[Outcome]) -> u8 {
    let failed = outcomes.iter().any(|o| !o.pass);
    match target {
        Target::Spawn(cmd) if failed && SERVERS_SERVED.load(Ordering::Relaxed) == 0 => {
            eprintln!(
                "rumpsp: conformance: the server command {cmd:?} never accepted a connection; \
                 nothing was judged"
            );
            2
        }
        _ => u8::from(failed),
    }
}

/// The suites, in report order.
pub(crate) const SUITES: [&str; 5] = ["real", "regression", "differential", "net", "catalog"];

fn print_summary(outcomes: &[Outcome], target: &str, strict: bool) {
    println!(
        "rumpsp conformance against {target}{}",
        if strict { " (strict)" } else { "" }
    );
    for o in outcomes {
        println!("{:<34} {:<26} {}", o.id, o.verdict, o.title);
        for d in &o.details {
            println!("    {d}");
        }
    }
    for suite in SUITES {
        let of: Vec<&Outcome> = outcomes.iter().filter(|o| o.suite == suite).collect();
        if of.is_empty() {
            continue;
        }
        let failed = of.iter().filter(|o| !o.pass).count();
        let skipped = of.iter().filter(|o| o.verdict == "skip").count();
        let run = of.len() - skipped;
        if skipped == 0 {
            println!("{suite}: {run} run, {} pass, {failed} fail", run - failed);
        } else {
            println!(
                "{suite}: {run} run, {} pass, {failed} fail, {skipped} skipped",
                run - failed
            );
        }
    }
}

fn json_report(outcomes: &[Outcome], target: &str, strict: bool) -> serde_json::Value {
    serde_json::json!({
        "server": target,
        "strict": strict,
        "passed": outcomes.iter().filter(|o| o.pass && o.verdict != "skip").count(),
        "failed": outcomes.iter().filter(|o| !o.pass).count(),
        "skipped": outcomes.iter().filter(|o| o.verdict == "skip").count(),
        "suites": SUITES
            .iter()
            .filter(|s| outcomes.iter().any(|o| o.suite == **s))
            .map(|s| {
                let of = || outcomes.iter().filter(move |o| o.suite == *s);
                let skipped = of().filter(|o| o.verdict == "skip").count();
                let failed = of().filter(|o| !o.pass).count();
                let run = of().count() - skipped;
                (s.to_string(), serde_json::json!({
                    "run": run,
                    "passed": run - failed,
                    "failed": failed,
                    "skipped": skipped,
                }))
            })
            .collect::<serde_json::Map<String, serde_json::Value>>(),
        "results": outcomes.iter().map(|o| serde_json::json!({
            "suite": o.suite,
            "id": o.id,
            "title": o.title,
            "verdict": o.verdict,
            "pass": o.pass,
            "expected": o.expected,
            "actual": o.actual,
            "details": o.details,
            "elapsed_ms": o.elapsed.as_secs_f64() * 1e3,
        })).collect::<Vec<_>>(),
    })
}

fn write_junit(outcomes: &[Outcome], path: &Path) -> anyhow::Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("rumpsp conformance");
    for suite in SUITES {
        if !outcomes.iter().any(|o| o.suite == suite) {
            continue;
        }
        let mut ts = TestSuite::new(suite);
        for o in outcomes.iter().filter(|o| o.suite == suite) {
            let status = if o.verdict == "skip" {
                let mut s = TestCaseStatus::skipped();
                s.set_message(o.title.clone());
                s
            } else if o.pass {
                TestCaseStatus::success()
            } else {
                let kind = if o.verdict == "error" {
                    NonSuccessKind::Error
                } else {
                    NonSuccessKind::Failure
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(format!("expected {} / actual {}", o.expected, o.actual));
                s.set_description(o.details.join("\n"));
                s
            };
            let mut tc = TestCase::new(o.id.as_str(), status);
            tc.set_time(o.elapsed);
            ts.add_test_case(tc);
        }
        report.add_test_suite(ts);
    }
    let xml = report.to_string().context("serialising the JUnit report")?;
    std::fs::write(path, xml).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Calls whose answers depend on everything that ran on the server before
/// (so a trace making them needs a fresh server), and why.
const FRESH_SERVER_CALLS: &[(&str, &str)] = &[
    (
        "__mount50",
        "the device numbers and mount table it sees depend on the mounts before it",
    ),
    ("unmount", "it changes the mount table other traces see"),
    (
        "statvfs1",
        "file system counts (free blocks, files) depend on what ran before",
    ),
    (
        "fstatvfs1",
        "file system counts (free blocks, files) depend on what ran before",
    ),
    ("getvfsstat", "the mount list depends on what ran before"),
    (
        "__sysctl",
        "kernel-wide values (host name, counters) depend on what ran before",
    ),
];

/// Why a trace needs a freshly started server, if it does: the first call it
/// makes from [`FRESH_SERVER_CALLS`].
fn needs_fresh_server(s: &Script) -> Option<String> {
    s.actions.iter().find_map(|a| match a {
        rumpsp_conformance::script::Action::Step(st) => {
            let num = st.sysnum()?;
            FRESH_SERVER_CALLS.iter().find_map(|(name, why)| {
                let info = rumpsp_protocol::netbsd::syscall_by_name(name)?;
                (info.number == num).then(|| format!("it calls {name}: {why}"))
            })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_job_is_an_internal_error_not_a_timeout() {
        let got = with_timeout(Duration::from_secs(30), || -> u8 { panic!("bad namlen") });
        assert_eq!(got, Err("bad namlen".to_owned()));
        assert_eq!(with_timeout(Duration::from_secs(30), || 7u8), Ok(Some(7)));
        let slow = with_timeout(Duration::from_millis(10), || {
            std::thread::sleep(Duration::from_millis(500));
            1u8
        });
        assert_eq!(slow, Ok(None));
    }

    #[test]
    fn suites_by_name_and_fresh_server_calls_exist() {
        assert_eq!(suite_of("own_files"), "regression");
        assert_eq!(suite_of("fileops"), "real");
        let keys = vec!["corpus".to_owned()];
        assert!(matches(&keys, "real", "trace/x", "x"));
        assert!(matches(&keys, "regression", "trace/own_x", "own_x"));
        assert!(!matches(&keys, "differential", "trace/gen-1", "gen-1"));
        assert!(!matches(
            &["trace".to_owned()],
            "differential",
            "trace/gen-1",
            "gen-1"
        ));
        for (name, _) in FRESH_SERVER_CALLS {
            assert!(
                rumpsp_protocol::netbsd::syscall_by_name(name).is_some(),
                "{name}"
            );
        }
    }
}
