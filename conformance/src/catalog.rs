//! The robustness catalogue: malformed and hostile inputs, each with a case id
//! (`handshake/3`, `frame/1`, …), a description and the requirement it checks.
//!
//! Every case is one of the recordings in `traces/robustness/`: the real
//! NetBSD server fed that input. A case sends the same client bytes to the
//! server under test and compares what comes back on the first connection
//! (every connection for conn/1) with what the reference answered: the banner,
//! every frame with its errno or ERROR code and its return values, and
//! whether the server closed ([`signature`]); then it checks that a new
//! client is still served. Where the reference crashed or leaked, the
//! requirement is ours and stated as concrete answers ([`Expect::Survive`]).
//! `--strict` requires exactly our answer where the case names one.

use std::time::{Duration, Instant};

use rumpsp_protocol::{Abi, FrameDecoder, FrameLimits, Handshake, Message, SyscallReq};

use crate::capture::Capture;
use crate::raw::replay_raw;
use crate::wire::Wire;

/// What a case expects on its first connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// What the reference answered (its recording).
    Reference,
    /// Where the reference crashed, hung or leaked: one of these clean answers
    /// (signatures), and the server must survive.
    Survive(&'static [&'static str]),
    /// Either of the reference's timing-dependent outcomes.
    Either(&'static str, &'static str),
    /// Every connection as the reference answered it, or refused at once
    /// (closed without a banner, or with the banner and nothing else).
    EachConnection,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Stable id: `area/n`.
    pub id: &'static str,
    /// The recording (`traces/robustness/<name>.jsonl`).
    pub name: &'static str,
    /// What is sent.
    pub title: &'static str,
    /// The requirement checked.
    pub requirement: &'static str,
    /// Expected outcome (default mode).
    pub expect: Expect,
    /// With `--strict`, when it differs: the exact signature required.
    pub strict: Option<&'static str>,
}

const fn case(
    id: &'static str,
    name: &'static str,
    title: &'static str,
    requirement: &'static str,
    expect: Expect,
    strict: Option<&'static str>,
) -> Case {
    Case {
        id,
        name,
        title,
        requirement,
        expect,
        strict,
    }
}

