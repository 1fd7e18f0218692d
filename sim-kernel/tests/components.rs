//! Kernels booted with other components than the default: without `vfs`
//! every file-system syscall is ENOSYS before it reads an argument, and the
//! sysctl tree has no vfs children (conformance/traces/net/nofs_fstypes.jsonl).

use rumpsp_protocol::kernel::{CallMemory, Kernel, SyscallStep};
use rumpsp_protocol::{Abi, SyscallArgs};
use rumpsp_sim_kernel::local::{run_syscall, LocalMemory, Outcome};
use rumpsp_sim_kernel::{Components, SimConfig, SimKernel};

const ENOENT: i32 = 2;
const ENOSYS: i32 = 78;

fn kernel(components: &str) -> (SimKernel, i32) {
    let mut k = SimKernel::new(SimConfig {
        components: components.parse().unwrap(),
        ..SimConfig::default()
    });
    let pid = k.spawn_guest(b"test\0").unwrap();
    (k, pid)
}

fn args(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The first step of a syscall with no client memory fetched.
fn first_step(k: &mut SimKernel, pid: i32, nr: u32, words: &[u64]) -> SyscallStep {
    let a = args(words);
    k.syscall(
        pid,
        nr,
        SyscallArgs::new(&a, Abi::Lp64Le),
        &CallMemory::default(),
    )
}

fn errno(k: &mut SimKernel, mem: &mut LocalMemory, pid: i32, nr: u32, words: &[u64]) -> (i32, i64) {
    match run_syscall(k, mem, pid, nr, &args(words)) {
        Outcome::Done(d) => (d.error, d.retval[0]),
        Outcome::Blocked => panic!("syscall {nr} blocked"),
    }
}

#[test]
fn without_vfs_file_system_calls_are_enosys_before_reading_their_path() {
    let (mut k, pid) = kernel("net,inet");
    // open("/x", O_RDONLY), mkdir, unlink, stat, chdir: ENOSYS at once, no COPYINSTR.
    for (nr, slots) in [(5, 3), (136, 2), (10, 1), (439, 2), (12, 1), (60, 1)] {
        let words = vec![0x1000u64; slots];
        match first_step(&mut k, pid, nr, &words) {
            SyscallStep::Done(d) => assert_eq!(d.error, ENOSYS, "syscall {nr}"),
            other => panic!("syscall {nr}: {other:?}"),
        }
    }
    // The same open on a kernel with file systems asks for the path first.
    let (mut fs, fpid) = kernel("vfs,tmpfs");
    assert!(matches!(
        first_step(&mut fs, fpid, 5, &[0x1000, 0, 0]),
        SyscallStep::Need(_)
    ));
}

#[test]
fn without_vfs_pipes_work_but_lseek_even_on_a_pipe_is_enosys() {
    let (mut k, pid) = kernel("net");
    let mut mem = LocalMemory::default();
    let (e, r) = errno(&mut k, &mut mem, pid, 42, &[]);
    assert_eq!((e, r), (0, 3), "pipe");
    assert_eq!(errno(&mut k, &mut mem, pid, 199, &[3, 0, 0, 0]).0, ENOSYS);
    assert_eq!(errno(&mut k, &mut mem, pid, 41, &[3]), (0, 5), "dup");
    // The socket calls belong to librumpnet: present here, absent without it.
    let (mut bare, bpid) = kernel("vfs,tmpfs");
    assert_eq!(
        errno(&mut bare, &mut mem, bpid, 394, &[2, 1, 0]).0,
        ENOSYS,
        "socket without net"
    );
}

/// CTL_QUERY of `mib` (without the trailing CTL_QUERY): (errno, child names).
fn query(k: &mut SimKernel, pid: i32, mib: &[i32]) -> (i32, Vec<String>) {
    let mut mem = LocalMemory::default();
    let mut name: Vec<u8> = mib.iter().flat_map(|c| c.to_le_bytes()).collect();
    name.extend((-2i32).to_le_bytes());
    let (name_at, old_at, len_at, new_at) = (0x1000u64, 0x10_0000u64, 0x2000u64, 0x3000u64);
    mem.write(name_at, &name);
    mem.write(len_at, &(64u64 * 96).to_le_bytes());
    let mut q = vec![0u8; 96];
    q[0..4].copy_from_slice(&0x0100_0000u32.to_le_bytes());
    mem.write(new_at, &q);
    let words = [name_at, mib.len() as u64 + 1, old_at, len_at, new_at, 96];
    let Outcome::Done(d) = run_syscall(k, &mut mem, pid, 202, &args(&words)) else {
        panic!("blocked");
    };
    let names = d
        .copyouts
        .iter()
        .filter(|(a, _)| *a != len_at)
        .flat_map(|(_, data)| data.chunks_exact(96).map(|n| n[8..40].to_vec()))
        .map(|n| {
            String::from_utf8_lossy(&n[..n.iter().position(|&b| b == 0).unwrap_or(32)]).into_owned()
        })
        .collect();
    (d.error, names)
}

#[test]
fn without_vfs_the_vfs_sysctl_node_is_empty_and_vfs_generic_is_gone() {
    let (mut k, pid) = kernel("net,inet");
    assert_eq!(query(&mut k, pid, &[3]), (0, vec![]));
    assert_eq!(query(&mut k, pid, &[3, 0]).0, ENOENT);
    let (e, vm) = query(&mut k, pid, &[2]);
    assert_eq!(
        (e, vm.len()),
        (0, 0),
        "vm's buffer-cache nodes are librumpvfs's"
    );
    let (_, kern) = query(&mut k, pid, &[1]);
    assert!(!kern.iter().any(|n| n == "buf"), "kern.buf is vfs_bio's");
    // With file systems vfs.generic is there.
    let (mut fs, fpid) = kernel("vfs,tmpfs");
    let (e, vfs) = query(&mut fs, fpid, &[3]);
    assert_eq!(e, 0);
    assert!(vfs.iter().any(|n| n == "generic"), "{vfs:?}");
    assert!(query(&mut fs, fpid, &[1]).1.iter().any(|n| n == "buf"));
}

#[test]
fn the_default_components_are_rump_server_with_file_systems() {
    assert_eq!(SimConfig::default().components, Components::FILE_SYSTEMS);
    assert_eq!(Components::default().to_string(), "vfs,tmpfs");
}
