//! [`Sender`]: the background sender for any async [`Runtime`].

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::{Duration, Instant};

use graphite_proto::Datapoint;
use graphite_proto::client::{IntoMetricPath, IntoValue};
use graphite_proto::sender::{PushError, PushManyError, SenderConfig, Stats};

use crate::handle::{Handle, channel};
use crate::{Runtime, Spawn, SpawnError, Target, driver};

/// The I/O task of a [`Sender`]: spawn it on your executor. It ends after
/// [`Sender::close`], or when the last handle is dropped and flushed.
pub type SenderTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A cheap, cloneable handle to a background sender on runtime `R`.
///
/// [`send`](Self::send) encodes the datapoint into a bounded buffer and
/// returns at once; the task writes batches, reconnects with backoff
/// (resolving the host again each time), and replays what may have been
/// lost after a reconnect. Nothing is lost silently: see
/// [`stats`](Self::stats). Dropping the last handle flushes (for at most
/// [`DROP_FLUSH_TIMEOUT`](crate::DROP_FLUSH_TIMEOUT)) and stops the task.
///
/// The adapters name it for their runtime: `graphite_tokio::Sender`,
/// `graphite_async_std::Sender`.
pub struct Sender<R> {
    handle: Handle,
    runtime: PhantomData<fn() -> R>,
}

impl<R> Clone for Sender<R> {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
            runtime: PhantomData,
        }
    }
}

impl<R> Sender<R> {}

impl<R: Spawn> Sender<R> {
    /// Starts the I/O task on the runtime (for tokio, the current one).
    /// `port: None` uses the protocol's default port.
    pub fn spawn(
        host: &str,
        port: impl Into<Option<u16>>,
        config: SenderConfig,
    ) -> Result<Self, SpawnError> {
        let (sender, task) = Self::start(host, port, config)?;
        R::spawn(task)?;
        Ok(sender)
    }
}

impl<R: Runtime> Sender<R> {
    /// A sender and its I/O task, for you to spawn on the executor of your
    /// choice. `port: None` uses the protocol's default port.
    pub fn start(
        host: &str,
        port: impl Into<Option<u16>>,
        config: SenderConfig,
    ) -> Result<(Self, SenderTask), SpawnError> {
        let target = Target::new(host, port, config.protocol);
        let protocol = config.protocol;
        let (handle, driver) = channel(config)?;
        let task = Box::pin(driver::drive::<R>(driver, target, protocol));
        let sender = Self {
            handle,
            runtime: PhantomData,
        };
        Ok((sender, task))
    }

    fn give_up(&self) -> impl Future<Output = ()> + use<R> {
        R::sleep_until(Instant::now() + self.handle.wait_limit())
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
        self.handle.push_wait(dp, self.give_up()).await
    }

    /// [`push_many`](Self::push_many), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// the slice goes in as room frees up (the bulk path: a file, a
    /// backfill); what is still waiting after the policy's time is dropped
    /// and counted.
    pub async fn push_many_wait(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        self.handle.push_many_wait(batch, self.give_up()).await
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
}

sender_surface!(Sender, Runtime, "waits");
