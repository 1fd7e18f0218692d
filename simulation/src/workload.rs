//! What the simulated clients do: random mixes of file, directory, pipe,
//! socket (AF_LOCAL and TCP over loopback, with a forked child: `sockets`),
//! sysctl, fork and exec operations, each checked as it returns.
//!
//! Every client works below its own directory `/tmp/c<i>g<g>` (g counts the
//! connections it has lost), so operations of different clients commute and
//! the reference model can follow each of them in its own order. The
//! directory entries of all clients share `/tmp`, and every client shares the
//! server, its process table and the kernel's locks of the moment.
//!
//! A second thread of each process makes read-only calls (getpid, sysctl,
//! clock_gettime) on the same connection meanwhile; it pauses while the main
//! thread execs and is joined before the process closes its connection.
//!
//! A path operation is applied to the model before it is sent; the errno the
//! kernel returns must equal the model's. When the connection breaks with
//! the call in flight, the client cannot know whether it ran: its directory's
//! state before the call is kept as the one alternative the final check also
//! accepts, and the client continues in a fresh directory.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use rumpsp_protocol::client::{Arg, CallOutcome};
use rumpsp_protocol::netbsd::{parse_dirents, StatBuf};
use rumpsp_protocol::{ErrorCode, HandshakeKind, PreforkCookie};
use rumpsp_sim_kernel::clock::Rng;
use rumpsp_sim_kernel::consts::{
    CLOCK_MONOTONIC, EBADF, EFAULT, ENOTDIR, EPIPE, F_GETFD, O_CLOEXEC, O_CREAT, O_DIRECTORY,
    O_TRUNC, O_WRONLY,
};
use rumpsp_sim_kernel::model::{Entry, FsModel, ModelPath, Op};

use crate::net::below;
use crate::task::{Proc, Reply, Request};

mod sockets;

/// NetBSD syscall numbers the workload uses.
pub mod nr {
    /// read
    pub const READ: u32 = 3;
    /// write
    pub const WRITE: u32 = 4;
    /// open
    pub const OPEN: u32 = 5;
    /// close
    pub const CLOSE: u32 = 6;
    /// unlink
    pub const UNLINK: u32 = 10;
    /// getpid
    pub const GETPID: u32 = 20;
    /// getppid
    pub const GETPPID: u32 = 39;
    /// fcntl
    pub const FCNTL: u32 = 92;
    /// rename
    pub const RENAME: u32 = 128;
    /// mkdir
    pub const MKDIR: u32 = 136;
    /// rmdir
    pub const RMDIR: u32 = 137;
    /// pread
    pub const PREAD: u32 = 173;
    /// __sysctl
    pub const SYSCTL: u32 = 202;
    /// __clock_gettime50
    pub const CLOCK_GETTIME: u32 = 427;
    /// __getdents30
    pub const GETDENTS: u32 = 390;
    /// __stat50
    pub const STAT: u32 = 439;
    /// pipe2
    pub const PIPE2: u32 = 453;
    /// accept
    pub const ACCEPT: u32 = 30;
    /// getsockname
    pub const GETSOCKNAME: u32 = 32;
    /// connect
    pub const CONNECT: u32 = 98;
    /// bind
    pub const BIND: u32 = 104;
    /// listen
    pub const LISTEN: u32 = 106;
    /// socketpair
    pub const SOCKETPAIR: u32 = 135;
    /// __socket30
    pub const SOCKET: u32 = 394;
}

/// State the clients share with the checkers.
#[derive(Debug, Default)]
pub struct Shared {
    /// The reference model of everything below /tmp.
    pub model: FsModel,
    /// Per client directory: its state before a call whose fate is unknown.
    pub uncertain: BTreeMap<String, BTreeMap<ModelPath, Entry>>,
    /// Checker failures seen by the clients.
    pub violations: Vec<String>,
    /// kern.hostname as booted.
    pub hostname: String,
    /// Operations completed, by kind.
    pub ops: BTreeMap<&'static str, u64>,
}

/// The shared state, as the tasks hold it.
pub type SharedRef = Rc<RefCell<Shared>>;

/// Why an operation stopped.
#[derive(Debug)]
enum Fail {
    /// An errno no check expected.
    Errno(i32),
    /// The connection is gone (or given up after a call timed out in the server).
    Lost,
    /// A check failed.
    Bad(String),
}

type R<T> = Result<T, Fail>;

