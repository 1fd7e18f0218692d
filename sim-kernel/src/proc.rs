//! Processes, open files and pipes.

use std::collections::{BTreeMap, VecDeque};

use rumpsp_protocol::kernel::Pid;

use crate::consts::{BIG_PIPE_SIZE, PIPE_SIZE};
use crate::vfs::{Cred, NodeId};

/// Open-file identifier.
pub type FileId = u64;
/// Pipe identifier.
pub type PipeId = u64;

/// What an open file refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A file-system node.
    Node(NodeId),
    /// The read end of a pipe.
    PipeRead(PipeId),
    /// The write end of a pipe.
    PipeWrite(PipeId),
    /// The rump console (`rumpkern/cons.c`): a DTYPE_MISC file, not a vnode,
    /// open for writing only, on fds 0, 1 and 2 of every new process.
    Console,
    /// A kqueue (DTYPE_KQUEUE), in [`crate::kqueue::Kqueues`].
    Kqueue(crate::kqueue::KqId),
    /// A socket (DTYPE_SOCKET).
    Socket(crate::net::SockId),
}

/// An open file, shared by the descriptors that dup'ed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFile {
    /// The object.
    pub kind: FileKind,
    /// O_* flags including the access mode.
    pub flags: i32,
    /// File offset (a directory cookie for directories).
    pub offset: u64,
    /// Descriptors referring to it.
    pub refs: u32,
}

/// A descriptor slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fd {
    /// The open file.
    pub file: FileId,
    /// FD_CLOEXEC.
    pub cloexec: bool,
}

/// A process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Parent pid.
    pub ppid: Pid,
    /// Command name (at most 16 bytes).
    pub comm: Vec<u8>,
    /// Credentials.
    pub cred: Cred,
    /// Current directory.
    pub cwd: NodeId,
    /// File creation mask.
    pub umask: u32,
    /// Descriptor table.
    pub fds: BTreeMap<i32, Fd>,
    /// Credentials changed since the process started (issetugid).
    pub sugid: bool,
    /// Resource limits (soft, hard) by RLIMIT_* number.
    pub rlimits: [Rlimit; crate::consts::RLIM_NLIMITS],
    /// Process group.
    pub pgid: Pid,
    /// Session (the pid of its leader).
    pub sid: Pid,
    /// Root directory set by chroot/fchroot (`None`: the file system root).
    pub root: Option<NodeId>,
}

/// One resource limit (`struct rlimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    /// Soft limit (rlim_cur).
    pub cur: u64,
    /// Hard limit (rlim_max).
    pub max: u64,
}

/// The limits every process of the recorded kernel starts with
/// (proc.curproc.rlimit in `sysctl_walk.txt`).
pub const BOOT_RLIMITS: [Rlimit; crate::consts::RLIM_NLIMITS] = {
    const INF: u64 = crate::consts::RLIM_INFINITY;
    const fn l(cur: u64, max: u64) -> Rlimit {
        Rlimit { cur, max }
    }
    [
        l(INF, INF),                 // cputime
        l(INF, INF),                 // filesize
        l(INF, INF),                 // datasize
        l(4_194_304, 134_217_728),   // stacksize
        l(INF, INF),                 // coredumpsize
        l(INF, INF),                 // memoryuse
        l(178_956_970, 536_870_912), // memorylocked
        l(160, 532),                 // maxproc
        l(128, 1772),                // descriptors
        l(INF, INF),                 // sbsize
        l(INF, INF),                 // vmemoryuse
        l(160, 2048),                // maxlwp
    ]
};

/// A process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pgrp {
    /// Its session.
    pub sid: Pid,
    /// Processes in it (pgrp 0 also counts proc0, which never leaves).
    pub members: u32,
}

/// A session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// s_login: the login name, NUL-padded.
    pub login: [u8; crate::consts::MAXLOGNAME],
    /// Process groups in it.
    pub pgrps: u32,
}

impl Process {
    /// How many descriptors it may have: the RLIMIT_NOFILE soft limit, at
    /// most maxfiles (fd_alloc, dodup, fcntl F_DUPFD).
    pub fn nofile(&self) -> i32 {
        self.rlimits[crate::consts::RLIMIT_NOFILE]
            .cur
            .min(crate::consts::MAXFILES) as i32
    }

