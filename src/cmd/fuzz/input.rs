//! What the live fuzzer sends: an input is a short sequence of protocol
//! operations (handshakes, syscalls with the way their memory requests are
//! answered, PREFORK/FORK, raw frames, reconnects), generated from syscalls
//! seen in the recorded traces and mutated with values at the edges.

use std::collections::BTreeSet;

use rumpsp_conformance::capture::Dir;
use rumpsp_conformance::Capture;
use rumpsp_protocol::{Abi, FrameDecoder, FrameLimits, Message};
use serde::{Deserialize, Serialize};

use super::rng::Rng;

/// A handshake body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Name {
    /// `fuzz` and its NUL.
    Normal,
    /// No body at all.
    Empty,
    /// 5000 bytes and a NUL.
    Huge,
    /// `fuzz` without a NUL.
    Unterminated,
}

impl Name {
    /// The body bytes.
    pub(crate) fn body(self) -> Vec<u8> {
        match self {
            Name::Normal => b"fuzz\0".to_vec(),
            Name::Empty => vec![],
            Name::Huge => {
                let mut v = vec![b'A'; 5000];
                v.push(0);
                v
            }
            Name::Unterminated => b"fuzz".to_vec(),
        }
    }
}

/// How the COPYIN/COPYINSTR requests of a syscall are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Mem {
    /// With as many bytes as asked (a string and its NUL for COPYINSTR).
    Right,
    /// With half of them (a string without its NUL).
    Short,
    /// With no bytes.
    Empty,
    /// With 16 bytes more than asked.
    Long,
    /// Not at all: the call waits.
    Silent,
    /// Right, twice.
    Twice,
}

/// One operation of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Op {
    /// A HANDSHAKE of `kind` (0 GUEST, 1 AUTH, 3 EXEC, anything else unknown).
    Handshake {
        /// The header's kind word.
        kind: u32,
        /// The body.
        name: Name,
    },
    /// A SYSCALL.
    Syscall {
        /// The syscall number.
        sysnum: u32,
        /// The argument block.
        args: Vec<u8>,
        /// How its memory requests are answered.
        mem: Mem,
    },
    /// REQ/PREFORK.
    Prefork,
    /// A new connection with a FORK handshake: the last cookie, or a guessed one.
    Fork {
        /// Whether the cookie is the one the server handed out.
        real: bool,
    },
    /// Bytes sent as they are (a mutated frame), no answer awaited.
    Raw(Vec<u8>),
    /// Closes the connection, opens a new one and does a GUEST handshake.
    Reconnect,
}

impl Op {
    /// A short name for reports.
    pub(crate) fn describe(&self) -> String {
        match self {
            Op::Handshake { kind, name } => format!("handshake kind {kind} {name:?}"),
            Op::Syscall { sysnum, args, mem } => {
                let name = rumpsp_protocol::netbsd::syscall(*sysnum).map_or("?", |s| s.name);
                format!(
                    "syscall {name}({sysnum:#x}) {} arg bytes, memory {mem:?}",
                    args.len()
                )
            }
            Op::Prefork => "prefork".to_owned(),
            Op::Fork { real } => format!(
                "fork with {} cookie",
                if *real { "the real" } else { "a guessed" }
            ),
            Op::Raw(b) => format!("{} raw bytes", b.len()),
            Op::Reconnect => "reconnect".to_owned(),
        }
    }
}

/// Syscalls seen in recorded traces: (number, argument block).
#[derive(Debug, Clone, Default)]
pub(crate) struct Seeds {
    /// Distinct recorded calls, sorted.
    pub(crate) calls: Vec<(u32, Vec<u8>)>,
}

impl Seeds {
    /// The calls of the traces built into the binary: the corpus (real
    /// NetBSD clients and the project's own, text traces), the 200
    /// differential captures and the network captures (socket calls).
    pub(crate) fn embedded() -> Seeds {
        let mut set = BTreeSet::new();
        let files = rumpsp_conformance::embedded::corpus()
            .into_iter()
            .chain(rumpsp_conformance::embedded::differential())
            .chain(rumpsp_conformance::embedded::net());
        for (name, bytes) in files {
            let Ok(text) = std::str::from_utf8(bytes) else {
                continue;
            };
            let cap = if name.ends_with(".jsonl") {
                Capture::parse(text).ok()
            } else if name.ends_with(".trace") {
                rumpsp_conformance::text::parse(text).ok()
            } else {
                None
            };
            let Some(cap) = cap else {
                continue;
            };
            for ((_, dir), stream) in cap.streams() {
                if dir != Dir::C2s {
                    continue;
                }
                let mut dec = FrameDecoder::new(FrameLimits::default());
                dec.feed(&stream);
                while let Ok(Some(f)) = dec.next_frame() {
                    if let Ok(fr) = f.frame(Abi::default()) {
                        if let Message::Syscall(s) = fr.message {
                            set.insert((tame(s.sysnum), s.args.to_vec()));
                        }
                    }
                }
            }
        }
        Seeds {
            calls: set.into_iter().collect(),
        }
    }
}

