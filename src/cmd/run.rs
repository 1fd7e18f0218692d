//! `rumpsp run -- CMD ARGS…`: runs an unmodified Linux program with the
//! system-call hijacking library preloaded (`librumpsp_hijack.so`, the
//! `hijack/` crate), so that its calls on paths under the prefix (default
//! `/rump`) and on the descriptors it opens there go to the rump kernel;
//! with `--sockets`, so do the sockets of the domains named.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;

/// The library's file name.
pub const LIB: &str = "librumpsp_hijack.so";

/// `rumpsp run` options.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Path prefix that names the rump kernel's root (RUMPHIJACK=path=…).
    #[arg(long, default_value = "/rump", value_name = "PREFIX")]
    pub path: String,
    /// Socket domains whose sockets live in the rump kernel, comma-separated:
    /// none (the default: every socket is the host's), inet, inet6, local, all
    /// (RUMPHIJACK=socket=…).
    #[arg(long, default_value = "none", value_name = "LIST")]
    pub sockets: String,
    /// The hijacking library (default: $RUMPSP_HIJACK_LIB, else next to this binary or in its deps/).
    #[arg(long, value_name = "FILE")]
    pub lib: Option<PathBuf>,
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Where the library is: the option, `$RUMPSP_HIJACK_LIB`, then beside the
/// running binary (`target/release/`) and in its `deps/`.
pub fn find_lib(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        bail!("the hijacking library {} does not exist", p.display());
    }
    if let Some(p) = std::env::var_os("RUMPSP_HIJACK_LIB").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!("RUMPSP_HIJACK_LIB={} does not exist", p.display());
    }
    let exe = std::env::current_exe().context("finding the rumpsp binary")?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    for cand in [dir.join(LIB), dir.join("deps").join(LIB)] {
        if cand.is_file() {
            return Ok(cand);
        }
    }
    bail!(
        "{LIB} is not next to {} (build it with `cargo build --release -p rumpsp-hijack`, \
         or name it with --lib or RUMPSP_HIJACK_LIB)",
        exe.display()
    )
}

/// The `socket=` value of RUMPHIJACK for a `--sockets` list, or why the
/// list is not one.
pub fn socket_keyword(list: &str) -> anyhow::Result<String> {
    let mut out = Vec::new();
    for w in list.split(',').map(str::trim) {
        match w {
            "none" | "inet" | "inet6" | "local" | "all" => out.push(w),
            "" => {}
            other => bail!("--sockets: unknown domain {other:?} (none, inet, inet6, local, all)"),
        }
    }
    if out.is_empty() {
        bail!("--sockets: no domain given (none, inet, inet6, local, all)");
    }
    Ok(out.join(":"))
}

/// Runs the command under the library; returns only on failure.
pub fn run(a: RunArgs, server: Option<String>) -> anyhow::Result<u8> {
    let Some(server) = server else {
        bail!("rumpsp run needs a rump kernel: --server URL or RUMP_SERVER");
    };
    rumpsp_protocol::url::parse_url(&server, rumpsp_protocol::url::Role::Client)
        .with_context(|| format!("invalid server URL {server:?}"))?;
    if !a.path.starts_with('/') || a.path.len() < 2 {
        bail!(
            "--path {:?}: the prefix must be an absolute path other than /",
            a.path
        );
    }
    let sockets = socket_keyword(&a.sockets)?;
    let lib = find_lib(a.lib.as_deref())?;
    let lib = lib.canonicalize().unwrap_or(lib);
    let preload = match std::env::var("LD_PRELOAD") {
        Ok(old) if !old.is_empty() => format!("{}:{old}", lib.display()),
        _ => lib.display().to_string(),
    };
    let (prog, args) = a.command.split_first().context("no command given")?;
    let err = std::process::Command::new(prog)
        .args(args)
        .env("LD_PRELOAD", preload)
        .env(
            "RUMPHIJACK",
            format!("path={},socket={sockets}", a.path.trim_end_matches('/')),
        )
        .env("RUMP_SERVER", &server)
        .exec();
    bail!("cannot run {prog:?}: {err}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_option_becomes_the_socket_keyword() {
        assert_eq!(socket_keyword("none").unwrap(), "none");
        assert_eq!(socket_keyword("inet,inet6").unwrap(), "inet:inet6");
        assert_eq!(socket_keyword("all").unwrap(), "all");
        assert!(socket_keyword("inet,route").is_err());
        assert!(socket_keyword("").is_err());
    }
}
