//! Typed syscall wrappers on [`Client`]: NetBSD numbers and argument slots are
//! filled in here, results come back as Rust values, and a kernel failure is
//! [`ClientError::Errno`] with the NetBSD errno.

use super::client::{Client, ClientError};
use crate::client::Arg;
use crate::netbsd::{parse_dirents, Dirent, StatBuf};

/// A sysctl node as CTL_QUERY describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlNode {
    /// Its number.
    pub num: i32,
    /// Its name.
    pub name: String,
    /// Type (low 4 bits of the flags: 1 node, 2 int, 3 string, 4 quad, 5 struct, 6 bool).
    pub ctype: u32,
    /// The whole flags word.
    pub flags: u32,
}

/// Mount options of a tmpfs (struct tmpfs_args).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TmpfsArgs {
    /// Node limit (0: derived from the size).
    pub nodes_max: u64,
    /// Byte limit (0: unlimited).
    pub size_max: u64,
    /// Owner of the root directory.
    pub uid: u32,
    /// Group of the root directory.
    pub gid: u32,
    /// Permission bits of the root directory.
    pub mode: u32,
}

impl Default for TmpfsArgs {
    fn default() -> Self {
        TmpfsArgs {
            nodes_max: 0,
            size_max: 0,
            uid: 0,
            gid: 0,
            mode: 0o1777,
        }
    }
}

fn s(p: &str) -> Arg {
    Arg::Str(p.as_bytes().to_vec())
}

impl Client {
    async fn rv(&self, nr: u32, args: Vec<Arg>) -> Result<i64, ClientError> {
        Ok(self.syscall(nr, args).await?.0[0])
    }

    /// getpid: (pid, parent pid).
    pub async fn getpid(&self) -> Result<(i32, i32), ClientError> {
        let (rv, _) = self.syscall(20, vec![]).await?;
        Ok((rv[0] as i32, rv[1] as i32))
    }

    /// getppid.
    pub async fn getppid(&self) -> Result<i32, ClientError> {
        Ok(self.rv(39, vec![]).await? as i32)
    }

    /// getuid: (uid, euid).
    pub async fn getuid(&self) -> Result<(u32, u32), ClientError> {
        let (rv, _) = self.syscall(24, vec![]).await?;
        Ok((rv[0] as u32, rv[1] as u32))
    }

    /// open(path, flags, mode): a descriptor.
    pub async fn open(&self, path: &str, flags: i32, mode: u32) -> Result<i32, ClientError> {
        Ok(self
            .rv(5, vec![s(path), Arg::Int(flags), Arg::Int(mode as i32)])
            .await? as i32)
    }

    /// close.
    pub async fn close(&self, fd: i32) -> Result<(), ClientError> {
        self.rv(6, vec![Arg::Int(fd)]).await.map(drop)
    }

    /// read up to `n` bytes.
    pub async fn read(&self, fd: i32, n: usize) -> Result<Vec<u8>, ClientError> {
        let (rv, mut bufs) = self
            .syscall(3, vec![Arg::Int(fd), Arg::Out(n), Arg::Word(n as u64)])
            .await?;
        let mut b = bufs.pop().unwrap_or_default();
        b.truncate(rv[0].max(0) as usize);
        Ok(b)
    }

    /// write: bytes written.
    pub async fn write(&self, fd: i32, data: &[u8]) -> Result<usize, ClientError> {
        Ok(self
            .rv(
                4,
                vec![
                    Arg::Int(fd),
                    Arg::In(data.to_vec()),
                    Arg::Word(data.len() as u64),
                ],
            )
            .await? as usize)
    }

    /// pread at `off`.
    pub async fn pread(&self, fd: i32, n: usize, off: i64) -> Result<Vec<u8>, ClientError> {
        let (rv, mut bufs) = self
            .syscall(
                173,
                vec![
                    Arg::Int(fd),
                    Arg::Out(n),
                    Arg::Word(n as u64),
                    Arg::Int(0),
                    Arg::Word(off as u64),
                ],
            )
            .await?;
        let mut b = bufs.pop().unwrap_or_default();
        b.truncate(rv[0].max(0) as usize);
        Ok(b)
    }

