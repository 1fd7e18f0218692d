//! How NetBSD's sysctl(8) prints a node (sbin/sysctl/sysctl.c 1.156,
//! print_tree and its handlers): which nodes print a `name = value` line,
//! which print something of their own, and which print nothing.
//!
//! `req` is sysctl.c's flag of the same name: set for a node named on the
//! command line, cleared for the nodes a walk reaches (print_tree sets
//! `req = 0` before it descends), so most special nodes print only when
//! named.

/// sysctl.c's `handlers[]` entries that apply to a rump kernel's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// kern_clockrate: `kern.clockrate: tick = …, stathz = …`.
    Clockrate,
    /// printother: nothing in a walk; named, a hint on standard error
    /// (`use 'ps' to view this information`), or the generic one for its
    /// top-level node when the entry names no program.
    Other(Option<&'static str>),
    /// proc_limit: `unlimited` for RLIM_INFINITY, else the number.
    ProcLimit,
    /// reserve: the reserved ports as a comma-separated list.
    Reserve,
}

/// The handler sysctl.c's table gives the dotted `name` (its regular
/// expressions, matched against the whole `/`-separated name). `is_node`:
/// the last four entries ("these will only be called when the given node
/// has no children") name nodes.
pub fn handler(name: &str) -> Option<Handler> {
    let c: Vec<&str> = name.split('.').collect();
    let other = |v| Some(Handler::Other(Some(v)));
    match c.as_slice() {
        ["kern", "clockrate"] => Some(Handler::Clockrate),
        ["kern", "evcnt"] => other("vmstat -e"),
        ["kern", "vnode"] => other("pstat"),
        ["kern", "proc" | "proc2" | "proc_args"] => other("ps"),
        ["kern", "file" | "file2"] => other("pstat"),
        ["kern", "ntptime"] => other("ntpdc -c kerninfo"),
        ["kern", "msgbuf"] => other("dmesg"),
        ["kern", "sysvipc_info"] => other("ipcs"),
        ["vm", "vmmeter" | "uvmexp" | "uvmexp2"] => other("vmstat' or 'systat"),
        ["vfs", "nfs", "nfsstats"] => other("nfsstat"),
        ["net", "inet" | "inet6", "tcp" | "tcp6", "ident"] => other("identd"),
        ["net", "inet6", "icmp6", "nd6_drlist" | "nd6_prlist"] => other("ndp"),
        ["net", "key", "dumpsa" | "dumpsp"] => other("setkey"),
        ["net", _, _, "pcblist"] => other("netstat' or 'sockstat"),
        ["net", "inet" | "inet6", _, "stats"] => other("netstat"),
        ["net", "bpf", "stats" | "peers"] => other("netstat"),
        ["net", a, b, d]
            if a.starts_with("inet") && b.starts_with("tcp") && d.starts_with("deb") =>
        {
            other("trpt")
        }
        ["net", a, b, "anonportalgo", "reserve"]
            if a.starts_with("inet") && b.starts_with("ip") =>
        {
            Some(Handler::Reserve)
        }
        ["hw", "diskstats"] => other("iostat"),
        ["proc", _, "rlimit", _, _] => Some(Handler::ProcLimit),
        ["net", _] | ["debug"] | ["ddb"] | ["vendor"] => Some(Handler::Other(None)),
        _ => None,
    }
}

/// printother's message for a named node (sysctl.c printother): the
/// entry's program, else a hint by the top-level node; None when it has none.
pub fn other_hint(name: &str, program: Option<&str>) -> Option<String> {
    if let Some(p) = program {
        return Some(format!(
            "sysctl: {name}: use '{p}' to view this information"
        ));
    }
    let hint = match name.split('.').next() {
        Some("net") => "use 'netstat' to view this information",
        Some("debug") => "missing 'options DEBUG' from kernel?",
        Some("ddb") => "missing 'options DDB' from kernel?",
        Some("vendor") => "no vendor extensions installed",
        _ => return None,
    };
    Some(format!("sysctl: {name}: {hint}"))
}

/// NetBSD's RLIM_INFINITY (sys/resource.h: `(((rlim_t)1 << 63) - 1)`).
const RLIM_INFINITY: i64 = i64::MAX;

