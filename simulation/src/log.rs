//! The event log: one line per event, hashed as it is written so that two runs
//! compare by digest even when the text is not kept.

use std::fmt::{Arguments, Write};

/// Lines of a run, and their FNV-1a digest.
#[derive(Debug, Clone)]
pub struct EventLog {
    keep: bool,
    text: String,
    line: String,
    hash: u64,
    lines: u64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl EventLog {
    /// A log that keeps its text (`keep`) or only its digest.
    pub fn new(keep: bool) -> EventLog {
        EventLog {
            keep,
            text: String::new(),
            line: String::new(),
            hash: FNV_OFFSET,
            lines: 0,
        }
    }

    /// Appends one line, stamped with virtual time `t_us`.
    pub fn line(&mut self, t_us: u64, args: Arguments<'_>) {
        self.line.clear();
        let _ = write!(self.line, "{}.{:06} ", t_us / 1_000_000, t_us % 1_000_000);
        let _ = self.line.write_fmt(args);
        self.line.push('\n');
        for b in self.line.bytes() {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        self.lines += 1;
        if self.keep {
            self.text.push_str(&self.line);
        }
    }

    /// The digest of every line so far.
    pub fn digest(&self) -> u64 {
        self.hash
    }

    /// Lines written.
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
    fn digest_depends_on_every_byte_and_not_on_keeping_the_text() {
        let mut a = EventLog::new(true);
        let mut b = EventLog::new(false);
        a.line(1_500_000, format_args!("x {}", 1));
        b.line(1_500_000, format_args!("x {}", 1));
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.text(), "1.500000 x 1\n");
        b.line(0, format_args!("y"));
        a.line(0, format_args!("z"));
        assert_ne!(a.digest(), b.digest());
        assert_eq!(b.text(), "");
    }
}