/// The catalogue, in id order.
pub const CASES: &[Case] = &[
    case("handshake/1", "first_syscall", "a SYSCALL before any handshake", "spec §7.5: ERROR AUTH, then the connection is shut down", Expect::Reference, None),
    case("handshake/2", "hs_auth_first", "an AUTH handshake first", "ERROR AUTH and shutdown: AUTH is reserved", Expect::Reference, None),
    case("handshake/3", "hs_exec_first", "an EXEC handshake first", "ERROR AUTH and shutdown: EXEC needs a process", Expect::Reference, None),
    case("handshake/4", "hs_kind7", "a handshake of unknown kind 7", "ERROR AUTH and shutdown", Expect::Reference, None),
    case("handshake/5", "guest_empty_body", "a GUEST handshake with an empty body (crashed the reference)", "no crash: the server answers (or closes) and keeps serving", Expect::Survive(&["RESP/HANDSHAKE 0", "ERROR 7, closed", "closed"]), Some("RESP/HANDSHAKE 0")),
    case("handshake/6", "guest_5000_name", "a GUEST handshake with a 5000-byte name", "accepted; the name is cut to 16 characters", Expect::Reference, None),
    case("handshake/7", "guest_no_nul", "a GUEST name without a NUL", "accepted (the reference wrote a NUL past the body)", Expect::Reference, None),
    case("handshake/8", "second_guest", "a second GUEST after the handshake", "ERROR MALFORMED_REQUEST and shutdown", Expect::Reference, None),
    case("handshake/9", "prefork_first", "a PREFORK before any handshake", "ERROR AUTH and shutdown", Expect::Reference, None),
    case("frame/1", "len0", "a header with len 0", "len < 24: the connection is closed, no ERROR frame", Expect::Reference, None),
    case("frame/2", "len23", "a header with len 23", "len < 24: closed without an ERROR frame", Expect::Reference, None),
    case("frame/3", "len_2pow40", "a header announcing 2^40 bytes", "no allocation of the announced size: closed", Expect::Reference, None),
    case("frame/4", "partial_header_close", "half a header, then the client closes", "the partial frame is dropped; the server keeps serving", Expect::Reference, None),
    case("frame/5", "half_body_close", "half a body, then the client closes", "the partial frame is dropped; the server keeps serving", Expect::Reference, None),
    case("frame/6", "req_type42", "a request of unknown type 42", "ERROR MALFORMED_REQUEST; the connection stays usable", Expect::Reference, None),
    case("frame/7", "class3", "a frame of unknown class 3", "ERROR MALFORMED_REQUEST; the connection stays usable", Expect::Reference, None),
    case("frame/8", "class_error_from_client", "an ERROR frame from the client", "ERROR MALFORMED_REQUEST; the connection stays usable", Expect::Reference, None),
    case("frame/9", "resp_unmatched", "a RESP matching no request", "dropped silently; the connection stays usable", Expect::Reference, None),
    case("fork/1", "fork_body19", "a FORK handshake with a 19-byte body", "ERROR MALFORMED_REQUEST and shutdown: the body must be 20 bytes", Expect::Reference, None),
    case("fork/2", "fork_body21", "a FORK handshake with a 21-byte body", "ERROR MALFORMED_REQUEST and shutdown", Expect::Reference, None),
    case("fork/3", "fork_unknown_cookie", "a FORK handshake with an unknown cookie", "ERROR INVALID_PREFORK and shutdown", Expect::Reference, None),
    case("fork/4", "fork_cancel", "a FORK handshake with cancel = 1", "closed without a reply; the cookie is consumed", Expect::Reference, None),
    case("fork/5", "fork_cookie_reuse", "a FORK cookie used twice", "the second use gets ERROR INVALID_PREFORK and shutdown", Expect::Reference, None),
    case("exec/1", "exec_twice", "two EXEC handshakes back to back", "the second: ERROR INEXEC and shutdown, or both answered (timing dependent in the reference)", Expect::Either("RESP/HANDSHAKE 0, ERROR 5, closed", "RESP/HANDSHAKE 0, RESP/HANDSHAKE 0, RESP/HANDSHAKE 0"), None),
    case("exec/2", "exec_then_exec_later", "EXEC, then EXEC again later", "both answered", Expect::Reference, None),
    case("syscall/1", "sysnum600", "syscall number 600", "RESP/SYSCALL ENOSYS", Expect::Reference, None),
    case("syscall/2", "sysnum_ffffffff", "syscall number 0xffffffff (crashed the reference)", "no crash; the server keeps serving", Expect::Survive(&["RESP/HANDSHAKE 0, RESP/SYSCALL 78 rv=0,0", "RESP/HANDSHAKE 0, ERROR 7, closed", "RESP/HANDSHAKE 0, closed"]), Some("RESP/HANDSHAKE 0, RESP/SYSCALL 78 rv=0,0")),
    case("syscall/3", "sysnum_0x80000000", "syscall number 0x80000000 (crashed the reference)", "no crash; the server keeps serving", Expect::Survive(&["RESP/HANDSHAKE 0, RESP/SYSCALL 78 rv=0,0", "RESP/HANDSHAKE 0, ERROR 7, closed", "RESP/HANDSHAKE 0, closed"]), Some("RESP/HANDSHAKE 0, RESP/SYSCALL 78 rv=0,0")),
    case("syscall/4", "open_empty_body", "open with an empty argument block (crashed the reference)", "no crash; the server keeps serving", Expect::Survive(&["RESP/HANDSHAKE 0, RESP/SYSCALL 14 rv=0,0", "RESP/HANDSHAKE 0, ERROR 7", "RESP/HANDSHAKE 0, ERROR 7, closed"]), Some("RESP/HANDSHAKE 0, RESP/SYSCALL 14 rv=0,0")),
    case("syscall/5", "open_short_body", "open with an 8-byte argument block", "the missing slots do not crash the server", Expect::Reference, None),
    case("syscall/6", "syscall_trailing_body", "getpid with 64 extra bytes", "extra bytes are ignored", Expect::Reference, None),
    case("syscall/7", "prefork_with_body", "a PREFORK with a body", "the body is ignored; a cookie comes back", Expect::Reference, None),
    case("copyin/1", "write_short_copyin", "a COPYIN answered with 10 of 100 bytes", "no over-read of server memory", Expect::Survive(&["RESP/HANDSHAKE 0, REQ/COPYINSTR 1024, RESP/SYSCALL 0 rv=3,0, REQ/COPYIN 100, RESP/SYSCALL 14 rv=0,0, RESP/SYSCALL 0 rv=0,0, RESP/SYSCALL 0 rv=0,0, REQ/COPYINSTR 1024"]), None),
    case("copyin/2", "copyin_empty_reply", "a COPYIN answered with an empty RESP (crashed the reference)", "no crash; the server keeps serving", Expect::Survive(&["RESP/HANDSHAKE 0, REQ/COPYINSTR 1024, RESP/SYSCALL 0 rv=3,0, REQ/COPYIN 100, RESP/SYSCALL 14 rv=0,0", "RESP/HANDSHAKE 0, REQ/COPYINSTR 1024, RESP/SYSCALL 0 rv=3,0, REQ/COPYIN 100, closed"]), Some("RESP/HANDSHAKE 0, REQ/COPYINSTR 1024, RESP/SYSCALL 0 rv=3,0, REQ/COPYIN 100, RESP/SYSCALL 14 rv=0,0")),
    case("copyin/3", "copyin_longer_reply", "a COPYIN answered with more bytes than asked", "only the bytes asked for are used", Expect::Reference, None),
    case("copyin/4", "copyinstr_overlong", "a COPYINSTR answered with 2024 bytes for 1024", "no overflow of the kernel buffer; ENAMETOOLONG", Expect::Reference, None),
    case("copyin/5", "copyinstr_no_nul", "a COPYINSTR answer without a NUL", "ENAMETOOLONG", Expect::Reference, None),
    case("copyin/6", "copyin_error_frame_reply", "an ERROR frame as the COPYINSTR answer", "ERROR MALFORMED_REQUEST; the call keeps waiting", Expect::Reference, None),
    case("copyin/7", "resp_wrong_type", "a RESP typed HANDSHAKE as the COPYINSTR answer", "accepted: only the reqno matters", Expect::Reference, None),
    case("copyin/8", "disconnect_in_copyin", "the client closes while the server waits for a COPYIN", "the call fails, the process goes, the server keeps serving", Expect::Reference, None),
    case("copyin/9", "disconnect_in_copyinstr", "the client closes while the server waits for a COPYINSTR", "as copyin/8", Expect::Reference, None),
    case("conn/1", "conn300", "300 connections at once", "every connection is answered or closed at once without a banner; the server keeps serving", Expect::EachConnection, None),
];

