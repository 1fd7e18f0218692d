//! The default corpus (`conformance/corpus`), the catalogue's recordings
//! (`conformance/traces/robustness`) and the differential captures
//! (`conformance/traces/differential`) and the network captures
//! (`conformance/traces/net`), built into the binary so that
//! `rumpsp conformance` runs from any directory and from a copied binary.

use std::path::Path;

use include_dir::{include_dir, Dir};

static CORPUS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/corpus");
static ROBUSTNESS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/traces/robustness");
static DIFFERENTIAL: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/traces/differential");
static NET: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/traces/net");

fn files(dir: &'static Dir<'static>) -> Vec<(&'static str, &'static [u8])> {
    let mut v: Vec<(&'static str, &'static [u8])> = dir
        .files()
        .filter_map(|f| Some((f.path().to_str()?, f.contents())))
        .collect();
    v.sort();
    v
}

/// The corpus files, (file name, contents), sorted by name.
pub fn corpus() -> Vec<(&'static str, &'static [u8])> {
    files(&CORPUS)
}

/// The catalogue's recordings (`NAME.jsonl`, and the directory's notes), sorted by name.
pub fn robustness() -> Vec<(&'static str, &'static [u8])> {
    files(&ROBUSTNESS)
}

/// The differential captures (`gen-NNNNNN.jsonl`, and their README), sorted by name.
pub fn differential() -> Vec<(&'static str, &'static [u8])> {
    files(&DIFFERENTIAL)
}

/// The network captures (`NAME.jsonl`, the banner and their README), sorted by name.
pub fn net() -> Vec<(&'static str, &'static [u8])> {
    files(&NET)
}

/// Writes `files` into `dir` (which must exist), one file per entry.
pub fn write_to(files: &[(&str, &[u8])], dir: &Path) -> std::io::Result<()> {
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_files_are_the_directories_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (embedded, dir) in [
            (corpus(), root.join("corpus")),
            (robustness(), root.join("traces/robustness")),
            (differential(), root.join("traces/differential")),
            (net(), root.join("traces/net")),
        ] {
            let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            on_disk.sort();
            let names: Vec<String> = embedded.iter().map(|(n, _)| n.to_string()).collect();
            assert_eq!(names, on_disk);
            for (n, bytes) in &embedded {
                assert_eq!(
                    *bytes,
                    std::fs::read(dir.join(n)).unwrap().as_slice(),
                    "{n}"
                );
            }
        }
        assert!(corpus().iter().any(|(n, _)| *n == "getpid.trace"));
        assert!(robustness().iter().any(|(n, _)| *n == "class3.jsonl"));
    }
}
