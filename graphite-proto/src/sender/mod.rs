//! The sans-IO background sender: a bounded buffer, batching, reconnects
//! with backoff, a replay window, and exact accounting. Time is passed in.
//!
//! # The calling contract
//!
//! An adapter owns one [`Sender`] and at most one connection. It runs one
//! loop, and every decision in it is the sender's:
//!
//! 1. [`handle_timeout(now)`](Sender::handle_timeout), then drain
//!    [`poll_output(now)`](Sender::poll_output) and do what each
//!    [`Output`] says.
//! 2. When `poll_output` returns `None`, wait for whichever comes first:
//!    [`poll_timeout()`](Sender::poll_timeout), a call on the sender by the
//!    application (a push that sealed a batch, a flush, a close), or the
//!    peer closing the connection.
//! 3. A [`Transmit`](Output::Transmit) write that cannot complete at once
//!    races the same three things; when one of them fires first, the write
//!    is abandoned (nothing was written) and the loop goes round again.
//!    That is what makes flush and close deadlines hold against a peer that
//!    stopped reading.
//! 4. Where the link can tell its kernel's send queue (`SIOCOUTQ`), report
//!    it with [`on_send_queue(now, bytes)`](Sender::on_send_queue) after
//!    every write that went through and whenever the timer fires while a
//!    write waits or the queue holds bytes (after `handle_timeout`). The
//!    sender asks for those samples through `poll_timeout`, every
//!    [`sample_period`](SenderConfig::sample_period), and judges a waiting
//!    write by them: a queue that shrinks is a peer that reads, however
//!    slowly; one that does not move for the write timeout is a stalled
//!    peer. Links that cannot tell report nothing and are judged by
//!    completed writes.
//!
//! Every `now` is the first argument. Over a blocking socket the whole loop
//! is:
//!
//! ```no_run
//! use std::io::Write;
//! use std::net::TcpStream;
//! use std::time::Instant;
//! use graphite_proto::{sender::{Output, Sender, SenderConfig}, Protocol};
//!
//! let mut sender = Sender::new(Instant::now(), SenderConfig::new(Protocol::Plaintext))?;
//! let mut socket: Option<TcpStream> = None;
//! loop {
//!     sender.handle_timeout(Instant::now());
//!     while let Some(output) = sender.poll_output(Instant::now()) {
//!         match output {
//!             Output::Connect => match TcpStream::connect("127.0.0.1:2003") {
//!                 Ok(s) => { socket = Some(s); sender.on_connected(Instant::now()) }
//!                 Err(e) => sender.on_connect_failed(Instant::now(), &e),
//!             },
//!             // A real adapter bounds this write by `poll_timeout`.
//!             Output::Transmit(bytes) => match socket.as_mut().map(|s| s.write(&bytes)) {
//!                 Some(Ok(n)) => sender.on_written(Instant::now(), n),
//!                 Some(Err(e)) => { socket = None; sender.on_error(Instant::now(), &e) }
//!                 None => {}
//!             },
//!             Output::Disconnect => socket = None,
//!             Output::Close => return Ok(()),
//!             Output::Event(event) => eprintln!("{event}"),
//!             _ => {}
//!         }
//!     }
//!     // Wait for new data or `sender.poll_timeout()`; push new datapoints:
//!     // sender.push(Instant::now(), &datapoint);
//! #   break;
//! }
//! # Ok::<(), graphite_proto::sender::ConfigError>(())
//! ```
//!
//! Every datapoint ends in exactly one place: written, still buffered, or
//! dropped and counted by reason ([`Stats`]).

mod backoff;
mod batch;
mod chunk;
mod clock;
mod config;
mod cursor;
mod error;
mod lazy_now;
mod outbox;
mod output;
mod replay;
mod reservation;
pub mod spool;
mod stall;
mod stats;

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use self::backoff::BackoffState;
use self::batch::{Batch, BatchBuilder, Item};
pub use self::chunk::{Chunk, ChunkEncoder, Encoded};
use self::clock::ConnectedClock;
pub use self::config::{Backoff, ConfigError, OverflowPolicy, ReplayWindow, SenderConfig};
pub use self::cursor::PushCursor;
pub use self::error::{PushError, PushManyError};
use self::lazy_now::LazyNow;
use self::outbox::Outbox;
pub use self::output::{Event, Output};
use self::replay::ReplayBuffer;
pub use self::replay::WindowCopy;
pub use self::reservation::Reservation;
use self::spool::SpoolState;
pub use self::spool::{Spool, SpoolDone, SpoolOp, SpoolRecord};
use self::stall::StallWatch;
use self::stats::Fate;
pub use self::stats::{Dropped, Stats};
use crate::datapoint::Datapoint;
use crate::plaintext::LineScratch;
use crate::protocol::Protocol;

