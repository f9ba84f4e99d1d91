//! The state machine against a simulated carbon and simulated time: no
//! sockets, no clock. The peer accepts, stalls, resets, refuses and crashes
//! (losing what it received during its last moments, as a SIGKILLed carbon
//! loses its cache) on a scripted or random schedule.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use proptest::prelude::*;

use super::*;
use crate::path::MetricPath;
use crate::pickle::PickleDecoder;
use crate::plaintext::PlaintextDecoder;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    /// Accepts up to this many bytes per write.
    Accepting(usize),
    /// Accepts connections, reads nothing.
    Stalled,
    /// Refuses connections (carbon down).
    Refusing,
    /// Reads this many bytes a second through a kernel send queue (see
    /// [`Kernel`]); 0 stops reading.
    Slow(u64),
    /// Accepts connections, takes this many bytes on each, then resets it.
    Flaky(usize),
}

/// Our kernel's send queue towards a [`Peer::Slow`] reader, as Linux
/// behaves: writes fill it up to `cap`; once full, the socket is writable
/// again only when half of it has drained. The adapter reports its length
/// after each write and at each timer, as `SIOCOUTQ` would.
struct Kernel {
    queue: VecDeque<u8>,
    cap: usize,
    full: bool,
    drained_at: Instant,
    /// Fractional bytes owed by the rate.
    credit: f64,
}

impl Kernel {
    fn new(cap: usize, now: Instant) -> Self {
        Self {
            queue: VecDeque::new(),
            cap,
            full: false,
            drained_at: now,
            credit: 0.0,
        }
    }

    /// What the reader took since the last call, at `rate` bytes a second.
    fn drain(&mut self, now: Instant, rate: u64) -> Vec<u8> {
        self.credit += now.saturating_duration_since(self.drained_at).as_secs_f64() * rate as f64;
        self.drained_at = now;
        let n = (self.credit as usize).min(self.queue.len());
        self.credit -= n as f64;
        if self.queue.is_empty() {
            self.credit = 0.0;
        }
        if self.queue.len() - n <= self.cap / 2 {
            self.full = false;
        }
        self.queue.drain(..n).collect()
    }

    /// How much of `len` bytes a write takes now (0: it would block).
    fn room(&self, len: usize) -> usize {
        if self.full {
            0
        } else {
            len.min(self.cap - self.queue.len())
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        self.queue.extend(bytes);
        if self.queue.len() >= self.cap {
            self.full = true;
        }
    }
}

/// One connection's bytes as carbon received them, with arrival times.
#[derive(Default)]
struct Stream {
    chunks: Vec<(Instant, Vec<u8>)>,
}

struct Sim {
    sender: Sender,
    now: Instant,
    peer: Peer,
    connected: bool,
    closed: bool,
    /// Streams whose data carbon processed (stored).
    stored: Vec<Stream>,
    current: Stream,
    events: Vec<Event>,
    next_ts: i64,
    sent: Vec<(String, i64)>,
    /// Every byte the peer took, including what a crash later loses.
    received_bytes: u64,
    /// Datapoints handed to `push`, whatever became of them.
    attempts: u64,
    /// The send queue of the current connection to a slow peer.
    kernel: Option<Kernel>,
    /// Its size.
    kernel_cap: usize,
    /// Bytes taken on the current connection (for a flaky peer).
    taken: usize,
    /// When each connection was made.
    connected_at: Vec<Instant>,
    /// When the current write started waiting, and the longest wait seen.
    waiting_since: Option<Instant>,
    longest_wait: Duration,
}

impl Sim {
    fn new(config: SenderConfig) -> Self {
        let now = Instant::now();
        Self {
            sender: Sender::new(now, config).expect("valid config"),
            now,
            peer: Peer::Accepting(usize::MAX),
            connected: false,
            closed: false,
            stored: Vec::new(),
            current: Stream::default(),
            events: Vec::new(),
            next_ts: 1_000_000,
            sent: Vec::new(),
            received_bytes: 0,
            attempts: 0,
            kernel: None,
            kernel_cap: 4 << 20,
            taken: 0,
            connected_at: Vec::new(),
            waiting_since: None,
            longest_wait: Duration::ZERO,
        }
    }

    /// The slow reader takes what its rate allows up to now; the adapter
    /// reports the queue (after `handle_timeout`, as the drive loops do).
    fn drain_kernel(&mut self) {
        let Peer::Slow(rate) = self.peer else {
            return;
        };
        let Some(kernel) = self.kernel.as_mut() else {
            return;
        };
        let read = kernel.drain(self.now, rate);
        let queued = kernel.queue.len();
        if !read.is_empty() {
            self.current.chunks.push((self.now, read));
        }
        self.sender.on_send_queue(self.now, queued);
    }

    /// The peer changes behaviour; a slow reader that speeds up first
    /// reads what its queue held, so the stream has no gap.
    fn set_peer(&mut self, peer: Peer) {
        if let Some(kernel) = self.kernel.take()
            && !kernel.queue.is_empty()
        {
            self.current.chunks.push((self.now, kernel.queue.into()));
        }
        self.waiting_since = None;
        self.peer = peer;
        if let (Peer::Slow(_), true) = (peer, self.connected) {
            self.kernel = Some(Kernel::new(self.kernel_cap, self.now));
        }
        self.run();
    }

