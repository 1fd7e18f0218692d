//! Access control of the production server: non-loopback TCP needs a flag, and
//! the SO_PEERCRED allow-list closes other peers without a banner.

mod common;

use std::time::Duration;

use common::TestKernel;
use rumpsp_protocol::net::{ServeError, Server, ServerConfig};
use rumpsp_protocol::url::{parse_url, Role, ServerAddr};
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn a_wildcard_tcp_address_needs_allow_remote() {
    let addr = parse_url("tcp://0:0/", Role::Server).unwrap();
    let r = Server::bind(&addr, TestKernel::new(), ServerConfig::default()).await;
    match r {
        Err(ServeError::Remote(_)) => {}
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("bound 0.0.0.0 without the flag"),
    }
    let ok = Server::bind(
        &addr,
        TestKernel::new(),
        ServerConfig {
            allow_remote: true,
            ..Default::default()
        },
    )
    .await;
    assert!(ok.is_ok());
    let lo = parse_url("tcp://127.0.0.1:0/", Role::Server).unwrap();
    assert!(
        Server::bind(&lo, TestKernel::new(), ServerConfig::default())
            .await
            .is_ok()
    );
}

async fn first_bytes(config: ServerConfig) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let server = Server::bind(&ServerAddr::Unix(path.clone()), TestKernel::new(), config)
        .await
        .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stop_rx.await;
    }));
    let mut s = tokio::net::UnixStream::connect(&path).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        let mut b = [0u8; 64];
        while let Ok(n) = s.read(&mut b).await {
            if n == 0 || got.len() > 10 {
                break;
            }
            got.extend(&b[..n]);
        }
    })
    .await;
    let _ = stop_tx.send(());
    let _ = task.await;
    got
}

#[tokio::test]
async fn the_peer_allow_list_serves_listed_uids_only() {
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata(tempfile::tempdir().unwrap().path())
        .unwrap()
        .uid();
    let listed = first_bytes(ServerConfig {
        allow_uids: vec![me],
        ..Default::default()
    })
    .await;
    assert!(listed.starts_with(b"RUMPSP-"), "{listed:?}");
    let other = first_bytes(ServerConfig {
        allow_uids: vec![me.wrapping_add(12345)],
        allow_gids: vec![],
        ..Default::default()
    })
    .await;
    assert!(other.is_empty(), "closed without a banner: {other:?}");
}

#[tokio::test]
async fn auth_key_end_to_end() {
    use rumpsp_protocol::net::{Client, ClientError, ClientTimeouts, RetryPolicy};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let key = b"a shared key of 24 bytes".to_vec();
    let server = Server::bind(
        &ServerAddr::Unix(path.clone()),
        TestKernel::new(),
        ServerConfig {
            auth_key: Some(key.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stop_rx.await;
    }));
    let connect = |k: Option<Vec<u8>>| {
        Client::connect_auth(
            ServerAddr::Unix(path.clone()),
            "authed",
            RetryPolicy::Never,
            ClientTimeouts::default(),
            k,
        )
    };
    let c = connect(Some(key.clone())).await.unwrap();
    assert!(c.getpid().await.unwrap().0 > 1);
    let child = c.fork().await.unwrap();
    assert!(child.getpid().await.unwrap().0 > 1);
    match connect(Some(b"another key of 24 bytes!".to_vec())).await {
        Err(ClientError::Auth(m)) => assert!(m.contains("refused"), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a wrong key was accepted"),
    }
    match connect(None).await {
        Err(ClientError::Protocol(code)) => assert_eq!(code.name(), Some("AUTH")),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("no key was accepted"),
    }
    let _ = stop_tx.send(());
    let _ = task.await;
}
