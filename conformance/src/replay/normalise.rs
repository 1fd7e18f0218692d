//! Normalisation as data: the fields that legitimately differ between two
//! correct kernels, and the comparison used for each instead of a byte match.
//! `rumpsp replay --rules` prints [`RULES`].

use std::collections::{BTreeMap, BTreeSet};

use super::netnorm;
use super::outcome::{Answer, Outcome};
use crate::script::Step;

/// One normalisation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Rule name, as transcripts list it.
    pub name: &'static str,
    /// The field it touches, named as in `protocol::netbsd`.
    pub field: &'static str,
    /// Why the field differs between two correct kernels.
    pub why: &'static str,
    /// The comparison used instead of equality.
    pub comparison: &'static str,
}

/// Every rule the replayer applies.
pub const RULES: &[Rule] = &[
    Rule {
        name: "inode-numbers",
        field: "StatBuf.ino, StatBuf.dev (when equal to ino), Dirent.ino",
        why: "file systems number nodes in allocation order, which depends on history",
        comparison: "consistent mapping within one answer (a directory buffer): one recorded ino maps to one actual ino and back; not across steps, because both NetBSD (vnode addresses) and other kernels reuse numbers of freed nodes in their own order",
    },
    Rule {
        name: "times",
        field: "StatBuf.atime, mtime, ctime, birthtime (Timespec)",
        why: "the kernel stamps nodes with its own clock at the time of the call",
        comparison: "a time the client set (a value an earlier __utimes50, __futimes50, __lutimes50, utimensat or futimens of the trace passed; timevals as usec * 1000; UTIME_NOW and UTIME_OMIT excluded) compares exactly. A time the kernel set: tv_nsec < 1e9; zero exactly where the recording's is zero; negative only where the recording's is; and relationally, per node (the recording's st_dev and st_ino, not 0) and field: never earlier than the same field in an earlier answer where the recording's is not earlier; not more than 1 s before a CLOCK_REALTIME or gettimeofday reading the recording shows it at or after. A write need not advance mtime strictly: the kernel stamps with getnanotime, which moves once per clock tick (__clock_getres50 answers 10 ms), and two calls in one tick get the same stamp",
    },
    Rule {
        name: "clock",
        field: "Timespec / timeval written by __clock_gettime50, __gettimeofday50",
        why: "a clock reads the host's time",
        comparison: "range: sub-second part below 1e9 (1e6 for timeval), seconds not zero where the recording's is not; never earlier than the previous reading of the same clock where the recording's is not (gettimeofday and CLOCK_REALTIME are one clock); a realtime reading not more than 1 s before the latest kernel-set stat time the recording shows before it, and a kernel-set stat time the recording shows after a realtime reading not more than 1 s before that reading",
    },
    Rule {
        name: "padding",
        field: "Dirent record bytes after the name's NUL, up to d_reclen",
        why: "the kernel does not clear the slack of a directory record",
        comparison: "ignored, once every record's d_reclen, d_namlen, d_type and name decode (checked lengths) and agree",
    },
    Rule {
        name: "kernel-pointers",
        field: "sysctlnode.sysctl_data / sysctl_func / parent pointers in CTL_QUERY records",
        why: "kernel addresses differ per boot and per kernel",
        comparison: "ignored; flags, num, name, version and size compare exactly",
    },
    Rule {
        name: "volatile-sysctl",
        field: "values of kern.hostname, urandom, arandom, hardclock_ticks, file, msgbuf, pool, curproc.corename",
        why: "host-, boot- or time-dependent values",
        comparison: "blanked, once the answer and the length written compare exactly and the value is plausible: a value the client wrote earlier in the trace (kern.hostname read back) compares exactly; urandom/arandom not all zero where the recording's is not and never a repeat of an earlier reading; hardclock_ticks never going back where the recording's does not",
    },
    Rule {
        name: "pids",
        field: "getpid/getppid return values",
        why: "process ids are allocated by the server, in an order that depends on its history and, for processes made at once, on scheduling",
        comparison: "exactly on a server with the recording's history (fresh, given the earlier recordings of its server run: pids are allocated in order from boot) where no two calls were in flight at once; otherwise (a shared server, or concurrent forks racing for pids) a consistent one-to-one mapping over the trace; 0 and 1 compare exactly",
    },
    Rule {
        name: "ephemeral-ports",
        field: "sockaddr_in.sin_port / sockaddr_in6.sin6_port that recvmsg, recvfrom, accept, paccept, getpeername and getsockname copy out",
        why: "NetBSD picks a kernel-chosen (ephemeral) port at random per boot, in 49152-65535",
        comparison: "both ports in 49152-65535 and one to one over the trace (a recorded port always stands for the same port of the server, and no two recorded ports for one); the rest of the address compares exactly. While replaying, a recorded port the client passes back (bind, connect, sendto, sendmsg) is given to the server as the port it stands for",
    },
    Rule {
        name: "uninitialised-padding",
        field: "the 4 padding bytes after tv_usec of the struct timeval getsockopt copies out for SO_SNDTIMEO / SO_RCVTIMEO",
        why: "sogetopt never writes them: they hold the kernel stack's old contents (half a host stack address on the recorded rump kernel)",
        comparison: "ignored; the length written, tv_sec and tv_usec compare exactly",
    },
    Rule {
        name: "ifconf-padding",
        field: "the bytes of each 144-byte ifreq SIOCGIFCONF copies out past its address's sa_len",
        why: "ifconf copies whole ifreqs whose union the kernel never cleared: old stack data",
        comparison: "ignored; the interface names, every address's sa_len, family and bytes up to sa_len, and ifc_len compare exactly",
    },
    Rule {
        name: "routing-volatile",
        field: "ifi_lastchange (timespec at offset 136) of RTM_IFINFO records and bytes 32-40 (rtm_inits and padding) of RTM_GET records in the NET_RT_IFLIST / NET_RT_DUMP sysctls",
        why: "ifi_lastchange is the host time of an interface's last change; sysctl_dumpentry never writes rtm_inits, so it holds old heap data",
        comparison: "ifi_lastchange: a valid timespec (seconds not negative, nsec below 1e9), zero exactly where the recording's is zero; rtm_inits ignored; every other byte of every record compares exactly, and both answers walk record by record with the same msglen, version and type",
    },
    Rule {
        name: "copyin-split",
        field: "COPYIN requests",
        why: "how a kernel splits its reads of client memory is its own business",
        comparison: "the merged address ranges read, per kind, in order",
    },
    Rule {
        name: "concurrent-order",
        field: "COPYIN requests of a call that was in flight together with others",
        why: "the order depends on the server's scheduling",
        comparison: "the merged address ranges read, as a set",
    },
];

