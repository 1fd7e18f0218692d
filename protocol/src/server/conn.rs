//! Per-connection state: the connection's life (handshake, running, exec,
//! closing), its outstanding syscalls with the state of each, and the bytes
//! queued for the client.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::abi::Abi;
use crate::codes::ErrorCode;
use crate::decoder::FrameDecoder;
use crate::frame::{ErrorFrame, Frame, Message};
use crate::kernel::{CallMemory, MemRequest, Pid};

/// Where a connection is in its life (spec §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Banner sent, no handshake yet.
    New,
    /// Handshaken: serving `pid`.
    Running {
        /// The client's process.
        pid: Pid,
    },
    /// Handshaken, and an EXEC handshake waits for the old image's syscalls to
    /// finish (spec §9 item 13): new syscalls get EBUSY, a PREFORK or a second
    /// EXEC IN_EXEC; then the process takes its new name and `reqno` is answered.
    Exec {
        /// The client's process.
        pid: Pid,
        /// Reqno of the EXEC handshake.
        reqno: u64,
        /// The new program name (raw body).
        name: Vec<u8>,
    },
    /// Shut down by the server: queued output is flushed, then the socket is closed;
    /// further input is ignored. The process (if any) lives until the disconnect.
    Closing {
        /// The client's process, if it had one.
        pid: Option<Pid>,
    },
}

/// A syscall that has not been answered yet.
#[derive(Debug, Clone)]
pub struct PendingCall {
    /// NetBSD syscall number.
    pub sysnum: u32,
    /// The argument block, padded with zero slots to the syscall's declared size.
    pub args: Bytes,
    /// Client memory fetched so far.
    pub mem: CallMemory,
    /// Where the call stands.
    pub state: CallState,
    /// Bytes of the server-wide budget its memory requests reserved
    /// (returned when the call finishes).
    pub reserved: u64,
}

/// Where an outstanding syscall stands.
#[derive(Debug, Clone)]
pub enum CallState {
    /// In the kernel, or about to run (again).
    Running,
    /// Waiting for the client's answers to its memory requests.
    Awaiting {
        /// The server requests (reqno, what, the answer once in), in the order
        /// the kernel asked; one for a plain memory round, several for a batch
        /// (`SyscallStep::NeedAll`).
        answers: Vec<Awaited>,
        /// When they were sent (the core's injected clock).
        asked_at_ms: u64,
    },
    /// The kernel reported the call blocked.
    Blocked {
        /// The key of the object it waits on (`None`: anything may wake it).
        on: Option<u64>,
    },
}

impl PendingCall {
    /// The memory request sent as server reqno `sreq`, while the call awaits it.
    pub fn awaited(&self, sreq: u64) -> Option<&Awaited> {
        match &self.state {
            CallState::Awaiting { answers, .. } => answers.iter().find(|a| a.sreq == sreq),
            _ => None,
        }
    }
}

/// One memory request of a call, sent to the client.
#[derive(Debug, Clone)]
pub struct Awaited {
    /// The server-side reqno of the COPYIN/ANONMMAP request.
    pub sreq: u64,
    /// What was asked.
    pub req: MemRequest,
    /// The client's answer, once it came.
    pub got: Option<crate::kernel::Fetched>,
}

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    /// Handshake state.
    pub state: ConnState,
    /// Incoming bytes not yet framed.
    pub decoder: FrameDecoder,
    /// The server's request counter (COPYIN/COPYINSTR/ANONMMAP/COPYOUT).
    pub next_server_reqno: u64,
    /// Outstanding syscalls by the client's reqno.
    pub calls: BTreeMap<u64, PendingCall>,
    /// Server reqno → client reqno of the call waiting for that answer.
    pub waiting: BTreeMap<u64, u64>,
    /// Bytes to send.
    pub out: Vec<u8>,
    /// Bytes already taken from `out` that the I/O adapter reports as not yet
    /// written to the socket (see [`crate::server::ServerCore::output_written`]).
    pub backlog: usize,
    /// When the connection was accepted (the core's clock).
    pub opened_ms: u64,
    /// True once any byte arrived from the client.
    pub heard: bool,
    /// Where the AUTH extension stands (always `Passed` when the server needs none).
    pub auth: AuthState,
    /// This connection's input and output bytes as the server-wide budget last counted them.
    pub counted: u64,
}

/// The AUTH handshake's progress on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthState {
    /// Authentication is required and no challenge was asked for yet.
    Required,
    /// The challenge (nonce) was sent; the proof is awaited.
    Challenged([u8; crate::auth::NONCE_LEN]),
    /// Authenticated, or no authentication required.
    Passed,
}

impl Conn {
    /// A fresh connection whose banner is already queued.
    pub fn new(decoder: FrameDecoder, banner: &[u8]) -> Conn {
        Conn {
            state: ConnState::New,
            decoder,
            next_server_reqno: 0,
            calls: BTreeMap::new(),
            waiting: BTreeMap::new(),
            out: banner.to_vec(),
            backlog: 0,
            opened_ms: 0,
            heard: false,
            auth: AuthState::Passed,
            counted: 0,
        }
    }

    /// The process served, while the connection is running (an exec included).
    pub fn pid(&self) -> Option<Pid> {
        match self.state {
            ConnState::Running { pid } | ConnState::Exec { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// The connection's process, running or closing (what a disconnect must end).
    pub fn process(&self) -> Option<Pid> {
        match self.state {
            ConnState::Closing { pid } => pid,
            _ => self.pid(),
        }
    }

    /// True while an EXEC handshake waits for the old image's syscalls.
    pub fn in_exec(&self) -> bool {
        matches!(self.state, ConnState::Exec { .. })
    }

    /// True once the server has shut the connection down.
    pub fn is_closing(&self) -> bool {
        matches!(self.state, ConnState::Closing { .. })
    }

    /// Queues a frame.
    pub fn send(&mut self, frame: Frame<'_>) {
        frame.encode(Abi::Lp64Le, &mut self.out);
    }

    /// Queues an ERROR frame answering `reqno`.
    pub fn send_error(&mut self, reqno: u64, code: ErrorCode) {
        self.send(Frame::new(reqno, Message::Error(ErrorFrame { code })));
    }

    /// Queues an ERROR frame and shuts the connection down after it.
    pub fn fail(&mut self, reqno: u64, code: ErrorCode) {
        self.send_error(reqno, code);
        self.close();
    }

    /// Shuts the connection down once queued output is flushed.
    pub fn close(&mut self) {
        self.state = ConnState::Closing {
            pid: self.process(),
        };
    }

    /// True while queued output is at or over `pause`: no frame is taken from the
    /// connection's input until it drains.
    pub fn output_full(&self, pause: usize) -> bool {
        self.out.len().saturating_add(self.backlog) >= pause
    }

    /// Takes the next server reqno.
    pub fn take_reqno(&mut self) -> u64 {
        let r = self.next_server_reqno;
        self.next_server_reqno = r.wrapping_add(1);
        r
    }
}
