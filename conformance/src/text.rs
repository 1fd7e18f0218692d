//! The text trace format `rumpsp-trace/1`: one record per frame, readable and
//! diffable, and lossless — the hex under each record is exactly what crossed
//! the wire, so a trace converts back to the same byte streams (malformed
//! frames included). The format is specified in `conformance/TRACE-FORMAT.md`.

use std::collections::BTreeMap;
use std::fmt::Write;

use rumpsp_protocol::banner::find_banner_line;
use rumpsp_protocol::Abi;
use serde_json::{Map, Value};

use crate::capture::{Capture, Dir, Record};
use crate::render::{describe, text_or_hex};
use crate::split::{Piece, StreamSplitter};

pub use crate::text_error::{TextError, MAGIC};

/// How one direction of a connection is being cut into records.
struct Side {
    split: StreamSplitter,
    last_t: u64,
}

fn hex_lines(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.chunks(32) {
        out.push_str("    ");
        for b in chunk {
            let _ = write!(out, "{b:02x}");
        }
        out.push('\n');
    }
    if bytes.is_empty() {
        out.push_str("    -\n");
    }
}

/// Converts a capture to text. `source` names where it came from (a file name).
pub fn to_text(cap: &Capture, source: &str, abi: Abi) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MAGIC}");
    let _ = writeln!(out, "# source: {source}");
    let _ = writeln!(out, "# abi: {}", abi_name(abi));
    if let Some(d) = cap.meta_str("date") {
        let _ = writeln!(out, "# recorded: {d}");
    }
    let first_s2c = cap.records.iter().find_map(|r| match r {
        Record::Data {
            dir: Dir::S2c,
            conn,
            ..
        } => Some(*conn),
        _ => None,
    });
    if let Some(conn) = first_s2c {
        let streams = cap.streams();
        if let Some(Ok(Some(n))) = streams.get(&(conn, Dir::S2c)).map(|b| find_banner_line(b)) {
            let b = &streams[&(conn, Dir::S2c)][..n - 1];
            let _ = writeln!(out, "# banner: {}", text_or_hex(b));
        }
    }
    for (k, v) in &cap.meta {
        let _ = writeln!(out, "meta {k} {v}");
    }
    let mut sides: BTreeMap<(u32, Dir), Side> = BTreeMap::new();
    for r in &cap.records {
        match r {
            Record::Data {
                conn,
                dir,
                t_ns,
                bytes,
            } => {
                let side = sides.entry((*conn, *dir)).or_insert_with(|| Side {
                    split: StreamSplitter::new(*dir),
                    last_t: 0,
                });
                side.last_t = *t_ns;
                let prefix = format!("{t_ns} conn{conn} {}", dir.as_str());
                for piece in side.split.push(bytes) {
                    write_piece(&mut out, &prefix, piece, abi);
                }
            }
            Record::Event {
                conn,
                event,
                t_ns,
                dir,
            } => {
                // bytes that never became a whole frame go before the event
                for d in [Dir::C2s, Dir::S2c] {
                    if dir.is_some_and(|x| x != d) {
                        continue;
                    }
                    if let Some(side) = sides.get_mut(&(*conn, d)) {
                        flush(&mut out, side, *conn, d);
                    }
                }
                let d = dir.map(|d| format!(" {}", d.as_str())).unwrap_or_default();
                let _ = writeln!(out, "{t_ns} conn{conn} {event}{d}");
            }
        }
    }
    for ((conn, dir), side) in &mut sides {
        flush(&mut out, side, *conn, *dir);
    }
    if let Some(end) = &cap.end {
        for (k, v) in end {
            let _ = writeln!(out, "end {k} {v}");
        }
    }
    out
}

fn abi_name(abi: Abi) -> &'static str {
    match abi {
        Abi::Lp64Le => "lp64-le",
    }
}

/// Emits one record.
fn write_piece(out: &mut String, prefix: &str, piece: Piece, abi: Abi) {
    match piece {
        Piece::Banner(line) => {
            let _ = writeln!(
                out,
                "{prefix} BANNER {}",
                text_or_hex(&line[..line.len() - 1])
            );
            hex_lines(out, &line);
        }
        // the bytes follow as frames (or as unframeable bytes)
        Piece::NoBanner(_) => {}
        Piece::Frame(bytes, f) => {
            let _ = writeln!(out, "{prefix} {}", describe(&f, abi));
            hex_lines(out, &bytes);
        }
        Piece::Unframeable(bytes, e) => {
            let _ = writeln!(out, "{prefix} BYTES unframeable: {e}");
            hex_lines(out, &bytes);
        }
        Piece::AfterUnframeable(bytes) => {
            let _ = writeln!(out, "{prefix} BYTES after an unframeable length");
            hex_lines(out, &bytes);
        }
    }
}

/// Emits what is left of a side as a partial record.
fn flush(out: &mut String, side: &mut Side, conn: u32, dir: Dir) {
    if side.split.pending().is_empty() {
        return;
    }
    let what = if side.split.in_banner() {
        "partial banner"
    } else {
        "partial frame"
    };
    let bytes = side.split.take_pending();
    let _ = writeln!(
        out,
        "{} conn{conn} {} BYTES {what} ({} bytes)",
        side.last_t,
        dir.as_str(),
        bytes.len()
    );
    hex_lines(out, &bytes);
}

