//! The sans-IO background sender: a bounded buffer, batching, reconnects
//! with backoff, a replay window, and exact accounting. Time is passed in.
//!
//! # The calling contract
//!
//! An adapter owns one [`Sender`] and one connection at a time. After every
//! call that changes the sender ([`push`](Sender::push), the `on_*` methods,
//! [`handle_timeout`](Sender::handle_timeout), [`flush`](Sender::flush),
//! [`close`](Sender::close)) it drains [`poll_action`](Sender::poll_action)
//! and [`poll_event`](Sender::poll_event), writes what
//! [`poll_transmit`](Sender::poll_transmit) offers while connected, and
//! sleeps until [`poll_timeout`](Sender::poll_timeout), new data, or socket
//! readiness. Over a blocking socket the whole loop is:
//!
//! ```no_run
//! use std::io::Write;
//! use std::net::TcpStream;
//! use std::time::Instant;
//! use graphite_proto::{sender::{Action, Sender, SenderConfig}, Protocol};
//!
//! let mut sender = Sender::new(SenderConfig::new(Protocol::Plaintext), Instant::now())?;
//! let mut socket: Option<TcpStream> = None;
//! loop {
//!     let now = Instant::now();
//!     sender.handle_timeout(now);
//!     while let Some(action) = sender.poll_action(now) {
//!         match action {
//!             Action::Connect => match TcpStream::connect("127.0.0.1:2003") {
//!                 Ok(s) => { socket = Some(s); sender.on_connected(Instant::now()) }
//!                 Err(e) => sender.on_connect_failed(Instant::now(), &e),
//!             },
//!             Action::Disconnect => socket = None,
//!             Action::Close => return Ok(()),
//!         }
//!     }
//!     while let Some(event) = sender.poll_event() {
//!         eprintln!("{event}");
//!     }
//!     if let (Some(s), Some(bytes)) = (socket.as_mut(), sender.poll_transmit(now)) {
//!         match s.write(&bytes) {
//!             Ok(n) => sender.on_written(n, Instant::now()),
//!             Err(e) => { socket = None; sender.on_error(Instant::now(), &e) }
//!         }
//!         continue;
//!     }
//!     // Wait for new data or `sender.poll_timeout()`; push new datapoints:
//!     // sender.push(&datapoint, Instant::now());
//! #   break;
//! }
//! # Ok::<(), graphite_proto::sender::ConfigError>(())
//! ```
//!
//! Every datapoint ends in exactly one place: written, still buffered, or
//! dropped and counted by reason ([`Stats`]).

mod backoff;
mod batch;
mod config;
mod stats;

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;

use self::backoff::BackoffState;
use self::batch::{Batch, BatchBuilder};
pub use self::config::{Backoff, ConfigError, OverflowPolicy, ReplayWindow, SenderConfig};
pub use self::stats::{Dropped, Stats};
use crate::datapoint::Datapoint;
use crate::plaintext::LineScratch;
use crate::protocol::Protocol;

/// What the adapter must do with its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Action {
    /// Resolve the host again (every time: addresses change) and connect,
    /// within [`SenderConfig::connect_timeout`]; report with
    /// [`Sender::on_connected`] or [`Sender::on_connect_failed`].
    Connect,
    /// Drop the current connection (write timeout, or a periodic
    /// reconnect); a `Connect` follows.
    Disconnect,
    /// Everything is flushed (or dropped at the deadline): shut the
    /// connection down cleanly and stop.
    Close,
}

/// Something worth logging, produced once per occurrence (not per
/// datapoint).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The connection was lost or could not be made; an outage begins.
    /// Reported once per outage, however many attempts fail.
    OutageStarted {
        /// What failed first.
        error: String,
        /// Datapoints waiting in the buffer.
        buffered: u64,
    },
    /// Connected again after an outage.
    Recovered {
        /// How long the outage lasted.
        outage: Duration,
        /// Failed connection attempts during it.
        failed_attempts: u64,
        /// Datapoints queued again from the replay window.
        replaying: u64,
        /// Datapoints dropped during the outage.
        dropped: u64,
        /// With replay off: datapoints written just before the loss that
        /// may be missing.
        unconfirmed: u64,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutageStarted { error, buffered } => {
                write!(
                    f,
                    "graphite connection lost ({error}); buffering, {buffered} datapoints waiting"
                )
            }
            Self::Recovered {
                outage,
                failed_attempts,
                replaying,
                dropped,
                unconfirmed,
            } => write!(
                f,
                "graphite connection recovered after {outage:.1?} ({failed_attempts} failed attempts): \
                 replaying {replaying} datapoints, {dropped} dropped during the outage, {unconfirmed} unconfirmed"
            ),
        }
    }
}