/// A consistent one-to-one mapping between recorded and actual identifiers.
#[derive(Debug, Default, Clone)]
pub struct IdMap {
    fwd: BTreeMap<i64, i64>,
    back: BTreeMap<i64, i64>,
}

impl IdMap {
    /// Maps `recorded` to `ours`, consistently both ways; whether that holds.
    pub fn matches(&mut self, recorded: i64, ours: i64) -> bool {
        let f = *self.fwd.entry(recorded).or_insert(ours);
        let b = *self.back.entry(ours).or_insert(recorded);
        f == ours && b == recorded
    }
}

/// A timestamp: seconds and sub-second part.
type Time = (i64, i64);

/// State carried across the steps of one trace.
#[derive(Debug, Default)]
pub struct Norm {
    /// pids.
    pub pids: IdMap,
    /// pids compare exactly (the server has the recording's history and no calls overlapped).
    pub exact_pids: bool,
    /// inode numbers, within the current step.
    pub inos: IdMap,
    /// Kernel-chosen ports, over the trace.
    pub ports: IdMap,
    /// Last (recorded, actual) clock reading in nanoseconds per clock:
    /// (syscall number, clock id); gettimeofday and CLOCK_REALTIME are one.
    clocks: BTreeMap<(u32, u64), (Time, Time)>,
    /// The latest kernel-set stat time seen: (recorded, actual), each the maximum.
    stamp_max: Option<(Time, Time)>,
    /// Times the client set so far in the trace (utimes family).
    set_times: BTreeSet<(i64, i64)>,
    /// Last (recorded, actual) stat time per recorded node (dev, ino) and field offset.
    node_times: BTreeMap<(u64, u64, usize), (Time, Time)>,
    /// The last value the client wrote to each sysctl MIB.
    sysctl_written: BTreeMap<Vec<i32>, Vec<u8>>,
    /// Actual kern.urandom / kern.arandom readings so far.
    randoms: BTreeSet<Vec<u8>>,
    /// Last (recorded, actual) kern.hardclock_ticks reading.
    ticks: Option<(i64, i64)>,
}