    fn wait_ended(&mut self) {
        if let Some(since) = self.waiting_since.take() {
            self.longest_wait = self.longest_wait.max(self.now - since);
        }
    }

    fn push(&mut self, n: usize) {
        for _ in 0..n {
            let ts = self.next_ts;
            self.next_ts += 1;
            let name = format!("sim.series{}", ts % 7);
            let dp = Datapoint::new(MetricPath::new(&name).expect("valid"), ts, ts);
            self.attempts += 1;
            if self.sender.push(self.now, &dp).is_ok() {
                self.sent.push((name, ts));
            }
            self.check();
        }
    }

    /// Runs the adapter loop until nothing more happens at this instant.
    fn run(&mut self) {
        // Enough for a peer taking one byte per write to drain a full buffer.
        for _ in 0..1_000_000 {
            self.sender.handle_timeout(self.now);
            self.drain_kernel();
            let mut progressed = false;
            while let Some(output) = self.sender.poll_output(self.now) {
                match output {
                    Output::Connect => {
                        progressed = true;
                        if self.peer == Peer::Refusing {
                            self.sender
                                .on_connect_failed(self.now, &"connection refused");
                        } else {
                            self.connected = true;
                            self.taken = 0;
                            self.connected_at.push(self.now);
                            if matches!(self.peer, Peer::Slow(_)) {
                                self.kernel = Some(Kernel::new(self.kernel_cap, self.now));
                            }
                            self.sender.on_connected(self.now);
                        }
                    }
                    Output::Disconnect => {
                        progressed = true;
                        self.end_connection();
                    }
                    Output::Close => {
                        progressed = true;
                        self.end_connection();
                        self.closed = true;
                    }
                    Output::Event(event) => self.events.push(event),
                    Output::Spool(op) => panic!("no spool configured: {op:?}"),
                    Output::Transmit(bytes) => {
                        assert!(self.connected, "transmit only while connected");
                        match self.peer {
                            Peer::Accepting(max) => {
                                let n = bytes.len().min(max);
                                self.current.chunks.push((self.now, bytes[..n].to_vec()));
                                self.received_bytes += n as u64;
                                self.sender.on_written(self.now, n);
                                progressed = true;
                            }
                            // The write waits; the adapter waits for a timer.
                            Peer::Stalled => break,
                            Peer::Slow(_) => {
                                let (cap, now) = (self.kernel_cap, self.now);
                                let kernel =
                                    self.kernel.get_or_insert_with(|| Kernel::new(cap, now));
                                let n = kernel.room(bytes.len());
                                if n == 0 {
                                    self.waiting_since.get_or_insert(self.now);
                                    break;
                                }
                                kernel.take(&bytes[..n]);
                                let queued = kernel.queue.len();
                                self.received_bytes += n as u64;
                                self.wait_ended();
                                self.sender.on_send_queue(self.now, queued);
                                self.sender.on_written(self.now, n);
                                progressed = true;
                            }
                            Peer::Flaky(max) if self.taken >= max => {
                                self.end_connection();
                                self.sender.on_error(self.now, &"connection reset by peer");
                                progressed = true;
                            }
                            Peer::Flaky(max) => {
                                let n = bytes.len().min(max - self.taken);
                                self.taken += n;
                                self.current.chunks.push((self.now, bytes[..n].to_vec()));
                                self.received_bytes += n as u64;
                                self.sender.on_written(self.now, n);
                                progressed = true;
                            }
                            Peer::Refusing => {
                                // Carbon died under an open connection: the write fails.
                                self.end_connection();
                                self.sender.on_error(self.now, &"connection reset by peer");
                                progressed = true;
                            }
                        }
                    }
                }
            }
            self.check();
            if !progressed {
                return;
            }
        }
        panic!("adapter loop does not settle");
    }

    /// The connection ends: what a slow peer's queue still held is lost
    /// with it (a reset, or a reader that died).
    fn end_connection(&mut self) {
        self.kernel = None;
        self.waiting_since = None;
        if self.connected {
            self.connected = false;
            self.stored.push(std::mem::take(&mut self.current));
        }
    }

    fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(t) = self.sender.poll_timeout().filter(|&t| t <= until) {
            self.now = self.now.max(t);
            self.run();
            if self.sender.poll_timeout() == Some(t) && t <= self.now {
                break;
            }
        }
        self.now = until;
        self.run();
    }

    /// Carbon is SIGKILLed: what it received during the last `lost` is gone,
    /// and it refuses connections until `restart`.
    fn crash(&mut self, lost: Duration) {
        let cutoff = self.now - lost;
        self.kernel = None;
        self.waiting_since = None;
        if self.connected {
            self.connected = false;
            let mut stream = std::mem::take(&mut self.current);
            // Carbon had not processed the tail: drop it.
            stream.chunks.retain(|(t, _)| *t < cutoff);
            self.stored.push(stream);
        }
        // The next write on the old socket fails.
        self.peer = Peer::Refusing;
        self.sender.on_error(self.now, &"connection reset by peer");
        self.run();
    }

