//! Arbitrary syscall sequences straight into the simulated kernel, for several
//! processes (with fork, exec and exit among them), checking the kernel's
//! invariants after every call: descriptor tables and open-file counts, pipe
//! ends, link counts, directory structure, the process tree, file data
//! within the memory pool.
//!
//! An input starting with `RAW\n` is a recorded client byte stream (the seeds
//! made from the traces): each of its SYSCALL requests becomes a call by the
//! first process, with the recorded number and slot values, client pointers
//! (which name memory this target does not have) replaced by its own buffers.

use arbitrary::{Arbitrary, Unstructured};
use rumpsp_protocol::kernel::Kernel;
use rumpsp_protocol::{Abi, SyscallArgs};
use rumpsp_sim_kernel::local::{run_syscall, LocalMemory};

const SYSCALLS: &[u32] = &[
    3, 4, 5, 6, 9, 10, 12, 13, 15, 16, 20, 22, 23, 33, 41, 42, 54, 57, 58, 60, 80, 90, 92, 95, 120,
    121, 124, 128, 136, 137, 173, 174, 199, 200, 201, 202, 296, 357, 390, 410, 420, 427, 430, 439,
    440, 441, 453, 454, 458, 461, 466, 468, 471, 472,
];

/// Strings and buffers the client memory holds, at fixed addresses.
const PATHS: &[&str] = &[
    "/tmp",
    "/tmp/a",
    "/tmp/a/b",
    "/tmp/f",
    "/tmp/g",
    "/x",
    "rel",
    "/",
    "/tmp/a/../f",
    "tmpfs",
    "/dev/console",
    "/tmp/l",
];

/// One step.
#[derive(Arbitrary, Debug)]
pub enum Step {
    /// A syscall by a process.
    Call {
        /// Which process (index).
        who: u8,
        /// Index into the list, or any number.
        which: u16,
        /// Any number instead.
        any: Option<u16>,
        /// Slot values; small ones select a path or buffer address.
        args: [u32; 6],
    },
    /// A process forks.
    Fork(u8),
    /// A process execs.
    Exec(u8),
    /// A process exits.
    Exit(u8),
    /// A new process.
    Spawn,
}

fn memory() -> LocalMemory {
    let mut m = LocalMemory::default();
    for (i, p) in PATHS.iter().enumerate() {
        let mut v = p.as_bytes().to_vec();
        v.push(0);
        m.write(0x1000 + 0x100 * i as u64, &v);
    }
    // tmpfs_args (version 1), an iovec array, a sysctl MIB, a timespec, a data buffer
    let mut args = [0u8; 40];
    args[0] = 1;
    args[32..36].copy_from_slice(&0o777u32.to_le_bytes());
    m.write(0x8000, &args);
    let mut iov = Vec::new();
    for (base, len) in [(0x9000u64, 16u64), (0x9100, 32)] {
        iov.extend_from_slice(&base.to_le_bytes());
        iov.extend_from_slice(&len.to_le_bytes());
    }
    m.write(0x8100, &iov);
    m.write(0x8200, &[1, 0, 0, 0, 10, 0, 0, 0]);
    m.write(0x8300, &[0, 0, 0, 0, 0, 0, 0, 0, 0xe8, 3, 0, 0, 0, 0, 0, 0]);
    m.write(0x9000, &[0x61; 8192]);
    m
}

fn slot(v: u32) -> u64 {
    match v {
        0..=11 => 0x1000 + 0x100 * u64::from(v),
        12 => 0x8000,
        13 => 0x8100,
        14 => 0x8200,
        15 => 0x8300,
        16 => 0x9000,
        17 => 0xdead_0000,
        v if v >= 0xffff_ff00 => u64::from(v) | 0xffff_ffff_0000_0000,
        // small values (and, wrapping, huge ones near 2^64)
        v => u64::from(v & 0xffff).wrapping_sub(18),
    }
}