    /// pwrite at `off`.
    pub async fn pwrite(&self, fd: i32, data: &[u8], off: i64) -> Result<usize, ClientError> {
        Ok(self
            .rv(
                174,
                vec![
                    Arg::Int(fd),
                    Arg::In(data.to_vec()),
                    Arg::Word(data.len() as u64),
                    Arg::Int(0),
                    Arg::Word(off as u64),
                ],
            )
            .await? as usize)
    }

    /// lseek: the new offset.
    pub async fn lseek(&self, fd: i32, off: i64, whence: i32) -> Result<i64, ClientError> {
        self.rv(
            199,
            vec![
                Arg::Int(fd),
                Arg::Int(0),
                Arg::Word(off as u64),
                Arg::Int(whence),
            ],
        )
        .await
    }

    /// mkdir.
    pub async fn mkdir(&self, path: &str, mode: u32) -> Result<(), ClientError> {
        self.rv(136, vec![s(path), Arg::Int(mode as i32)])
            .await
            .map(drop)
    }

    /// rmdir.
    pub async fn rmdir(&self, path: &str) -> Result<(), ClientError> {
        self.rv(137, vec![s(path)]).await.map(drop)
    }

    /// unlink.
    pub async fn unlink(&self, path: &str) -> Result<(), ClientError> {
        self.rv(10, vec![s(path)]).await.map(drop)
    }

