//! The robustness catalogue against our server in-process: every case must
//! pass in default mode and in `--strict` mode, and the catalogue must cover
//! every recording in `traces/robustness/`.

use std::path::Path;

use rumpsp_conformance::catalog::{reference_signature, run_case, CASES};
use rumpsp_conformance::wire::InProcess;
use rumpsp_conformance::Capture;
use rumpsp_sim_kernel::SimKernel;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/robustness")
}

fn wire() -> InProcess<SimKernel> {
    InProcess::with_kernel(SimKernel::default()).unwrap()
}

#[test]
fn catalogue_covers_every_recording() {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut names: Vec<String> = CASES.iter().map(|c| c.name.to_owned()).collect();
    names.sort();
    assert_eq!(files, names);
    assert_eq!(CASES.len(), 42);
}

#[test]
fn reference_signatures_read_the_recordings() {
    let load = |n: &str| Capture::load(&dir().join(format!("{n}.jsonl"))).unwrap();
    assert_eq!(
        reference_signature(&load("first_syscall")),
        "ERROR 2, closed"
    );
    assert_eq!(
        reference_signature(&load("req_type42")),
        "RESP/HANDSHAKE 0, ERROR 7, RESP/SYSCALL 0"
    );
    assert_eq!(reference_signature(&load("len0")), "closed");
    assert_eq!(
        reference_signature(&load("sysnum600")),
        "RESP/HANDSHAKE 0, RESP/SYSCALL 78, RESP/SYSCALL 0"
    );
}

fn run_all(strict: bool) {
    let mut failures = Vec::new();
    for case in CASES {
        let cap = Capture::load(&dir().join(format!("{}.jsonl", case.name))).unwrap();
        let mut w = wire();
        let r = run_case(case, &cap, &mut w, strict);
        if !r.pass {
            failures.push(format!(
                "{} ({}): expected {:?}, got {:?}",
                case.id, case.name, r.expected, r.actual
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "strict={strict}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn our_server_passes_every_case() {
    run_all(false);
}

#[test]
fn our_server_passes_every_case_strict() {
    run_all(true);
}
