//! The rump.* style tools: sysctl, ls, cat, put, get, mkdir, rm, stat, mount,
//! halt — against `--server URL` or `RUMP_SERVER`.

use std::io::Write;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use rumpsp_protocol::net::{Client, ClientError, SysctlNode, TmpfsArgs};
use rumpsp_protocol::netbsd::{Errno, StatBuf};

use super::sysctl_print;

/// Where the tools connect.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// The rump kernel to talk to (default: $RUMP_SERVER).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
}

/// The tools. Exit status: 0 ok, 1 an operation failed (the kernel answered
/// with an error), 2 usage or connection trouble.
#[derive(Subcommand, Debug)]
pub enum Tool {
    /// Read or write sysctl variables, as NetBSD's sysctl(8).
    Sysctl {
        #[command(flatten)]
        target: Target,
        /// List every variable, in MIB order.
        #[arg(short = 'a')]
        all: bool,
        /// Print values only, without the names.
        #[arg(short = 'n')]
        values_only: bool,
        /// Allow name=value arguments to set variables.
        #[arg(short = 'w')]
        write: bool,
        /// Variables or subtrees to show; name=value (with -w) sets one.
        names: Vec<String>,
    },
    /// List directories; -l in ls's long format (the name last).
    Ls {
        #[command(flatten)]
        target: Target,
        /// Long format, with a `total` line of 512-byte blocks.
        #[arg(short = 'l')]
        long: bool,
        /// Include entries whose names begin with a dot (. and .. too).
        #[arg(short = 'a')]
        all: bool,
        /// Directories or files (default: /).
        paths: Vec<String>,
    },
    /// Print files.
    Cat {
        #[command(flatten)]
        target: Target,
        /// Files.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Copy a host file (- for standard input) into the rump kernel.
    Put {
        #[command(flatten)]
        target: Target,
        /// Host file, or - for standard input.
        host: std::path::PathBuf,
        /// Path in the rump kernel.
        path: String,
    },
    /// Copy a file out of the rump kernel (- for standard output).
    Get {
        #[command(flatten)]
        target: Target,
        /// Path in the rump kernel.
        path: String,
        /// Host file, or - for standard output.
        host: std::path::PathBuf,
    },
    /// Make directories.
    Mkdir {
        #[command(flatten)]
        target: Target,
        /// Create missing parents; an existing directory is no error (anything else is).
        #[arg(short = 'p')]
        parents: bool,
        /// Directories.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Remove files (-r: directories and their contents).
    Rm {
        #[command(flatten)]
        target: Target,
        /// Recursive.
        #[arg(short = 'r', short_alias = 'R')]
        recursive: bool,
        /// Ignore files that do not exist; no message, no failure for them.
        #[arg(short = 'f')]
        force: bool,
        /// Paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Show a file's status.
    Stat {
        #[command(flatten)]
        target: Target,
        /// Paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Mount a tmpfs: mount -t tmpfs tmpfs DIR.
    Mount {
        #[command(flatten)]
        target: Target,
        /// File-system type (tmpfs).
        #[arg(short = 't')]
        fstype: String,
        /// Mount options: size=BYTES,nodes=N,mode=OCTAL,uid=N,gid=N,ro.
        #[arg(short = 'o')]
        options: Option<String>,
        /// Source (tmpfs).
        source: String,
        /// Mount point.
        dir: String,
    },
    /// Configure network interfaces, as NetBSD's ifconfig(8): -a, IF,
    /// IF create, IF destroy, IF inet ADDR[/LEN], IF up, IF down.
    Ifconfig {
        #[command(flatten)]
        target: Target,
        /// Show every interface.
        #[arg(short = 'a')]
        all: bool,
        /// The interface, then the operations.
        args: Vec<String>,
    },
    /// Halt the rump kernel, as rump.halt(1) (no flag: a plain halt, howto 0).
    #[command(disable_help_flag = true)]
    Halt {
        #[command(flatten)]
        target: Target,
        /// Dump core before halting (RB_DUMP).
        #[arg(short = 'd')]
        dump: bool,
        /// Halt the kernel without powering it off (RB_HALT), as rump.halt -h.
        #[arg(short = 'h')]
        halt: bool,
        /// Do not sync the file systems first (RB_NOSYNC).
        #[arg(short = 'n')]
        nosync: bool,
        /// Print help.
        #[arg(long, action = clap::ArgAction::Help)]
        help: Option<bool>,
    },
}

impl Tool {
    fn target(&self) -> &Target {
        match self {
            Tool::Sysctl { target, .. }
            | Tool::Ls { target, .. }
            | Tool::Cat { target, .. }
            | Tool::Put { target, .. }
            | Tool::Get { target, .. }
            | Tool::Mkdir { target, .. }
            | Tool::Rm { target, .. }
            | Tool::Stat { target, .. }
            | Tool::Mount { target, .. }
            | Tool::Ifconfig { target, .. }
            | Tool::Halt { target, .. } => target,
        }
    }
}

/// What an operation's failure prints: strerror's text for an errno, as
/// NetBSD's tools print it; the whole error otherwise.
pub(crate) fn strerror(e: &ClientError) -> String {
    match e {
        ClientError::Errno(n) => n
            .message()
            .map_or_else(|| format!("Unknown error: {}", n.0), str::to_owned),
        other => other.to_string(),
    }
}

/// An errno from the kernel is the operation failing (exit 1, reported by the
/// caller); anything else (transport, protocol) ends the tool (exit 2).
pub(crate) fn op_failed(e: ClientError) -> anyhow::Result<ClientError> {
    match e {
        ClientError::Errno(_) => Ok(e),
        other => Err(anyhow::Error::new(other).context("lost the rump kernel")),
    }
}

async fn client(t: &Target) -> anyhow::Result<Client> {
    let c = match &t.server {
        Some(url) => Client::connect(url, "rumpsp").await,
        None => Client::from_env("rumpsp").await,
    };
    c.map_err(|e| match e {
        ClientError::NoServer | ClientError::Url { .. } => anyhow::Error::new(e),
        e => {
            let url = t
                .server
                .clone()
                .or_else(|| std::env::var("RUMP_SERVER").ok())
                .unwrap_or_default();
            // name the URL once: a transport error may already hold it
            let at = if e.to_string().contains(&url) {
                String::new()
            } else {
                format!(" at {url}")
            };
            anyhow::Error::new(e).context(format!("cannot reach the rump kernel{at}"))
        }
    })
}

fn mode_string(m: u32) -> String {
    let t = match m & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o010000 => 'p',
        0o020000 => 'c',
        0o140000 => 's',
        _ => '-',
    };
    let mut s: Vec<char> = vec![t];
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        s.push(if m & (0o400 >> i) != 0 { c } else { '-' });
    }
    // set-uid, set-gid and sticky replace the x of their triple, as ls shows them
    for (bit, pos, set, unset) in [
        (0o4000, 3, 's', 'S'),
        (0o2000, 6, 's', 'S'),
        (0o1000, 9, 't', 'T'),
    ] {
        if m & bit != 0 {
            s[pos] = if s[pos] == 'x' { set } else { unset };
        }
    }
    s.into_iter().collect()
}

/// "Mon DD HH:MM" for seconds since the epoch (UTC).
fn ls_time(secs: i64) -> String {
    let (_, m, d, rem) = rumpsp_conformance::render::utc_civil(secs);
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {:>2} {:02}:{:02}",
        MON[(m - 1) as usize],
        d,
        rem / 3600,
        (rem % 3600) / 60
    )
}

fn show_value(ctype: u32, data: &[u8]) -> String {
    match ctype {
        2 if data.len() >= 4 => {
            i32::from_le_bytes([data[0], data[1], data[2], data[3]]).to_string()
        }
        // display_number prints every quad with PRIu64.
        4 if data.len() >= 8 => {
            u64::from_le_bytes(data[..8].try_into().unwrap_or([0; 8])).to_string()
        }
        6 if !data.is_empty() => data[0].to_string(),
        3 => {
            String::from_utf8_lossy(data.split(|&b| b == 0).next().unwrap_or_default()).into_owned()
        }
        _ => {
            let hex: String = data.iter().take(64).map(|b| format!("{b:02x}")).collect();
            format!(
                "({} bytes) {hex}{}",
                data.len(),
                if data.len() > 64 { "…" } else { "" }
            )
        }
    }
}

/// Reads a leaf as sysctl(8)'s print_tree does: numbers into a buffer of
/// their type's size (an int 4 bytes, a quad 8, a bool 1), anything else
/// after a size probe.
async fn sysctl_read(c: &Client, mib: &[i32], ctype: u32) -> Result<Vec<u8>, ClientError> {
    let size = match ctype {
        2 => 4,
        4 => 8,
        6 => 1,
        _ => c.sysctl(mib, 0, None).await?.1.max(1) as usize,
    };
    let (data, _) = c.sysctl(mib, size, None).await?;
    Ok(data)
}

/// Collects a line for every leaf under `mib`, depth first in MIB order (the
/// order the kernel lists the children in), as sysctl -a prints them
/// (NetBSD sbin/sysctl/sysctl.c print_tree with `req` cleared): hidden
/// children are skipped, special nodes (sysctl.c's handlers: statistics,
/// PCB lists, kern.msgbuf, …) and structs print nothing, and a leaf whose
/// value cannot be read (an errno) is left out.
async fn sysctl_walk(
    c: &Client,
    mib: Vec<i32>,
    name: String,
    values_only: bool,
    out: &mut Vec<String>,
) -> anyhow::Result<bool> {
    // A stack of (parent name, parent mib, children still to visit, reversed).
    let children = match c.sysctl_query(&mib).await {
        Ok(ch) => ch,
        Err(e) => {
            let e = op_failed(e)?;
            eprintln!("{}", sysctl_read_error(&name, &e));
            return Ok(true);
        }
    };
    let mut errs = false;
    if children.is_empty() && !name.is_empty() {
        // A node named on the command line (req set) without children.
        let (o, e) = sysctl_print::childless_node(&name);
        out.extend(o);
        if let Some(e) = e {
            eprintln!("{e}");
            errs = true;
        }
        return Ok(errs);
    }
    let mut stack = vec![(name, mib, children.into_iter().rev().collect::<Vec<_>>())];
    while let Some((name, mib, mut rest)) = stack.pop() {
        let Some(ch) = rest.pop() else { continue };
        let mut m = mib.clone();
        m.push(ch.num);
        let n = if name.is_empty() {
            ch.name.clone()
        } else {
            format!("{name}.{}", ch.name)
        };
        stack.push((name, mib, rest));
        if ch.flags & sysctl_print::CTLFLAG_HIDDEN != 0 {
            continue;
        }
        if ch.ctype == 1 {
            match c.sysctl_query(&m).await {
                Ok(sub) => stack.push((n, m, sub.into_iter().rev().collect())),
                Err(e) => {
                    op_failed(e)?;
                }
            }
        } else if matches!(
            sysctl_print::handler(&n),
            Some(sysctl_print::Handler::Other(_))
        ) {
            // printother prints nothing unless the node was named.
            continue;
        } else {
            match sysctl_read(c, &m, ch.ctype).await {
                Ok(d) => {
                    let (o, e) =
                        sysctl_print::leaf(&n, ch.ctype, &d, false, values_only, show_value);
                    out.extend(o);
                    if let Some(e) = e {
                        eprintln!("{e}");
                        errs = true;
                    }
                }
                Err(e) => {
                    op_failed(e)?;
                }
            }
        }
    }
    Ok(errs)
}

/// sysctl.c sysctlerror(1) for a named node: the errors that mean the
/// value is absent say so (ENOENT, ENOPROTOOPT, ENOTDIR, EINVAL,
/// EOPNOTSUPP, EPROTONOSUPPORT), any other is its strerror.
fn sysctl_read_error(name: &str, e: &ClientError) -> String {
    const SOFT: [i32; 6] = [2, 42, 20, 22, 45, 43];
    match e {
        ClientError::Errno(n) if SOFT.contains(&n.0) => format!(
            "sysctl: {name}: the value is not available ({})",
            strerror(e)
        ),
        _ => format!("sysctl: {name}: {}", strerror(e)),
    }
}

/// Why a sysctl name did not resolve, in NetBSD's words: `second level name
/// 'nosuch' in 'kern.nosuch' is invalid` (the level is the failing
/// component's depth, the quoted name that component).
#[derive(Debug, PartialEq, Eq)]
struct BadName {
    level: usize,
    token: String,
}

impl BadName {
    fn message(&self, whole: &str) -> String {
        const LEVEL: [&str; 12] = [
            "top", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
            "tenth", "eleventh", "twelfth",
        ];
        let level = LEVEL.get(self.level).copied().unwrap_or("deep");
        format!(
            "{level} level name '{}' in '{whole}' is invalid",
            self.token
        )
    }
}

/// Resolves a dotted sysctl name component by component.
async fn sysctl_resolve(
    c: &Client,
    name: &str,
) -> anyhow::Result<Result<(Vec<i32>, SysctlNode), BadName>> {
    let mut mib = Vec::new();
    let mut node: Option<SysctlNode> = None;
    let comps: Vec<&str> = name.split(['.', '/']).filter(|c| !c.is_empty()).collect();
    for (level, comp) in comps.iter().enumerate() {
        let bad = || BadName {
            level,
            token: (*comp).to_owned(),
        };
        if node.as_ref().is_some_and(|n| n.ctype != 1) {
            return Ok(Err(bad()));
        }
        let children = match c.sysctl_query(&mib).await {
            Ok(ch) => ch,
            Err(e) => {
                op_failed(e)?;
                return Ok(Err(bad()));
            }
        };
        let Some(found) = children
            .into_iter()
            .find(|ch| ch.name == *comp || comp.parse::<i32>().ok() == Some(ch.num))
        else {
            return Ok(Err(bad()));
        };
        mib.push(found.num);
        node = Some(found);
    }
    Ok(node.map(|n| (mib, n)).ok_or(BadName {
        level: 0,
        token: name.to_owned(),
    }))
}

/// strtouq(3) with base 0 over the whole of `v`: None when it is not a
/// number (nothing parsed, or something left over), Some(Err) on overflow
/// (ERANGE); a leading `-` negates modulo 2^64, as strtouq does.
fn strtouq(v: &str) -> Option<Result<u64, ()>> {
    let s = v.trim_start();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if (s.starts_with("0x") || s.starts_with("0X"))
        && s[2..].starts_with(|c: char| c.is_ascii_hexdigit())
    {
        (16, &s[2..])
    } else if s.starts_with('0') {
        (8, s)
    } else {
        (10, s)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mut q: u64 = 0;
    for d in digits.chars().filter_map(|c| c.to_digit(radix)) {
        match q
            .checked_mul(u64::from(radix))
            .and_then(|q| q.checked_add(u64::from(d)))
        {
            Some(n) => q = n,
            None => return Some(Err(())),
        }
    }
    Some(Ok(if neg { q.wrapping_neg() } else { q }))
}

/// Encodes `value` for a node of type `ctype` as sysctl.c write_number and
/// write_string do: the bytes to write and the new value as it prints, or
/// sysctl(8)'s message (`VALUE: not a number`, `VALUE: Result too large`).
fn sysctl_encode(name: &str, ctype: u32, value: &str) -> Result<(Vec<u8>, String), String> {
    if ctype == 3 {
        let mut v = value.as_bytes().to_vec();
        v.push(0);
        return Ok((v, value.to_owned()));
    }
    if !matches!(ctype, 2 | 4 | 6) {
        return Err(format!(
            "{name}: setting this type of variable is not supported"
        ));
    }
    let q = match strtouq(value) {
        None => return Err(format!("{value}: not a number")),
        Some(Err(())) => return Err(format!("{value}: Result too large")),
        Some(Ok(q)) => q,
    };
    Ok(match ctype {
        2 => {
            let (lo, hi) = (q as u32, (q >> 32) as u32);
            if hi != u32::MAX && hi != 0 {
                return Err(format!("{value}: Result too large"));
            }
            (lo.to_le_bytes().to_vec(), (lo as i32).to_string())
        }
        // display_number prints a quad with PRIu64.
        4 => (q.to_le_bytes().to_vec(), q.to_string()),
        _ => {
            let b = u8::from(q != 0);
            (vec![b], b.to_string())
        }
    })
}

async fn rm_r(c: &Client, path: &str) -> Result<(), ClientError> {
    let st = c.lstat(path).await?;
    if st.is_dir() {
        for d in c.read_dir(path).await? {
            if d.name == b"." || d.name == b".." {
                continue;
            }
            let child = format!(
                "{}/{}",
                path.trim_end_matches('/'),
                String::from_utf8_lossy(&d.name)
            );
            Box::pin(rm_r(c, &child)).await?;
        }
        c.rmdir(path).await
    } else {
        c.unlink(path).await
    }
}

fn print_stat(path: &str, st: &StatBuf) {
    println!(
        "{path}: dev {:#x} ino {} mode {:#o} ({}) nlink {} uid {} gid {} size {} blocks {} blksize {} mtime {}",
        st.dev,
        st.ino,
        st.mode,
        mode_string(st.mode),
        st.nlink,
        st.uid,
        st.gid,
        st.size,
        st.blocks,
        st.blksize,
        st.mtime.sec
    );
}

fn ls_long_line(st: &StatBuf, name: &str) -> String {
    format!(
        "{} {:>3} {:<5} {:<5} {:>9} {} {name}",
        mode_string(st.mode),
        st.nlink,
        st.uid,
        st.gid,
        st.size,
        ls_time(st.mtime.sec)
    )
}

/// ls of one path; returns false when something failed (already reported).
async fn ls_one(
    c: &Client,
    path: &str,
    long: bool,
    all: bool,
    header: bool,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let st = match c.stat(path).await {
        Ok(st) => st,
        Err(e) => {
            eprintln!("ls: {path}: {}", strerror(&op_failed(e)?));
            return Ok(false);
        }
    };
    if !st.is_dir() {
        if long {
            writeln!(out, "{}", ls_long_line(&st, path))?;
        } else {
            writeln!(out, "{path}")?;
        }
        return Ok(true);
    }
    let mut entries = match c.read_dir(path).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("ls: {path}: {}", strerror(&op_failed(e)?));
            return Ok(false);
        }
    };
    entries.retain(|d| all || !d.name.starts_with(b"."));
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if header {
        writeln!(out, "{path}:")?;
    }
    let mut ok = true;
    if !long {
        for d in entries {
            writeln!(out, "{}", String::from_utf8_lossy(&d.name))?;
        }
        return Ok(ok);
    }
    let mut lines = Vec::new();
    let mut blocks = 0i64;
    for d in entries {
        let name = String::from_utf8_lossy(&d.name).into_owned();
        let full = format!("{}/{}", path.trim_end_matches('/'), name);
        match c.lstat(&full).await {
            Ok(st) => {
                blocks += st.blocks;
                lines.push(ls_long_line(&st, &name));
            }
            Err(e) => {
                eprintln!("ls: {full}: {}", strerror(&op_failed(e)?));
                ok = false;
            }
        }
    }
    writeln!(out, "total {blocks}")?;
    for l in lines {
        writeln!(out, "{l}")?;
    }
    Ok(ok)
}

