//! The simulated network: one link per connection, two byte streams per link.
//!
//! A write becomes one or more chunks (partial writes and reads: a chunk is
//! what one read returns), each delivered at a virtual time drawn from the
//! seed. Within a direction chunks arrive in order (delivery times never go
//! backwards); across links they interleave freely, so one client's frames
//! overtake another's. Faults, also drawn from the seed: a stall holds a
//! direction back for a while; a disconnect delivers only a prefix of a write
//! (usually cutting a frame) and then resets the link in both directions.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rumpsp_sim_kernel::clock::Rng;

/// Index of a link.
pub type LinkId = usize;

/// Which end a chunk travels to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
    /// Longest stall, in microseconds (kept below the server's COPYIN timeout).
    pub max_stall_us: u64,
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
        split_ppt: 0,
        max_delay_us: 200,
    };
    /// Occasional faults: the default.
    pub const LIGHT: Faults = Faults {
        disconnect_ppm: 2_000,
        stall_ppm: 5_000,
        max_stall_us: 2_000_000,
        split_ppt: 200,
        max_delay_us: 500,
    };
    /// Frequent faults.
    pub const HEAVY: Faults = Faults {
        disconnect_ppm: 20_000,
        stall_ppm: 30_000,
        max_stall_us: 5_000_000,
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
    queue: VecDeque<Chunk>,
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
    /// An actor's sleep is over (or it has just been created).
    Wake(usize),
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

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// What a write did, for the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
        dir.queue.push_back(c);
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

    /// Takes the chunk a [`Event::Deliver`] announced.
    pub fn take(&mut self, id: LinkId, t: Toward) -> Option<Chunk> {
        self.links.get_mut(id)?.dir(t).queue.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(s: &mut Schedule, net: &mut Net) -> Vec<(u64, LinkId, Toward, Chunk)> {
        let mut out = Vec::new();
        while let Some((t, ev)) = s.pop() {
            if let Event::Deliver(id, to) = ev {
                if let Some(c) = net.take(id, to) {
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
