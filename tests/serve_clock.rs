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

/// nanosleep(300 ms) and a poll of an empty pipe with a 300 ms timeout (no
/// other process could end it) over `rumpsp serve`; returns how long each
/// took, and the CLOCK_MONOTONIC seconds the kernel saw pass over both.
fn sleeps(path: &std::path::Path) -> (Duration, Duration, f64) {
    use rumpsp_protocol::client::Arg;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("unix://{}", path.display());
        let c = Client::connect(&url, "clock").await.unwrap();
        let mono = |t: (i64, i64)| t.0 as f64 + t.1 as f64 / 1e9;
        let before = c.clock_gettime(3).await.unwrap();
        let mut ts = 0i64.to_le_bytes().to_vec();
        ts.extend(300_000_000i64.to_le_bytes());
        let t = Instant::now();
        c.syscall(430, vec![Arg::In(ts), Arg::Null]).await.unwrap();
        let slept = t.elapsed();
        let (rv, _) = c.syscall(42, vec![]).await.unwrap();
        let rfd = rv[0] as i32;
        let mut pfd = rfd.to_le_bytes().to_vec();
        pfd.extend(1i16.to_le_bytes()); // POLLIN
        pfd.extend(0i16.to_le_bytes());
        let t = Instant::now();
        let (n, _) = c
            .syscall(209, vec![Arg::InOut(pfd), Arg::Int(1), Arg::Int(300)])
            .await
            .unwrap();
        let polled = t.elapsed();
        assert_eq!(n[0], 0, "nothing became readable");
        let after = c.clock_gettime(3).await.unwrap();
        (slept, polled, mono(after) - mono(before))
    })
}

#[test]
fn on_the_host_clock_a_sleep_and_a_poll_timeout_take_their_time() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("sleep.sock");
    let _server = serve(&sock, &[]);
    let (slept, polled, kernel) = sleeps(&sock);
    assert!(
        slept >= Duration::from_millis(300),
        "nanosleep returned after {slept:?}"
    );
    assert!(
        polled >= Duration::from_millis(300),
        "poll returned after {polled:?}"
    );
    assert!(
        kernel >= 0.6,
        "the kernel's monotonic clock moved {kernel} s"
    );
}

#[test]
fn on_the_virtual_clock_a_sleep_moves_the_clock_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("vsleep.sock");
    let _server = serve(&sock, &["--clock", "virtual"]);
    let (_, _, kernel) = sleeps(&sock);
    // both the sleep and the poll's timeout moved the virtual clock by 300 ms
    assert!(
        (0.6..0.61).contains(&kernel),
        "the virtual clock moved {kernel} s"
    );
}

/// An ITIMER_REAL of 200 ms set through `rumpsp serve` on the host clock:
/// while the client sleeps 400 ms the server raises SIGALRM (14) on its
/// connection, outside any answer, once.
#[test]
fn an_expired_interval_timer_raises_sigalrm_on_the_connection() {
    use rumpsp_protocol::client::Arg;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("alarm.sock");
    let _server = serve(&sock, &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let signals = rt.block_on(async {
        let url = format!("unix://{}", sock.display());
        let c = Client::connect(&url, "alarm").await.unwrap();
        // struct itimerval { it_interval = 0, it_value = 0.2 s } (timevals)
        let mut itv = [0u8; 32];
        itv[24..28].copy_from_slice(&200_000i32.to_le_bytes());
        c.syscall(425, vec![Arg::Int(0), Arg::In(itv.to_vec()), Arg::Null])
            .await
            .unwrap();
        assert_eq!(c.take_signals().await, Vec::<u32>::new(), "not yet");
        let mut ts = 0i64.to_le_bytes().to_vec();
        ts.extend(400_000_000i64.to_le_bytes());
        c.syscall(430, vec![Arg::In(ts), Arg::Null]).await.unwrap();
        let (pid, _) = c.getpid().await.unwrap();
        assert!(pid > 1);
        c.take_signals().await
    });
    assert_eq!(signals, [14], "one SIGALRM");
}
