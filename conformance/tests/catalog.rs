//! The robustness catalogue against our server in-process: every case must
//! pass in default mode and in `--strict` mode, and the catalogue must cover
//! every recording in `traces/robustness/`.

use std::path::Path;

use rumpsp_conformance::catalog::{find, reference_signature, run_case, Expect, CASES};
use rumpsp_conformance::mutate::{MutWire, Mutation, MutationCounter};
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
        "RESP/HANDSHAKE 0, ERROR 7, RESP/SYSCALL 0 rv=pid,1"
    );
    assert_eq!(reference_signature(&load("len0")), "closed");
    assert_eq!(
        reference_signature(&load("sysnum600")),
        "RESP/HANDSHAKE 0, RESP/SYSCALL 78 rv=0,0, RESP/SYSCALL 0 rv=pid,1"
    );
    // return values and COPYOUT bytes are part of the answer
    assert_eq!(
        reference_signature(&load("copyin_longer_reply")),
        "RESP/HANDSHAKE 0, REQ/COPYINSTR 1024, RESP/SYSCALL 0 rv=3,0, REQ/COPYIN 10, \
         RESP/SYSCALL 0 rv=10,0, REQ/COPYOUT 10 4c4c4c4c4c4c4c4c4c4c, RESP/SYSCALL 0 rv=10,0, \
         RESP/SYSCALL 0 rv=0,0, REQ/COPYINSTR 1024, RESP/SYSCALL 0 rv=0,0"
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

/// Runs `id` against our server behind `m`; whether it passed.
fn passes_behind(id: &str, m: Mutation, strict: bool) -> bool {
    let case = find(id).unwrap();
    let cap = Capture::load(&dir().join(format!("{}.jsonl", case.name))).unwrap();
    let mut w = MutWire::new(Box::new(wire()), m, MutationCounter::default());
    run_case(case, &cap, &mut w, strict).pass
}

#[test]
fn every_kind_of_expectation_fails_a_wrong_server() {
    // Reference: return values count (12345 instead of the fd / byte count).
    assert!(passes_behind("copyin/3", Mutation::ControlPadding, false));
    assert!(!passes_behind("copyin/3", Mutation::Retval12345, false));
    assert!(!passes_behind("copyin/3", Mutation::Retval12345, true));
    // Reference: COPYOUT bytes count, their splitting does not.
    assert!(!passes_behind("copyin/3", Mutation::CopyoutFlip, false));
    assert!(passes_behind(
        "copyin/3",
        Mutation::ControlCopyoutSplit,
        false
    ));
    // Reference: the errno counts.
    assert!(!passes_behind("syscall/1", Mutation::ErrnoToSuccess, false));
    assert!(!passes_behind("syscall/1", Mutation::ErrnoChange, true));
    // Survive: the stated answers only (errno → success is not "clean").
    assert!(matches!(
        find("copyin/1").unwrap().expect,
        Expect::Survive(_)
    ));
    assert!(!passes_behind("copyin/1", Mutation::ErrnoToSuccess, false));
    assert!(!passes_behind("syscall/2", Mutation::ErrnoChange, false));
    assert!(!passes_behind("syscall/4", Mutation::ErrnoToSuccess, false));
    // Either: a third outcome fails.
    assert!(!passes_behind("exec/1", Mutation::HandshakeError, false));
    // EachConnection: a wrong answer on any connection fails.
    assert!(!passes_behind("conn/1", Mutation::HandshakeError, false));
    // The banner is compared.
    assert!(!passes_behind("frame/1", Mutation::BannerVersion, false));
    // An early wrong answer, an extra frame, a close.
    assert!(!passes_behind("syscall/6", Mutation::EarlyAnswer, false));
    assert!(!passes_behind("syscall/6", Mutation::RaiseInject, false));
    assert!(!passes_behind("frame/6", Mutation::CloseAfterN, false));
}

#[test]
fn reads_do_not_depend_on_chunking() {
    for case in CASES {
        for m in [Mutation::ControlOneByte, Mutation::ControlDelay] {
            assert!(
                passes_behind(case.id, m, false),
                "{} behind {}",
                case.id,
                m.name()
            );
        }
    }
}
