//! `rumpsp replay` and `rumpsp conformance`: play recorded client traffic
//! against a server and report per step and per trace.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rumpsp_conformance::replay::{replay, ScriptResult, Verdict};
use rumpsp_conformance::script::{build_script, Script};
use rumpsp_conformance::socket::SocketWire;
use rumpsp_conformance::wire::InProcess;
use rumpsp_conformance::Capture;
use rumpsp_protocol::server::{SeededCookies, ServerCore, ServerLimits};
use rumpsp_protocol::url::{parse_url, Role};
use rumpsp_protocol::Banner;
use rumpsp_sim_kernel::{Components, SimConfig, SimKernel};

/// Loads the traces, ordered so that captures of one server run replay in date order.
pub fn load(files: &[PathBuf]) -> anyhow::Result<Vec<Script>> {
    let mut scripts = Vec::new();
    for f in files {
        let cap = Capture::load(f).with_context(|| format!("reading {}", f.display()))?;
        let name = f.file_stem().map_or_else(
            || f.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        scripts.push(build_script(&cap, &name));
    }
    scripts
        .sort_by(|a, b| (&a.server_run, &a.date, &a.name).cmp(&(&b.server_run, &b.date, &b.name)));
    Ok(scripts)
}

/// Every capture (`*.jsonl`) and text trace (`*.trace`) in a directory, sorted.
pub fn corpus(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the corpus directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl" || x == "trace"))
        .collect();
    v.sort();
    Ok(v)
}

/// The kernel components the recorded server had, read off its command line
/// (`None`: the meta line names none, and the default components serve it).
pub fn recorded_components(s: &Script) -> Option<Components> {
    s.server_cmd
        .as_deref()
        .and_then(Components::from_server_cmd)
}

/// Replays scripts: against `server`, or against a fresh in-process simulated
/// kernel per server run (configured with the recording's hostname and
/// kernel components).
pub fn run_all(scripts: &[Script], server: Option<&str>) -> anyhow::Result<Vec<ScriptResult>> {
    let mut results = Vec::new();
    match server {
        Some(url) => {
            let addr = parse_url(url, Role::Client)
                .with_context(|| format!("invalid server URL {url:?}"))?;
            let mut wire = SocketWire::new(addr);
            for s in scripts {
                results.push(replay(s, &mut wire));
            }
        }
        None => {
            let mut i = 0;
            while i < scripts.len() {
                let run = scripts[i].server_run.clone();
                let group: Vec<&Script> = scripts[i..]
                    .iter()
                    .take_while(|s| s.server_run == run)
                    .collect();
                let mut config = SimConfig::default();
                if let Some(h) = group.iter().find_map(|s| s.recorded_hostname()) {
                    config.hostname = h;
                }
                if let Some(c) = group.iter().find_map(|s| recorded_components(s)) {
                    config.components = c;
                }
                let core = ServerCore::new(
                    SimKernel::new(config),
                    ServerLimits::default(),
                    &Banner::default(),
                    Box::new(SeededCookies::new(1)),
                )?;
                let mut wire = InProcess { core };
                for s in &group {
                    results.push(replay(s, &mut wire));
                }
                i += group.len();
            }
        }
    }
    Ok(results)
}

/// Prints the normalisation rules the replayer applies, one block per rule.
pub fn print_rules() {
    for r in rumpsp_conformance::replay::normalise::RULES {
        println!("{}", r.name);
        println!("  field:      {}", r.field);
        println!("  why:        {}", r.why);
        println!("  comparison: {}", r.comparison);
    }
}

/// Prints a human summary; returns the exit code (0 all pass, 1 failures).
pub fn report(results: &[ScriptResult], verbose: bool) -> u8 {
    let mut failed = 0;
    let (mut steps, mut pass, mut norm) = (0, 0, 0);
    for r in results {
        let count = |v: Verdict| r.steps.iter().filter(|s| s.verdict == v).count();
        let (p, n, f, e) = (
            count(Verdict::Pass),
            count(Verdict::PassNormalised),
            count(Verdict::Fail),
            count(Verdict::Error),
        );
        steps += r.steps.len();
        pass += p;
        norm += n;
        println!(
            "{:<28} {:<26} {:>5} steps: {p} pass, {n} pass after normalisation, {f} fail, {e} error",
            r.name,
            r.verdict().name(),
            r.steps.len()
        );
        for s in r.steps.iter().filter(|s| {
            s.verdict >= Verdict::Fail || (verbose && s.verdict == Verdict::PassNormalised)
        }) {
            println!(
                "  step {} (conn {}): {}: {}",
                s.index,
                s.conn,
                s.verdict.name(),
                s.request
            );
            if !s.rules.is_empty() {
                println!("    rules: {}", s.rules.join(", "));
            }
            if s.verdict >= Verdict::Fail {
                println!("    expected: {}", s.expected.replace('\n', "\n    "));
                println!("    actual:   {}", s.actual.replace('\n', "\n    "));
            }
        }
        if r.verdict() >= Verdict::Fail {
            failed += 1;
        }
    }
    println!("{} traces, {steps} steps: {pass} pass, {norm} pass after normalisation; {failed} traces with failures", results.len());
    u8::from(failed > 0)
}
