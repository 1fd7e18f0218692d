//! A frame-by-frame view of a capture, in the order the frames completed on the wire.

use std::collections::BTreeMap;
use std::fmt::Write;

use rumpsp_protocol::Abi;

use crate::capture::{Capture, Dir, Record};
use crate::render::{describe, text_or_hex};
use crate::split::{Piece, StreamSplitter};

/// Renders a capture: a header, then one line per frame or event:
/// `<t_ns> conn<N> <dir> <description>`.
pub fn show_capture(c: &Capture, abi: Abi) -> String {
    let mut out = String::new();
    for key in [
        "scenario",
        "client_cmd",
        "server_cmd",
        "date",
        "server_run",
        "note",
    ] {
        if let Some(v) = c.meta_str(key).filter(|v| !v.is_empty()) {
            let _ = writeln!(out, "# {key}: {v}");
        }
    }
    let mut sides: BTreeMap<(u32, Dir), StreamSplitter> = BTreeMap::new();
    for r in &c.records {
        match r {
            Record::Event {
                conn,
                event,
                t_ns,
                dir,
            } => {
                let d = dir.map(|d| format!(" {}", d.as_str())).unwrap_or_default();
                let _ = writeln!(out, "{t_ns:>12} conn{conn} {event}{d}");
            }
            Record::Data {
                conn,
                dir,
                t_ns,
                bytes,
            } => {
                let side = sides
                    .entry((*conn, *dir))
                    .or_insert_with(|| StreamSplitter::new(*dir));
                let prefix = format!("{t_ns:>12} conn{conn} {}", dir.as_str());
                for piece in side.push(bytes) {
                    match piece {
                        Piece::Banner(line) => {
                            let b = text_or_hex(&line[..line.len() - 1]);
                            let _ = writeln!(out, "{prefix} BANNER {b}");
                        }
                        Piece::NoBanner(e) => {
                            let _ = writeln!(out, "{prefix} NO BANNER: {e}");
                        }
                        Piece::Frame(_, f) => {
                            let _ = writeln!(out, "{prefix} {}", describe(&f, abi));
                        }
                        Piece::Unframeable(_, e) => {
                            let _ = writeln!(out, "{prefix} UNFRAMEABLE: {e}");
                        }
                        Piece::AfterUnframeable(_) => {}
                    }
                }
            }
        }
    }
    for ((conn, dir), side) in &sides {
        if side.in_banner() {
            continue;
        }
        if let Some(e) = side.end_error() {
            let _ = writeln!(
                out,
                "{:>12} conn{conn} {} LEFT OVER: {e}",
                "-",
                dir.as_str()
            );
        }
    }
    if let Some(end) = &c.end {
        if let Some(rc) = end.get("client_rc") {
            let _ = writeln!(out, "# client exit code: {rc}");
        }
        if let Some(s) = end.get("client_stdout").and_then(|v| v.as_str()) {
            for line in s.lines() {
                let _ = writeln!(out, "# stdout: {line}");
            }
        }
    }
    out
}
