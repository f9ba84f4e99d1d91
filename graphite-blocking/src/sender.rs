//! [`Sender`]: the background sender on its own thread.

use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use graphite_driver::{Driver, Handle, Listener, SpawnError, Target, channel};
use graphite_proto::Datapoint;
use graphite_proto::client::{IntoMetricPath, IntoValue};
use graphite_proto::sender::{Output, PushError, PushManyError, SenderConfig, Stats};

use crate::net::{self, Link};

/// Longest single blocking write: the thread comes back this often to run
/// the core's timers, so a flush or close deadline holds against a peer
/// that stopped reading.
const WRITE_SLICE: Duration = Duration::from_millis(50);

/// How often an idle thread looks whether the peer has closed.
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
#[derive(Clone, Debug)]
pub struct Sender {
    // Dropped first: the last handle asks the thread to close ...
    handle: Handle,
    // ... then the last joiner waits for it.
    _joiner: Arc<Joiner>,
}

impl std::fmt::Debug for Joiner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Joiner")
    }
}

impl Sender {
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
            .spawn(move || drive(&driver, &target, protocol))?;
        Ok(Self {
            handle,
            _joiner: Arc::new(Joiner(Mutex::new(Some(thread)))),
        })
    }

    /// Buffers one datapoint (`timestamp: None` means now) and returns at
    /// once; a full buffer drops it (counted) under every policy. Use
    /// [`send_wait`](Self::send_wait) to block for room.
    pub fn send(
        &self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), PushError> {
        self.handle.send(metric, value, timestamp)
    }

    /// Buffers a datapoint already built (the cheapest path); never blocks.
    pub fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        self.handle.push(dp)
    }

    /// Buffers every datapoint of `batch` under one lock and one clock
    /// read; never blocks. Each is accepted or dropped and counted as
    /// [`push`](Self::push) would; the error says how many were dropped and
    /// why the first was.
    pub fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        self.handle.push_many(batch)
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

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.handle.stats()
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

/// The I/O thread: executes the core's outputs over blocking sockets.
fn drive(driver: &Driver, target: &Target, protocol: graphite_proto::Protocol) {
    let mut link: Option<Link> = None;
    loop {
        let wake = driver.listen_wake();
        let turn = driver.turn();
        let until_timer = turn
            .deadline
            .map(|t| t.saturating_duration_since(Instant::now()));
        match (turn.output, link.as_mut()) {
            (Some(Output::Connect), _) => {
                let result = net::connect(target, protocol, driver.connect_timeout());
                driver.connected(result.map(|l| link = Some(l)));
            }
            (Some(Output::Transmit(bytes)), Some(l)) => {
                let limit = until_timer.map_or(WRITE_SLICE, |t| t.min(WRITE_SLICE));
                let result = match l.peer_closed() {
                    Some(closed) => Err(closed),
                    None => l.write(&bytes, limit),
                };
                match result {
                    Ok(n) => driver.written(Ok(n)),
                    // The slice ran out: back to the core's timers.
                    Err(e) if is_time_out(&e) => {}
                    Err(e) => {
                        link = None;
                        driver.written(Err(&e));
                    }
                }
            }
            (Some(Output::Disconnect), _) => link = None,
            (Some(Output::Close), l) => {
                if let Some(l) = l {
                    let _ = l.shutdown();
                }
                return;
            }
            (_, l) => {
                if let Some(e) = l.and_then(Link::peer_closed) {
                    link = None;
                    driver.written(Err(&e));
                    continue;
                }
                let _ = wake.wait_timeout(until_timer.map_or(IDLE_CHECK, |t| t.min(IDLE_CHECK)));
            }
        }
    }
}

fn is_time_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