/// How a case came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case.
    pub id: &'static str,
    /// Passed?
    pub pass: bool,
    /// What was expected.
    pub expected: String,
    /// What happened.
    pub actual: String,
    /// How long it took.
    pub elapsed: Duration,
}

/// The outcome of one connection as a short signature: the server's frames
/// (RESP/SYSCALL with its errno and return values, ERROR with its code,
/// requests by type), then `closed` if the server closed it. `sent` (the
/// client's bytes on that connection) tells which call an answer belongs to:
/// getpid's pid is shown as `pid` when positive (pids are the kernel's to
/// choose), and PREFORK cookies are left out (random by design).
pub fn signature(received: &[u8], closed: bool, sent: &[u8]) -> String {
    let body = match received.iter().position(|&b| b == b'\n') {
        Some(i) if received.starts_with(b"RUMPSP-") => &received[i + 1..],
        _ => received,
    };
    let mut calls = std::collections::BTreeMap::new();
    let mut up = FrameDecoder::new(FrameLimits::unlimited());
    up.feed(sent);
    while let Ok(Some(f)) = up.next_frame() {
        if let Ok(rumpsp_protocol::Frame {
            reqno,
            message: Message::Syscall(s),
        }) = f.frame(Abi::Lp64Le)
        {
            calls.insert(reqno, s.sysnum);
        }
    }
    let mut dec = FrameDecoder::new(FrameLimits::unlimited());
    dec.feed(body);
    let mut parts = Vec::new();
    let mut copyout: Option<(u64, Vec<u8>)> = None;
    let flush = |pending: &mut Option<(u64, Vec<u8>)>, parts: &mut Vec<String>| {
        if let Some((_, data)) = pending.take() {
            parts.push(copyout_part(&data));
        }
    };
    while let Ok(Some(f)) = dec.next_frame() {
        let frame = f.frame(Abi::Lp64Le);
        if !matches!(
            frame,
            Ok(rumpsp_protocol::Frame {
                message: Message::Copyout(_),
                ..
            })
        ) {
            flush(&mut copyout, &mut parts);
        }
        parts.push(match frame {
            Ok(rumpsp_protocol::Frame {
                reqno,
                message: Message::SyscallResp(r),
            }) => {
                let rv0 = if calls.get(&reqno) == Some(&20) && r.error == 0 && r.retval[0] > 0 {
                    "pid".to_owned()
                } else {
                    r.retval[0].to_string()
                };
                format!("RESP/SYSCALL {} rv={rv0},{}", r.error, r.retval[1])
            }
            Ok(t) => match t.message {
                Message::HandshakeResp(r) => format!("RESP/HANDSHAKE {}", r.error),
                Message::PreforkResp(_) => "RESP/PREFORK".into(),
                Message::Error(e) => format!("ERROR {}", e.code.to_u32()),
                Message::Copyin(c) => format!(
                    "{} {}",
                    if c.kind == rumpsp_protocol::CopyinKind::Str {
                        "REQ/COPYINSTR"
                    } else {
                        "REQ/COPYIN"
                    },
                    c.len
                ),
                Message::Copyout(c) => {
                    // Adjacent COPYOUTs are one write of client memory, however split.
                    if let Some((addr, data)) = &mut copyout {
                        if addr.wrapping_add(data.len() as u64) == c.addr {
                            data.extend_from_slice(c.data);
                            continue;
                        }
                    }
                    flush(&mut copyout, &mut parts);
                    copyout = Some((c.addr, c.data.to_vec()));
                    continue;
                }
                Message::Raise(r) => format!("REQ/RAISE {}", r.signo),
                m => format!(
                    "{}/{}",
                    m.class().name(),
                    m.msg_type().map_or("?", |t| t.name())
                ),
            },
            Err(_) => "MALFORMED".into(),
        });
    }
    flush(&mut copyout, &mut parts);
    if closed {
        parts.push("closed".into());
    }
    parts.join(", ")
}

