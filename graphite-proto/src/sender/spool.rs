//! The disk spool, decided here and done by the driver: what to spill to
//! disk and when, what to read back and when, and what each move does to
//! the counters. No file is touched in this crate.
//!
//! # Design
//!
//! The spool is opt-in ([`SenderConfig::with_spool`](super::SenderConfig::with_spool)).
//! It holds *records*: one sealed batch each, in wire form, with its
//! datapoint count, numbered by a rising `id`. The core keeps only their
//! metadata (id, length, datapoints: 24 bytes a record); the driver keeps
//! the bytes in files and does what [`SpoolOp`]s say, one at a time, off the
//! application's thread, reporting each with
//! [`Sender::on_spool_done`](super::Sender::on_spool_done).
//!
//! - **Spill** ([`SpoolOp::Append`]). Where memory would drop, the spool
//!   takes the data instead, in order:
//!   - a `push` that finds the buffer full moves the oldest queued batch
//!     (never a replay copy, never the batch being written) to the spill
//!     queue and tries again, before the overflow policy applies. The spill
//!     queue may hold [`SPILL_QUEUE_SHARE`] of the buffer's capacity on top
//!     of it while the disk catches up; past that the overflow policy
//!     applies as without a spool (counted drops);
//!   - a flush or close deadline that passes with data unwritten (an
//!     outage, a peer that stopped reading) spills all of it instead of
//!     dropping it.
//! - **A failing spool** (unwritable, full disk) takes nothing for a
//!   second ([`SPOOL_RETRY`]); the batch goes back to memory and the usual
//!   overflow policy counts what cannot be held (at a deadline, it is
//!   dropped as [`Dropped::spool_error`](super::Dropped::spool_error)).
//! - **Full spool.** An append that would take the spool past its byte
//!   limit first drops the oldest records ([`SpoolOp::Remove`]), counted in
//!   [`Dropped::spool_full`](super::Dropped::spool_full).
//! - **Unspill** ([`SpoolOp::Read`]). While connected, with
//!   nothing waiting to be spilled and the memory buffer at most half full,
//!   the oldest record is read back and queued *behind the live batches
//!   already waiting*; the next is read only once it has been written whole.
//!   So the spool never starves live data: each spooled batch waits for
//!   every live batch queued before it, and an application sending hard
//!   gets most of the connection (the spool drains at one batch per turn
//!   of the outbox), while a quiet one lets the spool drain at full speed.
//! - **Removal.** A record is removed from disk ([`SpoolOp::Remove`]) only
//!   once its batch is written whole; it then sits in the replay window
//!   like any batch written, and is replayed after a connection loss.
//!   A record read back but not written (a close, a loss mid-write)
//!   stays on disk.
//! - **Close.** A close sends the spool too until its deadline; then
//!   what memory holds is spilled, the spool is synced, and the rest stays
//!   on disk for the next sender on the directory. A flush does not wait
//!   for the spool.
//! - **Restart.** The driver reads the spool's records back when it starts
//!   ([`Sender::on_spool_recovered`](super::Sender::on_spool_recovered)):
//!   they are sent as above, and torn or corrupt ones are counted
//!   ([`Stats::spool_torn`](super::Stats::spool_torn)), never sent.
//!
//! # Accounting
//!
//! ```text
//! accepted + unspooled        == written + buffered + spooled + dropped.after_accept()
//! spooled  + spool_found      == unspooled + spool_held + dropped.spool_full + dropped.spool_corrupt
//! ```
//!
//! `unspooled` counts datapoints that came back out of the spool: written
//! to carbon (also counted in `written`), or, rarely, taken back into the
//! buffer because the full spool dropped the record whose copy was being
//! written.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::batch::Batch;
use super::stats::Stats;

/// How much of the buffer's capacity the spill queue may hold on top of
/// it while the disk catches up.
pub const SPILL_QUEUE_SHARE: f64 = 0.25;

/// How long a spool that failed a write is left alone.
pub const SPOOL_RETRY: Duration = Duration::from_secs(1);

/// Bytes each record takes on disk besides its batch: what the driver's
/// file format adds (its header). Counted against
/// [`Spool::max_bytes`].
pub const RECORD_OVERHEAD: u64 = 24;

