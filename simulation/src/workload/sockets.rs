//! Socket operations of the simulated clients, each between a process and a
//! child it forks (PREFORK, then the child's own connection), all traffic
//! inside the kernel:
//! * `local`: an AF_LOCAL stream socketpair; the child writes, the parent
//!   echoes the bytes back reversed, the child checks them;
//! * `tcp`: a TCP listener of the parent on 127.0.0.1 at a kernel-chosen
//!   port; the child connects over loopback, writes and closes; the parent
//!   accepts, reads to EOF and checks the bytes.
//!
//! A side whose connection breaks takes its process, and so its sockets,
//! along: the other side then sees EOF or a refused connection, which it
//! accepts only when a fault explains it.

use std::cell::Cell;
use std::rc::Rc;

use rumpsp_protocol::client::{Arg, CallOutcome};
use rumpsp_protocol::{ErrorCode, HandshakeKind, PreforkCookie};
use rumpsp_sim_kernel::consts::{EAGAIN, EPIPE, F_SETFL};
use rumpsp_sim_kernel::net::errno::{ECONNREFUSED, ECONNRESET};
use rumpsp_sim_kernel::net::{AF_INET, AF_LOCAL, SOCK_NONBLOCK, SOCK_STREAM};

use super::{expect, nr, read_some, sys, write_all, Fail, SharedRef, Worker, R};
use crate::task::{Proc, Reply, Request};

/// The kernel's ephemeral port range (anonportmin..anonportmax).
const EPHEMERAL: std::ops::RangeInclusive<u16> = 49152..=65535;

/// A `sockaddr_in` for 127.0.0.1:`port`.
fn loopback(port: u16) -> Vec<u8> {
    let mut v = vec![16, AF_INET as u8];
    v.extend(port.to_be_bytes());
    v.extend([127, 0, 0, 1]);
    v.extend([0; 8]);
    v
}

/// Reads from `fd` until `want` bytes or EOF.
async fn read_to(p: &Proc, fd: i32, want: usize) -> R<Vec<u8>> {
    let mut got = Vec::new();
    while got.len() < want {
        let piece = read_some(p, fd, want - got.len()).await?;
        if piece.is_empty() {
            break;
        }
        got.extend(piece);
    }
    Ok(got)
}

/// The forked side of a socket operation.
struct Peer {
    cookie: PreforkCookie,
    parent: Proc,
    parent_faults: u64,
    parent_stalls: u64,
    name: String,
    sh: SharedRef,
    data: Vec<u8>,
    /// Set when the child has finished, whatever the outcome.
    done: Rc<Cell<bool>>,
}

impl Peer {
    /// Shakes hands as the forked child, runs `body`, reports, closes.
    async fn run<F, Fut>(self, p: Proc, body: F)
    where
        F: FnOnce(Proc, Rc<Peer>) -> Fut,
        Fut: std::future::Future<Output = R<()>>,
    {
        let connect = Request::Connect {
            kind: HandshakeKind::Fork,
            name: self.name.as_bytes().to_vec(),
            cookie: Some(self.cookie),
        };
        let me = Rc::new(self);
        let r = match p.call(connect).await {
            Reply::Done(CallOutcome::Handshake(0)) => body(p.clone(), me.clone()).await,
            Reply::Transport(_) => Err(Fail::Lost),
            Reply::Done(CallOutcome::Protocol(ErrorCode::InvalidPrefork))
                if me.parent.long_stalls_ever() > me.parent_stalls || p.long_stalls_ever() > 0 =>
            {
                Err(Fail::Lost)
            }
            other => Err(Fail::Bad(format!("FORK handshake answered {other:?}"))),
        };
        match r {
            Ok(()) | Err(Fail::Lost) => {}
            Err(Fail::Errno(e)) => me.complain(format!("unexpected errno {e}")),
            Err(Fail::Bad(m)) => me.complain(m),
        }
        let _ = p.call(Request::Close).await;
        me.done.set(true);
    }

    fn parent_lost(&self) -> bool {
        self.parent.faults() > self.parent_faults
    }

