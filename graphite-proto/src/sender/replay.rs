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
}

#[derive(Debug)]
pub(crate) struct ReplayBuffer {
    /// Oldest first.
    entries: VecDeque<Written>,
    bytes: usize,
    /// Where the window's copies are kept.
    copies: Copies,
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
    fn copy(&mut self, bytes: &[u8]) -> Bytes {
        if self.current.capacity() - self.current.len() < bytes.len() {
            self.current = match self.free.pop() {
                Some(buf) if buf.capacity() >= bytes.len() => buf,
                _ => BytesMut::with_capacity(self.buffer_len.max(bytes.len())),
            };
        }
        self.current.extend_from_slice(bytes);
        self.current.split().freeze()
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
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Keeps `batch`, first written at `at` on the connected clock. A
    /// replayed batch keeps its first stamp, so replaying it does not
    /// extend its stay.
    pub(crate) fn push(&mut self, batch: Batch, at: Duration) {
        self.bytes += batch.bytes.len();
        self.entries.push_back(Written { batch, at });
    }

    /// Keeps a copy of `batch` (see [`push`](Self::push)) in the window's
    /// own memory, and returns the batch's bytes for their buffer to be
    /// reused at once.
    pub(crate) fn push_copy(&mut self, mut batch: Batch, at: Duration) -> Bytes {
        let copy = self.copies.copy(&batch.bytes);
        let original = std::mem::replace(&mut batch.bytes, copy);
        self.push(batch, at);
        original
    }

    /// Takes back the memory of a batch that left the window.
    pub(crate) fn recycle(&mut self, bytes: Bytes) {
        self.copies.recycle(bytes);
    }

    pub(crate) fn pop_oldest(&mut self) -> Option<Batch> {
        let entry = self.entries.pop_front()?;
        self.bytes -= entry.batch.bytes.len();
        Some(entry.batch)
    }

    /// The oldest batch, carrying its first-write stamp (to be replayed).
    pub(crate) fn pop_oldest_stamped(&mut self) -> Option<Batch> {
        let mut entry = self.entries.pop_front()?;
        self.bytes -= entry.batch.bytes.len();
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
