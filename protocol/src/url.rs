//! Server URLs, parsed with the exact acceptance rules of the reference (spec §1.2):
//! `tcp://a.b.c.d:port[/…]`, `unix://relative`, `unix:///absolute`, and the
//! reserved `tcp6://`.
//!
//! Every error names the errno the C code returns, so tools can report the
//! same failure a C client would.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

/// Who parses: a server may listen on the wildcard address, a client may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Wildcards (`*`, `0`, `0.0.0.0`) allowed.
    Server,
    /// Wildcards refused.
    Client,
}

/// `sizeof(sun_path)` on the host: 108 on Linux, 104 on the BSDs and macOS.
pub const HOST_SUN_PATH_LEN: usize = if cfg!(target_os = "linux") { 108 } else { 104 };

/// A parsed server address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerAddr {
    /// TCP over IPv4.
    Tcp(SocketAddrV4),
    /// A unix-domain socket; relative paths are already resolved against the current directory.
    Unix(PathBuf),
}

impl fmt::Display for ServerAddr {
    /// The canonical URL form: `tcp://1.2.3.4:5/` or `unix:///abs/path`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp(a) => write!(f, "tcp://{}:{}/", a.ip(), a.port()),
            ServerAddr::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

/// Why a URL was refused; [`UrlError::errno`] is what the C code returns for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// No `://` in the string.
    #[error("invalid URL {0:?}: no \"://\"")]
    NoScheme(String),
    /// The scheme is longer than 15 characters.
    #[error("invalid URL: scheme of {0} characters is too long")]
    SchemeTooLong(usize),
    /// The scheme is not `tcp`, `unix` or `tcp6`.
    #[error("invalid URL: unknown scheme {0:?} (tcp, unix, tcp6)")]
    UnknownScheme(String),
    /// `tcp6://` is reserved and not implemented.
    #[error("tcp6 support is not implemented")]
    Tcp6Unsupported,
    /// No `:` in a tcp address.
    #[error("invalid tcp URL {0:?}: missing port")]
    MissingPort(String),
    /// The host part is longer than 63 characters.
    #[error("invalid tcp URL: host of {0} characters is too long")]
    HostTooLong(usize),
    /// The host is not a dotted-quad IPv4 address (names are not resolved).
    #[error("invalid tcp URL: {0:?} is not an IPv4 address (host names are not resolved)")]
    InvalidHost(String),
    /// A client was given a wildcard address.
    #[error("a client needs a non-wildcard address, got {0:?}")]
    WildcardForClient(String),
    /// No digits after the colon.
    #[error("invalid tcp URL: port has no digits")]
    EmptyPort,
    /// Something other than `/` follows the port digits.
    #[error("invalid tcp URL: junk {0:?} at the end of the port")]
    JunkAfterPort(String),
    /// The port is 65536 or more.
    #[error("port {0} out of range")]
    PortOutOfRange(String),
    /// The unix socket path does not fit `sun_path`.
    #[error("unix socket path of {len} bytes does not fit sun_path ({max} bytes with the NUL)")]
    PathTooLong {
        /// Length of the (resolved) path.
        len: usize,
        /// `sizeof(sun_path)`.
        max: usize,
    },
}

/// NetBSD's EINVAL.
pub const EINVAL: i32 = 22;
/// NetBSD's ERANGE.
pub const ERANGE: i32 = 34;
/// NetBSD's EOPNOTSUPP.
pub const EOPNOTSUPP: i32 = 45;
/// NetBSD's ENAMETOOLONG.
pub const ENAMETOOLONG: i32 = 63;

impl UrlError {
    /// The (NetBSD) errno the reference parser returns for this error.
    pub fn errno(&self) -> i32 {
        match self {
            UrlError::PortOutOfRange(_) => ERANGE,
            UrlError::PathTooLong { .. } => ENAMETOOLONG,
            UrlError::Tcp6Unsupported => EOPNOTSUPP,
            _ => EINVAL,
        }
    }

    /// The errno's symbolic name.
    pub fn errno_name(&self) -> &'static str {
        match self.errno() {
            ERANGE => "ERANGE",
            ENAMETOOLONG => "ENAMETOOLONG",
            EOPNOTSUPP => "EOPNOTSUPP",
            _ => "EINVAL",
        }
    }
}

/// Parses `url` for `role`, resolving a relative unix path against the process's current directory.
pub fn parse_url(url: &str, role: Role) -> Result<ServerAddr, UrlError> {
    let cwd = std::env::current_dir().ok();
    parse_url_in(url, role, cwd.as_deref(), HOST_SUN_PATH_LEN)
}