/// A successful syscall.
struct Sys {
    rv: [i64; 2],
    bufs: Vec<Vec<u8>>,
}

async fn sys(p: &Proc, nr: u32, args: Vec<Arg>) -> R<Sys> {
    match p.call(Request::Syscall { nr, args }).await {
        Reply::Done(CallOutcome::Syscall {
            errno: 0,
            retval,
            buffers,
        }) => Ok(Sys {
            rv: retval,
            bufs: buffers,
        }),
        // the network held memory traffic up past the server's COPYIN timeout: the
        // call failed without running; the client gives the connection up
        Reply::Done(CallOutcome::Syscall { errno: EFAULT, .. }) if p.long_stalls() > 0 => {
            Err(Fail::Lost)
        }
        Reply::Done(CallOutcome::Syscall { errno, .. }) => Err(Fail::Errno(errno)),
        Reply::Transport(_) => Err(Fail::Lost),
        other => Err(Fail::Bad(format!("syscall {nr} answered with {other:?}"))),
    }
}

/// The errno of a syscall result (0: success); loss and failed checks pass through.
fn errno(r: &R<Sys>) -> R<i32> {
    match r {
        Ok(_) => Ok(0),
        Err(Fail::Errno(e)) => Ok(*e),
        Err(Fail::Lost) => Err(Fail::Lost),
        Err(Fail::Bad(m)) => Err(Fail::Bad(m.clone())),
    }
}

fn s(path: &str) -> Arg {
    Arg::Str(path.as_bytes().to_vec())
}

fn full(p: &[String]) -> String {
    format!("/tmp/{}", p.join("/"))
}

fn expect(cond: bool, what: impl FnOnce() -> String) -> R<()> {
    if cond {
        Ok(())
    } else {
        Err(Fail::Bad(what()))
    }
}

/// How a process's main thread steers its second thread.
#[derive(Debug, Default)]
struct HelperCtl {
    /// Stop issuing calls for now (an EXEC is coming: no other thread may be in a call).
    pause: Cell<bool>,
    /// A call is in flight.
    busy: Cell<bool>,
    /// Finish.
    stop: Cell<bool>,
    /// Finished.
    done: Cell<bool>,
}

/// The second thread of a client process: read-only calls (getpid, sysctl,
/// clock_gettime) on the process's connection while the main thread works,
/// so that the server has several calls of one connection in flight at once.
async fn helper(p: Proc, ctl: Rc<HelperCtl>, sh: SharedRef, name: String, mut rng: Rng) {
    while !ctl.stop.get() {
        if ctl.pause.get() {
            wait_until(&p, || !ctl.pause.get() || ctl.stop.get()).await;
            continue;
        }
        ctl.busy.set(true);
        let r = match below(&mut rng, 3) {
            0 => sys(&p, nr::GETPID, vec![])
                .await
                .and_then(|r| expect(r.rv[0] > 1, || format!("getpid answered {}", r.rv[0]))),
            1 => {
                let args = vec![Arg::Int(CLOCK_MONOTONIC), Arg::Out(16)];
                sys(&p, nr::CLOCK_GETTIME, args).await.map(drop)
            }
            _ => match sysctl_string(&p, &[1, 10]).await {
                Ok(h) => expect(h == sh.borrow().hostname.as_bytes(), || {
                    format!("kern.hostname is {:?}", String::from_utf8_lossy(&h))
                }),
                Err(e) => Err(e),
            },
        };
        ctl.busy.set(false);
        match r {
            Ok(()) => {}
            // until the main thread has reconnected
            Err(Fail::Lost) => {
                p.call(Request::Sleep(50_000)).await;
            }
            Err(Fail::Errno(e)) => {
                sh.borrow_mut()
                    .violations
                    .push(format!("{name}: unexpected errno {e}"));
                break;
            }
            Err(Fail::Bad(m)) => {
                sh.borrow_mut().violations.push(format!("{name}: {m}"));
                break;
            }
        }
        let think = below(&mut rng, 2_000);
        p.call(Request::Sleep(think)).await;
    }
    ctl.done.set(true);
}

/// One simulated client process (its main thread).
struct Worker {
    p: Proc,
    helper: Rc<HelperCtl>,
    sh: SharedRef,
    rng: Rng,
    name: String,
    owner: String,
    pid: i64,
}

