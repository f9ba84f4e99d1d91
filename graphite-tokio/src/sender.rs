//! [`Sender`]: the background sender on a tokio task.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use graphite_proto::client::{IntoMetricPath, IntoValue, SendError};
use graphite_proto::sender::{
    self as core, Action, Event, PushError, PushManyError, SenderConfig, Stats,
};
use graphite_proto::{Datapoint, Protocol};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::client::unix_now;
use crate::net::{self, Link};

/// How long dropping the last handle lets the task flush.
const DROP_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// State shared by the handles and the I/O task.
struct Shared {
    core: Mutex<core::Sender>,
    /// Wakes the I/O task: new batch ready, timer changed, closing.
    wake: Notify,
    /// Wakes callers waiting for room or for a flush.
    progress: Notify,
    handles: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, core::Sender> {
        // A panic while holding the lock cannot leave the state machine
        // half-updated in a way that matters more than stopping metrics.
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A cheap, cloneable handle to a background sender.
///
/// [`send`](Self::send) encodes the datapoint into a bounded buffer and
/// returns at once; a tokio task writes batches, reconnects with backoff
/// (resolving the host again each time), and replays the last seconds after
/// a reconnect. Nothing is lost silently: see [`stats`](Self::stats).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use graphite_tokio::{Protocol, Sender, SenderConfig};
///
/// let sender = Sender::spawn("localhost", None, SenderConfig::new(Protocol::Plaintext))?;
/// sender.send("app.requests", 1, None)?; // never waits for the network
/// let stats = sender.close(Duration::from_secs(5)).await;
/// assert_eq!(stats.written, 1);
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
            // The last handle: the task flushes within a bounded time and stops.
            self.shared
                .lock()
                .close(Instant::now().into_std() + DROP_FLUSH_TIMEOUT);
            self.shared.wake.notify_one();
        }
    }
}

impl Sender {
    /// Starts the I/O task on the current tokio runtime. `port: None` uses
    /// the protocol's default port.
    pub fn spawn(
        host: &str,
        port: impl Into<Option<u16>>,
        config: SenderConfig,
    ) -> Result<Self, core::ConfigError> {
        let port = port.into().unwrap_or(config.protocol.default_port());
        let protocol = config.protocol;
        let core = core::Sender::new(config, Instant::now().into_std())?;
        let shared = Arc::new(Shared {
            core: Mutex::new(core),
            wake: Notify::new(),
            progress: Notify::new(),
            handles: AtomicUsize::new(1),
        });
        tokio::spawn(drive(Arc::clone(&shared), host.to_owned(), port, protocol));
        Ok(Self { shared })
    }

