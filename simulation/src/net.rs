//! The simulated network: one link per connection, two byte streams per link.
//!
//! A write becomes one or more chunks (partial writes), each arriving at a
//! virtual time drawn from the seed; a read returns everything that has
//! arrived by then (so one read may hold part of a frame, or several frames
//! from several writes). Within a direction chunks arrive in order (delivery times never go
//! backwards); across links they interleave freely, so one client's frames
//! overtake another's. Faults, also drawn from the seed: a stall holds a
//! direction back for a while (a long one past the server's COPYIN timeout); a disconnect delivers only a prefix of a write
//! (usually cutting a frame) and then resets the link in both directions.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rumpsp_sim_kernel::clock::Rng;

/// Index of a link.
pub type LinkId = usize;

/// Which end a chunk travels to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Toward {
    /// Client to server.
    Server,
    /// Server to client.
    Client,
}

/// What one delivery carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Bytes, as one read returns them.
    Data(Vec<u8>),
    /// The peer closed its end after everything before it.
    Eof,
    /// The connection broke (an injected fault).
    Reset,
}

/// Fault and timing parameters, all applied through the seeded generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Faults {
    /// Chance per write, in parts per million, that the link breaks partway through it.
    pub disconnect_ppm: u32,
    /// Chance per write, in parts per million, that its direction stalls first.
    pub stall_ppm: u32,
    /// Longest ordinary stall, in microseconds (below the server's COPYIN timeout).
    pub max_stall_us: u64,
    /// Chance per write, in parts per million, of a stall past the COPYIN timeout.
    pub long_stall_ppm: u32,
    /// Shortest such stall, in microseconds (they last up to 1/8 longer).
    pub long_stall_us: u64,
    /// Chance per write, in parts per thousand, that it is split into several chunks.
    pub split_ppt: u32,
    /// Longest one-way delay of a chunk, in microseconds.
    pub max_delay_us: u64,
}

impl Faults {
    /// No faults: delays and reordering across links only.
    pub const NONE: Faults = Faults {
        disconnect_ppm: 0,
        stall_ppm: 0,
        max_stall_us: 0,
        long_stall_ppm: 0,
        long_stall_us: 0,
        split_ppt: 0,
        max_delay_us: 200,
    };
    /// Occasional faults: the default.
    pub const LIGHT: Faults = Faults {
        disconnect_ppm: 2_000,
        stall_ppm: 5_000,
        max_stall_us: 2_000_000,
        long_stall_ppm: 0,
        long_stall_us: 0,
        split_ppt: 200,
        max_delay_us: 500,
    };
    /// Frequent faults.
    pub const HEAVY: Faults = Faults {
        disconnect_ppm: 20_000,
        stall_ppm: 30_000,
        max_stall_us: 5_000_000,
        long_stall_ppm: 500,
        long_stall_us: 31_000_000,
        split_ppt: 600,
        max_delay_us: 2_000,
    };

    /// The preset's name, if it is one.
    pub fn name(&self) -> Option<&'static str> {
        [
            ("none", Faults::NONE),
            ("light", Faults::LIGHT),
            ("heavy", Faults::HEAVY),
        ]
        .into_iter()
        .find(|(_, f)| f == self)
        .map(|(n, _)| n)
    }

    /// A preset by name: none, light, heavy.
    pub fn by_name(name: &str) -> Option<Faults> {
        match name {
            "none" => Some(Faults::NONE),
            "light" => Some(Faults::LIGHT),
            "heavy" => Some(Faults::HEAVY),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
struct Direction {
    /// Chunks on their way, with their arrival times (never decreasing).
    queue: VecDeque<(u64, Chunk)>,
    last_at: u64,
}

/// One connection.
#[derive(Debug, Default)]
pub struct Link {
    to_server: Direction,
    to_client: Direction,
    /// Broken by a fault: later writes are lost.
    pub broken: bool,
    /// A fault was injected on it.
    pub faulted: bool,
    /// The client closed its end.
    pub client_closed: bool,
}

impl Link {
    fn dir(&mut self, t: Toward) -> &mut Direction {
        match t {
            Toward::Server => &mut self.to_server,
            Toward::Client => &mut self.to_client,
        }
    }
}

/// A scheduled event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// The next chunk of a link's direction arrives.
    Deliver(LinkId, Toward),
    /// A thread's sleep is over (or it has just been created): (process, thread).
    Wake(usize, usize),
    /// The server's timers run.
    Tick,
}

/// Pending events, by (virtual time, insertion order).
#[derive(Debug, Default)]
pub struct Schedule {
    heap: BinaryHeap<Reverse<(u64, u64, Event)>>,
    seq: u64,
}

impl Schedule {
    /// Schedules `ev` at `t`.
    pub fn at(&mut self, t: u64, ev: Event) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, ev)));
    }

    /// The earliest event.
    pub fn pop(&mut self) -> Option<(u64, Event)> {
        self.heap.pop().map(|Reverse((t, _, ev))| (t, ev))
    }
}

