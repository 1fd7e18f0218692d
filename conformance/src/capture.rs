//! Raw JSON-lines captures (`rumpsp-tap/1`) as recorded by the tap proxy:
//! a meta line, data chunks per connection and direction, open/eof/close
//! events and an end line. See `traces/real/README.md`.

use std::collections::BTreeMap;

use rumpsp_protocol::banner::BannerError;
use rumpsp_protocol::{FrameError, FrameLimits, RawFrame};
use serde_json::{Map, Value};

use crate::split::{Piece, StreamSplitter};

pub use crate::dir::Dir;

/// One line of a capture after the meta line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Bytes one side sent, as one recv() returned them.
    Data {
        /// Connection number (from 1).
        conn: u32,
        /// Direction.
        dir: Dir,
        /// Monotonic nanoseconds since the recording started.
        t_ns: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// An open, eof, close or error marker.
    Event {
        /// Connection number.
        conn: u32,
        /// `open`, `eof`, `close`, `error`, …
        event: String,
        /// Monotonic nanoseconds.
        t_ns: u64,
        /// Direction, for eof markers.
        dir: Option<Dir>,
    },
}

/// A parsed capture.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The meta line's fields.
    pub meta: Map<String, Value>,
    /// Data and event lines in file order.
    pub records: Vec<Record>,
    /// The end line, if present.
    pub end: Option<Map<String, Value>>,
}

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not a JSON object.
    #[error("line {line}: not a JSON object: {message}")]
    Json {
        /// 1-based line number.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A text trace is malformed or truncated.
    #[error("{0}")]
    Text(crate::text_error::TextError),
    /// The first line is not a `"type":"meta"` line.
    #[error("line 1: a capture starts with a {{\"type\":\"meta\"}} line")]
    MissingMeta,
    /// The file stops early: a half-written last line, or no end line.
    #[error("line {line}: truncated capture: {reason}")]
    Truncated {
        /// 1-based line number where the missing part starts.
        line: usize,
        /// What is missing.
        reason: &'static str,
    },
    /// A field is missing or has the wrong type.
    #[error("line {line}: field {field:?} is missing or invalid")]
    BadField {
        /// 1-based line number.
        line: usize,
        /// The field.
        field: &'static str,
    },
}

/// Decodes lower- or upper-case hex; `None` if it is not hex.
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Capture {
    /// Parses the text of a capture.
    pub fn parse(text: &str) -> Result<Capture, CaptureError> {
        let mut meta = None;
        let mut records = Vec::new();
        let mut end = None;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let obj: Map<String, Value> = serde_json::from_str(line).map_err(|e| {
                let last = text.lines().skip(i + 1).all(|l| l.trim().is_empty());
                if e.is_eof() && last {
                    CaptureError::Truncated {
                        line: n,
                        reason: "the last line stops in the middle of its JSON object",
                    }
                } else {
                    CaptureError::Json {
                        line: n,
                        message: e.to_string(),
                    }
                }
            })?;
            let ty = obj.get("type").and_then(Value::as_str);
            if meta.is_none() {
                if ty != Some("meta") {
                    return Err(CaptureError::MissingMeta);
                }
                meta = Some(obj);
                continue;
            }
            if ty == Some("end") {
                end = Some(obj);
                continue;
            }
            let conn = obj
                .get("conn")
                .and_then(Value::as_u64)
                .and_then(|c| u32::try_from(c).ok())
                .ok_or(CaptureError::BadField {
                    line: n,
                    field: "conn",
                })?;
            let t_ns = obj.get("t_ns").and_then(Value::as_u64).unwrap_or(0);
            let dir = obj.get("dir").and_then(Value::as_str).and_then(Dir::parse);
            if let Some(event) = obj.get("event").and_then(Value::as_str) {
                records.push(Record::Event {
                    conn,
                    event: event.to_owned(),
                    t_ns,
                    dir,
                });
                continue;
            }
            let dir = dir.ok_or(CaptureError::BadField {
                line: n,
                field: "dir",
            })?;
            let bytes = obj
                .get("hex")
                .and_then(Value::as_str)
                .and_then(hex_decode)
                .ok_or(CaptureError::BadField {
                    line: n,
                    field: "hex",
                })?;
            records.push(Record::Data {
                conn,
                dir,
                t_ns,
                bytes,
            });
        }
        Ok(Capture {
            meta: meta.ok_or(CaptureError::MissingMeta)?,
            records,
            end,
        })
    }

    /// A string field of the meta line.
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        self.meta.get(key).and_then(Value::as_str)
    }

    /// Each connection's byte stream per direction, reassembled from the chunks.
    pub fn streams(&self) -> BTreeMap<(u32, Dir), Vec<u8>> {
        let mut out: BTreeMap<(u32, Dir), Vec<u8>> = BTreeMap::new();
        for r in &self.records {
            if let Record::Data {
                conn, dir, bytes, ..
            } = r
            {
                out.entry((*conn, *dir))
                    .or_default()
                    .extend_from_slice(bytes);
            }
        }
        out
    }
}

