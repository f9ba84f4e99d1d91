//! The sender and client for plain threads, written once over
//! [`BlockingRuntime`]: a blocking socket seam with writes bounded in time.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use event_listener::Listener;
use graphite_proto::client::{
    ClientConfig, ClientCore, IntoItem, IntoMetricPath, IntoValue, SendError, WriteCursor,
};
use graphite_proto::sender::{Output, PushError, PushManyError, SenderConfig, Stats};
use graphite_proto::{Datapoint, Protocol};

use crate::handle::{Driver, Handle, channel};
use crate::{SpawnError, Target, WrapStream, unix_now};

/// What the thread sender and the blocking client need from blocking
/// sockets. Implemented by `graphite_blocking::Std` over std::net.
pub trait BlockingRuntime: Send + Sync + 'static {
    /// A connection: a socket the runtime connected, or a user's stream.
    type Link: Send + 'static;

    /// Resolves `target` afresh and connects to each address in turn, each
    /// attempt within `timeout`.
    fn connect(
        target: &Target,
        protocol: Protocol,
        timeout: Duration,
    ) -> Result<Self::Link, SendError>;

    /// Writes some of `bytes` (a datagram whole), waiting at most `limit`;
    /// running out of time is a `WouldBlock` or `TimedOut` error.
    fn write(link: &mut Self::Link, bytes: &[u8], limit: Duration) -> io::Result<usize>;

    /// Flushes what the link itself buffers.
    fn flush(link: &mut Self::Link) -> io::Result<()>;

    /// The kernel's send queue of a TCP link, in bytes (see
    /// [`send_queue`](crate::send_queue)); `None` for other links.
    fn send_queue(link: &Self::Link) -> Option<usize>;

    /// The error that says the peer has closed the connection, checked
    /// without waiting; `None` while it is open (or when it cannot tell).
    fn peer_closed(link: &mut Self::Link) -> Option<io::Error>;

    /// Flushes and shuts the write side down where the link can.
    fn shutdown(link: &mut Self::Link) -> io::Result<()>;
}

/// Longest single blocking write of the sender thread: it comes back this
/// often to run the core's timers, so a flush or close deadline holds
/// against a peer that stopped reading.
const WRITE_SLICE: Duration = Duration::from_millis(50);

/// How often an idle sender thread looks whether the peer has closed.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Joins the thread when the last handle goes (after the handle has asked
/// the thread to flush and stop).
struct Joiner(Mutex<Option<JoinHandle<()>>>);

impl Drop for Joiner {
    fn drop(&mut self) {
        let thread = self.0.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// A cheap, cloneable handle to a background sender thread.
///
/// [`send`](Self::send) encodes the datapoint into a bounded buffer and
/// returns at once; the thread writes batches, reconnects with backoff
/// (resolving the host again), and replays what may have been lost after a
/// reconnect. Dropping the last handle flushes (for at most
/// [`DROP_FLUSH_TIMEOUT`](crate::DROP_FLUSH_TIMEOUT)) and joins the thread.
///
/// `graphite_blocking::Sender` names it for std::net.
pub struct BlockingSender<R> {
    // Dropped first: the last handle asks the thread to close ...
    handle: Handle,
    // ... then the last joiner waits for it.
    joiner: Arc<Joiner>,
    runtime: PhantomData<fn() -> R>,
}

impl<R> Clone for BlockingSender<R> {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
            joiner: Arc::clone(&self.joiner),
            runtime: PhantomData,
        }
    }
}

impl<R> BlockingSender<R> {}

impl<R: BlockingRuntime> BlockingSender<R> {
    /// Starts the I/O thread. `port: None` uses the protocol's default port.
    pub fn spawn(
        host: &str,
        port: impl Into<Option<u16>>,
        config: SenderConfig,
    ) -> Result<Self, SpawnError> {
        let target = Target::new(host, port, config.protocol);
        let protocol = config.protocol;
        let (handle, driver) = channel(config)?;
        let thread = thread::Builder::new()
            .name("graphite-sender".into())
            .spawn(move || drive::<R>(&driver, &target, protocol))?;
        Ok(Self {
            handle,
            joiner: Arc::new(Joiner(Mutex::new(Some(thread)))),
            runtime: PhantomData,
        })
    }

