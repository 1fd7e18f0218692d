//! The rump.* style tools: sysctl, ls, cat, put, get, mkdir, rm, stat, mount,
//! halt — against `--server URL` or `RUMP_SERVER`.

use std::io::Write;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use rumpsp_protocol::net::{Client, ClientError, TmpfsArgs};
use rumpsp_protocol::netbsd::StatBuf;

/// Where the tools connect.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// The rump kernel to talk to (default: $RUMP_SERVER; for conformance, replay
    /// and bench: the embedded simulated kernel).
    #[arg(long, global = true)]
    pub server: Option<String>,
}

/// The tools.
#[derive(Subcommand, Debug)]
pub enum Tool {
    /// Read or write sysctl variables, as NetBSD's sysctl(8).
    Sysctl {
        /// List every variable.
        #[arg(short = 'a')]
        all: bool,
        /// Set a variable: name=value.
        #[arg(short = 'w')]
        write: Vec<String>,
        /// Variables (or subtrees) to show.
        names: Vec<String>,
    },
    /// List a directory; -l in ls's long format (the name last).
    Ls {
        /// Long format.
        #[arg(short = 'l')]
        long: bool,
        /// Directory.
        #[arg(default_value = "/")]
        path: String,
    },
    /// Print files.
    Cat {
        /// Files.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Copy a host file into the rump kernel.
    Put {
        /// Host file.
        host: std::path::PathBuf,
        /// Path in the rump kernel.
        path: String,
    },
    /// Copy a file out of the rump kernel.
    Get {
        /// Path in the rump kernel.
        path: String,
        /// Host file.
        host: std::path::PathBuf,
    },
    /// Make directories.
    Mkdir {
        /// Create missing parents, no error if it exists.
        #[arg(short = 'p')]
        parents: bool,
        /// Directories.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Remove files (-r: directories and their contents).
    Rm {
        /// Recursive.
        #[arg(short = 'r')]
        recursive: bool,
        /// Paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Show a file's status.
    Stat {
        /// Paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Mount a tmpfs: mount -t tmpfs tmpfs DIR.
    Mount {
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
    /// Halt the rump kernel, as rump.halt.
    Halt {
        /// Dump core (RB_DUMP).
        #[arg(short = 'd')]
        dump: bool,
        /// Halt, do not exit (RB_HALT).
        #[arg(short = 'h')]
        halt: bool,
        /// Do not sync (RB_NOSYNC).
        #[arg(short = 'n')]
        nosync: bool,
    },
}

fn errno_text(e: &ClientError) -> String {
    e.to_string()
}

async fn client(t: &Target) -> anyhow::Result<Client> {
    let c = match &t.server {
        Some(url) => Client::connect(url, "rumpsp").await,
        None => Client::from_env("rumpsp").await,
    };
    c.context("cannot reach the rump kernel")
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
        4 if data.len() >= 8 => {
            i64::from_le_bytes(data[..8].try_into().unwrap_or([0; 8])).to_string()
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

async fn sysctl_read(c: &Client, mib: &[i32], ctype: u32) -> Result<Vec<u8>, ClientError> {
    let (_, size) = c.sysctl(mib, 0, None).await?;
    let (data, _) = c.sysctl(mib, size.max(1) as usize, None).await?;
    let _ = ctype;
    Ok(data)
}

/// Prints `name = value` for every leaf under `mib`.
async fn sysctl_walk(
    c: &Client,
    mib: Vec<i32>,
    name: String,
    out: &mut Vec<String>,
    errors: &mut u32,
) {
    let mut stack = vec![(mib, name)];
    while let Some((mib, name)) = stack.pop() {
        match c.sysctl_query(&mib).await {
            Ok(children) => {
                for ch in children.into_iter().rev() {
                    let mut m = mib.clone();
                    m.push(ch.num);
                    let n = if name.is_empty() {
                        ch.name.clone()
                    } else {
                        format!("{name}.{}", ch.name)
                    };
                    if ch.ctype == 1 {
                        stack.push((m, n));
                    } else {
                        match sysctl_read(c, &m, ch.ctype).await {
                            Ok(d) => out.push(format!("{n} = {}", show_value(ch.ctype, &d))),
                            Err(ClientError::Errno(_)) => {}
                            Err(e) => {
                                *errors += 1;
                                eprintln!("sysctl: {n}: {e}");
                            }
                        }
                    }
                }
            }
            Err(e) => {
                *errors += 1;
                eprintln!("sysctl: {name}: {}", errno_text(&e));
            }
        }
    }
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

/// Runs a tool; returns the exit code.
pub fn run(target: Target, tool: Tool) -> anyhow::Result<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let c = client(&target).await?;
        let mut failed = false;
        match tool {
            Tool::Sysctl { all, write, names } => {
                for w in write {
                    let Some((name, value)) = w.split_once('=') else {
                        bail!("sysctl: -w wants name=value, got {w:?}")
                    };
                    match c.sysctl_resolve(name).await {
                        Ok((mib, node)) => {
                            let new = match node.ctype {
                                2 => value
                                    .trim()
                                    .parse::<i32>()
                                    .context("not an integer")?
                                    .to_le_bytes()
                                    .to_vec(),
                                4 => value
                                    .trim()
                                    .parse::<i64>()
                                    .context("not an integer")?
                                    .to_le_bytes()
                                    .to_vec(),
                                6 => vec![u8::from(value.trim() != "0")],
                                _ => {
                                    let mut v = value.as_bytes().to_vec();
                                    v.push(0);
                                    v
                                }
                            };
                            let old = sysctl_read(&c, &mib, node.ctype).await.unwrap_or_default();
                            match c.sysctl(&mib, 0, Some(&new)).await {
                                Ok(_) => {
                                    println!("{name}: {} -> {value}", show_value(node.ctype, &old))
                                }
                                Err(e) => {
                                    eprintln!("sysctl: {name}: {e}");
                                    failed = true;
                                }
                            }
                        }
                        Err(e) => {
                            eprintln!("sysctl: {name}: {e}");
                            failed = true;
                        }
                    }
                }
                let mut lines = Vec::new();
                let mut errors = 0;
                if all {
                    sysctl_walk(&c, vec![], String::new(), &mut lines, &mut errors).await;
                }
                for n in names {
                    match c.sysctl_resolve(&n).await {
                        Ok((mib, node)) if node.ctype == 1 => {
                            sysctl_walk(&c, mib, n, &mut lines, &mut errors).await
                        }
                        Ok((mib, node)) => match sysctl_read(&c, &mib, node.ctype).await {
                            Ok(d) => lines.push(format!("{n} = {}", show_value(node.ctype, &d))),
                            Err(e) => {
                                eprintln!("sysctl: {n}: {e}");
                                failed = true;
                            }
                        },
                        Err(e) => {
                            eprintln!("sysctl: third level name '{n}' in '{n}' is invalid: {e}");
                            failed = true;
                        }
                    }
                }
                failed |= errors > 0;
                let mut out = std::io::stdout().lock();
                for l in lines {
                    writeln!(out, "{l}")?;
                }
            }
            Tool::Ls { long, path } => match c.read_dir(&path).await {
                Ok(mut entries) => {
                    entries.sort_by(|a, b| a.name.cmp(&b.name));
                    for d in entries {
                        let name = String::from_utf8_lossy(&d.name).into_owned();
                        if !long {
                            println!("{name}");
                            continue;
                        }
                        let full = format!("{}/{}", path.trim_end_matches('/'), name);
                        match c.lstat(&full).await {
                            Ok(st) => println!(
                                "{} {:>3} {:<5} {:<5} {:>9} {} {name}",
                                mode_string(st.mode),
                                st.nlink,
                                st.uid,
                                st.gid,
                                st.size,
                                ls_time(st.mtime.sec)
                            ),
                            Err(e) => {
                                eprintln!("ls: {full}: {e}");
                                failed = true;
                            }
                        }
                    }
                }
                Err(e) => {
                    eprintln!("ls: {path}: {e}");
                    failed = true;
                }
            },
            Tool::Cat { paths } => {
                let mut out = std::io::stdout().lock();
                for p in paths {
                    let fd = match c.open(&p, 0, 0).await {
                        Ok(fd) => fd,
                        Err(e) => {
                            eprintln!("cat: {p}: {e}");
                            failed = true;
                            continue;
                        }
                    };
                    loop {
                        let chunk = c
                            .read(fd, 1 << 20)
                            .await
                            .with_context(|| format!("cat: {p}"))?;
                        if chunk.is_empty() {
                            break;
                        }
                        out.write_all(&chunk)?;
                    }
                    c.close(fd).await?;
                }
            }
            Tool::Put { host, path } => {
                let data = std::fs::read(&host)
                    .with_context(|| format!("put: reading {}", host.display()))?;
                let fd = c
                    .open(&path, 0x1 | 0x200 | 0x400, 0o644)
                    .await
                    .with_context(|| format!("put: {path}"))?;
                for chunk in data.chunks(1 << 20) {
                    let mut done = 0;
                    while done < chunk.len() {
                        done += c
                            .write(fd, &chunk[done..])
                            .await
                            .with_context(|| format!("put: {path}"))?;
                    }
                }
                c.close(fd).await?;
            }
            Tool::Get { path, host } => {
                let fd = c
                    .open(&path, 0, 0)
                    .await
                    .with_context(|| format!("get: {path}"))?;
                let mut f = std::fs::File::create(&host)
                    .with_context(|| format!("get: creating {}", host.display()))?;
                loop {
                    let chunk = c
                        .read(fd, 1 << 20)
                        .await
                        .with_context(|| format!("get: {path}"))?;
                    if chunk.is_empty() {
                        break;
                    }
                    f.write_all(&chunk)?;
                }
                c.close(fd).await?;
            }
            Tool::Mkdir { parents, paths } => {
                for p in paths {
                    let r = if parents {
                        let mut cur = String::new();
                        let mut res = Ok(());
                        for comp in p.split('/').filter(|c| !c.is_empty()) {
                            cur = if p.starts_with('/') || !cur.is_empty() {
                                format!("{cur}/{comp}")
                            } else {
                                comp.to_owned()
                            };
                            match c.mkdir(&cur, 0o777).await {
                                Ok(()) => {}
                                Err(ClientError::Errno(e)) if e.0 == 17 => {}
                                Err(e) => {
                                    res = Err(e);
                                    break;
                                }
                            }
                        }
                        res
                    } else {
                        c.mkdir(&p, 0o777).await
                    };
                    if let Err(e) = r {
                        eprintln!("mkdir: {p}: {e}");
                        failed = true;
                    }
                }
            }
            Tool::Rm { recursive, paths } => {
                for p in paths {
                    let r = if recursive {
                        rm_r(&c, &p).await
                    } else {
                        c.unlink(&p).await
                    };
                    if let Err(e) = r {
                        eprintln!("rm: {p}: {e}");
                        failed = true;
                    }
                }
            }
            Tool::Stat { paths } => {
                for p in paths {
                    match c.stat(&p).await {
                        Ok(st) => print_stat(&p, &st),
                        Err(e) => {
                            eprintln!("stat: {p}: {e}");
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
            } => {
                if fstype != "tmpfs" || source != "tmpfs" {
                    bail!("mount: only `-t tmpfs tmpfs DIR` is supported");
                }
                let mut a = TmpfsArgs::default();
                let mut flags = 0;
                for o in options.iter().flat_map(|o| o.split(',')) {
                    match o.split_once('=') {
                        Some(("size", v)) => a.size_max = v.parse().context("size")?,
                        Some(("nodes", v)) => a.nodes_max = v.parse().context("nodes")?,
                        Some(("mode", v)) => a.mode = u32::from_str_radix(v, 8).context("mode")?,
                        Some(("uid", v)) => a.uid = v.parse().context("uid")?,
                        Some(("gid", v)) => a.gid = v.parse().context("gid")?,
                        None if o == "ro" => flags |= 1,
                        _ => bail!("mount: unknown option {o:?}"),
                    }
                }
                if let Err(e) = c.mount_tmpfs(&dir, flags, a).await {
                    eprintln!("mount: {dir}: {e}");
                    failed = true;
                }
            }
            Tool::Halt { dump, halt, nosync } => {
                let howto = (if dump { 0x100 } else { 0 })
                    | (if halt { 0x8 } else { 0 })
                    | (if nosync { 0x4 } else { 0 });
                c.reboot(howto).await.context("halt")?;
            }
        }
        Ok(u8::from(failed))
    })
}

#[cfg(test)]
mod tests {
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