/// What a write did, for the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct WriteFate {
    /// Chunks it became.
    pub chunks: usize,
    /// Microseconds its direction was stalled first.
    pub stalled_us: u64,
    /// Bytes delivered before the link broke, if it did.
    pub cut_at: Option<usize>,
    /// The link was already broken: nothing was sent.
    pub lost: bool,
}

/// Every link, and the generator that decides their fates.
#[derive(Debug)]
pub struct Net {
    links: Vec<Link>,
    rng: Rng,
    faults: Faults,
}

/// A number in `0..n` (0 when n is 0).
pub fn below(rng: &mut Rng, n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        rng.next_u64() % n
    }
}

impl Net {
    /// A network whose fates come from `seed`.
    pub fn new(seed: u64, faults: Faults) -> Net {
        Net {
            links: Vec::new(),
            rng: Rng::new(seed ^ 0x6e65_7477_6f72_6b00),
            faults,
        }
    }

    /// Opens a link.
    pub fn open(&mut self) -> LinkId {
        self.links.push(Link::default());
        self.links.len() - 1
    }

    /// A link's state.
    pub fn link(&self, id: LinkId) -> &Link {
        &self.links[id]
    }

    /// Links opened so far.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// True before the first link.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    fn delay(&mut self) -> u64 {
        1 + below(&mut self.rng, self.faults.max_delay_us)
    }

    fn push(&mut self, s: &mut Schedule, now: u64, id: LinkId, t: Toward, c: Chunk) {
        let d = self.delay();
        let dir = self.links[id].dir(t);
        let at = (now + d).max(dir.last_at);
        dir.last_at = at;
        dir.queue.push_back((at, c));
        s.at(at, Event::Deliver(id, t));
    }

    /// Writes `data` toward `t`, deciding its fate.
    pub fn write(
        &mut self,
        s: &mut Schedule,
        now: u64,
        id: LinkId,
        t: Toward,
        data: &[u8],
    ) -> WriteFate {
        let mut fate = WriteFate::default();
        if self.links[id].broken || data.is_empty() {
            fate.lost = self.links[id].broken;
            return fate;
        }
        let f = self.faults;
        if below(&mut self.rng, 1_000_000) < u64::from(f.stall_ppm) {
            fate.stalled_us = 1 + below(&mut self.rng, f.max_stall_us);
        }
        if below(&mut self.rng, 1_000_000) < u64::from(f.long_stall_ppm) {
            fate.stalled_us = f.long_stall_us + below(&mut self.rng, f.long_stall_us / 8);
        }
        if fate.stalled_us > 0 {
            let dir = self.links[id].dir(t);
            dir.last_at = dir.last_at.max(now + fate.stalled_us);
        }
        let mut end = data.len();
        if below(&mut self.rng, 1_000_000) < u64::from(f.disconnect_ppm) {
            end = below(&mut self.rng, data.len() as u64) as usize;
            fate.cut_at = Some(end);
        }
        let mut at = 0;
        while at < end {
            let rest = end - at;
            let n = if below(&mut self.rng, 1000) < u64::from(f.split_ppt) {
                1 + below(&mut self.rng, rest as u64) as usize
            } else {
                rest
            };
            self.push(s, now, id, t, Chunk::Data(data[at..at + n].to_vec()));
            fate.chunks += 1;
            at += n;
        }
        if fate.cut_at.is_some() {
            self.break_link(s, now, id);
        }
        fate
    }

    /// Breaks a link: both ends get a reset after what is already on its way.
    pub fn break_link(&mut self, s: &mut Schedule, now: u64, id: LinkId) {
        let l = &mut self.links[id];
        if l.broken {
            return;
        }
        l.broken = true;
        l.faulted = true;
        self.push(s, now, id, Toward::Server, Chunk::Reset);
        self.push(s, now, id, Toward::Client, Chunk::Reset);
    }

    /// Closes one end: the other gets end-of-file after the data before it.
    pub fn close(&mut self, s: &mut Schedule, now: u64, id: LinkId, t: Toward) {
        if self.links[id].broken {
            return;
        }
        if t == Toward::Server {
            self.links[id].client_closed = true;
        }
        self.push(s, now, id, t, Chunk::Eof);
    }

    /// What one read at `now` returns: every data chunk that has arrived, as
    /// one buffer (a read takes all that is there), or the end of the stream.
    /// `None` when an earlier read already took what this event announced.
    pub fn take(&mut self, id: LinkId, t: Toward, now: u64) -> Option<Chunk> {
        let q = &mut self.links.get_mut(id)?.dir(t).queue;
        if q.front().is_none_or(|(at, _)| *at > now) {
            return None;
        }
        let (_, first) = q.pop_front()?;
        let Chunk::Data(mut data) = first else {
            return Some(first);
        };
        while let Some((at, Chunk::Data(_))) = q.front() {
            if *at > now {
                break;
            }
            if let Some((_, Chunk::Data(more))) = q.pop_front() {
                data.extend_from_slice(&more);
            }
        }
        Some(Chunk::Data(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(s: &mut Schedule, net: &mut Net) -> Vec<(u64, LinkId, Toward, Chunk)> {
        let mut out = Vec::new();
        while let Some((t, ev)) = s.pop() {
            if let Event::Deliver(id, to) = ev {
                if let Some(c) = net.take(id, to, t) {
                    out.push((t, id, to, c));
                }
            }
        }
        out
    }

    #[test]
    fn chunks_keep_order_within_a_link_and_interleave_across_links() {
        let mut net = Net::new(7, Faults::HEAVY);
        let mut s = Schedule::default();
        let (a, b) = (net.open(), net.open());
        let data: Vec<u8> = (0..=255).collect();
        let mut sent = [0usize; 2];
        for i in 0..40 {
            let id = if i % 2 == 0 { a } else { b };
            let f = net.write(&mut s, i * 10, id, Toward::Server, &data);
            sent[id] += f.cut_at.unwrap_or(if f.lost { 0 } else { data.len() });
        }
        let got = drain(&mut s, &mut net);
        let mut streams = [Vec::new(), Vec::new()];
        let mut order = Vec::new();
        let mut last = 0;
        for (t, id, _, c) in got {
            assert!(t >= last, "events come out in time order");
            last = t;
            if let Chunk::Data(d) = c {
                streams[id].extend(d);
                order.push(id);
            }
        }
        for id in [a, b] {
            assert_eq!(streams[id].len(), sent[id]);
            let whole: Vec<u8> = data.iter().copied().cycle().take(sent[id]).collect();
            assert_eq!(streams[id], whole, "link {id} delivers its bytes in order");
        }
        assert!(
            order.windows(2).any(|w| w[0] != w[1]),
            "deliveries of the two links interleave"
        );
    }

    #[test]
    fn a_disconnect_cuts_the_write_and_resets_both_ends() {
        let f = Faults {
            disconnect_ppm: 1_000_000,
            ..Faults::NONE
        };
        let mut net = Net::new(1, f);
        let mut s = Schedule::default();
        let id = net.open();
        let fate = net.write(&mut s, 0, id, Toward::Server, &[1; 100]);
        let cut = fate.cut_at.expect("always cut");
        assert!(cut < 100);
        assert!(net.link(id).broken && net.link(id).faulted);
        assert!(net.write(&mut s, 5, id, Toward::Client, b"x").lost);
        let got = drain(&mut s, &mut net);
        let resets = got.iter().filter(|g| g.3 == Chunk::Reset).count();
        assert_eq!(resets, 2);
        let bytes: usize = got
            .iter()
            .map(|g| match &g.3 {
                Chunk::Data(d) => d.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(bytes, cut);
    }

    #[test]
    fn a_late_read_takes_everything_that_has_arrived_in_one_buffer() {
        let mut net = Net::new(2, Faults::NONE);
        let mut s = Schedule::default();
        let id = net.open();
        net.write(&mut s, 0, id, Toward::Server, b"abc");
        net.write(&mut s, 0, id, Toward::Server, b"def");
        net.close(&mut s, 0, id, Toward::Server);
        assert_eq!(
            net.take(id, Toward::Server, 0),
            None,
            "nothing has arrived at t=0"
        );
        assert_eq!(
            net.take(id, Toward::Server, 10_000),
            Some(Chunk::Data(b"abcdef".to_vec()))
        );
        assert_eq!(net.take(id, Toward::Server, 10_000), Some(Chunk::Eof));
        assert_eq!(net.take(id, Toward::Server, 10_000), None);
    }

    #[test]
    fn the_same_seed_gives_the_same_fates() {
        let run = |seed| {
            let mut net = Net::new(seed, Faults::HEAVY);
            let mut s = Schedule::default();
            let id = net.open();
            (0..50)
                .map(|i| net.write(&mut s, i, id, Toward::Client, &[0; 64]))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }
}