/// The utimes-family syscalls: sysnum, argument slot of the times pointer,
/// and whether it points at two `timeval`s (else two `timespec`s).
const SET_TIMES: &[(u32, usize, bool)] = &[
    (420, 1, true),
    (423, 1, true),
    (424, 1, true),
    (467, 2, false),
    (472, 1, false),
];

/// `UTIME_NOW` and `UTIME_OMIT`, in tv_nsec: not a time the client set.
const UTIME_SPECIAL: [i64; 2] = [0x3fff_ffff, 0x3fff_fffe];

/// The stat fields holding times: atime, mtime, ctime, birthtime.
const STAT_TIMES: [usize; 4] = [48, 64, 80, 96];

impl Norm {
    /// Learns what a step tells about later ones, whatever its verdict: the
    /// times a utimes-family call passed, and the times a stat answer shows
    /// when expected and actual agree (the other answers are learnt as they
    /// are compared).
    pub fn observe(&mut self, step: &Step, exp: &Outcome, act: &Outcome) {
        let Some(sysnum) = step.sysnum() else { return };
        if let Some(&(_, slot, timeval)) = SET_TIMES.iter().find(|t| t.0 == sysnum) {
            let tptr = step.arg(slot);
            let data = (tptr != 0).then(|| step.copied_in(tptr)).flatten();
            for t in data.into_iter().flat_map(|d| d.chunks_exact(16)) {
                let (sec, sub) = (i64_at(t, 0), i64_at(t, 8));
                if timeval {
                    self.set_times.insert((sec, sub.saturating_mul(1000)));
                } else if !UTIME_SPECIAL.contains(&sub) {
                    self.set_times.insert((sec, sub));
                }
            }
        }
        if sysnum == 202 && step.arg(4) != 0 {
            if let Some(d) = step.copied_in(step.arg(4)) {
                self.sysctl_written.insert(sysctl_mib(step), d.to_vec());
            }
        }
        if exp == act {
            if let Some(slot) = stat_slot(sysnum) {
                if let Some((_, e)) = exp.memory.iter().find(|(a, _)| *a == step.arg(slot)) {
                    for at in STAT_TIMES {
                        let t = (i64_at(e, at), i64_at(e, at + 8));
                        self.node_time(e, at, t, t);
                        self.stamp(t, t);
                    }
                }
            }
            if matches!(sysnum, 418 | 427) {
                let slot = usize::from(sysnum == 427);
                if let Some((_, e)) = exp.memory.iter().find(|(a, _)| *a == step.arg(slot)) {
                    if let Some((key, t)) = clock_reading(step, sysnum, e) {
                        self.clocks.insert(key, (t, t));
                    }
                }
            }
        }
    }

    /// Takes a stat time into the latest kernel stamp, unless the client set it.
    fn stamp(&mut self, et: Time, t: Time) {
        if et != (0, 0) && !self.set_times.contains(&et) {
            let (se, sa) = self.stamp_max.unwrap_or((et, t));
            self.stamp_max = Some((se.max(et), sa.max(t)));
        }
    }

    /// Records a node's field time; whether the actual one keeps the order the
    /// recording shows against the previous answer for that node.
    fn node_time(&mut self, e: &[u8], at: usize, et: Time, t: Time) -> bool {
        let (dev, ino) = (u64_at(e, 0), u64_at(e, 16));
        if ino == 0 || e.len() < 152 {
            // Pipes and sockets all answer st_ino 0: not one node.
            return true;
        }
        let prev = self.node_times.insert((dev, ino, at), (et, t));
        prev.is_none_or(|(pe, pa)| et < pe || t >= pa)
    }
}

fn u64_at(d: &[u8], at: usize) -> u64 {
    d.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn i64_at(d: &[u8], at: usize) -> i64 {
    u64_at(d, at) as i64
}

fn u16_at(d: &[u8], at: usize) -> usize {
    d.get(at..at + 2)
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as usize)
}

/// Sysnums whose answer writes a `struct stat`, and the argument slot of the buffer.
pub fn stat_slot(sysnum: u32) -> Option<usize> {
    match sysnum {
        439..=441 => Some(1),
        466 => Some(2),
        _ => None,
    }
}

/// A (sec, sub-second) pair is plausible against the recorded one.
fn plausible(exp: (i64, i64), act: (i64, i64), sub_max: i64) -> bool {
    // A negative time is only right where the recording has one (a client set it).
    let valid = (0..sub_max).contains(&act.1) && (act.0 >= 0 || exp.0 < 0);
    let zero = |t: (i64, i64)| t == (0, 0);
    valid && zero(exp) == zero(act)
}