/// The connection's state.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Not connected; connect at `at`.
    Idle { at: Instant },
    /// `Output::Connect` given; waiting for the adapter's report.
    Connecting,
    /// Connected since `since`.
    Connected { since: Instant },
    /// Closed for good.
    Closed,
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
    outbox: Outbox,
    /// Recently written batches. With replay off, only their counts and
    /// times (for `unconfirmed`).
    window: ReplayBuffer,
    /// The connection's kernel send queue as the adapter samples it: bytes
    /// that may not have reached carbon, and whether the peer reads.
    watch: StallWatch,
    /// Time spent connected, by which the replay window ages.
    clock: ConnectedClock,
    /// Connections lost in a row while a replay was unfinished.
    replay_failures: u64,
    state: State,
    backoff: BackoffState,
    stats: Stats,
    events: VecDeque<Event>,
    /// A `Disconnect` to give before anything else.
    disconnect: bool,
    outage: Option<Outage>,
    flush_deadline: Option<Instant>,
    closing: bool,
    /// The disk spool's state, when one is configured.
    spool: Option<SpoolState>,
    /// Room set aside by [`reserve`](Self::reserve), until handed over.
    reserved: usize,
    /// When the reserved room must have been handed over: the deadline of
    /// the batch open at the first reservation.
    reserved_due: Option<Instant>,
    /// A close passed its deadline with room reserved: what is handed over
    /// under it now is refused (counted).
    reservations_forgotten: bool,
}

impl Sender {
    /// A sender that will ask to connect at once.
    pub fn new(now: Instant, config: SenderConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let batch_size = config.effective_batch_size();
        Ok(Self {
            replay: config.effective_replay(),
            builder: BatchBuilder::new(config.protocol, config.effective_batch_size()),
            spool: config
                .spool
                .as_ref()
                .map(|s| SpoolState::new(s, config.buffer_capacity)),
            backoff: BackoffState::new(config.backoff),
            config,
            outbox: Outbox::default(),
            window: ReplayBuffer::new(batch_size),
            watch: StallWatch::default(),
            clock: ConnectedClock::default(),
            replay_failures: 0,
            state: State::Idle { at: now },
            stats: Stats::default(),
            events: VecDeque::new(),
            disconnect: false,
            outage: None,
            flush_deadline: None,
            closing: false,
            reserved: 0,
            reserved_due: None,
            reservations_forgotten: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        let spool = self.spool.as_ref();
        Stats {
            buffered_bytes: self.held_bytes() - self.reserved
                + spool.map_or(0, SpoolState::spilling_bytes),
            spool_bytes: spool.map_or(0, SpoolState::disk_bytes),
            ..self.stats
        }
    }

    /// Bytes held: the open batch, the outbox, the replay window, and the
    /// room [reserved](Self::reserve) for datapoints on their way.
    fn held_bytes(&self) -> usize {
        self.builder.len() + self.outbox.bytes() + self.window.bytes() + self.reserved
    }

    /// Whether the connection is up.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }

    /// When the current outage began (the first failed connection attempt
    /// or lost connection since the last successful connect), or `None`
    /// while the sender is connected, connecting for the first time, or
    /// closed. A router reads a destination's health from it.
    ///
    /// ```
    /// use std::time::Instant;
    /// use graphite_proto::{Protocol, sender::{Output, Sender, SenderConfig}};
    ///
    /// let start = Instant::now();
    /// let mut sender = Sender::new(start, SenderConfig::new(Protocol::Plaintext))?;
    /// assert!(matches!(sender.poll_output(start), Some(Output::Connect)));
    /// assert_eq!(sender.outage_since(), None, "not down before a failure");
    /// sender.on_connect_failed(start, &"connection refused");
    /// assert_eq!(sender.outage_since(), Some(start));
    /// # Ok::<(), graphite_proto::sender::ConfigError>(())
    /// ```
    pub fn outage_since(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            _ => self.outage.map(|o| o.since),
        }
    }

    /// Whether [`Output::Close`] has been given.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Whether every accepted datapoint is written or dropped.
    pub fn is_flushed(&self) -> bool {
        self.stats.buffered == 0
    }

    /// Whether a batch's worth of room is free: callers waiting under
    /// [`OverflowPolicy::Wait`] push again once this holds (or once the
    /// sender is closing, to be refused).
    pub fn has_room(&self) -> bool {
        self.closing
            || self.held_bytes() + self.config.effective_batch_size() <= self.config.buffer_capacity
    }

    /// Buffers one datapoint. Never blocks and never touches the network:
    /// the datapoint is encoded into the open batch at once, with the
    /// configured [`naming`](SenderConfig::naming) applied.
    ///
    /// Returns whether the I/O driver should be woken (a batch became ready,
    /// or the open batch's timer started), or why the datapoint was not
    /// taken. Every refusal except [`PushError::WouldBlock`] is counted.
    pub fn push(&mut self, now: Instant, dp: &Datapoint) -> Result<bool, PushError> {
        self.push_with(&mut LazyNow::new(&|| now), dp, self.config.overflow)
    }

    /// Like [`push`](Self::push), but a full buffer drops the datapoint
    /// (counted) instead of asking to wait: for callers that must not wait,
    /// or whose wait ran out.
    pub fn push_or_drop(&mut self, now: Instant, dp: &Datapoint) -> Result<bool, PushError> {
        self.push_or_drop_reading(&|| now, dp)
    }

    /// [`push_or_drop`](Self::push_or_drop), reading the time from `clock`
    /// only if the push needs it (to start a batch's timer, or when the
    /// buffer is full). The common push, a datapoint that joins the open
    /// batch, reads no clock; a clock read can cost as much as encoding the
    /// datapoint.
    ///
    /// ```
    /// use std::time::Instant;
    /// use graphite_proto::sender::{Sender, SenderConfig};
    /// use graphite_proto::{Datapoint, MetricPath, Protocol};
    ///
    /// let mut sender = Sender::new(Instant::now(), SenderConfig::new(Protocol::Plaintext))?;
    /// let dp = Datapoint::new(MetricPath::new("app.requests")?, 1, 1_700_000_000);
    /// sender.push_or_drop_reading(&Instant::now, &dp)?;
    /// assert_eq!(sender.stats().accepted, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_or_drop_reading(
        &mut self,
        clock: &dyn Fn() -> Instant,
        dp: &Datapoint,
    ) -> Result<bool, PushError> {
        let policy = self.never_waiting_policy();
        self.push_with(&mut LazyNow::new(clock), dp, policy)
    }

