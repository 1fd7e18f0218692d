//! Support levels (`sys::PARTIAL`, `sys::support`): no syscall listed as full
//! only returns a constant. Every full syscall is called with a pool of
//! argument sets in two differently prepared kernels; one whose answer
//! (errno, return values and the client memory afterwards) is the same for
//! all of them ignores both its arguments and the kernel's state, and must be
//! listed as partial, or below as a call NetBSD itself answers with a constant.

mod common;

use common::*;
use rumpsp_protocol::kernel::Kernel;
use rumpsp_sim_kernel::local::LocalMemory;
use rumpsp_sim_kernel::sys::{support, Support, PARTIAL, TABLE};

/// Calls whose NetBSD implementation answers the same whatever it is given:
/// sync (`sys_sync` calls `do_sys_sync` and returns 0; tmpfs_sync has
/// nothing to write back).
const CONSTANT_IN_NETBSD: &[u32] = &[36];

const SETGID: u32 = 181;
const SETSID: u32 = 147;
const AT_FDCWD: u64 = -100i64 as u64;

/// What one call did: errno, both return values, and the client memory.
type Answer = (i32, i64, i64, LocalMemory);

/// A kernel with every component prepared in one of two ways (`variant` 0 or 1: another caller
/// process in a session of its own, other credentials, file contents and
/// umask, a later clock),
/// with the same addresses for the same argument data in both; returns it
/// and the argument sets.
fn prepared(variant: u8) -> (T, Vec<[u64; 6]>) {
    // Every component, so the socket calls are in the kernel too.
    let mut t = T::with_config(rumpsp_sim_kernel::SimConfig {
        components: "vfs,tmpfs,net,local,inet,inet6,fifo"
            .parse()
            .expect("every component"),
        ..Default::default()
    });
    if variant == 1 {
        // A child of the test process (another pid and parent pid).
        t.pid = t.k.prefork(t.pid).expect("a child process");
        t.ok(nr::DUP, &[0]);
        t.ok(nr::UMASK, &[0o077]);
        // Its own session and process group (getpgrp, getsid, getpgid).
        t.ok(SETSID, &[]);
        let ts = t.put(&[1u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        t.ok(nr::NANOSLEEP, &[ts, 0]);
    }
    let (e, fd) = t.open("/tmp/f", O_RDWR | O_CREAT, 0o644);
    assert_eq!(e, 0);
    let data: &[u8] = if variant == 0 {
        b"hello"
    } else {
        b"other text"
    };
    t.write(fd, data);
    t.ok(nr::LSEEK, &[fd as u64, 0, 0, 0]);
    t.mkdir("/tmp/d", 0o755);
    if variant == 1 {
        t.ok(SETGID, &[100]);
        t.ok(nr::SETUID, &[1000]);
    }
    // Argument data at the same addresses in both variants, in a client
    // memory that holds nothing else.
    t.mem = LocalMemory::default();
    let mut at = 0x80_0000u64;
    let mut put = |mem: &mut LocalMemory, data: &[u8]| {
        let a = at;
        mem.write(a, data);
        at += (data.len() as u64 + 64).next_multiple_of(64);
        a
    };
    let p_f = put(&mut t.mem, b"/tmp/f\0");
    let p_new = put(&mut t.mem, b"/tmp/new\0");
    let p_d = put(&mut t.mem, b"/tmp/d\0");
    let buf = put(&mut t.mem, &[0; 4096]);
    let lenp = put(&mut t.mem, &64u64.to_le_bytes());
    let mib = put(&mut t.mem, &[1, 0, 0, 0, 10, 0, 0, 0]);
    let mut iov = buf.to_le_bytes().to_vec();
    iov.extend_from_slice(&16u64.to_le_bytes());
    let iov = put(&mut t.mem, &iov);
    let ts = put(
        &mut t.mem,
        &[0, 0, 0, 0, 0, 0, 0, 0, 0xe8, 3, 0, 0, 0, 0, 0, 0],
    );
    let fd = fd as u64;
    let sets = vec![
        [0; 6],
        [fd, buf, 16, 0, 0, 0],
        [fd, 3, 0, 0, 0, 0],
        [fd, 0x4004_667f, buf, 0, 0, 0],
        [p_f, 2, 0o644, 0, 0, 0],
        [p_f, buf, 64, 0, 0, 0],
        [p_new, p_d, 0o755, 0, 0, 0],
        [p_d, 0o700, 1, 0, 0, 0],
        [AT_FDCWD, p_f, buf, 0, 0, 0],
        [AT_FDCWD, p_new, 0o644, 0, 0, 0],
        [AT_FDCWD, p_f, AT_FDCWD, p_new, 0, 0],
        [fd, iov, 1, 0, 0, 0],
        [mib, 2, buf, lenp, 0, 0],
        [ts, buf, 0, 0, 0, 0],
        [0, ts, 0, 0, 0, 0],
        [1, buf, 4096, 0, 0, 0],
        [4, buf, 1, 0, 0, 0],
        [u64::MAX, u64::MAX, u64::MAX, 0, 0, 0],
    ];
    (t, sets)
}

/// The answers of syscall `nr` to every argument set in both variants, each
/// in a fresh kernel.
fn answers(nr: u32) -> Vec<Answer> {
    let mut out = Vec::new();
    for variant in [0, 1] {
        let n = prepared(variant).1.len();
        for i in 0..n {
            let (mut t, sets) = prepared(variant);
            let (e, r0, r1) = t.sys(nr, &sets[i]);
            out.push((e, r0, r1, t.mem.clone()));
        }
    }
    out
}

/// Whether a syscall answered alike to everything.
fn constant(nr: u32) -> bool {
    let a = answers(nr);
    a.windows(2).all(|w| w[0] == w[1])
}

#[test]
fn the_probe_tells_a_constant_from_a_call_that_depends_on_its_input() {
    assert!(constant(36), "sync answers 0 to anything");
    assert!(!constant(20), "getpid depends on the caller");
    assert!(!constant(3), "read depends on its arguments");
    assert!(
        !constant(427),
        "clock_gettime depends on the clock id and the time"
    );
}

#[test]
fn no_syscall_listed_as_full_only_returns_a_constant() {
    let mut constant_full = Vec::new();
    for (nr, name, _) in TABLE {
        if support(*nr) == Support::Full && !CONSTANT_IN_NETBSD.contains(nr) && constant(*nr) {
            constant_full.push(format!("{nr} {name}"));
        }
    }
    assert!(
        constant_full.is_empty(),
        "these full syscalls answer a constant: list them in sys::PARTIAL: {constant_full:?}"
    );
}

#[test]
fn the_constant_exceptions_are_full_and_really_constant() {
    for nr in CONSTANT_IN_NETBSD {
        assert_eq!(support(*nr), Support::Full, "{nr}");
        assert!(constant(*nr), "{nr} is not constant: drop it from the list");
        assert!(PARTIAL.iter().all(|(n, _)| n != nr));
    }
}
