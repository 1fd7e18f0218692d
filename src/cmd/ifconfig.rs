//! `rumpsp ifconfig`: NetBSD 7's ifconfig(8) against a rump kernel, for the
//! operations a loopback-only kernel has: `-a`, `IF`, `IF create`,
//! `IF destroy`, `IF inet ADDR[/LEN]`, `up`, `down`. Like NetBSD's (which
//! reads getifaddrs(3), i.e. the NET_RT_IFLIST sysctl, and the SIOCGIF*
//! ioctls), it lists interfaces from `{CTL_NET, PF_ROUTE, 0, 0,
//! NET_RT_IFLIST, 0}` and reads flags, metric and mtu with SIOCGIFFLAGS,
//! SIOCGIFMETRIC and SIOCGIFMTU; the output is status()'s
//! (sbin/ifconfig/ifconfig.c, af_inet.c, af_inet6.c), the address lines
//! indented with a tab:
//!
//! ```text
//! lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 33624
//!     inet 127.0.0.1 netmask 0xff000000
//!     inet6 ::1 prefixlen 128
//!     inet6 fe80::1%lo0 prefixlen 64 scopeid 0x1
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use rumpsp_protocol::client::Arg;
use rumpsp_protocol::net::{Client, ClientError};

const SOCKET: u32 = 394;
const CLOSE: u32 = 6;
const IOCTL: u32 = 54;

const SIOCGIFFLAGS: u32 = 0xc090_6911;
const SIOCSIFFLAGS: u32 = 0x8090_6910;
const SIOCGIFMETRIC: u32 = 0xc090_6917;
const SIOCGIFMTU: u32 = 0xc090_697e;
const SIOCAIFADDR: u32 = 0x8040_691a;
const SIOCIFCREATE: u32 = 0x8090_697a;
const SIOCIFDESTROY: u32 = 0x8090_6979;

const IFF_UP: u16 = 0x1;
const IFF_BROADCAST: u16 = 0x2;
const IFF_POINTOPOINT: u16 = 0x10;

/// if.h's IFFBITS, bit 1 first.
const IFFBITS: [&str; 16] = [
    "UP",
    "BROADCAST",
    "DEBUG",
    "LOOPBACK",
    "POINTOPOINT",
    "NOTRAILERS",
    "RUNNING",
    "NOARP",
    "PROMISC",
    "ALLMULTI",
    "OACTIVE",
    "SIMPLEX",
    "LINK0",
    "LINK1",
    "LINK2",
    "MULTICAST",
];

/// printb("flags", flags, IFFBITS).
pub fn flags_string(flags: u16) -> String {
    let names: Vec<&str> = IFFBITS
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    format!("flags={flags:x}<{}>", names.join(","))
}

/// One address of an interface, from an RTM_NEWADDR record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// IPv4: address, netmask, broadcast/destination.
    Inet(Ipv4Addr, Ipv4Addr, Option<Ipv4Addr>),
    /// IPv6: address (KAME scope still embedded), prefix length.
    Inet6([u8; 16], u32),
}

/// An interface as getifaddrs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// if_xname.
    pub name: String,
    /// if_index.
    pub index: u16,
    /// Its addresses, in the kernel's order.
    pub addrs: Vec<Addr>,
}

fn rounded(len: usize) -> usize {
    if len == 0 {
        8
    } else {
        1 + ((len - 1) | 7)
    }
}

/// The sockaddrs of a routing message from `at`, by RTAX slot.
fn sockaddrs(m: &[u8], mut at: usize, addrs: u32) -> [Option<&[u8]>; 8] {
    let mut out: [Option<&[u8]>; 8] = [None; 8];
    for (i, slot) in out.iter_mut().enumerate() {
        if addrs & (1 << i) == 0 {
            continue;
        }
        let Some(&len) = m.get(at) else { break };
        let len = usize::from(len);
        *slot = m.get(at..(at + len).min(m.len()));
        at += rounded(len);
    }
    out
}

fn v4(sa: Option<&[u8]>) -> Ipv4Addr {
    let mut a = [0u8; 4];
    if let Some(sa) = sa {
        for (i, b) in a.iter_mut().enumerate() {
            *b = sa.get(4 + i).copied().unwrap_or(0);
        }
    }
    Ipv4Addr::from(a)
}

fn v6(sa: Option<&[u8]>) -> [u8; 16] {
    let mut a = [0u8; 16];
    if let Some(sa) = sa {
        for (i, b) in a.iter_mut().enumerate() {
            *b = sa.get(8 + i).copied().unwrap_or(0);
        }
    }
    a
}

