//! The judge against wrong servers and right servers with awkward delivery:
//! a correct in-process server behind a wire that changes what it sends.
//! Every bug below must FAIL the trace; every delivery control must PASS it
//! with the same per-step verdicts; malformed server data never panics.

use std::collections::VecDeque;
use std::path::Path;

use rumpsp_conformance::replay::{replay_with, ReplayOptions, ScriptResult, Verdict};
use rumpsp_conformance::script::{build_script, Script};
use rumpsp_conformance::wire::{InProcess, Wire, WireConn, WireError};
use rumpsp_conformance::Capture;
use rumpsp_protocol::{frame_all, FrameLimits, RawFrame};
use rumpsp_sim_kernel::{SimConfig, SimKernel};

const RESP: u16 = 1;
const SYSCALL: u16 = 1;
const COPYOUT: u16 = 4;

/// A recording by name: real NetBSD's (`traces/real/`, `traces/differential/`
/// for `gen-*`), else one of ours (`traces/own/`).
fn script(name: &str) -> Script {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
    let real = dir.join(format!("real/{name}.jsonl"));
    let net = dir.join(format!("net/{name}.jsonl"));
    let p = if name.starts_with("gen-") {
        dir.join(format!("differential/{name}.jsonl"))
    } else if net.exists() {
        net
    } else if real.exists() {
        real
    } else {
        dir.join(format!("own/{name}.jsonl"))
    };
    let cap = Capture::load(&p).unwrap();
    build_script(&cap, name)
}

/// The recordings made on the same server run before `s`, in order: the
/// server state `s` was recorded against.
fn before(s: &Script) -> Vec<Script> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/real");
    let mut v: Vec<Script> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| {
            build_script(
                &Capture::load(&p).unwrap(),
                &p.file_stem().unwrap().to_string_lossy(),
            )
        })
        .filter(|o| o.server_run == s.server_run && (&o.date, &o.name) < (&s.date, &s.name))
        .collect();
    v.sort_by(|a, b| (&a.date, &a.name).cmp(&(&b.date, &b.name)));
    v
}

fn server(s: &Script) -> InProcess<SimKernel> {
    let mut config = SimConfig::default();
    if let Some(h) = s.recorded_hostname() {
        config.hostname = h;
    }
    // the network captures need the components their server loaded
    if let Some(c) = s
        .server_cmd
        .as_deref()
        .and_then(rumpsp_sim_kernel::Components::from_server_cmd)
    {
        config.components = c;
    }
    InProcess::with_kernel(SimKernel::new(config)).unwrap()
}

/// What a mutation does to one frame of server output: the bytes to send instead.
type Mutation = Box<dyn FnMut(&RawFrame) -> Vec<Vec<u8>>>;

/// A correct server whose output frames go through `mutate`, then are
/// delivered `chunk` bytes per receive (0: as produced); `close_after`
/// closes the connection after that many frames.
struct Mutant {
    inner: InProcess<SimKernel>,
    mutate: Mutation,
    chunk: usize,
    pending: VecDeque<u8>,
    frames: usize,
    close_after: Option<usize>,
    closed: bool,
    /// Mutations apply only once armed (after the set-up recordings).
    armed: bool,
}

impl Mutant {
    fn new(inner: InProcess<SimKernel>, mutate: Mutation, chunk: usize) -> Mutant {
        Mutant {
            inner,
            mutate,
            chunk,
            pending: VecDeque::new(),
            frames: 0,
            close_after: None,
            closed: false,
            armed: true,
        }
    }
}

impl Wire for Mutant {
    fn connect(&mut self) -> Result<(WireConn, Vec<u8>), WireError> {
        self.inner.connect()
    }
    fn send(&mut self, c: WireConn, bytes: &[u8]) -> Result<(), WireError> {
        self.inner.send(c, bytes)
    }
    fn recv(&mut self, c: WireConn) -> Result<(Vec<u8>, bool), WireError> {
        if self.closed {
            return Ok((vec![], true));
        }
        let (bytes, closed) = self.inner.recv(c)?;
        if !self.armed {
            return Ok((bytes, closed));
        }
        let (frames, _) = frame_all(&bytes, FrameLimits::unlimited());
        for f in &frames {
            self.frames += 1;
            for out in (self.mutate)(f) {
                self.pending.extend(out);
            }
            if self.close_after.is_some_and(|n| self.frames >= n) {
                self.closed = true;
                let out: Vec<u8> = self.pending.drain(..).collect();
                return Ok((out, true));
            }
        }
        let n = if self.chunk == 0 {
            self.pending.len()
        } else {
            self.chunk.min(self.pending.len())
        };
        let out: Vec<u8> = self.pending.drain(..n).collect();
        Ok((out, closed && self.pending.is_empty()))
    }
    fn close(&mut self, c: WireConn) {
        self.inner.close(c)
    }
}

fn is(f: &RawFrame, class: u16, ty: u16) -> bool {
    f.header.class == class && f.header.ty == ty
}