    /// [`push_or_drop_reading`](Self::push_or_drop_reading) for a datapoint
    /// encoded beforehand by this sender's
    /// [`chunk_encoder`](Self::chunk_encoder)
    /// ([`ChunkEncoder::encode_one`]): for a caller that shares the sender
    /// behind a lock, the number formatting happens before the lock is
    /// taken, and the lock is held only to copy the bytes. Accepted,
    /// dropped and counted exactly as `push_or_drop_reading` would.
    pub fn push_encoded_or_drop_reading(
        &mut self,
        clock: &dyn Fn() -> Instant,
        encoded: &Encoded,
    ) -> Result<bool, PushError> {
        let policy = self.never_waiting_policy();
        self.push_wire(&mut LazyNow::new(clock), encoded.item(), policy, true)
    }

    /// Pushes one datapoint already in wire form, or refuses it (counted)
    /// as closed (with `refuse_closing`) or as the encoder found it invalid.
    fn push_wire(
        &mut self,
        now: &mut LazyNow<'_>,
        item: Result<&[u8], &PushError>,
        policy: OverflowPolicy,
        refuse_closing: bool,
    ) -> Result<bool, PushError> {
        if refuse_closing && let Some(closed) = self.refuse_closed() {
            return Err(closed);
        }
        match item {
            Ok(bytes) => self.push_item(now, &Item::Encoded(bytes), policy),
            Err(invalid) => Err(self.refuse_invalid(invalid.clone())),
        }
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
    /// let mut sender = Sender::new(Instant::now(), SenderConfig::new(Protocol::Plaintext))?;
    /// let path = MetricPath::new("app.requests")?;
    /// let batch: Vec<Datapoint> = (0..100).map(|t| Datapoint::new(path.clone(), 1, t)).collect();
    /// sender.push_many_or_drop(Instant::now(), &batch)?;
    /// assert_eq!(sender.stats().accepted, 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_many_or_drop(
        &mut self,
        now: Instant,
        batch: &[Datapoint],
    ) -> Result<bool, PushManyError> {
        let mut cursor = PushCursor::new(batch);
        let wake = self.push_rest_or_drop(now, &mut cursor);
        cursor.finish().map(|()| wake)
    }

    /// [`push`](Self::push) for the rest of `cursor`'s slice in order, under
    /// the configured overflow policy, stopping at the first datapoint that
    /// must wait for room ([`OverflowPolicy::Wait`]); drops under the other
    /// policies are recorded in the cursor. Returns whether to wake the I/O
    /// side. A caller that waits calls again with the same cursor once
    /// [`has_room`](Self::has_room) holds, until
    /// [`is_done`](PushCursor::is_done).
    pub fn push_until_full(&mut self, now: Instant, cursor: &mut PushCursor<'_>) -> bool {
        let mut wake = false;
        for (index, dp) in cursor.rest() {
            match cursor.record(index, self.push(now, dp)) {
                Some(w) => wake |= w,
                None => return wake,
            }
        }
        wake
    }

    /// [`push_or_drop`](Self::push_or_drop) for the rest of `cursor`'s
    /// slice, recording drops in the cursor: what a caller whose wait for
    /// room ran out does with the rest. Returns whether to wake the I/O
    /// side.
    pub fn push_rest_or_drop(&mut self, now: Instant, cursor: &mut PushCursor<'_>) -> bool {
        let mut wake = false;
        for (index, dp) in cursor.rest() {
            // Never `None`: dropping never waits.
            wake |= cursor
                .record(index, self.push_or_drop(now, dp))
                .unwrap_or(false);
        }
        wake
    }

    /// Counts a datapoint whose name or value the caller could not convert
    /// (it never reached [`push`](Self::push)), so that no refusal is
    /// silent, and hands the error back.
    pub fn refuse_invalid(&mut self, error: PushError) -> PushError {
        self.stats.dropped.invalid += 1;
        error
    }

    /// An encoder that formats datapoints as this sender would, for
    /// [`push_chunk_or_drop`](Self::push_chunk_or_drop).
    pub fn chunk_encoder(&self) -> ChunkEncoder {
        ChunkEncoder::new(self.config.protocol, self.config.naming.clone())
    }