    fn wait_deadline(&self) -> Instant {
        Instant::now() + self.handle.wait_limit()
    }

    /// Like [`send`](Self::send), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// blocks the thread until there is room, up to the policy's time; then
    /// the datapoint is dropped and counted.
    pub fn send_wait(
        &self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), PushError> {
        let dp = self.handle.datapoint(metric, value, timestamp)?;
        self.push_wait(&dp)
    }

    /// [`push`](Self::push), blocking for room as [`send_wait`](Self::send_wait) does.
    pub fn push_wait(&self, dp: &Datapoint) -> Result<(), PushError> {
        self.handle.push_wait_blocking(dp, self.wait_deadline())
    }

    /// [`push_many`](Self::push_many), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// the slice goes in as room frees up (the bulk path: a file, a
    /// backfill); what still waits after the policy's time is dropped and
    /// counted.
    pub fn push_many_wait(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        self.handle
            .push_many_wait_blocking(batch, self.wait_deadline())
    }

    /// Writes out everything buffered; what is not written within `timeout`
    /// is dropped and counted, even if the peer has stopped reading.
    /// Returns the stats after.
    pub fn flush(&self, timeout: Duration) -> Stats {
        self.handle.begin_flush(timeout);
        self.handle.flushed_blocking()
    }

    /// Flushes, closes the connection and stops the thread.
    pub fn close(&self, timeout: Duration) -> Stats {
        self.handle.begin_close(timeout);
        self.handle.closed_blocking()
    }
}

/// The sender thread: executes the core's outputs over blocking sockets.
fn drive<R: BlockingRuntime>(driver: &Driver, target: &Target, protocol: Protocol) {
    let mut link: Option<R::Link> = None;
    loop {
        let wake = driver.listen_wake();
        let turn = driver.turn();
        let until_timer = turn
            .deadline
            .map(|t| t.saturating_duration_since(Instant::now()));
        match (turn.output, link.as_mut()) {
            (Some(Output::Connect), _) => {
                let result = R::connect(target, protocol, driver.connect_timeout());
                driver.connected(result.map(|l| link = Some(l)));
            }
            (Some(Output::Transmit(bytes)), Some(l)) => {
                let limit = until_timer.map_or(WRITE_SLICE, |t| t.min(WRITE_SLICE));
                let result = match R::peer_closed(l) {
                    Some(closed) => Err(closed),
                    None => R::write(l, &bytes, limit),
                };
                match result {
                    Ok(n) => driver.wrote(n, R::send_queue(l)),
                    // The slice ran out: back to the core's timers, with a
                    // sample of the queue to judge the waiting write by.
                    Err(e) if is_time_out(&e) => driver.sampled(R::send_queue(l)),
                    Err(e) => {
                        link = None;
                        driver.failed(&e);
                    }
                }
            }
            (Some(Output::Disconnect), _) => link = None,
            (Some(Output::Close), l) => {
                if let Some(l) = l {
                    let _ = R::shutdown(l);
                }
                return;
            }
            (_, mut l) => {
                if let Some(e) = l.as_deref_mut().and_then(|l| R::peer_closed(l)) {
                    link = None;
                    driver.failed(&e);
                    continue;
                }
                let _ = wake.wait_timeout(until_timer.map_or(IDLE_CHECK, |t| t.min(IDLE_CHECK)));
                // The queue still draining is sampled too.
                if let Some(l) = l {
                    driver.sampled(R::send_queue(l));
                }
            }
        }
    }
}

fn is_time_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A direct connection to carbon from a thread: each `send` writes at
/// once, all its writes within the write timeout, and returns only when the
/// bytes are written, or with an error saying how many datapoints went.
///
/// After an error the next call reconnects (when made from a host and port).
/// A batch is never retried behind your back.
///
/// `graphite_blocking::Client` names it for std::net.
pub struct BlockingClient<R: BlockingRuntime> {
    core: ClientCore,
    target: Option<Target>,
    link: Option<R::Link>,
}

impl<R: BlockingRuntime> fmt::Debug for BlockingClient<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", self.core.config())
            .field("target", &self.target)
            .field("connected", &self.link.is_some())
            .finish()
    }
}

