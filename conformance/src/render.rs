//! One-line, human-readable descriptions of frames, with syscall and errno names.

use std::fmt::Write;

use rumpsp_protocol::frame::signal_name;
use rumpsp_protocol::netbsd::{syscall, Errno};
use rumpsp_protocol::{Abi, CopyinKind, Handshake, Message, RawFrame};

/// At most this many data bytes are shown in hex.
pub const SHOWN_BYTES: usize = 32;

/// `de ad be ef` style hex of up to [`SHOWN_BYTES`] bytes, with a count of the rest.
pub fn short_hex(data: &[u8]) -> String {
    let mut s = String::new();
    for b in data.iter().take(SHOWN_BYTES) {
        let _ = write!(s, "{b:02x}");
    }
    if data.len() > SHOWN_BYTES {
        let _ = write!(s, "…(+{} bytes)", data.len() - SHOWN_BYTES);
    }
    s
}

/// A byte string shown as text when it is printable, as hex otherwise.
pub fn text_or_hex(data: &[u8]) -> String {
    let printable = |b: &u8| (0x20..0x7f).contains(b);
    let body = data.strip_suffix(&[0]).unwrap_or(data);
    if !body.is_empty() && body.len() <= 64 && body.iter().all(printable) {
        let nul = if body.len() < data.len() { "\\0" } else { "" };
        format!("{:?}{nul}", String::from_utf8_lossy(body))
    } else {
        short_hex(data)
    }
}

/// The syscall's name with its number: `getpid(20)`, or `sys#600`.
pub fn syscall_label(sysnum: u32) -> String {
    match syscall(sysnum) {
        Some(s) => format!("{}({sysnum})", s.name),
        None => format!("sys#{sysnum}"),
    }
}

/// An errno for display: `ENOENT(2)`.
pub fn errno_label(errno: i32) -> String {
    match Errno(errno).name() {
        Some(n) => format!("{n}({errno})"),
        None => format!("errno({errno})"),
    }
}