fn run(name: &str, mutate: Mutation, chunk: usize) -> ScriptResult {
    let s = script(name);
    let mut w = Mutant::new(server(&s), mutate, chunk);
    judged(&s, &mut w)
}

/// Replays the set-up recordings unmutated, then `s` through the mutant: a
/// server with the recording's history.
fn judged(s: &Script, w: &mut Mutant) -> ScriptResult {
    judged_with(s, w, ReplayOptions { same_history: true })
}

fn judged_with(s: &Script, w: &mut Mutant, opts: ReplayOptions) -> ScriptResult {
    w.armed = false;
    for b in before(s) {
        let r = replay_with(&b, w, opts);
        assert!(r.verdict() < Verdict::Fail, "set-up {} failed", b.name);
    }
    w.armed = true;
    replay_with(s, w, opts)
}

fn honest() -> Mutation {
    Box::new(|f| vec![f.to_vec()])
}

fn verdicts(r: &ScriptResult) -> Vec<Verdict> {
    r.steps.iter().map(|s| s.verdict).collect()
}

fn fails(r: &ScriptResult) -> usize {
    r.steps
        .iter()
        .filter(|s| s.verdict >= Verdict::Fail)
        .count()
}

#[test]
fn honest_server_passes() {
    for name in ["fileops", "dirs", "bigio"] {
        let r = run(name, honest(), 0);
        assert!(r.verdict() < Verdict::Fail, "{name}: {r:?}");
    }
}

#[test]
fn byte_at_a_time_and_odd_chunks_give_the_same_verdicts() {
    for name in ["fileops", "dirs", "bigio", "fork"] {
        let whole = verdicts(&run(name, honest(), 0));
        for chunk in [1, 7, 4096] {
            let r = run(name, honest(), chunk);
            assert_eq!(
                verdicts(&r),
                whole,
                "{name} delivered {chunk} bytes at a time"
            );
        }
    }
}

/// The concurrent recordings (two threads on one connection; a parent and
/// its child on two) pass whatever the delivery, with the same verdicts.
#[test]
fn concurrent_recordings_pass_whatever_the_delivery() {
    for name in ["threads", "forks"] {
        let whole = verdicts(&run(name, honest(), 0));
        assert!(
            whole.iter().all(|v| *v < Verdict::Fail),
            "{name}: {whole:?}"
        );
        for chunk in [1, 7, 4096] {
            let r = run(name, honest(), chunk);
            assert_eq!(
                verdicts(&r),
                whole,
                "{name} delivered {chunk} bytes at a time"
            );
        }
    }
}

/// In the two-thread recording the server's COPYINs and COPYOUTs of two
/// calls in flight interleave; each belongs to the call whose buffer it
/// touches, not to the older call.
#[test]
fn interleaved_memory_requests_go_to_the_call_whose_buffer_they_touch() {
    use rumpsp_conformance::script::Action;
    use rumpsp_protocol::kernel::MemRequest;
    let s = script("threads");
    let mut checked = 0;
    for a in &s.actions {
        let Action::Step(st) = a else { continue };
        match st.sysnum() {
            // pwrite: the one COPYIN it caused is of its own buffer
            Some(174) => {
                assert_eq!(st.memory.len(), 1, "{:?}", st.frame.header);
                assert!(
                    matches!(st.memory[0].0, MemRequest::Bytes { addr, len: 4096 } if addr == st.arg(1)),
                    "pwrite reqno {}: {:?}",
                    st.reqno(),
                    st.memory[0].0
                );
                checked += 1;
            }
            // pread: its COPYOUT is to its own buffer
            Some(173) => {
                let outs: Vec<u64> = st
                    .recorded
                    .iter()
                    .filter(|f| is(f, 0, COPYOUT))
                    .map(|f| u64::from_le_bytes(f.body[8..16].try_into().unwrap()))
                    .collect();
                assert_eq!(outs, vec![st.arg(1)], "pread reqno {}", st.reqno());
                checked += 1;
            }
            _ => {}
        }
    }
    assert_eq!(checked, 32);
}