/// A COPYOUT in a signature: its size and its bytes (hex up to 64 bytes, else an FNV-1a hash).
fn copyout_part(data: &[u8]) -> String {
    if data.len() <= 64 {
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        format!("REQ/COPYOUT {} {hex}", data.len())
    } else {
        let h = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("REQ/COPYOUT {} #{h:016x}", data.len())
    }
}

/// What one recorded connection of the reference looked like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefConn {
    /// The banner line (empty if none came).
    pub banner: Vec<u8>,
    /// The [`signature`] of what the server sent.
    pub signature: String,
}

/// The banner line at the start of a server stream, if there is one.
pub fn banner_line(received: &[u8]) -> &[u8] {
    match received.iter().position(|&b| b == b'\n') {
        Some(i) if received.starts_with(b"RUMPSP-") => &received[..=i],
        _ => &[],
    }
}

/// The reference's answer on every recorded connection.
pub fn reference_conns(cap: &Capture) -> std::collections::BTreeMap<u32, RefConn> {
    let streams = cap.streams();
    let mut out = std::collections::BTreeMap::new();
    for conn in cap.records.iter().filter_map(|r| match r {
        crate::capture::Record::Event { conn, event, .. } if event == "open" => Some(*conn),
        _ => None,
    }) {
        let s2c = streams
            .get(&(conn, crate::capture::Dir::S2c))
            .cloned()
            .unwrap_or_default();
        let c2s = streams
            .get(&(conn, crate::capture::Dir::C2s))
            .cloned()
            .unwrap_or_default();
        let closed = cap.records.iter().any(|r| {
            matches!(r, crate::capture::Record::Event { conn: c, event, dir: Some(crate::capture::Dir::S2c), .. } if *c == conn && event == "eof")
        });
        out.insert(
            conn,
            RefConn {
                banner: banner_line(&s2c).to_vec(),
                signature: signature(&s2c, closed, &c2s),
            },
        );
    }
    out
}

