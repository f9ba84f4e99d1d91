//! A verbatim copy of graphite-driver's `Sink` trait, with impls for the
//! adapters' senders as they are today.
//!
//! Temporary: when graphite-driver exports `Sink` (and the adapters
//! implement it), this file is deleted and `lib.rs` re-exports
//! `graphite_driver::Sink` instead. Nothing else in the crate changes: the
//! exporter only ever holds an `Arc<dyn Sink>`.

use std::time::Duration;

use graphite_proto::Datapoint;
use graphite_proto::router::RoutedStats;
use graphite_proto::sender::{PushError, PushManyError, Stats};

/// A boxed future, as graphite-driver spells it.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where datapoints go: every sender and routed sender implements it; exporters, the CLI and test
/// fixtures hold `Arc<dyn Sink>` / `Box<dyn Sink>` and never name an adapter.
pub trait Sink: std::fmt::Debug + Send + Sync {
    /// Buffers one datapoint; never waits (a full buffer drops it, counted).
    fn push(&self, dp: &Datapoint) -> Result<(), PushError>;
    /// Buffers a slice under one lock; never waits. Err says how many were dropped and why the first was.
    fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError>;
    /// Counters (for a routed sender: the total over destinations, which counts copies).
    fn stats(&self) -> Stats;
    /// Per-destination counters for a routed sender; None for a single sender.
    fn routed_stats(&self) -> Option<RoutedStats>;
    /// push_many, waiting for room under OverflowPolicy::Wait (up to the policy's time), async.
    fn push_many_wait<'a>(
        &'a self,
        batch: &'a [Datapoint],
    ) -> BoxFuture<'a, Result<(), PushManyError>>;
    /// Writes out what is buffered; what is not written within `timeout` is dropped and counted. Async.
    fn flush(&self, timeout: Duration) -> BoxFuture<'_, Stats>;
    /// flush, then closes and stops the I/O task/thread. Later pushes are refused and counted. Async.
    fn close(&self, timeout: Duration) -> BoxFuture<'_, Stats>;
    /// The blocking forms: block the calling thread. Never call them on the thread of a current-thread
    /// async runtime that drives the sender.
    fn push_many_wait_blocking(&self, batch: &[Datapoint]) -> Result<(), PushManyError>;
    /// Blocking [`flush`](Self::flush).
    fn flush_blocking(&self, timeout: Duration) -> Stats;
    /// Blocking [`close`](Self::close).
    fn close_blocking(&self, timeout: Duration) -> Stats;
}

// The thread sender: its blocking calls are its own; the async forms wrap
// them (they block the polling thread, which the driver's real impl will
// not do).
impl Sink for graphite_blocking::Sender {
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
        Box::pin(async move { Self::push_many_wait(self, batch) })
    }

    fn flush(&self, timeout: Duration) -> BoxFuture<'_, Stats> {
        Box::pin(async move { Self::flush(self, timeout) })
    }

    fn close(&self, timeout: Duration) -> BoxFuture<'_, Stats> {
        Box::pin(async move { Self::close(self, timeout) })
    }

    fn push_many_wait_blocking(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        Self::push_many_wait(self, batch)
    }

    fn flush_blocking(&self, timeout: Duration) -> Stats {
        Self::flush(self, timeout)
    }

    fn close_blocking(&self, timeout: Duration) -> Stats {
        Self::close(self, timeout)
    }
}

// The tokio sender: its async calls are its own; the blocking forms poll
// them on the calling thread, which must not be the thread that drives the
// sender's task.
#[cfg(feature = "tokio")]
impl Sink for graphite_tokio::Sender {
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
        futures_lite::future::block_on(Self::push_many_wait(self, batch))
    }

    fn flush_blocking(&self, timeout: Duration) -> Stats {
        futures_lite::future::block_on(Self::flush(self, timeout))
    }

    fn close_blocking(&self, timeout: Duration) -> Stats {
        futures_lite::future::block_on(Self::close(self, timeout))
    }
}