/// Why `push` did not take a datapoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The buffer is full; the datapoint was dropped and counted.
    #[error("buffer full: datapoint dropped")]
    Full,
    /// The buffer is full and the policy is to wait: nothing was counted.
    /// Wait for room ([`Sender::has_room`]) and push again, or give up with
    /// [`Sender::push_or_drop`].
    #[error("buffer full: wait for room")]
    WouldBlock,
    /// The sender is closing or closed; dropped and counted.
    #[error("sender closed: datapoint dropped")]
    Closed,
    /// The datapoint cannot fit in one batch; dropped and counted.
    #[error("datapoint of {len} bytes cannot fit in a {max}-byte batch: dropped")]
    TooLarge {
        /// Its encoded length (framing included).
        len: usize,
        /// The batch limit.
        max: usize,
    },
}

/// Some datapoints of a [`Sender::push_many_or_drop`] slice were dropped
/// (each counted in [`Stats::dropped`]); the others were accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{dropped} of {total} datapoints dropped, the first (index {first_index}) because: {first_reason}"
)]
pub struct PushManyError {
    /// Datapoints in the slice.
    pub total: usize,
    /// How many were dropped.
    pub dropped: usize,
    /// Index of the first dropped datapoint.
    pub first_index: usize,
    /// Why it was dropped.
    pub first_reason: PushError,
}

/// The connection's state.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Not connected; connect at `at`.
    Idle { at: Instant },
    /// `Action::Connect` given; waiting for the adapter's report.
    Connecting,
    /// Connected since `since`.
    Connected { since: Instant },
    /// Closed for good.
    Closed,
}

/// A written batch remembered for the replay window. Without replay only
/// its count and time are kept (the bytes are released at once).
#[derive(Debug)]
struct Written {
    batch: Batch,
    at: Instant,
}

/// An outage in progress, for the recovery report.
#[derive(Clone, Copy, Debug)]
struct Outage {
    since: Instant,
    failed_attempts: u64,
    dropped_before: u64,
    unconfirmed_before: u64,
}

/// The background sender's state machine. See the [module docs](self) for
/// the calling contract.
#[derive(Debug)]
pub struct Sender {
    config: SenderConfig,
    replay: Option<ReplayWindow>,
    builder: BatchBuilder,
    /// Sealed batches waiting to be written; the front may be in flight.
    queue: VecDeque<Batch>,
    queue_bytes: usize,
    /// Bytes of the front batch written on the current connection.
    offset: usize,
    /// Since when the front batch has waited without any byte written.
    stalled_since: Option<Instant>,
    /// Recently written batches (the replay window), oldest first.
    window: VecDeque<Written>,
    window_bytes: usize,
    state: State,
    backoff: BackoffState,
    stats: Stats,
    events: VecDeque<Event>,
    pending: Option<Action>,
    outage: Option<Outage>,
    flush_deadline: Option<Instant>,
    closing: bool,
}

impl Sender {
    /// A sender that will ask to connect at once.
    pub fn new(config: SenderConfig, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            replay: config.effective_replay(),
            builder: BatchBuilder::new(config.protocol, config.effective_batch_size()),
            backoff: BackoffState::new(config.backoff),
            config,
            queue: VecDeque::new(),
            queue_bytes: 0,
            offset: 0,
            stalled_since: None,
            window: VecDeque::new(),
            window_bytes: 0,
            state: State::Idle { at: now },
            stats: Stats::default(),
            events: VecDeque::new(),
            pending: None,
            outage: None,
            flush_deadline: None,
            closing: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        Stats {
            buffered_bytes: self.held_bytes(),
            ..self.stats
        }
    }

