//! The replay window: batches written recently, kept to be written again
//! after a connection loss (see [`ReplayWindow`]).

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::batch::Batch;
use super::config::ReplayWindow;

/// A written batch and when it was first written, on the sender's
/// connected clock (time spent connected; see
/// [`ConnectedClock`](super::clock::ConnectedClock)). Without replay only
/// its count and time are kept (the bytes are released at once), for
/// [`Stats::unconfirmed`](super::Stats::unconfirmed).
#[derive(Debug)]
struct Written {
    batch: Batch,
    at: Duration,
    /// Its place in the order of writes, to find it again.
    seq: u64,
    /// It still holds the encoder's buffer: a [`WindowCopy`] is owed.
    uncopied: bool,
}

/// A written batch to be copied into the replay window's own memory, so
/// that the buffer it was encoded into goes back to the encoder at once,
/// while still in the cache, instead of when the window lets go of it
/// (seconds and megabytes later). Given by
/// [`Sender::window_copy`](super::Sender::window_copy); the copy is made
/// with [`run`](Self::run) by whoever drives the sender, outside any lock
/// around it, and handed back with
/// [`Sender::finish_window_copy`](super::Sender::finish_window_copy).
#[derive(Debug)]
pub struct WindowCopy {
    seq: u64,
    source: Bytes,
    target: BytesMut,
}

impl WindowCopy {
    /// Copies the batch (its bytes are immutable: no lock is needed).
    pub fn run(&mut self) {
        self.target.extend_from_slice(&self.source);
    }
}

#[derive(Debug)]
pub(crate) struct ReplayBuffer {
    /// Oldest first.
    entries: VecDeque<Written>,
    bytes: usize,
    /// Where the window's copies are kept.
    copies: Copies,
    /// The next write's place in the order of writes.
    next_seq: u64,
    /// Entries that still hold the encoder's buffer.
    uncopied: usize,
}

/// The window's own memory: written batches are copied here, packed one
/// after another into buffers of a batch's size, so that the buffer the
/// application encoded into goes back to it at once, still in the cache,
/// instead of only once the window lets go of it (seconds and megabytes
/// later). The copy is made by whoever reports the write: the I/O side.
#[derive(Debug)]
struct Copies {
    /// The buffer being filled; copies are split off its front.
    current: BytesMut,
    /// Emptied buffers of expired copies, reused to avoid allocating.
    free: Vec<BytesMut>,
    /// The size of a new buffer: the largest batch.
    buffer_len: usize,
}

/// Emptied buffers the window keeps for reuse: it frees about one buffer
/// per buffer it fills, so a few absorb the unevenness.
const FREE_COPY_BUFFERS: usize = 4;

impl Copies {
    /// Memory with room for `len` more bytes, taken out until
    /// [`put_back`](Self::put_back).
    fn take_target(&mut self, len: usize) -> BytesMut {
        if self.current.capacity() - self.current.len() < len {
            self.current = match self.free.pop() {
                Some(buf) if buf.capacity() >= len => buf,
                _ => BytesMut::with_capacity(self.buffer_len.max(len)),
            };
        }
        std::mem::take(&mut self.current)
    }

    /// The rest of a target, for the next copies.
    fn put_back(&mut self, target: BytesMut) {
        self.current = target;
    }

    /// Takes back the memory of an expired copy, once every copy that
    /// shares its buffer has expired.
    fn recycle(&mut self, bytes: Bytes) {
        if self.free.len() < FREE_COPY_BUFFERS
            && let Ok(mut buf) = bytes.try_into_mut()
        {
            buf.clear();
            if buf.capacity() >= self.buffer_len {
                self.free.push(buf);
            }
        }
    }
}