/// mkdir -p, as NetBSD's mkpath: each missing component is made; one that
/// exists must be a directory (else ENOTDIR). The error names the component
/// that failed (`mkdir: /f: Not a directory` for `mkdir -p /f/x`).
async fn mkdir_p(c: &Client, p: &str) -> Result<(), (String, ClientError)> {
    let mut cur = String::new();
    for comp in p.split('/').filter(|c| !c.is_empty()) {
        cur = if p.starts_with('/') || !cur.is_empty() {
            format!("{cur}/{comp}")
        } else {
            comp.to_owned()
        };
        if let Err(e) = c.mkdir(&cur, 0o777).await {
            match c.stat(&cur).await {
                Ok(st) if st.is_dir() => {}
                Ok(_) => return Err((cur, ClientError::Errno(Errno(ENOTDIR)))),
                Err(_) => return Err((cur, e)),
            }
        }
    }
    Ok(())
}

const ENOENT: i32 = 2;
const ENOTDIR: i32 = 20;

/// Copies everything `fd` reads into `out`.
async fn copy_out(
    c: &Client,
    fd: i32,
    out: &mut impl Write,
) -> anyhow::Result<Result<(), ClientError>> {
    loop {
        match c.read(fd, 1 << 20).await {
            Ok(chunk) if chunk.is_empty() => return Ok(Ok(())),
            Ok(chunk) => out.write_all(&chunk)?,
            Err(e) => return Ok(Err(op_failed(e)?)),
        }
    }
}

