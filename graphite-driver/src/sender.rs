//! [`Sender`]: the background sender, on any [`Runtime`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use graphite_proto::Datapoint;
use graphite_proto::client::{IntoMetricPath, IntoValue};
use graphite_proto::sender::{PushError, PushManyError, SenderConfig, Stats};

use crate::handle::{Handle, channel};
use crate::spool_log::SpoolLog;
use crate::{BoxFuture, Runtime, SpawnError, Spawned, Target, driver};

/// The I/O task of a [`Sender`] made by [`Sender::start`]: spawn it on
/// your executor. It ends after [`Sender::close`], or when the last handle
/// is dropped and flushed.
pub type SenderTask = BoxFuture<'static, ()>;

/// Joins a sender's thread when the last handle goes (after the handle has
/// asked the thread to flush and stop).
struct Joiner(Mutex<Option<JoinHandle<()>>>);

impl Drop for Joiner {
    fn drop(&mut self) {
        let thread = self.0.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// A cheap, cloneable handle to a background sender.
///
/// [`send`](Self::send) encodes the datapoint into a bounded buffer and
/// returns at once; a task (or, on `graphite_blocking`'s runtime, a
/// thread) writes batches, reconnects with backoff (resolving the host
/// again each time), and replays what may have been lost after a
/// reconnect. Nothing is lost silently: see [`stats`](Self::stats).
/// Dropping the last handle flushes (for at most
/// [`DROP_FLUSH_TIMEOUT`](crate::DROP_FLUSH_TIMEOUT)) and stops the task; a
/// thread is joined.
///
/// Three kinds of calls:
/// - never waiting: [`send`](Self::send), [`push`](Self::push),
///   [`push_many`](Self::push_many), [`stats`](Self::stats);
/// - async: [`push_wait`](Self::push_wait),
///   [`push_many_wait`](Self::push_many_wait), [`flush`](Self::flush),
///   [`close`](Self::close);
/// - blocking the calling thread: the same with `_blocking`. Never call
///   those on the thread of a single-threaded runtime that drives this
///   sender.
///
/// Code that should not care which sender it feeds holds a
/// [`Sink`](crate::Sink).
///
/// Order: what one thread hands over is written in the order it was
/// handed over. Threads that send at once interleave, and so may the
/// datapoints of an async task that moved to another worker thread
/// between two sends: each thread gathers its [`send`](Self::send)s in a
/// lane of its own (no lock shared with other threads on the common
/// path), and the lanes reach the buffer at each turn of the sender's
/// task: a datapoint leaves with the batch it would have joined, or, when
/// other threads filled that one first, within a batch delay after it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use graphite_driver::{Runtime, Sender};
/// use graphite_proto::{Protocol, sender::SenderConfig};
///
/// fn run(runtime: Arc<dyn Runtime>) -> Result<(), Box<dyn std::error::Error>> {
///     let sender = Sender::spawn(runtime, "localhost", None, SenderConfig::new(Protocol::Plaintext))?;
///     sender.send("app.requests", 1, None)?;
///     let stats = sender.close_blocking(Duration::from_secs(5));
///     println!("written {}", stats.written);
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct Sender {
    // Dropped first: the last handle asks the task to close ...
    handle: Handle,
    runtime: Arc<dyn Runtime>,
    // ... then the last joiner waits for a thread to finish.
    thread: Option<Arc<Joiner>>,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("runtime", &self.runtime)
            .field("stats", &self.handle.stats())
            .finish()
    }
}

impl Sender {
    /// Starts the I/O task on `runtime` (tokio: the current runtime;
    /// `graphite_blocking`: a thread of its own). `port: None` uses the
    /// protocol's default port.
    pub fn spawn(
        runtime: Arc<dyn Runtime>,
        host: &str,
        port: impl Into<Option<u16>>,
        config: SenderConfig,
    ) -> Result<Self, SpawnError> {
        let (mut sender, task) = Self::start(runtime, host, port, config)?;
        if let Spawned::Thread(thread) = sender.runtime.spawn(task)? {
            sender.thread = Some(Arc::new(Joiner(Mutex::new(Some(thread)))));
        }
        Ok(sender)
    }

    /// A sender and its I/O task, for you to spawn on the executor of your
    /// choice (a runtime that cannot spawn by itself). `port: None` uses the
    /// protocol's default port.
    pub fn start(
        runtime: Arc<dyn Runtime>,
        host: &str,
        port: impl Into<Option<u16>>,
        config: SenderConfig,
    ) -> Result<(Self, SenderTask), SpawnError> {
        let target = Target::new(host, port, config.protocol);
        let protocol = config.protocol;
        // The directory is opened and locked here, so that a spool that
        // cannot work is an error at once; its records are read back on
        // the task.
        let spool = config.spool.as_ref().map(SpoolLog::open).transpose()?;
        let (handle, driver) = channel(config, Arc::clone(&runtime))?;
        let task = Box::pin(driver::drive(
            driver,
            Arc::clone(&runtime),
            target,
            protocol,
            spool,
        ));
        let sender = Self {
            handle,
            runtime,
            thread: None,
        };
        Ok((sender, task))
    }

