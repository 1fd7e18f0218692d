//! `ifioctl` (sys/net/if.c): the interface ioctls (group 'i') a socket
//! passes on. This kernel has no interfaces yet: SIOCGIFCONF returns an
//! empty list, SIOCIFGCLONERS no cloners, and every command naming an
//! interface ENXIO (`ifunit` finds none); the interface helper replaces
//! this body.

use crate::net::SockId;
use crate::{Ctx, SimKernel, Stop};

/// SIOCGIFCONF: `_IOWR('i', 38, struct ifconf)`.
const SIOCGIFCONF: u32 = 0xc010_6926;
/// SIOCIFGCLONERS: `_IOWR('i', 120, struct if_clonereq)`.
const SIOCIFGCLONERS: u32 = 0xc010_6978;

/// An interface ioctl `cmd` on socket `so`; `data` is the argument buffer
/// (copied in for IOC_IN commands, copied out for IOC_OUT ones by the caller).
pub(crate) fn ioctl(
    _k: &mut SimKernel,
    _c: &mut Ctx<'_, '_>,
    _so: SockId,
    cmd: u32,
    data: &mut [u8],
) -> Result<(), Stop> {
    match cmd {
        SIOCGIFCONF => {
            // ifc_len (the first int) becomes 0: nothing was written.
            if data.len() >= 4 {
                data[..4].copy_from_slice(&0i32.to_le_bytes());
            }
            Ok(())
        }
        SIOCIFGCLONERS => {
            // ifcr_total (the first int) is 0.
            if data.len() >= 4 {
                data[..4].copy_from_slice(&0i32.to_le_bytes());
            }
            Ok(())
        }
        _ => Err(Stop::Errno(crate::consts::ENXIO)),
    }
}
