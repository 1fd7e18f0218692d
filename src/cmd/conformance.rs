//! `rumpsp conformance`: the recorded corpus and the robustness catalogue
//! against one server (by default the simulated kernel, in-process), with a
//! terminal summary, `--json`, `--junit FILE`, selection and per-case timeouts.
//!
//! Exit codes: 0 everything selected passed, 1 at least one failure, 2 the
//! harness itself could not run (bad URL, unreachable server, unreadable corpus).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use rumpsp_conformance::catalog::{self, Case};
use rumpsp_conformance::replay::{replay, ScriptResult, Verdict};
use rumpsp_conformance::script::Script;
use rumpsp_conformance::socket::SocketWire;
use rumpsp_conformance::wire::{InProcess, Wire};
use rumpsp_conformance::Capture;
use rumpsp_protocol::url::{parse_url, Role, ServerAddr};
use rumpsp_sim_kernel::{SimConfig, SimKernel};

/// Arguments of `rumpsp conformance`.
#[derive(Args, Debug)]
pub struct ConformanceArgs {
    /// What to run: case ids (`frame/3`), areas (`frame`), recording or trace
    /// names, `trace/NAME`, or a whole suite (`corpus`, `catalog`). Default: everything.
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
    /// recording's host name, which sysctl answers depend on). Without it, `--server URL` serves everything.
    #[arg(long, value_name = "CMD")]
    pub server_cmd: Option<String>,
    /// The corpus: text traces (`*.trace`) and raw captures (`*.jsonl`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/corpus"))]
    pub corpus: PathBuf,
    /// The robustness recordings the catalogue replays.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/traces/robustness"))]
    pub robustness: PathBuf,
}

/// One reported result.
#[derive(Debug, Clone)]
struct Outcome {
    suite: &'static str,
    id: String,
    title: String,
    verdict: &'static str,
    pass: bool,
    expected: String,
    actual: String,
    details: Vec<String>,
    elapsed: Duration,
}

/// What runs: trace groups (one server run each) and catalogue cases.
struct Plan {
    /// Per recorded server run: the scripts in order, and whether each is reported.
    groups: Vec<Vec<(Script, bool)>>,
    cases: Vec<&'static Case>,
}

fn matches(keys: &[String], suite: &str, id: &str, name: &str) -> bool {
    keys.iter().any(|k| {
        k == suite || k == id || k == name || id.split('/').next() == Some(k.trim_end_matches('/'))
    })
}

fn plan(a: &ConformanceArgs) -> anyhow::Result<Plan> {
    let pick = |suite: &str, id: &str, name: &str| {
        (a.select.is_empty() || matches(&a.select, suite, id, name))
            && !matches(&a.exclude, suite, id, name)
    };
    let files = super::replay::corpus(&a.corpus)?;
    // A selected trace brings the traces recorded before it on the same
    // server (they built the state it expects); those run but are not reported.
    let mut groups: Vec<Vec<(Script, bool)>> = Vec::new();
    for s in super::replay::load(&files)? {
        let chosen = pick("corpus", &format!("trace/{}", s.name), &s.name);
        match groups.last_mut() {
            Some(g) if g[0].0.server_run == s.server_run => g.push((s, chosen)),
            _ => groups.push(vec![(s, chosen)]),
        }
    }
    for g in &mut groups {
        let keep = g.iter().rposition(|(_, c)| *c).map_or(0, |i| i + 1);
        g.truncate(keep);
    }
    groups.retain(|g| !g.is_empty());
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

/// A fresh in-process server, configured like the recording's.
fn sim_wire(hostname: Option<String>) -> anyhow::Result<InProcess<SimKernel>> {
    let mut config = SimConfig::default();
    if let Some(h) = hostname {
        config.hostname = h;
    }
    Ok(InProcess::with_kernel(SimKernel::new(config))?)
}

/// Where the cases run.
#[derive(Debug, Clone)]
enum Target {
    /// The simulated kernel, in-process, fresh per server run and per case.
    InProcess,
    /// One server at this address for everything.
    Shared(ServerAddr),
    /// A fresh server per server run and per case, started by this command.
    Spawn(String),
}

/// A server started by `--server-cmd`; killed when dropped.
struct Spawned {
    child: std::process::Child,
    addr: ServerAddr,
    _dir: tempfile::TempDir,
}

impl Spawned {
    fn start(cmd: &str, hostname: &str) -> anyhow::Result<Spawned> {
        let dir = tempfile::tempdir()?;
        let url = format!("unix://{}", dir.path().join("rump.sock").display());
        let addr = parse_url(&url, Role::Client)?;
        // `exec`: the shell becomes the server; its own process group: a
        // compound command is stopped whole.
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "exec {}",
                cmd.replace("{url}", &url).replace("{hostname}", hostname)
            ))
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {cmd:?}"))?;
        let mut me = Spawned {
            child,
            addr,
            _dir: dir,
        };
        let t = Instant::now();
        loop {
            let mut probe = SocketWire::new(me.addr.clone());
            match catalog::health_check(&mut probe) {
                Ok(()) => return Ok(me),
                Err(e) if t.elapsed() > Duration::from_secs(10) => {
                    bail!("the server started by {cmd:?} did not serve within 10 s: {e}")
                }
                Err(_) => {}
            }
            if let Ok(Some(st)) = me.child.try_wait() {
                bail!("the server started by {cmd:?} exited: {st}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // the whole group, then the leader
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(std::process::Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens the wire a job runs on (and the server it owns, if any).
fn open_wire(
    target: &Target,
    hostname: Option<String>,
) -> anyhow::Result<(Box<dyn Wire>, Option<Spawned>)> {
    Ok(match target {
        Target::InProcess => (Box::new(sim_wire(hostname)?), None),
        Target::Shared(addr) => (Box::new(SocketWire::new(addr.clone())), None),
        Target::Spawn(cmd) => {
            let name = hostname.unwrap_or_else(|| SimConfig::default().hostname);
            let sp = Spawned::start(cmd, &name)?;
            (Box::new(SocketWire::new(sp.addr.clone())), Some(sp))
        }
    })
}

/// Runs `job` on its own thread; `None` if it did not finish within `limit`
/// (the thread is abandoned: socket reads time out on their own). A panic of
/// the job is an error with its message, never a timeout.
fn with_timeout<X: Send + 'static>(
    limit: Duration,
    job: impl FnOnce() -> anyhow::Result<X> + Send + 'static,
) -> Option<anyhow::Result<X>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(anyhow::anyhow!("internal error in the judge: {msg}"))
        });
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(r) => Some(r),
        Err(mpsc::RecvTimeoutError::Timeout) => None,
        Err(mpsc::RecvTimeoutError::Disconnected) => Some(Err(anyhow::anyhow!(
            "internal error in the judge: the worker ended without a result"
        ))),
    }
}

