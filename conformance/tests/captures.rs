//! Every frame of every real capture decodes and re-encodes to identical bytes;
//! the malformed streams of the robustness captures give typed errors.
//!
//! Captures dropped into `traces/real/` or `traces/robustness/` are picked up
//! automatically.

use std::path::{Path, PathBuf};

use rumpsp_conformance::{frame_stream, Capture, Dir};
use rumpsp_protocol::{Abi, DecodeError, FrameError, FrameLimits, MessageError};

fn captures(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_real_frame_decodes_and_reencodes_identically() {
    let banner =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/real/banner.bin"))
            .unwrap();
    let files = captures("real");
    assert!(
        files.len() >= 17,
        "expected the 17 real captures, found {}",
        files.len()
    );
    let mut total = 0usize;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let cap = Capture::load(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        for ((conn, dir), bytes) in cap.streams() {
            let s = frame_stream(&bytes, dir, FrameLimits::default());
            let at = format!("{name} conn{conn} {}", dir.as_str());
            assert_eq!(s.error, None, "{at}: framing stopped");
            assert_eq!(s.banner_error, None, "{at}: banner");
            let mut rebuilt = Vec::with_capacity(bytes.len());
            if dir == Dir::S2c {
                assert_eq!(s.banner.as_deref(), Some(&banner[..]), "{at}: banner");
                rebuilt.extend_from_slice(&banner);
            }
            for (i, raw) in s.frames.iter().enumerate() {
                let typed = raw
                    .frame(Abi::Lp64Le)
                    .unwrap_or_else(|e| panic!("{at} frame {i}: {e}"));
                let encoded = typed.to_vec(Abi::Lp64Le);
                assert_eq!(encoded, raw.to_vec(), "{at} frame {i}: re-encoding differs");
                rebuilt.extend_from_slice(&encoded);
            }
            assert_eq!(rebuilt, bytes, "{at}: stream not reproduced");
            total += s.frames.len();
        }
    }
    // bigio alone has over 500 frames; make sure the walk really saw the corpus.
    assert!(total > 5000, "only {total} frames decoded");
}

/// A check on the first problem found in a case's first client stream.
type Outcome = fn(&Result<(), DecodeError>) -> bool;

/// What the first client stream of a robustness case must give.
fn expected(case: &str) -> Option<Outcome> {
    Some(match case {
        "len0" => |r| {
            matches!(
                r,
                Err(DecodeError::Frame(FrameError::LengthTooSmall { len: 0 }))
            )
        },
        "len23" => |r| {
            matches!(
                r,
                Err(DecodeError::Frame(FrameError::LengthTooSmall { len: 23 }))
            )
        },
        "len_2pow40" => {
            |r| matches!(r, Err(DecodeError::Frame(FrameError::FrameTooLong { len, .. })) if *len == 1 << 40)
        }
        "partial_header_close" => |r| {
            matches!(
                r,
                Err(DecodeError::Frame(FrameError::Truncated {
                    have: 10,
                    need: 24
                }))
            )
        },
        "half_body_close" => |r| {
            matches!(
                r,
                Err(DecodeError::Frame(FrameError::Truncated {
                    have: 124,
                    need: 1024
                }))
            )
        },
        "class3" => |r| {
            matches!(
                r,
                Err(DecodeError::Message {
                    error: MessageError::UnknownClass { class: 3 },
                    ..
                })
            )
        },
        "req_type42" => |r| {
            matches!(
                r,
                Err(DecodeError::Message {
                    error: MessageError::UnknownType { ty: 42, .. },
                    ..
                })
            )
        },
        "fork_body19" => |r| {
            matches!(
                r,
                Err(DecodeError::Message {
                    error: MessageError::BadBodyLength { actual: 19, .. },
                    ..
                })
            )
        },
        "fork_body21" => |r| {
            matches!(
                r,
                Err(DecodeError::Message {
                    error: MessageError::BadBodyLength { actual: 21, .. },
                    ..
                })
            )
        },
        _ => return None,
    })
}

#[test]
fn malformed_streams_give_typed_errors() {
    let files = captures("robustness");
    assert!(
        files.len() >= 42,
        "expected the 42 robustness cases, found {}",
        files.len()
    );
    let mut checked = 0;
    for path in &files {
        let case = path.file_stem().unwrap().to_string_lossy().to_string();
        let cap = Capture::load(path).unwrap_or_else(|e| panic!("{case}: {e}"));
        let mut first_problem: Option<Result<(), DecodeError>> = None;
        for ((conn, dir), bytes) in cap.streams() {
            let s = frame_stream(&bytes, dir, FrameLimits::default());
            for raw in &s.frames {
                match raw.frame(Abi::Lp64Le) {
                    Ok(f) => assert_eq!(f.to_vec(Abi::Lp64Le), raw.to_vec(), "{case}"),
                    Err(e) => {
                        assert!(!e.is_fatal());
                        if conn == 1 && dir == Dir::C2s && first_problem.is_none() {
                            first_problem = Some(Err(e));
                        }
                    }
                }
            }
            if let Some(e) = s.error {
                if conn == 1 && dir == Dir::C2s && first_problem.is_none() {
                    first_problem = Some(Err(DecodeError::Frame(e)));
                }
            }
        }
        if let Some(check) = expected(&case) {
            let got = first_problem.unwrap_or(Ok(()));
            assert!(check(&got), "{case}: unexpected outcome {got:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 9);
}