    /// Buffers one datapoint (`timestamp: None` means now) and returns at
    /// once. Under [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// a full buffer drops it here (counted); use
    /// [`send_wait`](Self::send_wait) to wait for room instead.
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
        let wake = self
            .shared
            .lock()
            .push_or_drop(dp, Instant::now().into_std())?;
        if wake {
            self.shared.wake.notify_one();
        }
        Ok(())
    }

    /// Buffers every datapoint of `batch` under one lock and one clock
    /// read: the cheapest path for many datapoints. Each is accepted or
    /// dropped and counted as [`push`](Self::push) would; the error says how
    /// many were dropped and why the first was.
    pub fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        let result = self
            .shared
            .lock()
            .push_many_or_drop(batch, Instant::now().into_std());
        if !matches!(result, Ok(false)) {
            self.shared.wake.notify_one();
        }
        result.map(drop)
    }

    /// Like [`send`](Self::send), but waits for room when the buffer is full
    /// under [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait),
    /// up to the policy's time; then the datapoint is dropped and counted.
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
            let progress = self.shared.progress.notified();
            let result = self.shared.lock().push(&dp, Instant::now().into_std());
            match result {
                Ok(wake) => {
                    if wake {
                        self.shared.wake.notify_one();
                    }
                    return Ok(());
                }
                Err(PushError::WouldBlock) => {
                    if tokio::time::timeout_at(deadline, progress).await.is_err() {
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
        let deadline = Instant::now() + timeout;
        self.shared.lock().flush(deadline.into_std());
        self.shared.wake.notify_one();
        self.wait_until(|core| core.is_flushed()).await
    }

    /// Flushes (as [`flush`](Self::flush)), then closes the connection and
    /// stops the task. Sends after this are refused and counted.
    pub async fn close(&self, timeout: Duration) -> Stats {
        let deadline = Instant::now() + timeout;
        self.shared.lock().close(deadline.into_std());
        self.shared.wake.notify_one();
        self.wait_until(|core| core.is_closed()).await
    }

    async fn wait_until(&self, done: impl Fn(&core::Sender) -> bool) -> Stats {
        loop {
            let progress = self.shared.progress.notified();
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

/// What one turn of the loop must do, decided under the lock.
struct Turn {
    actions: Vec<Action>,
    events: Vec<Event>,
    transmit: Option<bytes::Bytes>,
    timeout: Option<std::time::Instant>,
}

/// The I/O task: runs the core's calling contract over tokio sockets.
async fn drive(shared: Arc<Shared>, host: String, port: u16, protocol: Protocol) {
    let mut conn: Option<Link> = None;
    let mut connecting = false;
    loop {
        let turn = {
            let now = Instant::now().into_std();
            let mut core = shared.lock();
            core.handle_timeout(now);
            let actions: Vec<Action> = std::iter::from_fn(|| core.poll_action(now)).collect();
            let events = std::iter::from_fn(|| core.poll_event()).collect();
            let transmit = if conn.is_some() && !actions.contains(&Action::Disconnect) {
                core.poll_transmit(now)
            } else {
                None
            };
            Turn {
                actions,
                events,
                transmit,
                timeout: core.poll_timeout(),
            }
        };
        for event in &turn.events {
            log(event);
        }
        for action in &turn.actions {
            match action {
                Action::Connect => connecting = true,
                Action::Disconnect => conn = None,
                Action::Close => {
                    if let Some(Link::Tcp(mut stream)) = conn.take() {
                        use tokio::io::AsyncWriteExt;
                        let _ = stream.shutdown().await;
                    }
                    shared.progress.notify_waiters();
                    return;
                }
            }
        }
        shared.progress.notify_waiters();
        if connecting {
            connecting = false;
            let timeout = shared.lock().config().connect_timeout;
            let result = net::connect(&host, port, protocol, timeout).await;
            let now = Instant::now().into_std();
            match result {
                Ok(c) => {
                    conn = Some(c);
                    shared.lock().on_connected(now);
                }
                Err(e) => shared.lock().on_connect_failed(now, &e),
            }
            continue;
        }
        let sleep = async {
            match turn.timeout {
                Some(t) => tokio::time::sleep_until(Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        match (conn.as_ref(), turn.transmit) {
            (Some(c), Some(bytes)) => {
                let result = tokio::select! {
                    r = net::write_some(c, &bytes) => Some(r),
                    () = sleep => None,
                };
                let now = Instant::now().into_std();
                match result {
                    Some(Ok(n)) => shared.lock().on_written(n, now),
                    Some(Err(e)) => {
                        conn = None;
                        shared.lock().on_error(now, &e);
                    }
                    None => {}
                }
            }
            (Some(Link::Tcp(stream)), None) => {
                tokio::select! {
                    e = net::closed(stream) => {
                        conn = None;
                        shared.lock().on_error(Instant::now().into_std(), &e);
                    }
                    () = shared.wake.notified() => {}
                    () = sleep => {}
                }
            }
            _ => {
                tokio::select! {
                    () = shared.wake.notified() => {}
                    () = sleep => {}
                }
            }
        }
    }
}

fn log(event: &Event) {
    match event {
        Event::OutageStarted { .. } => tracing::warn!(target: "graphite", "{event}"),
        Event::Recovered { .. } => tracing::info!(target: "graphite", "{event}"),
        _ => tracing::debug!(target: "graphite", "{event}"),
    }
}
