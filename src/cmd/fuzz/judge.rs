//! Findings as catalogue cases: `rumpsp conformance --catalog-extra DIR`
//! replays the operations of every finding capture in DIR against the server
//! under test and requires that none of the fuzzer's oracles fires (the
//! server survives, serves a new client, and answers every request once), so
//! that a fixed bug stays fixed.

use std::path::Path;
use std::time::Duration;

use rumpsp_conformance::wire::Wire;

use super::exec::{health_check, run_input, Bounds};
use super::report::read_finding;

/// What replaying one finding against a server showed: `Ok(())` when no
/// oracle fired, else what did. `exited` tells whether the server process
/// ended (for servers the caller started).
pub(crate) fn judge(
    path: &Path,
    wire: &mut dyn Wire,
    synchronous: bool,
    exited: &mut dyn FnMut() -> Option<String>,
) -> anyhow::Result<Result<(), String>> {
    let (_, ops) = read_finding(path)?;
    let banner = {
        let (c, got) = match wire.connect() {
            Ok(x) => x,
            Err(e) => return Ok(Err(format!("no banner: {e}"))),
        };
        wire.close(c);
        let end = got
            .iter()
            .position(|&b| b == b'\n')
            .map_or(got.len(), |i| i + 1);
        got[..end].to_vec()
    };
    let obs = run_input(wire, &banner, &ops, Bounds::default(), synchronous);
    if let Some(how) = exited() {
        return Ok(Err(how));
    }
    if let Some(f) = obs.finding {
        return Ok(Err(format!("{}: {}", f.kind.name(), f.detail)));
    }
    if let Err(why) = health_check(wire, &banner, Duration::from_millis(1500)) {
        return Ok(Err(exited().unwrap_or(why)));
    }
    Ok(Ok(()))
}
