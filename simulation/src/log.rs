//! The event log: one entry per event. Every entry is hashed as it is
//! recorded (its derived `Hash` into FNV-1a over 64-bit words), so two runs compare by
//! digest at full speed; the text is rendered only when it is kept.

use std::fmt::{self, Display, Write};
use std::hash::{Hash, Hasher};

use rumpsp_protocol::client::CallOutcome;
use rumpsp_protocol::HandshakeKind;

use crate::net::{Toward, WriteFate};

/// What a request was, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// A syscall with this number.
    Syscall(u32),
    /// A handshake.
    Handshake,
    /// A PREFORK or EXEC.
    Other,
}

/// One logged event.
#[derive(Debug, Clone, Copy, Hash)]
pub enum Entry<'a> {
    /// A process was created.
    Start {
        /// Its index.
        actor: usize,
        /// Its name.
        name: &'a str,
    },
    /// A process finished.
    Exit {
        /// Its index.
        actor: usize,
    },
    /// A process opened a connection (`conn`: the server's id; `None`: refused).
    Connect {
        /// The process.
        actor: usize,
        /// The link.
        link: usize,
        /// The server's connection id.
        conn: Option<u64>,
        /// The handshake it will send.
        kind: HandshakeKind,
    },
    /// A process closed its connection.
    Close {
        /// The process.
        actor: usize,
        /// The link.
        link: usize,
    },
    /// A request was sent.
    Call {
        /// The process.
        actor: usize,
        /// Its request number.
        reqno: u64,
        /// What it is.
        what: CallKind,
    },
    /// A request was answered.
    Ret {
        /// The process.
        actor: usize,
        /// Its request number.
        reqno: u64,
        /// The answer.
        outcome: &'a CallOutcome,
    },
    /// Bytes were written to a link.
    Write {
        /// The link.
        link: usize,
        /// Which way.
        toward: Toward,
        /// How many.
        len: usize,
        /// What the network did with them.
        fate: WriteFate,
    },
    /// A chunk was read.
    Read {
        /// The link.
        link: usize,
        /// Which way.
        toward: Toward,
        /// Its length.
        len: usize,
    },
    /// End of file or reset arrived.
    End {
        /// The link.
        link: usize,
        /// Which way.
        toward: Toward,
        /// A reset rather than an orderly close.
        reset: bool,
    },
    /// A process lost its connection.
    Lost {
        /// The process.
        actor: usize,
        /// The link.
        link: usize,
        /// Why.
        why: &'a str,
    },
    /// The server closed a connection.
    ServerCloses {
        /// The server's connection id.
        conn: u64,
    },
    /// Time passed with no clients.
    Idle {
        /// Microseconds.
        us: u64,
    },
}

fn dir(t: Toward) -> &'static str {
    match t {
        Toward::Server => "c>s",
        Toward::Client => "s>c",
    }
}

impl Display for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Entry::Start { actor, name } => write!(f, "A{actor} start {name}"),
            Entry::Exit { actor } => write!(f, "A{actor} exit"),
            Entry::Connect {
                actor,
                link,
                conn: Some(c),
                kind,
            } => write!(f, "A{actor} connect L{link} C{c} {kind:?}"),
            Entry::Connect { actor, link, .. } => write!(f, "A{actor} connect L{link} refused"),
            Entry::Close { actor, link } => write!(f, "A{actor} close L{link}"),
            Entry::Call { actor, reqno, what } => match what {
                CallKind::Syscall(nr) => write!(f, "A{actor} call #{reqno} sys {nr}"),
                CallKind::Handshake => write!(f, "A{actor} call #{reqno} handshake"),
                CallKind::Other => write!(f, "A{actor} call #{reqno}"),
            },
            Entry::Ret {
                actor,
                reqno,
                outcome,
            } => {
                write!(f, "A{actor} ret #{reqno} ")?;
                match outcome {
                    CallOutcome::Syscall { errno, retval, .. } => {
                        write!(f, "e{errno} {} {}", retval[0], retval[1])
                    }
                    CallOutcome::Handshake(e) => write!(f, "handshake e{e}"),
                    CallOutcome::Prefork(c) => write!(f, "prefork {c}"),
                    CallOutcome::Protocol(code) => write!(f, "error {code:?}"),
                }
            }
            Entry::Write {
                link,
                toward,
                len,
                fate,
            } => write!(
                f,
                "L{link} {} write {len} chunks {} stall {} cut {:?}{}",
                dir(toward),
                fate.chunks,
                fate.stalled_us,
                fate.cut_at,
                if fate.lost { " lost" } else { "" }
            ),
            Entry::Read { link, toward, len } => write!(f, "L{link} {} read {len}", dir(toward)),
            Entry::End {
                link,
                toward,
                reset,
            } => write!(
                f,
                "L{link} {} {}",
                dir(toward),
                if reset { "Reset" } else { "Eof" }
            ),
            Entry::Lost { actor, link, why } => write!(f, "A{actor} lost L{link}: {why}"),
            Entry::ServerCloses { conn } => write!(f, "C{conn} server closes"),
            Entry::Idle { us } => write!(f, "idle {us}"),
        }
    }
}

/// FNV-1a over 64-bit words: the derived `Hash` of an entry feeds its fields
/// here (integers as words, byte strings eight bytes at a time), identically on
/// every run.
struct Fnv(u64);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for w in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..w.len()].copy_from_slice(w);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(FNV_PRIME);
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }

    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }

    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The entries of a run: their digest, their count and, if kept, their text.
pub struct EventLog {
    keep: bool,
    text: String,
    hash: Fnv,
    lines: u64,
}

impl EventLog {
    /// A log that keeps its text (`keep`) or only its digest.
    pub fn new(keep: bool) -> EventLog {
        EventLog {
            keep,
            text: String::new(),
            hash: Fnv(FNV_OFFSET),
            lines: 0,
        }
    }

    /// Records one entry at virtual time `t_us`.
    pub fn record(&mut self, t_us: u64, e: Entry<'_>) {
        self.hash.write_u64(t_us);
        e.hash(&mut self.hash);
        self.lines += 1;
        if self.keep {
            let _ = writeln!(
                self.text,
                "{}.{:06} {e}",
                t_us / 1_000_000,
                t_us % 1_000_000
            );
        }
    }

    /// The digest of every entry so far.
    pub fn digest(&self) -> u64 {
        self.hash.0
    }

    /// Entries recorded.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The text, if kept.
    pub fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_covers_every_field_and_not_whether_the_text_is_kept() {
        let mut a = EventLog::new(true);
        let mut b = EventLog::new(false);
        let e = Entry::Read {
            link: 3,
            toward: Toward::Client,
            len: 48,
        };
        a.record(1_500_000, e);
        b.record(1_500_000, e);
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.text(), "1.500000 L3 s>c read 48\n");
        assert_eq!(b.text(), "");
        let mut c = EventLog::new(false);
        c.record(
            1_500_000,
            Entry::Read {
                link: 3,
                toward: Toward::Client,
                len: 49,
            },
        );
        assert_ne!(c.digest(), b.digest());
        let mut d = EventLog::new(false);
        d.record(1_500_001, e);
        assert_ne!(d.digest(), b.digest());
    }
}