/// Runs a tool; returns the exit code (0 ok, 1 an operation failed; an
/// `Err`, usage or connection trouble, is 2).
pub fn run(tool: Tool) -> anyhow::Result<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let c = client(tool.target()).await?;
        let mut failed = false;
        match tool {
            Tool::Sysctl {
                all,
                values_only,
                write,
                names,
                ..
            } => {
                let mut out = std::io::stdout().lock();
                let mut lines = Vec::new();
                if all {
                    failed |=
                        sysctl_walk(&c, vec![], String::new(), values_only, &mut lines).await?;
                }
                for arg in names {
                    let (n, value) = match arg.split_once('=') {
                        Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                        None => (arg.clone(), None),
                    };
                    if value.is_some() && !write {
                        bail!("sysctl: Must specify -w to set variables");
                    }
                    let (mib, node) = match sysctl_resolve(&c, &n).await? {
                        Ok(r) => r,
                        Err(bad) => {
                            eprintln!("sysctl: {}", bad.message(&n));
                            failed = true;
                            continue;
                        }
                    };
                    if let Some(value) = value {
                        let (new, shown) = match sysctl_encode(&n, node.ctype, &value) {
                            Ok(v) => v,
                            Err(m) => {
                                eprintln!("sysctl: {m}");
                                failed = true;
                                continue;
                            }
                        };
                        let old = match sysctl_read(&c, &mib, node.ctype).await {
                            Ok(d) => d,
                            Err(e) => {
                                eprintln!("sysctl: {n}: {}", strerror(&op_failed(e)?));
                                failed = true;
                                continue;
                            }
                        };
                        match c.sysctl(&mib, 0, Some(&new)).await {
                            Ok(_) if values_only => lines.push(shown),
                            Ok(_) => lines.push(format!(
                                "{n}: {} -> {shown}",
                                show_value(node.ctype, &old)
                            )),
                            Err(e) => {
                                eprintln!("sysctl: {n}: {}", strerror(&op_failed(e)?));
                                failed = true;
                            }
                        }
                    } else if node.ctype == 1 {
                        failed |= sysctl_walk(&c, mib, n, values_only, &mut lines).await?;
                    } else if let Some(sysctl_print::Handler::Other(program)) =
                        sysctl_print::handler(&n)
                    {
                        // printother: a hint instead of the value (and, as
                        // every sysctlperror, exit status 1).
                        if let Some(e) = sysctl_print::other_hint(&n, program) {
                            eprintln!("{e}");
                            failed = true;
                        }
                    } else {
                        match sysctl_read(&c, &mib, node.ctype).await {
                            Ok(d) => {
                                let (o, e) = sysctl_print::leaf(
                                    &n,
                                    node.ctype,
                                    &d,
                                    true,
                                    values_only,
                                    show_value,
                                );
                                lines.extend(o);
                                if let Some(e) = e {
                                    eprintln!("{e}");
                                    failed = true;
                                }
                            }
                            Err(e) => {
                                eprintln!("{}", sysctl_read_error(&n, &op_failed(e)?));
                                failed = true;
                            }
                        }
                    }
                }
                for l in lines {
                    writeln!(out, "{l}")?;
                }
            }
            Tool::Ls {
                long, all, paths, ..
            } => {
                let paths = if paths.is_empty() {
                    vec!["/".to_owned()]
                } else {
                    paths
                };
                let mut out = std::io::stdout().lock();
                let several = paths.len() > 1;
                // As NetBSD's ls: the operands that are not directories
                // first (missing ones reported), then each directory.
                let mut dirs = Vec::new();
                let mut printed = false;
                for p in &paths {
                    match c.stat(p).await {
                        Ok(st) if st.is_dir() => dirs.push(p.clone()),
                        Ok(_) => {
                            failed |= !ls_one(&c, p, long, all, false, &mut out).await?;
                            printed = true;
                        }
                        Err(e) => {
                            eprintln!("ls: {p}: {}", strerror(&op_failed(e)?));
                            failed = true;
                        }
                    }
                }
                for p in &dirs {
                    if printed {
                        writeln!(out)?;
                    }
                    failed |= !ls_one(&c, p, long, all, several, &mut out).await?;
                    printed = true;
                }
            }
            Tool::Cat { paths, .. } => {
                let mut out = std::io::stdout().lock();
                for p in paths {
                    let fd = match c.open(&p, 0, 0).await {
                        Ok(fd) => fd,
                        Err(e) => {
                            eprintln!("cat: {p}: {}", strerror(&op_failed(e)?));
                            failed = true;
                            continue;
                        }
                    };
                    if let Err(e) = copy_out(&c, fd, &mut out).await? {
                        eprintln!("cat: {p}: {}", strerror(&e));
                        failed = true;
                    }
                    let _ = c.close(fd).await;
                }
                out.flush()?;
            }
            Tool::Put { host, path, .. } => {
                let data = if host.as_os_str() == "-" {
                    let mut v = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut v)
                        .context("put: reading standard input")?;
                    v
                } else {
                    std::fs::read(&host)
                        .with_context(|| format!("put: reading {}", host.display()))?
                };
                match c.open(&path, 0x1 | 0x200 | 0x400, 0o644).await {
                    Ok(fd) => {
                        'copy: for chunk in data.chunks(1 << 20) {
                            let mut done = 0;
                            while done < chunk.len() {
                                match c.write(fd, &chunk[done..]).await {
                                    Ok(n) => done += n,
                                    Err(e) => {
                                        eprintln!("put: {path}: {}", strerror(&op_failed(e)?));
                                        failed = true;
                                        break 'copy;
                                    }
                                }
                            }
                        }
                        let _ = c.close(fd).await;
                    }
                    Err(e) => {
                        eprintln!("put: {path}: {}", strerror(&op_failed(e)?));
                        failed = true;
                    }
                }
            }
            Tool::Get { path, host, .. } => match c.open(&path, 0, 0).await {
                Ok(fd) => {
                    let mut f: Box<dyn Write> = if host.as_os_str() == "-" {
                        Box::new(std::io::stdout().lock())
                    } else {
                        Box::new(
                            std::fs::File::create(&host)
                                .with_context(|| format!("get: creating {}", host.display()))?,
                        )
                    };
                    let copied = copy_out(&c, fd, &mut f).await?;
                    f.flush()?;
                    if let Err(e) = copied {
                        eprintln!("get: {path}: {}", strerror(&e));
                        failed = true;
                    }
                    let _ = c.close(fd).await;
                }
                Err(e) => {
                    eprintln!("get: {path}: {}", strerror(&op_failed(e)?));
                    failed = true;
                }
            },
            Tool::Mkdir { parents, paths, .. } => {
                for p in paths {
                    let r = if parents {
                        mkdir_p(&c, &p).await
                    } else {
                        c.mkdir(&p, 0o777).await.map_err(|e| (p.clone(), e))
                    };
                    if let Err((at, e)) = r {
                        eprintln!("mkdir: {at}: {}", strerror(&op_failed(e)?));
                        failed = true;
                    }
                }
            }
            Tool::Rm {
                recursive,
                force,
                paths,
                ..
            } => {
                for p in paths {
                    let st = match c.lstat(&p).await {
                        Ok(st) => st,
                        Err(ClientError::Errno(e)) if force && e.0 == ENOENT => continue,
                        Err(e) => {
                            eprintln!("rm: {p}: {}", strerror(&op_failed(e)?));
                            failed = true;
                            continue;
                        }
                    };
                    if st.is_dir() && !recursive {
                        // NetBSD's rm.c: warnx("%s: is a directory", f)
                        eprintln!("rm: {p}: is a directory");
                        failed = true;
                        continue;
                    }
                    let r = if recursive {
                        rm_r(&c, &p).await
                    } else {
                        c.unlink(&p).await
                    };
                    match r {
                        Ok(()) => {}
                        Err(ClientError::Errno(e)) if force && e.0 == ENOENT => {}
                        Err(e) => {
                            eprintln!("rm: {p}: {}", strerror(&op_failed(e)?));
                            failed = true;
                        }
                    }
                }
            }
            Tool::Stat { paths, .. } => {
                for p in paths {
                    match c.stat(&p).await {
                        Ok(st) => print_stat(&p, &st),
                        Err(e) => {
                            eprintln!("stat: {p}: {}", strerror(&op_failed(e)?));
                            failed = true;
                        }
                    }
                }
            }
            Tool::Mount {
                fstype,
                options,
                source,
                dir,
                ..
            } => {
                if fstype != "tmpfs" || source != "tmpfs" {
                    bail!("mount: only `-t tmpfs tmpfs DIR` is supported, not -t {fstype:?} {source:?}");
                }
                let mut a = TmpfsArgs::default();
                let mut flags = 0;
                for o in options.iter().flat_map(|o| o.split(',')) {
                    let bad = |what: &str| anyhow::anyhow!("mount: option {o:?}: the value is not {what}");
                    match o.split_once('=') {
                        Some(("size", v)) => a.size_max = v.parse().map_err(|_| bad("a byte count"))?,
                        Some(("nodes", v)) => a.nodes_max = v.parse().map_err(|_| bad("a number"))?,
                        Some(("mode", v)) => {
                            a.mode = u32::from_str_radix(v, 8).map_err(|_| bad("an octal mode"))?
                        }
                        Some(("uid", v)) => a.uid = v.parse().map_err(|_| bad("a number"))?,
                        Some(("gid", v)) => a.gid = v.parse().map_err(|_| bad("a number"))?,
                        None if o == "ro" => flags |= 1,
                        _ => bail!("mount: unknown option {o:?}"),
                    }
                }
                if let Err(e) = c.mount_tmpfs(&dir, flags, a).await {
                    eprintln!("mount: {dir}: {}", strerror(&op_failed(e)?));
                    failed = true;
                }
            }
            Tool::Ifconfig { all, args, .. } => {
                failed |= super::ifconfig::run(&c, all, &args).await?;
            }
            Tool::Halt {
                dump, halt, nosync, ..
            } => {
                let howto = (if dump { RB_DUMP } else { 0 })
                    | (if halt { RB_HALT } else { 0 })
                    | (if nosync { RB_NOSYNC } else { 0 });
                if let Err(e) = c.reboot(howto).await {
                    eprintln!("halt: {}", strerror(&op_failed(e)?));
                    failed = true;
                }
            }
        }
        Ok(u8::from(failed))
    })
}