/// Decodes a NET_RT_IFLIST answer into interfaces (RTM_IFINFO, then the
/// RTM_NEWADDR records of its addresses).
pub fn parse_iflist(buf: &[u8]) -> Vec<Interface> {
    let mut out: Vec<Interface> = Vec::new();
    let mut at = 0;
    while at + 4 <= buf.len() {
        let len = usize::from(u16::from_le_bytes([buf[at], buf[at + 1]]));
        if len < 4 || at + len > buf.len() {
            break;
        }
        let m = &buf[at..at + len];
        let word = |o: usize| {
            m.get(o..o + 4)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        match m[3] {
            0x14 if len >= 152 => {
                let sas = sockaddrs(m, 152, word(4));
                let name = sas[4]
                    .map(|sdl| {
                        let nlen = usize::from(sdl.get(5).copied().unwrap_or(0));
                        String::from_utf8_lossy(sdl.get(8..8 + nlen).unwrap_or_default())
                            .into_owned()
                    })
                    .unwrap_or_default();
                out.push(Interface {
                    name,
                    index: u16::from_le_bytes([m[12], m[13]]),
                    addrs: vec![],
                });
            }
            0xc if len >= 24 => {
                let sas = sockaddrs(m, 24, word(4));
                let ifa = sas[5];
                let addr = match ifa.and_then(|s| s.get(1)) {
                    Some(2) => Some(Addr::Inet(
                        v4(ifa),
                        v4(sas[2]),
                        sas[7].filter(|s| s.len() >= 8).map(|s| v4(Some(s))),
                    )),
                    Some(24) => {
                        let mut n = 0;
                        for b in v6(sas[2]) {
                            n += b.leading_ones();
                            if b != 0xff {
                                break;
                            }
                        }
                        Some(Addr::Inet6(v6(ifa), n))
                    }
                    _ => None,
                };
                if let (Some(a), Some(i)) = (addr, out.last_mut()) {
                    i.addrs.push(a);
                }
            }
            _ => {}
        }
        at += len;
    }
    out
}

/// One interface's lines, as status() prints them: flags, metric and mtu
/// (`flags`, `metric`, `mtu` from the ioctls), then the IPv4 addresses
/// (the first one plain, the others `alias`), then the IPv6 ones.
pub fn status_lines(i: &Interface, flags: u16, metric: i32, mtu: i32, all: &[Interface]) -> String {
    let mut s = format!("{}: {}", i.name, flags_string(flags));
    if metric != 0 {
        s += &format!(" metric {metric}");
    }
    if mtu != 0 {
        s += &format!(" mtu {mtu}");
    }
    s.push('\n');
    let mut first = true;
    for a in &i.addrs {
        if let Addr::Inet(addr, mask, brd) = a {
            let alias = if first { "" } else { "alias " };
            first = false;
            s += &format!("\tinet {alias}{addr}");
            if flags & IFF_POINTOPOINT != 0 {
                if let Some(d) = brd {
                    s += &format!(" -> {d}");
                }
            }
            s += &format!(" netmask 0x{:x}", u32::from(*mask));
            if flags & IFF_BROADCAST != 0 {
                if let Some(b) = brd {
                    s += &format!(" broadcast {b}");
                }
            }
            s.push('\n');
        }
    }
    for a in &i.addrs {
        if let Addr::Inet6(addr, plen) = a {
            let mut addr = *addr;
            // KAME: a link-local (or link/interface-local multicast)
            // address carries its scope in bytes 2..4.
            let scoped = (addr[0] == 0xfe && addr[1] & 0xc0 == 0x80)
                || (addr[0] == 0xff && matches!(addr[1] & 0xf, 1 | 2));
            let mut scope = 0u16;
            if scoped {
                scope = u16::from_be_bytes([addr[2], addr[3]]);
                addr[2] = 0;
                addr[3] = 0;
            }
            let mut text = Ipv6Addr::from(addr).to_string();
            if scope != 0 {
                let zone = all
                    .iter()
                    .find(|x| x.index == scope)
                    .map_or_else(|| scope.to_string(), |x| x.name.clone());
                text += &format!("%{zone}");
            }
            s += &format!("\tinet6 {text} prefixlen {plen}");
            if scope != 0 {
                s += &format!(" scopeid 0x{scope:x}");
            }
            s.push('\n');
        }
    }
    s
}

/// An ifreq naming `name` with `v` in the union.
fn ifreq(name: &str, v: i32) -> Vec<u8> {
    let mut b = vec![0u8; 144];
    let n = name.len().min(15);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    b[16..20].copy_from_slice(&v.to_le_bytes());
    b
}

async fn ioctl(c: &Client, s: i32, com: u32, buf: Vec<u8>) -> Result<Vec<u8>, ClientError> {
    let (_, mut out) = c
        .syscall(
            IOCTL,
            vec![Arg::Int(s), Arg::Word(u64::from(com)), Arg::InOut(buf)],
        )
        .await?;
    Ok(out.pop().unwrap_or_default())
}

fn int16(b: &[u8]) -> i32 {
    b.get(16..20)
        .map_or(0, |x| i32::from_le_bytes([x[0], x[1], x[2], x[3]]))
}

/// The socket ifconfig talks through: AF_INET, else AF_INET6, else
/// AF_LOCAL (the interface ioctls work on any of them).
async fn socket(c: &Client, domains: &[i32]) -> Result<i32, ClientError> {
    let mut last = None;
    for &domain in domains {
        match c
            .syscall(SOCKET, vec![Arg::Int(domain), Arg::Int(2), Arg::Int(0)])
            .await
        {
            Ok((rv, _)) => return Ok(rv[0] as i32),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(ClientError::NoServer))
}

/// Parses `ADDR[/LEN]` into an ifaliasreq for `name` (mask: the prefix, or
/// none, for the kernel's classful default).
fn aliasreq(name: &str, spec: &str) -> Result<Vec<u8>, String> {
    let (a, len) = match spec.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (spec, None),
    };
    let addr: Ipv4Addr = a.parse().map_err(|_| format!("{spec}: bad value"))?;
    let mut r = vec![0u8; 64];
    let n = name.len().min(15);
    r[..n].copy_from_slice(&name.as_bytes()[..n]);
    r[16] = 16;
    r[17] = 2;
    r[20..24].copy_from_slice(&addr.octets());
    if let Some(l) = len {
        let l: u32 = l
            .parse()
            .ok()
            .filter(|l| *l <= 32)
            .ok_or_else(|| format!("{spec}: bad value"))?;
        let mask = if l == 0 { 0 } else { u32::MAX << (32 - l) };
        r[48] = 16;
        r[49] = 2;
        r[52..56].copy_from_slice(&mask.to_be_bytes());
    }
    Ok(r)
}

/// What an operation prints on failure: `ifconfig: WHAT: strerror`.
fn warn(what: &str, e: &ClientError) {
    eprintln!("ifconfig: {what}: {}", super::tools::strerror(e));
}

/// Runs ifconfig: `all` is -a, `args` the interface and its operations.
/// Returns whether an operation failed (exit status 1); transport trouble
/// is an `Err`.
pub async fn run(c: &Client, all: bool, args: &[String]) -> anyhow::Result<bool> {
    let s = match socket(c, &[2, 24, 1]).await {
        Ok(s) => s,
        Err(e) => {
            warn("socket", &super::tools::op_failed(e)?);
            return Ok(true);
        }
    };
    let r = body(c, s, all, args).await;
    let _ = c.syscall(CLOSE, vec![Arg::Int(s)]).await;
    r
}

async fn body(c: &Client, s: i32, all: bool, args: &[String]) -> anyhow::Result<bool> {
    use super::tools::op_failed;
    if all || args.is_empty() {
        return list(c, s, None).await;
    }
    let name = args[0].as_str();
    let ops = &args[1..];
    if ops.is_empty() {
        return list(c, s, Some(name)).await;
    }
    let mut i = 0;
    while i < ops.len() {
        match ops[i].as_str() {
            "create" => {
                if let Err(e) = ioctl(c, s, SIOCIFCREATE, ifreq(name, 0)).await {
                    warn("SIOCIFCREATE", &op_failed(e)?);
                    return Ok(true);
                }
            }
            "destroy" => {
                if let Err(e) = ioctl(c, s, SIOCIFDESTROY, ifreq(name, 0)).await {
                    warn("SIOCIFDESTROY", &op_failed(e)?);
                    return Ok(true);
                }
            }
            "up" | "down" => {
                let cur = match ioctl(c, s, SIOCGIFFLAGS, ifreq(name, 0)).await {
                    Ok(b) => int16(&b) as u16,
                    Err(e) => {
                        warn(&format!("SIOCGIFFLAGS {name}"), &op_failed(e)?);
                        return Ok(true);
                    }
                };
                let new = if ops[i] == "up" {
                    cur | IFF_UP
                } else {
                    cur & !IFF_UP
                };
                if let Err(e) = ioctl(c, s, SIOCSIFFLAGS, ifreq(name, i32::from(new))).await {
                    warn("SIOCSIFFLAGS", &op_failed(e)?);
                    return Ok(true);
                }
            }
            "inet" => {
                let Some(spec) = ops.get(i + 1) else {
                    anyhow::bail!("ifconfig: inet needs an address");
                };
                i += 1;
                let req = aliasreq(name, spec).map_err(|m| anyhow::anyhow!("ifconfig: {m}"))?;
                // in_control is AF_INET's: the request needs an AF_INET socket.
                let s4 = match socket(c, &[2]).await {
                    Ok(s4) => s4,
                    Err(e) => {
                        warn("socket", &op_failed(e)?);
                        return Ok(true);
                    }
                };
                let r = ioctl(c, s4, SIOCAIFADDR, req).await;
                let _ = c.syscall(CLOSE, vec![Arg::Int(s4)]).await;
                if let Err(e) = r {
                    warn("SIOCAIFADDR", &op_failed(e)?);
                    return Ok(true);
                }
            }
            other => anyhow::bail!("ifconfig: {other}: unknown operation"),
        }
        i += 1;
    }
    Ok(false)
}

/// Prints every interface (or only `only`), in the kernel's order.
async fn list(c: &Client, s: i32, only: Option<&str>) -> anyhow::Result<bool> {
    use super::tools::op_failed;
    let mib = [4, 34, 0, 0, 5, 0];
    let data = match c.sysctl(&mib, 0, None).await {
        Ok((_, size)) => c.sysctl(&mib, size.max(1) as usize, None).await,
        Err(e) => Err(e),
    };
    let data = match data {
        Ok((d, _)) => d,
        Err(e) => {
            warn("getifaddrs", &op_failed(e)?);
            return Ok(true);
        }
    };
    let ifs = parse_iflist(&data);
    let mut out = String::new();
    let mut failed = false;
    if let Some(n) = only {
        if !ifs.iter().any(|i| i.name == n) {
            // status() asks SIOCGIFFLAGS first, which names the failure.
            if let Err(e) = ioctl(c, s, SIOCGIFFLAGS, ifreq(n, 0)).await {
                warn(&format!("SIOCGIFFLAGS {n}"), &op_failed(e)?);
                return Ok(true);
            }
        }
    }
    for i in ifs.iter().filter(|i| only.is_none_or(|n| n == i.name)) {
        let mut vals = [0i32; 3];
        for (v, com) in vals
            .iter_mut()
            .zip([SIOCGIFFLAGS, SIOCGIFMETRIC, SIOCGIFMTU])
        {
            match ioctl(c, s, com, ifreq(&i.name, 0)).await {
                Ok(b) => *v = int16(&b),
                Err(e) => {
                    warn(&format!("SIOCGIFFLAGS {}", i.name), &op_failed(e)?);
                    failed = true;
                }
            }
        }
        if failed {
            break;
        }
        out += &status_lines(i, vals[0] as u16, vals[1], vals[2], &ifs);
    }
    print!("{out}");
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_print_as_printb() {
        assert_eq!(
            flags_string(0x8049),
            "flags=8049<UP,LOOPBACK,RUNNING,MULTICAST>"
        );
        assert_eq!(
            flags_string(0x8048),
            "flags=8048<LOOPBACK,RUNNING,MULTICAST>"
        );
    }

    #[test]
    fn status_of_lo0_and_an_alias() {
        let lo0 = Interface {
            name: "lo0".into(),
            index: 1,
            addrs: vec![
                Addr::Inet6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128),
                Addr::Inet6([0xfe, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 64),
                Addr::Inet(
                    Ipv4Addr::LOCALHOST,
                    Ipv4Addr::new(255, 0, 0, 0),
                    Some(Ipv4Addr::LOCALHOST),
                ),
                Addr::Inet(
                    Ipv4Addr::new(127, 0, 0, 2),
                    Ipv4Addr::new(255, 255, 255, 255),
                    None,
                ),
            ],
        };
        let all = [lo0.clone()];
        assert_eq!(
            status_lines(&lo0, 0x8049, 0, 33624, &all),
            "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 33624\n\
             \tinet 127.0.0.1 netmask 0xff000000\n\
             \tinet alias 127.0.0.2 netmask 0xffffffff\n\
             \tinet6 ::1 prefixlen 128\n\
             \tinet6 fe80::1%lo0 prefixlen 64 scopeid 0x1\n"
        );
    }

    #[test]
    fn prefixes_become_masks() {
        let r = aliasreq("lo1", "10.9.8.7/24").unwrap();
        assert_eq!(r[16..24], [16, 2, 0, 0, 10, 9, 8, 7]);
        assert_eq!(r[48..56], [16, 2, 0, 0, 255, 255, 255, 0]);
        assert_eq!(aliasreq("lo1", "10.9.8.7").unwrap()[48], 0);
        assert!(aliasreq("lo1", "10.9.8.7/33").is_err());
        assert!(aliasreq("lo1", "nonsense").is_err());
    }
}
