//! A frame-by-frame view of a capture, in the order the frames completed on the wire.

use std::collections::BTreeMap;
use std::fmt::Write;

use rumpsp_protocol::banner::find_banner_line;
use rumpsp_protocol::{Abi, FrameDecoder, FrameLimits};

use crate::capture::{Capture, Dir, Record};
use crate::render::{describe, text_or_hex};

struct Side {
    banner_pending: bool,
    banner_buf: Vec<u8>,
    decoder: FrameDecoder,
    dead: bool,
}

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
    let mut sides: BTreeMap<(u32, Dir), Side> = BTreeMap::new();
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
                let side = sides.entry((*conn, *dir)).or_insert_with(|| Side {
                    banner_pending: *dir == Dir::S2c,
                    banner_buf: Vec::new(),
                    decoder: FrameDecoder::new(FrameLimits::unlimited()),
                    dead: false,
                });
                let prefix = format!("{t_ns:>12} conn{conn} {}", dir.as_str());
                let mut data: &[u8] = bytes;
                if side.banner_pending {
                    side.banner_buf.extend_from_slice(data);
                    data = &[];
                    match find_banner_line(&side.banner_buf) {
                        Ok(Some(n)) => {
                            let _ = writeln!(
                                out,
                                "{prefix} BANNER {}",
                                text_or_hex(&side.banner_buf[..n - 1])
                            );
                            let rest = side.banner_buf.split_off(n);
                            side.decoder.feed(&rest);
                            side.banner_pending = false;
                        }
                        Ok(None) => continue,
                        Err(e) => {
                            let _ = writeln!(out, "{prefix} NO BANNER: {e}");
                            let buf = std::mem::take(&mut side.banner_buf);
                            side.decoder.feed(&buf);
                            side.banner_pending = false;
                        }
                    }
                }
                if side.dead {
                    continue;
                }
                side.decoder.feed(data);
                loop {
                    match side.decoder.next_frame() {
                        Ok(Some(f)) => {
                            let _ = writeln!(out, "{prefix} {}", describe(&f, abi));
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = writeln!(out, "{prefix} UNFRAMEABLE: {e}");
                            side.dead = true;
                            break;
                        }
                    }
                }
            }
        }
    }
    for ((conn, dir), side) in &sides {
        if side.dead {
            continue;
        }
        if let Err(e) = side.decoder.finish() {
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
