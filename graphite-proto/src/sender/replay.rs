//! The replay window: batches written recently, kept to be written again
//! after a connection loss (see [`ReplayWindow`]).

use std::collections::VecDeque;
use std::time::Instant;

use super::batch::Batch;
use super::config::ReplayWindow;

/// A written batch and when it was written. Without replay only its count
/// and time are kept (the bytes are released at once), for
/// [`Stats::unconfirmed`](super::Stats::unconfirmed).
#[derive(Debug)]
struct Written {
    batch: Batch,
    at: Instant,
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

    pub(crate) fn push(&mut self, batch: Batch, at: Instant) {
        self.bytes += batch.bytes.len();
        self.entries.push_back(Written { batch, at });
    }

    pub(crate) fn pop_oldest(&mut self) -> Option<Batch> {
        let entry = self.entries.pop_front()?;
        self.bytes -= entry.batch.bytes.len();
        Some(entry.batch)
    }

    pub(crate) fn pop_newest(&mut self) -> Option<Batch> {
        let entry = self.entries.pop_back()?;
        self.bytes -= entry.batch.bytes.len();
        Some(entry.batch)
    }

    /// Pops the oldest batch if `window` no longer covers it: older than
    /// its age (counted only while `connected`, so what was written just
    /// before a loss stays at risk however long the outage lasts) and with
    /// more newer bytes written after it than the network may still hold
    /// (`in_network`: our kernel's send queue and carbon's unread
    /// allowance), or beyond the window's size.
    pub(crate) fn pop_expired(
        &mut self,
        now: Instant,
        window: &ReplayWindow,
        connected: bool,
        in_network: usize,
    ) -> Option<Batch> {
        let oldest = self.entries.front()?;
        let newer = self.bytes - oldest.batch.bytes.len();
        let aged = connected && now.saturating_duration_since(oldest.at) > window.max_age;
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