    /// Carbon is SIGKILLed while the network holds `lost` bytes (a slow
    /// reader): the last `lost` bytes it was sent never reach it.
    fn crash_losing_bytes(&mut self, lost: usize) {
        if self.connected {
            self.connected = false;
            let mut stream = std::mem::take(&mut self.current);
            let mut left = lost;
            while left > 0 {
                let Some((_, chunk)) = stream.chunks.last_mut() else {
                    break;
                };
                let cut = left.min(chunk.len());
                chunk.truncate(chunk.len() - cut);
                left -= cut;
                if chunk.is_empty() {
                    stream.chunks.pop();
                }
            }
            self.stored.push(stream);
        }
        self.peer = Peer::Refusing;
        self.sender.on_error(self.now, &"connection reset by peer");
        self.run();
    }

    fn check(&self) {
        let stats = self.sender.stats();
        assert!(stats.is_consistent(), "{stats:?}");
        assert_eq!(stats.written_bytes, self.received_bytes, "{stats:?}");
        assert!(
            stats.buffered_bytes <= self.sender.config().buffer_capacity,
            "{stats:?}"
        );
        // Counted independently of the sender: every push is accounted for.
        assert_eq!(stats.pushed(), self.attempts, "{stats:?}");
        assert!(stats.accepted >= self.sent.len() as u64);
    }

    /// Every (series, timestamp) carbon stored.
    fn stored_points(&self) -> HashSet<(String, i64)> {
        let mut out = HashSet::new();
        for stream in self.stored.iter().chain([&self.current]) {
            let mut buf = BytesMut::new();
            for (_, chunk) in &stream.chunks {
                buf.extend_from_slice(chunk);
            }
            match self.sender.config().protocol {
                Protocol::Pickle => {
                    let mut decoder = PickleDecoder::new();
                    while let Ok(Some(frame)) = decoder.decode(&mut buf) {
                        for dp in frame.into_iter().flatten() {
                            out.insert((dp.path.as_str().to_owned(), dp.timestamp));
                        }
                    }
                }
                _ => {
                    let mut decoder = PlaintextDecoder::new();
                    // A partial last line is discarded, as carbon does.
                    while let Some(r) = decoder.decode(&mut buf) {
                        let dp = r.expect("only whole, valid lines");
                        out.insert((dp.path.as_str().to_owned(), dp.timestamp));
                    }
                }
            }
        }
        out
    }

    fn missing(&self) -> usize {
        let stored = self.stored_points();
        self.sent.iter().filter(|p| !stored.contains(*p)).count()
    }
}

fn config(protocol: Protocol) -> SenderConfig {
    SenderConfig::new(protocol)
        .with_batch_size(1024)
        .with_buffer_capacity(64 << 10)
        .with_backoff(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            jitter: 0.5,
            seed: 7,
        })
}

#[test]
fn batches_by_size_or_delay() {
    let mut sim =
        Sim::new(config(Protocol::Plaintext).with_batch_delay(Duration::from_millis(100)));
    sim.run();
    sim.push(3);
    sim.run();
    assert_eq!(
        sim.sender.stats().written,
        0,
        "a small batch waits for its delay"
    );
    sim.advance(Duration::from_millis(99));
    assert_eq!(sim.sender.stats().written, 0);
    sim.advance(Duration::from_millis(1));
    assert_eq!(
        sim.sender.stats().written,
        3,
        "written 100 ms after the first datapoint"
    );
    // ~30-byte lines: 1024 bytes fill after about 34 of them, at once.
    sim.push(100);
    sim.run();
    assert!(
        sim.sender.stats().written >= 3 + 60,
        "{:?}",
        sim.sender.stats()
    );
}

#[test]
fn survives_restarts_with_replay() {
    for protocol in [Protocol::Plaintext, Protocol::Pickle] {
        let mut sim = Sim::new(config(protocol).with_buffer_capacity(1 << 20));
        for round in 0..3 {
            for _ in 0..20 {
                sim.push(50);
                sim.advance(Duration::from_millis(50));
            }
            // Carbon loses its last second, then is down for 3 s.
            sim.crash(Duration::from_secs(1));
            sim.push(200);
            sim.advance(Duration::from_secs(3));
            assert!(!sim.sender.is_connected(), "round {round}");
            sim.peer = Peer::Accepting(700);
            sim.advance(Duration::from_secs(2));
            assert!(sim.sender.is_connected(), "round {round}");
        }
        sim.sender.close(sim.now + Duration::from_secs(5));
        sim.advance(Duration::from_secs(1));
        assert!(sim.closed);
        let stats = sim.sender.stats();
        assert_eq!(stats.dropped.total(), 0, "{stats:?}");
        assert_eq!(stats.written, stats.accepted);
        assert!(stats.replayed > 0);
        assert_eq!(
            sim.missing(),
            0,
            "{protocol:?}: replay must cover the lost second"
        );
        let outages = sim
            .events
            .iter()
            .filter(|e| matches!(e, Event::OutageStarted { .. }))
            .count();
        let recoveries = sim
            .events
            .iter()
            .filter(|e| matches!(e, Event::Recovered { .. }))
            .count();
        assert_eq!(
            (outages, recoveries),
            (3, 3),
            "one warning and one recovery per outage"
        );
    }
}