/// Parses a text trace back into a capture (one data record per frame).
pub fn parse(text: &str) -> Result<Capture, TextError> {
    let mut lines = text.lines().enumerate().peekable();
    match lines.next() {
        Some((_, l)) if l.trim_end() == MAGIC => {}
        _ => return Err(TextError::Magic),
    }
    let bad = |line: usize, message: String| TextError::Line {
        line: line + 1,
        message,
    };
    let mut meta = Map::new();
    let mut end: Option<Map<String, Value>> = None;
    let mut records = Vec::new();
    while let Some((i, line)) = lines.next() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("meta ")
            .or_else(|| line.strip_prefix("end "))
        {
            let (k, v) = rest
                .split_once(' ')
                .ok_or_else(|| bad(i, "expected `meta KEY JSON`".into()))?;
            let v: Value =
                serde_json::from_str(v).map_err(|e| bad(i, format!("value of {k}: {e}")))?;
            if line.starts_with("meta ") {
                meta.insert(k.to_owned(), v);
            } else {
                end.get_or_insert_with(Map::new).insert(k.to_owned(), v);
            }
            continue;
        }
        let mut words = line.split(' ');
        let t_ns: u64 = words
            .next()
            .and_then(|w| w.parse().ok())
            .ok_or_else(|| bad(i, "a record starts with its time in ns".into()))?;
        let conn: u32 = words
            .next()
            .and_then(|w| w.strip_prefix("conn"))
            .and_then(|w| w.parse().ok())
            .ok_or_else(|| bad(i, "expected connN after the time".into()))?;
        let what = words
            .next()
            .ok_or_else(|| bad(i, "expected c2s, s2c or an event".into()))?;
        match what {
            "c2s" | "s2c" => {
                let dir = if what == "c2s" { Dir::C2s } else { Dir::S2c };
                let mut bytes = Vec::new();
                while let Some((j, l)) = lines.peek() {
                    let Some(h) = l.strip_prefix("    ") else {
                        break;
                    };
                    if h != "-" {
                        bytes.extend(
                            crate::capture::hex_decode(h)
                                .ok_or_else(|| bad(*j, "invalid hex".into()))?,
                        );
                    }
                    lines.next();
                }
                records.push(Record::Data {
                    conn,
                    dir,
                    t_ns,
                    bytes,
                });
            }
            event => {
                let dir = match words.next() {
                    Some("c2s") => Some(Dir::C2s),
                    Some("s2c") => Some(Dir::S2c),
                    None => None,
                    Some(w) => return Err(bad(i, format!("unexpected {w:?} after the event"))),
                };
                records.push(Record::Event {
                    conn,
                    event: event.to_owned(),
                    t_ns,
                    dir,
                });
            }
        }
    }
    Ok(Capture { meta, records, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(c: &Capture) -> Vec<(u32, String, Option<Dir>)> {
        c.records
            .iter()
            .filter_map(|r| match r {
                Record::Event {
                    conn, event, dir, ..
                } => Some((*conn, event.clone(), *dir)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_recorded_capture_round_trips_byte_for_byte() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
        let mut n = 0;
        for sub in ["real", "robustness"] {
            for e in std::fs::read_dir(root.join(sub)).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_none_or(|x| x != "jsonl") {
                    continue;
                }
                let cap = Capture::load(&p).unwrap();
                let text = to_text(&cap, "test", Abi::Lp64Le);
                let back = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                assert_eq!(back.streams(), cap.streams(), "{}", p.display());
                assert_eq!(events(&back), events(&cap), "{}", p.display());
                assert_eq!(back.meta, cap.meta);
                assert_eq!(back.end, cap.end);
                // the text of the text is the same text
                assert_eq!(to_text(&back, "test", Abi::Lp64Le), text);
                n += 1;
            }
        }
        assert_eq!(n, 17 + 42);
    }

    #[test]
    fn records_name_what_they_hold() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
        let cap = Capture::load(&root.join("real/getpid.jsonl")).unwrap();
        let text = to_text(&cap, "getpid.jsonl", Abi::Lp64Le);
        assert!(text.starts_with("rumpsp-trace/1\n# source: getpid.jsonl\n"));
        assert!(text.contains("conn1 s2c BANNER \"RUMPSP-0.4-NetBSD-7.99.34/amd64\""));
        assert!(text.contains("conn1 c2s REQ/SYSCALL reqno=2 getpid(20) args=[]"));
        assert!(text.contains("meta server_run \"run1\""));
        let bad = Capture::load(&root.join("robustness/len23.jsonl")).unwrap();
        let text = to_text(&bad, "len23.jsonl", Abi::Lp64Le);
        assert!(text.contains("c2s BYTES unframeable"), "{text}");
        let half = Capture::load(&root.join("robustness/half_body_close.jsonl")).unwrap();
        let text = to_text(&half, "half.jsonl", Abi::Lp64Le);
        assert!(
            text.contains("c2s BYTES partial frame (124 bytes)"),
            "{text}"
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert!(matches!(parse("nope"), Err(TextError::Magic)));
        let e = parse("rumpsp-trace/1\n12 conn1 c2s X\n    zz\n").unwrap_err();
        assert_eq!(e.to_string(), "line 3: invalid hex");
        let e = parse("rumpsp-trace/1\nabc conn1 open\n").unwrap_err();
        assert!(e.to_string().starts_with("line 2:"));
    }
}
