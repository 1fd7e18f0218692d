//! Sends the client side of a capture byte for byte (malformed frames
//! included), connection by connection in recording order, and collects what
//! the server sends back. This is how the robustness cases are played.
//!
//! Reads do not depend on how the server's bytes are cut into writes: after
//! each recorded client chunk the player reads until it holds as many frames
//! as the reference had sent by then, the server closes, a read comes back
//! empty (for sockets: nothing arrived within the wire's patience), or
//! [`READ_BOUND`] passes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rumpsp_protocol::{FrameDecoder, FrameLimits};

use crate::capture::{Capture, Dir, Record};
use crate::wire::{Wire, WireConn};

/// The longest the player waits for the answers to one recorded chunk.
pub const READ_BOUND: Duration = Duration::from_secs(5);

/// What one recorded connection got from the server under test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawConn {
    /// The connection was refused or closed before the banner.
    pub refused: bool,
    /// Everything received, banner included.
    pub received: Vec<u8>,
    /// The server closed it.
    pub closed_by_server: bool,
    /// Everything sent, as recorded.
    pub sent: Vec<u8>,
}

/// The complete frames in a server stream (after its banner line, if any).
pub fn count_frames(received: &[u8]) -> usize {
    let body = match received.iter().position(|&b| b == b'\n') {
        Some(i) if received.starts_with(b"RUMPSP-") => &received[i + 1..],
        _ => received,
    };
    let mut dec = FrameDecoder::new(FrameLimits::unlimited());
    dec.feed(body);
    let mut n = 0;
    while let Ok(Some(_)) = dec.next_frame() {
        n += 1;
    }
    n
}

/// For each c2s data record (by index): how many frames the reference had
/// sent on that connection before the client's next chunk (or the end).
fn expected_frames(cap: &Capture) -> BTreeMap<usize, usize> {
    let mut s2c: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let mut last: BTreeMap<u32, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (i, r) in cap.records.iter().enumerate() {
        match r {
            Record::Data {
                conn,
                dir: Dir::C2s,
                ..
            } => {
                if let Some(prev) = last.insert(*conn, i) {
                    out.insert(prev, count_frames(s2c.get(conn).map_or(&[][..], |v| v)));
                }
            }
            Record::Data {
                conn,
                dir: Dir::S2c,
                bytes,
                ..
            } => s2c.entry(*conn).or_default().extend_from_slice(bytes),
            _ => {}
        }
    }
    for (conn, prev) in last {
        out.insert(prev, count_frames(s2c.get(&conn).map_or(&[][..], |v| v)));
    }
    out
}

/// Reads into `rc` until it holds `want` frames (None: until a read comes back
/// empty), the server closes, or the bound passes. Returns whether it closed.
fn read_until(
    wire: &mut dyn Wire,
    w: WireConn,
    rc: &mut RawConn,
    want: Option<usize>,
    now: bool,
) -> bool {
    let t = Instant::now();
    loop {
        let got = if now { wire.recv_now(w) } else { wire.recv(w) };
        match got {
            Ok((bytes, closed)) => {
                let empty = bytes.is_empty();
                rc.received.extend_from_slice(&bytes);
                if closed {
                    rc.closed_by_server = true;
                    return true;
                }
                let enough = want.is_some_and(|n| count_frames(&rc.received) >= n);
                if enough || empty || t.elapsed() > READ_BOUND {
                    return false;
                }
            }
            Err(_) => {
                rc.closed_by_server = true;
                return true;
            }
        }
    }
}

/// Plays every c2s chunk of `cap` in order; returns per recorded connection what came back.
pub fn replay_raw(cap: &Capture, wire: &mut dyn Wire) -> BTreeMap<u32, RawConn> {
    let expected = expected_frames(cap);
    let mut open: BTreeMap<u32, WireConn> = BTreeMap::new();
    let mut out: BTreeMap<u32, RawConn> = BTreeMap::new();
    for (i, r) in cap.records.iter().enumerate() {
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
                rc.sent.extend_from_slice(bytes);
                let Some(&w) = open.get(conn) else { continue };
                if wire.send(w, bytes).is_err() {
                    rc.closed_by_server = true;
                    open.remove(conn);
                    continue;
                }
                if read_until(wire, w, rc, expected.get(&i).copied(), false) {
                    open.remove(conn);
                }
            }
            Record::Event { conn, event, .. }
                if event == "close" || (event == "eof" && r_dir_c2s(r)) =>
            {
                if let Some(w) = open.remove(conn) {
                    let rc = out.entry(*conn).or_default();
                    read_until(wire, w, rc, None, true);
                    wire.close(w);
                }
            }
            _ => {}
        }
    }
    for (conn, w) in std::mem::take(&mut open) {
        let rc = out.entry(conn).or_default();
        read_until(wire, w, rc, None, true);
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