/// A stream cut into its banner (server side only) and frames.
#[derive(Debug, Clone, Default)]
pub struct FramedStream {
    /// The banner line, newline included, when the stream is server-to-client and has one.
    pub banner: Option<Vec<u8>>,
    /// Why no banner could be read, for a server stream whose start is not a line.
    pub banner_error: Option<BannerError>,
    /// Every complete frame in order.
    pub frames: Vec<RawFrame>,
    /// What stopped framing before the end of the stream, if anything
    /// (a bad length, or `Truncated` for a partial frame at the end).
    pub error: Option<FrameError>,
}

/// Splits one direction of a connection into banner and frames. A server
/// stream that does not start with a banner line yields no frames.
pub fn frame_stream(bytes: &[u8], dir: Dir, limits: FrameLimits) -> FramedStream {
    let mut out = FramedStream::default();
    let mut split = StreamSplitter::with_limits(dir, limits);
    for piece in split.push(bytes) {
        match piece {
            Piece::Banner(line) => out.banner = Some(line),
            Piece::NoBanner(e) => {
                out.banner_error = Some(e);
                return out;
            }
            Piece::Frame(_, f) => out.frames.push(f),
            Piece::Unframeable(_, e) => out.error = Some(e),
            Piece::AfterUnframeable(_) => {}
        }
    }
    if split.in_banner() && !bytes.is_empty() {
        out.banner_error = Some(BannerError::Unparsed("stream ends inside the banner"));
    } else if out.error.is_none() {
        out.error = split.end_error();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"type":"meta","format":"rumpsp-tap/1","scenario":"x","server_run":"run1"}
{"conn":1,"event":"open","t_ns":1}
{"conn":1,"dir":"s2c","t_ns":2,"hex":"52554d5053502d302e342d4e65744253442d372e39392e33342f616d6436340a"}
{"conn":1,"dir":"c2s","t_ns":3,"hex":"1f0000000000000001000000000000000000"}
{"conn":1,"dir":"c2s","t_ns":4,"hex":"000000000000676574706964000b"}
{"conn":1,"event":"eof","t_ns":5,"dir":"c2s"}
{"type":"end","client_rc":0}
"#;

    #[test]
    fn chunks_are_reassembled_whatever_the_split() {
        let c = Capture::parse(SAMPLE).unwrap();
        assert_eq!(c.meta_str("server_run"), Some("run1"));
        assert_eq!(c.records.len(), 5);
        assert!(c.end.is_some());
        let s = c.streams();
        let c2s = frame_stream(&s[&(1, Dir::C2s)], Dir::C2s, FrameLimits::default());
        assert_eq!(c2s.frames.len(), 1);
        assert_eq!(&c2s.frames[0].body[..], b"getpid\0");
        // one trailing byte: a partial frame
        assert!(matches!(
            c2s.error,
            Some(FrameError::Truncated { have: 1, .. })
        ));
        let s2c = frame_stream(&s[&(1, Dir::S2c)], Dir::S2c, FrameLimits::default());
        assert_eq!(
            s2c.banner.as_deref(),
            Some(&b"RUMPSP-0.4-NetBSD-7.99.34/amd64\n"[..])
        );
        assert!(s2c.frames.is_empty() && s2c.error.is_none());
    }

    #[test]
    fn bad_lines_name_the_problem() {
        assert!(matches!(
            Capture::parse("{}\n"),
            Err(CaptureError::MissingMeta)
        ));
        let bad_hex = "{\"type\":\"meta\"}\n{\"conn\":1,\"dir\":\"c2s\",\"hex\":\"zz\"}\n";
        assert!(matches!(
            Capture::parse(bad_hex),
            Err(CaptureError::BadField {
                line: 2,
                field: "hex"
            })
        ));
        assert!(matches!(
            Capture::parse("{\"type\":\"meta\"}\nnot json\n"),
            Err(CaptureError::Json { line: 2, .. })
        ));
    }
}
