//! kern.msgbuf and kern.pool as the recorded real kernel answers them
//! (traces/real/sysctl_walk.jsonl): the boot messages copied out as a ring
//! in two COPYOUTs (sysctl_msgbuf), the pool records one COPYOUT each
//! (pool_sysctl).

mod common;

use common::*;
use rumpsp_sim_kernel::local::{run_syscall, Outcome};

/// Runs __sysctl(mib, oldp, oldlen, newp, newlen): (errno, *oldlenp after,
/// the copyouts other than the one of *oldlenp).
fn sysctl(
    t: &mut T,
    mib: &[i32],
    old: Option<usize>,
    oldlen: u64,
    newp: u64,
) -> (i32, u64, Vec<(u64, Vec<u8>)>) {
    let name: Vec<u8> = mib.iter().flat_map(|c| c.to_le_bytes()).collect();
    let name = t.put(&name);
    let oldp = old.map_or(0, |n| t.buf(n));
    let lenp = t.put(&oldlen.to_le_bytes());
    let args: Vec<u8> = [
        name,
        mib.len() as u64,
        oldp,
        lenp,
        newp,
        if newp != 0 { 4 } else { 0 },
    ]
    .iter()
    .flat_map(|a| a.to_le_bytes())
    .collect();
    let pid = t.pid;
    let Outcome::Done(d) = run_syscall(&mut t.k, &mut t.mem, pid, nr::SYSCTL, &args) else {
        panic!("blocked");
    };
    let reported = u64::from_le_bytes(t.mem.read(lenp, 8).unwrap().try_into().unwrap());
    let data = d.copyouts.into_iter().filter(|(a, _)| *a != lenp).collect();
    (d.error, reported, data)
}

#[test]
fn kern_msgbuf_gives_the_boot_messages_from_the_write_pointer_round() {
    let mut t = T::new();
    let (e, size, outs) = sysctl(&mut t, &[1, 53], None, 0, 0);
    assert_eq!(
        (e, size, outs.len()),
        (0, 16352, 0),
        "a probe: the whole buffer"
    );
    let (e, reported, outs) = sysctl(&mut t, &[1, 53], Some(16352), 16352, 0);
    assert_eq!((e, reported), (0, 16352));
    let lens: Vec<usize> = outs.iter().map(|(_, d)| d.len()).collect();
    assert_eq!(lens, [15710, 642], "the capture's two COPYOUTs");
    assert!(outs[0].1.iter().all(|&b| b == 0));
    assert_eq!(outs[1].0, outs[0].0 + 15710);
    let text = String::from_utf8(outs[1].1.clone()).unwrap();
    assert!(text.contains("NetBSD 7.99.34 (RUMP-ROAST)\n"), "{text}");
    assert!(text.contains("root file system type: rumpfs\n"));
}

#[test]
fn kern_msgbuf_keeps_the_callers_length_and_refuses_a_new_value() {
    let mut t = T::new();
    // A short buffer: only the ring's first part, *oldlenp unchanged.
    let (e, reported, outs) = sysctl(&mut t, &[1, 53], Some(100), 100, 0);
    assert_eq!((e, reported), (0, 100));
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].1, vec![0; 100]);
    // A longer one: the whole ring, and the caller's length reported back.
    let (e, reported, outs) = sysctl(&mut t, &[1, 53], Some(20000), 20000, 0);
    assert_eq!((e, reported), (0, 20000));
    assert_eq!(outs.iter().map(|o| o.1.len()).sum::<usize>(), 16352);
    let newp = t.put(&[0; 4]);
    assert_eq!(sysctl(&mut t, &[1, 53], Some(16), 16, newp).0, EPERM);
}

#[test]
fn kern_pool_gives_one_record_per_pool_and_only_whole_ones() {
    let mut t = T::new();
    let (e, size, _) = sysctl(&mut t, &[1, 1031], None, 0, 0);
    assert_eq!((e, size), (0, 91 * 224));
    let (e, reported, outs) = sysctl(&mut t, &[1, 1031], Some(91 * 224), 91 * 224, 0);
    assert_eq!((e, reported, outs.len()), (0, 91 * 224, 91));
    assert!(outs.iter().all(|(_, d)| d.len() == 224));
    let names: Vec<String> = outs
        .iter()
        .map(|(_, d)| {
            let n = d[..16].split(|&b| b == 0).next().unwrap();
            String::from_utf8_lossy(n).into_owned()
        })
        .collect();
    assert_eq!(names[0], "biopl");
    assert!(names.contains(&"tmpfs_node".to_owned()));
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted by name");
    // 500 bytes: two whole records, the length written reported, no ENOMEM.
    let (e, reported, outs) = sysctl(&mut t, &[1, 1031], Some(500), 500, 0);
    assert_eq!((e, reported, outs.len()), (0, 448, 2));
}