    /// The lowest free descriptor at or above `from`, below `limit`.
    pub fn lowest_free(&self, from: i32, limit: i32) -> Option<i32> {
        (from.max(0)..limit).find(|fd| !self.fds.contains_key(fd))
    }
}

/// A pipe buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipe {
    /// Buffered bytes.
    pub buf: VecDeque<u8>,
    /// Open read ends.
    pub readers: u32,
    /// Open write ends.
    pub writers: u32,
    /// pipe_write resized the buffer to BIG_PIPE_SIZE (a write of more than
    /// PIPE_SIZE bytes found it empty).
    pub big: bool,
}

impl Pipe {
    /// The buffer size: PIPE_SIZE, or BIG_PIPE_SIZE once resized.
    pub fn capacity(&self) -> usize {
        if self.big {
            BIG_PIPE_SIZE
        } else {
            PIPE_SIZE
        }
    }
}

/// `p_comm`: the name up to its first NUL, 16 significant characters.
pub fn comm_from(name: &[u8]) -> Vec<u8> {
    let n = name.split(|&b| b == 0).next().unwrap_or_default();
    n[..n.len().min(16)].to_vec()
}

/// Open files, descriptors, processes and pipes together.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// Live processes.
    pub procs: BTreeMap<Pid, Process>,
    /// Open files.
    pub files: BTreeMap<FileId, OpenFile>,
    /// Pipes.
    pub pipes: BTreeMap<PipeId, Pipe>,
    /// Next pid.
    pub next_pid: Pid,
    /// Next open-file id.
    pub next_file: FileId,
    /// Next pipe id.
    pub next_pipe: PipeId,
    /// Children of each process (so an exit re-parents without scanning every process).
    pub children: BTreeMap<Pid, std::collections::BTreeSet<Pid>>,
    /// Process groups by id.
    pub pgrps: BTreeMap<Pid, Pgrp>,
    /// Sessions by id.
    pub sessions: BTreeMap<Pid, Session>,
    /// Sockets.
    pub sockets: BTreeMap<crate::net::SockId, crate::net::Socket>,
    /// Next socket id.
    pub next_sock: crate::net::SockId,
    /// The socket bound to each socket node (`v_socket`).
    pub vsock: BTreeMap<NodeId, crate::net::SockId>,
    /// Bytes a blocked send call has sent so far, by call.
    pub send_progress: BTreeMap<crate::TimedWait, usize>,
    /// `unp_ino`: the next fake inode number of an AF_LOCAL socket.
    pub next_unp_ino: u64,
    /// Open FIFOs (fifofs's `v_fifoinfo`) by node.
    pub fifos: BTreeMap<NodeId, crate::net::fifo::FifoInfo>,
}

impl Tables {
    /// Adds a process to group `pgid` (which must exist).
    pub fn join_pgrp(&mut self, pgid: Pid) {
        if let Some(g) = self.pgrps.get_mut(&pgid) {
            g.members += 1;
        }
    }

    /// Takes a process out of group `pgid`; the last member takes the group
    /// with it, and the last group its session (pgdelete, proc_sessrele).
    pub fn leave_pgrp(&mut self, pgid: Pid) {
        let Some(g) = self.pgrps.get_mut(&pgid) else {
            return;
        };
        g.members = g.members.saturating_sub(1);
        if g.members > 0 {
            return;
        }
        let sid = g.sid;
        self.pgrps.remove(&pgid);
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.pgrps = s.pgrps.saturating_sub(1);
            if s.pgrps == 0 {
                self.sessions.remove(&sid);
            }
        }
    }

    /// Records a new process's parent.
    pub fn adopt(&mut self, parent: Pid, child: Pid) {
        self.children.entry(parent).or_default().insert(child);
    }

    /// Forgets a parent link.
    pub fn disown(&mut self, parent: Pid, child: Pid) {
        if let Some(set) = self.children.get_mut(&parent) {
            set.remove(&child);
            if set.is_empty() {
                self.children.remove(&parent);
            }
        }
    }

    /// Allocates an open file with one reference.
    pub fn new_file(&mut self, kind: FileKind, flags: i32) -> FileId {
        let id = self.next_file;
        self.next_file += 1;
        self.files.insert(
            id,
            OpenFile {
                kind,
                flags,
                offset: 0,
                refs: 1,
            },
        );
        id
    }
}