    fn complain(&self, m: String) {
        self.sh
            .borrow_mut()
            .violations
            .push(format!("{}: {m}", self.name));
    }
}

impl Worker {
    /// PREFORK: the cookie, or why there is none.
    async fn prefork(&mut self) -> R<PreforkCookie> {
        match self.p.call(Request::Prefork).await {
            Reply::Done(CallOutcome::Prefork(c)) => Ok(c),
            Reply::Transport(_) => Err(Fail::Lost),
            other => Err(Fail::Bad(format!("PREFORK answered {other:?}"))),
        }
    }

    /// The child's side; `before` is the parent's (faults, long stalls) as
    /// the operation began: a fault noted since may have taken the parent's
    /// sockets away (one noted earlier broke the link before they existed).
    fn peer(
        &mut self,
        before: (u64, u64),
        cookie: PreforkCookie,
        what: &str,
        n: u64,
        data: Vec<u8>,
    ) -> Peer {
        Peer {
            cookie,
            parent: self.p.clone(),
            parent_faults: before.0,
            parent_stalls: before.1,
            name: format!("{}.{what}{n}", self.name),
            sh: self.sh.clone(),
            data,
            done: Rc::new(Cell::new(false)),
        }
    }

    /// An AF_LOCAL stream socketpair shared with a forked child: the child
    /// writes, the parent sends the bytes back reversed.
    pub(super) async fn op_local(&mut self, n: u64) -> R<()> {
        let before = (self.p.faults(), self.p.long_stalls_ever());
        let r = sys(
            &self.p,
            nr::SOCKETPAIR,
            vec![
                Arg::Int(AF_LOCAL),
                Arg::Int(SOCK_STREAM),
                Arg::Int(0),
                Arg::Out(8),
            ],
        )
        .await?;
        let b = r.bufs.into_iter().next().unwrap_or_default();
        let fd = |i: usize| {
            b.get(i..i + 4)
                .and_then(|x| x.try_into().ok())
                .map_or(-1, i32::from_le_bytes)
        };
        let (mine, theirs) = (fd(0), fd(4));
        let cookie = self.prefork().await?;
        let len = 1 + self.below(2048) as usize;
        let data = self.rng.bytes(len);
        let peer = self.peer(before, cookie, "l", n, data.clone());
        let child = self.p.spawn(peer.name.clone(), move |p| async move {
            peer.run(p, move |p, me| async move {
                sys(&p, nr::CLOSE, vec![Arg::Int(mine)]).await?;
                match write_all(&p, theirs, &me.data).await {
                    // the parent's process went with its connection, and its end too
                    Err(Fail::Errno(EPIPE)) if me.parent_lost() => {}
                    other => other?,
                }
                let back = read_to(&p, theirs, me.data.len()).await?;
                let want: Vec<u8> = me.data.iter().rev().copied().collect();
                expect(
                    back == want || (me.parent_lost() && want.starts_with(&back)),
                    || format!("read back {} of {} reversed bytes", back.len(), want.len()),
                )?;
                sys(&p, nr::CLOSE, vec![Arg::Int(theirs)]).await.map(drop)
            })
            .await
        });
        sys(&self.p, nr::CLOSE, vec![Arg::Int(theirs)]).await?;
        let got = read_to(&self.p, mine, len).await?;
        let child_lost = child.faults() > 0;
        expect(
            got == data || (child_lost && data.starts_with(&got)),
            || format!("the socketpair gave {} of the {len} bytes", got.len()),
        )?;
        let back: Vec<u8> = got.iter().rev().copied().collect();
        if !back.is_empty() && !child_lost {
            match write_all(&self.p, mine, &back).await {
                // the child's process went with its connection meanwhile
                Err(Fail::Errno(EPIPE)) if child.faults() > 0 => {}
                other => other?,
            }
        }
        sys(&self.p, nr::CLOSE, vec![Arg::Int(mine)])
            .await
            .map(drop)
    }

