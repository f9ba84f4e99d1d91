//! Why a datapoint was not taken by a sender.

use crate::path::NameError;
use crate::value::ValueError;

/// Why a sender did not take a datapoint. Every refusal except
/// [`WouldBlock`](Self::WouldBlock) is counted in
/// [`Stats::dropped`](super::Stats::dropped).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The metric name was refused (or became invalid with the configured
    /// prefix and default tags).
    #[error("invalid metric name: {0}")]
    Name(#[from] NameError),
    /// The value was refused (NaN or infinite).
    #[error("invalid value: {0}")]
    Value(#[from] ValueError),
    /// The buffer is full; the datapoint was dropped.
    #[error("buffer full: datapoint dropped")]
    Full,
    /// The buffer is full and the policy is to wait: nothing was counted.
    /// Wait for room ([`Sender::has_room`](super::Sender::has_room)) and
    /// push again, or give up with
    /// [`Sender::push_or_drop`](super::Sender::push_or_drop).
    #[error("buffer full: wait for room")]
    WouldBlock,
    /// The sender is closing or closed; the datapoint was dropped.
    #[error("sender closed: datapoint dropped")]
    Closed,
    /// The datapoint cannot fit in one batch; it was dropped.
    #[error("datapoint of {len} bytes cannot fit in a {max}-byte batch: dropped")]
    TooLarge {
        /// Its encoded length (framing included).
        len: usize,
        /// The batch limit.
        max: usize,
    },
}

/// Some datapoints of a slice handed over at once were dropped (each
/// counted in [`Stats::dropped`](super::Stats::dropped)); the others were
/// accepted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "{dropped} of {total} datapoints dropped, the first (index {first_index}) because: {first_reason}"
)]
pub struct PushManyError {
    /// Datapoints in the slice.
    pub total: usize,
    /// How many were dropped.
    pub dropped: usize,
    /// Index of the first dropped datapoint.
    pub first_index: usize,
    /// Why it was dropped.
    pub first_reason: PushError,
}
