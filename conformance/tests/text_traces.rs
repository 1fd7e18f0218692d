//! Text traces replay exactly as the captures they were made from: every real
//! capture converted to `rumpsp-trace/1`, read back, and replayed against the
//! simulated server gives the same verdict for every step.

use std::path::Path;

use rumpsp_conformance::replay::replay;
use rumpsp_conformance::script::build_script;
use rumpsp_conformance::text::to_text;
use rumpsp_conformance::wire::InProcess;
use rumpsp_conformance::Capture;
use rumpsp_protocol::Abi;
use rumpsp_sim_kernel::{SimConfig, SimKernel};

fn verdicts(cap: &Capture, name: &str) -> Vec<(usize, &'static str, String)> {
    let script = build_script(cap, name);
    let mut config = SimConfig::default();
    if let Some(h) = script.recorded_hostname() {
        config.hostname = h;
    }
    let mut wire = InProcess::with_kernel(SimKernel::new(config)).unwrap();
    replay(&script, &mut wire)
        .steps
        .iter()
        .map(|s| (s.index, s.verdict.name(), s.actual.clone()))
        .collect()
}

#[test]
fn text_traces_replay_like_their_captures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/real");
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        let cap = Capture::load(&p).unwrap();
        let text_path = tmp.path().join(format!("{name}.trace"));
        std::fs::write(&text_path, to_text(&cap, &name, Abi::Lp64Le)).unwrap();
        let back = Capture::load(&text_path).unwrap();
        assert_eq!(verdicts(&back, &name), verdicts(&cap, &name), "{name}");
    }
}

/// `corpus/` holds every real capture imported as a text trace (refresh with
/// `rumpsp trace import --out-dir conformance/corpus conformance/traces/real/*.jsonl`)
/// and our own client's traces as `own_FAMILY.trace` (`ci/record-corpus.sh`).
#[test]
fn the_text_corpus_matches_the_captures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for (sub, prefix) in [("traces/real", ""), ("traces/own", "own_")] {
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "jsonl") {
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            let stored = root.join("corpus").join(format!("{prefix}{stem}.trace"));
            let stored = std::fs::read_to_string(&stored)
                .unwrap_or_else(|e| panic!("{}: {e} (re-run the import)", stored.display()));
            let fresh = to_text(&Capture::load(&p).unwrap(), &name, Abi::Lp64Le);
            assert!(
                stored == fresh,
                "{name}: corpus/ is stale; re-run the import"
            );
            n += 1;
        }
    }
    // 17 real captures, 17 own-client families
    assert_eq!(n, 34);
}
