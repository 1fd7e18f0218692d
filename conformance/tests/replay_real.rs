//! Every real capture replayed against the simulated kernel served in-process:
//! each request must get the answer the real NetBSD server gave, up to the
//! named normalisation rules.

use std::path::Path;

use rumpsp_conformance::replay::{replay_with, ReplayOptions, Verdict};
use rumpsp_conformance::script::{build_script, Script};
use rumpsp_conformance::wire::InProcess;
use rumpsp_conformance::Capture;
use rumpsp_sim_kernel::{SimConfig, SimKernel};

fn scripts() -> Vec<Script> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/real");
    let mut v: Vec<Script> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| {
            let cap = Capture::load(&p).unwrap();
            build_script(&cap, &p.file_stem().unwrap().to_string_lossy())
        })
        .collect();
    v.sort_by(|a, b| (&a.server_run, &a.date).cmp(&(&b.server_run, &b.date)));
    v
}

#[test]
fn real_captures_replay_against_the_simulated_kernel() {
    let mut failures = Vec::new();
    let mut total = 0;
    let all = scripts();
    let mut i = 0;
    while i < all.len() {
        let run = all[i].server_run.clone();
        let mut config = SimConfig::default();
        if let Some(h) = all[i..]
            .iter()
            .take_while(|s| s.server_run == run)
            .find_map(|s| s.recorded_hostname())
        {
            config.hostname = h;
        }
        let mut wire = InProcess::with_kernel(SimKernel::new(config)).unwrap();
        while i < all.len() && all[i].server_run == run {
            let r = replay_with(&all[i], &mut wire, ReplayOptions { same_history: true });
            for s in &r.steps {
                total += 1;
                if s.verdict >= Verdict::Fail {
                    failures.push(format!(
                        "{} step {} conn{} {}\n  expected: {}\n  actual:   {}",
                        r.name, s.index, s.conn, s.request, s.expected, s.actual
                    ));
                }
            }
            i += 1;
        }
    }
    if !failures.is_empty() {
        let limit: usize = std::env::var("REPLAY_SHOW")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(40);
        let shown: Vec<&String> = failures.iter().take(limit).collect();
        panic!(
            "{} of {total} steps failed:\n{}",
            failures.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(total > 1000, "only {total} steps replayed");
}