    /// rename.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), ClientError> {
        self.rv(128, vec![s(from), s(to)]).await.map(drop)
    }

    /// symlink(target, path).
    pub async fn symlink(&self, target: &str, path: &str) -> Result<(), ClientError> {
        self.rv(57, vec![s(target), s(path)]).await.map(drop)
    }

    /// readlink.
    pub async fn readlink(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let (rv, mut bufs) = self
            .syscall(58, vec![s(path), Arg::Out(1024), Arg::Word(1024)])
            .await?;
        let mut b = bufs.pop().unwrap_or_default();
        b.truncate(rv[0].max(0) as usize);
        Ok(b)
    }

    async fn stat_call(&self, nr: u32, first: Arg) -> Result<StatBuf, ClientError> {
        let (_, bufs) = self
            .syscall(nr, vec![first, Arg::Out(StatBuf::SIZE)])
            .await?;
        bufs.first()
            .and_then(|b| StatBuf::decode(b))
            .ok_or_else(|| ClientError::Transport("short stat".into()))
    }

    /// stat (follows symlinks).
    pub async fn stat(&self, path: &str) -> Result<StatBuf, ClientError> {
        self.stat_call(439, s(path)).await
    }

    /// lstat.
    pub async fn lstat(&self, path: &str) -> Result<StatBuf, ClientError> {
        self.stat_call(441, s(path)).await
    }

    /// fstat.
    pub async fn fstat(&self, fd: i32) -> Result<StatBuf, ClientError> {
        self.stat_call(440, Arg::Int(fd)).await
    }

    /// __getdents30 with a buffer of `n` bytes (an empty result is the end).
    pub async fn getdents(&self, fd: i32, n: usize) -> Result<Vec<Dirent>, ClientError> {
        let (rv, mut bufs) = self
            .syscall(390, vec![Arg::Int(fd), Arg::Out(n), Arg::Word(n as u64)])
            .await?;
        let mut b = bufs.pop().unwrap_or_default();
        b.truncate(rv[0].max(0) as usize);
        Ok(parse_dirents(&b))
    }

    /// Every entry of a directory ("." and ".." included).
    pub async fn read_dir(&self, path: &str) -> Result<Vec<Dirent>, ClientError> {
        let fd = self.open(path, 0x20_0000, 0).await?;
        let mut all = Vec::new();
        loop {
            match self.getdents(fd, 4096).await {
                Ok(d) if d.is_empty() => break,
                Ok(d) => all.extend(d),
                Err(e) => {
                    let _ = self.close(fd).await;
                    return Err(e);
                }
            }
        }
        self.close(fd).await?;
        Ok(all)
    }

    /// chdir.
    pub async fn chdir(&self, path: &str) -> Result<(), ClientError> {
        self.rv(12, vec![s(path)]).await.map(drop)
    }

    /// __getcwd.
    pub async fn getcwd(&self) -> Result<String, ClientError> {
        let (rv, mut bufs) = self
            .syscall(296, vec![Arg::Out(1024), Arg::Word(1024)])
            .await?;
        let mut b = bufs.pop().unwrap_or_default();
        b.truncate((rv[0].max(1) - 1) as usize);
        Ok(String::from_utf8_lossy(&b).into_owned())
    }

    /// pipe: (read end, write end).
    pub async fn pipe(&self) -> Result<(i32, i32), ClientError> {
        let (rv, _) = self.syscall(42, vec![]).await?;
        Ok((rv[0] as i32, rv[1] as i32))
    }

    /// dup2.
    pub async fn dup2(&self, from: i32, to: i32) -> Result<i32, ClientError> {
        Ok(self.rv(90, vec![Arg::Int(from), Arg::Int(to)]).await? as i32)
    }

    /// fcntl with an int argument.
    pub async fn fcntl(&self, fd: i32, cmd: i32, arg: i32) -> Result<i64, ClientError> {
        self.rv(92, vec![Arg::Int(fd), Arg::Int(cmd), Arg::Int(arg)])
            .await
    }

    /// ftruncate.
    pub async fn ftruncate(&self, fd: i32, len: i64) -> Result<(), ClientError> {
        self.rv(201, vec![Arg::Int(fd), Arg::Int(0), Arg::Word(len as u64)])
            .await
            .map(drop)
    }

    /// fsync.
    pub async fn fsync(&self, fd: i32) -> Result<(), ClientError> {
        self.rv(95, vec![Arg::Int(fd)]).await.map(drop)
    }

    /// chmod.
    pub async fn chmod(&self, path: &str, mode: u32) -> Result<(), ClientError> {
        self.rv(15, vec![s(path), Arg::Int(mode as i32)])
            .await
            .map(drop)
    }

    /// chown (u32::MAX leaves an id unchanged).
    pub async fn chown(&self, path: &str, uid: u32, gid: u32) -> Result<(), ClientError> {
        self.rv(
            16,
            vec![s(path), Arg::Int(uid as i32), Arg::Int(gid as i32)],
        )
        .await
        .map(drop)
    }

    /// access.
    pub async fn access(&self, path: &str, mode: i32) -> Result<(), ClientError> {
        self.rv(33, vec![s(path), Arg::Int(mode)]).await.map(drop)
    }

    /// umask: the previous mask.
    pub async fn umask(&self, mask: u32) -> Result<u32, ClientError> {
        Ok(self.rv(60, vec![Arg::Int(mask as i32)]).await? as u32)
    }

    /// Mounts a tmpfs on `dir`.
    pub async fn mount_tmpfs(
        &self,
        dir: &str,
        flags: i32,
        a: TmpfsArgs,
    ) -> Result<(), ClientError> {
        let mut args = vec![0u8; 40];
        args[0..4].copy_from_slice(&1i32.to_le_bytes());
        args[8..16].copy_from_slice(&a.nodes_max.to_le_bytes());
        args[16..24].copy_from_slice(&a.size_max.to_le_bytes());
        args[24..28].copy_from_slice(&a.uid.to_le_bytes());
        args[28..32].copy_from_slice(&a.gid.to_le_bytes());
        args[32..36].copy_from_slice(&a.mode.to_le_bytes());
        self.rv(
            410,
            vec![
                s("tmpfs"),
                s(dir),
                Arg::Int(flags),
                Arg::In(args),
                Arg::Word(40),
            ],
        )
        .await
        .map(drop)
    }

    /// unmount.
    pub async fn unmount(&self, dir: &str, flags: i32) -> Result<(), ClientError> {
        self.rv(22, vec![s(dir), Arg::Int(flags)]).await.map(drop)
    }

    /// reboot(howto): the server answers, then shuts down.
    pub async fn reboot(&self, howto: i32) -> Result<(), ClientError> {
        self.rv(208, vec![Arg::Int(howto), Arg::Null])
            .await
            .map(drop)
    }

    /// clock_gettime (427) or clock_getres (429): the timespec as (seconds, nanoseconds).
    async fn clock_call(&self, sysnum: u32, clock: i32) -> Result<(i64, i64), ClientError> {
        let (_, bufs) = self
            .syscall(sysnum, vec![Arg::Int(clock), Arg::Out(16)])
            .await?;
        let b = bufs.first().map(Vec::as_slice).unwrap_or_default();
        let w = |i: usize| {
            i64::from_le_bytes(
                b.get(i..i + 8)
                    .and_then(|x| x.try_into().ok())
                    .unwrap_or([0; 8]),
            )
        };
        Ok((w(0), w(8)))
    }

    /// clock_gettime: (seconds, nanoseconds).
    pub async fn clock_gettime(&self, clock: i32) -> Result<(i64, i64), ClientError> {
        self.clock_call(427, clock).await
    }

    /// __sysctl: reads `mib` into a buffer of `oldlen` bytes (0: size probe) and
    /// optionally writes `new`. Returns (data read, length the kernel reports).
    pub async fn sysctl(
        &self,
        mib: &[i32],
        oldlen: usize,
        new: Option<&[u8]>,
    ) -> Result<(Vec<u8>, u64), ClientError> {
        let name: Vec<u8> = mib.iter().flat_map(|m| m.to_le_bytes()).collect();
        let old = if oldlen > 0 {
            Arg::Out(oldlen)
        } else {
            Arg::Null
        };
        let (newp, newlen) = match new {
            Some(n) => (Arg::In(n.to_vec()), n.len() as u64),
            None => (Arg::Null, 0),
        };
        let args = vec![
            Arg::In(name),
            Arg::Int(mib.len() as i32),
            old,
            Arg::InOut((oldlen as u64).to_le_bytes().to_vec()),
            newp,
            Arg::Word(newlen),
        ];
        let (_, bufs) = self.syscall(202, args).await?;
        let (data, len) = match bufs.as_slice() {
            [data, len] => (data.clone(), len.clone()),
            [len] => (Vec::new(), len.clone()),
            _ => (Vec::new(), vec![0; 8]),
        };
        let reported = u64::from_le_bytes(
            len.get(..8)
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 8]),
        );
        let mut data = data;
        data.truncate((reported as usize).min(data.len()));
        Ok((data, reported))
    }

    /// The children of a sysctl node (CTL_QUERY), as libc asks for them.
    pub async fn sysctl_query(&self, mib: &[i32]) -> Result<Vec<SysctlNode>, ClientError> {
        let mut q = mib.to_vec();
        q.push(-2);
        let mut template = vec![0u8; 96];
        template[0..4].copy_from_slice(&0x0100_0000u32.to_le_bytes());
        let (_, size) = self.sysctl(&q, 0, Some(&template)).await?;
        let (data, _) = self.sysctl(&q, size as usize, Some(&template)).await?;
        Ok(data
            .chunks_exact(96)
            .map(|r| {
                let flags = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
                let name = r[8..40].split(|&b| b == 0).next().unwrap_or_default();
                SysctlNode {
                    num: i32::from_le_bytes([r[4], r[5], r[6], r[7]]),
                    name: String::from_utf8_lossy(name).into_owned(),
                    ctype: flags & 0xf,
                    flags,
                }
            })
            .collect())
    }

    /// Resolves a dotted sysctl name to its MIB and node, level by level with CTL_QUERY.
    pub async fn sysctl_resolve(&self, name: &str) -> Result<(Vec<i32>, SysctlNode), ClientError> {
        let mut mib = Vec::new();
        let mut node = None;
        for comp in name.split(['.', '/']).filter(|c| !c.is_empty()) {
            let children = self.sysctl_query(&mib).await?;
            let found = children
                .into_iter()
                .find(|c| c.name == comp || comp.parse::<i32>().ok() == Some(c.num))
                .ok_or(ClientError::Errno(crate::netbsd::Errno(2)))?;
            mib.push(found.num);
            node = Some(found);
        }
        node.map(|n| (mib, n))
            .ok_or(ClientError::Errno(crate::netbsd::Errno(22)))
    }

    /// openat(dirfd, path, flags, mode).
    pub async fn openat(
        &self,
        dirfd: i32,
        path: &str,
        flags: i32,
        mode: u32,
    ) -> Result<i32, ClientError> {
        Ok(self
            .rv(
                468,
                vec![
                    Arg::Int(dirfd),
                    s(path),
                    Arg::Int(flags),
                    Arg::Int(mode as i32),
                ],
            )
            .await? as i32)
    }

    /// mkdirat.
    pub async fn mkdirat(&self, dirfd: i32, path: &str, mode: u32) -> Result<(), ClientError> {
        self.rv(461, vec![Arg::Int(dirfd), s(path), Arg::Int(mode as i32)])
            .await
            .map(drop)
    }

    /// unlinkat (flags: AT_REMOVEDIR 0x800).
    pub async fn unlinkat(&self, dirfd: i32, path: &str, flags: i32) -> Result<(), ClientError> {
        self.rv(471, vec![Arg::Int(dirfd), s(path), Arg::Int(flags)])
            .await
            .map(drop)
    }

    /// renameat.
    pub async fn renameat(
        &self,
        fromfd: i32,
        from: &str,
        tofd: i32,
        to: &str,
    ) -> Result<(), ClientError> {
        self.rv(458, vec![Arg::Int(fromfd), s(from), Arg::Int(tofd), s(to)])
            .await
            .map(drop)
    }

    /// link(path, newpath).
    pub async fn link(&self, path: &str, new: &str) -> Result<(), ClientError> {
        self.rv(9, vec![s(path), s(new)]).await.map(drop)
    }

    /// symlinkat(target, dirfd, path).
    pub async fn symlinkat(&self, target: &str, dirfd: i32, path: &str) -> Result<(), ClientError> {
        self.rv(470, vec![s(target), Arg::Int(dirfd), s(path)])
            .await
            .map(drop)
    }

    /// readlinkat.
    pub async fn readlinkat(&self, dirfd: i32, path: &str) -> Result<Vec<u8>, ClientError> {
        let (rv, mut bufs) = self
            .syscall(
                469,
                vec![Arg::Int(dirfd), s(path), Arg::Out(1024), Arg::Word(1024)],
            )
            .await?;
        let mut b = bufs.pop().unwrap_or_default();
        b.truncate(rv[0].max(0) as usize);
        Ok(b)
    }

    /// fstatat (flag: AT_SYMLINK_NOFOLLOW 0x200).
    pub async fn fstatat(&self, dirfd: i32, path: &str, flag: i32) -> Result<StatBuf, ClientError> {
        let (_, bufs) = self
            .syscall(
                466,
                vec![
                    Arg::Int(dirfd),
                    s(path),
                    Arg::Out(StatBuf::SIZE),
                    Arg::Int(flag),
                ],
            )
            .await?;
        bufs.first()
            .and_then(|b| StatBuf::decode(b))
            .ok_or_else(|| ClientError::Transport("short stat".into()))
    }

    /// faccessat (flag: AT_EACCESS 0x100).
    pub async fn faccessat(
        &self,
        dirfd: i32,
        path: &str,
        mode: i32,
        flag: i32,
    ) -> Result<(), ClientError> {
        self.rv(
            462,
            vec![Arg::Int(dirfd), s(path), Arg::Int(mode), Arg::Int(flag)],
        )
        .await
        .map(drop)
    }

    /// fchmod.
    pub async fn fchmod(&self, fd: i32, mode: u32) -> Result<(), ClientError> {
        self.rv(124, vec![Arg::Int(fd), Arg::Int(mode as i32)])
            .await
            .map(drop)
    }

    /// fchmodat.
    pub async fn fchmodat(
        &self,
        dirfd: i32,
        path: &str,
        mode: u32,
        flag: i32,
    ) -> Result<(), ClientError> {
        self.rv(
            463,
            vec![
                Arg::Int(dirfd),
                s(path),
                Arg::Int(mode as i32),
                Arg::Int(flag),
            ],
        )
        .await
        .map(drop)
    }

    /// fchown.
    pub async fn fchown(&self, fd: i32, uid: u32, gid: u32) -> Result<(), ClientError> {
        self.rv(
            123,
            vec![Arg::Int(fd), Arg::Int(uid as i32), Arg::Int(gid as i32)],
        )
        .await
        .map(drop)
    }

    /// fchownat.
    pub async fn fchownat(
        &self,
        dirfd: i32,
        path: &str,
        uid: u32,
        gid: u32,
        flag: i32,
    ) -> Result<(), ClientError> {
        self.rv(
            464,
            vec![
                Arg::Int(dirfd),
                s(path),
                Arg::Int(uid as i32),
                Arg::Int(gid as i32),
                Arg::Int(flag),
            ],
        )
        .await
        .map(drop)
    }

    /// truncate.
    pub async fn truncate(&self, path: &str, len: i64) -> Result<(), ClientError> {
        self.rv(200, vec![s(path), Arg::Int(0), Arg::Word(len as u64)])
            .await
            .map(drop)
    }

    /// fdatasync.
    pub async fn fdatasync(&self, fd: i32) -> Result<(), ClientError> {
        self.rv(241, vec![Arg::Int(fd)]).await.map(drop)
    }

    /// sync.
    pub async fn sync(&self) -> Result<(), ClientError> {
        self.rv(36, vec![]).await.map(drop)
    }

    /// dup.
    pub async fn dup(&self, fd: i32) -> Result<i32, ClientError> {
        Ok(self.rv(41, vec![Arg::Int(fd)]).await? as i32)
    }

    /// dup3.
    pub async fn dup3(&self, from: i32, to: i32, flags: i32) -> Result<i32, ClientError> {
        Ok(self
            .rv(454, vec![Arg::Int(from), Arg::Int(to), Arg::Int(flags)])
            .await? as i32)
    }

    /// pipe2: (read end, write end).
    pub async fn pipe2(&self, flags: i32) -> Result<(i32, i32), ClientError> {
        let (_, bufs) = self
            .syscall(453, vec![Arg::Out(8), Arg::Int(flags)])
            .await?;
        let b = bufs.first().cloned().unwrap_or_default();
        let at = |i: usize| {
            i32::from_le_bytes(
                b.get(i..i + 4)
                    .and_then(|x| x.try_into().ok())
                    .unwrap_or([0; 4]),
            )
        };
        Ok((at(0), at(4)))
    }

    /// readv into buffers of the given sizes: the bytes read into each.
    pub async fn readv(&self, fd: i32, sizes: &[usize]) -> Result<Vec<Vec<u8>>, ClientError> {
        let iov = Arg::IoVec(sizes.iter().map(|n| (vec![0; *n], true)).collect());
        let (rv, bufs) = self
            .syscall(120, vec![Arg::Int(fd), iov, Arg::Int(sizes.len() as i32)])
            .await?;
        let mut left = rv[0].max(0) as usize;
        Ok(bufs
            .into_iter()
            .map(|mut b| {
                let n = b.len().min(left);
                left -= n;
                b.truncate(n);
                b
            })
            .collect())
    }

    /// writev: bytes written.
    pub async fn writev(&self, fd: i32, bufs: &[&[u8]]) -> Result<usize, ClientError> {
        let iov = Arg::IoVec(bufs.iter().map(|b| (b.to_vec(), false)).collect());
        Ok(self
            .rv(121, vec![Arg::Int(fd), iov, Arg::Int(bufs.len() as i32)])
            .await? as usize)
    }

    /// getgid: (gid, egid).
    pub async fn getgid(&self) -> Result<(u32, u32), ClientError> {
        let (rv, _) = self.syscall(47, vec![]).await?;
        Ok((rv[0] as u32, rv[1] as u32))
    }

    /// geteuid.
    pub async fn geteuid(&self) -> Result<u32, ClientError> {
        Ok(self.rv(25, vec![]).await? as u32)
    }

    /// getegid.
    pub async fn getegid(&self) -> Result<u32, ClientError> {
        Ok(self.rv(43, vec![]).await? as u32)
    }

    /// setuid.
    pub async fn setuid(&self, uid: u32) -> Result<(), ClientError> {
        self.rv(23, vec![Arg::Int(uid as i32)]).await.map(drop)
    }

    /// seteuid.
    pub async fn seteuid(&self, uid: u32) -> Result<(), ClientError> {
        self.rv(183, vec![Arg::Int(uid as i32)]).await.map(drop)
    }

    /// setgid.
    pub async fn setgid(&self, gid: u32) -> Result<(), ClientError> {
        self.rv(181, vec![Arg::Int(gid as i32)]).await.map(drop)
    }

    /// setegid.
    pub async fn setegid(&self, gid: u32) -> Result<(), ClientError> {
        self.rv(182, vec![Arg::Int(gid as i32)]).await.map(drop)
    }

    /// setgroups.
    pub async fn setgroups(&self, groups: &[u32]) -> Result<(), ClientError> {
        let b: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
        self.rv(80, vec![Arg::Int(groups.len() as i32), Arg::In(b)])
            .await
            .map(drop)
    }

    /// getgroups.
    pub async fn getgroups(&self) -> Result<Vec<u32>, ClientError> {
        let n = self.rv(79, vec![Arg::Int(0), Arg::Null]).await? as usize;
        if n == 0 {
            return Ok(vec![]);
        }
        let (_, bufs) = self
            .syscall(79, vec![Arg::Int(n as i32), Arg::Out(4 * n)])
            .await?;
        Ok(bufs
            .first()
            .map(|b| {
                b.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// issetugid.
    pub async fn issetugid(&self) -> Result<bool, ClientError> {
        Ok(self.rv(305, vec![]).await? != 0)
    }

    /// fchdir.
    pub async fn fchdir(&self, fd: i32) -> Result<(), ClientError> {
        self.rv(13, vec![Arg::Int(fd)]).await.map(drop)
    }

    /// statvfs1 (old 2256-byte layout, as 2016 clients use): the raw structure.
    pub async fn statvfs1(&self, path: &str, flags: i32) -> Result<Vec<u8>, ClientError> {
        let (_, mut bufs) = self
            .syscall(357, vec![s(path), Arg::Out(2256), Arg::Int(flags)])
            .await?;
        Ok(bufs.pop().unwrap_or_default())
    }

    /// fstatvfs1: the raw structure.
    pub async fn fstatvfs1(&self, fd: i32, flags: i32) -> Result<Vec<u8>, ClientError> {
        let (_, mut bufs) = self
            .syscall(358, vec![Arg::Int(fd), Arg::Out(2256), Arg::Int(flags)])
            .await?;
        Ok(bufs.pop().unwrap_or_default())
    }

    /// getvfsstat: every mount's raw statvfs (old layout).
    pub async fn getvfsstat(&self, flags: i32) -> Result<Vec<Vec<u8>>, ClientError> {
        let n = self
            .rv(356, vec![Arg::Null, Arg::Word(0), Arg::Int(flags)])
            .await? as usize;
        let (rv, mut bufs) = self
            .syscall(
                356,
                vec![
                    Arg::Out(2256 * n),
                    Arg::Word(2256 * n as u64),
                    Arg::Int(flags),
                ],
            )
            .await?;
        let all = bufs.pop().unwrap_or_default();
        Ok(all
            .chunks_exact(2256)
            .take(rv[0].max(0) as usize)
            .map(<[u8]>::to_vec)
            .collect())
    }

    /// utimes with (atime, mtime) in seconds, or None for now.
    pub async fn utimes(&self, path: &str, times: Option<(i64, i64)>) -> Result<(), ClientError> {
        let tv = match times {
            None => Arg::Null,
            Some((a, m)) => {
                let mut b = vec![0u8; 32];
                b[0..8].copy_from_slice(&a.to_le_bytes());
                b[16..24].copy_from_slice(&m.to_le_bytes());
                Arg::In(b)
            }
        };
        self.rv(420, vec![s(path), tv]).await.map(drop)
    }

    /// futimens with (atime, mtime) as (seconds, nanoseconds), or None for now.
    pub async fn futimens(
        &self,
        fd: i32,
        times: Option<[(i64, i64); 2]>,
    ) -> Result<(), ClientError> {
        let ts = match times {
            None => Arg::Null,
            Some(t) => Arg::In(
                t.iter()
                    .flat_map(|(s, n)| [s.to_le_bytes(), n.to_le_bytes()])
                    .flatten()
                    .collect(),
            ),
        };
        self.rv(472, vec![Arg::Int(fd), ts]).await.map(drop)
    }

    /// clock_getres: (seconds, nanoseconds).
    pub async fn clock_getres(&self, clock: i32) -> Result<(i64, i64), ClientError> {
        self.clock_call(429, clock).await
    }

    /// gettimeofday: (seconds, microseconds).
    pub async fn gettimeofday(&self) -> Result<(i64, i32), ClientError> {
        let (_, bufs) = self.syscall(418, vec![Arg::Out(16), Arg::Null]).await?;
        let b = bufs.first().cloned().unwrap_or_default();
        let sec = i64::from_le_bytes(
            b.get(0..8)
                .and_then(|x| x.try_into().ok())
                .unwrap_or([0; 8]),
        );
        let usec = i32::from_le_bytes(
            b.get(8..12)
                .and_then(|x| x.try_into().ok())
                .unwrap_or([0; 4]),
        );
        Ok((sec, usec))
    }

    /// nanosleep (on the server's clock; the simulated kernel's is virtual).
    pub async fn nanosleep(&self, sec: i64, nsec: i64) -> Result<(), ClientError> {
        let mut b = vec![0u8; 16];
        b[0..8].copy_from_slice(&sec.to_le_bytes());
        b[8..16].copy_from_slice(&nsec.to_le_bytes());
        self.rv(430, vec![Arg::In(b), Arg::Null]).await.map(drop)
    }

    /// ioctl with an int-sized in/out argument (FIONREAD, FIONBIO, …).
    pub async fn ioctl_int(&self, fd: i32, com: u64, value: i32) -> Result<i32, ClientError> {
        let (_, bufs) = self
            .syscall(
                54,
                vec![
                    Arg::Int(fd),
                    Arg::Word(com),
                    Arg::InOut(value.to_le_bytes().to_vec()),
                ],
            )
            .await?;
        let b = bufs.first().cloned().unwrap_or_default();
        Ok(i32::from_le_bytes(
            b.get(..4).and_then(|x| x.try_into().ok()).unwrap_or([0; 4]),
        ))
    }
}
