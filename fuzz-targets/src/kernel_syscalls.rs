//! Arbitrary syscall sequences straight into the simulated kernel, for several
//! processes (with fork, exec and exit among them), checking the kernel's
//! invariants after every call: descriptor tables and open-file counts, pipe
//! ends, link counts, directory structure, the process tree.

use arbitrary::{Arbitrary, Unstructured};
use rumpsp_protocol::kernel::Kernel;
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

/// The target.
pub fn run(input: &[u8]) {
    let mut u = Unstructured::new(input);
    let Ok(steps) = Vec::<Step>::arbitrary(&mut u) else {
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

/// The steps an input decodes to (for reading a crash reproducer).
pub fn describe(input: &[u8]) -> String {
    let mut u = Unstructured::new(input);
    format!("{:#?}", Vec::<Step>::arbitrary(&mut u))
}
