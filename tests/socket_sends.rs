//! Sends that take several runs through the server: a blocking send larger
//! than the socket buffer moves part of its data, waits, and goes on when the
//! peer reads; non-blocking sends racing a reader on the same connection.
//! Each must deliver every byte in order and report the count, through the
//! production server (which keeps a call's fetched memory across its runs)
//! and client. (The exact case of a room that changes between a send's
//! memory round trip and its next run is pinned without timing in
//! sim-kernel/tests/net_local.rs.)

mod support;

use std::time::Duration;

use rumpsp_protocol::client::Arg;
use rumpsp_protocol::net::{Client, ServerConfig};
use rumpsp_protocol::ServerAddr;
use rumpsp_sim_kernel::SimConfig;
use support::Running;

const SOCKETPAIR: u32 = 135;
const READ: u32 = 3;
const WRITE: u32 = 4;
const FCNTL: u32 = 92;
const AF_LOCAL: i32 = 1;
const SOCK_STREAM: i32 = 1;
const F_SETFL: i32 = 4;
const O_NONBLOCK: i32 = 4;
const EAGAIN: i32 = 35;

fn server(dir: &std::path::Path) -> Running {
    Running::start(
        ServerAddr::Unix(dir.join("rump.sock")),
        SimConfig {
            components: "vfs,tmpfs,net,local".parse().unwrap(),
            ..Default::default()
        },
        ServerConfig::default(),
    )
}

async fn pair(c: &Client) -> (i32, i32) {
    let (_, bufs) = c
        .syscall(
            SOCKETPAIR,
            vec![
                Arg::Int(AF_LOCAL),
                Arg::Int(SOCK_STREAM),
                Arg::Int(0),
                Arg::Out(8),
            ],
        )
        .await
        .unwrap();
    let b = &bufs[0];
    let fd = |i: usize| i32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    (fd(0), fd(4))
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// Reads from `fd` until `n` bytes came (or end of file).
async fn read_all(c: &Client, fd: i32, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        let (rv, bufs) = c
            .syscall(READ, vec![Arg::Int(fd), Arg::Out(8192), Arg::Word(8192)])
            .await
            .unwrap();
        if rv[0] == 0 {
            break;
        }
        got.extend_from_slice(&bufs[0][..rv[0] as usize]);
    }
    got
}

#[test]
fn a_blocking_send_larger_than_the_buffer_delivers_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = s.addr.to_string();
        let c = std::sync::Arc::new(Client::connect(&url, "sends").await.unwrap());
        let (a, b) = pair(&c).await;
        let data = payload(200_000);
        let writer = {
            let (c, data) = (c.clone(), data.clone());
            tokio::spawn(async move {
                let n = data.len() as u64;
                c.syscall(WRITE, vec![Arg::Int(a), Arg::In(data), Arg::Word(n)])
                    .await
            })
        };
        // let the write fill the buffer and wait before anything is read
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!writer.is_finished(), "200000 bytes cannot fit the buffer");
        let got = tokio::time::timeout(Duration::from_secs(60), read_all(&c, b, data.len()))
            .await
            .expect("the reader got everything in time");
        let (rv, _) = writer.await.unwrap().expect("the write succeeds");
        assert_eq!(rv[0], data.len() as i64, "the count of the whole send");
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the bytes arrive intact and in order");
    });
}

#[test]
fn non_blocking_sends_whose_room_changes_between_runs_send_what_they_report() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = s.addr.to_string();
        let c = std::sync::Arc::new(Client::connect(&url, "sends").await.unwrap());
        let (a, b) = pair(&c).await;
        c.syscall(
            FCNTL,
            vec![Arg::Int(a), Arg::Int(F_SETFL), Arg::Int(O_NONBLOCK)],
        )
        .await
        .unwrap();
        // a reader drains b while the writer pushes non-blocking sends into a
        let reader = {
            let c = c.clone();
            tokio::spawn(async move { read_all(&c, b, 300_000).await })
        };
        let data = payload(300_000);
        let mut sent = 0usize;
        let mut eagain = 0u32;
        while sent < data.len() {
            let chunk = data[sent..(sent + 50_000).min(data.len())].to_vec();
            let n = chunk.len() as u64;
            match c
                .syscall(WRITE, vec![Arg::Int(a), Arg::In(chunk), Arg::Word(n)])
                .await
            {
                Ok((rv, _)) => {
                    assert!(rv[0] > 0 && rv[0] as u64 <= n, "{rv:?}");
                    sent += rv[0] as usize;
                }
                Err(rumpsp_protocol::net::ClientError::Errno(e)) if e.0 == EAGAIN => {
                    eagain += 1;
                    assert!(eagain < 100_000, "the reader never made room");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(e) => panic!("a non-blocking send failed: {e}"),
            }
        }
        let got = tokio::time::timeout(Duration::from_secs(60), reader)
            .await
            .expect("the reader got everything in time")
            .unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "every reported byte arrived, in order");
    });
}
