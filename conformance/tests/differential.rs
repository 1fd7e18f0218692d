//! The 200 differential captures (random syscall programs recorded against a
//! fresh real NetBSD 7.99.34 rump kernel), each replayed against a fresh
//! simulated kernel served in-process: every step of every capture must pass
//! (exactly or after a normalisation rule), so a change that makes the kernel
//! less like NetBSD on these programs fails here, naming the captures.

use std::path::Path;

use rumpsp_conformance::replay::{replay_with, ReplayOptions, Verdict};
use rumpsp_conformance::script::build_script;
use rumpsp_conformance::wire::InProcess;
use rumpsp_conformance::Capture;
use rumpsp_sim_kernel::{SimConfig, SimKernel};

#[test]
fn every_differential_capture_passes_every_step() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/differential");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 200, "the 200 differential captures");
    let (mut total, mut failing) = (0, Vec::new());
    for p in &files {
        let cap = Capture::load(p).unwrap();
        let script = build_script(&cap, &p.file_stem().unwrap().to_string_lossy());
        let mut wire = InProcess::with_kernel(SimKernel::new(SimConfig::default())).unwrap();
        let r = replay_with(&script, &mut wire, ReplayOptions { same_history: true });
        total += r.steps.len();
        let bad = r
            .steps
            .iter()
            .filter(|s| s.verdict > Verdict::PassNormalised)
            .count();
        if bad > 0 {
            failing.push(format!("{} ({bad} steps)", p.display()));
        }
    }
    assert_eq!(total, 12_856, "steps in the 200 captures");
    assert!(
        failing.is_empty(),
        "captures with failing steps: {failing:?}"
    );
}
