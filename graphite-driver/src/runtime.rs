//! The seam between the driver and one runtime: [`Runtime`] (a clock,
//! timers, spawning, name resolution, connecting) and [`Link`] (one
//! connection). Both are object-safe: a sender holds an
//! `Arc<dyn Runtime>`, and nothing public is generic over the runtime.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::SpawnError;

/// A boxed, sendable future: what the runtime seam and the [`Sink`](crate::Sink)
/// trait hand around. One is allocated per timer, connection attempt or
/// call, never per datapoint.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A connection attempt: the future `Runtime::connect_tcp` and
/// `connect_udp` return.
pub type Connecting = BoxFuture<'static, io::Result<Box<dyn Link>>>;

/// What the driver needs from a runtime. Everything else, every decision
/// included, is written once above this seam.
///
/// Implemented by `graphite_tokio::Tokio`, `graphite_async_std::AsyncIo`
/// (async-std and smol), `graphite_blocking::Std` (plain threads) and
/// `testing::SimRuntime` (feature `testing`: a manual clock and an in-memory
/// network). Implement it to run the senders
/// and the client on another runtime.
///
/// ```
/// use std::sync::Arc;
/// use graphite_driver::Runtime;
///
/// // Code that sends never names the runtime: it is a value.
/// fn describe(runtime: &Arc<dyn Runtime>) -> String {
///     format!("{runtime:?}")
/// }
/// ```
pub trait Runtime: fmt::Debug + Send + Sync + 'static {
    /// The current time. Every time the driver reads comes from here, so a
    /// simulated runtime owns the clock.
    fn now(&self) -> Instant;

    /// A future that completes at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()>;

    /// Runs `task` in the background. A runtime that runs it on a thread of
    /// its own returns that thread ([`Spawned::Thread`]): the sender joins
    /// it when its last handle is dropped, after the final flush.
    fn spawn(&self, task: BoxFuture<'static, ()>) -> Result<Spawned, SpawnError>;

    /// Every address of `host:port`, resolved afresh (addresses change
    /// across restarts).
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>>;

    /// A TCP connection to `addr` with `TCP_NODELAY` set (the stream
    /// protocols). The driver races the attempt against `timeout`; a runtime
    /// whose connect blocks must bound it by `timeout` itself.
    fn connect_tcp(&self, addr: SocketAddr, timeout: Duration) -> Connecting;

    /// A UDP socket bound to `local` and connected to `peer` (the datagram
    /// protocol): each write is one datagram.
    fn connect_udp(&self, local: SocketAddr, peer: SocketAddr) -> Connecting;
}

/// How a runtime ran a task.
#[derive(Debug)]
#[non_exhaustive]
pub enum Spawned {
    /// On the runtime's own executor: nothing to join.
    Detached,
    /// On a thread of its own, joined after the last handle's flush.
    Thread(JoinHandle<()>),
}

/// One connection to carbon: a socket the runtime connected, or a stream
/// you brought. Poll-based, so that it is object-safe and costs no
/// allocation per write.
pub trait Link: Send + 'static {
    /// Writes some of `bytes` (a datagram whole) and says how many went.
    /// `Pending` must mean nothing was written: the driver may abandon the
    /// write for a deadline.
    fn poll_write(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>>;

    /// Flushes what the link itself buffers (a TLS stream, say).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Flushes and shuts the write side down where the link can.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Ready with the error that ended the connection once the peer has
    /// closed it (end of stream or an error); never ready for links that
    /// cannot tell (UDP, most streams you bring). Carbon never sends
    /// anything, so bytes read are discarded.
    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<io::Error>;

    /// The kernel's send queue of a TCP link, in bytes (see
    /// [`send_queue`](crate::send_queue)); `None` for other links.
    fn send_queue(&self) -> Option<usize>;
}

impl fmt::Debug for dyn Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("send_queue", &self.send_queue())
            .finish_non_exhaustive()
    }
}

/// The async operations the driver and the client run on a link.
pub(crate) mod ops {
    use std::future::poll_fn;
    use std::io;
    use std::task::{Context, Poll, Waker};

    use super::Link;

    pub(crate) async fn write(link: &mut dyn Link, bytes: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| link.poll_write(cx, bytes)).await
    }

    pub(crate) async fn flush(link: &mut dyn Link) -> io::Result<()> {
        poll_fn(|cx| link.poll_flush(cx)).await
    }

    pub(crate) async fn shutdown(link: &mut dyn Link) -> io::Result<()> {
        poll_fn(|cx| link.poll_shutdown(cx)).await
    }

    pub(crate) async fn closed(link: &mut dyn Link) -> io::Error {
        poll_fn(|cx| link.poll_closed(cx)).await
    }

    /// The error that says the peer has closed, checked without waiting.
    pub(crate) fn peer_closed(link: &mut dyn Link) -> Option<io::Error> {
        match link.poll_closed(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(e) => Some(e),
            Poll::Pending => None,
        }
    }
}
