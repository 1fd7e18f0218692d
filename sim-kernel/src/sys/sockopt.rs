//! setsockopt (105) and getsockopt (118) as `sys_setsockopt`/`sosetopt`
//! and `sys_getsockopt`/`sogetopt` (sys/kern/uipc_syscalls.c,
//! uipc_socket.c): SOL_SOCKET options here, other levels to the protocol.

use crate::consts::*;
use crate::net::errno::*;
use crate::net::sosend::getint;
use crate::net::*;
use crate::sys::socket::{getsock, need_net};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// Ticks per second and microseconds per tick (hz 100).
const HZ: i64 = 100;
const TICK: i64 = 10_000;

/// The boolean options (`so_options` bits).
const BOOLS: &[i32] = &[
    SO_DEBUG,
    SO_KEEPALIVE,
    SO_DONTROUTE,
    SO_USELOOPBACK,
    SO_BROADCAST,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SO_OOBINLINE,
    SO_TIMESTAMP,
    SO_NOSIGPIPE,
];

/// `sosetopt1`: a SOL_SOCKET option.
fn sosetopt(k: &mut SimKernel, so: SockId, name: i32, v: &[u8]) -> Result<(), Stop> {
    match name {
        SO_LINGER => {
            if v.len() < 8 {
                return err(EINVAL);
            }
            let onoff = i32::from_le_bytes([v[0], v[1], v[2], v[3]]);
            let linger = i32::from_le_bytes([v[4], v[5], v[6], v[7]]);
            if !(0..=i32::from(u16::MAX)).contains(&linger)
                || i64::from(linger) > i64::from(i32::MAX) / HZ
            {
                return err(EDOM);
            }
            let s = k.sock_mut(so)?;
            s.linger = linger;
            if onoff != 0 {
                s.options |= SO_LINGER;
            } else {
                s.options &= !SO_LINGER;
            }
            Ok(())
        }
        n if BOOLS.contains(&n) => {
            let on = getint(v)? != 0;
            let s = k.sock_mut(so)?;
            if on {
                s.options |= n;
            } else {
                s.options &= !n;
            }
            Ok(())
        }
        SO_SNDBUF | SO_RCVBUF | SO_SNDLOWAT | SO_RCVLOWAT => {
            let val = getint(v)?;
            if val < 1 {
                return err(EINVAL);
            }
            let s = k.sock_mut(so)?;
            match name {
                SO_SNDBUF if !s.snd.reserve(val as u64) => err(ENOBUFS),
                SO_RCVBUF if !s.rcv.reserve(val as u64) => err(ENOBUFS),
                SO_SNDLOWAT => {
                    s.snd.lowat = i64::from(val).min(s.snd.hiwat);
                    Ok(())
                }
                SO_RCVLOWAT => {
                    s.rcv.lowat = i64::from(val).min(s.rcv.hiwat);
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        SO_SNDTIMEO | SO_RCVTIMEO => {
            if v.len() < 16 {
                return err(EINVAL);
            }
            let sec = i64::from_le_bytes(v[0..8].try_into().unwrap_or([0; 8]));
            let usec = i64::from(i32::from_le_bytes([v[8], v[9], v[10], v[11]]));
            if sec > (i64::from(i32::MAX) - usec / TICK) / HZ {
                return err(EDOM);
            }
            let mut ticks = sec * HZ + usec / TICK;
            if ticks == 0 && usec != 0 {
                ticks = 1;
            }
            let s = k.sock_mut(so)?;
            if name == SO_SNDTIMEO {
                s.snd.timeo = ticks;
            } else {
                s.rcv.timeo = ticks;
            }
            Ok(())
        }
        _ => err(ENOPROTOOPT),
    }
}

/// `setsockopt(s, level, name, val, valsize)`.
pub(crate) fn setsockopt(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    need_net(k)?;
    let (fd, level, name, val, len) = (
        c.int(0),
        c.int(1),
        c.int(2),
        c.word(3),
        c.word(4) & 0xffff_ffff,
    );
    if len > 0 && val == 0 {
        return err(EINVAL);
    }
    if len > crate::net::sockbuf::MCLBYTES as u64 {
        return err(EINVAL);
    }
    let (id, so) = getsock(k, c.pid, fd)?;
    let v = if len > 0 {
        c.copyin(val, len)?
    } else {
        Vec::new()
    };
    let mut error = if level == SOL_SOCKET {
        sosetopt(k, so, name, &v).err()
    } else {
        Some(Stop::Errno(ENOPROTOOPT))
    };
    if matches!(error, None | Some(Stop::Errno(ENOPROTOOPT))) {
        // The protocol gets a shot (pr_ctloutput).
        match ctloutput(k, so, CtlOp::Set(v), level, name) {
            Ok(_) => error = None,
            Err(Stop::Errno(ENOPROTOOPT)) => {}
            Err(e) => error = Some(e),
        }
    }
    let nosig = k.sock(so)?.options & SO_NOSIGPIPE != 0;
    if let Some(f) = k.t.files.get_mut(&id) {
        if nosig {
            f.flags |= O_NOSIGPIPE;
        } else {
            f.flags &= !O_NOSIGPIPE;
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok((0, 0)),
    }
}

fn int(v: i64) -> Vec<u8> {
    (v as i32).to_le_bytes().to_vec()
}

/// `sogetopt1`: a SOL_SOCKET option's value.
fn sogetopt(k: &mut SimKernel, so: SockId, name: i32) -> Result<Vec<u8>, Stop> {
    let s = k.sock_mut(so)?;
    Ok(match name {
        SO_LINGER => {
            let mut b = int(i64::from(s.options & SO_LINGER != 0));
            b.extend(int(i64::from(s.linger)));
            b
        }
        n if BOOLS.contains(&n) || n == SO_ACCEPTCONN => int(i64::from(s.options & n != 0)),
        SO_TYPE => int(i64::from(s.stype)),
        SO_ERROR => int(i64::from(std::mem::take(&mut s.error))),
        SO_SNDBUF => int(s.snd.hiwat),
        SO_RCVBUF => int(s.rcv.hiwat),
        SO_SNDLOWAT => int(s.snd.lowat),
        SO_RCVLOWAT => int(s.rcv.lowat),
        SO_OVERFLOWED => int(i64::from(s.rcv.overflowed)),
        SO_SNDTIMEO | SO_RCVTIMEO => {
            let t = if name == SO_SNDTIMEO {
                s.snd.timeo
            } else {
                s.rcv.timeo
            };
            let mut b = (t / HZ).to_le_bytes().to_vec();
            b.extend(int((t % HZ) * TICK));
            // The 4 bytes after tv_usec are padding sogetopt1 never writes:
            // the kernel stack's old contents. A rump kernel on the recorded
            // amd64 Linux host leaves there the upper half of a host stack
            // address (0x00007ff5), as the net_local capture shows.
            b.extend([0xf5, 0x7f, 0, 0]);
            b
        }
        _ => return err(ENOPROTOOPT),
    })
}

/// `getsockopt(s, level, name, val, avalsize)`: the size is read first,
/// then the descriptor; at most that much of the value goes out, and the
/// size written back (nothing at all for a size of 0).
pub(crate) fn getsockopt(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    need_net(k)?;
    let (fd, level, name, val, avalsize) = (c.int(0), c.int(1), c.int(2), c.word(3), c.word(4));
    let valsize = if avalsize != 0 {
        let b = c.copyin(avalsize, 4)?;
        i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u32
    } else {
        0
    };
    let (id, so) = getsock(k, c.pid, fd)?;
    let nosig =
        k.t.files
            .get(&id)
            .is_some_and(|f| f.flags & O_NOSIGPIPE != 0);
    let s = k.sock_mut(so)?;
    if nosig {
        s.options |= SO_NOSIGPIPE;
    } else {
        s.options &= !SO_NOSIGPIPE;
    }
    let v = if level == SOL_SOCKET {
        sogetopt(k, so, name)?
    } else {
        ctloutput(k, so, CtlOp::Get, level, name)?
    };
    if valsize > 0 {
        let n = (valsize as usize).min(v.len());
        c.copyout(val, v[..n].to_vec())?;
        c.copyout(avalsize, (n as i32).to_le_bytes().to_vec())?;
    }
    Ok((0, 0))
}
