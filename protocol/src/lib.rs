//! # rumpsp-protocol
//!
//! NetBSD's rump_sp ("sysproxy") protocol, version 0.4, byte-compatible with
//! `librumpuser`/`librumpclient`: the wire format, the sans-IO protocol
//! state machines of both sides, and tokio adapters on top of them.
//!
//! The wire layer (no I/O, no clocks, no randomness):
//! * [`header`]: the 24-byte frame header.
//! * [`frame`]: one [`Message`] enum for every frame, one module per frame kind.
//! * [`decoder`]: incremental framing with size limits checked before allocation.
//! * [`banner`]: the `RUMPSP-0.4-…` greeting line.
//! * [`url`]: `tcp://`, `unix://` and `tcp6://` server URLs with the reference's rules.
//! * [`args`]: syscall argument slots, PAD slots included.
//! * [`abi`]: the data model (LP64 little-endian) every layout depends on.
//! * [`netbsd`]: syscall numbers and names, errno, and the struct layouts
//!   (stat, statvfs, dirent, timespec).
//! * [`auth`]: the optional AUTH handshake extension (HMAC-SHA256).
//!
//! The sans-IO sessions (bytes in, bytes out, driven by method calls; the
//! server draws prefork cookies from a source its caller picks: the OS in
//! `serve`, a seeded stream in simulation):
//! * [`client`]: `ClientSession`, a client's calls and memory requests.
//! * [`server`]: `ServerCore`, the server side, over any [`kernel::Kernel`].
//!
//! The I/O adapters (tokio, sockets, the host clock): [`net`], the production
//! `Server` and `Client`. Splitting these into crates of their own is issue 16.
//!
//! ```
//! use rumpsp_protocol::{Abi, Frame, FrameDecoder, Message, SyscallReq};
//!
//! let getpid = Frame::new(2, Message::Syscall(SyscallReq { sysnum: 20, args: &[] }));
//! let bytes = getpid.to_vec(Abi::Lp64Le);
//! let mut dec = FrameDecoder::default();
//! dec.feed(&bytes[..10]);
//! assert!(dec.next_frame().unwrap().is_none()); // need more
//! dec.feed(&bytes[10..]);
//! let raw = dec.next_frame().unwrap().unwrap();
//! assert_eq!(raw.frame(Abi::Lp64Le).unwrap(), getpid);
//! ```

pub mod abi;
pub mod args;
pub mod auth;
pub mod banner;
pub mod client;
pub mod codes;
pub mod decoder;
pub mod error;
pub mod frame;
pub mod header;
pub mod kernel;
pub mod limits;
pub mod net;
pub mod netbsd;
pub mod server;
pub mod url;

pub use abi::Abi;
pub use args::{ArgsBuilder, SyscallArgs};
pub use banner::{Banner, ReceivedBanner};
pub use codes::{Class, ErrorCode, HandshakeKind, MsgType};
pub use decoder::{frame_all, split_frame, FrameDecoder, RawFrame, Split};
pub use error::{DecodeError, FrameError, MessageError};
pub use frame::{
    AnonmmapReq, AnonmmapResp, CopyinKind, CopyinReq, CopyinResp, CopyoutKind, CopyoutReq,
    ErrorFrame, Frame, Handshake, HandshakeResp, Message, PreforkCookie, PreforkReq, PreforkResp,
    Raise, SyscallReq, SyscallResp,
};
pub use header::{Header, HEADER_LEN};
pub use limits::FrameLimits;
pub use url::{parse_url, ServerAddr};