impl<R: BlockingRuntime> BlockingClient<R> {
    /// Connects to carbon at `host:port` (every resolved address is tried in
    /// turn). `port: None` uses the protocol's default: 2003 for plaintext
    /// and UDP, 2004 for pickle.
    pub fn connect(
        host: &str,
        port: impl Into<Option<u16>>,
        protocol: Protocol,
    ) -> Result<Self, SendError> {
        Self::connect_with(host, port, ClientConfig::new(protocol))
    }

    /// Connects with a full configuration.
    pub fn connect_with(
        host: &str,
        port: impl Into<Option<u16>>,
        config: ClientConfig,
    ) -> Result<Self, SendError> {
        let target = Target::new(host, port, config.protocol);
        let link = R::connect(&target, config.protocol, config.connect_timeout)?;
        Ok(Self {
            core: ClientCore::new(config, true),
            target: Some(target),
            link: Some(link),
        })
    }

    /// Uses a stream you connected yourself (TLS, a Unix socket, ...) for
    /// plaintext or pickle. Set its timeouts yourself: a write on it can
    /// only be bounded between system calls. It cannot reconnect.
    pub fn from_stream<S>(stream: S, config: ClientConfig) -> Self
    where
        R: WrapStream<S, Link = <R as BlockingRuntime>::Link>,
    {
        Self {
            core: ClientCore::new(config, false),
            target: None,
            link: Some(R::wrap(stream)),
        }
    }

    /// Sends one datapoint; `timestamp: None` means now.
    pub fn send(
        &mut self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        let ts = timestamp.unwrap_or_else(unix_now);
        let item = (metric.into_metric_path()?, value.into_value()?, ts);
        self.send_multiple([item], None)
    }

    /// Sends many datapoints in one write: items are `(metric, value)` or
    /// `(metric, value, timestamp)`; those without a timestamp get
    /// `default_timestamp`, or now. Every item is checked before anything is
    /// written.
    pub fn send_multiple<I, T>(
        &mut self,
        items: I,
        default_timestamp: Option<i64>,
    ) -> Result<(), SendError>
    where
        I: IntoIterator<Item = T>,
        T: IntoItem,
    {
        let default_timestamp = default_timestamp.unwrap_or_else(unix_now);
        let Some(mut cursor) = self.core.batch(Instant::now(), items, default_timestamp)? else {
            return Ok(());
        };
        let result = write_all::<R>(self.ensure_connected()?, &mut cursor);
        if result.is_err() {
            // The stream may hold half a frame: never write after it.
            self.link = None;
        }
        result
    }

    /// aiographite's name encoder: see [`graphite_proto::clean_and_join_metric_parts`].
    pub fn clean_and_join_metric_parts<I>(parts: I) -> String
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        graphite_proto::clean_and_join_metric_parts(parts)
    }

    fn ensure_connected(&mut self) -> Result<&mut R::Link, SendError> {
        if self
            .link
            .as_mut()
            .is_some_and(|l| R::peer_closed(l).is_some())
        {
            self.link = None;
        }
        if self.core.must_connect(self.link.is_some())?
            && let Some(target) = &self.target
        {
            let config = self.core.config();
            self.link = Some(R::connect(target, config.protocol, config.connect_timeout)?);
        }
        self.link.as_mut().ok_or(SendError::PeerClosed)
    }

    /// Flushes and shuts the write side down, reporting any error. Nothing
    /// is buffered by this client: every `send` wrote its bytes.
    pub fn close(mut self) -> Result<(), SendError> {
        let Some(link) = self.link.as_mut() else {
            return Ok(());
        };
        R::shutdown(link).map_err(|source| SendError::Write {
            written: 0,
            total: 0,
            source,
        })
    }
}

/// Writes the whole batch, each write bounded by what is left of the
/// batch's write timeout.
fn write_all<R: BlockingRuntime>(
    link: &mut R::Link,
    cursor: &mut WriteCursor,
) -> Result<(), SendError> {
    while let Some(chunk) = cursor.chunk() {
        let left = cursor.time_left(Instant::now())?;
        let n = R::write(link, &chunk, left).map_err(|e| cursor.fail(e))?;
        cursor.advance(n)?;
    }
    R::flush(link).map_err(|e| cursor.fail(e))
}

sender_surface!(BlockingSender, BlockingRuntime, "blocks");