    /// [`push_many_or_drop`](Self::push_many_or_drop) of a slice already
    /// encoded by [`chunk_encoder`](Self::chunk_encoder): each datapoint is
    /// accepted or dropped and counted exactly as `push_or_drop` would do,
    /// and the indices in the error are the slice's. Only bytes are copied
    /// here, so a caller that holds a lock around the sender holds it for
    /// much less time than the encoding takes.
    ///
    /// A plaintext chunk that fits in a batch is not even copied when no
    /// batch is open, or when the open one cannot take it whole: the open
    /// batch (if any) is sealed and goes out as it is, the chunk's memory
    /// becomes the new open batch, and the chunk gets an emptied buffer of
    /// the sender's in exchange. So a steady stream of chunks is written
    /// chunk by chunk, never copied on the calling thread.
    pub fn push_chunk_or_drop(
        &mut self,
        now: Instant,
        chunk: &mut Chunk,
    ) -> Result<bool, PushManyError> {
        let policy = self.never_waiting_policy();
        if self.adopt_whole(now, chunk) {
            return Ok(true);
        }
        let mut cursor = PushCursor::detached(chunk.len());
        let wake = self.push_chunk_from(now, chunk, &mut cursor, policy, true);
        cursor.finish().map(|()| wake)
    }

    /// Makes `chunk` the open batch without copying it, when it is
    /// plaintext, fits a batch and the buffer, and the open batch (if any)
    /// cannot take it whole: copying would only fill the open batch and
    /// start another, so the open batch goes out as it is instead. The
    /// chunk gets an emptied buffer of the sender's in exchange.
    fn adopt_whole(&mut self, now: Instant, chunk: &mut Chunk) -> bool {
        let adopt = self.config.protocol == Protocol::Plaintext
            && !chunk.is_empty()
            && chunk.all_encoded()
            && !self.closing
            && !self.is_closed()
            && (self.builder.datapoints() == 0 || !self.builder.joins_open(chunk.bytes_len()))
            && chunk.bytes_len() <= self.config.effective_batch_size()
            && self.held_bytes() + chunk.bytes_len() <= self.config.buffer_capacity;
        if !adopt {
            return false;
        }
        self.seal_open();
        // What pushing each line would do: start a batch (its timer too)
        // and fill it without sealing, with room for every line.
        let count = chunk.len() as u64;
        let spare = self.builder.adopt(chunk.take_bytes(), count, now);
        chunk.give_bytes(spare);
        self.stats.accepted += count;
        self.stats.buffered += count;
        if self.builder.len() >= self.config.effective_batch_size() {
            self.seal_open();
        }
        true
    }