#[test]
fn without_replay_the_loss_is_bounded_by_unconfirmed() {
    let mut sim = Sim::new(
        config(Protocol::Plaintext)
            .with_replay(None)
            .with_buffer_capacity(1 << 20),
    );
    for _ in 0..2 {
        for _ in 0..20 {
            sim.push(50);
            sim.advance(Duration::from_millis(50));
        }
        sim.crash(Duration::from_secs(1));
        sim.advance(Duration::from_secs(1));
        sim.peer = Peer::Accepting(usize::MAX);
        sim.advance(Duration::from_secs(2));
    }
    sim.sender.close(sim.now + Duration::from_secs(5));
    sim.advance(Duration::from_secs(1));
    let stats = sim.sender.stats();
    let missing = sim.missing() as u64;
    assert!(missing > 0, "the crash lost something");
    assert!(
        missing <= stats.unconfirmed,
        "missing {missing} > unconfirmed {}",
        stats.unconfirmed
    );
    assert_eq!(stats.replayed, 0);
}

#[test]
fn a_peer_that_stops_reading_is_dropped_and_the_buffer_stays_bounded() {
    let mut sim = Sim::new(config(Protocol::Plaintext).with_write_timeout(Duration::from_secs(2)));
    sim.run();
    sim.peer = Peer::Stalled;
    for _ in 0..100 {
        sim.push(200);
        sim.advance(Duration::from_millis(100));
    }
    let stats = sim.sender.stats();
    assert!(stats.dropped.buffer_full > 0, "{stats:?}");
    assert!(stats.buffered_bytes <= 64 << 10);
    assert!(
        stats.disconnects >= 1,
        "the stalled peer was detected: {stats:?}"
    );
}

#[test]
fn drop_oldest_keeps_the_newest() {
    let mut sim = Sim::new(
        config(Protocol::Plaintext)
            .with_overflow(OverflowPolicy::DropOldest)
            .with_replay(None),
    );
    sim.peer = Peer::Refusing;
    sim.run();
    sim.push(10_000);
    let stats = sim.sender.stats();
    assert!(stats.dropped.evicted > 0);
    assert_eq!(stats.dropped.buffer_full, 0);
    sim.peer = Peer::Accepting(usize::MAX);
    sim.advance(Duration::from_secs(2));
    sim.sender.close(sim.now + Duration::from_secs(1));
    sim.advance(Duration::from_secs(1));
    let stored = sim.stored_points();
    let newest = sim.sent.last().expect("sent").clone();
    assert!(stored.contains(&newest), "the newest datapoint survives");
}

#[test]
fn wait_policy_asks_to_wait_without_counting() {
    let mut sim = Sim::new(
        config(Protocol::Plaintext).with_overflow(OverflowPolicy::Wait(Duration::from_secs(1))),
    );
    sim.peer = Peer::Refusing;
    sim.run();
    let dp = Datapoint::new(MetricPath::new("a").expect("valid"), 1, 1);
    let mut outcome = Ok(false);
    for _ in 0..100_000 {
        outcome = sim.sender.push(sim.now, &dp);
        if outcome.is_err() {
            break;
        }
    }
    assert_eq!(outcome, Err(PushError::WouldBlock));
    assert!(!sim.sender.has_room());
    let before = sim.sender.stats().dropped.total();
    assert_eq!(sim.sender.push_or_drop(sim.now, &dp), Err(PushError::Full));
    assert_eq!(sim.sender.stats().dropped.total(), before + 1);
}

#[test]
fn push_many_accepts_what_fits_and_counts_the_rest() {
    let mut sim = Sim::new(config(Protocol::Plaintext).with_replay(None));
    sim.peer = Peer::Refusing;
    sim.run();
    let path = MetricPath::new("many.points").expect("valid");
    let batch: Vec<Datapoint> = (0..5_000)
        .map(|t| Datapoint::new(path.clone(), t, t))
        .collect();
    // 64 KiB of buffer holds about 2,200 of these 30-byte lines.
    let err = sim
        .sender
        .push_many_or_drop(sim.now, &batch)
        .expect_err("the buffer overflows");
    sim.attempts += 5_000;
    let stats = sim.sender.stats();
    assert_eq!(err.total, 5_000);
    assert_eq!(err.first_reason, PushError::Full);
    assert_eq!(err.first_index as u64, stats.accepted);
    assert_eq!(err.dropped as u64, stats.dropped.buffer_full);
    assert_eq!(stats.accepted + stats.dropped.total(), 5_000);
    assert!(stats.is_consistent(), "{stats:?}");
    sim.peer = Peer::Accepting(usize::MAX);
    sim.advance(Duration::from_secs(2));
    sim.sender.close(sim.now + Duration::from_secs(1));
    sim.advance(Duration::from_secs(1));
    let stored = sim.stored_points();
    assert_eq!(
        stored.len() as u64,
        stats.accepted,
        "the accepted prefix arrives"
    );
    assert!(stored.contains(&("many.points".to_owned(), 0)));

    // An empty slice drops nothing, even after close.
    assert_eq!(
        sim.sender.push_many_or_drop(sim.now, &batch[..0]),
        Ok(false)
    );
}