/// The recorded (reference) signature of a case's first connection.
pub fn reference_signature(cap: &Capture) -> String {
    reference_conns(cap)
        .remove(&1)
        .map(|c| c.signature)
        .unwrap_or_default()
}

/// A new client: banner, GUEST handshake and getpid must work.
pub fn health_check(wire: &mut dyn Wire) -> Result<(), String> {
    let (c, banner) = wire.connect().map_err(|e| format!("new connection: {e}"))?;
    if !banner.ends_with(b"\n") {
        return Err("no banner".into());
    }
    let abi = Abi::Lp64Le;
    let mut out = rumpsp_protocol::Frame::new(
        1,
        Message::Handshake(Handshake::Guest { name: b"health\0" }),
    )
    .to_vec(abi);
    out.extend(
        rumpsp_protocol::Frame::new(
            2,
            Message::Syscall(SyscallReq {
                sysnum: 20,
                args: &[],
            }),
        )
        .to_vec(abi),
    );
    wire.send(c, &out).map_err(|e| format!("send: {e}"))?;
    let mut got = Vec::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        let (b, closed) = wire.recv(c).map_err(|e| format!("recv: {e}"))?;
        got.extend(b);
        let sig = signature(&got, false, &out);
        if sig.contains("RESP/SYSCALL 0 ") {
            wire.close(c);
            return Ok(());
        }
        if closed || sig.contains("RESP/SYSCALL") {
            break;
        }
    }
    wire.close(c);
    Err(format!("health check got: {}", signature(&got, true, &out)))
}

