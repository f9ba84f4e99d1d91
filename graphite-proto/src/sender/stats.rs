//! [`Stats`]: what happened to every datapoint.

/// Datapoints dropped, by reason. Every drop is counted here; none is silent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dropped {
    /// Refused by `push` because the buffer was full
    /// ([`OverflowPolicy::DropNewest`](super::OverflowPolicy::DropNewest), or
    /// [`Wait`](super::OverflowPolicy::Wait) after its time ran out).
    pub buffer_full: u64,
    /// Accepted, then dropped to make room
    /// ([`OverflowPolicy::DropOldest`](super::OverflowPolicy::DropOldest)).
    pub evicted: u64,
    /// Accepted, but not written when a flush or close deadline passed.
    pub deadline: u64,
    /// Refused because the sender was closing or closed.
    pub closed: u64,
    /// Refused because one datapoint cannot fit in a batch (a UDP datagram
    /// smaller than the line, or a pickle frame limit below the item).
    pub too_large: u64,
    /// Refused because the name or value was invalid (or the name became
    /// invalid with the configured prefix and default tags).
    pub invalid: u64,
    /// Spooled, then dropped as the oldest to make room in a full spool.
    pub spool_full: u64,
    /// Could not be written to the spool at a flush or close deadline (an
    /// unwritable directory, a full disk).
    pub spool_error: u64,
    /// Spooled, then found unreadable when read back (its checksum did not
    /// match): never sent.
    pub spool_corrupt: u64,
}

impl Dropped {
    /// All drops.
    pub fn total(&self) -> u64 {
        self.buffer_full
            + self.evicted
            + self.deadline
            + self.closed
            + self.too_large
            + self.invalid
            + self.spool_full
            + self.spool_error
            + self.spool_corrupt
    }

    /// Drops of datapoints that `push` had accepted.
    pub fn after_accept(&self) -> u64 {
        self.evicted + self.deadline + self.spool_error
    }

    /// Drops of datapoints that were in the spool.
    pub fn from_spool(&self) -> u64 {
        self.spool_full + self.spool_corrupt
    }
}

/// Counters of a [`Sender`](super::Sender), readable at any time.
///
/// The accounting invariant, which the tests check under any schedule of
/// failures: every datapoint given to `push` is in exactly one place,
///
/// ```text
/// accepted + unspooled == written + buffered + spooled + dropped.after_accept()
/// pushed   == accepted + dropped.buffer_full + dropped.closed + dropped.too_large + dropped.invalid
/// spooled + spool_found == unspooled + spool_held + dropped.from_spool()
/// ```
///
/// `after_accept()` is `evicted + deadline + spool_error`; `from_spool()` is
/// `spool_full + spool_corrupt`. Without a spool, every spool counter is
/// zero. Replays are extra copies of written datapoints and are counted
/// apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Datapoints taken into the buffer.
    pub accepted: u64,
    /// Datapoints whose bytes were all written to a connection (counted
    /// once, the first time).
    pub written: u64,
    /// Copies written again from the replay window after a reconnect.
    pub replayed: u64,
    /// Bytes written to connections, framing and replays included: what
    /// the peer should have received.
    pub written_bytes: u64,
    /// Drops, by reason.
    pub dropped: Dropped,
    /// With replay off: datapoints written within the replay window's age
    /// before a connection was lost. With replay on: replay copies a close
    /// deadline left unsent after a lost connection. They may or may not
    /// have been stored.
    pub unconfirmed: u64,
    /// Datapoints accepted and not yet written.
    pub buffered: u64,
    /// Bytes held: buffered batches plus replay copies.
    pub buffered_bytes: usize,
    /// Connections made.
    pub connects: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Connections lost: write errors, peer closes, stalls.
    pub disconnects: u64,
    /// Of `disconnects`, connections dropped because the peer stopped
    /// reading: its send queue did not shrink for the write timeout (or,
    /// on a link that reports no queue, nothing was written for it).
    pub stalls: u64,
    /// Healthy connections closed on purpose by `reconnect_interval`.
    pub periodic_reconnects: u64,
    /// Datapoints moved from memory to the disk spool.
    pub spooled: u64,
    /// Datapoints that came back out of the spool: written (and counted in
    /// `written` too), or taken back into the buffer.
    pub unspooled: u64,
    /// Datapoints found in the spool when the sender started (left by an
    /// earlier one).
    pub spool_found: u64,
    /// Datapoints in the spool now.
    pub spool_held: u64,
    /// Bytes the spool's records take on disk now.
    pub spool_bytes: u64,
    /// Torn or corrupt stretches of spool files found at start (a write
    /// cut short by a crash): cut off and never sent. Their datapoints
    /// cannot be known, so they are counted here and nowhere else.
    pub spool_torn: u64,
}

impl Stats {
    /// Every datapoint ever given to `push`.
    pub fn pushed(&self) -> u64 {
        self.accepted + self.dropped.total()
            - self.dropped.after_accept()
            - self.dropped.from_spool()
    }

    /// Whether the accounting invariants hold (see above).
    pub fn is_consistent(&self) -> bool {
        let memory = self.accepted + self.unspooled
            == self.written + self.buffered + self.spooled + self.dropped.after_accept();
        let spool = self.spooled + self.spool_found
            == self.unspooled + self.spool_held + self.dropped.from_spool();
        memory && spool
    }
}

/// What became of a batch that leaves the buffer: the one place where a
/// batch's datapoints move between the counters.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fate {
    /// All its bytes were written.
    Written,
    /// Made room under `DropOldest`.
    Evicted,
    /// Not written by a flush or close deadline.
    Deadline,
}

impl Stats {
    /// Accounts for a batch of `datapoints` leaving the buffer. A replay
    /// copy was counted when first written: writing it again is a replay,
    /// and dropping it loses nothing new.
    pub(crate) fn settle(&mut self, datapoints: u64, replay: bool, fate: Fate) {
        if replay {
            if let Fate::Written = fate {
                self.replayed += datapoints;
            }
            return;
        }
        self.buffered -= datapoints;
        match fate {
            Fate::Written => self.written += datapoints,
            Fate::Evicted => self.dropped.evicted += datapoints,
            Fate::Deadline => self.dropped.deadline += datapoints,
        }
    }
}
