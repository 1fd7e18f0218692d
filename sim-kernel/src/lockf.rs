//! Advisory locks, one list per vnode, as `lf_advlock` keeps them
//! (sys/kern/vfs_lockf.c): POSIX record locks owned by a process (fcntl) and
//! flock(2) locks owned by an open file, in one list, so the two kinds
//! conflict with each other. Two locks conflict when their owners differ,
//! their ranges overlap and one of them is exclusive (`lf_getblock`). A
//! process's own locks never block it: a new lock replaces the part of its
//! own locks it covers (`lf_setlock`'s cases 1-5, without coalescing
//! neighbours), and an unlock cuts its own locks (`lf_clearlock`).

use std::collections::BTreeMap;

use rumpsp_protocol::kernel::Pid;

use crate::proc::FileId;
use crate::vfs::NodeId;

/// A shared lock.
pub const F_RDLCK: i16 = 1;
/// An unlock.
pub const F_UNLCK: i16 = 2;
/// An exclusive lock.
pub const F_WRLCK: i16 = 3;
/// A lock end that reaches the end of the file, however it grows (`lf_end == -1`).
pub const TO_EOF: i64 = i64::MAX;
/// `maxlockdepth`: the longest chain of waiters the deadlock check follows.
const MAX_LOCK_DEPTH: usize = 50;

/// Who holds a lock (`lf_id` with F_POSIX or F_FLOCK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    /// A process's fcntl record lock.
    Posix(Pid),
    /// An open file's flock lock.
    Flock(FileId),
}

/// One lock: a byte range (inclusive; `end` [`TO_EOF`] for the rest of the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    /// Its owner.
    pub owner: Owner,
    /// First byte.
    pub start: i64,
    /// Last byte, or [`TO_EOF`].
    pub end: i64,
    /// [`F_RDLCK`] or [`F_WRLCK`] ([`F_UNLCK`] only in a request).
    pub ty: i16,
}

impl Lock {
    fn overlaps(&self, o: &Lock) -> bool {
        self.start <= o.end && o.start <= self.end
    }
}

/// Every vnode's locks, and the requests processes wait with (F_SETLKW).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locks {
    /// Locks per vnode, ordered by start.
    pub nodes: BTreeMap<NodeId, Vec<Lock>>,
    /// The request each process sleeps with in F_SETLKW, for the deadlock check.
    pub waiting: BTreeMap<Pid, (NodeId, Lock)>,
}

impl Locks {
    /// Whether the vnode has no lock at all (`*head == NULL`).
    pub fn none_on(&self, node: NodeId) -> bool {
        self.nodes.get(&node).is_none_or(|l| l.is_empty())
    }

    /// `lf_getblock`: the first lock (by start) of another owner that the
    /// request conflicts with.
    pub fn blocker(&self, node: NodeId, req: &Lock) -> Option<Lock> {
        self.nodes.get(&node)?.iter().copied().find(|l| {
            l.owner != req.owner && l.overlaps(req) && (l.ty == F_WRLCK || req.ty == F_WRLCK)
        })
    }

    /// `lf_setlock` once nothing blocks: the request becomes a lock, replacing
    /// what its owner held in its range (a lock of the same type that already
    /// covers the range is left as it is).
    pub fn set(&mut self, node: NodeId, req: Lock) {
        let list = self.nodes.entry(node).or_default();
        if list.iter().any(|l| {
            l.owner == req.owner && l.ty == req.ty && l.start <= req.start && l.end >= req.end
        }) {
            return;
        }
        cut(list, req.owner, req.start, req.end);
        let at = list.partition_point(|l| l.start <= req.start);
        list.insert(at, req);
    }

    /// `lf_clearlock`: the owner's locks lose the range; true if any changed.
    pub fn clear(&mut self, node: NodeId, owner: Owner, start: i64, end: i64) -> bool {
        let Some(list) = self.nodes.get_mut(&node) else {
            return false;
        };
        let before = list.clone();
        cut(list, owner, start, end);
        let changed = *list != before;
        if list.is_empty() {
            self.nodes.remove(&node);
        }
        changed
    }