    /// [`push_until_full`](Self::push_until_full) for `cursor`'s slice
    /// encoded by [`chunk_encoder`](Self::chunk_encoder) into `chunk`: the
    /// caller that waits for room formats the slice before it takes the
    /// lock, and under the lock only bytes are copied (or not even those:
    /// see [`push_chunk_or_drop`](Self::push_chunk_or_drop)). Stops at the first
    /// datapoint that must wait ([`OverflowPolicy::Wait`]); call again with
    /// the same chunk and cursor once [`has_room`](Self::has_room) holds,
    /// or give up with
    /// [`push_chunk_rest_or_drop`](Self::push_chunk_rest_or_drop).
    ///
    /// ```
    /// use std::time::Instant;
    /// use graphite_proto::sender::{Chunk, PushCursor, Sender, SenderConfig};
    /// use graphite_proto::{Datapoint, MetricPath, Protocol};
    ///
    /// let mut sender = Sender::new(Instant::now(), SenderConfig::new(Protocol::Plaintext))?;
    /// let path = MetricPath::new("app.requests")?;
    /// let batch: Vec<Datapoint> = (0..100).map(|t| Datapoint::new(path.clone(), 1, t)).collect();
    /// let mut chunk = Chunk::default();
    /// sender.chunk_encoder().encode(&batch, &mut chunk); // no lock needed
    /// let mut cursor = PushCursor::new(&batch);
    /// sender.push_chunk_until_full(Instant::now(), &mut chunk, &mut cursor);
    /// assert!(cursor.is_done());
    /// cursor.finish()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_chunk_until_full(
        &mut self,
        now: Instant,
        chunk: &mut Chunk,
        cursor: &mut PushCursor<'_>,
    ) -> bool {
        if cursor.position() == 0 && self.adopt_whole(now, chunk) {
            cursor.advance_by(cursor.total());
            return true;
        }
        self.push_chunk_from(now, chunk, cursor, self.config.overflow, true)
    }

    /// [`push_rest_or_drop`](Self::push_rest_or_drop) for a slice encoded
    /// into `chunk`, as [`push_chunk_until_full`](Self::push_chunk_until_full)
    /// takes it: what a caller whose wait ran out does.
    pub fn push_chunk_rest_or_drop(
        &mut self,
        now: Instant,
        chunk: &Chunk,
        cursor: &mut PushCursor<'_>,
    ) -> bool {
        let policy = self.never_waiting_policy();
        self.push_chunk_from(now, chunk, cursor, policy, true)
    }

    /// Copies `chunk`'s datapoints in from `cursor`'s position, runs of
    /// them at once where they join the open batch, stopping at the first
    /// that must wait; with `refuse_closing`, a closing sender refuses them
    /// (room [reserved](Self::reserve) before the close is taken anyway).
    /// Returns whether to wake the I/O side.
    fn push_chunk_from(
        &mut self,
        now: Instant,
        chunk: &Chunk,
        cursor: &mut PushCursor<'_>,
        policy: OverflowPolicy,
        refuse_closing: bool,
    ) -> bool {
        debug_assert_eq!(chunk.len(), cursor.total());
        let refused = |sender: &Self| refuse_closing && (sender.closing || sender.is_closed());
        let mut wake = false;
        while !cursor.is_done() {
            let index = cursor.position();
            if chunk.all_encoded() && !refused(self) {
                // Every datapoint that joins the open batch with room in the
                // buffer, copied at once: what `push_item`'s common case
                // would do one by one.
                let room = self.builder.room_in_open().min(
                    self.config
                        .buffer_capacity
                        .saturating_sub(self.held_bytes()),
                );
                let (count, bytes) = chunk.run(index, room);
                if count > 0 {
                    self.builder.append_run(bytes, count as u64);
                    self.stats.accepted += count as u64;
                    self.stats.buffered += count as u64;
                    if self.builder.len() >= self.config.effective_batch_size() {
                        self.seal_open();
                        wake = true;
                    }
                    cursor.advance_by(count);
                    continue;
                }
            }
            let pushed = self.push_wire(
                &mut LazyNow::new(&|| now),
                chunk.item(index),
                policy,
                refuse_closing,
            );
            match cursor.record(index, pushed) {
                Some(w) => wake |= w,
                None => return wake,
            }
        }
        wake
    }

    /// The overflow policy of the calls that never wait: `Wait` drops the
    /// newest, as a wait that ran out would.
    fn never_waiting_policy(&self) -> OverflowPolicy {
        match self.config.overflow {
            OverflowPolicy::Wait(_) => OverflowPolicy::DropNewest,
            other => other,
        }
    }

    /// A closing or closed sender refuses datapoints (counted).
    fn refuse_closed(&mut self) -> Option<PushError> {
        if self.closing || self.is_closed() {
            self.stats.dropped.closed += 1;
            return Some(PushError::Closed);
        }
        None
    }

    fn push_with(
        &mut self,
        now: &mut LazyNow<'_>,
        dp: &Datapoint,
        policy: OverflowPolicy,
    ) -> Result<bool, PushError> {
        if let Some(closed) = self.refuse_closed() {
            return Err(closed);
        }
        if !self.config.naming.is_empty() {
            let path = match self.config.naming.apply(&dp.path) {
                Ok(path) => path,
                Err(e) => return Err(self.refuse_invalid(e.into())),
            };
            let named = Datapoint { path, ..dp.clone() };
            return self.push_named(now, &named, policy);
        }
        self.push_named(now, dp, policy)
    }

    fn push_named(
        &mut self,
        now: &mut LazyNow<'_>,
        dp: &Datapoint,
        policy: OverflowPolicy,
    ) -> Result<bool, PushError> {
        let mut scratch = LineScratch::default();
        let item = self.builder.item(dp, &mut scratch);
        self.push_item(now, &item, policy)
    }

    #[inline]
    fn push_item(
        &mut self,
        now: &mut LazyNow<'_>,
        item: &Item<'_>,
        policy: OverflowPolicy,
    ) -> Result<bool, PushError> {
        let item_len = item.len();
        // The common case, decided with two comparisons: the datapoint joins
        // the open batch and the buffer has room for it (so it fits a batch,
        // needs no spill and starts no timer).
        if self.builder.joins_open(item_len)
            && self.held_bytes() + item_len <= self.config.buffer_capacity
        {
            self.builder.append(item);
            self.stats.accepted += 1;
            self.stats.buffered += 1;
            if self.builder.len() >= self.config.effective_batch_size() {
                // A full batch goes out at once.
                self.seal_open();
                return Ok(true);
            }
            return Ok(false);
        }
        if let Err(e) = self.builder.check_fits(item_len) {
            self.stats.dropped.too_large += 1;
            return Err(PushError::TooLarge {
                len: e.len,
                max: self.config.effective_batch_size(),
            });
        }
        // Framing counts too: a pickle frame's header and trailer are
        // buffered bytes like any other.
        let mut spilled = false;
        while self.held_bytes() + self.builder.room_needed(item_len) > self.config.buffer_capacity {
            if self.spill_oldest(now.get()) {
                // The driver writes it to disk: wake it.
                spilled = true;
                continue;
            }
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
        if let Some(batch) = self.builder.push(item, now.get()) {
            self.outbox.push_back(batch);
            ready = true;
        }
        self.stats.accepted += 1;
        self.stats.buffered += 1;
        if self.builder.len() >= self.config.effective_batch_size() {
            // A full batch goes out at once.
            self.seal_open();
            ready = true;
        }
        Ok(ready || started || spilled)
    }

    fn seal_open(&mut self) {
        if let Some(batch) = self.builder.seal() {
            self.outbox.push_back(batch);
        }
    }

    /// The end of a batch that leaves the buffer: counted, memory reused.
    fn settle(&mut self, batch: Batch, fate: Fate) {
        if batch.spooled.is_some() {
            // A copy of a spool record, which stays on disk.
            if let Some(spool) = self.spool.as_mut() {
                spool.forget_checked_out();
            }
            self.builder.recycle(batch.bytes);
            return;
        }
        self.stats.settle(batch.datapoints, batch.replay, fate);
        self.builder.recycle(batch.bytes);
    }

    /// Drops the oldest bytes that are not in flight: replay copies first,
    /// then the oldest queued batch. Returns false when nothing can go.
    fn evict_oldest(&mut self) -> bool {
        if let Some(batch) = self.window.pop_oldest() {
            self.builder.recycle(batch.bytes);
            return true;
        }
        match self.outbox.evict() {
            Some(batch) => {
                self.settle(batch, Fate::Evicted);
                true
            }
            None => false,
        }
    }

    /// The next thing to do. Call until it returns `None`, after every call
    /// that changes the sender.
    #[must_use]
    pub fn poll_output(&mut self, now: Instant) -> Option<Output> {
        if std::mem::take(&mut self.disconnect) {
            return Some(Output::Disconnect);
        }
        if let Some(spool) = self.poll_spool() {
            return Some(spool);
        }
        match self.state {
            State::Connected { .. } | State::Idle { .. }
                if self.closing
                    && self.is_flushed()
                    && self.reserved == 0
                    && !self.replay_owed()
                    && self.spool_is_idle() =>
            {
                self.state = State::Closed;
                self.clock.stop(now);
                self.discard_outbox();
                // Nothing will be replayed any more: give the memory back.
                while self.window.pop_oldest().is_some() {}
                return Some(Output::Close);
            }
            State::Idle { at } if now >= at => {
                self.state = State::Connecting;
                return Some(Output::Connect);
            }
            _ => {}
        }
        if let Some(event) = self.events.pop_front() {
            return Some(Output::Event(event));
        }
        if self.is_connected() {
            let bytes = self.outbox.transmit(now)?;
            self.watch.arm(now, self.config.sample_period());
            return Some(Output::Transmit(bytes));
        }
        None
    }

    /// The connection is up: replay the window, then go on with the outbox.
    pub fn on_connected(&mut self, now: Instant) {
        if !matches!(self.state, State::Connecting) {
            return;
        }
        self.state = State::Connected { since: now };
        self.clock.start(now);
        self.stats.connects += 1;
        self.watch.reset();
        if self.replay.is_some() {
            // Oldest first, after what an interrupted replay left unsent.
            while let Some(mut batch) = self.window.pop_oldest_stamped() {
                batch.replay = true;
                self.outbox.push_replay(batch);
            }
        }
        let replaying = self.outbox.replay_datapoints();
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
        self.clock.stop(now);
        self.begin_outage(now, error);
        self.rewind_in_flight();
        self.expire_window(now);
        if self.replay.is_none() {
            // Without replay, report what may have been lost with the connection.
            self.stats.unconfirmed += self.window.datapoints();
            while self.window.pop_oldest().is_some() {}
        }
        let delay = self.backoff.next_delay();
        if self.outbox.replay_pending() {
            self.replay_interrupted(delay);
        }
        self.state = State::Idle { at: now + delay };
    }

    /// The connection was lost before its replay was written. The backoff
    /// keeps growing (only a finished replay resets it) and the second
    /// failure in a row is reported, once until a replay completes.
    fn replay_interrupted(&mut self, retry_in: std::time::Duration) {
        self.replay_failures += 1;
        if self.replay_failures == 2 {
            self.events.push_back(Event::ReplayInterrupted {
                failures: self.replay_failures,
                replaying: self.outbox.replay_datapoints(),
                retry_in,
            });
        }
    }

    /// The front batch was partly written on a dead connection: it is sent
    /// again whole on the next one (a pickle frame or datagram must be
    /// whole; half a line would be garbage). With replay off, plaintext
    /// lines already written completely are not sent twice.
    fn rewind_in_flight(&mut self) {
        let keep_lines = self.replay.is_none() && self.config.protocol == Protocol::Plaintext;
        let Some((front, written)) = self.outbox.rewind() else {
            return;
        };
        if !keep_lines || front.spooled.is_some() {
            return;
        }
        let done = &front.bytes[..written];
        let Some(last_newline) = done.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let lines = done.iter().filter(|&&b| b == b'\n').count() as u64;
        let replay = front.replay;
        self.outbox.trim_front(last_newline + 1, lines);
        self.stats.settle(lines, replay, Fate::Written);
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

    /// `n` bytes of what [`Output::Transmit`] offered were written.
    pub fn on_written(&mut self, now: Instant, n: usize) {
        if n == 0 || !self.is_connected() {
            return;
        }
        self.stats.written_bytes += n as u64;
        let advanced = self.outbox.advance(n);
        if !self.outbox.replay_pending() {
            // The replay (if any) is written: this connection works.
            self.backoff.reset();
            self.replay_failures = 0;
        }
        let Some(mut batch) = advanced else {
            return;
        };
        let (datapoints, replay) = (batch.datapoints, batch.replay);
        match (batch.spooled.take(), self.spool.as_mut()) {
            (Some(id), Some(spool)) => spool.written(id, &mut self.stats),
            _ => self.stats.settle(datapoints, replay, Fate::Written),
        }
        if !self.config.protocol.is_stream() {
            self.builder.recycle(batch.bytes);
            return;
        }
        batch.replay = false;
        // A replay copy keeps its first write's stamp: replaying it does
        // not extend its stay, so the same window is not replayed for ever.
        let at = batch
            .first_written
            .take()
            .unwrap_or_else(|| self.clock.read(now));
        if self.replay.is_none() {
            // Only the count and time are needed, for `unconfirmed`.
            self.builder.recycle(std::mem::take(&mut batch.bytes));
            self.window.push(batch, at);
        } else {
            // The window will keep a copy (see `window_copy`), so that the
            // encoder's buffer comes back while it is still in the cache.
            self.window.push_to_copy(batch, at);
        }
        self.expire_window(now);
    }

    /// A sample of the connection's kernel send queue, in bytes (Linux:
    /// `SIOCOUTQ`, bytes not yet acknowledged by the peer; elsewhere
    /// `SO_SNDBUF`, an upper bound that never shrinks). Adapters report it
    /// after every write that went through and, while a write waits or
    /// the queue holds bytes, whenever [`poll_timeout`](Self::poll_timeout)
    /// fires (every [`SenderConfig::sample_period`]): call
    /// [`handle_timeout`](Self::handle_timeout), then this.
    ///
    /// It does two things. The replay window keeps at least that much plus
    /// [`ReplayWindow::peer_unread`]. And a queue that shrank since the
    /// last sample is progress: the peer acknowledged bytes, so it is read
    /// from, however slowly, and the write timeout starts again. Only a
    /// queue that does not shrink for the whole
    /// [`write_timeout`](SenderConfig::write_timeout) while a write waits
    /// is a stalled peer. Without reports (UDP, streams you bring) only
    /// the age and the allowance count, and only a completed write is
    /// progress.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use graphite_proto::sender::{Output, Sender, SenderConfig};
    /// use graphite_proto::{Datapoint, MetricPath, Protocol};
    ///
    /// let start = Instant::now();
    /// let mut sender = Sender::new(start, SenderConfig::new(Protocol::Plaintext))?;
    /// assert_eq!(sender.poll_output(start), Some(Output::Connect));
    /// sender.on_connected(start);
    /// let path = MetricPath::new("app.requests")?;
    /// sender.push(start, &Datapoint::new(path, 1, 1))?;
    /// sender.flush(start + Duration::from_secs(60));
    /// let Some(Output::Transmit(bytes)) = sender.poll_output(start) else { panic!() };
    /// // Part of it goes; the rest waits for a reader that reads slowly.
    /// sender.on_send_queue(start, 4_000_000);
    /// sender.on_written(start, bytes.len() - 1);
    /// let _ = sender.poll_output(start);
    /// for second in 1..=30 {
    ///     let now = start + Duration::from_secs(second);
    ///     sender.handle_timeout(now);
    ///     sender.on_send_queue(now, 4_000_000 - 100_000 * second as usize);
    /// }
    /// assert!(sender.is_connected(), "30 s without a write, but the peer reads");
    /// assert_eq!(sender.stats().stalls, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_send_queue(&mut self, now: Instant, bytes: usize) {
        // A write interrupted to report this wrote nothing: the transport
        // no longer holds the front batch.
        self.outbox.release();
        if !self.is_connected() {
            return;
        }
        self.watch.sample(now, bytes, self.config.sample_period());
        self.expire_window(now);
    }

    /// A copy the replay window wants of a written batch, if any: run it
    /// ([`WindowCopy::run`]) outside any lock around the sender, then hand
    /// it back with [`finish_window_copy`](Self::finish_window_copy). Call
    /// after [`on_written`](Self::on_written). The window then holds the
    /// copy and the batch's buffer goes back to the encoder's pool while it
    /// is still in the cache; a sender that is never asked keeps the
    /// batches themselves (and allocates buffers while the window fills).
    ///
    /// ```
    /// use std::time::Instant;
    /// use graphite_proto::sender::{Output, Sender, SenderConfig};
    /// use graphite_proto::{Datapoint, MetricPath, Protocol};
    ///
    /// let now = Instant::now();
    /// let mut sender = Sender::new(now, SenderConfig::new(Protocol::Plaintext))?;
    /// assert_eq!(sender.poll_output(now), Some(Output::Connect));
    /// sender.on_connected(now);
    /// sender.push(now, &Datapoint::new(MetricPath::new("a.b")?, 1, 1))?;
    /// sender.flush(now);
    /// let Some(Output::Transmit(bytes)) = sender.poll_output(now) else { panic!() };
    /// let written = bytes.len();
    /// drop(bytes);
    /// sender.on_written(now, written);
    /// let mut copy = sender.window_copy().expect("the window keeps a copy");
    /// copy.run(); // no lock needed
    /// sender.finish_window_copy(copy);
    /// assert!(sender.window_copy().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn window_copy(&mut self) -> Option<WindowCopy> {
        self.window.copy_job()
    }

    /// Takes back a [`WindowCopy`] that was [`run`](WindowCopy::run).
    pub fn finish_window_copy(&mut self, copy: WindowCopy) {
        if let Some(original) = self.window.finish_copy(copy) {
            self.builder.recycle(original);
        }
    }

    /// Forgets written batches the replay window no longer covers.
    fn expire_window(&mut self, now: Instant) {
        let window = self.replay.unwrap_or_default();
        let in_network = self.watch.queue().saturating_add(window.peer_unread);
        let clock = self.clock.read(now);
        while let Some(batch) = self.window.pop_expired(clock, &window, in_network) {
            self.window.recycle(batch.bytes);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called:
    /// the earliest of the open batch's delay, reserved room due back (see
    /// [`Reservation`]), the next connection attempt,
    /// the next send-queue sample (while a write waits or the queue holds
    /// bytes: report it with [`on_send_queue`](Self::on_send_queue) after
    /// `handle_timeout`), the stall deadline of a waiting write, a periodic
    /// reconnect and a flush or close deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let batch = self.builder.first_at().map(|t| t + self.config.batch_delay);
        let (connect, stall, reconnect) = match self.state {
            State::Idle { at } => (Some(at), None, None),
            State::Connected { since } => (
                None,
                self.watch.next_timeout(
                    self.outbox.stalled_since(),
                    self.config.write_timeout,
                    self.config.sample_period(),
                ),
                self.config.reconnect_interval.map(|every| since + every),
            ),
            State::Connecting | State::Closed => (None, None, None),
        };
        [
            batch,
            connect,
            stall,
            reconnect,
            self.flush_deadline,
            self.reserved_due,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances timers to `now`: seals a due batch, expires the replay
    /// window, asks for the next send-queue sample, detects a stalled peer,
    /// starts a periodic reconnect, and drops what a passed flush deadline
    /// left behind.
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
            let period = self.config.sample_period();
            self.watch.on_timeout(now, period);
            let stalled = self.watch.is_stalled(
                now,
                self.outbox.stalled_since(),
                self.config.write_timeout,
                period,
            );
            let periodic = self
                .config
                .reconnect_interval
                .is_some_and(|every| now >= since + every);
            if stalled {
                let timeout = self.config.write_timeout;
                self.stats.stalls += 1;
                if self.watch.reports_queue() {
                    let queue = self.watch.queue();
                    self.lose_connection(
                        now,
                        &format_args!(
                            "send queue stuck at {queue} bytes for {timeout:?}: peer stopped reading"
                        ),
                    );
                } else {
                    self.lose_connection(
                        now,
                        &format_args!("nothing written for {timeout:?}: peer stopped reading"),
                    );
                }
                self.disconnect = true;
            } else if periodic && !self.outbox.in_flight() {
                self.stats.periodic_reconnects += 1;
                // A clean close loses nothing: forget the window.
                while let Some(batch) = self.window.pop_oldest() {
                    self.builder.recycle(batch.bytes);
                }
                self.clock.stop(now);
                self.state = State::Idle { at: now };
                self.disconnect = true;
            }
        }
        if self.flush_deadline.is_some_and(|d| now >= d) {
            self.flush_deadline = None;
            self.drop_unwritten(now);
        }
        if self.reserved_due.is_some_and(|due| now >= due) {
            // Room reserved after the driver's hand-over, just before this
            // call: due with the batch now open, or a batch delay from now.
            // Never left in the past, or the driver would spin.
            let open = self.builder.first_at().unwrap_or(now);
            self.reserved_due = (self.reserved > 0).then_some(open + self.config.batch_delay);
        }
        if self.is_flushed() && !self.closing {
            self.flush_deadline = None;
        }
    }

    /// Whether replay copies still wait to be written again after a lost
    /// connection: a close waits for them (up to its deadline) as for
    /// buffered data, so that closing just after carbon died still gives
    /// the restarted carbon what it may have lost.
    fn replay_owed(&self) -> bool {
        self.replay.is_some()
            && (self.outbox.replay_pending() || (self.outage.is_some() && self.window.bytes() > 0))
    }

    /// A deadline passed: whatever is not written is dropped and counted.
    /// A close also gives up a replay it could not finish: those copies
    /// were written on a lost connection and may be missing
    /// ([`Stats::unconfirmed`]).
    fn drop_unwritten(&mut self, now: Instant) {
        if self.closing && self.replay_owed() {
            self.stats.unconfirmed += self.outbox.replay_datapoints();
            if self.outage.is_some() {
                self.stats.unconfirmed += self.window.datapoints();
                while let Some(batch) = self.window.pop_oldest() {
                    self.builder.recycle(batch.bytes);
                }
            }
        }
        if self.outbox.in_flight() {
            // Half a frame must never be resumed: drop the connection too.
            self.disconnect = true;
            self.clock.stop(now);
            self.state = State::Idle { at: now };
        }
        if self.closing {
            // Room still reserved will not be waited for any more.
            self.reservations_forgotten |= self.reserved > 0;
            self.reserved = 0;
            self.reserved_due = None;
        }
        // With a spool, what is unwritten goes to disk instead.
        if self.spill_unwritten() {
            return;
        }
        let open = self.builder.clear();
        self.stats.buffered -= open;
        self.stats.dropped.deadline += open;
        self.discard_outbox();
    }

    fn discard_outbox(&mut self) {
        let batches: Vec<Batch> = self.outbox.drain().collect();
        for batch in batches {
            self.settle(batch, Fate::Deadline);
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
    /// gives [`Output::Close`] once flushed and, after a lost connection,
    /// once the replay is written again (reconnecting for it), or when the
    /// deadline has passed.
    pub fn close(&mut self, deadline: Instant) {
        self.closing = true;
        self.flush(deadline);
    }
}

#[cfg(test)]
mod spool_tests;
#[cfg(test)]
mod tests;
