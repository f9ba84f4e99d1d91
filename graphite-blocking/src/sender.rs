//! [`Sender`]: the background sender on its own thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use graphite_proto::client::{IntoMetricPath, IntoValue, SendError};
use graphite_proto::sender::{
    self as core, Action, Event, PushError, PushManyError, SenderConfig, Stats,
};
use graphite_proto::{Datapoint, Protocol};

use crate::client::unix_now;
use crate::net::{self, Link};

/// How long dropping the last handle lets the thread flush.
const DROP_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest single blocking write: the thread comes back this often to run
/// timers (a stalled peer is judged by the core's write timeout).
const WRITE_SLICE: Duration = Duration::from_millis(50);

/// Why a sender could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The configuration cannot work.
    #[error(transparent)]
    Config(#[from] core::ConfigError),
    /// The operating system refused a thread.
    #[error("cannot start the sender thread: {0}")]
    Thread(std::io::Error),
}

struct Shared {
    core: Mutex<core::Sender>,
    /// Wakes the I/O thread.
    wake: Condvar,
    /// Wakes callers waiting for room, a flush or the close.
    progress: Condvar,
    handles: AtomicUsize,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, core::Sender> {
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A cheap, cloneable handle to a background sender thread.
///
/// [`send`](Self::send) encodes the datapoint into a bounded buffer and
/// returns at once; the thread writes batches, reconnects with backoff
/// (resolving the host again), and replays the last seconds after a
/// reconnect. Dropping the last handle flushes (at most 5 s) and joins the
/// thread.
///
/// ```no_run
/// use std::time::Duration;
/// use graphite_blocking::{Protocol, Sender, SenderConfig};
///
/// let sender = Sender::spawn("localhost", None, SenderConfig::new(Protocol::Plaintext))?;
/// sender.send("app.requests", 1, None)?;
/// let stats = sender.close(Duration::from_secs(5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
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
            self.shared.wake.notify_all();
            let thread = self.shared.thread.lock().ok().and_then(|mut t| t.take());
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
    }
}

impl Sender {
    /// Starts the I/O thread. `port: None` uses the protocol's default port.
    pub fn spawn(
        host: &str,
        port: impl Into<Option<u16>>,
        config: SenderConfig,
    ) -> Result<Self, SpawnError> {
        let port = port.into().unwrap_or(config.protocol.default_port());
        let protocol = config.protocol;
        let shared = Arc::new(Shared {
            core: Mutex::new(core::Sender::new(config, Instant::now())?),
            wake: Condvar::new(),
            progress: Condvar::new(),
            handles: AtomicUsize::new(1),
            thread: Mutex::new(None),
        });
        let io = Arc::clone(&shared);
        let host = host.to_owned();
        let thread = thread::Builder::new()
            .name("graphite-sender".into())
            .spawn(move || drive(&io, &host, port, protocol))
            .map_err(SpawnError::Thread)?;
        if let Ok(mut slot) = shared.thread.lock() {
            *slot = Some(thread);
        }
        Ok(Self { shared })
    }

