//! The end-of-run checkers: every request answered or lost to a fault, the
//! file tree equal to the reference model, nothing left behind.

use std::collections::{BTreeMap, BTreeSet};

use rumpsp_protocol::server::ServerCore;
use rumpsp_sim_kernel::model::{tree_of, Entry, ModelPath};
use rumpsp_sim_kernel::SimKernel;

use crate::workload::Shared;
use crate::world::Stats;

/// Every request got exactly one answer, or its connection broke first.
pub fn answers(stats: &Stats) -> Result<(), String> {
    if stats.calls == stats.answered + stats.lost {
        Ok(())
    } else {
        Err(format!(
            "{} requests sent, {} answered, {} lost with their connection",
            stats.calls, stats.answered, stats.lost
        ))
    }
}

/// After every client has gone (and unredeemed preforks have expired): no
/// connection, prefork, process but init, open file, pipe or socket (so no
/// half-open connection) is left, and the kernel's own invariants hold.
pub fn leftovers(core: &ServerCore<SimKernel>) -> Vec<String> {
    let mut v = Vec::new();
    if core.connection_count() > 0 {
        v.push(format!(
            "{} connections still open",
            core.connection_count()
        ));
    }
    if core.prefork_count() > 0 {
        v.push(format!("{} preforks left", core.prefork_count()));
    }
    let k = core.kernel();
    let procs: Vec<i32> = k.t.procs.keys().copied().filter(|p| *p != 1).collect();
    if !procs.is_empty() {
        v.push(format!("processes left: {procs:?}"));
    }
    if !k.t.files.is_empty() {
        v.push(format!("{} open files left", k.t.files.len()));
    }
    if !k.t.pipes.is_empty() {
        v.push(format!("{} pipes left", k.t.pipes.len()));
    }
    if !k.t.sockets.is_empty() {
        v.push(format!("{} sockets left", k.t.sockets.len()));
    }
    if let Err(e) = k.check_invariants() {
        v.push(format!("kernel invariant: {e}"));
    }
    v
}

/// The kernel's tree below /tmp equals the model's, client directory by
/// client directory; a directory whose last call was lost may instead equal
/// its state before that call.
pub fn file_tree(core: &ServerCore<SimKernel>, sh: &Shared) -> Vec<String> {
    let vfs = &core.kernel().vfs;
    let Some(tmp) = vfs.child(vfs.root, b"tmp") else {
        return vec!["/tmp is gone".into()];
    };
    let kernel = tree_of(vfs, tmp);
    let owners: BTreeSet<&String> = kernel
        .entries
        .keys()
        .chain(sh.model.entries.keys())
        .filter_map(|k| k.first())
        .chain(sh.uncertain.keys())
        .collect();
    let mut v = Vec::new();
    for owner in owners {
        let o = [owner.clone()];
        let k = kernel.subtree(&o);
        let m = sh.model.subtree(&o);
        if k == m || sh.uncertain.get(owner) == Some(&k) {
            continue;
        }
        v.push(format!(
            "/tmp/{owner} differs from the model: {}",
            first_difference(&k, &m)
        ));
    }
    v
}

fn first_difference(k: &BTreeMap<ModelPath, Entry>, m: &BTreeMap<ModelPath, Entry>) -> String {
    let show = |e: Option<&Entry>| match e {
        None => "absent".to_string(),
        Some(Entry::Dir) => "a directory".to_string(),
        Some(Entry::File(d)) => format!("a file of {} bytes", d.len()),
    };
    let keys: BTreeSet<&ModelPath> = k.keys().chain(m.keys()).collect();
    keys.into_iter()
        .find(|p| k.get(*p) != m.get(*p))
        .map(|p| {
            format!(
                "/tmp/{} is {} in the kernel, {} in the model",
                p.join("/"),
                show(k.get(p)),
                show(m.get(p))
            )
        })
        .unwrap_or_default()
}