/// Where and how much to spool (see the [module docs](self)).
///
/// ```
/// use graphite_proto::{Protocol, sender::{SenderConfig, Spool}};
///
/// let config = SenderConfig::new(Protocol::Plaintext)
///     .with_spool(Spool::new("/var/spool/myapp-graphite", 1 << 30));
/// config.validate()?;
/// # Ok::<(), graphite_proto::sender::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Spool {
    /// The spool's directory, created if missing. One sender at a time may
    /// use it (the driver locks it).
    pub dir: PathBuf,
    /// Most bytes the spool's records may take; the oldest are dropped
    /// (and counted) past it. Files hold up to one segment more until the
    /// driver deletes a segment whose records are all gone.
    pub max_bytes: u64,
}

impl Spool {
    /// A spool in `dir` holding at most `max_bytes`.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        Self {
            dir: dir.into(),
            max_bytes,
        }
    }
}

/// One record found in the spool when the driver started: what the core
/// needs to know of it (its bytes stay on disk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpoolRecord {
    /// Its number, rising in the order records were appended.
    pub id: u64,
    /// Its batch's length in bytes.
    pub len: u64,
    /// Datapoints in its batch.
    pub datapoints: u64,
}

impl SpoolRecord {
    fn disk_bytes(&self) -> u64 {
        self.len + RECORD_OVERHEAD
    }
}

/// A file operation on the spool, from
/// [`Output::Spool`](super::Output::Spool). The driver does one at a time,
/// in order, and reports each with
/// [`Sender::on_spool_done`](super::Sender::on_spool_done).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpoolOp {
    /// Append this batch as record `id` (with its length and a checksum, so
    /// that a torn write is found on the next start).
    Append {
        /// The record's number.
        id: u64,
        /// The batch, in wire form.
        bytes: Bytes,
        /// Datapoints in it.
        datapoints: u64,
    },
    /// Read record `id`, the oldest, and report its bytes.
    Read {
        /// The record's number.
        id: u64,
    },
    /// Remove every record up to and including `through` (all older than
    /// any record still wanted): written, or dropped to make room.
    Remove {
        /// The newest record to remove.
        through: u64,
    },
    /// Make every record appended so far durable (fsync): given once
    /// before [`Output::Close`](super::Output::Close) when anything was
    /// appended.
    Sync,
}

/// What the driver reports for a [`SpoolOp`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SpoolDone {
    /// An append, removal or sync succeeded.
    Ok,
    /// A read succeeded: the record's batch.
    Read(Bytes),
}

/// An operation given out or waiting to be.
#[derive(Debug)]
enum Pending {
    Append { id: u64, batch: Batch },
    Read(SpoolRecord),
    Remove(u64),
    Sync,
}

/// What [`SpoolState::done`] asks the sender to do with memory.
#[derive(Debug)]
pub(crate) enum AfterOp {
    Nothing,
    /// A read record: queue it.
    Queue(Batch),
    /// A failed append: put these batches back, oldest first.
    Requeue(Vec<Batch>),
}

/// The spool's side of the sender.
#[derive(Debug)]
pub(crate) struct SpoolState {
    max_bytes: u64,
    /// Records on disk, oldest first.
    records: VecDeque<SpoolRecord>,
    /// Their bytes on disk.
    disk_bytes: u64,
    next_id: u64,
    /// Operations in order; the front one has been given out when
    /// `in_progress`.
    ops: VecDeque<Pending>,
    in_progress: bool,
    /// Bytes of batches waiting in `ops` to be appended.
    spilling_bytes: usize,
    spill_limit: usize,
    /// The record whose copy sits in the outbox, being written.
    checked_out: Option<u64>,
    /// The driver has reported what the spool held at start.
    recovered: bool,
    /// Appends since the last sync.
    dirty: bool,
    /// After a failed append, no spilling before this.
    retry_at: Option<Instant>,
    /// Spilling what a passed deadline left: a failed append drops.
    draining: bool,
    /// The close's deadline has passed: the spool is no longer sent, the
    /// rest stays on disk.
    deadline_passed: bool,
}

impl SpoolState {
    pub(crate) fn new(spool: &Spool, buffer_capacity: usize) -> Self {
        Self {
            max_bytes: spool.max_bytes,
            records: VecDeque::new(),
            disk_bytes: 0,
            next_id: 1,
            ops: VecDeque::new(),
            in_progress: false,
            spilling_bytes: 0,
            spill_limit: (buffer_capacity as f64 * SPILL_QUEUE_SHARE) as usize,
            checked_out: None,
            recovered: false,
            dirty: false,
            retry_at: None,
            draining: false,
            deadline_passed: false,
        }
    }