fn trace_outcome(r: &ScriptResult, elapsed: Duration, verbose: bool) -> Outcome {
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
        suite: "corpus",
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
    }
}

fn timed_out(suite: &'static str, id: String, title: String, limit: Duration) -> Outcome {
    Outcome {
        suite,
        id,
        title,
        verdict: "error",
        pass: false,
        expected: format!("done within {} s", limit.as_secs()),
        actual: "timed out".into(),
        details: vec![format!("timed out after {} s", limit.as_secs())],
        elapsed: limit,
    }
}

fn run_group(
    group: &[(Script, bool)],
    target: &Target,
    limit: Duration,
    verbose: bool,
) -> Vec<Outcome> {
    let group_owned: Vec<Script> = group.iter().map(|(s, _)| s.clone()).collect();
    let reported: Vec<bool> = group.iter().map(|(_, r)| *r).collect();
    let group: Vec<&Script> = group.iter().filter(|(_, r)| *r).map(|(s, _)| s).collect();
    let target = target.clone();
    let job = move || -> anyhow::Result<Vec<(ScriptResult, Duration)>> {
        let mut out = Vec::new();
        let (mut wire, _server) = open_wire(
            &target,
            group_owned.iter().find_map(|s| s.recorded_hostname()),
        )?;
        for s in &group_owned {
            let t = Instant::now();
            let r = replay(s, wire.as_mut());
            out.push((r, t.elapsed()));
        }
        Ok(out)
    };
    let total = limit * u32::try_from(group.len()).unwrap_or(u32::MAX);
    match with_timeout(total, job) {
        Some(Ok(rs)) => rs
            .iter()
            .zip(reported)
            .filter(|(_, r)| *r)
            .map(|((r, e), _)| trace_outcome(r, *e, verbose))
            .collect(),
        Some(Err(e)) => group
            .iter()
            .map(|s| Outcome {
                suite: "corpus",
                id: format!("trace/{}", s.name),
                title: String::new(),
                verdict: "error",
                pass: false,
                expected: String::new(),
                actual: format!("{e:#}"),
                details: vec![format!("harness: {e:#}")],
                elapsed: Duration::ZERO,
            })
            .collect(),
        None => group
            .iter()
            .map(|s| timed_out("corpus", format!("trace/{}", s.name), String::new(), total))
            .collect(),
    }
}