/// reboot(2) howto bits (sys/reboot.h).
const RB_HALT: i32 = 0x8;
const RB_NOSYNC: i32 = 0x4;
const RB_DUMP: i32 = 0x100;

#[cfg(test)]
mod tests {

    #[test]
    fn sysctl_values_parse_as_write_number_does() {
        assert_eq!(super::strtouq("10"), Some(Ok(10)));
        assert_eq!(super::strtouq("0x10"), Some(Ok(16)));
        assert_eq!(super::strtouq("010"), Some(Ok(8)));
        assert_eq!(super::strtouq(" -1"), Some(Ok(u64::MAX)));
        assert_eq!(super::strtouq("5x"), None);
        assert_eq!(super::strtouq(""), None);
        assert_eq!(super::strtouq("99999999999999999999"), Some(Err(())));
        let enc = |t, v| super::sysctl_encode("n", t, v);
        assert_eq!(enc(2, "-1"), Ok((vec![0xff; 4], "-1".to_owned())));
        assert_eq!(
            enc(2, "0x10"),
            Ok((16u32.to_le_bytes().to_vec(), "16".to_owned()))
        );
        assert_eq!(
            enc(2, "4294967296"),
            Err("4294967296: Result too large".to_owned())
        );
        assert_eq!(enc(2, "abc"), Err("abc: not a number".to_owned()));
        assert_eq!(enc(6, "7"), Ok((vec![1], "1".to_owned())));
    }
    use super::*;

    #[test]
    fn modes_and_times_as_ls_shows_them() {
        assert_eq!(mode_string(0o041777), "drwxrwxrwt");
        assert_eq!(mode_string(0o104755), "-rwsr-xr-x");
        assert_eq!(mode_string(0o100600), "-rw-------");
        assert_eq!(mode_string(0o120777), "lrwxrwxrwx");
        assert_eq!(ls_time(0), "Jan  1 00:00");
        assert_eq!(ls_time(1_764_000_000), "Nov 24 16:00");
    }
}