#[test]
fn close_deadline_drops_and_counts_what_cannot_be_written() {
    let mut sim = Sim::new(config(Protocol::Pickle));
    sim.peer = Peer::Refusing;
    sim.run();
    sim.push(500);
    sim.sender.close(sim.now + Duration::from_secs(1));
    sim.advance(Duration::from_millis(999));
    assert!(!sim.closed);
    sim.advance(Duration::from_millis(1));
    assert!(sim.closed);
    let stats = sim.sender.stats();
    assert_eq!(stats.dropped.deadline, 500);
    assert_eq!(stats.buffered, 0);
    let dp = Datapoint::new(MetricPath::new("late").expect("valid"), 1, 1);
    assert_eq!(sim.sender.push(sim.now, &dp), Err(PushError::Closed));
    assert_eq!(sim.sender.stats().dropped.closed, 1);
}

#[test]
fn replay_covers_what_the_network_still_holds_whatever_its_age() {
    // A slow reader: 300 KB of what we wrote sits in our kernel's send
    // queue, older than a replay window of 2 s, when carbon dies.
    let queued = 300_000;
    let mut sim = Sim::new(
        config(Protocol::Plaintext)
            .with_buffer_capacity(4 << 20)
            .with_replay(Some(ReplayWindow {
                peer_unread: 64 << 10,
                max_age: Duration::from_secs(2),
                ..ReplayWindow::default()
            })),
    );
    for _ in 0..300 {
        sim.push(100);
        sim.advance(Duration::from_millis(100));
        sim.sender.on_send_queue(sim.now, queued);
    }
    sim.crash_losing_bytes(queued + (64 << 10));
    sim.peer = Peer::Accepting(usize::MAX);
    sim.advance(Duration::from_secs(2));
    sim.sender.close(sim.now + Duration::from_secs(5));
    sim.advance(Duration::from_secs(5));
    assert_eq!(sim.missing(), 0, "{:?}", sim.sender.stats());
    assert!(
        sim.received_bytes > 2 * (queued as u64 + (64 << 10)),
        "the loss is a part of the stream"
    );

    // Without the report, only the age and the allowance count: the loss shows.
    let mut sim = Sim::new(
        config(Protocol::Plaintext)
            .with_buffer_capacity(4 << 20)
            .with_replay(Some(ReplayWindow {
                peer_unread: 64 << 10,
                max_age: Duration::from_secs(2),
                ..ReplayWindow::default()
            })),
    );
    for _ in 0..300 {
        sim.push(100);
        sim.advance(Duration::from_millis(100));
    }
    sim.crash_losing_bytes(queued + (64 << 10));
    sim.peer = Peer::Accepting(usize::MAX);
    sim.advance(Duration::from_secs(2));
    sim.sender.close(sim.now + Duration::from_secs(5));
    sim.advance(Duration::from_secs(5));
    assert!(sim.missing() > 0, "the test can fail");
}

#[test]
fn a_close_deadline_beats_a_write_to_a_peer_that_stopped_reading() {
    // The write timeout (10 s) is far off; the close deadline (1 s) wins.
    let mut sim = Sim::new(config(Protocol::Plaintext).with_write_timeout(Duration::from_secs(10)));
    sim.run();
    sim.peer = Peer::Stalled;
    sim.push(2_000);
    sim.advance(Duration::from_millis(200));
    assert!(sim.sender.stats().buffered > 0, "the peer holds the writes");
    let start = sim.now;
    sim.sender.close(start + Duration::from_secs(1));
    // The next timer is a send-queue sample or the deadline, never the
    // far-off write timeout.
    let next = sim.sender.poll_timeout().expect("a timer");
    assert!(
        next <= start + Duration::from_secs(1),
        "the deadline comes before the write timeout: {:?}",
        next - start
    );
    sim.advance(Duration::from_millis(999));
    assert!(!sim.closed, "not before the deadline");
    sim.advance(Duration::from_millis(1));
    assert!(sim.closed, "closed at the deadline");
    let stats = sim.sender.stats();
    assert_eq!(stats.buffered, 0);
    assert_eq!(
        stats.written + stats.dropped.deadline,
        stats.accepted,
        "{stats:?}"
    );
    assert!(stats.dropped.deadline > 0, "{stats:?}");
}

#[test]
fn prefix_and_default_tags_apply_to_every_push() {
    let config = config(Protocol::Plaintext)
        .with_prefix("prod")
        .and_then(|c| c.with_default_tags([("dc", "eu")]))
        .expect("valid");
    let mut sim = Sim::new(config);
    sim.push(3);
    sim.sender.close(sim.now + Duration::from_secs(1));
    sim.advance(Duration::from_secs(1));
    let stored = sim.stored_points();
    assert!(
        stored.contains(&("prod.sim.series3;dc=eu".to_owned(), 1_000_002)),
        "{stored:?}"
    );
    assert_eq!(stored.len(), 3);
    // Nodes of 200 bytes up to the longest valid name: the prefix makes it too long.
    let node = "x".repeat(200);
    let mut long = node.clone();
    while long.len() + node.len() < crate::MAX_PATH_LEN {
        long = format!("{long}.{node}");
    }
    let rest = crate::MAX_PATH_LEN - long.len() - 1;
    long = format!("{long}.{}", "y".repeat(rest));
    let dp = Datapoint::new(MetricPath::new(&long).expect("valid alone"), 1, 1);
    let mut sender = Sender::new(sim.now, config_with_prefix()).expect("valid");
    assert!(matches!(sender.push(sim.now, &dp), Err(PushError::Name(_))));
    assert_eq!(sender.stats().dropped.invalid, 1);
    assert_eq!(sender.stats().pushed(), 1);
}