/// Parses `url` with an explicit current directory (`None`: `getcwd` failed, the
/// relative path is kept as it is) and `sizeof(sun_path)`. Pure: no system calls.
pub fn parse_url_in(
    url: &str,
    role: Role,
    cwd: Option<&Path>,
    sun_path_len: usize,
) -> Result<ServerAddr, UrlError> {
    let (scheme, addr) = url
        .split_once("://")
        .ok_or_else(|| UrlError::NoScheme(url.to_owned()))?;
    if scheme.len() > 15 {
        return Err(UrlError::SchemeTooLong(scheme.len()));
    }
    match scheme {
        "tcp" => parse_tcp(addr, role).map(ServerAddr::Tcp),
        "unix" => parse_unix(addr, cwd, sun_path_len).map(ServerAddr::Unix),
        "tcp6" => Err(UrlError::Tcp6Unsupported),
        other => Err(UrlError::UnknownScheme(other.to_owned())),
    }
}

fn parse_tcp(addr: &str, role: Role) -> Result<SocketAddrV4, UrlError> {
    let (host, rest) = addr
        .split_once(':')
        .ok_or_else(|| UrlError::MissingPort(addr.to_owned()))?;
    if host.len() > 63 {
        return Err(UrlError::HostTooLong(host.len()));
    }
    let ip = match host {
        "*" | "0" => Ipv4Addr::UNSPECIFIED,
        // std's parser, like inet_pton(AF_INET), takes exactly four decimal
        // octets without leading zeros.
        h => h
            .parse::<Ipv4Addr>()
            .map_err(|_| UrlError::InvalidHost(h.to_owned()))?,
    };
    if ip.is_unspecified() && role == Role::Client {
        return Err(UrlError::WildcardForClient(host.to_owned()));
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(UrlError::EmptyPort);
    }
    let (port, tail) = rest.split_at(digits);
    if !(tail.is_empty() || tail.starts_with('/')) {
        return Err(UrlError::JunkAfterPort(tail.to_owned()));
    }
    // Leading zeros are fine (atoi); any value past 65535, however many digits, is ERANGE.
    let value = port.bytes().fold(0u64, |v, d| {
        v.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    let port_num = u16::try_from(value).map_err(|_| UrlError::PortOutOfRange(port.to_owned()))?;
    Ok(SocketAddrV4::new(ip, port_num))
}

fn parse_unix(addr: &str, cwd: Option<&Path>, sun_path_len: usize) -> Result<PathBuf, UrlError> {
    let too_long = |len| UrlError::PathTooLong {
        len,
        max: sun_path_len,
    };
    if addr.len() >= sun_path_len {
        return Err(too_long(addr.len()));
    }
    if addr.starts_with('/') {
        return Ok(PathBuf::from(addr));
    }
    let Some(cwd) = cwd else {
        return Ok(PathBuf::from(addr));
    };
    let cwd_len = cwd.as_os_str().len();
    let total = cwd_len + addr.len() + 1;
    if total >= sun_path_len {
        return Err(too_long(total));
    }
    // Plain concatenation with one '/', no normalisation (as the reference).
    let mut s = cwd.as_os_str().to_owned();
    s.push("/");
    s.push(addr);
    Ok(PathBuf::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(a: [u8; 4], port: u16) -> ServerAddr {
        ServerAddr::Tcp(SocketAddrV4::new(Ipv4Addr::from(a), port))
    }

    /// Every accepted form and every error row of spec §1.2.
    #[test]
    fn url_table() {
        use Role::{Client as C, Server as S};
        let cwd = Some(Path::new("/work/dir"));
        let ok: &[(&str, Role, ServerAddr)] = &[
            ("tcp://127.0.0.1:12345", C, tcp([127, 0, 0, 1], 12345)),
            ("tcp://1.2.3.4:9000/", C, tcp([1, 2, 3, 4], 9000)),
            ("tcp://1.2.3.4:9000/whatever", C, tcp([1, 2, 3, 4], 9000)),
            ("tcp://1.2.3.4:009000", C, tcp([1, 2, 3, 4], 9000)),
            ("tcp://1.2.3.4:0", C, tcp([1, 2, 3, 4], 0)),
            ("tcp://1.2.3.4:65535", C, tcp([1, 2, 3, 4], 65535)),
            ("tcp://0:3755/", S, tcp([0, 0, 0, 0], 3755)),
            ("tcp://*:3755", S, tcp([0, 0, 0, 0], 3755)),
            ("tcp://0.0.0.0:3755", S, tcp([0, 0, 0, 0], 3755)),
            (
                "unix:///tmp/rump.sock",
                C,
                ServerAddr::Unix("/tmp/rump.sock".into()),
            ),
            ("unix://sock", C, ServerAddr::Unix("/work/dir/sock".into())),
            (
                "unix://../x/./y/",
                S,
                ServerAddr::Unix("/work/dir/../x/./y/".into()),
            ),
            ("unix://", C, ServerAddr::Unix("/work/dir/".into())),
        ];
        for (url, role, want) in ok {
            assert_eq!(
                parse_url_in(url, *role, cwd, 108).as_ref(),
                Ok(want),
                "{url}"
            );
        }
        let long_host = format!("tcp://{}:1", "1".repeat(64));
        let long_port = format!("tcp://1.2.3.4:{}", "9".repeat(70));
        let long_scheme = format!("{}://x", "t".repeat(16));
        let long_abs = format!("unix:///{}", "a".repeat(107));
        let long_rel = format!("unix://{}", "a".repeat(98)); // 9 + 1 + 98 = 108
        let err: &[(&str, Role, i32, &str)] = &[
            ("tcp:/1.2.3.4:1", C, EINVAL, "NoScheme"),
            ("1.2.3.4:1", C, EINVAL, "NoScheme"),
            (&long_scheme, C, EINVAL, "SchemeTooLong"),
            ("http://1.2.3.4:1", C, EINVAL, "UnknownScheme"),
            ("TCP://1.2.3.4:1", C, EINVAL, "UnknownScheme"),
            ("tcp6://[::1]:1", S, EOPNOTSUPP, "Tcp6Unsupported"),
            ("tcp://1.2.3.4", C, EINVAL, "MissingPort"),
            (&long_host, C, EINVAL, "HostTooLong"),
            ("tcp://localhost:1234", C, EINVAL, "InvalidHost"),
            ("tcp://:1234", C, EINVAL, "InvalidHost"),
            ("tcp://1.2.3:1234", C, EINVAL, "InvalidHost"),
            ("tcp://1.2.3.256:1234", C, EINVAL, "InvalidHost"),
            ("tcp://01.2.3.4:1234", C, EINVAL, "InvalidHost"),
            ("tcp://0:3755", C, EINVAL, "WildcardForClient"),
            ("tcp://*:3755", C, EINVAL, "WildcardForClient"),
            ("tcp://0.0.0.0:3755", C, EINVAL, "WildcardForClient"),
            ("tcp://1.2.3.4:", C, EINVAL, "EmptyPort"),
            ("tcp://1.2.3.4:-1", C, EINVAL, "EmptyPort"),
            ("tcp://1.2.3.4:80x", C, EINVAL, "JunkAfterPort"),
            ("tcp://1.2.3.4:80:81", C, EINVAL, "JunkAfterPort"),
            ("tcp://1.2.3.4:65536", C, ERANGE, "PortOutOfRange"),
            (&long_port, C, ERANGE, "PortOutOfRange"),
            (&long_abs, S, ENAMETOOLONG, "PathTooLong"),
            (&long_rel, S, ENAMETOOLONG, "PathTooLong"),
        ];
        for (url, role, errno, variant) in err {
            let e = parse_url_in(url, *role, cwd, 108).unwrap_err();
            assert_eq!(e.errno(), *errno, "{url}: {e}");
            assert!(format!("{e:?}").starts_with(variant), "{url}: {e:?}");
        }
    }

    #[test]
    fn sun_path_boundaries() {
        let cwd = Some(Path::new("/w"));
        // absolute: strlen must be < sizeof(sun_path)
        let fits = format!("unix:///{}", "a".repeat(102)); // 103 bytes of path
        assert!(parse_url_in(&fits, Role::Server, cwd, 104).is_ok());
        let over = format!("unix:///{}", "a".repeat(103)); // 104 bytes
        assert!(parse_url_in(&over, Role::Server, cwd, 104).is_err());
        // relative: cwd + '/' + path must be < sizeof(sun_path)
        let rel_fits = format!("unix://{}", "a".repeat(100)); // 2 + 1 + 100 = 103
        assert!(parse_url_in(&rel_fits, Role::Server, cwd, 104).is_ok());
        let rel_over = format!("unix://{}", "a".repeat(101));
        assert!(parse_url_in(&rel_over, Role::Server, cwd, 104).is_err());
    }

    #[test]
    fn relative_path_without_cwd_is_kept() {
        assert_eq!(
            parse_url_in("unix://sock", Role::Client, None, 108),
            Ok(ServerAddr::Unix("sock".into()))
        );
    }

    #[test]
    fn display_is_a_url_that_parses_back() {
        for url in ["tcp://10.0.0.1:80/", "unix:///tmp/s"] {
            let a = parse_url_in(url, Role::Client, None, 108).unwrap();
            assert_eq!(a.to_string(), url);
        }
    }
}