/// The slot value that `slot` turns into `v` (or into one of the buffers
/// when `v` is a client pointer).
fn unslot(v: u64) -> u32 {
    let low = v as u32;
    match v {
        // an int in -256..=-1 (AT_FDCWD and the like), zero-padded as clients
        // store ints, or sign-extended: kept
        v if low >= 0xffff_ff00 && matches!(v >> 32, 0 | 0xffff_ffff) => low,
        // small values: kept
        v if v <= 0xffff - 18 => (v + 18) as u32,
        // a client pointer or a large count: one of the buffers, spread by its bits
        v => ((v >> 4) % 17) as u32,
    }
}

/// The steps a recorded client byte stream makes: its SYSCALL requests, in order.
fn steps_from_stream(stream: &[u8]) -> Vec<Step> {
    let (frames, _rest) =
        rumpsp_protocol::frame_all(stream, rumpsp_protocol::FrameLimits::unlimited());
    frames
        .iter()
        .filter_map(|raw| match raw.frame(Abi::Lp64Le).ok()?.message {
            rumpsp_protocol::Message::Syscall(req) => {
                let recorded = SyscallArgs::new(req.args, Abi::Lp64Le);
                let mut args = [0u32; 6];
                for (i, a) in args.iter_mut().enumerate() {
                    *a = unslot(recorded.word(i).unwrap_or(0));
                }
                Some(Step::Call {
                    who: 0,
                    which: 0,
                    any: u16::try_from(req.sysnum).ok(),
                    args,
                })
            }
            _ => None,
        })
        .collect()
}

/// The steps an input stands for: a recorded stream's syscalls, or what it decodes to.
fn steps(input: &[u8]) -> Option<Vec<Step>> {
    if let Some(stream) = input.strip_prefix(b"RAW\n") {
        return Some(steps_from_stream(stream));
    }
    Vec::<Step>::arbitrary(&mut Unstructured::new(input)).ok()
}

/// The target.
pub fn run(input: &[u8]) {
    let Some(steps) = steps(input) else {
        return;
    };
    let mut k = crate::booted();
    let mut mem = memory();
    let mut pids: Vec<i32> = Vec::new();
    if let Ok(p) = k.spawn_guest(b"fuzz\0") {
        pids.push(p);
    }
    // a tmpfs on /tmp, as most clients start
    let mount: Vec<u8> = [slot(8), slot(0), 0, slot(12), 40]
        .iter()
        .flat_map(|a| a.to_le_bytes())
        .collect();
    if let Some(&p) = pids.first() {
        run_syscall(&mut k, &mut mem, p, 410, &mount);
    }
    for step in steps.into_iter().take(200) {
        let pick =
            |i: u8, pids: &[i32]| (!pids.is_empty()).then(|| pids[usize::from(i) % pids.len()]);
        match step {
            Step::Call {
                who,
                which,
                any,
                args,
            } => {
                let Some(pid) = pick(who, &pids) else {
                    continue;
                };
                let sysnum = any.map_or(SYSCALLS[usize::from(which) % SYSCALLS.len()], |n| {
                    u32::from(n) % 520
                });
                if sysnum == 208 {
                    continue; // reboot ends the run; covered elsewhere
                }
                let block: Vec<u8> = args.iter().flat_map(|a| slot(*a).to_le_bytes()).collect();
                run_syscall(&mut k, &mut mem, pid, sysnum, &block);
            }
            Step::Fork(i) => {
                if let Some(pid) = pick(i, &pids) {
                    if let Ok(mid) = k.prefork(pid) {
                        if let Ok(child) = k.fork_child(mid) {
                            pids.push(child);
                        }
                    }
                }
            }
            Step::Exec(i) => {
                if let Some(pid) = pick(i, &pids) {
                    k.exec(pid, b"newimage\0");
                }
            }
            Step::Exit(i) => {
                if let Some(pid) = pick(i, &pids) {
                    k.exit(pid);
                    pids.retain(|p| *p != pid);
                }
            }
            Step::Spawn => {
                if pids.len() < 8 {
                    if let Ok(p) = k.spawn_guest(b"more\0") {
                        pids.push(p);
                    }
                }
            }
        }
        k.check_invariants()
            .unwrap_or_else(|e| panic!("kernel invariant after {pids:?}: {e}"));
    }
    for p in pids {
        k.exit(p);
    }
    k.check_invariants()
        .unwrap_or_else(|e| panic!("kernel invariant at the end: {e}"));
    assert_eq!(k.t.procs.len(), 1, "only init is left");
    assert!(k.t.files.values().all(|f| f.refs > 0));
    assert!(k.t.pipes.is_empty(), "no pipe outlives its processes");
}

