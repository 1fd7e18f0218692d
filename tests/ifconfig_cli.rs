//! `rumpsp ifconfig` and the net sysctls against `rumpsp serve --components
//! net,inet,inet6`: the lines NetBSD 7's ifconfig(8) and sysctl(8) print,
//! and their exit codes (0 ok, 1 the operation failed).

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(components: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("net.sock");
    let url = format!("unix://{}", sock.display());
    let child = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
        .args(["serve", "--components", components, &url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !sock.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        child,
        url,
        _dir: dir,
    }
}

impl Server {
    fn run(&self, args: &[&str]) -> (String, String, Option<i32>) {
        let o: Output = Command::new(env!("CARGO_BIN_EXE_rumpsp"))
            .env("RUMP_SERVER", &self.url)
            .args(args)
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            o.status.code(),
        )
    }
}

const LO0: &str = "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 33624\n\
\tinet 127.0.0.1 netmask 0xff000000\n\
\tinet6 ::1 prefixlen 128\n\
\tinet6 fe80::1%lo0 prefixlen 64 scopeid 0x1\n";

#[test]
fn ifconfig_a_shows_lo0_as_booted() {
    let s = serve("net,inet,inet6");
    assert_eq!(
        s.run(&["ifconfig", "-a"]),
        (LO0.to_owned(), String::new(), Some(0))
    );
}

#[test]
fn create_address_show_destroy() {
    let s = serve("net,inet,inet6");
    assert_eq!(
        s.run(&["ifconfig", "lo1", "create"]),
        (String::new(), String::new(), Some(0))
    );
    assert_eq!(
        s.run(&["ifconfig", "lo1"]).0,
        "lo1: flags=8048<LOOPBACK,RUNNING,MULTICAST> mtu 33624\n"
    );
    assert_eq!(
        s.run(&["ifconfig", "lo1", "inet", "10.9.8.7/24"]),
        (String::new(), String::new(), Some(0))
    );
    assert_eq!(
        s.run(&["ifconfig", "lo1", "inet", "10.9.8.8/32"]).2,
        Some(0)
    );
    assert_eq!(
        s.run(&["ifconfig", "lo1"]).0,
        "lo1: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 33624\n\
         \tinet 10.9.8.7 netmask 0xffffff00\n\
         \tinet alias 10.9.8.8 netmask 0xffffffff\n"
    );
    assert_eq!(s.run(&["ifconfig", "lo1", "down"]).2, Some(0));
    assert_eq!(
        s.run(&["ifconfig", "lo1"]).0.lines().next(),
        Some("lo1: flags=8048<LOOPBACK,RUNNING,MULTICAST> mtu 33624")
    );
    let (out, _, _) = s.run(&["ifconfig", "-a"]);
    assert!(out.starts_with(LO0) && out.contains("\nlo1: "), "{out}");
    assert_eq!(
        s.run(&["ifconfig", "lo1", "create"]),
        (
            String::new(),
            "ifconfig: SIOCIFCREATE: File exists\n".to_owned(),
            Some(1)
        )
    );
    assert_eq!(s.run(&["ifconfig", "lo1", "destroy"]).2, Some(0));
    assert_eq!(
        s.run(&["ifconfig", "lo1"]),
        (
            String::new(),
            "ifconfig: SIOCGIFFLAGS lo1: Device not configured\n".to_owned(),
            Some(1)
        )
    );
    assert_eq!(s.run(&["ifconfig", "-a"]).0, LO0);
}