    /// Buffers one datapoint (`timestamp: None` means now) and returns at
    /// once; a full buffer drops it (counted) under every policy. Use
    /// [`send_wait`](Self::send_wait) to block for room.
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
            self.shared.wake.notify_one();
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
            self.shared.wake.notify_one();
        }
        result.map(drop)
    }

    /// Like [`send`](Self::send), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// blocks the thread until there is room, up to the policy's time.
    pub fn send_wait(
        &self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        let dp = datapoint(metric, value, timestamp)?;
        let mut core = self.shared.lock();
        let limit = match core.config().overflow {
            core::OverflowPolicy::Wait(limit) => limit,
            _ => Duration::ZERO,
        };
        let deadline = Instant::now() + limit;
        loop {
            match core.push(&dp, Instant::now()) {
                Ok(wake) => {
                    drop(core);
                    if wake {
                        self.shared.wake.notify_one();
                    }
                    return Ok(());
                }
                Err(PushError::WouldBlock) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return core
                            .push_or_drop(&dp, Instant::now())
                            .map(|_| ())
                            .map_err(push_error);
                    }
                    core = self
                        .shared
                        .progress
                        .wait_timeout(core, left)
                        .map_or_else(|p| p.into_inner().0, |(g, _)| g);
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
    pub fn flush(&self, timeout: Duration) -> Stats {
        self.shared.lock().flush(Instant::now() + timeout);
        self.shared.wake.notify_all();
        self.wait_until(core::Sender::is_flushed)
    }

    /// Flushes, closes the connection and stops the thread.
    pub fn close(&self, timeout: Duration) -> Stats {
        self.shared.lock().close(Instant::now() + timeout);
        self.shared.wake.notify_all();
        self.wait_until(core::Sender::is_closed)
    }

    fn wait_until(&self, done: impl Fn(&core::Sender) -> bool) -> Stats {
        let mut core = self.shared.lock();
        while !done(&core) {
            core = self
                .shared
                .progress
                .wait(core)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        core.stats()
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

/// The I/O thread: the core's calling contract over blocking sockets.
fn drive(shared: &Shared, host: &str, port: u16, protocol: Protocol) {
    let mut link: Option<Link> = None;
    loop {
        let now = Instant::now();
        let mut core = shared.lock();
        core.handle_timeout(now);
        let actions: Vec<Action> = std::iter::from_fn(|| core.poll_action(now)).collect();
        let events: Vec<Event> = std::iter::from_fn(|| core.poll_event()).collect();
        let transmit = if link.is_some() && actions.is_empty() {
            core.poll_transmit(now)
        } else {
            None
        };
        if actions.is_empty() && events.is_empty() && transmit.is_none() {
            let wait = core
                .poll_timeout()
                .map_or(Duration::from_secs(1), |t| t.saturating_duration_since(now));
            let (guard, _) = shared
                .wake
                .wait_timeout(core, wait)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            drop(guard);
            continue;
        }
        drop(core);
        for event in &events {
            match event {
                Event::OutageStarted { .. } => tracing::warn!(target: "graphite", "{event}"),
                _ => tracing::info!(target: "graphite", "{event}"),
            }
        }
        for action in actions {
            match action {
                Action::Connect => {
                    let timeout = shared.lock().config().connect_timeout;
                    let result = net::connect(host, port, protocol, timeout).and_then(|l| {
                        set_write_slice(&l).map_err(|source| {
                            graphite_proto::client::SendError::Connect {
                                target: format!("{host}:{port}"),
                                source,
                            }
                        })?;
                        Ok(l)
                    });
                    let now = Instant::now();
                    match result {
                        Ok(l) => {
                            link = Some(l);
                            shared.lock().on_connected(now);
                        }
                        Err(e) => shared.lock().on_connect_failed(now, &e),
                    }
                }
                Action::Disconnect => link = None,
                Action::Close => {
                    if let Some(Link::Tcp(stream)) = link.take() {
                        let _ = stream.shutdown(std::net::Shutdown::Write);
                    }
                    shared.progress.notify_all();
                    return;
                }
            }
        }
        if let (Some(l), Some(bytes)) = (link.as_ref(), transmit) {
            let closed = matches!(l, Link::Tcp(s) if net::peer_closed(s));
            let result = if closed {
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "peer closed the connection",
                ))
            } else {
                net::write_some(l, &bytes)
            };
            let now = Instant::now();
            match result {
                Ok(n) => shared.lock().on_written(n, now),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    link = None;
                    shared.lock().on_error(now, &e);
                }
            }
        }
        shared.progress.notify_all();
    }
}

fn set_write_slice(link: &Link) -> std::io::Result<()> {
    match link {
        Link::Tcp(s) => s.set_write_timeout(Some(WRITE_SLICE)),
        Link::Udp(s) => s.set_write_timeout(Some(WRITE_SLICE)),
    }
}
