//! What the hand-over between the application and the driver costs, for
//! the comparison bench (feature `counters`): lock acquisitions, wake-ups
//! of the driver, and turns of its loop.

use std::sync::atomic::{AtomicU64, Ordering};

/// A sender's hand-over counters so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverCounters {
    /// Acquisitions of the lock around the core, by anyone.
    pub locks: u64,
    /// Wake-ups of the driver sent by pushes (a batch was sealed, or the
    /// open batch's timer started).
    pub wakeups: u64,
    /// Turns of the drive loop (each one takes the lock once).
    pub turns: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counting {
    locks: AtomicU64,
    wakeups: AtomicU64,
    turns: AtomicU64,
}

impl Counting {
    pub(crate) fn lock(&self) {
        self.locks.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn wake(&self) {
        self.wakeups.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn turn(&self) {
        self.turns.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn read(&self) -> DriverCounters {
        DriverCounters {
            locks: self.locks.load(Ordering::Relaxed),
            wakeups: self.wakeups.load(Ordering::Relaxed),
            turns: self.turns.load(Ordering::Relaxed),
        }
    }
}