    /// A TCP connection over loopback from a forked child to a listener of
    /// this process at a port the kernel chose.
    pub(super) async fn op_tcp(&mut self, n: u64) -> R<()> {
        let before = (self.p.faults(), self.p.long_stalls_ever());
        let l = sys(
            &self.p,
            nr::SOCKET,
            vec![
                Arg::Int(AF_INET),
                Arg::Int(SOCK_STREAM | SOCK_NONBLOCK),
                Arg::Int(0),
            ],
        )
        .await?
        .rv[0] as i32;
        sys(
            &self.p,
            nr::BIND,
            vec![Arg::Int(l), Arg::In(loopback(0)), Arg::Int(16)],
        )
        .await?;
        sys(&self.p, nr::LISTEN, vec![Arg::Int(l), Arg::Int(1)]).await?;
        let r = sys(
            &self.p,
            nr::GETSOCKNAME,
            vec![
                Arg::Int(l),
                Arg::Out(16),
                Arg::InOut(16u32.to_le_bytes().to_vec()),
            ],
        )
        .await?;
        let name = r.bufs.into_iter().next().unwrap_or_default();
        let port = name
            .get(2..4)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
        expect(EPHEMERAL.contains(&port), || {
            format!("the kernel chose port {port} for a bind to port 0")
        })?;
        let cookie = self.prefork().await?;
        let len = 1 + self.below(8192) as usize;
        let data = self.rng.bytes(len);
        let peer = self.peer(before, cookie, "t", n, data.clone());
        let done = peer.done.clone();
        let child = self.p.spawn(peer.name.clone(), move |p| async move {
            peer.run(p, move |p, me| async move {
                sys(&p, nr::CLOSE, vec![Arg::Int(l)]).await?;
                let s = sys(
                    &p,
                    nr::SOCKET,
                    vec![Arg::Int(AF_INET), Arg::Int(SOCK_STREAM), Arg::Int(0)],
                )
                .await?
                .rv[0] as i32;
                let addr = vec![Arg::Int(s), Arg::In(loopback(port)), Arg::Int(16)];
                match sys(&p, nr::CONNECT, addr).await {
                    // the parent's process went with its connection, and its listener too
                    Err(Fail::Errno(ECONNREFUSED)) if me.parent_lost() => {}
                    other => {
                        other?;
                        match write_all(&p, s, &me.data).await {
                            Err(Fail::Errno(EPIPE | ECONNRESET)) if me.parent_lost() => {}
                            other => other?,
                        }
                    }
                }
                sys(&p, nr::CLOSE, vec![Arg::Int(s)]).await.map(drop)
            })
            .await
        });
        // accept without blocking: a child lost before it connects never
        // will. An EAGAIN tells about the queue when the server ran the call:
        // only one sent after the child finished says it never connected.
        let a = loop {
            let finished = done.get();
            match sys(&self.p, nr::ACCEPT, vec![Arg::Int(l), Arg::Null, Arg::Null]).await {
                Ok(r) => break Some(r.rv[0] as i32),
                Err(Fail::Errno(EAGAIN)) if !finished => {
                    self.p.call(Request::Sleep(200)).await;
                }
                Err(Fail::Errno(EAGAIN)) => break None,
                Err(e) => return Err(e),
            }
        };
        match a {
            Some(a) => {
                // the accepted socket reads blocking, to EOF
                sys(
                    &self.p,
                    nr::FCNTL,
                    vec![Arg::Int(a), Arg::Int(F_SETFL), Arg::Int(0)],
                )
                .await?;
                let got = read_to(&self.p, a, len + 1).await?;
                expect(
                    got == data || (child.faults() > 0 && data.starts_with(&got)),
                    || format!("TCP delivered {} of the {len} bytes", got.len()),
                )?;
                sys(&self.p, nr::CLOSE, vec![Arg::Int(a)]).await?;
            }
            None => expect(child.faults() > 0 || child.long_stalls_ever() > 0, || {
                "the child finished without connecting".to_owned()
            })?,
        }
        sys(&self.p, nr::CLOSE, vec![Arg::Int(l)]).await.map(drop)
    }
}