impl Worker {
    fn below(&mut self, n: u64) -> u64 {
        below(&mut self.rng, n)
    }

    fn rand_path(&mut self) -> ModelPath {
        let mut p = vec![self.owner.clone()];
        for _ in 0..1 + self.below(3) {
            p.push(["a", "b", "c"][self.below(3) as usize].to_owned());
        }
        p
    }

    fn count(&self, op: &'static str) {
        *self.sh.borrow_mut().ops.entry(op).or_default() += 1;
    }

    /// A path operation: model first, then the kernel; their errno must agree.
    async fn mutate(&mut self, op: Op, nr: u32, args: Vec<Arg>) -> R<Option<Sys>> {
        // Only this thread changes this client's directory, so the model can be
        // fed after the answer: a lost call keeps the state before it as the
        // alternative, and the model takes the call as done.
        let r = sys(&self.p, nr, args).await;
        let got = errno(&r);
        let mut sh = self.sh.borrow_mut();
        if let Err(Fail::Lost) = got {
            let before = sh.model.subtree(std::slice::from_ref(&self.owner));
            sh.uncertain.insert(self.owner.clone(), before);
        }
        let want = sh.model.apply(&op);
        let got = got?;
        expect(got == want, || {
            format!("{op:?}: the kernel says errno {got}, the model {want}")
        })?;
        Ok(r.ok())
    }

    fn lookup(&self, p: &[String]) -> Result<Entry, i32> {
        self.sh.borrow().model.lookup(p).cloned()
    }

    async fn connect(&mut self) -> R<()> {
        let r = self
            .p
            .call(Request::Connect {
                kind: HandshakeKind::Guest,
                name: self.name.as_bytes().to_vec(),
                cookie: None,
            })
            .await;
        match r {
            Reply::Done(CallOutcome::Handshake(0)) => {}
            Reply::Transport(_) => return Err(Fail::Lost),
            other => return Err(Fail::Bad(format!("GUEST handshake answered {other:?}"))),
        }
        self.pid = sys(&self.p, nr::GETPID, vec![]).await?.rv[0];
        let root = vec![self.owner.clone()];
        let made = self
            .mutate(
                Op::Mkdir(root.clone()),
                nr::MKDIR,
                vec![s(&full(&root)), Arg::Int(0o755)],
            )
            .await?;
        expect(made.is_some(), || format!("mkdir {} failed", full(&root)))
    }

    async fn op_mkdir(&mut self) -> R<()> {
        let p = self.rand_path();
        let args = vec![s(&full(&p)), Arg::Int(0o755)];
        self.mutate(Op::Mkdir(p), nr::MKDIR, args).await.map(drop)
    }

    async fn op_rmdir(&mut self) -> R<()> {
        let p = self.rand_path();
        let args = vec![s(&full(&p))];
        self.mutate(Op::Rmdir(p), nr::RMDIR, args).await.map(drop)
    }

    async fn op_unlink(&mut self) -> R<()> {
        let p = self.rand_path();
        let args = vec![s(&full(&p))];
        self.mutate(Op::Unlink(p), nr::UNLINK, args).await.map(drop)
    }

    async fn op_rename(&mut self) -> R<()> {
        let (a, b) = (self.rand_path(), self.rand_path());
        let args = vec![s(&full(&a)), s(&full(&b))];
        self.mutate(Op::Rename(a, b), nr::RENAME, args)
            .await
            .map(drop)
    }

    /// open(O_CREAT|O_TRUNC), write the contents, close.
    async fn op_create(&mut self, cloexec: bool) -> R<Option<i32>> {
        let p = self.rand_path();
        let n = self.below(300) as usize;
        let data = self.rng.bytes(n);
        let flags = O_WRONLY | O_CREAT | O_TRUNC | if cloexec { O_CLOEXEC } else { 0 };
        let args = vec![s(&full(&p)), Arg::Int(flags), Arg::Int(0o644)];
        let Some(opened) = self
            .mutate(Op::Create(p.clone(), vec![]), nr::OPEN, args)
            .await?
        else {
            return Ok(None);
        };
        let fd = opened.rv[0] as i32;
        let args = vec![Arg::Int(fd), Arg::In(data.clone()), Arg::Word(n as u64)];
        let w = self
            .mutate(Op::Create(p.clone(), data), nr::WRITE, args)
            .await?;
        let wrote = w.map_or(-1, |w| w.rv[0]);
        expect(wrote == n as i64, || {
            format!("write of {n} bytes to {} returned {wrote}", full(&p))
        })?;
        if cloexec {
            return Ok(Some(fd));
        }
        sys(&self.p, nr::CLOSE, vec![Arg::Int(fd)]).await?;
        Ok(None)
    }