    /// Buffers one datapoint (`timestamp: None` means now) and returns at
    /// once; it never waits for the network: a full buffer drops it
    /// (counted) under every policy. A name or value that cannot be
    /// converted is refused and counted. Use
    /// [`send_wait`](Self::send_wait) to wait for room instead.
    pub fn send(
        &self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), PushError> {
        let dp = self.handle.datapoint(metric, value, timestamp)?;
        self.handle.push(&dp)
    }

    /// Buffers a datapoint already built (the cheapest path); never waits.
    pub fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        self.handle.push(dp)
    }

    /// Buffers every datapoint of `batch` under one lock and one clock
    /// read; never waits. Each is accepted or dropped and counted as
    /// [`push`](Self::push) would; the error says how many were dropped and
    /// why the first was.
    pub fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        self.handle.push_many(batch)
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.handle.stats()
    }

    /// When the current outage began, or `None` while connected: the
    /// sender's health, as a [`RoutedSender`](crate::RoutedSender) reads it.
    pub fn outage_since(&self) -> Option<Instant> {
        self.handle.outage_since()
    }

    /// What the hand-over has cost so far: lock acquisitions, wake-ups of
    /// the driver, turns of its loop (feature `counters`).
    #[cfg(feature = "counters")]
    pub fn driver_counters(&self) -> crate::DriverCounters {
        self.handle.counters()
    }

    /// When a wait for room that starts now gives up.
    pub(crate) fn wait_deadline(&self) -> Instant {
        self.runtime.now() + self.handle.wait_limit()
    }

    /// Like [`send`](Self::send), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// waits for room, up to the policy's time; then the datapoint is
    /// dropped and counted.
    pub async fn send_wait(
        &self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), PushError> {
        let dp = self.handle.datapoint(metric, value, timestamp)?;
        self.push_wait(&dp).await
    }

    /// [`push`](Self::push), waiting for room as [`send_wait`](Self::send_wait) does.
    pub async fn push_wait(&self, dp: &Datapoint) -> Result<(), PushError> {
        self.push_wait_until(dp, self.wait_deadline()).await
    }

    /// [`push_many`](Self::push_many), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// the slice goes in as room frees up (the bulk path: a file, a
    /// backfill); what is still waiting after the policy's time is dropped
    /// and counted.
    pub async fn push_many_wait(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        self.push_many_wait_until(batch, self.wait_deadline()).await
    }

    /// Writes out everything buffered; what is not written within `timeout`
    /// is dropped and counted, even if the peer has stopped reading.
    /// Returns the stats after.
    pub async fn flush(&self, timeout: Duration) -> Stats {
        self.handle.begin_flush(timeout);
        self.handle.flushed().await
    }

    /// Flushes (as [`flush`](Self::flush)), then closes the connection and
    /// stops the task. Sends after this are refused and counted.
    pub async fn close(&self, timeout: Duration) -> Stats {
        self.handle.begin_close(timeout);
        self.handle.closed().await
    }

    /// [`push_wait`](Self::push_wait), blocking the calling thread.
    pub fn push_wait_blocking(&self, dp: &Datapoint) -> Result<(), PushError> {
        self.handle.push_wait_blocking(dp, self.wait_deadline())
    }

    /// [`push_many_wait`](Self::push_many_wait), blocking the calling thread.
    pub fn push_many_wait_blocking(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        self.handle
            .push_many_wait_blocking(batch, self.wait_deadline())
    }

    /// [`flush`](Self::flush), blocking the calling thread.
    pub fn flush_blocking(&self, timeout: Duration) -> Stats {
        self.handle.begin_flush(timeout);
        self.handle.flushed_blocking(timeout)
    }

    /// [`close`](Self::close), blocking the calling thread.
    ///
    /// Its task must be able to run meanwhile: on a runtime whose only
    /// thread is this one it cannot, and the call gives up one second past
    /// `timeout` with a warning. What the returned stats then count as
    /// `buffered` was neither written nor dropped; it is sent if the
    /// runtime runs the task again.
    pub fn close_blocking(&self, timeout: Duration) -> Stats {
        self.handle.begin_close(timeout);
        self.handle.closed_blocking(timeout)
    }

    /// [`push_wait`](Self::push_wait) giving up at `deadline`.
    pub(crate) async fn push_wait_until(
        &self,
        dp: &Datapoint,
        deadline: Instant,
    ) -> Result<(), PushError> {
        let give_up = self.runtime.sleep_until(deadline);
        self.handle.push_wait(dp, give_up).await
    }

    /// [`push_many_wait`](Self::push_many_wait) giving up at `deadline`.
    pub(crate) async fn push_many_wait_until(
        &self,
        batch: &[Datapoint],
        deadline: Instant,
    ) -> Result<(), PushManyError> {
        let give_up = self.runtime.sleep_until(deadline);
        self.handle.push_many_wait(batch, give_up).await
    }

    /// The shared state, for the routed sender.
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}