/// Applies the rules to the pair (expected, actual); records which applied.
/// A field is made equal only when its rule's comparison holds, so a server
/// that gets the field wrong still differs.
pub fn normalise_pair(
    step: &Step,
    exp: &mut Outcome,
    act: &mut Outcome,
    st: &mut Norm,
    rules: &mut Vec<&'static str>,
) {
    let Some(sysnum) = step.sysnum() else { return };
    st.inos = IdMap::default();
    for (addr, e) in exp.memory.iter_mut() {
        let Some((_, a)) = act.memory.iter_mut().find(|(x, _)| x == addr) else {
            continue;
        };
        if let Some(slot) = stat_slot(sysnum) {
            if *addr == step.arg(slot) && e.len() >= 152 && a.len() >= 152 {
                stat(e, a, st, rules);
            }
            continue;
        }
        match sysnum {
            390 => dirents(e, a, st, rules),
            418 | 427 => clock(step, sysnum, e, a, st, rules),
            202 if sysctl_mib(step).starts_with(&[4, 34]) => {
                netnorm::routing_messages(step, *addr, e, a, rules)
            }
            202 => sysctl(step, *addr, e, a, st, rules),
            118 => netnorm::timeval_padding(step, *addr, e, a, rules),
            54 => netnorm::ifconf_padding(step, *addr, e, a, rules),
            n if super::ports::NAMES_OUT.contains(&n) => {
                if let Some(name) = super::ports::name_addr(step) {
                    netnorm::ephemeral_port(*addr, name, e, a, &mut st.ports, rules)
                }
            }
            _ => {}
        }
    }
}

/// How far a clock reading and a kernel stamp may disagree with the order the
/// recording shows (a stamp made just after a reading can be a clock tick
/// earlier: stamps come from getnanotime, readings from nanotime).
const CLOCK_SLACK: Time = (1, 0);

fn minus(t: Time, d: Time) -> Time {
    let (mut sec, mut sub) = (t.0.saturating_sub(d.0), t.1 - d.1);
    if sub < 0 {
        sec = sec.saturating_sub(1);
        sub += 1_000_000_000;
    }
    (sec, sub)
}

/// A clock answer as (clock key, time in nanoseconds): gettimeofday reads
/// CLOCK_REALTIME (id 0) too, so both have the key (418, 0).
fn clock_reading(step: &Step, sysnum: u32, d: &[u8]) -> Option<((u32, u64), Time)> {
    if d.len() != 16 {
        return None;
    }
    let (sec, sub) = (i64_at(d, 0), i64_at(d, 8));
    match sysnum {
        418 => Some(((418, 0), (sec, sub.saturating_mul(1000)))),
        427 if step.arg(0) == 0 => Some(((418, 0), (sec, sub))),
        427 => Some(((427, step.arg(0)), (sec, sub))),
        _ => None,
    }
}

/// __gettimeofday50 (timeval) and __clock_gettime50 (timespec) answers.
fn clock(
    step: &Step,
    sysnum: u32,
    e: &mut [u8],
    a: &mut [u8],
    st: &mut Norm,
    rules: &mut Vec<&'static str>,
) {
    if e.len() != 16 || a.len() != 16 {
        return;
    }
    let sub_max = if sysnum == 418 {
        1_000_000
    } else {
        1_000_000_000
    };
    let (er, ar) = ((i64_at(e, 0), i64_at(e, 8)), (i64_at(a, 0), i64_at(a, 8)));
    let (Some((key, et)), Some((_, at))) = (
        clock_reading(step, sysnum, e),
        clock_reading(step, sysnum, a),
    ) else {
        return;
    };
    let clock_id = key.1;
    let ordered = st
        .clocks
        .insert(key, (et, at))
        .is_none_or(|(pe, pa)| et < pe || at >= pa);
    // Not earlier than a node's stamp that the recording shows before it.
    let after_stamps = clock_id != 0
        || st
            .stamp_max
            .is_none_or(|(se, sa)| et < se || at >= minus(sa, CLOCK_SLACK));
    if plausible(er, ar, sub_max) && ordered && after_stamps {
        a.copy_from_slice(e);
        rules.push("clock");
    }
}

