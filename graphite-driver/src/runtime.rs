//! [`Runtime`]: the seam between the shared driver and one async runtime.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use graphite_proto::Protocol;

/// What the shared driver and client need from an async runtime: a timer,
/// name resolution, and a few operations on a connection. Everything else,
/// every decision included, is written once above this seam.
///
/// Implemented by `graphite_tokio::Tokio` and `graphite_async_std::AsyncIo`;
/// implement it to run the sender and client on another runtime.
pub trait Runtime: Send + Sync + 'static {
    /// A connection: a socket the runtime connected, or a stream the user
    /// brought.
    type Link: Send + 'static;

    /// Completes at `deadline`.
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send;

    /// Every address of `host:port`, resolved afresh.
    fn resolve(host: &str, port: u16) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send;

    /// Connects to one address: TCP (with `TCP_NODELAY`) for stream
    /// protocols, a connected UDP socket for UDP.
    fn connect(
        addr: SocketAddr,
        protocol: Protocol,
    ) -> impl Future<Output = io::Result<Self::Link>> + Send;

    /// Writes some of `bytes` (a datagram whole) and returns how many went.
    /// Must be cancel-safe: dropped before it completes, it wrote nothing.
    fn write(link: &mut Self::Link, bytes: &[u8])
    -> impl Future<Output = io::Result<usize>> + Send;

    /// Flushes what the link itself buffers (a TLS stream, say).
    fn flush(link: &mut Self::Link) -> impl Future<Output = io::Result<()>> + Send;

    /// The kernel's send queue of a TCP link, in bytes (see
    /// [`send_queue`](crate::send_queue)); `None` for other links.
    fn send_queue(link: &Self::Link) -> Option<usize>;

    /// Completes when the peer has closed the connection (end of stream or
    /// an error); never, for links that cannot tell (UDP, user streams).
    /// Carbon never sends anything, so bytes read are discarded.
    fn closed(link: &mut Self::Link) -> impl Future<Output = io::Error> + Send;

    /// Whether the peer has closed the connection, checked without waiting.
    fn peer_closed(link: &mut Self::Link) -> bool;

    /// Flushes and shuts the write side down cleanly.
    fn shutdown(link: &mut Self::Link) -> impl Future<Output = io::Result<()>> + Send;
}

/// A runtime that can start a task by itself (tokio inside a runtime; not
/// the futures-io adapter, whose caller picks the executor).
pub trait Spawn: Runtime {
    /// Runs `task` in the background.
    fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Result<(), crate::SpawnError>;
}

/// A runtime that can carry a user's stream of type `S` (TLS, a Unix
/// socket, ...) as one of its connections.
pub trait WrapStream<S> {
    /// The runtime's connection type.
    type Link;
    /// Wraps the stream.
    fn wrap(stream: S) -> Self::Link;
}
