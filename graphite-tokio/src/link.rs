//! [`Tokio`]: the runtime seam over tokio's sockets, timers and tasks.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use graphite_driver::{BoxFuture, Connecting, Link, Runtime, SpawnError, Spawned};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UdpSocket};

/// A stream you bring (TLS, Unix socket, ...), in tokio's terms.
pub trait ByoStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByoStream for T {}

/// The tokio runtime, as the driver sees it: it spawns on the runtime
/// current at the call.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

/// A connection on tokio: a socket this crate connected, or your stream.
enum TokioLink {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Custom(Box<dyn ByoStream>),
}

/// Your stream (TLS, a Unix socket, ...) as a connection for
/// [`Client::from_link`](graphite_driver::Client::from_link).
pub fn link_from_stream(stream: impl ByoStream + 'static) -> Box<dyn Link> {
    Box::new(TokioLink::Custom(Box::new(stream)))
}

impl Runtime for Tokio {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) -> Result<Spawned, SpawnError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| SpawnError::NoRuntime(e.to_string()))?;
        runtime.spawn(task);
        Ok(Spawned::Detached)
    }

    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        let host = host.to_owned();
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }

    fn connect_tcp(&self, addr: SocketAddr, _: Duration) -> Connecting {
        Box::pin(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(TokioLink::Tcp(stream)) as Box<dyn Link>)
        })
    }

    fn connect_udp(&self, local: SocketAddr, peer: SocketAddr) -> Connecting {
        Box::pin(async move {
            let socket = UdpSocket::bind(local).await?;
            socket.connect(peer).await?;
            Ok(Box::new(TokioLink::Udp(socket)) as Box<dyn Link>)
        })
    }
}

impl Link for TokioLink {
    fn poll_write(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Self::Tcp(stream) => Pin::new(stream).poll_write(cx, bytes),
            Self::Udp(socket) => socket.poll_send(cx, bytes),
            Self::Custom(stream) => Pin::new(stream).poll_write(cx, bytes),
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Custom(stream) => Pin::new(stream).poll_flush(cx),
            _ => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(stream) => Pin::new(stream).poll_shutdown(cx),
            Self::Udp(_) => Poll::Ready(Ok(())),
            Self::Custom(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }

    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Self::Tcp(stream) = self else {
            return Poll::Pending;
        };
        // Carbon sends nothing: read what is there and drop it, until the
        // end of the stream or an error.
        let mut scratch = [0_u8; 256];
        loop {
            if let Err(e) = ready!(stream.poll_read_ready(cx)) {
                return Poll::Ready(e);
            }
            match stream.try_read(&mut scratch) {
                Ok(0) => return Poll::Ready(io::ErrorKind::ConnectionReset.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(e),
            }
        }
    }

    fn send_queue(&self) -> Option<usize> {
        match self {
            Self::Tcp(stream) => graphite_driver::send_queue(stream),
            _ => None,
        }
    }
}