#[test]
fn sysctl_shows_the_net_nodes() {
    let s = serve("net,inet,inet6");
    assert_eq!(
        s.run(&["sysctl", "net.inet.ip.forwarding"]),
        (
            "net.inet.ip.forwarding = 1\n".to_owned(),
            String::new(),
            Some(0)
        )
    );
    let (out, _, code) = s.run(&["sysctl", "net"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("net.inet.udp.sendspace = 9216\n"), "{out}");
    assert!(out.contains("net.inet6.ip6.forwarding = 0\n"), "{out}");
    assert_eq!(
        s.run(&["sysctl", "-w", "net.inet.ip.forwarding=0"]).2,
        Some(0)
    );
    assert_eq!(s.run(&["sysctl", "-n", "net.inet.ip.forwarding"]).0, "0\n");
}

/// `sysctl net` lists the subtree as NetBSD's sysctl(8) does
/// (sbin/sysctl/sysctl.c print_tree with `req` cleared below the named
/// node): plain leaves as `name = value`, in MIB order; the statistics and
/// PCB-list structs, the routing tables and the childless nodes print
/// nothing. Named, they print sysctl.c's hints instead.
#[test]
fn sysctl_net_lists_only_what_sysctl8_prints() {
    let s = serve("net,inet,inet6");
    let (out, err, code) = s.run(&["sysctl", "net"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "", "a walk prints no hints");
    // Plain leaves only, as `name = value`: no statistics, PCB lists,
    // routing tables, handler-only structs (tcp ident and drop, the port
    // reservation bitmap) or childless nodes (net.sdl, net.inet.multicast).
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.iter().all(|l| l.contains(" = ")), "{out}");
    for l in &lines {
        let name = l.split(" = ").next().unwrap_or("");
        let last = name.rsplit('.').next().unwrap_or("");
        assert!(
            !["stats", "pcblist", "rtable", "ident", "drop", "reserve"].contains(&last),
            "{name} in {out}"
        );
        assert!(!name.starts_with("net.sdl"), "{out}");
    }
    assert!(!out.contains("net.inet.multicast"), "{out}");
    // In MIB order: net.inet (2) before net.inet6 (24) before
    // net.interfaces (1156); under net.inet.ip forwarding 1, redirect 2, ttl 3.
    let at = |l: &str| {
        lines
            .iter()
            .position(|x| *x == l)
            .unwrap_or_else(|| panic!("{l} not in {out}"))
    };
    assert!(at("net.inet.ip.forwarding = 1") < at("net.inet.ip.redirect = 1"));
    assert!(at("net.inet.ip.redirect = 1") < at("net.inet.ip.ttl = 64"));
    assert!(at("net.inet.ip.ttl = 64") < at("net.inet.tcp.sendspace = 32768"));
    assert!(at("net.inet.tcp.recvspace = 32768") < at("net.inet.udp.checksum = 1"));
    assert!(at("net.inet.udp.sendspace = 9216") < at("net.inet.udp.recvspace = 41600"));
    assert!(at("net.inet.udp.do_loopback_cksum = 0") < at("net.inet6.ip6.forwarding = 0"));
    assert!(at("net.inet6.ip6.forwarding = 0") < at("net.interfaces.lo0.sndq.maxlen = 256"));
    assert_eq!(
        s.run(&["sysctl", "net.inet.udp.stats"]),
        (
            String::new(),
            "sysctl: net.inet.udp.stats: use 'netstat' to view this information\n".to_owned(),
            // every sysctlperror counts: exit status 1
            Some(1)
        )
    );
    assert_eq!(
        s.run(&["sysctl", "net.inet.udp.pcblist"]).1,
        "sysctl: net.inet.udp.pcblist: use 'netstat' or 'sockstat' to view this information\n"
    );
    assert_eq!(
        s.run(&["sysctl", "net.sdl"]).1,
        "sysctl: net.sdl: use 'netstat' to view this information\n"
    );
    assert_eq!(
        s.run(&["sysctl", "net.inet.multicast"]),
        (
            "net.inet.multicast: no children\n".to_owned(),
            String::new(),
            Some(0)
        )
    );
    // write_number: strtouq's syntax, the new value as display_number prints it.
    assert_eq!(
        s.run(&["sysctl", "-w", "net.inet.ip.ttl=0x40"]).0,
        "net.inet.ip.ttl: 64 -> 64\n"
    );
    assert_eq!(
        s.run(&["sysctl", "-w", "net.inet.ip.ttl=6x"]),
        (
            String::new(),
            "sysctl: 6x: not a number\n".to_owned(),
            Some(1)
        )
    );
}

#[test]
fn without_inet6_lo0_has_only_its_ipv4_address() {
    let s = serve("net,inet");
    assert_eq!(
        s.run(&["ifconfig", "lo0"]).0,
        "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 33624\n\
         \tinet 127.0.0.1 netmask 0xff000000\n"
    );
}

/// librumpnet's kern nodes (uipc_mbuf.c sysctl_kern_mbuf_setup, uipc_socket.c
/// sysctl_kern_socket_setup): listed, writable where NetBSD allows it, and
/// refused with its handlers' errno (EINVAL below their minimum, EPERM for
/// the immediate read-only ones).
#[test]
fn the_socket_layer_kern_nodes_read_and_refuse_as_netbsd() {
    let s = serve("net,inet");
    assert_eq!(
        s.run(&["sysctl", "kern.mbuf"]).0,
        "kern.mbuf.msize = 512\n\
         kern.mbuf.mclbytes = 2048\n\
         kern.mbuf.nmbclusters = 16384\n\
         kern.mbuf.mblowat = 16\n\
         kern.mbuf.mcllowat = 8\n"
    );
    assert_eq!(
        s.run(&["sysctl", "-w", "kern.somaxkva=1024"]),
        (
            String::new(),
            "sysctl: kern.somaxkva: Invalid argument\n".to_owned(),
            Some(1)
        )
    );
    assert_eq!(
        s.run(&["sysctl", "-w", "kern.sbmax=524288"]).0,
        "kern.sbmax: 262144 -> 524288\n"
    );
    assert_eq!(
        s.run(&["sysctl", "-w", "kern.mbuf.msize=1"]).1,
        "sysctl: kern.mbuf.msize: Operation not permitted\n"
    );
}
