//! `rumpsp serve --clock`: the host clock by default (a file written now has
//! stamps of now; clock_gettime and the stamps share the host's time), the
//! virtual clock on request (two runs of the same calls give the same stamps).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumpsp_protocol::net::Client;

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(path: &std::path::Path, extra: &[&str]) -> Serve {
    let url = format!("unix://{}", path.display());
    let child = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(["serve", &url, "--hostname", "clock-test"])
        .args(extra)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !path.exists() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    Serve(child)
}

/// Writes /tmp/f on a fresh tmpfs and returns its (mtime, birthtime) and
/// CLOCK_REALTIME read after it, each as (sec, nsec).
fn stamps(path: &std::path::Path) -> [(i64, i64); 3] {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("unix://{}", path.display());
        let c = Client::connect(&url, "clock").await.unwrap();
        c.mount_tmpfs("/tmp", 0, Default::default()).await.unwrap();
        let fd = c.open("/tmp/f", 0x202, 0o644).await.unwrap();
        c.write(fd, b"now").await.unwrap();
        let st = c.fstat(fd).await.unwrap();
        let now = c.clock_gettime(0).await.unwrap();
        [
            (st.mtime.sec, st.mtime.nsec),
            (st.birthtime.sec, st.birthtime.nsec),
            now,
        ]
    })
}

#[test]
fn the_host_clock_stamps_a_file_written_now_with_now() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("host.sock");
    let _server = serve(&sock, &[]);
    let [mtime, _, realtime] = stamps(&sock);
    let host = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((mtime.0 - host).abs() <= 5, "mtime {mtime:?}, host {host}");
    assert!(
        (realtime.0 - host).abs() <= 5,
        "realtime {realtime:?}, host {host}"
    );
    assert!(realtime >= mtime, "the clock reading follows the write");
}

#[test]
fn the_virtual_clock_gives_the_same_stamps_in_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for i in 0..2 {
        let sock = dir.path().join(format!("virtual{i}.sock"));
        let server = serve(&sock, &["--clock", "virtual"]);
        runs.push(stamps(&sock));
        drop(server);
        std::thread::sleep(Duration::from_millis(30));
    }
    assert_eq!(runs[0], runs[1]);
    // The virtual clock's fixed boot date (SimConfig's default), not today.
    let host = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let boot = rumpsp_sim_kernel::SimConfig::default().boot_realtime;
    assert!(runs[0][0].0 - boot < 60, "{:?}", runs[0]);
    assert!(
        host - runs[0][0].0 > 60,
        "not the host's time: {:?}",
        runs[0]
    );
}