    /// open, pread everything, close: the contents must be the model's.
    async fn op_read(&mut self) -> R<()> {
        let p = self.rand_path();
        let want = self.lookup(&p);
        let r = sys(
            &self.p,
            nr::OPEN,
            vec![s(&full(&p)), Arg::Int(0), Arg::Int(0)],
        )
        .await;
        let got = errno(&r)?;
        expect(got == want.as_ref().err().copied().unwrap_or(0), || {
            format!("open {} for reading: errno {got}, model {want:?}", full(&p))
        })?;
        let Ok(opened) = r else { return Ok(()) };
        let fd = opened.rv[0] as i32;
        if let Ok(Entry::File(data)) = &want {
            let n = data.len() + 16;
            let args = vec![
                Arg::Int(fd),
                Arg::Out(n),
                Arg::Word(n as u64),
                Arg::Int(0),
                Arg::Word(0),
            ];
            let got = sys(&self.p, nr::PREAD, args).await?;
            let mut buf = got.bufs.into_iter().next().unwrap_or_default();
            buf.truncate(got.rv[0].max(0) as usize);
            expect(buf == *data, || {
                format!(
                    "{} holds {} bytes, the model {}",
                    full(&p),
                    buf.len(),
                    data.len()
                )
            })?;
        }
        sys(&self.p, nr::CLOSE, vec![Arg::Int(fd)]).await.map(drop)
    }

    async fn op_stat(&mut self) -> R<()> {
        let p = self.rand_path();
        let want = self.lookup(&p);
        let args = vec![s(&full(&p)), Arg::Out(StatBuf::SIZE)];
        let r = sys(&self.p, nr::STAT, args).await;
        let got = errno(&r)?;
        expect(got == want.as_ref().err().copied().unwrap_or(0), || {
            format!("stat {}: errno {got}, model {want:?}", full(&p))
        })?;
        let (Ok(st), Ok(entry)) = (r, want) else {
            return Ok(());
        };
        let st = st.bufs.first().and_then(|b| StatBuf::decode(b));
        let st = st.ok_or_else(|| Fail::Bad("stat returned a short struct".into()))?;
        match entry {
            Entry::Dir => expect(st.is_dir(), || format!("{} is not a directory", full(&p))),
            Entry::File(d) => expect(!st.is_dir() && st.size == d.len() as i64, || {
                format!("stat {}: size {}, model {}", full(&p), st.size, d.len())
            }),
        }
    }

    /// Lists a directory with getdents: the names must be the model's.
    async fn op_list(&mut self) -> R<()> {
        let p = if self.below(2) == 0 {
            vec![self.owner.clone()]
        } else {
            self.rand_path()
        };
        let want_errno = match self.lookup(&p) {
            Ok(Entry::Dir) => 0,
            Ok(Entry::File(_)) => ENOTDIR,
            Err(e) => e,
        };
        let r = sys(
            &self.p,
            nr::OPEN,
            vec![s(&full(&p)), Arg::Int(O_DIRECTORY), Arg::Int(0)],
        )
        .await;
        let got = errno(&r)?;
        expect(got == want_errno, || {
            format!(
                "open {} as a directory: errno {got}, model {want_errno}",
                full(&p)
            )
        })?;
        let Ok(opened) = r else { return Ok(()) };
        let fd = opened.rv[0] as i32;
        let mut names = Vec::new();
        for _ in 0..64 {
            let args = vec![Arg::Int(fd), Arg::Out(512), Arg::Word(512)];
            let got = sys(&self.p, nr::GETDENTS, args).await?;
            let mut buf = got.bufs.into_iter().next().unwrap_or_default();
            buf.truncate(got.rv[0].max(0) as usize);
            if buf.is_empty() {
                break;
            }
            names.extend(
                parse_dirents(&buf)
                    .into_iter()
                    .map(|d| String::from_utf8_lossy(&d.name).into_owned())
                    .filter(|n| n != "." && n != ".."),
            );
        }
        names.sort();
        let want = self.sh.borrow().model.children(&p);
        expect(names == want, || {
            format!("{} lists {names:?}, the model {want:?}", full(&p))
        })?;
        sys(&self.p, nr::CLOSE, vec![Arg::Int(fd)]).await.map(drop)
    }

