//! The outbox: sealed batches waiting to be written, oldest first. The
//! front batch may be in flight (partly written on the current connection).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::batch::Batch;

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Batch>,
    /// Bytes of every queued batch, the front's written part included.
    bytes: usize,
    /// Bytes of the front batch written on the current connection.
    offset: usize,
    /// Whether the transport holds the front batch's bytes: between
    /// [`transmit`](Self::transmit) and the report of that write (written,
    /// failed, or interrupted with nothing written). Meanwhile a push may
    /// run on another thread; it must not spill or evict the front batch,
    /// or the write's count would be applied to another batch.
    handed_out: bool,
    /// Since when the front batch has waited without any byte written.
    stalled_since: Option<Instant>,
    /// Replay copies queued: a replay is pending while there are any.
    replays: usize,
}

impl Outbox {
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the front batch is partly written, or being written.
    pub(crate) fn in_flight(&self) -> bool {
        self.offset > 0 || self.handed_out
    }

    /// How many batches at the front are the transport's (the one in
    /// flight, if any): nothing may take them.
    fn pinned(&self) -> usize {
        usize::from(self.in_flight()).min(self.queue.len())
    }

    /// The transport's write ended with nothing written (interrupted by a
    /// timer or a wake-up): the front batch is no longer held.
    pub(crate) fn release(&mut self) {
        self.handed_out = false;
    }

    pub(crate) fn stalled_since(&self) -> Option<Instant> {
        self.stalled_since
    }

    /// Whether replay copies wait to be written: the replay that followed
    /// the last reconnect is not finished.
    pub(crate) fn replay_pending(&self) -> bool {
        self.replays > 0
    }

    /// Datapoints of the replay copies still queued.
    pub(crate) fn replay_datapoints(&self) -> u64 {
        self.queue
            .iter()
            .filter(|b| b.replay)
            .map(|b| b.datapoints)
            .sum()
    }

    pub(crate) fn push_back(&mut self, batch: Batch) {
        self.bytes += batch.bytes.len();
        self.replays += usize::from(batch.replay);
        self.queue.push_back(batch);
    }

    /// Queues a replay copy after the replay copies already queued (those
    /// the last connection did not reach) and before everything else: a
    /// replay interrupted by a lost connection resumes where it stopped,
    /// and what that connection re-sent comes after.
    pub(crate) fn push_replay(&mut self, batch: Batch) {
        debug_assert_eq!(self.offset, 0, "nothing may be in flight");
        debug_assert!(batch.replay);
        debug_assert!(self.queue.iter().take(self.replays).all(|b| b.replay));
        self.bytes += batch.bytes.len();
        self.queue.insert(self.replays, batch);
        self.replays += 1;
    }

    fn taken(&mut self, batch: &Batch) {
        self.bytes -= batch.bytes.len();
        self.replays -= usize::from(batch.replay);
    }

    /// The unwritten rest of the front batch; starts the stall clock.
    pub(crate) fn transmit(&mut self, now: Instant) -> Option<Bytes> {
        let front = self.queue.front()?;
        self.stalled_since.get_or_insert(now);
        self.handed_out = true;
        Some(front.bytes.slice(self.offset..))
    }

    /// `n` more bytes of the front batch were written; returns the batch
    /// once it is written whole.
    pub(crate) fn advance(&mut self, n: usize) -> Option<Batch> {
        self.offset += n;
        self.handed_out = false;
        self.stalled_since = None;
        if self
            .queue
            .front()
            .is_none_or(|front| self.offset < front.bytes.len())
        {
            return None;
        }
        self.offset = 0;
        let batch = self.queue.pop_front()?;
        self.taken(&batch);
        Some(batch)
    }

    /// The connection is gone: the front batch starts again from its first
    /// byte. Returns the front batch and how much of it had been written,
    /// so the caller can keep lines that were written whole.
    pub(crate) fn rewind(&mut self) -> Option<(&mut Batch, usize)> {
        let written = std::mem::take(&mut self.offset);
        self.handed_out = false;
        self.stalled_since = None;
        let front = self.queue.front_mut()?;
        (written > 0).then_some((front, written))
    }

    /// Cuts the first `len` bytes off the front batch (lines written whole
    /// before a loss).
    pub(crate) fn trim_front(&mut self, len: usize, datapoints: u64) {
        if let Some(front) = self.queue.front_mut() {
            front.bytes = front.bytes.slice(len..);
            front.datapoints -= datapoints;
            self.bytes -= len;
        }
    }

    /// Removes the oldest batch that is not the transport's, replay copies
    /// first.
    pub(crate) fn evict(&mut self) -> Option<Batch> {
        let first = self.pinned();
        let index = (first..self.queue.len())
            .find(|&i| self.queue[i].replay)
            .or((first < self.queue.len()).then_some(first))?;
        let batch = self.queue.remove(index)?;
        self.taken(&batch);
        Some(batch)
    }

    /// Empties the outbox.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Batch> + '_ {
        self.offset = 0;
        self.handed_out = false;
        self.stalled_since = None;
        self.bytes = 0;
        self.replays = 0;
        self.queue.drain(..)
    }

    /// Puts a batch back before every queued one, behind the batch in
    /// flight (a batch the spool could not take).
    pub(crate) fn requeue(&mut self, batch: Batch) {
        let index = self.pinned();
        self.bytes += batch.bytes.len();
        self.queue.insert(index, batch);
    }

    /// The index of the oldest batch the spool may take: not in flight, not
    /// a replay copy, not read from the spool.
    fn spillable(&self) -> Option<usize> {
        let first = self.pinned();
        (first..self.queue.len()).find(|&i| {
            let batch = &self.queue[i];
            !batch.replay && batch.spooled.is_none()
        })
    }

    /// The length of the batch [`take_spillable`](Self::take_spillable)
    /// would take.
    pub(crate) fn spillable_len(&self) -> Option<usize> {
        self.spillable().map(|i| self.queue[i].bytes.len())
    }

    /// Removes the oldest batch the spool may take.
    pub(crate) fn take_spillable(&mut self) -> Option<Batch> {
        let batch = self.queue.remove(self.spillable()?)?;
        self.bytes -= batch.bytes.len();
        Some(batch)
    }

    /// The spool dropped record `id` while its copy waits here: the copy
    /// becomes an ordinary batch.
    pub(crate) fn release_spooled(&mut self, id: u64) {
        if let Some(batch) = self.queue.iter_mut().find(|b| b.spooled == Some(id)) {
            batch.spooled = None;
        }
    }
}