/// What sysctl(8) prints for a leaf (not a node) whose value is `data`:
/// (a standard-output line, a standard-error line). `values_only` is -n.
pub fn leaf(
    name: &str,
    ctype: u32,
    data: &[u8],
    req: bool,
    values_only: bool,
    show: impl Fn(u32, &[u8]) -> String,
) -> (Option<String>, Option<String>) {
    let line = |v: String| {
        if values_only {
            v
        } else {
            format!("{name} = {v}")
        }
    };
    match handler(name) {
        Some(Handler::Other(program)) => (None, req.then(|| other_hint(name, program)).flatten()),
        Some(Handler::Clockrate) => {
            // struct clockinfo { int hz, tick, tickadj, stathz, profhz; }
            let f = |i: usize| {
                data.get(4 * i..4 * i + 4)
                    .map_or(0, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            };
            let v = format!(
                "tick = {}, tickadj = {}, hz = {}, profhz = {}, stathz = {}",
                f(1),
                f(2),
                f(0),
                f(4),
                f(3)
            );
            (
                Some(if values_only {
                    v
                } else {
                    format!("{name}: {v}")
                }),
                None,
            )
        }
        Some(Handler::ProcLimit) => {
            let v = data
                .get(..8)
                .map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
            match v {
                Some(RLIM_INFINITY) => (Some(line("unlimited".to_owned())), None),
                _ => (Some(line(show(ctype, data))), None),
            }
        }
        Some(Handler::Reserve) => {
            let ports: Vec<String> = data
                .iter()
                .enumerate()
                .flat_map(|(i, b)| {
                    (0..8)
                        .filter(move |k| b & (1 << k) != 0)
                        .map(move |k| 8 * i + k)
                })
                .map(|p| p.to_string())
                .collect();
            (Some(line(ports.join(","))), None)
        }
        // display_struct without -x/-r: nothing, and a complaint when named.
        None if ctype == 5 => (
            None,
            req.then(|| format!("sysctl: {name}: this type is unknown to this program")),
        ),
        None => (Some(line(show(ctype, data))), None),
    }
}

/// What sysctl(8) prints for a node named on the command line that has no
/// children (print_tree's CTLTYPE_NODE case): its handler's hint on
/// standard error, else `NAME: no children` on standard output.
pub fn childless_node(name: &str) -> (Option<String>, Option<String>) {
    match handler(name) {
        Some(Handler::Other(program)) => (None, other_hint(name, program)),
        _ => (Some(format!("{name}: no children")), None),
    }
}

/// CTLFLAG_HIDDEN: a walk skips such children (print_tree, unless -A).
pub const CTLFLAG_HIDDEN: u32 = 0x8000;

#[cfg(test)]
mod tests {
    use super::*;

    fn show(_: u32, d: &[u8]) -> String {
        format!("{}", i32::from_le_bytes([d[0], d[1], d[2], d[3]]))
    }

    #[test]
    fn plain_leaves_print_name_equals_value() {
        let one = 1i32.to_le_bytes();
        assert_eq!(
            leaf("net.inet.ip.forwarding", 2, &one, true, false, show),
            (Some("net.inet.ip.forwarding = 1".to_owned()), None)
        );
        assert_eq!(
            leaf("net.inet.ip.forwarding", 2, &one, false, true, show).0,
            Some("1".to_owned())
        );
    }

    #[test]
    fn special_nodes_print_only_when_named() {
        let z = [0u8; 8];
        assert_eq!(
            leaf("net.inet.udp.stats", 5, &z, false, false, show),
            (None, None)
        );
        assert_eq!(
            leaf("net.inet.udp.stats", 5, &z, true, false, show)
                .1
                .as_deref(),
            Some("sysctl: net.inet.udp.stats: use 'netstat' to view this information")
        );
        assert_eq!(
            leaf("net.inet.udp.pcblist", 5, &z, true, false, show).1.as_deref(),
            Some("sysctl: net.inet.udp.pcblist: use 'netstat' or 'sockstat' to view this information")
        );
        assert_eq!(leaf("kern.msgbuf", 2, &z, false, false, show), (None, None));
        assert_eq!(
            leaf("hw.iostats", 5, &z, true, false, show).1.as_deref(),
            Some("sysctl: hw.iostats: this type is unknown to this program")
        );
        assert_eq!(leaf("hw.iostats", 5, &z, false, false, show), (None, None));
    }

    #[test]
    fn handlers_format_their_values() {
        let mut ci = Vec::new();
        for v in [100i32, 10000, 40, 100, 100] {
            ci.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(
            leaf("kern.clockrate", 5, &ci, false, false, show)
                .0
                .as_deref(),
            Some(
                "kern.clockrate: tick = 10000, tickadj = 40, hz = 100, profhz = 100, stathz = 100"
            )
        );
        assert_eq!(
            leaf(
                "proc.curproc.rlimit.cputime.soft",
                4,
                &i64::MAX.to_le_bytes(),
                false,
                false,
                show
            )
            .0
            .as_deref(),
            Some("proc.curproc.rlimit.cputime.soft = unlimited")
        );
        assert_eq!(
            childless_node("net.sdl").1.as_deref(),
            Some("sysctl: net.sdl: use 'netstat' to view this information")
        );
        assert_eq!(childless_node("vfs").0.as_deref(), Some("vfs: no children"));
        assert_eq!(
            childless_node("debug").1.as_deref(),
            Some("sysctl: debug: missing 'options DEBUG' from kernel?")
        );
    }
}