    /// Bytes held: the open batch, the queue and the replay window.
    fn held_bytes(&self) -> usize {
        self.builder.len() + self.queue_bytes + self.window_bytes
    }

    /// Whether the connection is up.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }

    /// Whether [`Action::Close`] has been given.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Whether every accepted datapoint is written or dropped.
    pub fn is_flushed(&self) -> bool {
        self.stats.buffered == 0
    }

    /// Whether a batch's worth of room is free: adapters waiting under
    /// [`OverflowPolicy::Wait`] push again once this holds.
    pub fn has_room(&self) -> bool {
        self.held_bytes() + self.config.effective_batch_size() <= self.config.buffer_capacity
    }

    /// Buffers one datapoint. Never blocks and never touches the network:
    /// the datapoint is encoded into the open batch at once.
    ///
    /// Returns whether the I/O driver should be woken (a batch became ready,
    /// or the open batch's timer started), or why the datapoint was not
    /// taken. Every refusal except [`PushError::WouldBlock`] is counted.
    pub fn push(&mut self, dp: &Datapoint, now: Instant) -> Result<bool, PushError> {
        self.push_with(dp, now, self.config.overflow)
    }

    /// Like [`push`](Self::push), but a full buffer drops the datapoint
    /// (counted) instead of asking to wait: for callers whose wait ran out.
    pub fn push_or_drop(&mut self, dp: &Datapoint, now: Instant) -> Result<bool, PushError> {
        let policy = match self.config.overflow {
            OverflowPolicy::Wait(_) => OverflowPolicy::DropNewest,
            other => other,
        };
        self.push_with(dp, now, policy)
    }

