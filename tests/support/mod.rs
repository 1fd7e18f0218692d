//! Helpers for end-to-end tests: a server on a background runtime, and a raw
//! frame-level client over std sockets.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use rumpsp_protocol::net::{Server, ServerConfig};
use rumpsp_protocol::{
    Abi, Frame, FrameDecoder, FrameLimits, Handshake, Message, ServerAddr, SyscallReq,
};
use rumpsp_sim_kernel::{SimConfig, SimKernel};

/// A server running on its own thread until dropped.
pub struct Running {
    pub addr: ServerAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn start(addr: ServerAddr, sim: SimConfig, config: ServerConfig) -> Running {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let server = Server::bind(&addr, SimKernel::new(sim), config)
                    .await
                    .unwrap();
                ready_tx.send(server.local_addr().unwrap()).unwrap();
                server
                    .run(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        let addr = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server started");
        Running {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// Stops the server and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A unix-socket server in a fresh temporary directory.
pub fn unix_server(dir: &Path) -> Running {
    let addr = ServerAddr::Unix(dir.join("rump.sock"));
    Running::start(addr, SimConfig::default(), ServerConfig::default())
}

/// A raw client connection speaking frames.
pub struct Raw {
    pub s: UnixStream,
    pub banner: Vec<u8>,
    dec: FrameDecoder,
}

impl Raw {
    pub fn connect(path: &Path) -> std::io::Result<Raw> {
        let mut s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut banner = Vec::new();
        let mut b = [0u8; 1];
        while !banner.ends_with(b"\n") {
            if s.read(&mut b)? == 0 {
                break;
            }
            banner.push(b[0]);
        }
        Ok(Raw {
            s,
            banner,
            dec: FrameDecoder::new(FrameLimits::unlimited()),
        })
    }

    pub fn send(&mut self, f: Frame<'_>) {
        self.s.write_all(&f.to_vec(Abi::Lp64Le)).unwrap();
    }

    /// The next frame; `None` on EOF or timeout.
    pub fn frame(&mut self) -> Option<rumpsp_protocol::RawFrame> {
        let mut buf = [0u8; 65536];
        loop {
            if let Ok(Some(f)) = self.dec.next_frame() {
                return Some(f);
            }
            match self.s.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.dec.feed(&buf[..n]),
            }
        }
    }

    pub fn guest(&mut self) {
        self.send(Frame::new(
            1,
            Message::Handshake(Handshake::Guest { name: b"e2e\0" }),
        ));
        let f = self.frame().expect("handshake answer");
        assert!(matches!(
            f.frame(Abi::Lp64Le).unwrap().message,
            Message::HandshakeResp(_)
        ));
    }

    /// A syscall whose memory requests (if any) this helper does not answer: returns the first frame back.
    pub fn call(
        &mut self,
        reqno: u64,
        sysnum: u32,
        args: &[u64],
    ) -> Option<rumpsp_protocol::RawFrame> {
        let block: Vec<u8> = args.iter().flat_map(|a| a.to_le_bytes()).collect();
        self.send(Frame::new(
            reqno,
            Message::Syscall(SyscallReq {
                sysnum,
                args: &block,
            }),
        ));
        self.frame()
    }

    /// getpid: (error, pid).
    pub fn getpid(&mut self, reqno: u64) -> (i32, i64) {
        let f = self.call(reqno, 20, &[]).expect("getpid answer");
        match f.frame(Abi::Lp64Le).map(|x| x.message) {
            Ok(Message::SyscallResp(r)) => (r.error, r.retval[0]),
            other => panic!("getpid got {other:?}"),
        }
    }
}
