//! The spool's decisions against a simulated carbon and an in-memory
//! spool whose operations can fail: under any schedule the stats add up,
//! memory stays bounded, and once carbon and the spool are healthy every
//! datapoint not counted as dropped reaches carbon.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;

use super::{
    Output, OverflowPolicy, ReplayWindow, Sender, SenderConfig, Spool, SpoolDone, SpoolOp, Stats,
};
use crate::{Datapoint, MetricPath, Protocol};

const BUFFER: usize = 8 << 10;

struct Sim {
    sender: Sender,
    now: Instant,
    carbon_up: bool,
    spool_fails: bool,
    connected: bool,
    closed: bool,
    received: Vec<u8>,
    spool: VecDeque<(u64, Bytes)>,
    next: i64,
}

impl Sim {
    fn new(policy: OverflowPolicy) -> Self {
        let now = Instant::now();
        let config = SenderConfig::new(Protocol::Plaintext)
            .with_buffer_capacity(BUFFER)
            .with_batch_size(1 << 10)
            .with_overflow(policy)
            .with_replay(Some(ReplayWindow {
                max_age: Duration::from_millis(500),
                peer_unread: 1 << 10,
                max_bytes: 2 << 10,
            }))
            .with_spool(Spool::new("unused", 32 << 10));
        let mut sender = Sender::new(now, config).expect("valid");
        sender.on_spool_recovered(&[], 0);
        Self {
            sender,
            now,
            carbon_up: false,
            spool_fails: false,
            connected: false,
            closed: false,
            received: Vec::new(),
            spool: VecDeque::new(),
            next: 0,
        }
    }

    fn check(&self) {
        let stats = self.sender.stats();
        assert!(stats.is_consistent(), "{stats:?}");
        // The buffer, the spill queue's share, and one record read back.
        assert!(
            stats.buffered_bytes <= BUFFER + BUFFER / 4 + (1 << 10),
            "{stats:?}"
        );
    }

    fn push(&mut self, n: usize) {
        let path = MetricPath::new("sim.spool").expect("valid");
        for _ in 0..n {
            let dp = Datapoint::new(path.clone(), self.next, self.next);
            self.next += 1;
            let _ = self.sender.push_or_drop(self.now, &dp);
            self.check();
        }
    }

    fn spool_op(&mut self, op: SpoolOp) {
        // A full disk: appends and syncs fail; reads and removals of what
        // is there still work.
        if self.spool_fails && matches!(op, SpoolOp::Append { .. } | SpoolOp::Sync) {
            self.sender.on_spool_done(self.now, Err(&"disk full"));
            return;
        }
        let done = match op {
            SpoolOp::Append { id, bytes, .. } => {
                self.spool.push_back((id, bytes));
                SpoolDone::Ok
            }
            SpoolOp::Read { id } => match self.spool.iter().find(|(i, _)| *i == id) {
                Some((_, bytes)) => SpoolDone::Read(bytes.clone()),
                None => {
                    self.sender.on_spool_done(self.now, Err(&"no such record"));
                    return;
                }
            },
            SpoolOp::Remove { through } => {
                self.spool.retain(|(i, _)| *i > through);
                SpoolDone::Ok
            }
            SpoolOp::Sync => SpoolDone::Ok,
        };
        self.sender.on_spool_done(self.now, Ok(done));
    }

    fn run(&mut self) {
        for _ in 0..100_000 {
            self.sender.handle_timeout(self.now);
            let mut progressed = false;
            while let Some(output) = self.sender.poll_output(self.now) {
                progressed = true;
                match output {
                    Output::Connect if self.carbon_up => {
                        self.connected = true;
                        self.sender.on_connected(self.now);
                    }
                    Output::Connect => self.sender.on_connect_failed(self.now, &"refused"),
                    Output::Transmit(bytes) if self.connected && self.carbon_up => {
                        self.received.extend_from_slice(&bytes);
                        self.sender.on_written(self.now, bytes.len());
                    }
                    Output::Transmit(_) => {
                        self.connected = false;
                        self.sender.on_error(self.now, &"reset");
                    }
                    Output::Disconnect => self.connected = false,
                    Output::Close => {
                        self.connected = false;
                        self.closed = true;
                    }
                    Output::Spool(op) => self.spool_op(op),
                    Output::Event(_) => {}
                }
                self.check();
                if self.closed {
                    return;
                }
            }
            if !progressed {
                return;
            }
        }
        panic!("the sender never settles");
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.run();
    }

    fn received_values(&self) -> BTreeSet<i64> {
        String::from_utf8_lossy(&self.received)
            .lines()
            .filter_map(|l| l.split(' ').nth(1)?.parse().ok())
            .collect()
    }
}

#[derive(Clone, Debug)]
enum Step {
    Push(usize),
    Carbon(bool),
    SpoolFails(bool),
    Advance(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1usize..400).prop_map(Step::Push),
        1 => any::<bool>().prop_map(Step::Carbon),
        1 => any::<bool>().prop_map(Step::SpoolFails),
        2 => (1u64..3_000).prop_map(Step::Advance),
    ]
}

fn settle(sim: &mut Sim) -> Stats {
    sim.carbon_up = true;
    sim.spool_fails = false;
    for _ in 0..1_000 {
        sim.advance(Duration::from_millis(200));
        let stats = sim.sender.stats();
        if stats.spool_held == 0 && stats.buffered == 0 {
            break;
        }
    }
    sim.sender.close(sim.now + Duration::from_secs(10));
    while !sim.closed {
        sim.advance(Duration::from_millis(200));
    }
    sim.sender.stats()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(100)
    ))]

    /// Nothing is lost silently: every datapoint accepted reaches carbon
    /// unless counted as dropped, whatever carbon and the spool did.
    #[test]
    fn the_spool_loses_nothing_uncounted(
        steps in prop::collection::vec(step(), 1..60),
        drop_oldest in any::<bool>(),
    ) {
        let policy = if drop_oldest { OverflowPolicy::DropOldest } else { OverflowPolicy::DropNewest };
        let mut sim = Sim::new(policy);
        sim.run();
        for step in steps {
            match step {
                Step::Push(n) => sim.push(n),
                Step::Carbon(up) => sim.carbon_up = up,
                Step::SpoolFails(fails) => sim.spool_fails = fails,
                Step::Advance(ms) => sim.advance(Duration::from_millis(ms)),
            }
            sim.run();
        }
        let stats = settle(&mut sim);
        prop_assert!(stats.is_consistent(), "{:?}", stats);
        prop_assert_eq!((stats.buffered, stats.spool_held), (0, 0));
        prop_assert!(sim.spool.is_empty(), "records left: {}", sim.spool.len());
        let delivered = sim.received_values().len() as u64;
        let lost = stats.dropped.after_accept() + stats.dropped.from_spool();
        prop_assert!(delivered + lost >= stats.accepted, "{} delivered, {} lost: {:?}", delivered, lost, stats);
        prop_assert!(delivered <= stats.accepted);
    }
}

#[test]
fn an_outage_spills_instead_of_dropping_and_the_spool_drains() {
    let mut sim = Sim::new(OverflowPolicy::DropNewest);
    sim.run();
    // Three times the buffer, the driver running between small pushes.
    for _ in 0..50 {
        sim.push(20);
        sim.run();
    }
    let stats = sim.sender.stats();
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(stats.spooled > 0, "{stats:?}");
    let stats = settle(&mut sim);
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert_eq!(sim.received_values().len(), 1000);
}
