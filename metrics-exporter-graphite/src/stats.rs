//! [`ExporterStats`]: what the exporter counts about itself.

/// What the exporter itself counts (the sender's counters are
/// [`GraphiteHandle::stats`](crate::GraphiteHandle::stats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExporterStats {
    /// Flushes done (scheduled, [`GraphiteHandle::flush_now`](crate::GraphiteHandle::flush_now) and the final
    /// one).
    pub flushes: u64,
    /// Timestamp of the last flush (0 before the first).
    pub last_timestamp: i64,
    /// Datapoints handed to the sender.
    pub datapoints: u64,
    /// Datapoints the sender refused (full buffer, closed): also in its
    /// stats.
    pub refused: u64,
    /// Series never sent because no valid name can be made of their name and
    /// labels (counted once per series).
    pub invalid_series: u64,
    /// Gauge values and histogram samples skipped because they were NaN or
    /// infinite (and sums that overflowed).
    pub non_finite: u64,
    /// Series forgotten after the idle timeout.
    pub idle_removed: u64,
    /// How long the last flush took to render and hand over its
    /// datapoints.
    pub last_flush: std::time::Duration,
}