fn config_with_prefix() -> SenderConfig {
    config(Protocol::Plaintext)
        .with_prefix("prod")
        .expect("valid")
}

#[test]
fn periodic_reconnect_is_clean() {
    let mut sim =
        Sim::new(config(Protocol::Plaintext).with_reconnect_interval(Some(Duration::from_secs(1))));
    for _ in 0..50 {
        sim.push(20);
        sim.advance(Duration::from_millis(100));
    }
    let stats = sim.sender.stats();
    assert!(stats.periodic_reconnects >= 4, "{stats:?}");
    assert_eq!(stats.replayed, 0, "a clean reconnect replays nothing");
    assert_eq!(stats.disconnects, 0);
    sim.sender.close(sim.now + Duration::from_secs(1));
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.missing(), 0);
}

#[test]
fn backoff_grows_while_the_peer_refuses() {
    let mut sim = Sim::new(config(Protocol::Plaintext));
    sim.peer = Peer::Refusing;
    sim.advance(Duration::from_secs(10));
    let failures = sim.sender.stats().connect_failures;
    // 100 ms doubling to a 1 s cap, with up to 50 % jitter: between 10 and 25 attempts.
    assert!((8..=25).contains(&failures), "{failures}");
}

#[test]
fn udp_sends_whole_datagrams_and_never_replays() {
    let mut sim = Sim::new(config(Protocol::Udp).with_max_datagram_len(200));
    sim.push(100);
    sim.advance(Duration::from_millis(200));
    let stats = sim.sender.stats();
    assert_eq!(stats.written, 100);
    for stream in &sim.stored {
        assert!(
            stream
                .chunks
                .iter()
                .all(|(_, c)| c.len() <= 200 && c.ends_with(b"\n"))
        );
    }
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Push(usize),
    Advance(u64),
    Peer(Peer),
    Crash(u64),
    Flush(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1usize..300).prop_map(Step::Push),
        4 => (1u64..3000).prop_map(Step::Advance),
        1 => prop_oneof![
            (1usize..5000).prop_map(Peer::Accepting),
            Just(Peer::Stalled),
            Just(Peer::Refusing),
            (0u64..200_000).prop_map(Peer::Slow),
            (1usize..20_000).prop_map(Peer::Flaky),
        ].prop_map(Step::Peer),
        1 => (0u64..3000).prop_map(Step::Crash),
        1 => (0u64..2000).prop_map(Step::Flush),
    ]
}

proptest! {
    // PROPTEST_CASES=20000 for a longer hunt; 200 keeps the suite quick.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
    ))]

    /// Under any schedule every datapoint is written, buffered, or dropped
    /// and counted; memory stays bounded; after a final close with a
    /// healthy peer nothing is left buffered.
    #[test]
    fn accounting_holds_under_any_schedule(
        steps in prop::collection::vec(step(), 1..60),
        pickle in any::<bool>(),
        replay in any::<bool>(),
        drop_oldest in any::<bool>(),
    ) {
        let protocol = if pickle { Protocol::Pickle } else { Protocol::Plaintext };
        let overflow = if drop_oldest { OverflowPolicy::DropOldest } else { OverflowPolicy::DropNewest };
        let mut sim = Sim::new(
            config(protocol)
                .with_overflow(overflow)
                .with_replay(replay.then(ReplayWindow::default))
                .with_write_timeout(Duration::from_secs(2)),
        );
        for step in steps {
            match step {
                Step::Push(n) => sim.push(n),
                Step::Advance(ms) => sim.advance(Duration::from_millis(ms)),
                Step::Peer(p) => sim.set_peer(p),
                Step::Crash(ms) => sim.crash(Duration::from_millis(ms)),
                Step::Flush(ms) => { sim.sender.flush(sim.now + Duration::from_millis(ms)); sim.run(); }
            }
        }
        sim.set_peer(Peer::Accepting(usize::MAX));
        sim.sender.close(sim.now + Duration::from_secs(30));
        sim.advance(Duration::from_secs(31));
        prop_assert!(sim.closed);
        let stats = sim.sender.stats();
        prop_assert!(stats.is_consistent(), "{:?}", stats);
        prop_assert_eq!(stats.buffered, 0);
        prop_assert_eq!(stats.pushed(), sim.sent.len() as u64 + stats.dropped.buffer_full + stats.dropped.closed + stats.dropped.too_large);
        // Carbon never sees a datapoint that was not sent, nor a torn one
        // (`stored_points` accepts whole, valid lines and frames only).
        let sent: HashSet<(String, i64)> = sim.sent.iter().cloned().collect();
        prop_assert!(sim.stored_points().is_subset(&sent));
    }
}

/// A config with the default buffer, batch size, replay window and write
/// timeout, and a fixed backoff seed.
fn default_sized() -> SenderConfig {
    SenderConfig::new(Protocol::Plaintext).with_backoff(Backoff {
        seed: 7,
        ..Backoff::default()
    })
}

impl Sim {
    /// Pushes `n` datapoints a second for `secs` seconds, in 100 ms steps.
    fn stream(&mut self, per_second: usize, secs: u64) {
        for _ in 0..secs * 10 {
            self.push(per_second / 10);
            self.advance(Duration::from_millis(100));
        }
    }