/// Describes one frame: `REQ/SYSCALL reqno=2 getpid(20) args=[]`.
pub fn describe(frame: &RawFrame, abi: Abi) -> String {
    let h = &frame.header;
    let typed = match rumpsp_protocol::Frame::decode(h, &frame.body, abi) {
        Ok(f) => f,
        Err(e) => {
            return format!(
                "MALFORMED len={} reqno={} class={} type={} u={}: {} body={}",
                h.len,
                h.reqno,
                h.class,
                h.ty,
                h.word,
                e,
                short_hex(&frame.body)
            )
        }
    };
    let kind = match typed.message.msg_type() {
        Some(t) => format!("{}/{}", typed.message.class().name(), t.name()),
        None => typed.message.class().name().to_owned(),
    };
    let detail = match typed.message {
        Message::Handshake(hs) => match hs {
            Handshake::Guest { name } => format!("GUEST name={}", text_or_hex(name)),
            Handshake::Exec { name } => format!("EXEC name={}", text_or_hex(name)),
            Handshake::Auth { body } => format!("AUTH body={}", short_hex(body)),
            Handshake::Fork { cookie, cancel } => format!("FORK cookie={cookie} cancel={cancel}"),
            Handshake::Unknown { kind, body } => format!("kind={kind} body={}", short_hex(body)),
        },
        Message::HandshakeResp(r) => format!("error={}", r.error),
        Message::Syscall(s) => {
            let slots = s.slots(abi);
            let mut args: Vec<String> = (0..slots.slot_count())
                .map(|i| format!("{:#x}", slots.word(i).unwrap_or_default()))
                .collect();
            let rest = s.args.len() % abi.slot_size();
            if rest != 0 {
                args.push(format!("+{rest} stray bytes"));
            }
            format!("{} args=[{}]", syscall_label(s.sysnum), args.join(", "))
        }
        Message::SyscallResp(r) => {
            let status = if r.error == 0 {
                "ok".to_owned()
            } else {
                errno_label(r.error)
            };
            format!("{status} rv=({}, {})", r.retval[0], r.retval[1])
        }
        Message::Copyin(c) => format!("len={} addr={:#x}", c.len, c.addr),
        Message::CopyinResp(c) => {
            let shown = match c.label {
                CopyinKind::Str => "(labelled COPYINSTR) ",
                CopyinKind::Bytes => "",
            };
            format!("{shown}{} bytes {}", c.data.len(), text_or_hex(c.data))
        }
        Message::Copyout(c) => format!(
            "addr={:#x} len={} data={}",
            c.addr,
            c.data.len(),
            short_hex(c.data)
        ),
        Message::Anonmmap(a) => format!("len={}", a.len),
        Message::AnonmmapResp(a) => format!("addr={:#x}", a.addr),
        Message::Prefork(p) if p.ignored.is_empty() => String::new(),
        Message::Prefork(p) => format!("ignored body={}", short_hex(p.ignored)),
        Message::PreforkResp(p) => format!("cookie={}", p.cookie),
        Message::Raise(r) => format!(
            "signo={}{}",
            r.signo,
            signal_name(r.signo)
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
        Message::Error(e) => match e.code.name() {
            Some(n) => format!("code={} ({n})", e.code.to_u32()),
            None => format!("code={}", e.code.to_u32()),
        },
    };
    let mut s = format!("{kind} reqno={}", typed.reqno);
    if !detail.is_empty() {
        s.push(' ');
        s.push_str(&detail);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumpsp_protocol::{Frame, SyscallReq, SyscallResp};

    fn raw(f: Frame<'_>) -> RawFrame {
        let bytes = f.to_vec(Abi::Lp64Le);
        rumpsp_protocol::frame_all(&bytes, Default::default())
            .0
            .remove(0)
    }

    #[test]
    fn names_in_descriptions() {
        let getpid = raw(Frame::new(
            2,
            Message::Syscall(SyscallReq {
                sysnum: 20,
                args: &[],
            }),
        ));
        assert_eq!(
            describe(&getpid, Abi::Lp64Le),
            "REQ/SYSCALL reqno=2 getpid(20) args=[]"
        );
        let enoent = raw(Frame::new(3, Message::SyscallResp(SyscallResp::err(2))));
        assert_eq!(
            describe(&enoent, Abi::Lp64Le),
            "RESP/SYSCALL reqno=3 ENOENT(2) rv=(0, 0)"
        );
        let guest = raw(Frame::new(
            1,
            Message::Handshake(Handshake::Guest { name: b"getpid\0" }),
        ));
        assert_eq!(
            describe(&guest, Abi::Lp64Le),
            "REQ/HANDSHAKE reqno=1 GUEST name=\"getpid\"\\0"
        );
    }

    #[test]
    fn malformed_frames_say_why() {
        let mut bytes = Frame::new(
            2,
            Message::Syscall(SyscallReq {
                sysnum: 20,
                args: &[],
            }),
        )
        .to_vec(Abi::Lp64Le);
        bytes[16] = 3;
        let f = rumpsp_protocol::frame_all(&bytes, Default::default())
            .0
            .remove(0);
        assert!(describe(&f, Abi::Lp64Le).contains("unknown class 3"));
    }
}

/// The UTC calendar date and time of day for seconds since the epoch:
/// (year, month 1–12, day 1–31, seconds into the day). Howard Hinnant's
/// days-to-civil algorithm; valid for every i64 day count we can meet.
pub fn utc_civil(secs: i64) -> (i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem)
}

#[cfg(test)]
mod civil_tests {
    #[test]
    fn known_dates() {
        assert_eq!(super::utc_civil(0), (1970, 1, 1, 0));
        // 2026-11-26T17:06:58Z
        assert_eq!(
            super::utc_civil(1_795_712_818),
            (2026, 11, 26, 17 * 3600 + 6 * 60 + 58)
        );
        // 2000-02-29 (leap day), and a time before the epoch
        assert_eq!(super::utc_civil(951_782_400), (2000, 2, 29, 0));
        assert_eq!(super::utc_civil(-1), (1969, 12, 31, 86_399));
    }
}