/// Runs one case against a wire (which must reach a live server).
pub fn run_case(case: &Case, cap: &Capture, wire: &mut dyn Wire, strict: bool) -> CaseResult {
    let t = Instant::now();
    let got = replay_raw(cap, wire);
    let reference = reference_conns(cap);
    let first = got.get(&1).cloned().unwrap_or_default();
    let actual = signature(&first.received, first.closed_by_server, &first.sent);
    let want = reference.get(&1).cloned().unwrap_or_default();
    let (expected, ok) = match (strict, case.strict, case.expect) {
        (true, Some(s), _) => (s.to_owned(), actual == s),
        (_, _, Expect::Reference) => (want.signature.clone(), actual == want.signature),
        (_, _, Expect::Survive(any)) => (any.join(" | "), any.contains(&actual.as_str())),
        (_, _, Expect::Either(a, b)) => (format!("{a} | {b}"), actual == a || actual == b),
        (_, _, Expect::EachConnection) => {
            let wrong: Vec<String> = reference
                .iter()
                .filter_map(|(n, r)| {
                    let g = got.get(n).cloned().unwrap_or_default();
                    let sig = signature(&g.received, g.closed_by_server, &g.sent);
                    // Where the reference refused (no banner, so the client
                    // sent nothing), a refusal or an idle open connection is right.
                    let refused = g.refused || sig.is_empty() || sig == "closed";
                    let ok = sig == r.signature || (r.banner.is_empty() && refused);
                    (!ok).then(|| format!("conn {n}: {sig} (the reference: {})", r.signature))
                })
                .collect();
            let first_wrong = wrong.first().cloned().unwrap_or_default();
            (
                format!("every one of {} connections as the reference answered it, or refused at once{}", reference.len(),
                    if wrong.is_empty() { String::new() } else { format!("; {} differ, first {first_wrong}", wrong.len()) }),
                wrong.is_empty(),
            )
        }
    };
    let mut actual = if let Expect::EachConnection = case.expect {
        let answered = got
            .values()
            .filter(|g| !g.refused && !banner_line(&g.received).is_empty())
            .count();
        format!("{answered} of {} connections got a banner", got.len())
    } else {
        actual
    };
    // The banner: a server that claims another release is another server.
    let banner = banner_line(&first.received);
    let banner_ok = want.banner.is_empty()
        || first.refused
        || banner.is_empty()
        || banner == want.banner.as_slice();
    if !banner_ok {
        actual = format!(
            "banner {:?} (the reference: {:?}); {actual}",
            String::from_utf8_lossy(banner).trim_end(),
            String::from_utf8_lossy(&want.banner).trim_end()
        );
    }
    let health = health_check(wire);
    let pass = ok && banner_ok && health.is_ok();
    let actual = match health {
        Ok(()) => actual,
        Err(e) => format!("{actual}; then {e}"),
    };
    CaseResult {
        id: case.id,
        pass,
        expected,
        actual,
        elapsed: t.elapsed(),
    }
}

/// Looks a case up by id (`frame/3`) or recording name (`len_2pow40`).
pub fn find(key: &str) -> Option<&'static Case> {
    CASES.iter().find(|c| c.id == key || c.name == key)
}

/// Selects cases: `only` (ids, names or `area/` prefixes; empty = all) minus `exclude`.
pub fn select(only: &[String], exclude: &[String]) -> Vec<&'static Case> {
    let hit = |c: &Case, keys: &[String]| {
        keys.iter().any(|k| {
            c.id == k
                || c.name == k
                || (k.ends_with('/') && c.id.starts_with(k.as_str()))
                || c.id.split('/').next() == Some(k.as_str())
        })
    };
    CASES
        .iter()
        .filter(|c| (only.is_empty() || hit(c, only)) && !hit(c, exclude))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique() {
        let mut ids: Vec<_> = CASES.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CASES.len());
        let mut names: Vec<_> = CASES.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CASES.len());
    }

    #[test]
    fn selection_by_id_name_area_and_exclusion() {
        assert_eq!(select(&["frame/3".into()], &[]).len(), 1);
        assert_eq!(select(&["len0".into()], &[])[0].id, "frame/1");
        let frames = select(&["frame".into()], &[]);
        assert!(frames.len() >= 9 && frames.iter().all(|c| c.id.starts_with("frame/")));
        let all_but = select(&[], &["conn".into()]);
        assert_eq!(all_but.len(), CASES.len() - 1);
        assert!(find("nope").is_none());
    }

    #[test]
    fn signature_lists_frames_and_close() {
        let mut bytes = b"RUMPSP-0.4-x\n".to_vec();
        bytes.extend(
            rumpsp_protocol::Frame::new(
                1,
                Message::Error(rumpsp_protocol::frame::ErrorFrame {
                    code: rumpsp_protocol::ErrorCode::Auth,
                }),
            )
            .to_vec(Abi::Lp64Le),
        );
        assert_eq!(signature(&bytes, true, b""), "ERROR 2, closed");
        assert_eq!(signature(b"", false, b""), "");
    }
}