    /// [`push_or_drop`](Self::push_or_drop) for every datapoint of `batch`,
    /// in order, in one call: the cheap way to hand over many datapoints
    /// when the caller holds a lock around the sender. Each datapoint is
    /// accepted or dropped and counted exactly as `push_or_drop` would do.
    ///
    /// Returns whether the I/O side should be woken; on error the caller
    /// should wake it anyway.
    ///
    /// ```
    /// use std::time::Instant;
    /// use graphite_proto::sender::{Sender, SenderConfig};
    /// use graphite_proto::{Datapoint, MetricPath, Protocol};
    ///
    /// let mut sender = Sender::new(SenderConfig::new(Protocol::Plaintext), Instant::now())?;
    /// let path = MetricPath::new("app.requests")?;
    /// let batch: Vec<Datapoint> = (0..100).map(|t| Datapoint::new(path.clone(), 1, t)).collect();
    /// sender.push_many_or_drop(&batch, Instant::now())?;
    /// assert_eq!(sender.stats().accepted, 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_many_or_drop(
        &mut self,
        batch: &[Datapoint],
        now: Instant,
    ) -> Result<bool, PushManyError> {
        let mut wake = false;
        let mut failure: Option<PushManyError> = None;
        for (index, dp) in batch.iter().enumerate() {
            match self.push_or_drop(dp, now) {
                Ok(w) => wake |= w,
                Err(reason) => match failure.as_mut() {
                    Some(f) => f.dropped += 1,
                    None => {
                        failure = Some(PushManyError {
                            total: batch.len(),
                            dropped: 1,
                            first_index: index,
                            first_reason: reason,
                        });
                    }
                },
            }
        }
        failure.map_or(Ok(wake), Err)
    }

    fn push_with(
        &mut self,
        dp: &Datapoint,
        now: Instant,
        policy: OverflowPolicy,
    ) -> Result<bool, PushError> {
        if self.closing || self.is_closed() {
            self.stats.dropped.closed += 1;
            return Err(PushError::Closed);
        }
        let mut scratch = LineScratch::default();
        let item = self.builder.item(dp, &mut scratch);
        let item_len = item.len();
        if let Err(e) = self.builder.check_fits(item_len) {
            self.stats.dropped.too_large += 1;
            return Err(PushError::TooLarge {
                len: e.len,
                max: self.config.effective_batch_size(),
            });
        }
        // Framing counts too: a pickle frame's header and trailer are
        // buffered bytes like any other.
        while self.held_bytes() + self.builder.room_needed(item_len) > self.config.buffer_capacity {
            match policy {
                OverflowPolicy::DropOldest if self.evict_oldest() => {}
                OverflowPolicy::Wait(_) => return Err(PushError::WouldBlock),
                _ => {
                    self.stats.dropped.buffer_full += 1;
                    return Err(PushError::Full);
                }
            }
        }
        let started = self.builder.datapoints() == 0;
        let mut ready = false;
        if let Some(batch) = self.builder.push(&item, now) {
            self.enqueue(batch);
            ready = true;
        }
        self.stats.accepted += 1;
        self.stats.buffered += 1;
        if self.builder.len() >= self.config.effective_batch_size() {
            // A full batch goes out at once.
            self.seal_open();
            ready = true;
        }
        Ok(ready || started)
    }

    fn enqueue(&mut self, batch: Batch) {
        self.queue_bytes += batch.bytes.len();
        self.queue.push_back(batch);
    }

    fn seal_open(&mut self) {
        if let Some(batch) = self.builder.seal() {
            self.enqueue(batch);
        }
    }

    /// Drops the oldest bytes that are not in flight: replay copies first,
    /// then the oldest queued batch. Returns false when nothing can go.
    fn evict_oldest(&mut self) -> bool {
        if let Some(entry) = self.window.pop_front() {
            self.window_bytes -= entry.batch.bytes.len();
            self.builder.recycle(entry.batch.bytes);
            return true;
        }
        let first = usize::from(self.offset > 0);
        let index = (first..self.queue.len())
            .find(|&i| self.queue[i].replay)
            .or((first < self.queue.len()).then_some(first));
        let Some(batch) = index.and_then(|i| self.queue.remove(i)) else {
            return false;
        };
        self.queue_bytes -= batch.bytes.len();
        if !batch.replay {
            self.stats.dropped.evicted += batch.datapoints;
            self.stats.buffered -= batch.datapoints;
        }
        self.builder.recycle(batch.bytes);
        true
    }

    /// The next thing to do with the connection.
    pub fn poll_action(&mut self, now: Instant) -> Option<Action> {
        if let Some(action) = self.pending.take() {
            return Some(action);
        }
        match self.state {
            State::Closed | State::Connecting => None,
            State::Connected { .. } | State::Idle { .. } if self.closing && self.is_flushed() => {
                self.state = State::Closed;
                self.discard_queue();
                Some(Action::Close)
            }
            State::Idle { at } if now >= at => {
                self.state = State::Connecting;
                Some(Action::Connect)
            }
            _ => None,
        }
    }

    /// The next event to log.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The connection is up: replay the window, then go on with the queue.
    pub fn on_connected(&mut self, now: Instant) {
        if !matches!(self.state, State::Connecting) {
            return;
        }
        self.state = State::Connected { since: now };
        self.stats.connects += 1;
        self.offset = 0;
        self.stalled_since = None;
        let mut replaying = 0;
        if self.replay.is_some() {
            // Newest first onto the front, so the oldest goes out first.
            while let Some(entry) = self.window.pop_back() {
                self.window_bytes -= entry.batch.bytes.len();
                replaying += entry.batch.datapoints;
                let mut batch = entry.batch;
                batch.replay = true;
                self.queue_bytes += batch.bytes.len();
                self.queue.push_front(batch);
            }
        }
        if let Some(outage) = self.outage.take() {
            self.events.push_back(Event::Recovered {
                outage: now.saturating_duration_since(outage.since),
                failed_attempts: outage.failed_attempts,
                replaying,
                dropped: self.stats.dropped.total() - outage.dropped_before,
                unconfirmed: self.stats.unconfirmed - outage.unconfirmed_before,
            });
        }
    }

    /// A connection attempt failed; the next one waits for the backoff.
    pub fn on_connect_failed(&mut self, now: Instant, error: &dyn fmt::Display) {
        if !matches!(self.state, State::Connecting) {
            return;
        }
        self.stats.connect_failures += 1;
        self.begin_outage(now, error);
        if let Some(outage) = self.outage.as_mut() {
            outage.failed_attempts += 1;
        }
        self.state = State::Idle {
            at: now + self.backoff.next_delay(),
        };
    }

    /// The connection failed: a write error, or the peer closed it (read
    /// side EOF). The adapter has dropped the socket.
    pub fn on_error(&mut self, now: Instant, error: &dyn fmt::Display) {
        if self.is_connected() {
            self.lose_connection(now, error);
        }
    }

    fn lose_connection(&mut self, now: Instant, error: &dyn fmt::Display) {
        self.stats.disconnects += 1;
        self.begin_outage(now, error);
        self.rewind_in_flight();
        self.expire_window(now);
        if self.replay.is_none() {
            // Without replay, report what may have been lost with the connection.
            let at_risk: u64 = self.window.drain(..).map(|w| w.batch.datapoints).sum();
            self.stats.unconfirmed += at_risk;
        }
        self.state = State::Idle {
            at: now + self.backoff.next_delay(),
        };
    }

    /// The front batch was partly written on a dead connection: it is sent
    /// again whole on the next one (a pickle frame or datagram must be
    /// whole; half a line would be garbage). With replay off, plaintext
    /// lines already written completely are not sent twice.
    fn rewind_in_flight(&mut self) {
        let written = std::mem::take(&mut self.offset);
        self.stalled_since = None;
        if written == 0 || self.replay.is_some() || self.config.protocol != Protocol::Plaintext {
            return;
        }
        let Some(front) = self.queue.front_mut() else {
            return;
        };
        let done = &front.bytes[..written];
        let Some(last_newline) = done.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let lines = done.iter().filter(|&&b| b == b'\n').count() as u64;
        let cut = last_newline + 1;
        front.bytes = front.bytes.slice(cut..);
        front.datapoints -= lines;
        self.queue_bytes -= cut;
        if !front.replay {
            self.stats.written += lines;
            self.stats.buffered -= lines;
        }
        // Written just before the loss: as much at risk as the window.
        self.stats.unconfirmed += lines;
    }

    fn begin_outage(&mut self, now: Instant, error: &dyn fmt::Display) {
        if self.outage.is_none() {
            self.outage = Some(Outage {
                since: now,
                failed_attempts: 0,
                dropped_before: self.stats.dropped.total(),
                unconfirmed_before: self.stats.unconfirmed,
            });
            self.events.push_back(Event::OutageStarted {
                error: error.to_string(),
                buffered: self.stats.buffered,
            });
        }
    }

    /// Bytes to write now, if connected and a batch is ready. Write them (or
    /// a prefix) and report with [`on_written`](Self::on_written). For UDP,
    /// send them as one datagram.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        if !self.is_connected() {
            return None;
        }
        let front = self.queue.front()?;
        self.stalled_since.get_or_insert(now);
        Some(front.bytes.slice(self.offset..))
    }

    /// `n` bytes of what [`poll_transmit`](Self::poll_transmit) returned were
    /// written.
    pub fn on_written(&mut self, n: usize, now: Instant) {
        if n == 0 || !self.is_connected() {
            return;
        }
        self.backoff.reset();
        self.offset += n;
        self.stats.written_bytes += n as u64;
        self.stalled_since = None;
        if self
            .queue
            .front()
            .is_none_or(|front| self.offset < front.bytes.len())
        {
            return;
        }
        self.offset = 0;
        let Some(mut batch) = self.queue.pop_front() else {
            return;
        };
        self.queue_bytes -= batch.bytes.len();
        if batch.replay {
            self.stats.replayed += batch.datapoints;
        } else {
            self.stats.written += batch.datapoints;
            self.stats.buffered -= batch.datapoints;
        }
        if !self.config.protocol.is_stream() {
            self.builder.recycle(batch.bytes);
            return;
        }
        if self.replay.is_some() {
            self.window_bytes += batch.bytes.len();
        } else {
            // Only the count and time are needed, for `unconfirmed`.
            self.builder.recycle(std::mem::take(&mut batch.bytes));
        }
        self.window.push_back(Written { batch, at: now });
        self.expire_window(now);
    }

    /// Forgets written batches older than the window's age or beyond its size.
    ///
    /// Ages count only while connected: what was written in the seconds
    /// before a loss stays at risk however long the outage lasts.
    fn expire_window(&mut self, now: Instant) {
        let window = self.replay.unwrap_or_default();
        let connected = self.is_connected();
        while let Some(oldest) = self.window.front() {
            let too_old = connected && now.saturating_duration_since(oldest.at) > window.max_age;
            if !too_old && self.window_bytes <= window.max_bytes {
                break;
            }
            let Some(entry) = self.window.pop_front() else {
                break;
            };
            self.window_bytes -= entry.batch.bytes.len();
            self.builder.recycle(entry.batch.bytes);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let batch = self.builder.first_at().map(|t| t + self.config.batch_delay);
        let connect = match self.state {
            State::Idle { at } => Some(at),
            _ => None,
        };
        let stall = self
            .stalled_since
            .filter(|_| self.is_connected())
            .map(|t| t + self.config.write_timeout);
        let reconnect = match (self.state, self.config.reconnect_interval) {
            (State::Connected { since }, Some(every)) => Some(since + every),
            _ => None,
        };
        [batch, connect, stall, reconnect, self.flush_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// Advances timers to `now`: seals a due batch, expires the replay
    /// window, detects a stalled peer, starts a periodic reconnect, and
    /// drops what a passed flush deadline left behind.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self
            .builder
            .first_at()
            .is_some_and(|t| now >= t + self.config.batch_delay)
        {
            self.seal_open();
        }
        self.expire_window(now);
        if let State::Connected { since } = self.state {
            let stalled = self
                .stalled_since
                .is_some_and(|t| now >= t + self.config.write_timeout);
            let periodic = self
                .config
                .reconnect_interval
                .is_some_and(|every| now >= since + every);
            if stalled {
                let timeout = self.config.write_timeout;
                self.lose_connection(
                    now,
                    &format_args!("nothing written for {timeout:?}: peer stopped reading"),
                );
                self.pending = Some(Action::Disconnect);
            } else if periodic && self.offset == 0 {
                self.stats.periodic_reconnects += 1;
                // A clean close loses nothing: forget the window.
                while let Some(entry) = self.window.pop_front() {
                    self.window_bytes -= entry.batch.bytes.len();
                    self.builder.recycle(entry.batch.bytes);
                }
                self.state = State::Idle { at: now };
                self.pending = Some(Action::Disconnect);
            }
        }
        if self.flush_deadline.is_some_and(|d| now >= d) {
            self.flush_deadline = None;
            self.drop_unwritten(now);
        }
        if self.is_flushed() && !self.closing {
            self.flush_deadline = None;
        }
    }

    /// A deadline passed: whatever is not written is dropped and counted.
    fn drop_unwritten(&mut self, now: Instant) {
        let open = self.builder.clear();
        self.stats.dropped.deadline += open;
        self.stats.buffered -= open;
        if self.offset > 0 {
            // Half a frame must never be resumed: drop the connection too.
            self.pending = Some(Action::Disconnect);
            self.state = State::Idle { at: now };
        }
        self.discard_queue();
    }

    fn discard_queue(&mut self) {
        self.offset = 0;
        self.stalled_since = None;
        self.queue_bytes = 0;
        for batch in self.queue.drain(..) {
            if !batch.replay {
                self.stats.dropped.deadline += batch.datapoints;
                self.stats.buffered -= batch.datapoints;
            }
        }
    }

    /// Writes out everything accepted so far; what is not written by
    /// `deadline` is dropped and counted. Poll until
    /// [`is_flushed`](Self::is_flushed).
    pub fn flush(&mut self, deadline: Instant) {
        self.seal_open();
        self.flush_deadline = Some(self.flush_deadline.map_or(deadline, |d| d.min(deadline)));
    }

    /// Flushes (see [`flush`](Self::flush)), refuses further datapoints, and
    /// gives [`Action::Close`] once flushed or when the deadline has passed.
    pub fn close(&mut self, deadline: Instant) {
        self.closing = true;
        self.flush(deadline);
    }
}

#[cfg(test)]
mod tests;