    /// Bytes of batches waiting to be appended (memory on top of the
    /// buffer's capacity).
    pub(crate) fn spilling_bytes(&self) -> usize {
        self.spilling_bytes
    }

    /// Whether a batch of `len` bytes may be queued for spilling now.
    pub(crate) fn can_spill(&self, now: Instant, len: usize) -> bool {
        self.retry_at.is_none_or(|at| now >= at) && self.spilling_bytes + len <= self.spill_limit
    }

    /// Queues `batch` to be appended. Its datapoints stay `buffered` until
    /// the driver reports the append.
    pub(crate) fn spill(&mut self, batch: Batch) {
        self.spilling_bytes += batch.bytes.len();
        // Numbered when given out: after the records found at start.
        self.ops.push_back(Pending::Append { id: 0, batch });
    }

    /// Whether nothing is given out or waiting.
    pub(crate) fn is_idle(&self) -> bool {
        self.ops.is_empty()
    }

    /// The copy of the checked-out record left memory unwritten (a close,
    /// an eviction): the record stays on disk, to be read again.
    pub(crate) fn forget_checked_out(&mut self) {
        self.checked_out = None;
    }

    /// The next operation to give out, if any: queued ones first, then a
    /// read when `may_read`, then a sync when `closing`. An append that
    /// needs room is preceded by the removal of the oldest records, counted
    /// here; `released` is set to the record whose copy is being written
    /// when that copy must become an ordinary buffered batch.
    pub(crate) fn poll(
        &mut self,
        may_read: bool,
        closing: bool,
        stats: &mut Stats,
        released: &mut Option<u64>,
    ) -> Option<SpoolOp> {
        if self.in_progress || !self.recovered {
            return None;
        }
        if self.ops.is_empty() {
            if may_read
                && self.checked_out.is_none()
                && let Some(&head) = self.records.front()
            {
                self.ops.push_back(Pending::Read(head));
            } else if closing && self.dirty {
                self.ops.push_back(Pending::Sync);
            }
        }
        if let Some(Pending::Append { id, batch }) = self.ops.front_mut() {
            if *id == 0 {
                *id = self.next_id;
                self.next_id += 1;
            }
            let need = batch.bytes.len() as u64 + RECORD_OVERHEAD;
            if let Some(through) = self.make_room(need, stats, released) {
                self.ops.push_front(Pending::Remove(through));
            }
        }
        let op = match self.ops.front()? {
            Pending::Append { id, batch } => SpoolOp::Append {
                id: *id,
                bytes: batch.bytes.clone(),
                datapoints: batch.datapoints,
            },
            Pending::Read(record) => SpoolOp::Read { id: record.id },
            Pending::Remove(through) => SpoolOp::Remove { through: *through },
            Pending::Sync => SpoolOp::Sync,
        };
        self.in_progress = true;
        Some(op)
    }

    /// Drops the oldest records until `need` more bytes fit, counting them;
    /// returns the newest id dropped.
    fn make_room(
        &mut self,
        need: u64,
        stats: &mut Stats,
        released: &mut Option<u64>,
    ) -> Option<u64> {
        let mut through = None;
        while self.disk_bytes + need > self.max_bytes {
            let Some(record) = self.records.pop_front() else {
                break;
            };
            self.disk_bytes -= record.disk_bytes();
            stats.spool_held -= record.datapoints;
            if self.checked_out == Some(record.id) {
                // Its copy is being written: it goes on from memory.
                self.checked_out = None;
                stats.unspooled += record.datapoints;
                stats.buffered += record.datapoints;
                *released = Some(record.id);
            } else {
                stats.dropped.spool_full += record.datapoints;
            }
            through = Some(record.id);
        }
        through
    }