    /// Advances until everything is written and the peer has read it, or
    /// `limit` passes.
    fn settle(&mut self, limit: Duration) {
        let until = self.now + limit;
        while self.now < until {
            let drained = self.kernel.as_ref().is_none_or(|k| k.queue.is_empty());
            if self.sender.stats().buffered == 0 && drained && self.connected {
                return;
            }
            self.advance(Duration::from_millis(500));
        }
    }

    /// Whole lines the peer received, over every connection, duplicates
    /// included.
    fn received_lines(&self) -> usize {
        self.stored
            .iter()
            .chain([&self.current])
            .flat_map(|s| s.chunks.iter())
            .map(|(_, c)| c.iter().filter(|&&b| b == b'\n').count())
            .sum()
    }

    fn count_events(&self, pick: fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| pick(e)).count()
    }
}

#[test]
fn a_slow_reader_after_a_reconnect_is_not_a_stalled_one() {
    // The livelock: a 4 MB replay into a reader taking 100 KB/s.
    // The kernel reports the socket writable only once half its 4 MB queue
    // has drained, so writes wait 20 s, twice the write timeout, while the
    // reader reads all the time.
    let mut sim = Sim::new(default_sized());
    sim.stream(30_000, 5); // about 4 MB
    let before = sim.sender.stats();
    assert!(before.written_bytes > 4_000_000, "{before:?}");
    sim.crash(Duration::from_secs(1));
    sim.advance(Duration::from_secs(1));
    sim.peer = Peer::Slow(100_000);
    sim.stream(1_000, 10); // live data during the replay
    sim.settle(Duration::from_secs(120));
    let stats = sim.sender.stats();
    let timeout = sim.sender.config().write_timeout;
    assert!(
        sim.longest_wait > timeout,
        "writes waited {:?}, longer than the write timeout: the test can fail",
        sim.longest_wait
    );
    assert_eq!(
        stats.stalls, 0,
        "a reader that reads is not stalled: {stats:?}"
    );
    assert_eq!(stats.disconnects, 1, "only the crash: {stats:?}");
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert_eq!(sim.missing(), 0, "every datapoint arrived");
    // The window went out once: nothing arrived twice but its replay.
    let replaying: u64 = sim
        .events
        .iter()
        .map(|e| match e {
            Event::Recovered { replaying, .. } => *replaying,
            _ => 0,
        })
        .sum();
    assert_eq!(stats.replayed, replaying, "replayed once: {stats:?}");
    let duplicates = sim.received_lines() - sim.stored_points().len();
    assert!(
        duplicates as u64 <= stats.replayed,
        "{duplicates} duplicates, {} replayed",
        stats.replayed
    );
}

#[test]
fn a_reader_that_stops_is_detected_within_the_write_timeout_and_one_period() {
    let mut sim = Sim::new(default_sized());
    sim.peer = Peer::Slow(100_000);
    sim.stream(60_000, 5); // 8 MB: fills the 4 MB queue, writes wait
    sim.advance(Duration::from_secs(5));
    assert!(sim.waiting_since.is_some(), "a write waits");
    assert_eq!(sim.sender.stats().stalls, 0);
    // The reader stops: the queue stops shrinking now.
    sim.run();
    let stopped = sim.now;
    sim.peer = Peer::Slow(0);
    let config = sim.sender.config().clone();
    let (timeout, period) = (config.write_timeout, config.sample_period());
    while sim.sender.stats().stalls == 0 && sim.now < stopped + 2 * timeout {
        sim.advance(Duration::from_millis(50));
    }
    let detected = sim.now - stopped;
    assert_eq!(sim.sender.stats().stalls, 1);
    assert!(
        detected >= timeout && detected <= timeout + period,
        "detected after {detected:?}; timeout {timeout:?}, period {period:?}"
    );
    assert!(sim.events.iter().any(|e| matches!(
        e,
        Event::OutageStarted { error, .. } if error.contains("send queue stuck")
    )));
}

#[test]
fn replays_that_keep_failing_back_off_warn_once_progress_and_drop_nothing() {
    let mut sim = Sim::new(default_sized().with_backoff(Backoff {
        max: Duration::from_secs(2),
        seed: 7,
        ..Backoff::default()
    }));
    sim.stream(10_000, 5); // about 1.4 MB
    let written = sim.sender.stats().written;
    sim.crash(Duration::from_secs(5));
    // Each connection takes 300 KB, then is reset: no replay can finish.
    sim.peer = Peer::Flaky(300_000);
    let flaky_from = sim.stored.len();
    sim.advance(Duration::from_secs(30));
    let stats = sim.sender.stats();
    assert_eq!(stats.written, written, "nothing new went: {stats:?}");
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::ReplayInterrupted { .. })),
        1,
        "said once: {:?}",
        sim.events
    );
    // Backed off: the delays grow to the cap (2 s, half of it jitter).
    let connects = &sim.connected_at[sim.connected_at.len() - 5..];
    assert!(
        connects
            .windows(2)
            .all(|w| w[1] - w[0] >= Duration::from_secs(1)),
        "{connects:?}"
    );
    assert!(
        sim.connected_at.len() < 30,
        "{} connects",
        sim.connected_at.len()
    );
    // Progress: each connection resumed where the last stopped, so the
    // flaky connections between them carried every replayed datapoint,
    // not the same first 300 KB again and again.
    let mut seen = HashSet::new();
    for stream in &sim.stored[flaky_from..] {
        let mut buf = BytesMut::new();
        for (_, chunk) in &stream.chunks {
            buf.extend_from_slice(chunk);
        }
        let mut decoder = PlaintextDecoder::new();
        while let Some(Ok(dp)) = decoder.decode(&mut buf) {
            seen.insert((dp.path.as_str().to_owned(), dp.timestamp));
        }
    }
    assert_eq!(seen.len(), sim.sent.len(), "the whole window went out");
    // The peer recovers: nothing was dropped, everything is there.
    sim.peer = Peer::Accepting(usize::MAX);
    sim.advance(Duration::from_secs(3));
    sim.push(100);
    sim.settle(Duration::from_secs(10));
    let stats = sim.sender.stats();
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert_eq!(stats.buffered, 0, "{stats:?}");
    assert_eq!(sim.missing(), 0);
}

