//! Findings on disk: each is a capture in the project's `rumpsp-tap/1`
//! format (so `rumpsp trace show` and the tap decoder read it) whose meta line
//! also holds the operations, the kind of finding and the command that
//! replays it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rumpsp_conformance::capture::Dir;
use serde_json::{json, Value};

use super::exec::{Event, Finding};
use super::input::Op;

/// One finding as reported.
#[derive(Debug, Clone)]
pub(crate) struct Reported {
    /// What was found.
    pub(crate) finding: Finding,
    /// Seconds from the worker's start to the input that showed it.
    pub(crate) seconds: f64,
    /// The minimised input.
    pub(crate) ops: Vec<Op>,
    /// Operations before minimisation.
    pub(crate) original_len: usize,
    /// The capture written.
    pub(crate) file: PathBuf,
    /// The command that replays it.
    pub(crate) reproduce: String,
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Shell-quotes one word.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Writes a finding's capture as `dir/NAME.jsonl`.
pub(crate) fn write_capture(
    path: &Path,
    finding: &Finding,
    ops: &[Op],
    events: &[(u64, Event)],
    server: &str,
    reproduce: &str,
) -> anyhow::Result<()> {
    let mut out = String::new();
    let meta = json!({
        "type": "meta",
        "format": "rumpsp-tap/1",
        "scenario": format!("fuzz/{}", finding.kind.name()),
        "finding": finding.kind.name(),
        "detail": finding.detail,
        "server_cmd": server,
        "client_cmd": "rumpsp fuzz",
        "reproduce": reproduce,
        "note": ops.iter().map(Op::describe).collect::<Vec<_>>().join("; "),
        "ops": serde_json::to_value(ops)?,
    });
    out.push_str(&meta.to_string());
    out.push('\n');
    let mut conns = 0;
    let mut last = 0;
    for (t, e) in events {
        last = *t;
        let v: Value = match e {
            Event::Open(c) => {
                conns = conns.max(*c);
                json!({"conn": c, "event": "open", "t_ns": t})
            }
            Event::Data(_, _, b) if b.is_empty() => continue,
            Event::Data(c, d, b) => {
                json!({"conn": c, "dir": match d { Dir::C2s => "c2s", Dir::S2c => "s2c" }, "t_ns": t, "hex": hex(b)})
            }
            Event::Eof(c) => json!({"conn": c, "event": "eof", "t_ns": t, "dir": "s2c"}),
            Event::Close(c) => json!({"conn": c, "event": "close", "t_ns": t}),
        };
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out.push_str(&json!({"type": "end", "t_ns": last, "connections": conns}).to_string());
    out.push('\n');
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

/// The operations and the finding kind a capture written by [`write_capture`] holds.
pub(crate) fn read_finding(path: &Path) -> anyhow::Result<(String, Vec<Op>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let first = text.lines().next().unwrap_or_default();
    let meta: Value = serde_json::from_str(first)
        .with_context(|| format!("{}: the first line is not a JSON meta line", path.display()))?;
    let kind = meta
        .get("finding")
        .and_then(Value::as_str)
        .with_context(|| {
            format!(
                "{}: not a finding of rumpsp fuzz (no \"finding\" in its meta line)",
                path.display()
            )
        })?
        .to_owned();
    let ops: Vec<Op> = serde_json::from_value(meta.get("ops").cloned().unwrap_or(Value::Null))
        .with_context(|| format!("{}: its \"ops\" do not decode", path.display()))?;
    Ok((kind, ops))
}
