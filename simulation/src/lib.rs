//! # rumpsp-simulation
//!
//! A deterministic simulation of many rump_sp clients and one server in a
//! single process, driven by one `u64` seed, in the spirit of FoundationDB's
//! simulator and TigerBeetle's VOPR: the interleavings and faults that are
//! rare on real sockets happen on every run, and any failure replays exactly
//! from its seed.
//!
//! - [`net`]: byte streams with seeded delays, partial reads and writes,
//!   reordering across connections (never within one), stalls and
//!   disconnects in the middle of a frame; an event schedule on a virtual
//!   clock in microseconds.
//! - [`world`]: the production sans-IO server core with the simulated kernel
//!   behind it, and one production client session per connection.
//! - [`task`]: simulated processes and their threads as async tasks, polled
//!   only when the schedule has their answer.
//! - [`workload`]: clients doing random mixes of file, directory, pipe,
//!   sysctl, fork and exec operations, checked against a reference model.
//! - [`check`]: the end-of-run checkers.
//! - [`log`]: the event log, hashed field by field as it is recorded.
//!
//! Nothing reads the host clock or OS randomness, and every container that is
//! iterated is ordered: the same [`Options`] give a byte-identical event log.

pub mod check;
pub mod log;
pub mod net;
pub mod task;
pub mod workload;
pub mod world;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use rumpsp_protocol::kernel::Kernel;

pub use net::Faults;
pub use world::Stats;

use task::{Proc, Task};
use workload::Shared;
use world::World;

/// kern.hostname of the simulated server.
pub const HOSTNAME: &str = "rump-sim.rumpsp";

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Fixes everything: workloads, delays, faults, the kernel's randomness.
    pub seed: u64,
    /// Client processes started at time zero (forks add more).
    pub clients: usize,
    /// Operations each client performs (connecting counts as one).
    pub steps: u64,
    /// Network faults.
    pub faults: Faults,
    /// Keep the event log's text (its digest is always computed).
    pub keep_log: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            clients: 10,
            steps: 100,
            faults: Faults::LIGHT,
            keep_log: false,
        }
    }
}

impl Options {
    /// The command that reruns exactly this simulation.
    pub fn repro_command(&self) -> String {
        format!(
            "cargo run --release -- simulate --seed {} --clients {} --steps {} --faults {}",
            self.seed,
            self.clients,
            self.steps,
            self.faults.name().unwrap_or("light")
        )
    }
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct Report {
    /// What ran.
    pub options: Options,
    /// Counters.
    pub stats: Stats,
    /// Operations that completed, by kind.
    pub ops: BTreeMap<&'static str, u64>,
    /// Every checker failure (empty: the run passed).
    pub violations: Vec<String>,
    /// FNV-1a digest of the event log.
    pub digest: u64,
    /// Lines in the event log.
    pub log_lines: u64,
    /// The event log, when [`Options::keep_log`] was set.
    pub log: String,
}

impl Report {
    /// True when no checker failed.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Something broken on purpose, to show that a checker catches it (tests and
/// `rumpsp simulate --sabotage` use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sabotage {
    /// Once the clients are done, a process nobody owns is left in the kernel.
    LeakProcess,
    /// As soon as a client is connected, the server drops it (no fault injected).
    DropConnection,
}

impl Sabotage {
    /// By name: leak-process, drop-connection.
    pub fn by_name(name: &str) -> Option<Sabotage> {
        match name {
            "leak-process" => Some(Sabotage::LeakProcess),
            "drop-connection" => Some(Sabotage::DropConnection),
            _ => None,
        }
    }
}

/// One simulation: build it, optionally step it and interfere (tests do), finish it.
pub struct Simulation {
    opts: Options,
    world: World,
    shared: Rc<RefCell<Shared>>,
}

impl Simulation {
    /// The server booted and the clients of `opts` created, nothing run yet.
    pub fn new(opts: &Options) -> Simulation {
        let mut world = World::new(opts.seed, opts.faults, opts.keep_log, HOSTNAME);
        let shared = Rc::new(RefCell::new(Shared {
            hostname: HOSTNAME.to_owned(),
            ..Shared::default()
        }));
        for i in 0..opts.clients {
            let (p, chan) = Proc::new();
            let task: Task = Box::pin(workload::client(
                p,
                shared.clone(),
                i,
                opts.steps,
                opts.seed,
            ));
            world.spawn(format!("c{i}"), task, chan);
        }
        Simulation {
            opts: opts.clone(),
            world,
            shared,
        }
    }

    /// Adds a process running `f` (for scenarios beyond the random workload).
    pub fn spawn<F, Fut>(&mut self, name: &str, f: F)
    where
        F: FnOnce(Proc) -> Fut,
        Fut: std::future::Future<Output = ()> + 'static,
    {
        let (p, chan) = Proc::new();
        let task: Task = Box::pin(f(p));
        self.world.spawn(name.to_owned(), task, chan);
    }

    /// The world, to step or to interfere with.
    pub fn world(&mut self) -> &mut World {
        &mut self.world
    }

    /// Breaks something on purpose (see [`Sabotage`]).
    pub fn sabotage(&mut self, s: Sabotage) {
        let w = &mut self.world;
        match s {
            Sabotage::LeakProcess => {
                w.run();
                let _ = w.core_mut().kernel_mut().spawn_guest(b"ghost");
            }
            Sabotage::DropConnection => {
                while w.core().connection_count() == 0 && w.step() {}
                let core = w.core_mut();
                let first = core.connections().next();
                if let Some(id) = first {
                    core.close(id);
                }
            }
        }
    }

    /// Runs to the end, lets unredeemed preforks expire, and runs every check.
    pub fn finish(mut self) -> Report {
        let world = &mut self.world;
        world.run();
        let stuck = world.stuck();
        let ttl = world.core().limits().prefork_ttl_ms;
        world.idle((ttl + 1_000) * 1_000);
        let sh = self.shared.borrow();
        let mut violations = std::mem::take(&mut world.violations);
        violations.extend(stuck);
        violations.extend(sh.violations.iter().cloned());
        if let Err(e) = check::answers(&world.stats) {
            violations.push(e);
        }
        violations.extend(check::leftovers(world.core()));
        violations.extend(check::file_tree(world.core(), &sh));
        Report {
            options: self.opts.clone(),
            stats: world.stats,
            ops: sh.ops.clone(),
            violations,
            digest: world.log.digest(),
            log_lines: world.log.lines(),
            log: world.log.text().to_owned(),
        }
    }
}

/// Runs one simulation and all its checks.
pub fn run(opts: &Options) -> Report {
    Simulation::new(opts).finish()
}