    async fn pipe(&mut self) -> R<(i32, i32)> {
        let r = sys(&self.p, nr::PIPE2, vec![Arg::Out(8), Arg::Int(0)]).await?;
        let b = r.bufs.into_iter().next().unwrap_or_default();
        let fd = |i: usize| {
            b.get(i..i + 4)
                .and_then(|x| x.try_into().ok())
                .map_or(-1, i32::from_le_bytes)
        };
        Ok((fd(0), fd(4)))
    }

    /// A pipe within one process: what goes in comes out.
    async fn op_pipe(&mut self) -> R<()> {
        let (r, w) = self.pipe().await?;
        let n = 1 + self.below(512) as usize;
        let data = self.rng.bytes(n);
        write_all(&self.p, w, &data).await?;
        let got = read_some(&self.p, r, n).await?;
        expect(got == data, || {
            format!("pipe gave back {} of {n} bytes", got.len())
        })?;
        sys(&self.p, nr::CLOSE, vec![Arg::Int(r)]).await?;
        sys(&self.p, nr::CLOSE, vec![Arg::Int(w)]).await.map(drop)
    }

    /// PREFORK, then a child process on its own connection reads from a pipe the parent writes.
    async fn op_fork(&mut self, child_no: u64) -> R<()> {
        // faults from here on may take the parent's write end away before it writes
        // (one injected earlier would have broken the link before the pipe existed)
        let parent_faults = self.p.faults();
        let parent_stalls = self.p.long_stalls_ever();
        let (r, w) = self.pipe().await?;
        let cookie = match self.p.call(Request::Prefork).await {
            Reply::Done(CallOutcome::Prefork(c)) => c,
            Reply::Transport(_) => return Err(Fail::Lost),
            other => return Err(Fail::Bad(format!("PREFORK answered {other:?}"))),
        };
        let n = 1 + self.below(512) as usize;
        let data = self.rng.bytes(n);
        let child = Child {
            cookie,
            parent: self.p.clone(),
            parent_faults,
            parent_stalls,
            ppid: self.pid,
            r,
            w,
            data: data.clone(),
            name: format!("{}.f{child_no}", self.name),
            sh: self.sh.clone(),
        };
        let child = self.p.spawn(
            child.name.clone(),
            move |p| async move { child.run(p).await },
        );
        sys(&self.p, nr::CLOSE, vec![Arg::Int(r)]).await?;
        match write_all(&self.p, w, &data).await {
            // the child's connection broke and its process took the last read end along
            Err(Fail::Errno(EPIPE)) if child.faults() > 0 => {}
            other => other?,
        }
        sys(&self.p, nr::CLOSE, vec![Arg::Int(w)]).await.map(drop)
    }

    /// EXEC: close-on-exec descriptors go, the others and the pid stay.
    async fn op_exec(&mut self, n: u64) -> R<()> {
        let Some(fd1) = self.op_create(true).await? else {
            return Ok(());
        };
        let dir = full(std::slice::from_ref(&self.owner));
        let fd2 = sys(
            &self.p,
            nr::OPEN,
            vec![s(&dir), Arg::Int(O_DIRECTORY), Arg::Int(0)],
        )
        .await?
        .rv[0] as i32;
        let name = format!("{}.x{n}", self.name).into_bytes();
        // exec replaces the program: no other thread may be inside a call
        self.helper.pause.set(true);
        wait_until(&self.p, || !self.helper.busy.get()).await;
        let r = self.p.call(Request::Exec(name)).await;
        self.helper.pause.set(false);
        match r {
            Reply::Done(CallOutcome::Handshake(0)) => {}
            Reply::Transport(_) => return Err(Fail::Lost),
            other => return Err(Fail::Bad(format!("EXEC answered {other:?}"))),
        }
        let pid = sys(&self.p, nr::GETPID, vec![]).await?.rv[0];
        expect(pid == self.pid, || {
            format!("exec changed the pid {} to {pid}", self.pid)
        })?;
        let r = sys(
            &self.p,
            nr::FCNTL,
            vec![Arg::Int(fd1), Arg::Int(F_GETFD), Arg::Int(0)],
        )
        .await;
        let e = errno(&r)?;
        expect(e == EBADF, || {
            format!("close-on-exec fd {fd1} after exec: errno {e}")
        })?;
        let flags = sys(
            &self.p,
            nr::FCNTL,
            vec![Arg::Int(fd2), Arg::Int(F_GETFD), Arg::Int(0)],
        )
        .await?
        .rv[0];
        expect(flags == 0, || {
            format!("fd {fd2} has F_GETFD {flags} after exec")
        })?;
        sys(&self.p, nr::CLOSE, vec![Arg::Int(fd2)]).await.map(drop)
    }