fn run_catalog_case(
    case: &'static Case,
    dir: &Path,
    target: &Target,
    strict: bool,
    limit: Duration,
) -> anyhow::Result<Outcome> {
    let path = dir.join(format!("{}.jsonl", case.name));
    let cap = Capture::load(&path).with_context(|| format!("reading {}", path.display()))?;
    let target = target.clone();
    let job = move || -> anyhow::Result<catalog::CaseResult> {
        let (mut wire, _server) = open_wire(&target, None)?;
        Ok(catalog::run_case(case, &cap, wire.as_mut(), strict))
    };
    Ok(match with_timeout(limit, job) {
        Some(Ok(r)) => Outcome {
            suite: "catalog",
            id: case.id.to_owned(),
            title: format!("{} ({})", case.title, case.requirement),
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
        },
        Some(Err(e)) => return Err(e),
        None => timed_out("catalog", case.id.to_owned(), case.title.to_owned(), limit),
    })
}

/// Runs the command; returns the exit code.
pub fn run(a: ConformanceArgs, server: Option<&str>) -> anyhow::Result<u8> {
    let plan = plan(&a)?;
    if a.list {
        for g in &plan.groups {
            for (s, _) in g.iter().filter(|(_, r)| *r) {
                println!("trace/{:<30} corpus   server run {}", s.name, s.server_run);
            }
        }
        for c in &plan.cases {
            println!("{:<36} catalog  {}: {}", c.id, c.title, c.requirement);
        }
        return Ok(0);
    }
    let target = match (server, &a.server_cmd) {
        (Some(_), Some(_)) => bail!("--server and --server-cmd exclude each other"),
        (None, Some(cmd)) => Target::Spawn(cmd.clone()),
        (None, None) => Target::InProcess,
        (Some(url), None) => {
            let addr = parse_url(url, Role::Client)
                .with_context(|| format!("invalid server URL {url:?}"))?;
            let mut probe = SocketWire::new(addr.clone());
            catalog::health_check(&mut probe)
                .map_err(|e| anyhow::anyhow!("the server at {url} does not serve a client: {e}"))?;
            Target::Shared(addr)
        }
    };
    let limit = Duration::from_secs(a.timeout.max(1));
    let total = plan.groups.iter().flatten().filter(|(_, r)| *r).count() + plan.cases.len();
    let bar = if a.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(total as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // Traces that reboot the server run last: against a URL they stop it.
    type Group = Vec<(Script, bool)>;
    let (halting, plain): (Vec<&Group>, Vec<&Group>) = plan
        .groups
        .iter()
        .partition(|g| g.iter().any(|(s, _)| s.halts_server()));
    let mut outcomes = Vec::new();
    let traces = |groups: &[&Group], outcomes: &mut Vec<Outcome>| {
        for g in groups {
            bar.set_message(format!("trace/{}", g[0].0.name));
            let got = run_group(g, &target, limit, a.verbose);
            bar.inc(got.len() as u64);
            outcomes.extend(got);
        }
    };
    traces(&plain, &mut outcomes);
    for c in &plan.cases {
        bar.set_message(c.id);
        outcomes.push(run_catalog_case(
            c,
            &a.robustness,
            &target,
            a.strict,
            limit,
        )?);
        bar.inc(1);
    }
    traces(&halting, &mut outcomes);
    bar.finish_and_clear();
    let against = match (&target, server) {
        (Target::InProcess, _) => "the simulated server (in-process)".to_owned(),
        (Target::Spawn(cmd), _) => format!("fresh servers from {cmd:?}"),
        (Target::Shared(_), url) => url.unwrap_or_default().to_owned(),
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json_report(&outcomes, &against, a.strict))?
        );
    } else {
        print_summary(&outcomes, &against, a.strict);
        if matches!(target, Target::Shared(_)) && plan.groups.len() > 1 {
            println!(
                "note: {} recorded server runs shared one server here; a trace can see what an \
                 earlier one left (files, mounts, device numbers). --server-cmd gives each run a fresh server.",
                plan.groups.len()
            );
        }
    }
    if let Some(path) = &a.junit {
        write_junit(&outcomes, path)?;
    }
    Ok(u8::from(outcomes.iter().any(|o| !o.pass)))
}

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
    for suite in ["corpus", "catalog"] {
        let of: Vec<&Outcome> = outcomes.iter().filter(|o| o.suite == suite).collect();
        if of.is_empty() {
            continue;
        }
        let failed = of.iter().filter(|o| !o.pass).count();
        println!(
            "{suite}: {} run, {} pass, {failed} fail",
            of.len(),
            of.len() - failed
        );
    }
}

fn json_report(outcomes: &[Outcome], target: &str, strict: bool) -> serde_json::Value {
    serde_json::json!({
        "server": target,
        "strict": strict,
        "passed": outcomes.iter().filter(|o| o.pass).count(),
        "failed": outcomes.iter().filter(|o| !o.pass).count(),
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
    for suite in ["corpus", "catalog"] {
        let mut ts = TestSuite::new(suite);
        for o in outcomes.iter().filter(|o| o.suite == suite) {
            let status = if o.pass {
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