#[test]
fn an_early_wrong_answer_fails() {
    let r = run(
        "fileops",
        Box::new(|f| {
            if is(f, RESP, SYSCALL) {
                let mut wrong = f.to_vec();
                wrong[24..28].copy_from_slice(&5i32.to_le_bytes());
                wrong[32..48].copy_from_slice(&[0xff; 16]);
                vec![wrong, f.to_vec()]
            } else {
                vec![f.to_vec()]
            }
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
    let s = r.steps.iter().find(|s| s.verdict == Verdict::Fail).unwrap();
    assert!(s.actual.contains("EIO (5)"), "{}", s.actual);
    assert!(
        s.diffs.iter().any(|d| d.starts_with("errno: expected")),
        "{:?}",
        s.diffs
    );
}

#[test]
fn a_late_duplicate_answer_fails() {
    let r = run(
        "fileops",
        Box::new(|f| {
            if is(f, RESP, SYSCALL) {
                vec![f.to_vec(), f.to_vec()]
            } else {
                vec![f.to_vec()]
            }
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
    let s = r.steps.iter().find(|s| s.verdict == Verdict::Fail).unwrap();
    assert!(s.actual.contains("answers again"), "{}", s.actual);
}

#[test]
fn an_answer_to_nothing_fails() {
    let r = run(
        "fileops",
        Box::new(|f| {
            if is(f, RESP, SYSCALL) {
                let mut stray = f.to_vec();
                stray[8..16].copy_from_slice(&0x7777_7777u64.to_le_bytes());
                vec![f.to_vec(), stray]
            } else {
                vec![f.to_vec()]
            }
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
}

/// Applies `m` to the data of every COPYOUT of exactly `len` bytes.
fn copyout_data(len: usize, m: fn(&mut [u8])) -> Mutation {
    Box::new(move |f| {
        let mut v = f.to_vec();
        if is(f, 0, COPYOUT) && f.body.len() >= len {
            let n = v.len();
            if n >= 24 + len && f.body.len() - len <= 16 {
                m(&mut v[n - len..]);
            }
        }
        vec![v]
    })
}

#[test]
fn stat_times_all_zero_fail() {
    let r = run("fileops", copyout_data(152, |d| d[48..112].fill(0)), 0);
    assert_eq!(r.verdict(), Verdict::Fail, "{r:?}");
    let s = r.steps.iter().find(|s| s.verdict == Verdict::Fail).unwrap();
    assert!(
        s.diffs.iter().any(|d| d.starts_with("st_")),
        "{:?}",
        s.diffs
    );
}

#[test]
fn a_wrong_stat_mode_fails_with_a_field_diff() {
    let r = run("fileops", copyout_data(152, |d| d[8] ^= 0o77), 0);
    assert_eq!(r.verdict(), Verdict::Fail);
    let s = r.steps.iter().find(|s| s.verdict == Verdict::Fail).unwrap();
    assert!(
        s.diffs.iter().any(|d| d.starts_with("st_mode: expected")),
        "{:?}",
        s.diffs
    );
}

#[test]
fn a_dirent_with_a_bad_namlen_fails_without_panicking() {
    let r = run(
        "dirs",
        Box::new(|f| {
            let mut v = f.to_vec();
            // every COPYOUT: the first record's d_namlen past its d_reclen
            if is(f, 0, COPYOUT) && f.body.len() > 40 {
                let n = v.len();
                let body = f.body.len();
                // data starts after the COPYOUT's own fields (16 bytes)
                let at = n - body + 16;
                if at + 12 <= n {
                    v[at + 10..at + 12].copy_from_slice(&0xfff0u16.to_le_bytes());
                }
            }
            vec![v]
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
}

#[test]
fn closing_when_the_recording_stays_open_fails() {
    let s = script("fileops");
    let mut w = Mutant::new(server(&s), honest(), 0);
    w.close_after = Some(10);
    let r = judged(&s, &mut w);
    assert_eq!(r.verdict(), Verdict::Fail);
    assert!(r.steps.iter().any(|s| s
        .diffs
        .iter()
        .any(|d| d.starts_with("connection: expected open got closed"))));
}

#[test]
fn staying_open_when_the_recording_closed_fails() {
    // The reboot recording ends with the server closing; a server that keeps
    // the connection open after a reboot must fail.
    let s = script("reboot");
    assert!(
        s.actions
            .iter()
            .any(|a| matches!(a, rumpsp_conformance::script::Action::Step(st) if st.server_closed)),
        "the reboot recording shows the server closing"
    );
    let mut honest_run = Mutant::new(server(&s), honest(), 0);
    let ok = judged(&s, &mut honest_run);
    assert!(ok.verdict() < Verdict::Fail, "{ok:?}");
    let mut s2 = s.clone();
    for a in &mut s2.actions {
        if let rumpsp_conformance::script::Action::Step(st) = a {
            st.server_closed = false;
        }
    }
    // The same honest server judged against a recording that says "stayed open".
    let r = judged(&s2, &mut Mutant::new(server(&s2), honest(), 0));
    assert_eq!(r.verdict(), Verdict::Fail);
}

#[test]
fn malformed_server_frames_of_every_kind_fail_without_panicking() {
    let garbage: Vec<(&str, Vec<u8>)> = vec![
        ("length below the header", {
            let mut v = vec![0u8; 24];
            v[0..8].copy_from_slice(&3u64.to_le_bytes());
            v
        }),
        ("unknown class", {
            let mut v = vec![0u8; 24];
            v[0..8].copy_from_slice(&24u64.to_le_bytes());
            v[16..18].copy_from_slice(&9u16.to_le_bytes());
            v
        }),
        ("short RESP body", {
            let mut v = vec![0u8; 28];
            v[0..8].copy_from_slice(&28u64.to_le_bytes());
            v[16..18].copy_from_slice(&RESP.to_le_bytes());
            v[18..20].copy_from_slice(&SYSCALL.to_le_bytes());
            v
        }),
        ("COPYOUT whose len exceeds its body", {
            let mut v = vec![0u8; 24 + 16];
            v[0..8].copy_from_slice(&40u64.to_le_bytes());
            v[18..20].copy_from_slice(&COPYOUT.to_le_bytes());
            v[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
            v
        }),
        ("huge length", {
            let mut v = vec![0u8; 24];
            v[0..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
            v
        }),
        ("truncated frame", {
            let mut v = vec![0u8; 30];
            v[0..8].copy_from_slice(&64u64.to_le_bytes());
            v
        }),
    ];
    for (what, bytes) in garbage {
        let mut sent = false;
        let r = run(
            "fileops",
            Box::new(move |f| {
                if !sent && is(f, RESP, SYSCALL) {
                    sent = true;
                    vec![bytes.clone(), f.to_vec()]
                } else {
                    vec![f.to_vec()]
                }
            }),
            0,
        );
        assert_eq!(r.verdict(), Verdict::Fail, "{what}");
        assert!(fails(&r) >= 1, "{what}");
    }
}

// One wrong-server test per normalisation rule that compares instead of blanking.

#[test]
fn rule_clock_a_zero_clock_fails() {
    let r = run("time_sysctl", copyout_data(16, |d| d.fill(0)), 0);
    assert_eq!(r.verdict(), Verdict::Fail);
    let s = r.steps.iter().find(|s| s.verdict == Verdict::Fail).unwrap();
    assert!(s.request.contains("clock_gettime"), "{}", s.request);
}

#[test]
fn rule_clock_a_sub_second_part_out_of_range_fails() {
    let r = run(
        "time_sysctl",
        copyout_data(16, |d| {
            d[8..16].copy_from_slice(&2_000_000_000i64.to_le_bytes())
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
}

#[test]
fn rule_times_a_nanosecond_field_out_of_range_fails() {
    let r = run(
        "fileops",
        copyout_data(152, |d| {
            d[72..80].copy_from_slice(&1_500_000_000i64.to_le_bytes())
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
}

#[test]
fn rule_inode_numbers_one_ino_for_every_directory_entry_fails() {
    let r = run(
        "dirs",
        Box::new(|f| {
            let mut v = f.to_vec();
            if is(f, 0, COPYOUT) && f.body.len() > 40 {
                let at = v.len() - f.body.len() + 16;
                // every well-formed record of the buffer gets d_fileno 7
                let mut i = at;
                while i + 16 <= v.len() {
                    let reclen = u16::from_le_bytes([v[i + 8], v[i + 9]]) as usize;
                    if reclen < 16 || i + reclen > v.len() {
                        break;
                    }
                    v[i..i + 8].copy_from_slice(&7u64.to_le_bytes());
                    i += reclen;
                }
            }
            vec![v]
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
    let s = r
        .steps
        .iter()
        .find(|s| s.verdict == Verdict::Fail && s.request.contains("getdents"))
        .unwrap();
    assert!(
        s.diffs.iter().any(|d| d.contains("d_fileno")),
        "{:?}",
        s.diffs
    );
}

#[test]
fn rule_padding_a_wrong_dirent_name_still_fails() {
    let r = run(
        "dirs",
        Box::new(|f| {
            let mut v = f.to_vec();
            if is(f, 0, COPYOUT) && f.body.len() > 40 {
                let at = v.len() - f.body.len() + 16;
                // the first record's first name byte
                v[at + 13] ^= 0x20;
            }
            vec![v]
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
}

#[test]
fn rule_pids_an_inconsistent_pid_fails() {
    let mut n = 100i64;
    let r = run(
        "getpid",
        Box::new(move |f| {
            let mut v = f.to_vec();
            if is(f, RESP, SYSCALL) {
                n += 1;
                v[32..40].copy_from_slice(&n.to_le_bytes());
            }
            vec![v]
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
    assert!(r
        .steps
        .iter()
        .any(|s| s.verdict == Verdict::Fail && s.request.contains("getpid")));
}

/// Every successful getpid answer of the `getpid` trace (its only call) gets pid + 1.
fn shifted_pids() -> Mutation {
    Box::new(|f| {
        let mut v = f.to_vec();
        if is(f, RESP, SYSCALL) && v.len() >= 48 && v[24..28] == [0; 4] {
            let pid = i64::from_le_bytes(v[32..40].try_into().unwrap());
            v[32..40].copy_from_slice(&(pid + 1).to_le_bytes());
        }
        vec![v]
    })
}

#[test]
fn rule_pids_a_consistently_shifted_pid_fails_on_a_server_with_the_recording_history() {
    let r = run("getpid", shifted_pids(), 0);
    assert_eq!(r.verdict(), Verdict::Fail);
    assert!(r
        .steps
        .iter()
        .any(|s| s.diffs.iter().any(|d| d.contains("expected 2 got 3"))));
    // Control: on a server of unknown history the same answers are mapped.
    let s = script("getpid");
    let mut w = Mutant::new(server(&s), shifted_pids(), 0);
    let r = judged_with(&s, &mut w, ReplayOptions::default());
    assert!(r.verdict() < Verdict::Fail, "{r:?}");
}

/// Every stat time of every 152-byte COPYOUT becomes `time(n)`, `n` counting
/// the answers.
fn stat_times(mut time: impl FnMut(i64) -> (i64, i64) + 'static) -> Mutation {
    let mut n = 0;
    copyout_data_mut(152, move |d: &mut [u8]| {
        n += 1;
        let (sec, nsec) = time(n);
        for at in [48usize, 64, 80, 96] {
            d[at..at + 8].copy_from_slice(&sec.to_le_bytes());
            d[at + 8..at + 16].copy_from_slice(&nsec.to_le_bytes());
        }
    })
}

/// As [`copyout_data`], with a stateful change.
fn copyout_data_mut(len: usize, mut m: impl FnMut(&mut [u8]) + 'static) -> Mutation {
    Box::new(move |f| {
        let mut v = f.to_vec();
        let n = v.len();
        if is(f, 0, COPYOUT) && f.body.len() == 16 + len {
            m(&mut v[n - len..]);
        }
        vec![v]
    })
}

#[test]
fn rule_times_a_time_the_client_set_compares_exactly() {
    // A kernel that ignores utimes: every stat shows one plausible kernel time.
    let ignores_utimes = || stat_times(|_| (1_796_230_000, 1));
    // gen-000013 sets mtime and birthtime to 1000000000 with __utimes50 and
    // stats the file afterwards.
    let r = run("gen-000013", ignores_utimes(), 0);
    assert_eq!(r.verdict(), Verdict::Fail, "{r:?}");
    let s = r.steps.iter().find(|s| s.verdict == Verdict::Fail).unwrap();
    assert!(
        s.diffs.iter().any(|d| d.starts_with("st_mtim")),
        "{:?}",
        s.diffs
    );
    // The same answers pass where no time was set: the time is plausible for
    // a kernel, so the failure above is the client-set rule's.
    for name in ["fileops", "dirs"] {
        let r = run(name, ignores_utimes(), 0);
        assert!(r.verdict() < Verdict::Fail, "{name}: {r:?}");
    }
}

#[test]
fn rule_times_a_kernel_time_going_backwards_fails() {
    // dirs stats the same directories several times; the recording's times
    // never go back, so the server's must not either.
    let r = run("dirs", stat_times(|n| (1_900_000_000 - n, 0)), 0);
    assert_eq!(r.verdict(), Verdict::Fail);
    assert!(r
        .steps
        .iter()
        .any(|s| s.verdict == Verdict::Fail && s.request.contains("stat")));
    // Control: the same answers moving forwards pass.
    let r = run("dirs", stat_times(|n| (1_800_000_000 + n, 0)), 0);
    assert!(r.verdict() < Verdict::Fail, "{r:?}");
}

/// Every COPYOUT whose data is a whole number of 96-byte `sysctlnode`
/// records has `m` applied to its first record.
fn sysctl_nodes(m: fn(&mut [u8])) -> Mutation {
    Box::new(move |f| {
        let mut v = f.to_vec();
        let data = f.body.len().saturating_sub(16);
        if is(f, 0, COPYOUT) && data >= 96 && data % 96 == 0 {
            let at = v.len() - data;
            m(&mut v[at..at + 96]);
        }
        vec![v]
    })
}

#[test]
fn rule_kernel_pointers_a_wrong_node_number_fails() {
    let r = run("sysctl", sysctl_nodes(|rec| rec[4] ^= 1), 0);
    assert_eq!(r.verdict(), Verdict::Fail);
    assert!(r
        .steps
        .iter()
        .any(|s| s.verdict == Verdict::Fail && s.request.contains("sysctl")));
    // Control: other kernel addresses in the pointer fields pass.
    let r = run("sysctl", sysctl_nodes(|rec| rec[56..64].fill(0xa5)), 0);
    assert!(r.verdict() < Verdict::Fail, "{r:?}");
}

/// COPYOUTs whose data is the recorded host name (with its NUL) get `m`.
fn hostname_copyouts(name: &str, m: fn(&mut Vec<u8>)) -> Mutation {
    let mut host = script(name).recorded_hostname().unwrap().into_bytes();
    host.push(0);
    Box::new(move |f| {
        let mut v = f.to_vec();
        if is(f, 0, COPYOUT) && f.body.get(16..) == Some(&host[..]) {
            let mut data = f.body[16..].to_vec();
            m(&mut data);
            v.truncate(24 + 16);
            v.extend_from_slice(&data);
            let total = v.len() as u64;
            v[0..8].copy_from_slice(&total.to_le_bytes());
            v[24..32].copy_from_slice(&(data.len() as u64).to_le_bytes());
        }
        vec![v]
    })
}

#[test]
fn rule_volatile_sysctl_a_host_name_of_another_length_fails() {
    let r = run(
        "time_sysctl",
        hostname_copyouts("time_sysctl", |d| d.insert(0, b'x')),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
    // Control: another host name of the same length passes.
    let r = run(
        "time_sysctl",
        hostname_copyouts("time_sysctl", |d| d[0] ^= 1),
        0,
    );
    assert!(r.verdict() < Verdict::Fail, "{r:?}");
}

#[test]
fn rule_volatile_sysctl_a_host_name_the_client_set_compares_exactly() {
    // time_sysctl writes kern.hostname "rumpsp-test" and reads it back.
    let wrong = Box::new(|f: &RawFrame| {
        let mut v = f.to_vec();
        if is(f, 0, COPYOUT) && f.body.get(16..) == Some(&b"rumpsp-test\0"[..]) {
            let n = v.len();
            v[n - 2] = b'x';
        }
        vec![v]
    });
    let r = run("time_sysctl", wrong, 0);
    assert_eq!(r.verdict(), Verdict::Fail);
    assert!(r
        .steps
        .iter()
        .any(|s| s.verdict == Verdict::Fail && s.request.contains("sysctl")));
}

/// Every REQ/COPYIN (type 2) of at least 16 bytes asks for memory `by` bytes further on.
fn shifted_copyins(by: u64) -> Mutation {
    Box::new(move |f| {
        let mut v = f.to_vec();
        if is(f, 0, 2) && f.body.len() == 16 {
            let len = u64::from_le_bytes(v[24..32].try_into().unwrap());
            if len >= 16 {
                let addr = u64::from_le_bytes(v[32..40].try_into().unwrap());
                v[32..40].copy_from_slice(&addr.wrapping_add(by).to_le_bytes());
            }
        }
        vec![v]
    })
}

#[test]
fn rule_copyin_split_reading_other_memory_fails() {
    let r = run("bigio", shifted_copyins(8), 0);
    assert_eq!(r.verdict(), Verdict::Fail);
}

#[test]
fn rule_concurrent_order_reading_other_memory_fails() {
    let r = run("threads", shifted_copyins(8), 0);
    assert_eq!(r.verdict(), Verdict::Fail);
}

/// Applies `m` to the data of every COPYOUT frame (whatever its size).
fn copyouts(mut m: impl FnMut(&mut [u8]) + 'static) -> Mutation {
    Box::new(move |f| {
        let mut v = f.to_vec();
        if is(f, 0, COPYOUT) && v.len() > 40 {
            m(&mut v[40..]);
        }
        vec![v]
    })
}

/// The failing steps' requests.
fn failing(r: &ScriptResult) -> Vec<String> {
    r.steps
        .iter()
        .filter(|s| s.verdict >= Verdict::Fail)
        .map(|s| s.request.clone())
        .collect()
}

/// A copied-out `sockaddr_in` with a kernel-chosen port gets `port(old)`.
fn ephemeral_ports(mut port: impl FnMut(u16) -> u16 + 'static) -> Mutation {
    copyouts(move |d| {
        if d.len() == 16 && d[0] == 16 && d[1] == 2 {
            let p = u16::from_be_bytes([d[2], d[3]]);
            if p >= 49152 {
                d[2..4].copy_from_slice(&port(p).to_be_bytes());
            }
        }
    })
}

#[test]
fn rule_ephemeral_ports_pass_a_right_server_and_fail_one_outside_the_range() {
    let r = run("net_inet", honest(), 0);
    assert!(r.verdict() < Verdict::Fail, "{:?}", failing(&r));
    assert!(r.steps.iter().any(|s| s.rules.contains(&"ephemeral-ports")));
    let r = run("net_inet", ephemeral_ports(|_| 1234), 0);
    let f = failing(&r);
    assert!(f.iter().any(|q| q.contains("getsockname")), "{f:?}");
}

#[test]
fn rule_ephemeral_ports_a_port_that_changes_for_one_socket_fails() {
    // every other answer names the socket by another port
    let mut n = 0u32;
    let r = run(
        "net_inet",
        ephemeral_ports(move |p| {
            n += 1;
            if n.is_multiple_of(2) {
                p
            } else {
                p ^ 1
            }
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail);
}

#[test]
fn rule_uninitialised_padding_a_wrong_timeout_still_fails() {
    // tv_usec (bytes 8..12 of the 16-byte timeval) is compared exactly
    let r = run(
        "net_local",
        copyouts(|d| {
            if d.len() == 16 && d[12..] == [0, 0, 0, 0] && d[0..8] == [0; 8] {
                d[8] ^= 1;
            }
        }),
        0,
    );
    let f = failing(&r);
    assert!(f.iter().any(|q| q.contains("getsockopt")), "{f:?}");
}

#[test]
fn rule_ifconf_padding_a_wrong_address_still_fails() {
    // byte 20 of an ifreq is inside the address (sa_len 16 or more)
    let r = run(
        "net_ifconfig",
        copyouts(|d| {
            if d.len() >= 144 && d.len() % 144 == 0 {
                for rec in d.chunks_mut(144) {
                    rec[20] ^= 0xff;
                }
            }
        }),
        0,
    );
    let f = failing(&r);
    assert!(f.iter().any(|q| q.contains("ioctl")), "{f:?}");
}

/// Applies `m` to every routing message of a copied-out NET_RT_* answer.
fn routing_records(m: fn(&mut [u8])) -> Mutation {
    copyouts(move |d| {
        let mut at = 0;
        while at + 4 <= d.len() {
            let len = usize::from(u16::from_le_bytes([d[at], d[at + 1]]));
            if len < 4 || at + len > d.len() || d[at + 2] != 4 {
                return;
            }
            m(&mut d[at..at + len]);
            at += len;
        }
    })
}

#[test]
fn rule_routing_volatile_a_wrong_interface_index_still_fails() {
    let r = run("net_ifconfig", routing_records(|rec| rec[4] ^= 1), 0);
    let f = failing(&r);
    assert!(f.iter().any(|q| q.contains("__sysctl")), "{f:?}");
}

#[test]
fn rule_routing_volatile_an_invalid_change_time_fails() {
    let r = run(
        "net_ifconfig",
        routing_records(|rec| {
            if rec[3] == 0x14 && rec.len() >= 152 {
                rec[144..152].copy_from_slice(&2_000_000_000i64.to_le_bytes());
            }
        }),
        0,
    );
    let f = failing(&r);
    assert!(f.iter().any(|q| q.contains("__sysctl")), "{f:?}");
}

#[test]
fn every_rule_has_a_test_in_which_a_wrong_server_fails() {
    let src = include_str!("wrong_servers.rs");
    for rule in rumpsp_conformance::replay::normalise::RULES {
        let prefix = format!("fn rule_{}_", rule.name.replace('-', "_"));
        assert!(src.contains(&prefix), "no test {prefix}…");
    }
}

#[test]
fn the_rules_table_names_every_rule_the_transcripts_use() {
    let names: Vec<&str> = rumpsp_conformance::replay::normalise::RULES
        .iter()
        .map(|r| r.name)
        .collect();
    for name in ["fileops", "dirs", "time_sysctl", "getpid", "sysctl_walk"] {
        for s in run(name, honest(), 0).steps {
            for rule in s.rules {
                assert!(names.contains(&rule), "{rule} is not in RULES");
            }
        }
    }
}

/// A right server that writes one COPYOUT as two (the halves at their
/// addresses, as a kernel copying a struct field by field may).
fn split_copyouts() -> Mutation {
    Box::new(|f| {
        let Some((len, addr)) = (is(f, 0, COPYOUT) && f.body.len() >= 16).then(|| {
            let word = |i: usize| u64::from_le_bytes(f.body[i..i + 8].try_into().unwrap());
            (word(0) as usize, word(8))
        }) else {
            return vec![f.to_vec()];
        };
        let data = &f.body[16..16 + len];
        let half = len / 2;
        let part = |d: &[u8], a: u64| {
            let mut body = (d.len() as u64).to_le_bytes().to_vec();
            body.extend(a.to_le_bytes());
            body.extend(d);
            let mut h = f.header;
            h.len = 24 + body.len() as u64;
            RawFrame::new(h, body).to_vec()
        };
        vec![
            part(&data[..half], addr),
            part(&data[half..], addr + half as u64),
        ]
    })
}

#[test]
fn a_split_copyout_with_several_calls_in_flight_stays_with_its_call() {
    // The second half of an fstat's struct lies past the argument pointer
    // (fstat passes no size) while a blocked read is in flight: it belongs
    // to the call the recording shows writing there, not to the oldest.
    for name in ["threads", "forks", "fileops", "bigio"] {
        let r = run(name, split_copyouts(), 0);
        assert_eq!(
            fails(&r),
            0,
            "{name}: {:#?}",
            r.steps
                .iter()
                .filter(|s| s.verdict == Verdict::Fail)
                .collect::<Vec<_>>()
        );
    }
}

/// Every PREFORK answer carries `cookie` instead of its random one.
fn fixed_cookie(cookie: [u8; 16]) -> Mutation {
    Box::new(move |f| {
        let mut v = f.to_vec();
        if is(f, RESP, 7) && v.len() == 40 {
            v[24..40].copy_from_slice(&cookie);
        }
        vec![v]
    })
}

/// The fork recording with its PREFORK sent twice on the parent's connection.
fn two_preforks() -> Script {
    use rumpsp_conformance::script::Action;
    let mut s = script("fork");
    let at = s
        .actions
        .iter()
        .position(|a| matches!(a, Action::Step(st) if st.frame.header.ty == 7))
        .unwrap();
    let again = s.actions[at].clone();
    s.actions.insert(at + 1, again);
    s
}

#[test]
fn a_prefork_cookie_of_zero_bytes_fails() {
    let r = run("fork", fixed_cookie([0; 16]), 0);
    assert_eq!(r.verdict(), Verdict::Fail);
    assert!(r
        .steps
        .iter()
        .any(|s| s.verdict == Verdict::Fail && s.actual.contains("zero bytes")));
}

#[test]
fn a_prefork_cookie_handed_out_twice_fails() {
    let s = two_preforks();
    let mut w = Mutant::new(server(&s), fixed_cookie([0x11; 16]), 0);
    let r = judged(&s, &mut w);
    assert_eq!(r.verdict(), Verdict::Fail, "{r:?}");
    assert!(r
        .steps
        .iter()
        .any(|s| s.verdict == Verdict::Fail && s.actual.contains("repeats")));
    // Control: a right server's two cookies differ. (The extra PREFORK makes
    // a process the recording did not have, so pids are mapped.)
    let mut w = Mutant::new(server(&s), honest(), 0);
    let r = judged_with(&s, &mut w, ReplayOptions::default());
    assert!(r.verdict() < Verdict::Fail, "{r:?}");
}

/// Every 16-byte COPYOUT (in own/stamps: the clock readings) moved by `secs`.
fn clocks_moved(secs: i64) -> Mutation {
    copyout_data_mut(16, move |d: &mut [u8]| {
        let sec = i64::from_le_bytes(d[..8].try_into().unwrap());
        d[..8].copy_from_slice(&(sec + secs).to_le_bytes());
    })
}

/// The kernel-set stamps of own/stamps (its first two fstats) a nanosecond
/// later, as a real kernel's differ from the recording.
fn kernel_stamps_nudged() -> Mutation {
    let mut n = 0;
    copyout_data_mut(152, move |d: &mut [u8]| {
        n += 1;
        if n <= 2 {
            for at in [48usize, 64, 80] {
                let sub = i64::from_le_bytes(d[at + 8..at + 16].try_into().unwrap());
                d[at + 8..at + 16].copy_from_slice(&((sub + 1) % 1_000_000_000).to_le_bytes());
            }
        }
    })
}

#[test]
fn rule_clock_a_realtime_clock_an_hour_off_the_file_stamps_fails() {
    // own/stamps reads CLOCK_REALTIME and gettimeofday between writes and
    // fstats of one file: the stamps and the readings share one timeline.
    // A clock an hour behind: the later readings are earlier than the stamps.
    let r = run("stamps", clocks_moved(-3600), 0);
    assert_eq!(r.verdict(), Verdict::Fail, "{r:?}");
    // A clock an hour ahead: the stamps made after the first reading are
    // earlier than it. (A stat equal to the recording cannot fail, so the
    // stamps here differ from it by a nanosecond, as a real kernel's do.)
    let mut ahead = clocks_moved(3600);
    let mut later = kernel_stamps_nudged();
    let r = run(
        "stamps",
        Box::new(move |f| {
            ahead(f)
                .into_iter()
                .flat_map(|v| {
                    let (frames, _) = frame_all(&v, FrameLimits::unlimited());
                    frames.iter().flat_map(&mut later).collect::<Vec<_>>()
                })
                .collect()
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail, "{r:?}");
    // Control: those stamps alone pass.
    let r = run("stamps", kernel_stamps_nudged(), 0);
    assert!(r.verdict() < Verdict::Fail, "{r:?}");
    // Control: readings a few nanoseconds off are within a clock tick's lag.
    let r = run(
        "stamps",
        copyout_data_mut(16, |d: &mut [u8]| {
            let sub = i64::from_le_bytes(d[8..16].try_into().unwrap());
            d[8..16].copy_from_slice(&(sub + 3).to_le_bytes());
        }),
        0,
    );
    assert!(r.verdict() < Verdict::Fail, "{r:?}");
}

#[test]
fn rule_times_a_stamp_before_the_clock_reading_it_follows_fails() {
    // The first two fstats of own/stamps show kernel stamps made after the
    // first CLOCK_REALTIME reading; a stamp a day earlier is wrong.
    let mut n = 0;
    let r = run(
        "stamps",
        copyout_data_mut(152, move |d: &mut [u8]| {
            n += 1;
            if n <= 2 {
                for at in [48usize, 64, 80] {
                    let sec = i64::from_le_bytes(d[at..at + 8].try_into().unwrap());
                    d[at..at + 8].copy_from_slice(&(sec - 86_400).to_le_bytes());
                }
            }
        }),
        0,
    );
    assert_eq!(r.verdict(), Verdict::Fail, "{r:?}");
    // And a server that ignores futimens and utimes fails on own/stamps too.
    let r = run("stamps", stat_times(|_| (1_796_230_000, 1)), 0);
    assert_eq!(r.verdict(), Verdict::Fail);
}
