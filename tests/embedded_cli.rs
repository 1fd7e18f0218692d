//! The default corpus and the catalogue's recordings are built into the
//! binary: a copy of it, run from another directory, runs them all.

use std::process::Command;

#[test]
fn a_copied_binary_runs_the_built_in_corpus_from_another_directory() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("rumpsp");
    std::fs::copy(env!("CARGO_BIN_EXE_rumpsp"), &exe).unwrap();
    let out = Command::new(&exe)
        .current_dir(dir.path())
        .env_remove("RUMP_SERVER")
        .arg("conformance")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    let count = |suite: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{suite}: ")))
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
    };
    let corpus = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/corpus"))
        .unwrap()
        .count();
    assert_eq!(count("real") + count("regression"), corpus, "{text}");
    assert!(count("catalog") > 0, "{text}");
}

#[test]
fn the_defaults_name_no_source_directory() {
    let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(["conformance", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(!help.contains(env!("CARGO_MANIFEST_DIR")), "{help}");
    assert!(help.contains("built in"), "{help}");
}

#[test]
fn corpus_dir_still_replaces_the_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/conformance/corpus/getpid.trace"
        ),
        dir.path().join("getpid.trace"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .env_remove("RUMP_SERVER")
        .args(["conformance", "corpus", "--corpus"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("real: 1 run, 1 pass, 0 fail"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(["conformance", "--corpus", "/nonexistent/corpus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