    /// Drops every lock of `owner`; the vnodes whose locks changed.
    pub fn release(&mut self, owner: Owner) -> Vec<NodeId> {
        let mut changed = Vec::new();
        for (node, list) in self.nodes.iter_mut() {
            let n = list.len();
            list.retain(|l| l.owner != owner);
            if list.len() != n {
                changed.push(*node);
            }
        }
        self.nodes.retain(|_, l| !l.is_empty());
        changed
    }

    /// `lf_setlock`'s deadlock check for process `me` blocked by `blocker`:
    /// follow the chain of POSIX owners each waiting for a lock the next one
    /// holds; a chain back to `me`, or longer than `maxlockdepth`, is a deadlock.
    pub fn deadlock(&self, me: Pid, blocker: &Lock) -> bool {
        let Owner::Posix(mut p) = blocker.owner else {
            return false;
        };
        for _ in 0..MAX_LOCK_DEPTH {
            let Some((node, req)) = self.waiting.get(&p) else {
                return false;
            };
            match self.blocker(*node, req).map(|b| b.owner) {
                Some(Owner::Posix(q)) if q == me => return true,
                Some(Owner::Posix(q)) => p = q,
                _ => return false,
            }
        }
        true
    }
}

/// Removes `[start, end]` from `owner`'s locks in `list`, splitting a lock
/// that reaches past both ends.
fn cut(list: &mut Vec<Lock>, owner: Owner, start: i64, end: i64) {
    let mut out = Vec::with_capacity(list.len() + 1);
    for l in list.drain(..) {
        if l.owner != owner || l.start > end || start > l.end {
            out.push(l);
            continue;
        }
        if l.start < start {
            out.push(Lock {
                end: start - 1,
                ..l
            });
        }
        if l.end > end {
            out.push(Lock {
                start: end + 1,
                ..l
            });
        }
    }
    out.sort_by_key(|l| l.start);
    *list = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lk(owner: Owner, start: i64, end: i64, ty: i16) -> Lock {
        Lock {
            owner,
            start,
            end,
            ty,
        }
    }

    #[test]
    fn a_new_lock_splits_the_owners_lock_and_others_see_the_pieces() {
        let mut l = Locks::default();
        let p = Owner::Posix(2);
        l.set(1, lk(p, 0, 19, F_RDLCK));
        l.set(1, lk(p, 5, 9, F_WRLCK));
        let got: Vec<(i64, i64, i16)> =
            l.nodes[&1].iter().map(|x| (x.start, x.end, x.ty)).collect();
        assert_eq!(got, [(0, 4, F_RDLCK), (5, 9, F_WRLCK), (10, 19, F_RDLCK)]);
        let q = lk(Owner::Posix(3), 0, TO_EOF, F_RDLCK);
        assert_eq!(l.blocker(1, &q).map(|b| (b.start, b.end)), Some((5, 9)));
        assert!(l.clear(1, p, 0, TO_EOF));
        assert!(l.none_on(1));
    }

    #[test]
    fn deadlock_follows_the_chain_of_waiters() {
        let mut l = Locks::default();
        l.set(1, lk(Owner::Posix(2), 0, 0, F_WRLCK));
        l.set(1, lk(Owner::Posix(3), 1, 1, F_WRLCK));
        // 3 waits for byte 0 (held by 2); 2 asking for byte 1 (held by 3) deadlocks.
        l.waiting.insert(3, (1, lk(Owner::Posix(3), 0, 0, F_WRLCK)));
        let b = l.blocker(1, &lk(Owner::Posix(2), 1, 1, F_WRLCK)).unwrap();
        assert!(l.deadlock(2, &b));
        l.waiting.clear();
        assert!(!l.deadlock(2, &b));
    }
}
