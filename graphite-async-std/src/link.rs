//! [`AsyncIo`]: the runtime seam over async-net's sockets and async-io's
//! timers, which smol and async-std share.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use async_io::Timer;
use async_net::{TcpStream, UdpSocket};
use futures_lite::{AsyncReadExt, AsyncWriteExt, future};
use graphite_driver::{Runtime, WrapStream};
use graphite_proto::Protocol;

/// A stream you bring (TLS, Unix socket, ...), in futures-io terms.
pub trait ByoStream: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send {}
impl<T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send> ByoStream for T {}

/// The async-io reactor (smol, async-std), as the shared driver sees it.
/// It spawns nothing: [`Sender::start`](crate::Sender::start) hands you the
/// task to spawn on the executor you use.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncIo;

/// A connection on async-io: a socket this crate connected, or your stream.
pub struct AsyncIoLink(Inner);

enum Inner {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Custom(Box<dyn ByoStream>),
}

impl std::fmt::Debug for AsyncIoLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncIoLink").finish_non_exhaustive()
    }
}

impl Inner {
    async fn tcp(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self::Tcp(stream))
    }

    async fn udp(addr: SocketAddr) -> io::Result<Self> {
        let socket = UdpSocket::bind(graphite_driver::unspecified_for(addr)).await?;
        socket.connect(addr).await?;
        Ok(Self::Udp(socket))
    }

    /// The stream to write to; a UDP socket has none (writes are datagrams).
    fn stream(&mut self) -> Option<&mut (dyn futures_io::AsyncWrite + Unpin + Send)> {
        match self {
            Self::Tcp(stream) => Some(stream),
            Self::Custom(stream) => Some(stream),
            Self::Udp(_) => None,
        }
    }
}

impl Runtime for AsyncIo {
    type Link = AsyncIoLink;

    async fn sleep_until(deadline: Instant) {
        Timer::at(deadline).await;
    }

    async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        async_net::resolve((host, port)).await
    }

    async fn connect(addr: SocketAddr, protocol: Protocol) -> io::Result<AsyncIoLink> {
        let inner = if protocol.is_stream() {
            Inner::tcp(addr).await?
        } else {
            Inner::udp(addr).await?
        };
        Ok(AsyncIoLink(inner))
    }

    async fn write(link: &mut AsyncIoLink, bytes: &[u8]) -> io::Result<usize> {
        if let Inner::Udp(socket) = &link.0 {
            return socket.send(bytes).await;
        }
        match link.0.stream() {
            Some(stream) => stream.write(bytes).await,
            None => Err(io::ErrorKind::Unsupported.into()),
        }
    }

    async fn flush(link: &mut AsyncIoLink) -> io::Result<()> {
        match link.0.stream() {
            Some(stream) => stream.flush().await,
            None => Ok(()),
        }
    }

    fn send_queue(link: &AsyncIoLink) -> Option<usize> {
        let Inner::Tcp(stream) = &link.0 else {
            return None;
        };
        graphite_driver::send_queue(stream)
    }

    async fn closed(link: &mut AsyncIoLink) -> io::Error {
        let Inner::Tcp(stream) = &mut link.0 else {
            return std::future::pending().await;
        };
        let mut scratch = [0_u8; 256];
        loop {
            match stream.read(&mut scratch).await {
                Ok(0) => return io::ErrorKind::ConnectionReset.into(),
                Ok(_) => {}
                Err(e) => return e,
            }
        }
    }

    fn peer_closed(link: &mut AsyncIoLink) -> bool {
        let Inner::Tcp(stream) = &mut link.0 else {
            return false;
        };
        let mut scratch = [0_u8; 256];
        loop {
            match future::block_on(future::poll_once(stream.read(&mut scratch))) {
                None => return false,
                Some(Ok(0) | Err(_)) => return true,
                Some(Ok(_)) => {}
            }
        }
    }

    async fn shutdown(link: &mut AsyncIoLink) -> io::Result<()> {
        match link.0.stream() {
            Some(stream) => stream.close().await,
            None => Ok(()),
        }
    }
}

impl<S: ByoStream + 'static> WrapStream<S> for AsyncIo {
    type Link = AsyncIoLink;

    fn wrap(stream: S) -> AsyncIoLink {
        AsyncIoLink(Inner::Custom(Box::new(stream)))
    }
}