#[test]
fn a_close_just_after_carbon_died_reconnects_and_replays() {
    let mut sim = Sim::new(default_sized());
    sim.stream(1_000, 2);
    assert_eq!(sim.sender.stats().buffered, 0, "everything written");
    sim.crash(Duration::from_secs(2));
    // The application closes at once: nothing is buffered, but carbon lost
    // its last 2 s and is back in 1 s.
    sim.sender.close(sim.now + Duration::from_secs(10));
    sim.advance(Duration::from_secs(1));
    assert!(!sim.closed, "the close waits for the replay");
    sim.peer = Peer::Accepting(usize::MAX);
    sim.advance(Duration::from_secs(3));
    assert!(sim.closed);
    let stats = sim.sender.stats();
    assert!(stats.replayed > 0, "{stats:?}");
    assert_eq!(stats.unconfirmed, 0, "{stats:?}");
    assert_eq!(sim.missing(), 0);

    // Carbon does not come back: the deadline closes, and what the replay
    // would have re-sent is reported as unconfirmed, not lost silently.
    let mut sim = Sim::new(default_sized());
    sim.stream(1_000, 2);
    sim.crash(Duration::from_secs(2));
    sim.sender.close(sim.now + Duration::from_secs(5));
    sim.advance(Duration::from_secs(5));
    assert!(sim.closed);
    let stats = sim.sender.stats();
    assert_eq!(stats.unconfirmed, stats.written, "{stats:?}");
    assert!(sim.missing() as u64 <= stats.unconfirmed);
}

/// A push on another thread may overflow the buffer while the transport
/// writes the front batch (between `Transmit` and `on_written`): neither
/// an eviction nor a spill may take that batch, or the write's count would
/// be applied to the next one, cutting bytes out of the stream (as a
/// spill did, while carbon read slowly, before the front was pinned).
#[test]
fn the_batch_being_written_is_never_evicted_under_the_transport() {
    let now = Instant::now();
    let config = SenderConfig::new(Protocol::Plaintext)
        .with_buffer_capacity(4 << 10)
        .with_batch_size(1 << 10)
        .with_overflow(OverflowPolicy::DropOldest)
        .with_replay(None);
    let mut sender = Sender::new(now, config).expect("valid");
    assert_eq!(sender.poll_output(now), Some(Output::Connect));
    sender.on_connected(now);
    let path = MetricPath::new("race.series").expect("valid");
    let mut next = 0i64;
    let mut push_until_full = |sender: &mut Sender| {
        while sender.stats().dropped.evicted == 0 {
            let _ = sender.push(now, &Datapoint::new(path.clone(), next, 1_700_000_000));
            next += 1;
        }
    };
    let mut received = Vec::new();
    // Fill the buffer, take the front batch as a transport would, then
    // overflow it before that write is reported.
    push_until_full(&mut sender);
    let Some(Output::Transmit(front)) = sender.poll_output(now) else {
        panic!("a batch to write");
    };
    let evicted_before = sender.stats().dropped.evicted;
    for _ in 0..200 {
        let _ = sender.push(
            now,
            &Datapoint::new(
                MetricPath::new("race.series").expect("valid"),
                -1,
                1_700_000_000,
            ),
        );
    }
    assert!(
        sender.stats().dropped.evicted > evicted_before,
        "evictions happened"
    );
    // The transport wrote part of it (a line cut in two).
    let part = front.len() / 2;
    received.extend_from_slice(&front[..part]);
    sender.on_written(now, part);
    // Its rest comes next, then the rest of the buffer, written whole.
    match sender.poll_output(now) {
        Some(Output::Transmit(rest)) => assert_eq!(rest, front.slice(part..)),
        other => panic!("the rest of the batch in flight, not {other:?}"),
    }
    received.extend_from_slice(&front[part..]);
    sender.on_written(now, front.len() - part);
    while let Some(output) = sender.poll_output(now) {
        match output {
            Output::Transmit(bytes) => {
                received.extend_from_slice(&bytes);
                sender.on_written(now, bytes.len());
            }
            Output::Event(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let text = String::from_utf8(received).expect("UTF-8");
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "a whole line: {line:?}");
        assert_eq!(fields[0], "race.series", "a whole line: {line:?}");
    }
    let stats = sender.stats();
    assert_eq!(stats.written as usize, text.lines().count(), "{stats:?}");
    assert!(stats.is_consistent(), "{stats:?}");
}
