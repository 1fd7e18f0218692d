//! Reading a capture file of either kind: raw JSON lines (`rumpsp-tap/1`,
//! [`crate::capture`]) or a text trace (`rumpsp-trace/1`, [`crate::text`]).

use std::path::Path;

use crate::capture::{Capture, CaptureError};
use crate::text::{self, TextError, MAGIC};

impl Capture {
    /// Reads a capture file: raw JSON lines (`rumpsp-tap/1`) or a text
    /// trace (`rumpsp-trace/1`), told apart by the first line.
    pub fn load(path: &Path) -> Result<Capture, CaptureError> {
        let text = std::fs::read_to_string(path).map_err(|source| CaptureError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let cap = if text.starts_with(MAGIC) {
            text::parse(&text).map_err(CaptureError::Text)?
        } else if path.extension().is_some_and(|x| x == "trace") {
            return Err(CaptureError::Text(TextError::Magic));
        } else {
            Capture::parse(&text)?
        };
        // Every recorder (rumpsp_tap.py, `rumpsp record`, `trace import`)
        // ends a file with its end line: a file without one was cut short.
        if cap.end.is_none() {
            let line = text.lines().count() + 1;
            return Err(if text.starts_with(MAGIC) {
                CaptureError::Text(TextError::Line {
                    line,
                    message: "truncated trace: no `end` lines (the file stops early)".into(),
                })
            } else {
                CaptureError::Truncated {
                    line,
                    reason: "no {\"type\":\"end\"} line (the file stops early)",
                }
            });
        }
        Ok(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_malformed_files_are_named_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/traces/real/getpid.jsonl"
        ))
        .unwrap();
        let whole = dir.path().join("whole.jsonl");
        std::fs::write(&whole, &real).unwrap();
        assert!(Capture::load(&whole).is_ok());
        // cut in the middle of the third line
        let lines: Vec<&str> = real.lines().collect();
        let cut = format!(
            "{}\n{}\n{}",
            lines[0],
            lines[1],
            &lines[2][..lines[2].len() / 2]
        );
        let p = dir.path().join("cut.jsonl");
        std::fs::write(&p, cut).unwrap();
        let e = Capture::load(&p).unwrap_err().to_string();
        assert_eq!(
            e,
            "line 3: truncated capture: the last line stops in the middle of its JSON object"
        );
        // cut at a line boundary: no end line
        let cut = format!("{}\n{}\n", lines[0], lines[1]);
        std::fs::write(&p, cut).unwrap();
        let e = Capture::load(&p).unwrap_err().to_string();
        assert!(e.starts_with("line 3: truncated capture: no"), "{e}");
        // a broken line in the middle is malformed, not truncated
        let bad = format!("{}\n{{oops\n{}\n", lines[0], lines[lines.len() - 1]);
        std::fs::write(&p, bad).unwrap();
        let e = Capture::load(&p).unwrap_err().to_string();
        assert!(e.starts_with("line 2: not a JSON object"), "{e}");
        // a garbage .trace is a bad text trace, not a bad JSON line
        let t = dir.path().join("garbage.trace");
        std::fs::write(&t, "hello\n").unwrap();
        let e = Capture::load(&t).unwrap_err().to_string();
        assert!(e.contains("a text trace starts with"), "{e}");
        // a text trace cut before its end lines
        let text = text::to_text(
            &Capture::load(&whole).unwrap(),
            "getpid",
            rumpsp_protocol::Abi::Lp64Le,
        );
        let cut: String = text
            .lines()
            .filter(|l| !l.starts_with("end "))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&t, &cut).unwrap();
        let e = Capture::load(&t).unwrap_err().to_string();
        assert!(e.contains("truncated trace"), "{e}");
        std::fs::write(&t, &text).unwrap();
        assert!(Capture::load(&t).is_ok());
    }
}