/// reboot(2).
const REBOOT: u32 = 208;

/// The syscall number an input may use: reboot stops a right server on
/// purpose (with RB_HALT it stays up but stops serving; RB_DUMP aborts it),
/// which would read as a finding, so getpid takes its place.
fn tame(sysnum: u32) -> u32 {
    if sysnum == REBOOT {
        20
    } else {
        sysnum
    }
}

/// Slot values at the edges.
const EDGES: &[u64] = &[
    0,
    1,
    2,
    3,
    4096,
    4097,
    999,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff_ff9c,
    1 << 40,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
    0x10000,
];

/// Syscall numbers at the edges.
const SYSNUM_EDGES: &[u32] = &[
    0,
    0xffff_ffff,
    0x8000_0000,
    0x8000_0001,
    0xfff0_0000,
    512,
    1000,
];

fn random_args(rng: &mut Rng, sysnum: u32) -> Vec<u8> {
    let slots = rumpsp_protocol::netbsd::syscall(sysnum).map_or(rng.below(7), |s| s.slots as usize);
    (0..slots)
        .flat_map(|_| {
            let v = if rng.chance(1, 2) {
                *rng.pick(EDGES)
            } else {
                rng.next_u64() & 0xffff
            };
            v.to_le_bytes()
        })
        .collect()
}

fn random_syscall(rng: &mut Rng, seeds: &Seeds) -> Op {
    let mem = random_mem(rng);
    if !seeds.calls.is_empty() && rng.chance(3, 4) {
        let (sysnum, args) = rng.pick(&seeds.calls).clone();
        return Op::Syscall { sysnum, args, mem };
    }
    let table = rumpsp_protocol::netbsd::SYSCALLS;
    let sysnum = tame(if rng.chance(1, 8) {
        *rng.pick(SYSNUM_EDGES)
    } else {
        rng.pick(table).number
    });
    Op::Syscall {
        sysnum,
        args: random_args(rng, sysnum),
        mem,
    }
}

fn random_mem(rng: &mut Rng) -> Mem {
    if rng.chance(3, 4) {
        Mem::Right
    } else {
        *rng.pick(&[Mem::Short, Mem::Empty, Mem::Long, Mem::Silent, Mem::Twice])
    }
}

fn random_name(rng: &mut Rng) -> Name {
    *rng.pick(&[Name::Normal, Name::Empty, Name::Huge, Name::Unterminated])
}

fn random_handshake(rng: &mut Rng) -> Op {
    Op::Handshake {
        kind: *rng.pick(&[0, 0, 1, 3, 7, 0xffff_ffff]),
        name: random_name(rng),
    }
}

/// A frame of `len` total bytes claimed, for raw mutations.
fn raw_frame(rng: &mut Rng, seeds: &Seeds) -> Vec<u8> {
    let (sysnum, args) = if seeds.calls.is_empty() {
        (20, vec![])
    } else {
        rng.pick(&seeds.calls).clone()
    };
    let mut f = Vec::with_capacity(24 + args.len());
    f.extend_from_slice(&((24 + args.len()) as u64).to_le_bytes());
    f.extend_from_slice(&1000u64.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&sysnum.to_le_bytes());
    f.extend_from_slice(&args);
    match rng.below(6) {
        // the length field
        0 => {
            let len = *rng.pick(&[0u64, 1, 23, 24, 25, (f.len() - 1) as u64, 1 << 40, u64::MAX]);
            f[0..8].copy_from_slice(&len.to_le_bytes());
        }
        // the class
        1 => f[16..18].copy_from_slice(&rng.pick(&[1u16, 2, 3, 0xffff]).to_le_bytes()),
        // the type
        2 => f[18..20].copy_from_slice(&rng.pick(&[0u16, 2, 4, 7, 8, 9, 0xffff]).to_le_bytes()),
        // the request number
        3 => f[8..16].copy_from_slice(&rng.pick(&[0u64, 1, u64::MAX]).to_le_bytes()),
        // a byte anywhere
        4 => {
            let i = rng.below(f.len());
            f[i] ^= 1 << rng.below(8);
        }
        // cut short
        _ => f.truncate(rng.below(f.len())),
    }
    f
}

