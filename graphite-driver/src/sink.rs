//! [`Sink`]: where datapoints go, whatever carries them.

use std::fmt;
use std::time::Duration;

use graphite_proto::router::RoutedStats;
use graphite_proto::sender::{PushError, PushManyError, Stats};
use graphite_proto::{Datapoint, Value};

use crate::{BoxFuture, RoutedSender, Sender};

/// Where datapoints go: one object-safe trait that every sender implements
/// ([`Sender`] on any runtime, [`RoutedSender`]), so that code that sends
/// (an exporter, a command-line tool, a test fixture) holds an
/// `Arc<dyn Sink>` and never names a runtime.
///
/// The never-waiting calls are the senders' own. The waits come in two
/// forms: async (boxed futures, one allocation per call, never per
/// datapoint) and blocking the calling thread (`_blocking`; never on the
/// thread of a single-threaded runtime that drives the sender).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use graphite_driver::Sink;
/// use graphite_proto::{Datapoint, MetricPath};
///
/// fn report(sink: &dyn Sink, requests: u64) -> Result<(), Box<dyn std::error::Error>> {
///     let path = MetricPath::new("app.requests")?;
///     sink.push(&Datapoint::new(path, requests, 1_700_000_000))?;
///     let stats = sink.flush_blocking(Duration::from_secs(1));
///     assert!(stats.is_consistent());
///     Ok(())
/// }
/// ```
pub trait Sink: fmt::Debug + Send + Sync {
    /// Converts and buffers one datapoint (`timestamp: None` means now);
    /// never waits. A name or value that cannot be converted is refused
    /// and counted, as every other refusal.
    fn send(&self, metric: &str, value: Value, timestamp: Option<i64>) -> Result<(), PushError>;

    /// Buffers one datapoint; never waits (a full buffer drops it, counted).
    fn push(&self, dp: &Datapoint) -> Result<(), PushError>;

    /// Buffers a slice under one lock per destination; never waits. The
    /// error says how many were dropped and why the first was.
    fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError>;

    /// The counters; for a routed sender the total over destinations
    /// (which counts copies).
    fn stats(&self) -> Stats;

    /// The counters per destination, for a routed sender; `None` for one
    /// carbon.
    fn routed_stats(&self) -> Option<RoutedStats>;

    /// [`push_many`](Self::push_many), waiting for room under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait),
    /// up to the policy's time; then the rest is dropped and counted.
    fn push_many_wait<'a>(
        &'a self,
        batch: &'a [Datapoint],
    ) -> BoxFuture<'a, Result<(), PushManyError>>;

    /// Writes out everything buffered; what is not written within
    /// `timeout` is dropped and counted. Returns the stats after.
    fn flush(&self, timeout: Duration) -> BoxFuture<'_, Stats>;

    /// Flushes, then closes and stops the sender's task. Later pushes are
    /// refused and counted. Returns the final stats.
    fn close(&self, timeout: Duration) -> BoxFuture<'_, Stats>;

    /// [`push_many_wait`](Self::push_many_wait), blocking the calling thread.
    fn push_many_wait_blocking(&self, batch: &[Datapoint]) -> Result<(), PushManyError>;

    /// [`flush`](Self::flush), blocking the calling thread.
    fn flush_blocking(&self, timeout: Duration) -> Stats;

    /// [`close`](Self::close), blocking the calling thread.
    fn close_blocking(&self, timeout: Duration) -> Stats;
}

impl Sink for Sender {
    fn send(&self, metric: &str, value: Value, timestamp: Option<i64>) -> Result<(), PushError> {
        Self::send(self, metric, value, timestamp)
    }

    fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        Self::push(self, dp)
    }

    fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        Self::push_many(self, batch)
    }

    fn stats(&self) -> Stats {
        Self::stats(self)
    }

    fn routed_stats(&self) -> Option<RoutedStats> {
        None
    }

    fn push_many_wait<'a>(
        &'a self,
        batch: &'a [Datapoint],
    ) -> BoxFuture<'a, Result<(), PushManyError>> {
        Box::pin(Self::push_many_wait(self, batch))
    }

    fn flush(&self, timeout: Duration) -> BoxFuture<'_, Stats> {
        Box::pin(Self::flush(self, timeout))
    }

    fn close(&self, timeout: Duration) -> BoxFuture<'_, Stats> {
        Box::pin(Self::close(self, timeout))
    }

    fn push_many_wait_blocking(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        Self::push_many_wait_blocking(self, batch)
    }

    fn flush_blocking(&self, timeout: Duration) -> Stats {
        Self::flush_blocking(self, timeout)
    }

    fn close_blocking(&self, timeout: Duration) -> Stats {
        Self::close_blocking(self, timeout)
    }
}

impl Sink for RoutedSender {
    fn send(&self, metric: &str, value: Value, timestamp: Option<i64>) -> Result<(), PushError> {
        Self::send(self, metric, value, timestamp)
    }

    fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        Self::push(self, dp)
    }

    fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        Self::push_many(self, batch)
    }

    fn stats(&self) -> Stats {
        Self::stats(self).total()
    }

    fn routed_stats(&self) -> Option<RoutedStats> {
        Some(Self::stats(self))
    }

    fn push_many_wait<'a>(
        &'a self,
        batch: &'a [Datapoint],
    ) -> BoxFuture<'a, Result<(), PushManyError>> {
        Box::pin(Self::push_many_wait(self, batch))
    }

    fn flush(&self, timeout: Duration) -> BoxFuture<'_, Stats> {
        Box::pin(async move { Self::flush(self, timeout).await.total() })
    }

    fn close(&self, timeout: Duration) -> BoxFuture<'_, Stats> {
        Box::pin(async move { Self::close(self, timeout).await.total() })
    }

    fn push_many_wait_blocking(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        Self::push_many_wait_blocking(self, batch)
    }

    fn flush_blocking(&self, timeout: Duration) -> Stats {
        Self::flush_blocking(self, timeout).total()
    }

    fn close_blocking(&self, timeout: Duration) -> Stats {
        Self::close_blocking(self, timeout).total()
    }
}
