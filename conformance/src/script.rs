//! A capture turned into a replay script: the client's requests in the order
//! they were sent (across connections), each with the server frames the
//! recording attributes to it and the client memory the recording reveals.

use std::collections::BTreeMap;

use rumpsp_protocol::kernel::MemRequest;
use rumpsp_protocol::{Abi, Class, Message, MsgType, RawFrame};

use crate::capture::{Capture, Dir, Record};
use crate::split::{Piece, StreamSplitter};

/// One thing the replayer does, in recording order.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send a client request and compare what comes back.
    Step(Step),
    /// The client closed the connection.
    Close {
        /// Connection number in the recording.
        conn: u32,
    },
}

/// A client request with its recorded outcome.
#[derive(Debug, Clone)]
pub struct Step {
    /// Connection number in the recording.
    pub conn: u32,
    /// Timestamp of the request in the recording.
    pub t_ns: u64,
    /// The request as sent.
    pub frame: RawFrame,
    /// The server frames the recording attributes to this request, in order.
    pub recorded: Vec<RawFrame>,
    /// Client memory revealed while this request ran: what the client answered to each server request.
    pub memory: Vec<(MemRequest, Vec<u8>)>,
    /// Whether the server closed the connection after this step (its last
    /// before the close), while the client still had it open.
    pub server_closed: bool,
}

impl Step {
    /// The request's reqno.
    pub fn reqno(&self) -> u64 {
        self.frame.header.reqno
    }

    /// The syscall number, if it is a SYSCALL request.
    pub fn sysnum(&self) -> Option<u32> {
        (self.frame.header.class == Class::Req.to_u16()
            && self.frame.header.ty == MsgType::Syscall.to_u16())
        .then_some(self.frame.header.word)
    }

    /// The bytes the client supplied for a COPYIN at `addr` during this step.
    pub fn copied_in(&self, addr: u64) -> Option<&[u8]> {
        self.memory.iter().find_map(|(r, d)| match r {
            MemRequest::Bytes { addr: a, .. } if *a == addr => Some(&d[..]),
            _ => None,
        })
    }

    /// Argument slot `i` of a SYSCALL request as a word (0 when the block is shorter).
    pub fn arg(&self, i: usize) -> u64 {
        rumpsp_protocol::SyscallArgs::new(&self.frame.body, Abi::Lp64Le)
            .word(i)
            .unwrap_or(0)
    }
}

/// A replay script for one capture.
#[derive(Debug, Clone)]
pub struct Script {
    /// The capture's name (scenario).
    pub name: String,
    /// `server_run` of the recording (captures sharing one ran on one server).
    pub server_run: String,
    /// Recording date (for ordering captures of one server run).
    pub date: String,
    /// The banner the server sent.
    pub banner: Option<Vec<u8>>,
    /// The command that started the recorded server (`server_cmd`), if the
    /// meta line has it: its `-l` libraries say which kernel components the
    /// recording needs.
    pub server_cmd: Option<String>,
    /// What to do, in order.
    pub actions: Vec<Action>,
}

impl Script {
    /// Whether the trace calls reboot (208), which stops the server it runs on.
    pub fn halts_server(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, Action::Step(s) if s.sysnum() == Some(208)))
    }
}

struct Pending {
    step_index: usize,
    reqno: u64,
    is_req: bool,
}