fn random_op(rng: &mut Rng, seeds: &Seeds) -> Op {
    match rng.below(20) {
        0 => random_handshake(rng),
        1 => Op::Prefork,
        2 => Op::Fork {
            real: rng.chance(3, 4),
        },
        3 => Op::Raw(raw_frame(rng, seeds)),
        4 => Op::Reconnect,
        _ => random_syscall(rng, seeds),
    }
}

/// A new input: usually a GUEST handshake and a few operations.
pub(crate) fn generate(rng: &mut Rng, seeds: &Seeds) -> Vec<Op> {
    let mut ops = Vec::new();
    if rng.chance(7, 8) {
        ops.push(Op::Handshake {
            kind: 0,
            name: Name::Normal,
        });
    } else {
        ops.push(random_handshake(rng));
    }
    if rng.chance(1, 8) {
        ops.push(Op::Prefork);
        ops.push(Op::Fork { real: true });
    }
    for _ in 0..1 + rng.below(6) {
        ops.push(random_op(rng, seeds));
    }
    ops
}

/// The most operations an input may hold.
pub(crate) const MAX_OPS: usize = 32;

/// A mutated copy of `input` (one to three changes).
pub(crate) fn mutate(rng: &mut Rng, seeds: &Seeds, input: &[Op]) -> Vec<Op> {
    let mut ops = input.to_vec();
    for _ in 0..1 + rng.below(3) {
        mutate_once(rng, seeds, &mut ops);
    }
    if ops.is_empty() {
        ops = generate(rng, seeds);
    }
    ops.truncate(MAX_OPS);
    ops
}

fn mutate_once(rng: &mut Rng, seeds: &Seeds, ops: &mut Vec<Op>) {
    let at = rng.below(ops.len().max(1));
    match rng.below(8) {
        0 => ops.insert(at.min(ops.len()), random_op(rng, seeds)),
        1 if !ops.is_empty() => {
            ops.remove(at);
        }
        2 if !ops.is_empty() => ops[at] = random_op(rng, seeds),
        3 if !ops.is_empty() => {
            let o = ops[at].clone();
            ops.insert(at, o);
        }
        _ => {
            // change one syscall: a slot, the number, the block's size, or its memory answers
            let calls: Vec<usize> = (0..ops.len())
                .filter(|&i| matches!(ops[i], Op::Syscall { .. }))
                .collect();
            if calls.is_empty() {
                ops.push(random_syscall(rng, seeds));
                return;
            }
            let i = *rng.pick(&calls);
            if let Op::Syscall { sysnum, args, mem } = &mut ops[i] {
                match rng.below(6) {
                    0 | 1 if args.len() >= 8 => {
                        let slot = rng.below(args.len() / 8) * 8;
                        let v = *rng.pick(EDGES);
                        args[slot..slot + 8].copy_from_slice(&v.to_le_bytes());
                    }
                    2 => {
                        *sysnum = tame(if rng.chance(1, 2) {
                            *rng.pick(SYSNUM_EDGES)
                        } else {
                            rng.pick(rumpsp_protocol::netbsd::SYSCALLS).number
                        })
                    }
                    3 => match rng.below(3) {
                        0 => args.clear(),
                        1 => args.truncate(rng.below(args.len() + 1)),
                        _ => args.extend_from_slice(&rng.next_u64().to_le_bytes()),
                    },
                    _ => *mem = random_mem(rng),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_traces_give_seed_calls() {
        let s = Seeds::embedded();
        assert!(s.calls.len() > 100, "{} seed calls", s.calls.len());
        assert!(s.calls.iter().any(|(n, _)| *n == 5), "open is among them");
        assert!(
            s.calls.iter().any(|(n, _)| *n == 202),
            "sysctl, from the corpus, is among them"
        );
        assert!(s.calls.iter().all(|(n, _)| *n != REBOOT), "no reboot");
        assert!(
            s.calls.iter().any(|(n, _)| *n == 394),
            "__socket30, from the network captures, is among them"
        );
    }

    #[test]
    fn generation_and_mutation_are_functions_of_the_seed() {
        let seeds = Seeds::embedded();
        let run = |seed| {
            let mut r = Rng::new(seed);
            let a = generate(&mut r, &seeds);
            let b = mutate(&mut r, &seeds, &a);
            (a, b)
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        let mut r = Rng::new(9);
        for _ in 0..200 {
            let a = generate(&mut r, &seeds);
            assert!(!a.is_empty() && a.len() <= MAX_OPS);
            assert!(mutate(&mut r, &seeds, &a).len() <= MAX_OPS);
        }
    }
}
