//! The replay window: batches written recently, kept to be written again
//! after a connection loss (see [`ReplayWindow`]).

use std::collections::VecDeque;
use std::time::Duration;

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

#[derive(Debug, Default)]
pub(crate) struct ReplayBuffer {
    /// Oldest first.
    entries: VecDeque<Written>,
    bytes: usize,
}

impl ReplayBuffer {
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
