//! [`PushCursor`]: a slice handed to the sender in steps, as room frees up.

use crate::Datapoint;

use super::{PushError, PushManyError};

/// A slice of datapoints being handed over in steps: where the next push
/// starts, and what was dropped so far (for [`PushManyError`]). A caller
/// that waits for room keeps one cursor across its calls to
/// [`Sender::push_until_full`](super::Sender::push_until_full), then
/// [`Sender::push_rest_or_drop`](super::Sender::push_rest_or_drop) if its
/// wait runs out.
///
/// ```
/// use std::time::Instant;
/// use graphite_proto::sender::{PushCursor, Sender, SenderConfig};
/// use graphite_proto::{Datapoint, MetricPath, Protocol};
///
/// let mut sender = Sender::new(Instant::now(), SenderConfig::new(Protocol::Plaintext))?;
/// let path = MetricPath::new("app.requests")?;
/// let batch: Vec<Datapoint> = (0..100).map(|t| Datapoint::new(path.clone(), 1, t)).collect();
/// let mut cursor = PushCursor::new(&batch);
/// sender.push_until_full(Instant::now(), &mut cursor);
/// assert!(cursor.is_done());
/// cursor.finish()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PushCursor<'a> {
    batch: &'a [Datapoint],
    /// Datapoints in the slice (or the chunk, for a detached cursor).
    total: usize,
    next: usize,
    failure: Option<PushManyError>,
}

impl<'a> PushCursor<'a> {
    /// A cursor at the start of `batch`.
    pub fn new(batch: &'a [Datapoint]) -> Self {
        Self {
            batch,
            total: batch.len(),
            next: 0,
            failure: None,
        }
    }

    /// A cursor over `total` datapoints that it does not hold (a chunk's).
    pub(crate) fn detached(total: usize) -> PushCursor<'static> {
        PushCursor {
            batch: &[],
            total,
            next: 0,
            failure: None,
        }
    }

    /// Datapoints in the slice.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// Whether every datapoint was handed over (accepted or dropped).
    pub fn is_done(&self) -> bool {
        self.next == self.total
    }

    /// How many were handed over so far.
    pub fn position(&self) -> usize {
        self.next
    }

    /// The outcome: `Ok` when nothing was dropped.
    pub fn finish(self) -> Result<(), PushManyError> {
        self.failure.map_or(Ok(()), Err)
    }

    /// The datapoints not handed over yet, with their index in the slice.
    pub(crate) fn rest(&self) -> impl Iterator<Item = (usize, &'a Datapoint)> + use<'a> {
        let start = self.next;
        self.batch.iter().enumerate().skip(start)
    }

    /// The datapoint at `index` was handed over.
    pub(crate) fn advance_past(&mut self, index: usize) {
        self.next = index + 1;
    }

    /// `count` datapoints from the position on were handed over.
    pub(crate) fn advance_by(&mut self, count: usize) {
        self.next += count;
    }

    /// Records what pushing the datapoint at `index` gave: handed over (the
    /// wake it asks for), or dropped and counted; `None` when it must wait
    /// for room ([`PushError::WouldBlock`]), the cursor staying at it.
    pub(crate) fn record(&mut self, index: usize, pushed: Result<bool, PushError>) -> Option<bool> {
        match pushed {
            Ok(wake) => {
                self.advance_past(index);
                Some(wake)
            }
            Err(PushError::WouldBlock) => None,
            Err(reason) => {
                self.dropped(index, reason);
                Some(false)
            }
        }
    }

    /// The datapoint at `index` was dropped for `reason` (and counted).
    pub(crate) fn dropped(&mut self, index: usize, reason: PushError) {
        match &mut self.failure {
            Some(e) => e.dropped += 1,
            None => {
                self.failure = Some(PushManyError {
                    total: self.total,
                    dropped: 1,
                    first_index: index,
                    first_reason: reason,
                });
            }
        }
        self.advance_past(index);
    }
}
