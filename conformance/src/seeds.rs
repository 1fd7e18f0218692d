//! Seed corpora for the fuzz targets, made from the conformance traces (each
//! connection's byte streams) and the URL table: (target, name, bytes). A
//! client stream seeds wire_decode as it is, and server_session and
//! kernel_syscalls behind a `RAW\n` prefix (sent frame by frame, or its
//! syscalls made straight into the kernel).

use std::path::Path;

use crate::capture::{Capture, CaptureError, Dir};

/// Seeds are cut to this size: frames are small, and short inputs keep the
/// fuzzers fast (the smoke run uses the same `-max_len`).
pub const MAX_SEED: usize = 4096;

/// One seed: the target it is for, a file name, the bytes.
pub type Seed = (&'static str, String, Vec<u8>);

/// Seeds from every `*.jsonl` capture in `dirs`.
pub fn seeds(dirs: &[&Path]) -> Result<Vec<Seed>, CaptureError> {
    let mut out: Vec<Seed> = Vec::new();
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|source| CaptureError::Io {
                path: dir.display().to_string(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        for f in files {
            let cap = Capture::load(&f)?;
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            for ((conn, d), bytes) in cap.streams() {
                let bytes = &bytes[..bytes.len().min(MAX_SEED)];
                let name = format!("{stem}-conn{conn}-{}", d.as_str());
                match d {
                    Dir::C2s => {
                        let mut wire = vec![0u8];
                        wire.extend_from_slice(bytes);
                        out.push(("wire_decode", name.clone(), wire));
                        let mut raw = b"RAW\n".to_vec();
                        raw.extend_from_slice(bytes);
                        out.push(("kernel_syscalls", name.clone(), raw.clone()));
                        out.push(("server_session", name, raw));
                    }
                    Dir::S2c => {
                        out.push(("client_session", name.clone(), bytes.to_vec()));
                        let nl = bytes.iter().position(|&b| b == b'\n');
                        let after = nl.map_or(bytes, |i| &bytes[i + 1..]);
                        let mut wire = vec![1u8];
                        wire.extend_from_slice(after);
                        out.push(("wire_decode", format!("{name}-frames"), wire));
                        if let Some(i) = nl {
                            out.push((
                                "banner_url",
                                format!("{stem}-banner"),
                                bytes[..=i].to_vec(),
                            ));
                        }
                    }
                }
            }
        }
    }
    for (i, url) in [
        "tcp://127.0.0.1:12345",
        "tcp://0:3755/",
        "tcp://*:3755",
        "tcp://1.2.3.4:009000/x",
        "tcp://localhost:1",
        "unix:///tmp/rump.sock",
        "unix://sock",
        "tcp6://[::1]:1",
        "tcp://1.2.3.4:65536",
    ]
    .iter()
    .enumerate()
    {
        out.push(("banner_url", format!("url-{i}"), url.as_bytes().to_vec()));
    }
    out.push(("kernel_syscalls", "empty".into(), vec![]));
    Ok(out)
}