impl ReplayBuffer {
    /// An empty window whose copies are packed into buffers of
    /// `buffer_len` bytes (the largest batch).
    pub(crate) fn new(buffer_len: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            bytes: 0,
            copies: Copies {
                current: BytesMut::new(),
                free: Vec::new(),
                buffer_len,
            },
            next_seq: 0,
            uncopied: 0,
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Keeps `batch`, first written at `at` on the connected clock. A
    /// replayed batch keeps its first stamp, so replaying it does not
    /// extend its stay.
    pub(crate) fn push(&mut self, batch: Batch, at: Duration) {
        self.push_entry(batch, at, false);
    }

    /// [`push`](Self::push), owing a [`WindowCopy`] of the batch.
    pub(crate) fn push_to_copy(&mut self, batch: Batch, at: Duration) {
        self.push_entry(batch, at, true);
    }

    fn push_entry(&mut self, batch: Batch, at: Duration, uncopied: bool) {
        self.bytes += batch.bytes.len();
        self.uncopied += usize::from(uncopied);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.push_back(Written {
            batch,
            at,
            seq,
            uncopied,
        });
    }

    /// The oldest copy owed, if any.
    pub(crate) fn copy_job(&mut self) -> Option<WindowCopy> {
        if self.uncopied == 0 {
            return None;
        }
        let entry = self.entries.iter().find(|e| e.uncopied)?;
        let (seq, source) = (entry.seq, entry.batch.bytes.clone());
        let target = self.copies.take_target(source.len());
        Some(WindowCopy {
            seq,
            source,
            target,
        })
    }

    /// Puts a finished copy in place of its batch's bytes, and returns
    /// those (the encoder's buffer) to be reused; `None` when the batch
    /// left the window meanwhile.
    pub(crate) fn finish_copy(&mut self, job: WindowCopy) -> Option<Bytes> {
        let WindowCopy {
            seq,
            source,
            mut target,
        } = job;
        let copy = target.split().freeze();
        self.copies.put_back(target);
        drop(source);
        let at = self.entries.binary_search_by_key(&seq, |e| e.seq).ok()?;
        let entry = &mut self.entries[at];
        if !entry.uncopied || copy.len() != entry.batch.bytes.len() {
            return None;
        }
        entry.uncopied = false;
        self.uncopied -= 1;
        Some(std::mem::replace(&mut entry.batch.bytes, copy))
    }

    fn forget(&mut self, entry: &Written) {
        self.bytes -= entry.batch.bytes.len();
        self.uncopied -= usize::from(entry.uncopied);
    }

    /// Takes back the memory of a batch that left the window.
    pub(crate) fn recycle(&mut self, bytes: Bytes) {
        self.copies.recycle(bytes);
    }

    pub(crate) fn pop_oldest(&mut self) -> Option<Batch> {
        let entry = self.entries.pop_front()?;
        self.forget(&entry);
        Some(entry.batch)
    }

    /// The oldest batch, carrying its first-write stamp (to be replayed).
    pub(crate) fn pop_oldest_stamped(&mut self) -> Option<Batch> {
        let mut entry = self.entries.pop_front()?;
        self.forget(&entry);
        entry.batch.first_written = Some(entry.at);
        Some(entry.batch)
    }

    /// Pops the oldest batch if `window` no longer covers it: first written
    /// longer ago than its age, on the connected clock `now` (which stands
    /// still during an outage, so what was written just before a loss stays
    /// at risk however long the outage lasts), with more newer bytes
    /// written after it than the network may still hold (`in_network`: our
    /// kernel's send queue and carbon's unread allowance); or beyond the
    /// window's size.
    pub(crate) fn pop_expired(
        &mut self,
        now: Duration,
        window: &ReplayWindow,
        in_network: usize,
    ) -> Option<Batch> {
        let oldest = self.entries.front()?;
        let newer = self.bytes - oldest.batch.bytes.len();
        let aged = now.saturating_sub(oldest.at) > window.max_age;
        let covered = aged && newer >= in_network;
        if covered || self.bytes > window.max_bytes {
            self.pop_oldest()
        } else {
            None
        }
    }

    /// Datapoints in the window.
    pub(crate) fn datapoints(&self) -> u64 {
        self.entries.iter().map(|w| w.batch.datapoints).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crate::sender::{Output, Sender, SenderConfig};
    use crate::{Datapoint, MetricPath, Protocol};

    /// Writes everything ready, making the window's copies when `copy`.
    fn write_all(sender: &mut Sender, now: Instant, copy: bool) -> Vec<u8> {
        let mut wire = Vec::new();
        while let Some(output) = sender.poll_output(now) {
            if let Output::Transmit(bytes) = output {
                wire.extend_from_slice(&bytes);
                let n = bytes.len();
                drop(bytes);
                sender.on_written(now, n);
                while let Some(mut job) = copy.then(|| sender.window_copy()).flatten() {
                    job.run();
                    sender.finish_window_copy(job);
                }
            }
        }
        wire
    }

    #[test]
    fn a_copied_window_replays_the_same_bytes() {
        let now = Instant::now();
        let config = SenderConfig::new(Protocol::Plaintext).with_batch_size(1 << 10);
        let path = MetricPath::new("servers.a.cpu").expect("valid");
        let batch: Vec<Datapoint> = (0..200)
            .map(|i| Datapoint::new(path.clone(), i, i))
            .collect();
        let mut replays = Vec::new();
        for copy in [false, true] {
            let mut sender = Sender::new(now, config.clone()).expect("valid config");
            assert_eq!(sender.poll_output(now), Some(Output::Connect));
            sender.on_connected(now);
            sender.push_many_or_drop(now, &batch).expect("room");
            sender.flush(now + std::time::Duration::from_secs(1));
            let first = write_all(&mut sender, now, copy);
            assert_eq!(
                sender.window_copy().is_none(),
                copy,
                "copies owed only when not made"
            );
            sender.on_error(now, &"lost");
            let later = now + std::time::Duration::from_secs(10);
            sender.handle_timeout(later);
            while let Some(output) = sender.poll_output(later) {
                if output == Output::Connect {
                    sender.on_connected(later);
                    break;
                }
            }
            let again = write_all(&mut sender, later, copy);
            assert_eq!(first, again, "the replay is the window, byte for byte");
            assert!(sender.stats().is_consistent());
            replays.push(again);
        }
        assert_eq!(replays[0], replays[1]);
    }
}
