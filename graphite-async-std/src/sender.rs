//! [`Sender`]: the background sender as a task for any executor.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_io::Timer;
use event_listener::Event as Signal;
use futures_lite::FutureExt;
use graphite_proto::client::{IntoMetricPath, IntoValue, SendError};
use graphite_proto::sender::{
    self as core, Action, Event, PushError, PushManyError, SenderConfig, Stats,
};
use graphite_proto::{Datapoint, Protocol};

use crate::client::unix_now;
use crate::net::{self, Link};

/// How long dropping the last handle lets the task flush.
const DROP_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

struct Shared {
    core: Mutex<core::Sender>,
    /// Wakes the I/O task.
    wake: Signal,
    /// Wakes callers waiting for room, a flush or the close.
    progress: Signal,
    handles: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, core::Sender> {
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The I/O task of a [`Sender`]: spawn it on your executor
/// (`smol::spawn(task).detach()`, `async_std::task::spawn(task)`). It ends
/// after [`Sender::close`] or when the last handle is dropped and flushed.
pub type SenderTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A cheap, cloneable handle to a background sender.
///
/// [`send`](Self::send) encodes the datapoint into a bounded buffer and
/// returns at once; the task writes batches, reconnects with backoff
/// (resolving the host again), and replays the last seconds after a
/// reconnect. Nothing is lost silently: see [`stats`](Self::stats).
///
/// ```no_run
/// use std::time::Duration;
/// use graphite_async_std::{Protocol, Sender, SenderConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let spawn = |_task| ();
/// let (sender, task) = Sender::start("localhost", None, SenderConfig::new(Protocol::Plaintext))?;
/// spawn(task); // smol::spawn(task).detach(), or async_std::task::spawn(task)
/// sender.send("app.requests", 1, None)?;
/// # Ok(()) }
/// ```
pub struct Sender {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared
                .lock()
                .close(Instant::now() + DROP_FLUSH_TIMEOUT);
            self.shared.wake.notify(usize::MAX);
        }
    }
}

impl Sender {
    /// Creates a sender and its I/O task, which you spawn on the executor of
    /// your choice. `port: None` uses the protocol's default port.
    pub fn start(
        host: &str,
        port: impl Into<Option<u16>>,
        config: SenderConfig,
    ) -> Result<(Self, SenderTask), core::ConfigError> {
        let port = port.into().unwrap_or(config.protocol.default_port());
        let protocol = config.protocol;
        let shared = Arc::new(Shared {
            core: Mutex::new(core::Sender::new(config, Instant::now())?),
            wake: Signal::new(),
            progress: Signal::new(),
            handles: AtomicUsize::new(1),
        });
        let task = Box::pin(drive(Arc::clone(&shared), host.to_owned(), port, protocol));
        Ok((Self { shared }, task))
    }

    /// Buffers one datapoint (`timestamp: None` means now) and returns at
    /// once; a full buffer drops it (counted). Use
    /// [`send_wait`](Self::send_wait) to wait for room.
    pub fn send(
        &self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        let dp = datapoint(metric, value, timestamp)?;
        self.push(&dp).map_err(push_error)
    }

    /// Buffers a datapoint already built (the cheapest path).
    pub fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        let wake = self.shared.lock().push_or_drop(dp, Instant::now())?;
        if wake {
            self.shared.wake.notify(1);
        }
        Ok(())
    }

    /// Buffers every datapoint of `batch` under one lock and one clock
    /// read: the cheapest path for many datapoints. Each is accepted or
    /// dropped and counted as [`push`](Self::push) would; the error says how
    /// many were dropped and why the first was.
    pub fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        let result = self.shared.lock().push_many_or_drop(batch, Instant::now());
        if !matches!(result, Ok(false)) {
            self.shared.wake.notify(1);
        }
        result.map(drop)
    }

    /// Like [`send`](Self::send), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// waits for room, up to the policy's time.
    pub async fn send_wait(
        &self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        let dp = datapoint(metric, value, timestamp)?;
        let limit = match self.shared.lock().config().overflow {
            core::OverflowPolicy::Wait(limit) => limit,
            _ => Duration::ZERO,
        };
        let deadline = Instant::now() + limit;
        loop {
            let progress = self.shared.progress.listen();
            let result = self.shared.lock().push(&dp, Instant::now());
            match result {
                Ok(wake) => {
                    if wake {
                        self.shared.wake.notify(1);
                    }
                    return Ok(());
                }
                Err(PushError::WouldBlock) => {
                    let woke = async {
                        progress.await;
                        true
                    }
                    .or(async {
                        Timer::at(deadline).await;
                        false
                    })
                    .await;
                    if !woke {
                        return self.push(&dp).map_err(push_error);
                    }
                }
                Err(e) => return Err(push_error(e)),
            }
        }
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats()
    }

    /// Writes out everything buffered; what is not written within `timeout`
    /// is dropped and counted. Returns the stats after.
    pub async fn flush(&self, timeout: Duration) -> Stats {
        self.shared.lock().flush(Instant::now() + timeout);
        self.shared.wake.notify(1);
        self.wait_until(core::Sender::is_flushed).await
    }

    /// Flushes, then closes the connection and ends the task.
    pub async fn close(&self, timeout: Duration) -> Stats {
        self.shared.lock().close(Instant::now() + timeout);
        self.shared.wake.notify(1);
        self.wait_until(core::Sender::is_closed).await
    }

    async fn wait_until(&self, done: impl Fn(&core::Sender) -> bool) -> Stats {
        loop {
            let progress = self.shared.progress.listen();
            {
                let core = self.shared.lock();
                if done(&core) {
                    return core.stats();
                }
            }
            progress.await;
        }
    }
}