    /// The driver did the operation given out last, or failed it.
    pub(crate) fn done(
        &mut self,
        now: Instant,
        result: Result<SpoolDone, &dyn std::fmt::Display>,
        closing: bool,
        stats: &mut Stats,
    ) -> AfterOp {
        if !self.in_progress {
            return AfterOp::Nothing;
        }
        self.in_progress = false;
        let Some(op) = self.ops.pop_front() else {
            return AfterOp::Nothing;
        };
        if !self
            .ops
            .iter()
            .any(|op| matches!(op, Pending::Append { .. }))
        {
            self.draining = false;
        }
        match (op, result) {
            (Pending::Append { id, batch }, Ok(_)) => {
                self.spilling_bytes -= batch.bytes.len();
                let record = SpoolRecord {
                    id,
                    len: batch.bytes.len() as u64,
                    datapoints: batch.datapoints,
                };
                self.disk_bytes += record.disk_bytes();
                self.records.push_back(record);
                self.dirty = true;
                stats.buffered -= batch.datapoints;
                stats.spooled += batch.datapoints;
                stats.spool_held += batch.datapoints;
                AfterOp::Nothing
            }
            (Pending::Append { batch, .. }, Err(_)) => {
                self.retry_at = Some(now + SPOOL_RETRY);
                let mut failed = vec![batch];
                // Later appends would fail too: all go back, in order.
                while let Some(Pending::Append { .. }) = self.ops.front() {
                    if let Some(Pending::Append { batch, .. }) = self.ops.pop_front() {
                        failed.push(batch);
                    }
                }
                for batch in &failed {
                    self.spilling_bytes -= batch.bytes.len();
                }
                if closing || self.draining {
                    for batch in &failed {
                        stats.buffered -= batch.datapoints;
                        stats.dropped.spool_error += batch.datapoints;
                    }
                    return AfterOp::Nothing;
                }
                AfterOp::Requeue(failed)
            }
            (Pending::Read(record), Ok(SpoolDone::Read(bytes)))
                if bytes.len() as u64 == record.len =>
            {
                self.checked_out = Some(record.id);
                AfterOp::Queue(Batch {
                    bytes,
                    datapoints: record.datapoints,
                    replay: false,
                    spooled: Some(record.id),
                    first_written: None,
                })
            }
            (Pending::Read(record), _) => {
                // Unreadable (a checksum that does not match, an I/O
                // error): never sent, counted, removed.
                if self.records.front().is_some_and(|r| r.id == record.id) {
                    self.records.pop_front();
                    self.disk_bytes -= record.disk_bytes();
                    stats.spool_held -= record.datapoints;
                    stats.dropped.spool_corrupt += record.datapoints;
                    self.ops.push_front(Pending::Remove(record.id));
                }
                AfterOp::Nothing
            }
            (Pending::Sync, _) => {
                self.dirty = false;
                AfterOp::Nothing
            }
            // A removal that failed leaves records to be sent again after a
            // restart: duplicates, which carbon stores once.
            (Pending::Remove(_), _) => AfterOp::Nothing,
        }
    }

    /// The batch of record `id` was written whole: the record is removed.
    pub(crate) fn written(&mut self, id: u64, stats: &mut Stats) {
        if self.checked_out == Some(id) {
            self.checked_out = None;
        }
        if self.records.front().is_some_and(|r| r.id == id)
            && let Some(record) = self.records.pop_front()
        {
            self.disk_bytes -= record.disk_bytes();
            stats.spool_held -= record.datapoints;
            stats.unspooled += record.datapoints;
            stats.written += record.datapoints;
            self.ops.push_back(Pending::Remove(id));
        }
    }

    /// What the driver found on disk at start; `torn` records or regions
    /// could not be read whole and were cut off.
    pub(crate) fn recovered(&mut self, records: &[SpoolRecord], torn: u64, stats: &mut Stats) {
        if self.recovered {
            return;
        }
        self.recovered = true;
        stats.spool_torn += torn;
        for record in records {
            if record.id < self.next_id {
                continue;
            }
            self.next_id = record.id + 1;
            self.disk_bytes += record.disk_bytes();
            stats.spool_found += record.datapoints;
            stats.spool_held += record.datapoints;
            self.records.push_back(*record);
        }
    }

    /// Bytes the spool's records take on disk.
    pub(crate) fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }
}

/// The spool's entry points on the sender, and its hooks into the buffer.
impl super::Sender {
    /// The driver's report of what the spool held when it started: the
    /// records it found, oldest first (rising ids), and how many torn or
    /// corrupt stretches it cut off. Nothing is spilled or read before this
    /// report; call it once, before driving the sender, when a spool is
    /// configured.
    ///
    /// ```
    /// use std::time::Instant;
    /// use graphite_proto::{Protocol, sender::{Sender, SenderConfig, Spool, SpoolRecord}};
    ///
    /// let config = SenderConfig::new(Protocol::Plaintext).with_spool(Spool::new("spool", 1 << 20));
    /// let mut sender = Sender::new(Instant::now(), config)?;
    /// sender.on_spool_recovered(&[SpoolRecord { id: 7, len: 30, datapoints: 1 }], 1);
    /// let stats = sender.stats();
    /// assert_eq!((stats.spool_found, stats.spool_held, stats.spool_torn), (1, 1, 1));
    /// # Ok::<(), graphite_proto::sender::ConfigError>(())
    /// ```
    pub fn on_spool_recovered(&mut self, records: &[SpoolRecord], torn: u64) {
        if let Some(spool) = self.spool.as_mut() {
            spool.recovered(records, torn, &mut self.stats);
        }
    }

