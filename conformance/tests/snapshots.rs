//! Snapshot regression: every corpus trace (real and own-client) replayed against the simulated
//! server, its normalised transcript (per step: request, verdict, rules, the
//! server's normalised answer) kept under `tests/snapshots/`. A trace runs
//! after the traces recorded before it on the same server, on one fresh
//! in-process server, as in the recording. CI checks these without updating
//! them (`INSTA_UPDATE=no`); `cargo insta review` accepts a deliberate change.

use std::fmt::Write;
use std::path::Path;

use rumpsp_conformance::replay::replay;
use rumpsp_conformance::script::{build_script, Script};
use rumpsp_conformance::wire::InProcess;
use rumpsp_conformance::Capture;
use rumpsp_sim_kernel::{SimConfig, SimKernel};

fn script(path: &Path) -> Script {
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    build_script(&Capture::load(path).unwrap(), &name)
}

#[test]
fn normalised_transcripts() {
    insta::glob!("../corpus", "*.trace", |path| {
        let me = script(path);
        let dir = path.parent().unwrap();
        let mut before: Vec<Script> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "trace") && p != path)
            .map(|p| script(&p))
            .filter(|s| s.server_run == me.server_run && (&s.date, &s.name) < (&me.date, &me.name))
            .collect();
        before.sort_by(|a, b| (&a.date, &a.name).cmp(&(&b.date, &b.name)));
        let mut config = SimConfig::default();
        if let Some(h) = before
            .iter()
            .chain([&me])
            .find_map(|s| s.recorded_hostname())
        {
            config.hostname = h;
        }
        let mut wire = InProcess::with_kernel(SimKernel::new(config)).unwrap();
        for s in &before {
            replay(s, &mut wire);
        }
        let r = replay(&me, &mut wire);
        let mut out = String::new();
        for s in &r.steps {
            let _ = writeln!(out, "step {} conn {}: {}", s.index, s.conn, s.request);
            let _ = writeln!(out, "  verdict: {}", s.verdict.name());
            if !s.rules.is_empty() {
                let _ = writeln!(out, "  rules: {}", s.rules.join(", "));
            }
            let _ = writeln!(out, "  answer: {}", s.actual.replace('\n', "\n  "));
        }
        insta::assert_snapshot!(out);
    });
}