/// The steps an input stands for (for reading a crash reproducer).
pub fn describe(input: &[u8]) -> String {
    format!("{:#?}", steps(input))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumpsp_protocol::{ArgsBuilder, Frame, Handshake, Message, SyscallReq};

    #[test]
    fn recorded_values_survive_the_slot_mapping_and_pointers_become_buffers() {
        for v in [0u64, 1, 3, 17, 18, 100, 0xffff - 18] {
            assert_eq!(slot(unslot(v)), v, "{v:#x}");
        }
        // negative ints, as a client stores them (zero-padded) or sign-extended
        for v in [0xffff_ff9cu64, (-100i64) as u64, 0xffff_ffff, u64::MAX] {
            assert_eq!(slot(unslot(v)) as u32, v as u32, "{v:#x}");
        }
        for ptr in [0x7f7f_ffff_e000u64, 0x1_0000, 0x1_ffff_ff9c] {
            let got = slot(unslot(ptr));
            assert!((0x1000..=0x9000).contains(&got), "{ptr:#x} -> {got:#x}");
        }
    }

    #[test]
    fn a_recorded_stream_becomes_its_syscalls() {
        let mut stream = Vec::new();
        let write = ArgsBuilder::new(3, Abi::Lp64Le)
            .int(0, 1)
            .ptr(1, 0x7f7f_ffff_e000)
            .size(2, 5)
            .build();
        let openat = ArgsBuilder::new(4, Abi::Lp64Le)
            .int(0, -100)
            .ptr(1, 0x7f7f_ffff_d000)
            .int(2, 0)
            .int(3, 0)
            .build();
        let frames = [
            Frame::new(1, Message::Handshake(Handshake::Guest { name: b"t\0" })),
            Frame::new(
                2,
                Message::Syscall(SyscallReq {
                    sysnum: 20,
                    args: &[],
                }),
            ),
            Frame::new(
                3,
                Message::Syscall(SyscallReq {
                    sysnum: 4,
                    args: &write,
                }),
            ),
            Frame::new(
                4,
                Message::Syscall(SyscallReq {
                    sysnum: 468,
                    args: &openat,
                }),
            ),
        ];
        for f in &frames {
            stream.extend_from_slice(&f.to_vec(Abi::Lp64Le));
        }
        let steps = steps_from_stream(&stream);
        let calls: Vec<(Option<u16>, [u32; 6])> = steps
            .iter()
            .map(|s| match s {
                Step::Call { any, args, .. } => (*any, *args),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(calls.len(), 3, "the handshake is not a call");
        assert_eq!(calls[0].0, Some(20));
        assert_eq!(calls[1].0, Some(4));
        assert_eq!(slot(calls[1].1[0]), 1, "the descriptor is kept");
        assert_eq!(slot(calls[1].1[2]), 5, "the count is kept");
        assert!(
            slot(calls[1].1[1]) < 0x1_0000,
            "the pointer names a buffer here"
        );
        assert_eq!(calls[2].0, Some(468));
        assert_eq!(slot(calls[2].1[0]) as i32, -100, "AT_FDCWD is kept");
    }
}
