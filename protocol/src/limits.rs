//! Size limits the decoder enforces before it allocates anything.
//!
//! The reference server allocates whatever `len` a peer announces; we refuse a
//! frame whose announced length exceeds the limit for its class and type as
//! soon as its header is complete, without buffering its body.

use crate::codes::{Class, MsgType};
use crate::header::Header;

/// Per-frame size limits (body bytes, header excluded, except `max_frame_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Absolute cap on `len` for any frame, header included.
    pub max_frame_len: u64,
    /// HANDSHAKE requests (GUEST/EXEC program name, FORK cookie, anything else).
    pub max_handshake_body: u64,
    /// SYSCALL requests (the argument block; 64 bytes on LP64 is the most a real syscall uses).
    pub max_syscall_body: u64,
    /// Data-carrying frames: COPYIN/COPYINSTR responses and COPYOUT/COPYOUTSTR requests.
    pub max_data_body: u64,
    /// Every other frame, including unknown classes and types (fixed-size bodies in valid traffic).
    pub max_control_body: u64,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_frame_len: 64 << 20,
            max_handshake_body: 16 << 10,
            max_syscall_body: 4 << 10,
            max_data_body: (64 << 20) - 64,
            max_control_body: 4 << 10,
        }
    }
}

impl FrameLimits {
    /// Limits that accept any length (for tools that must read any capture).
    pub const fn unlimited() -> FrameLimits {
        FrameLimits {
            max_frame_len: u64::MAX,
            max_handshake_body: u64::MAX,
            max_syscall_body: u64::MAX,
            max_data_body: u64::MAX,
            max_control_body: u64::MAX,
        }
    }

    /// The body limit that applies to a frame with this header.
    pub fn body_limit(&self, h: &Header) -> u64 {
        match (Class::from_u16(h.class), MsgType::from_u16(h.ty)) {
            (Some(Class::Req), Some(MsgType::Handshake)) => self.max_handshake_body,
            (Some(Class::Req), Some(MsgType::Syscall)) => self.max_syscall_body,
            (Some(Class::Req), Some(MsgType::Copyout | MsgType::Copyoutstr))
            | (Some(Class::Resp), Some(MsgType::Copyin | MsgType::Copyinstr)) => self.max_data_body,
            _ => self.max_control_body,
        }
    }
}