    async fn op_sysctl(&mut self) -> R<()> {
        let host = sysctl_string(&self.p, &[1, 10]).await?;
        let want = self.sh.borrow().hostname.clone();
        expect(host == want.as_bytes(), || {
            format!("kern.hostname is {:?}", String::from_utf8_lossy(&host))
        })?;
        let os = sysctl_string(&self.p, &[1, 1]).await?;
        expect(os == b"NetBSD", || {
            format!("kern.ostype is {:?}", String::from_utf8_lossy(&os))
        })
    }

    async fn op_getpid(&mut self) -> R<()> {
        let pid = sys(&self.p, nr::GETPID, vec![]).await?.rv[0];
        expect(pid == self.pid, || {
            format!("getpid {pid}, connected as {}", self.pid)
        })
    }

    async fn random_op(&mut self, step: u64) -> R<()> {
        let pick = self.below(106);
        let (kind, r) = match pick {
            0..=13 => ("mkdir", self.op_mkdir().await),
            14..=33 => ("create", self.op_create(false).await.map(drop)),
            34..=42 => ("unlink", self.op_unlink().await),
            43..=49 => ("rmdir", self.op_rmdir().await),
            50..=58 => ("rename", self.op_rename().await),
            59..=67 => ("read", self.op_read().await),
            68..=72 => ("stat", self.op_stat().await),
            73..=79 => ("list", self.op_list().await),
            80..=84 => ("pipe", self.op_pipe().await),
            85..=89 => ("fork", self.op_fork(step).await),
            90..=93 => ("exec", self.op_exec(step).await),
            94..=96 => ("sysctl", self.op_sysctl().await),
            97..=99 => ("getpid", self.op_getpid().await),
            100..=102 => ("local", self.op_local(step).await),
            _ => ("tcp", self.op_tcp(step).await),
        };
        if r.is_ok() {
            self.count(kind);
        }
        r.map_err(|e| match e {
            Fail::Bad(m) => Fail::Bad(format!("{kind}: {m}")),
            Fail::Errno(n) => Fail::Bad(format!("{kind}: unexpected errno {n}")),
            other => other,
        })
    }
}

/// Sleeps until `cond` holds, checking after 100 µs, then ever less often (up to every 50 ms).
async fn wait_until(p: &Proc, cond: impl Fn() -> bool) {
    let mut nap = 100;
    while !cond() {
        p.call(Request::Sleep(nap)).await;
        nap = (nap * 2).min(50_000);
    }
}

async fn write_all(p: &Proc, fd: i32, data: &[u8]) -> R<()> {
    let args = vec![
        Arg::Int(fd),
        Arg::In(data.to_vec()),
        Arg::Word(data.len() as u64),
    ];
    let n = sys(p, nr::WRITE, args).await?.rv[0];
    expect(n == data.len() as i64, || {
        format!("pipe write of {} bytes returned {n}", data.len())
    })
}

async fn read_some(p: &Proc, fd: i32, n: usize) -> R<Vec<u8>> {
    let r = sys(
        p,
        nr::READ,
        vec![Arg::Int(fd), Arg::Out(n), Arg::Word(n as u64)],
    )
    .await?;
    let mut b = r.bufs.into_iter().next().unwrap_or_default();
    b.truncate(r.rv[0].max(0) as usize);
    Ok(b)
}

async fn sysctl_string(p: &Proc, mib: &[i32]) -> R<Vec<u8>> {
    let name: Vec<u8> = mib.iter().flat_map(|m| m.to_le_bytes()).collect();
    let args = vec![
        Arg::In(name),
        Arg::Int(mib.len() as i32),
        Arg::Out(256),
        Arg::InOut(256u64.to_le_bytes().to_vec()),
        Arg::Null,
        Arg::Word(0),
    ];
    let r = sys(p, nr::SYSCTL, args).await?;
    let mut v = r.bufs.into_iter().next().unwrap_or_default();
    if let Some(end) = v.iter().position(|&b| b == 0) {
        v.truncate(end);
    }
    Ok(v)
}