fn stat(e: &mut [u8], a: &mut [u8], st: &mut Norm, rules: &mut Vec<&'static str>) {
    for at in STAT_TIMES {
        let et = (i64_at(e, at), i64_at(e, at + 8));
        let t = (i64_at(a, at), i64_at(a, at + 8));
        let ordered = st.node_time(e, at, et, t);
        if et == t || st.set_times.contains(&et) {
            st.stamp(et, t);
            continue;
        }
        // A stamp the recording shows at or after the last realtime reading
        // was made after it (up to a tick's lag).
        let after_reading = st
            .clocks
            .get(&(418, 0))
            .is_none_or(|(re, ra)| et < *re || t >= minus(*ra, CLOCK_SLACK));
        st.stamp(et, t);
        if ordered && after_reading && plausible(et, t, 1_000_000_000) {
            a[at..at + 16].copy_from_slice(&e[at..at + 16]);
            rules.push("times");
        }
    }
    let (eino, aino) = (u64_at(e, 16), u64_at(a, 16));
    if st.inos.matches(eino as i64, aino as i64) {
        if eino != aino {
            rules.push("inode-numbers");
        }
        // rumpfs gives every node its own st_dev, equal to its ino.
        if u64_at(e, 0) == eino && u64_at(a, 0) == aino {
            a[0..8].copy_from_slice(&e[0..8]);
        }
        a[16..24].copy_from_slice(&e[16..24]);
    }
}

fn dirents(e: &mut [u8], a: &mut [u8], st: &mut Norm, rules: &mut Vec<&'static str>) {
    let mut i = 0;
    while i + 13 <= e.len() && i + 13 <= a.len() {
        let (ereclen, enam) = (u16_at(e, i + 8), u16_at(e, i + 10));
        let (areclen, anam) = (u16_at(a, i + 8), u16_at(a, i + 10));
        let ok = |reclen: usize, nam: usize, len: usize| {
            reclen >= 16 && i + reclen <= len && 13 + nam < reclen
        };
        if ereclen != areclen
            || enam != anam
            || !ok(ereclen, enam, e.len())
            || !ok(areclen, anam, a.len())
        {
            return;
        }
        let (eino, aino) = (u64_at(e, i), u64_at(a, i));
        if st.inos.matches(eino as i64, aino as i64) {
            if eino != aino {
                rules.push("inode-numbers");
            }
            a[i..i + 8].copy_from_slice(&e[i..i + 8]);
        }
        let pad = i + 13 + enam..i + ereclen;
        if e[pad.clone()] != a[pad.clone()] {
            a[pad.clone()].copy_from_slice(&e[pad]);
            rules.push("padding");
        }
        i += ereclen;
    }
}

/// The MIB a __sysctl step passed (from the client memory it read).
fn sysctl_mib(step: &Step) -> Vec<i32> {
    step.copied_in(step.arg(0))
        .map(|d| {
            d.chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .unwrap_or_default()
}

/// A sysctl value without its trailing NULs.
fn trimmed(d: &[u8]) -> &[u8] {
    let end = d.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &d[..end]
}

fn sysctl(
    step: &Step,
    addr: u64,
    e: &mut [u8],
    a: &mut [u8],
    st: &mut Norm,
    rules: &mut Vec<&'static str>,
) {
    let mib = sysctl_mib(step);
    if mib.last() == Some(&-2) && addr == step.arg(2) {
        for d in [&mut *e, &mut *a] {
            for rec in d.chunks_mut(96) {
                if rec.len() == 96 {
                    let flags = u32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]);
                    if flags & 0xf != 1 && flags & 0x800 == 0 {
                        rec[48..56].fill(0);
                    }
                    rec[56..64].fill(0);
                    rec[72..96].fill(0);
                }
            }
        }
        rules.push("kernel-pointers");
    } else if volatile_sysctl(&mib) && e.len() == a.len() && st.volatile_plausible(&mib, e, a) {
        e.fill(0);
        a.fill(0);
        rules.push("volatile-sysctl");
    }
}

impl Norm {
    /// Whether a volatile sysctl value may be blanked: not a value the client
    /// wrote earlier (that compares exactly); random bytes neither all zero
    /// nor a repeat of an earlier reading; hardclock_ticks never going back
    /// where the recording's does not.
    fn volatile_plausible(&mut self, mib: &[i32], e: &[u8], a: &[u8]) -> bool {
        if self
            .sysctl_written
            .get(mib)
            .is_some_and(|w| trimmed(w) == trimmed(e))
        {
            return false;
        }
        match mib {
            [1, 61] | [1, 81] if e.len() >= 4 => {
                let zero = |d: &[u8]| d.iter().all(|&b| b == 0);
                (zero(e) || !zero(a)) && self.randoms.insert(a.to_vec())
            }
            [1, 80] if e.len() == 4 || e.len() == 8 => {
                let int = |d: &[u8]| {
                    if d.len() == 4 {
                        i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))
                    } else {
                        i64_at(d, 0)
                    }
                };
                let now = (int(e), int(a));
                let prev = self.ticks.replace(now);
                prev.is_none_or(|(pe, pa)| now.0 < pe || now.1 >= pa)
            }
            _ => true,
        }
    }
}

