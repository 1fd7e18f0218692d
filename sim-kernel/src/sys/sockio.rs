//! Data on sockets (sys/kern/uipc_syscalls.c, sys/kern/sys_socket.c):
//! sendto, recvfrom, sendmsg, recvmsg, and what read, write, readv, writev
//! and ioctl do on a socket (`soo_read`, `soo_write`, `soo_ioctl`).

use crate::consts::*;
use crate::net;
use crate::proc::{FileId, FileKind};
use crate::{err, Ctx, SimKernel, SysResult};

/// FIONREAD: `_IOR('f', 127, int)`.
const FIONREAD: u32 = 0x4004_667f;
/// FIONWRITE: `_IOR('f', 121, int)`.
const FIONWRITE: u32 = 0x4004_6679;
/// FIONSPACE: `_IOR('f', 120, int)`.
const FIONSPACE: u32 = 0x4004_6678;
const IOC_OUT: u32 = 0x4000_0000;
const IOC_IN: u32 = 0x8000_0000;

/// `soo_ioctl` behind `sys_ioctl`'s argument handling: FIONREAD (bytes
/// in the receive buffer), FIONWRITE, FIONSPACE; group 'i' goes to the
/// interface ioctls, anything else to the protocol (PRU_CONTROL).
pub(crate) fn ioctl(
    k: &mut SimKernel,
    c: &mut Ctx<'_, '_>,
    id: FileId,
    com: u32,
    data: u64,
) -> SysResult {
    let Some(FileKind::Socket(so)) = k.t.files.get(&id).map(|f| f.kind) else {
        return err(EBADF);
    };
    let size = ((com >> 16) & 0x1fff) as u64;
    let mut buf = if com & IOC_IN != 0 && size > 0 {
        c.copyin(data, size)?
    } else {
        vec![0; size as usize]
    };
    let s = k.sock(so)?;
    let int = match com {
        FIONREAD => Some(s.rcv.cc as i32),
        FIONWRITE => Some(s.snd.cc as i32),
        FIONSPACE => Some(s.snd.space().max(0) as i32),
        _ => None,
    };
    match int {
        Some(v) => buf = v.to_le_bytes().to_vec(),
        None if (com >> 8) & 0xff == u32::from(b'i') => {
            net::ifioctl::ioctl(k, c, so, com, &mut buf)?;
        }
        None => net::control(k, so, com, &mut buf)?,
    }
    if com & IOC_OUT != 0 && size > 0 {
        c.copyout(data, buf)?;
    }
    Ok((0, 0))
}
