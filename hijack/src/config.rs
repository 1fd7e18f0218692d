//! The `RUMPHIJACK` configuration and the test deciding which paths belong to
//! the rump kernel.
//!
//! Supported keys (rumphijack(3) syntax, comma-separated `key=value`):
//! `path=/rump` (the prefix; stripped before the path is sent) and
//! `socket=LIST` (which socket domains are the rump kernel's: a
//! colon-separated list of `all`, `none`, `inet`, `inet6`, `local` (alias
//! `unix`), each of the last three also as `noinet` etc. to take it out
//! again, read left to right as rumphijack(3) reads it, NetBSD
//! lib/librumphijack/hijack.c sockparser; `none` is this library's own
//! word, and its `route`/`link` domains are refused). Without `socket=` no
//! socket is routed (rumphijack's default when RUMPHIJACK is unset is
//! `socket=all:nolocal`; `rumpsp run` always sets the variable). The
//! other rumphijack keys (`blanket`, `vfs`, `sysctl`, `modctl`, `fdoff`) are
//! accepted and ignored: sysctl and modctl are never hijacked here, and
//! descriptors are host-unique numbers, not an offset range.

use crate::xlate::socket::Domains;

/// What the library routes to the rump kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The path prefix that names the rump kernel's root (no trailing slash).
    pub prefix: Vec<u8>,
    /// The socket domains routed to the rump kernel.
    pub sockets: Domains,
}

/// A `RUMPHIJACK` string the library cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A key this library does not know.
    #[error("RUMPHIJACK: unknown key {0:?}")]
    UnknownKey(String),
    /// `path=` must be an absolute path other than `/`.
    #[error("RUMPHIJACK: path must be absolute and not \"/\", got {0:?}")]
    BadPath(String),
    /// `socket=` names a domain this library does not route.
    #[error("RUMPHIJACK: socket: unknown domain {0:?} (all, none, inet, inet6, local)")]
    BadDomain(String),
}

/// Applies a `socket=` list (colon-separated) to `d`, as NetBSD's
/// lib/librumphijack/hijack.c sockparser does (`all`, then `no` prefixes).
pub fn parse_domains(list: &str, d: &mut Domains) -> Result<(), ConfigError> {
    for w in list.split(':').filter(|w| !w.is_empty()) {
        let (on, name) = match w.strip_prefix("no") {
            Some(n) if n != "ne" => (false, n),
            _ => (true, w),
        };
        match name {
            "all" if on => {
                *d = Domains {
                    inet: true,
                    inet6: true,
                    local: true,
                }
            }
            "none" => *d = Domains::default(),
            "inet" => d.inet = on,
            "inet6" => d.inet6 = on,
            "local" | "unix" => d.local = on,
            _ => return Err(ConfigError::BadDomain(w.to_string())),
        }
    }
    Ok(())
}

impl Default for Config {
    fn default() -> Self {
        Config {
            prefix: b"/rump".to_vec(),
            sockets: Domains::default(),
        }
    }
}

impl Config {
    /// Parses a `RUMPHIJACK` value (`None`: the default, `path=/rump`).
    pub fn parse(s: Option<&str>) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        for item in s.unwrap_or("").split(',').filter(|i| !i.is_empty()) {
            let (k, v) = item.split_once('=').unwrap_or((item, ""));
            match k {
                "path" => {
                    let p = v.trim_end_matches('/');
                    if !v.starts_with('/') || p.is_empty() {
                        return Err(ConfigError::BadPath(v.to_string()));
                    }
                    c.prefix = p.as_bytes().to_vec();
                }
                "socket" => parse_domains(v, &mut c.sockets)?,
                "blanket" | "vfs" | "sysctl" | "modctl" | "fdoff" => {}
                other => return Err(ConfigError::UnknownKey(other.to_string())),
            }
        }
        Ok(c)
    }

    /// The rump path for a host path under the prefix (`/rump/tmp/x` -> `/tmp/x`,
    /// `/rump` -> `/`), or `None` for a host path. Repeated slashes before the
    /// prefix are accepted (`//rump/x`).
    pub fn rump_path<'a>(&self, path: &'a [u8]) -> Option<&'a [u8]> {
        if !path.starts_with(b"/") {
            return None;
        }
        let start = path
            .iter()
            .take_while(|&&b| b == b'/')
            .count()
            .saturating_sub(1);
        let p = &path[start..];
        let rest = p.strip_prefix(self.prefix.as_slice())?;
        match rest.first() {
            None => Some(b"/"),
            Some(b'/') => Some(rest),
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_stripped_only_at_a_component_boundary() {
        let c = Config::default();
        assert_eq!(c.rump_path(b"/rump/tmp/x"), Some(&b"/tmp/x"[..]));
        assert_eq!(c.rump_path(b"/rump"), Some(&b"/"[..]));
        assert_eq!(c.rump_path(b"/rump/"), Some(&b"/"[..]));
        assert_eq!(c.rump_path(b"//rump/tmp"), Some(&b"/tmp"[..]));
        assert_eq!(c.rump_path(b"/rumpus"), None);
        assert_eq!(c.rump_path(b"/tmp/rump"), None);
        assert_eq!(c.rump_path(b"rump/tmp"), None);
    }

    #[test]
    fn socket_domains() {
        let c = Config::parse(Some("path=/r,socket=inet")).unwrap();
        assert_eq!(
            c.sockets,
            Domains {
                inet: true,
                inet6: false,
                local: false
            }
        );
        assert!(c.sockets.routes(libc::AF_INET));
        assert!(!c.sockets.routes(libc::AF_INET6));
        assert!(!c.sockets.routes(libc::AF_UNIX));
        assert!(!c.sockets.routes(libc::AF_NETLINK));
        let c = Config::parse(Some("socket=all:nolocal")).unwrap();
        assert_eq!(
            c.sockets,
            Domains {
                inet: true,
                inet6: true,
                local: false
            }
        );
        let c = Config::parse(Some("socket=inet:local:none:inet6")).unwrap();
        assert_eq!(
            c.sockets,
            Domains {
                inet: false,
                inet6: true,
                local: false
            }
        );
        assert!(!Config::parse(None).unwrap().sockets.any());
        assert!(matches!(
            Config::parse(Some("socket=inet:route")),
            Err(ConfigError::BadDomain(_))
        ));
        assert!(matches!(
            Config::parse(Some("socket=noall")),
            Err(ConfigError::BadDomain(_))
        ));
    }

    #[test]
    fn rumphijack_syntax() {
        let c = Config::parse(Some("blanket=/x,path=/mnt/rk/")).unwrap();
        assert_eq!(c.prefix, b"/mnt/rk");
        assert_eq!(c.rump_path(b"/mnt/rk/a"), Some(&b"/a"[..]));
        assert_eq!(Config::parse(None).unwrap(), Config::default());
        assert!(matches!(
            Config::parse(Some("path=/")),
            Err(ConfigError::BadPath(_))
        ));
        assert!(matches!(
            Config::parse(Some("path=rel")),
            Err(ConfigError::BadPath(_))
        ));
        assert!(matches!(
            Config::parse(Some("bogus=1")),
            Err(ConfigError::UnknownKey(_))
        ));
    }
}
