//! [`Std`]: the runtime seam over std::net and plain threads. Each sender
//! runs on a thread of its own under graphite-driver's small executor
//! ([`graphite_driver::thread`]); writes block for at most
//! [`WRITE_SLICE`] at a time, so deadlines are looked at between them.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use graphite_driver::thread::{ThreadTimer, block_on};
use graphite_driver::{BoxFuture, Connecting, Link, Runtime, SpawnError, Spawned};

/// Longest single blocking write: the drive loop comes back this often to
/// race the core's timers, so a flush or close deadline holds against a
/// peer that stopped reading.
pub const WRITE_SLICE: Duration = Duration::from_millis(50);

/// A stream you bring (TLS, Unix socket, ...). Set its timeouts yourself:
/// a write on it can only be bounded between system calls.
pub trait ByoStream: Read + Write + Send {}
impl<T: Read + Write + Send> ByoStream for T {}

/// std::net and plain threads, as the driver sees them: a sender's task
/// runs on a thread of its own, joined after the last handle's flush.
#[derive(Clone, Copy, Debug, Default)]
pub struct Std;

/// A connection over std::net: a socket this crate connected, or your
/// stream.
enum StdLink {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Custom(Box<dyn ByoStream>),
}

/// Your stream (TLS, a Unix socket, ...) as a connection for
/// [`BlockingClient::from_link`](graphite_driver::BlockingClient::from_link).
pub fn link_from_stream(stream: impl ByoStream + 'static) -> Box<dyn Link> {
    Box::new(StdLink::Custom(Box::new(stream)))
}

impl Runtime for Std {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(ThreadTimer::at(deadline))
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) -> Result<Spawned, SpawnError> {
        let thread = thread::Builder::new()
            .name("graphite-sender".into())
            .spawn(move || block_on(task))?;
        Ok(Spawned::Thread(thread))
    }

    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        let addrs = (host, port).to_socket_addrs().map(Iterator::collect);
        Box::pin(std::future::ready(addrs))
    }

    fn connect_tcp(&self, addr: SocketAddr, timeout: Duration) -> Connecting {
        let stream = TcpStream::connect_timeout(&addr, timeout).and_then(|stream| {
            stream.set_nodelay(true)?;
            Ok(Box::new(StdLink::Tcp(stream)) as Box<dyn Link>)
        });
        Box::pin(std::future::ready(stream))
    }

    fn connect_udp(&self, local: SocketAddr, peer: SocketAddr) -> Connecting {
        let socket = UdpSocket::bind(local).and_then(|socket| {
            socket.connect(peer)?;
            Ok(Box::new(StdLink::Udp(socket)) as Box<dyn Link>)
        });
        Box::pin(std::future::ready(socket))
    }
}

impl StdLink {
    /// Writes some of `bytes` (a datagram whole), waiting at most
    /// [`WRITE_SLICE`].
    fn write_slice(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(stream) => {
                stream.set_write_timeout(Some(WRITE_SLICE))?;
                stream.write(bytes)
            }
            Self::Udp(socket) => {
                socket.set_write_timeout(Some(WRITE_SLICE))?;
                socket.send(bytes)
            }
            Self::Custom(stream) => stream.write(bytes),
        }
    }
}

impl Link for StdLink {
    fn poll_write(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        match self.write_slice(bytes) {
            // The slice ran out: back to the loop's timers, then try again.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            written => Poll::Ready(written),
        }
    }

    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Custom(stream) => Poll::Ready(stream.flush()),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// A stream you brought has no shutdown in std's terms: it is flushed,
    /// and closes when dropped.
    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(match self {
            Self::Tcp(stream) => stream.shutdown(Shutdown::Write),
            Self::Udp(_) => Ok(()),
            Self::Custom(stream) => stream.flush(),
        })
    }

    /// Looks without waiting; the executor polls again within its idle
    /// period. Carbon never sends anything, so bytes read are dropped.
    fn poll_closed(&mut self, _cx: &mut Context<'_>) -> Poll<io::Error> {
        let Self::Tcp(stream) = self else {
            return Poll::Pending;
        };
        if let Err(e) = stream.set_nonblocking(true) {
            return Poll::Ready(e);
        }
        let mut scratch = [0_u8; 256];
        let closed = loop {
            match stream.read(&mut scratch) {
                Ok(0) => break Some(io::ErrorKind::ConnectionReset.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        match closed.or_else(|| stream.set_nonblocking(false).err()) {
            Some(e) => Poll::Ready(e),
            None => Poll::Pending,
        }
    }

    fn send_queue(&self) -> Option<usize> {
        match self {
            Self::Tcp(stream) => graphite_driver::send_queue(stream),
            _ => None,
        }
    }
}