fn datapoint(
    metric: impl IntoMetricPath,
    value: impl IntoValue,
    timestamp: Option<i64>,
) -> Result<Datapoint, SendError> {
    Ok(Datapoint::new(
        metric.into_metric_path()?,
        value.into_value()?,
        timestamp.unwrap_or_else(unix_now),
    ))
}

fn push_error(e: PushError) -> SendError {
    match e {
        PushError::Closed => SendError::Closed,
        other => SendError::Encode(other.to_string()),
    }
}

/// What woke the I/O task.
enum Wake {
    Written(std::io::Result<usize>),
    Closed(std::io::Error),
    Other,
}

/// The I/O task: the core's calling contract over async-net sockets.
async fn drive(shared: Arc<Shared>, host: String, port: u16, protocol: Protocol) {
    let mut link: Option<Link> = None;
    loop {
        // Listen before looking, so no wake-up between the two is missed.
        let wake = shared.wake.listen();
        let now = Instant::now();
        let (actions, events, transmit, timeout) = {
            let mut core = shared.lock();
            core.handle_timeout(now);
            let actions: Vec<Action> = std::iter::from_fn(|| core.poll_action(now)).collect();
            let events: Vec<Event> = std::iter::from_fn(|| core.poll_event()).collect();
            let transmit = if link.is_some() && actions.is_empty() {
                core.poll_transmit(now)
            } else {
                None
            };
            (actions, events, transmit, core.poll_timeout())
        };
        for event in &events {
            match event {
                Event::OutageStarted { .. } => tracing::warn!(target: "graphite", "{event}"),
                _ => tracing::info!(target: "graphite", "{event}"),
            }
        }
        let mut reconnect = false;
        for action in actions {
            match action {
                Action::Connect => reconnect = true,
                Action::Disconnect => link = None,
                Action::Close => {
                    if let Some(Link::Tcp(stream)) = link.take() {
                        let _ = stream.shutdown(std::net::Shutdown::Write);
                    }
                    shared.progress.notify(usize::MAX);
                    return;
                }
            }
        }
        shared.progress.notify(usize::MAX);
        if reconnect {
            let limit = shared.lock().config().connect_timeout;
            let result = net::connect(&host, port, protocol, limit).await;
            let now = Instant::now();
            match result {
                Ok(l) => {
                    link = Some(l);
                    shared.lock().on_connected(now);
                }
                Err(e) => shared.lock().on_connect_failed(now, &e),
            }
            continue;
        }
        let timer = async {
            match timeout {
                Some(t) => {
                    Timer::at(t).await;
                }
                None => std::future::pending::<()>().await,
            }
            Wake::Other
        };
        let woken = async {
            wake.await;
            Wake::Other
        };
        let outcome = match (link.as_ref(), transmit) {
            (Some(l), Some(bytes)) => {
                async { Wake::Written(net::write_some(l, &bytes).await) }
                    .or(timer)
                    .await
            }
            (Some(Link::Tcp(stream)), None) => {
                async { Wake::Closed(net::closed(stream).await) }
                    .or(woken)
                    .or(timer)
                    .await
            }
            _ => woken.or(timer).await,
        };
        let now = Instant::now();
        match outcome {
            Wake::Written(Ok(n)) => shared.lock().on_written(n, now),
            Wake::Written(Err(e)) | Wake::Closed(e) => {
                link = None;
                shared.lock().on_error(now, &e);
            }
            Wake::Other => {}
        }
    }
}
