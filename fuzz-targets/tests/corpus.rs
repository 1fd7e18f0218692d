//! On stable: the seeds made from the conformance traces, every stored fuzz
//! input (the corpora in `fuzz/corpus/<target>/` and the crash reproducers in
//! `fuzz/regressions/<target>/`), and a fixed set of pseudo-random inputs, each
//! through its target.

use std::path::Path;

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut v: Vec<(String, Vec<u8>)> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn stored_inputs_replay_without_a_failure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let traces = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces");
    let seeds =
        rumpsp_conformance::seeds::seeds(&[&traces.join("real"), &traces.join("robustness")])
            .unwrap();
    assert!(seeds.len() > 1000, "only {} seeds", seeds.len());
    for (target, name, data) in &seeds {
        let run = rumpsp_fuzz_targets::TARGETS
            .iter()
            .find(|(n, _)| n == target)
            .unwrap()
            .1;
        let r = std::panic::catch_unwind(|| run(data));
        assert!(r.is_ok(), "{target}: seed {name} fails");
    }
    let mut total = seeds.len();
    for (name, run) in rumpsp_fuzz_targets::TARGETS {
        for sub in ["corpus", "regressions"] {
            for (file, data) in inputs(&root.join(sub).join(name)) {
                let r = std::panic::catch_unwind(|| run(&data));
                assert!(r.is_ok(), "{name}: {sub}/{file} fails");
                total += 1;
            }
        }
    }
    assert!(total > 0, "no stored fuzz inputs found under fuzz/");
}

#[test]
fn pseudo_random_inputs() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, run) in rumpsp_fuzz_targets::TARGETS {
        for i in 0..300 {
            let len = (next() % 600) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let r = std::panic::catch_unwind(|| run(&data));
            assert!(
                r.is_ok(),
                "{name}: pseudo-random input {i} fails: {data:02x?}"
            );
        }
    }
}
