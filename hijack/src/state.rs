//! The library's process-wide state: the connection (made on first use), the
//! table of rump descriptors (host number -> rump number), whether the
//! current directory is inside the rump kernel, and the hand-over of all
//! three across exec through the [`EXEC_ENV`] environment variable.

use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::conn::Conn;

/// The environment variable carrying the state into an exec'd image.
pub const EXEC_ENV: &str = "RUMPSP_HIJACK_EXEC";

/// Everything one process knows about its rump kernel.
#[derive(Debug, Default)]
pub struct State {
    /// The connection, once made.
    pub conn: Option<Arc<Conn>>,
    /// The connection broke (or could not be made): every rump call fails with EIO.
    pub dead: bool,
    /// Host descriptor -> rump descriptor.
    pub fds: BTreeMap<RawFd, i32>,
    /// The current directory is in the rump kernel (relative paths go there).
    pub cwd_in_rump: bool,
    /// Host descriptor -> whether its rump descriptor is a socket, once known
    /// (forgotten whenever the number is closed or replaced).
    pub is_socket: BTreeMap<RawFd, bool>,
}

static STATE: Mutex<State> = Mutex::new(State {
    conn: None,
    dead: false,
    fds: BTreeMap::new(),
    cwd_in_rump: false,
    is_socket: BTreeMap::new(),
});

/// The state, locked (a panic elsewhere never makes it unusable).
pub fn lock() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// What an exec'd image inherits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inherited {
    /// The connection's socket.
    pub sock: RawFd,
    /// The current directory was in the rump kernel.
    pub cwd_in_rump: bool,
    /// Host descriptor -> rump descriptor, for the descriptors that survive exec.
    pub fds: BTreeMap<RawFd, i32>,
}

/// A malformed [`EXEC_ENV`] value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{EXEC_ENV}: malformed value {0:?}")]
pub struct BadInherited(pub String);

impl Inherited {
    /// `v1;sock=N;cwd=0|1;fds=H:R,H:R`.
    pub fn encode(&self) -> String {
        let fds: Vec<String> = self.fds.iter().map(|(h, r)| format!("{h}:{r}")).collect();
        format!(
            "v1;sock={};cwd={};fds={}",
            self.sock,
            u8::from(self.cwd_in_rump),
            fds.join(",")
        )
    }

    /// Parses what [`Inherited::encode`] wrote.
    pub fn decode(s: &str) -> Result<Inherited, BadInherited> {
        let bad = || BadInherited(s.to_string());
        let mut parts = s.split(';');
        if parts.next() != Some("v1") {
            return Err(bad());
        }
        let mut out = Inherited {
            sock: -1,
            ..Inherited::default()
        };
        for p in parts {
            let (k, v) = p.split_once('=').ok_or_else(bad)?;
            match k {
                "sock" => out.sock = v.parse().map_err(|_| bad())?,
                "cwd" => out.cwd_in_rump = v == "1",
                "fds" => {
                    for pair in v.split(',').filter(|x| !x.is_empty()) {
                        let (h, r) = pair.split_once(':').ok_or_else(bad)?;
                        let h: RawFd = h.parse().map_err(|_| bad())?;
                        let r: i32 = r.parse().map_err(|_| bad())?;
                        if h < 0 || r < 0 {
                            return Err(bad());
                        }
                        out.fds.insert(h, r);
                    }
                }
                _ => return Err(bad()),
            }
        }
        if out.sock < 0 {
            return Err(bad());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherited_state_round_trips_and_rejects_garbage() {
        let mut i = Inherited {
            sock: 1000,
            cwd_in_rump: true,
            fds: BTreeMap::new(),
        };
        i.fds.insert(3, 0);
        i.fds.insert(7, 4);
        let s = i.encode();
        assert_eq!(s, "v1;sock=1000;cwd=1;fds=3:0,7:4");
        assert_eq!(Inherited::decode(&s).unwrap(), i);
        assert_eq!(
            Inherited::decode("v1;sock=5;cwd=0;fds=").unwrap().fds.len(),
            0
        );
        for bad in [
            "",
            "v2;sock=1",
            "v1;cwd=1",
            "v1;sock=x",
            "v1;sock=3;fds=3",
            "v1;sock=3;fds=-1:2",
            "v1;sock=3;what=1",
        ] {
            assert!(Inherited::decode(bad).is_err(), "{bad}");
        }
    }
}