    /// The driver did the [`SpoolOp`] given last (`Ok`), or failed it.
    pub fn on_spool_done(
        &mut self,
        now: Instant,
        result: Result<SpoolDone, &dyn std::fmt::Display>,
    ) {
        let closing = self.closing;
        let Some(spool) = self.spool.as_mut() else {
            return;
        };
        let failed = result.as_ref().err().map(|e| e.to_string());
        let op = spool.current_op_name();
        match spool.done(now, result, closing, &mut self.stats) {
            AfterOp::Nothing => {}
            AfterOp::Queue(batch) => self.outbox.push_back(batch),
            AfterOp::Requeue(batches) => {
                for batch in batches.into_iter().rev() {
                    self.outbox.requeue(batch);
                }
            }
        }
        if let (Some(error), Some(op)) = (failed, op) {
            self.events
                .push_back(super::Event::SpoolFailed { op, error });
        }
    }

    /// The next spool operation, if the spool has one to give now.
    pub(super) fn poll_spool(&mut self) -> Option<super::Output> {
        // Replay copies do not count: they make room whenever needed.
        let waiting = self.builder.len() + self.outbox.bytes();
        let may_read = self.is_connected() && waiting * 2 <= self.config.buffer_capacity;
        let closing = self.closing && self.is_flushed();
        let spool = self.spool.as_mut()?;
        let may_read = may_read && spool.spilling_bytes() == 0 && !spool.deadline_passed;
        let mut released = None;
        let op = spool.poll(may_read, closing, &mut self.stats, &mut released);
        if let Some(id) = released {
            self.outbox.release_spooled(id);
        }
        op.map(super::Output::Spool)
    }

    /// Whether the spool has nothing left to do before the sender closes:
    /// no operation waiting, synced, and either empty or past the close's
    /// deadline (a close sends the spool too, as long as its deadline
    /// allows, and leaves the rest on disk for the next sender).
    pub(super) fn spool_is_idle(&self) -> bool {
        self.spool.as_ref().is_none_or(|s| {
            s.is_idle() && !s.needs_sync() && (s.records.is_empty() || s.deadline_passed)
        })
    }

    /// Moves the oldest queued batch to the spill queue to make room for a
    /// push; false when there is no spool, it cannot take more now, or no
    /// batch can go.
    pub(super) fn spill_oldest(&mut self, now: Instant) -> bool {
        let Some(spool) = self.spool.as_mut() else {
            return false;
        };
        let Some(len) = self.outbox.spillable_len() else {
            return false;
        };
        if !spool.can_spill(now, len) {
            return false;
        }
        match self.outbox.take_spillable() {
            Some(batch) => {
                spool.spill(batch);
                true
            }
            None => false,
        }
    }

    /// A deadline passed with data unwritten: everything in memory that
    /// is not yet written goes to the spool instead of being dropped.
    /// Returns false without a spool.
    pub(super) fn spill_unwritten(&mut self) -> bool {
        let Some(spool) = self.spool.as_mut() else {
            return false;
        };
        if let Some(batch) = self.builder.seal() {
            self.outbox.push_back(batch);
        }
        spool.draining = true;
        spool.deadline_passed |= self.closing;
        let batches: Vec<Batch> = self.outbox.drain().collect();
        for batch in batches {
            if batch.replay {
                // Written already: nothing is lost with the copy.
                self.builder.recycle(batch.bytes);
            } else if batch.spooled.is_some() {
                // Still on disk.
                spool.forget_checked_out();
            } else {
                spool.spill(batch);
            }
        }
        true
    }
}

impl SpoolState {
    /// Whether a sync is owed before closing.
    pub(crate) fn needs_sync(&self) -> bool {
        self.dirty
    }

    /// The name of the operation given out, for a failure's event.
    fn current_op_name(&self) -> Option<&'static str> {
        if !self.in_progress {
            return None;
        }
        Some(match self.ops.front()? {
            Pending::Append { .. } => "append",
            Pending::Read(_) => "read",
            Pending::Remove(_) => "remove",
            Pending::Sync => "sync",
        })
    }
}