/// The child side of a fork: reads what the parent writes into the shared pipe.
struct Child {
    cookie: PreforkCookie,
    parent: Proc,
    parent_faults: u64,
    parent_stalls: u64,
    ppid: i64,
    r: i32,
    w: i32,
    data: Vec<u8>,
    name: String,
    sh: SharedRef,
}

impl Child {
    async fn run(self, p: Proc) {
        let connect = Request::Connect {
            kind: HandshakeKind::Fork,
            name: self.name.as_bytes().to_vec(),
            cookie: Some(self.cookie),
        };
        let r = match p.call(connect).await {
            Reply::Done(CallOutcome::Handshake(0)) => self.body(&p).await,
            Reply::Transport(_) => Err(Fail::Lost),
            // stalls past the COPYIN timeout on the way there (the PREFORK answer,
            // the child's banner) can outlast the prefork's 60 s: it expired
            Reply::Done(CallOutcome::Protocol(ErrorCode::InvalidPrefork))
                if self.parent.long_stalls_ever() > self.parent_stalls
                    || p.long_stalls_ever() > 0 =>
            {
                Err(Fail::Lost)
            }
            other => Err(Fail::Bad(format!("FORK handshake answered {other:?}"))),
        };
        match r {
            Ok(()) | Err(Fail::Lost) => {}
            Err(Fail::Errno(e)) => self.complain(format!("unexpected errno {e}")),
            Err(Fail::Bad(m)) => self.complain(m),
        }
        let _ = p.call(Request::Close).await;
    }

    async fn body(&self, p: &Proc) -> R<()> {
        let ppid = sys(p, nr::GETPPID, vec![]).await?.rv[0];
        expect(ppid == self.ppid || ppid == 1, || {
            format!("getppid {ppid}, parent {}", self.ppid)
        })?;
        sys(p, nr::CLOSE, vec![Arg::Int(self.w)]).await?;
        let got = read_some(p, self.r, self.data.len()).await?;
        let parent_lost = self.parent.faults() > self.parent_faults;
        expect(got == self.data || (got.is_empty() && parent_lost), || {
            format!(
                "read {} of the {} bytes the parent wrote",
                got.len(),
                self.data.len()
            )
        })?;
        sys(p, nr::CLOSE, vec![Arg::Int(self.r)]).await.map(drop)
    }

    fn complain(&self, m: String) {
        self.sh
            .borrow_mut()
            .violations
            .push(format!("{}: {m}", self.name));
    }
}

/// A client process: `steps` random operations, reconnecting after each lost connection.
pub async fn client(p: Proc, sh: SharedRef, index: usize, steps: u64, seed: u64) {
    let ctl = Rc::new(HelperCtl::default());
    let mut w = Worker {
        p,
        helper: ctl.clone(),
        sh,
        rng: Rng::new(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        name: format!("c{index}"),
        owner: String::new(),
        pid: 0,
    };
    let (sh, name) = (w.sh.clone(), format!("c{index}.t1"));
    let rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 1);
    w.p.spawn_thread(move |p| async move { helper(p, ctl, sh, name, rng).await });
    let mut generation = 0;
    let mut connected = false;
    for step in 0..steps {
        let r = if connected {
            w.random_op(step).await
        } else {
            w.owner = format!("c{index}g{generation}");
            let r = w.connect().await;
            connected = r.is_ok();
            r
        };
        match r {
            Ok(()) => {}
            Err(Fail::Lost) => {
                w.p.call(Request::Close).await;
                connected = false;
                generation += 1;
            }
            Err(Fail::Errno(e)) => {
                w.complain(step, format!("unexpected errno {e}"));
                break;
            }
            Err(Fail::Bad(m)) => {
                w.complain(step, m);
                break;
            }
        }
        let think = w.below(1_000);
        w.p.call(Request::Sleep(think)).await;
    }
    w.helper.stop.set(true);
    wait_until(&w.p, || w.helper.done.get()).await;
    if connected {
        w.p.call(Request::Close).await;
    }
}

impl Worker {
    fn complain(&self, step: u64, m: String) {
        self.sh
            .borrow_mut()
            .violations
            .push(format!("{} ({}) step {step}: {m}", self.name, self.owner));
    }
}