/// Builds a script from a capture.
pub fn build_script(cap: &Capture, name: &str) -> Script {
    let abi = Abi::Lp64Le;
    // Frames of each direction with the timestamp of the chunk that completed them.
    let mut sides: BTreeMap<(u32, Dir), StreamSplitter> = BTreeMap::new();
    let mut timeline: Vec<(u64, u32, Dir, Option<RawFrame>)> = Vec::new();
    let mut banner = None;
    for r in &cap.records {
        match r {
            Record::Data {
                conn,
                dir,
                t_ns,
                bytes,
            } => {
                let side = sides
                    .entry((*conn, *dir))
                    .or_insert_with(|| StreamSplitter::new(*dir));
                for piece in side.push(bytes) {
                    match piece {
                        Piece::Banner(line) => {
                            banner.get_or_insert(line);
                        }
                        Piece::Frame(_, f) => timeline.push((*t_ns, *conn, *dir, Some(f))),
                        _ => {}
                    }
                }
            }
            Record::Event {
                conn,
                event,
                t_ns,
                dir,
            } if event == "eof" && *dir == Some(Dir::C2s) => {
                timeline.push((*t_ns, *conn, Dir::C2s, None));
            }
            Record::Event {
                conn,
                event,
                t_ns,
                dir,
            } if event == "eof" && *dir == Some(Dir::S2c) => {
                timeline.push((*t_ns, *conn, Dir::S2c, None));
            }
            Record::Event {
                conn, event, t_ns, ..
            } if event == "close" => {
                timeline.push((*t_ns, *conn, Dir::C2s, None));
            }
            _ => {}
        }
    }
    timeline.sort_by_key(|(t, ..)| *t);

    let mut actions: Vec<Action> = Vec::new();
    let mut closed: std::collections::BTreeSet<u32> = Default::default();
    // Per connection: requests still waiting for their answer, most recent last.
    let mut pending: BTreeMap<u32, Vec<Pending>> = BTreeMap::new();
    // Per connection: server request reqno -> (step index, what it asked for).
    let mut server_reqs: BTreeMap<(u32, u64), (usize, MemRequest)> = BTreeMap::new();
    let mut last_step: BTreeMap<u32, usize> = BTreeMap::new();

    for (t_ns, conn, dir, frame) in timeline {
        let Some(f) = frame else {
            if dir == Dir::S2c {
                // The server closed first: the last step on the connection saw it.
                if !closed.contains(&conn) {
                    if let Some(Action::Step(s)) =
                        last_step.get(&conn).and_then(|i| actions.get_mut(*i))
                    {
                        s.server_closed = true;
                    }
                }
                continue;
            }
            if closed.insert(conn) {
                actions.push(Action::Close { conn });
            }
            continue;
        };
        let typed = f.frame(abi).ok();
        match dir {
            Dir::C2s => {
                let is_resp = f.header.class == Class::Resp.to_u16();
                if is_resp {
                    // A client answer to a server request: client memory.
                    if let Some((idx, req)) = server_reqs.get(&(conn, f.header.reqno)).copied() {
                        if let Some(Action::Step(s)) = actions.get_mut(idx) {
                            s.memory.push((req, f.body.to_vec()));
                        }
                    }
                    continue;
                }
                let idx = actions.len();
                actions.push(Action::Step(Step {
                    conn,
                    t_ns,
                    frame: f.clone(),
                    recorded: vec![],
                    memory: vec![],
                    server_closed: false,
                }));
                pending.entry(conn).or_default().push(Pending {
                    step_index: idx,
                    reqno: f.header.reqno,
                    is_req: f.header.class == Class::Req.to_u16(),
                });
                last_step.insert(conn, idx);
            }
            Dir::S2c => {
                let owner =
                    match typed.as_ref().map(|t| &t.message) {
                        // Answers go to the request with their reqno.
                        Some(
                            Message::SyscallResp(_)
                            | Message::HandshakeResp(_)
                            | Message::PreforkResp(_)
                            | Message::Error(_),
                        ) => {
                            let list = pending.entry(conn).or_default();
                            let pos = list.iter().rposition(|p| p.reqno == f.header.reqno);
                            pos.map(|i| list.remove(i).step_index)
                                .or_else(|| last_step.get(&conn).copied())
                        }
                        // Server requests belong to the outstanding syscall whose
                        // memory they touch (the oldest when they touch none).
                        other => {
                            let addr = match other {
                                Some(Message::Copyin(c)) => Some(c.addr),
                                Some(Message::Copyout(c)) => Some(c.addr),
                                _ => None,
                            };
                            let calls = pending.get(&conn).into_iter().flatten().filter_map(|p| {
                                match actions.get(p.step_index) {
                                    Some(Action::Step(s)) if p.is_req => Some((p.step_index, s)),
                                    _ => None,
                                }
                            });
                            crate::replay::memory::owner(calls, addr)
                                .or_else(|| last_step.get(&conn).copied())
                        }
                    };
                let Some(idx) = owner else { continue };
                if let Some(Message::Copyin(c)) = typed.as_ref().map(|t| t.message) {
                    let req = match c.kind {
                        rumpsp_protocol::CopyinKind::Bytes => MemRequest::Bytes {
                            addr: c.addr,
                            len: c.len,
                        },
                        rumpsp_protocol::CopyinKind::Str => MemRequest::Str {
                            addr: c.addr,
                            max: c.len,
                        },
                    };
                    server_reqs.insert((conn, f.header.reqno), (idx, req));
                }
                if let Some(Message::Anonmmap(a)) = typed.as_ref().map(|t| t.message) {
                    server_reqs.insert(
                        (conn, f.header.reqno),
                        (idx, MemRequest::Mmap { len: a.len }),
                    );
                }
                if let Some(Action::Step(s)) = actions.get_mut(idx) {
                    s.recorded.push(f);
                }
            }
        }
        let _ = t_ns;
    }
    Script {
        name: name.to_owned(),
        server_run: cap.meta_str("server_run").unwrap_or(name).to_owned(),
        date: cap.meta_str("date").unwrap_or("").to_owned(),
        banner,
        server_cmd: cap.meta_str("server_cmd").map(str::to_owned),
        actions,
    }
}

impl Script {
    /// kern.hostname as the recorded server reported it on a read, if the
    /// capture contains one (an in-process simulated server can be configured
    /// with it, so that reads that depend on its length replay unchanged).
    pub fn recorded_hostname(&self) -> Option<String> {
        let abi = Abi::Lp64Le;
        for a in &self.actions {
            let Action::Step(s) = a else { continue };
            if s.sysnum() != Some(202) {
                continue;
            }
            let slot = |i: usize| s.arg(i);
            let is_hostname = s.memory.iter().any(|(r, d)| {
                matches!(r, MemRequest::Bytes { addr, len: 8 } if *addr == slot(0))
                    && d[..] == [1, 0, 0, 0, 10, 0, 0, 0]
            });
            if !is_hostname || slot(4) != 0 {
                continue;
            }
            for f in &s.recorded {
                if let Ok(rumpsp_protocol::Frame {
                    message: Message::Copyout(c),
                    ..
                }) = f.frame(abi)
                {
                    if c.addr == slot(2) && c.data.ends_with(&[0]) {
                        return Some(
                            String::from_utf8_lossy(&c.data[..c.data.len() - 1]).into_owned(),
                        );
                    }
                }
            }
        }
        None
    }
}
