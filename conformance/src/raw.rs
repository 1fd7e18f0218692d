//! Sends the client side of a capture byte for byte (malformed frames
//! included), connection by connection in recording order, and collects what
//! the server sends back. This is how the robustness cases are played.

use std::collections::BTreeMap;

use crate::capture::{Capture, Dir, Record};
use crate::wire::{Wire, WireConn};

/// What one recorded connection got from the server under test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawConn {
    /// The connection was refused or closed before the banner.
    pub refused: bool,
    /// Everything received, banner included.
    pub received: Vec<u8>,
    /// The server closed it.
    pub closed_by_server: bool,
}

/// Plays every c2s chunk of `cap` in order; returns per recorded connection what came back.
pub fn replay_raw(cap: &Capture, wire: &mut dyn Wire) -> BTreeMap<u32, RawConn> {
    let mut open: BTreeMap<u32, WireConn> = BTreeMap::new();
    let mut out: BTreeMap<u32, RawConn> = BTreeMap::new();
    let drain = |wire: &mut dyn Wire, w: WireConn, rc: &mut RawConn, now: bool| -> bool {
        let got = if now { wire.recv_now(w) } else { wire.recv(w) };
        match got {
            Ok((bytes, closed)) => {
                rc.received.extend_from_slice(&bytes);
                if closed {
                    rc.closed_by_server = true;
                }
                closed
            }
            Err(_) => {
                rc.closed_by_server = true;
                true
            }
        }
    };
    for r in &cap.records {
        match r {
            Record::Event { conn, event, .. } if event == "open" => {
                let rc = out.entry(*conn).or_default();
                match wire.connect() {
                    Ok((w, banner)) => {
                        rc.received.extend_from_slice(&banner);
                        open.insert(*conn, w);
                    }
                    Err(_) => rc.refused = true,
                }
            }
            Record::Data {
                conn,
                dir: Dir::C2s,
                bytes,
                ..
            } => {
                let rc = out.entry(*conn).or_default();
                let Some(&w) = open.get(conn) else { continue };
                if wire.send(w, bytes).is_err() {
                    rc.closed_by_server = true;
                    open.remove(conn);
                    continue;
                }
                if drain(wire, w, rc, false) {
                    open.remove(conn);
                }
            }
            Record::Event { conn, event, .. }
                if event == "close" || (event == "eof" && r_dir_c2s(r)) =>
            {
                if let Some(w) = open.remove(conn) {
                    let rc = out.entry(*conn).or_default();
                    drain(wire, w, rc, true);
                    wire.close(w);
                }
            }
            _ => {}
        }
    }
    for (conn, w) in std::mem::take(&mut open) {
        let rc = out.entry(conn).or_default();
        drain(wire, w, rc, true);
        wire.close(w);
    }
    out
}

fn r_dir_c2s(r: &Record) -> bool {
    matches!(
        r,
        Record::Event {
            dir: Some(Dir::C2s),
            ..
        }
    )
}