fn volatile_sysctl(mib: &[i32]) -> bool {
    // hostname, urandom, arandom, hardclock_ticks, file (kernel pointers),
    // msgbuf (the host's boot log), pool (kernel pointers), curproc.corename
    matches!(
        mib,
        [1, 10] | [1, 61] | [1, 81] | [1, 80] | [1, 15] | [1, 53] | [1, 1031] | [10, _, 1]
    )
}

/// The pids rule on getpid (r0, r1) and getppid (r0) answers.
pub fn pids(step: &Step, exp: &Outcome, act: &mut Outcome, st: &mut Norm) -> bool {
    let sysnum = step.sysnum();
    if st.exact_pids
        || !matches!(sysnum, Some(20 | 39))
        || exp.answers.len() != 1
        || act.answers.len() != 1
    {
        return false;
    }
    match (exp.answers[0], act.answers[0]) {
        (
            Answer::Syscall {
                error: ee,
                retval: er,
            },
            Answer::Syscall {
                error: ae,
                retval: ar,
            },
        ) if ee == ae => {
            let pid = |st: &mut Norm, r: i64, o: i64| {
                if r <= 1 || o <= 1 {
                    r == o
                } else {
                    st.pids.matches(r, o)
                }
            };
            if pid(st, er[0], ar[0]) && (sysnum == Some(39) || pid(st, er[1], ar[1])) {
                act.answers[0] = exp.answers[0];
                return true;
            }
            false
        }
        _ => false,
    }
}

/// Merged [start, end) ranges read, per kind, in order of first appearance.
pub fn coverage(
    reqs: &[(super::outcome::MemKind, u64, u64)],
) -> Vec<(super::outcome::MemKind, u64, u64)> {
    use super::outcome::MemKind;
    let mut out: Vec<(MemKind, u64, u64)> = Vec::new();
    for &(kind, addr, len) in reqs {
        match out.last_mut() {
            Some(last) if last.0 == kind && kind == MemKind::Copyin && addr == last.2 => {
                last.2 = addr.saturating_add(len)
            }
            _ => out.push((kind, addr, addr.saturating_add(len))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_sysctl_values_of_zero_bytes_or_repeated_are_not_blanked() {
        let mut st = Norm::default();
        let urandom = [1, 61];
        let rec = [7u8, 1, 2, 3];
        assert!(st.volatile_plausible(&urandom, &rec, &[9, 9, 9, 9]));
        assert!(!st.volatile_plausible(&urandom, &rec, &[0; 4]), "all zero");
        assert!(
            !st.volatile_plausible(&urandom, &rec, &[9, 9, 9, 9]),
            "a repeat"
        );
        assert!(st.volatile_plausible(&[1, 81], &[5; 16], &[6; 16]));
    }

    #[test]
    fn hardclock_ticks_going_back_are_not_blanked() {
        let mut st = Norm::default();
        let ticks = [1, 80];
        let v = |n: i32| n.to_le_bytes();
        assert!(st.volatile_plausible(&ticks, &v(100), &v(500)));
        assert!(st.volatile_plausible(&ticks, &v(120), &v(500)), "equal");
        assert!(!st.volatile_plausible(&ticks, &v(130), &v(499)), "back");
        // Where the recording's goes back too (a reboot), no order holds.
        let mut st = Norm::default();
        assert!(st.volatile_plausible(&ticks, &v(100), &v(500)));
        assert!(st.volatile_plausible(&ticks, &v(50), &v(10)));
    }

    #[test]
    fn a_value_the_client_wrote_is_not_blanked() {
        let mut st = Norm::default();
        st.sysctl_written
            .insert(vec![1, 10], b"rumpsp-test".to_vec());
        assert!(!st.volatile_plausible(&[1, 10], b"rumpsp-test\0", b"rumpsp-tesx\0"));
        assert!(st.volatile_plausible(&[1, 10], b"vm\0", b"ab\0"));
    }
}
