//! `rumpsp fuzz-seeds`: writes the seed corpora of [`rumpsp_conformance::seeds`] to disk.

use std::path::Path;

use anyhow::Context;

/// Writes seeds under `out/<target>/`; returns how many.
pub fn run(traces: &[&Path], out: &Path) -> anyhow::Result<usize> {
    let seeds = rumpsp_conformance::seeds::seeds(traces)?;
    for (target, name, data) in &seeds {
        let d = out.join(target);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join(name), data)
            .with_context(|| format!("writing {}", d.join(name).display()))?;
    }
    Ok(seeds.len())
}
