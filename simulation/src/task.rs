//! Simulated processes as async tasks on a hand-driven executor.
//!
//! A workload is written as ordinary `async` code against a [`Proc`]: each
//! `await` hands one request (connect, syscall, prefork, exec, sleep, close)
//! to the simulation and suspends until the simulation has an answer. The
//! simulation polls a task only when it has that answer, with a no-op waker,
//! so which task runs when is decided by the event schedule alone. A process
//! may start threads (more tasks sharing its connection) and other processes.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use rumpsp_protocol::client::{Arg, CallOutcome};
use rumpsp_protocol::{HandshakeKind, PreforkCookie};

/// What a task asks of the simulation.
#[derive(Debug, Clone)]
pub enum Request {
    /// Open a connection, read the banner and shake hands.
    Connect {
        /// GUEST or FORK.
        kind: HandshakeKind,
        /// The program name.
        name: Vec<u8>,
        /// The prefork cookie of a FORK.
        cookie: Option<PreforkCookie>,
    },
    /// A syscall on the open connection.
    Syscall {
        /// NetBSD syscall number.
        nr: u32,
        /// Its arguments.
        args: Vec<Arg>,
    },
    /// A PREFORK.
    Prefork,
    /// An EXEC handshake under a new name.
    Exec(Vec<u8>),
    /// Wait this many virtual microseconds.
    Sleep(u64),
    /// Close the connection.
    Close,
}

/// The simulation's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The server answered.
    Done(CallOutcome),
    /// No answer: the connection is gone (or was never there).
    Transport(String),
    /// The sleep or close is over.
    Ok,
}

/// A boxed task.
pub type Task = Pin<Box<dyn Future<Output = ()>>>;

/// The mailbox between one task and the simulation.
#[derive(Default)]
pub struct Chan {
    /// The request the task is waiting on, not yet taken by the simulation.
    pub request: Option<Request>,
    /// The answer, not yet taken by the task.
    pub reply: Option<Reply>,
    /// Processes spawned since the last poll: (name, first thread's task, its mailbox).
    pub spawned: Vec<(String, Task, Rc<RefCell<Chan>>)>,
    /// Threads of this process started since the last poll.
    pub threads: Vec<(Task, Rc<RefCell<Chan>>)>,
    /// Faults injected on this process's connections so far (disconnects and
    /// stalls past the server's COPYIN timeout).
    pub faults: u64,
    /// Stalls past the COPYIN timeout on its current connection.
    pub long_stalls: u64,
    /// Stalls past the COPYIN timeout on any of its connections so far.
    pub long_stalls_ever: u64,
}

/// A simulated process, as its task sees it.
#[derive(Clone)]
pub struct Proc {
    chan: Rc<RefCell<Chan>>,
}

/// The future of one request.
struct Call {
    chan: Rc<RefCell<Chan>>,
    req: Option<Request>,
}

impl Future for Call {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Reply> {
        if let Some(r) = self.req.take() {
            self.chan.borrow_mut().request = Some(r);
            return Poll::Pending;
        }
        match self.chan.borrow_mut().reply.take() {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

impl Proc {
    /// A process and its mailbox.
    pub fn new() -> (Proc, Rc<RefCell<Chan>>) {
        let chan = Rc::new(RefCell::new(Chan::default()));
        (Proc { chan: chan.clone() }, chan)
    }

    /// Sends one request and waits for its answer.
    pub async fn call(&self, r: Request) -> Reply {
        Call {
            chan: self.chan.clone(),
            req: Some(r),
        }
        .await
    }

    /// Starts another process running `f`; returns a handle to watch it by.
    pub fn spawn<F, Fut>(&self, name: String, f: F) -> Proc
    where
        F: FnOnce(Proc) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let (p, chan) = Proc::new();
        let task: Task = Box::pin(f(p.clone()));
        self.chan.borrow_mut().spawned.push((name, task, chan));
        p
    }

    /// Starts another thread of this process running `f`: it shares the
    /// process's connection (its calls travel on it alongside this thread's).
    pub fn spawn_thread<F, Fut>(&self, f: F) -> Proc
    where
        F: FnOnce(Proc) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let (p, chan) = Proc::new();
        let task: Task = Box::pin(f(p.clone()));
        self.chan.borrow_mut().threads.push((task, chan));
        p
    }

    /// Faults injected on this process's connections so far.
    pub fn faults(&self) -> u64 {
        self.chan.borrow().faults
    }

    /// Stalls past the server's COPYIN timeout on any of its connections so far
    /// (two of them can outlast an unredeemed prefork's lifetime).
    pub fn long_stalls_ever(&self) -> u64 {
        self.chan.borrow().long_stalls_ever
    }

    /// Stalls past the server's COPYIN timeout on the current connection (a
    /// call may then fail with EFAULT: the server gave up waiting for memory).
    pub fn long_stalls(&self) -> u64 {
        self.chan.borrow().long_stalls
    }
}

/// Polls a task once with a waker that does nothing.
pub fn poll_once(task: &mut Task) -> Poll<()> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    task.as_mut().poll(&mut cx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_stops_at_each_request_and_resumes_with_its_reply() {
        let (p, chan) = Proc::new();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s2 = seen.clone();
        let mut task: Task = Box::pin(async move {
            let a = p.call(Request::Sleep(5)).await;
            s2.borrow_mut().push(a);
            let b = p.call(Request::Close).await;
            s2.borrow_mut().push(b);
        });
        assert!(poll_once(&mut task).is_pending());
        assert!(matches!(
            chan.borrow_mut().request.take(),
            Some(Request::Sleep(5))
        ));
        assert!(poll_once(&mut task).is_pending(), "no reply yet");
        chan.borrow_mut().reply = Some(Reply::Ok);
        assert!(poll_once(&mut task).is_pending());
        assert!(matches!(
            chan.borrow_mut().request.take(),
            Some(Request::Close)
        ));
        chan.borrow_mut().reply = Some(Reply::Transport("gone".into()));
        assert!(poll_once(&mut task).is_ready());
        assert_eq!(
            *seen.borrow(),
            vec![Reply::Ok, Reply::Transport("gone".into())]
        );
    }
}
