//! [`AsyncIo`]: the runtime seam over async-net's sockets and async-io's
//! timers, which smol and async-std share.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
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
        f.write_str(match self.0 {
            Inner::Tcp(_) => "AsyncIoLink::Tcp",
            Inner::Udp(_) => "AsyncIoLink::Udp",
            Inner::Custom(_) => "AsyncIoLink::Custom",
        })
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
        if protocol.is_stream() {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            return Ok(AsyncIoLink(Inner::Tcp(stream)));
        }
        let local: SocketAddr = match addr {
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(addr).await?;
        Ok(AsyncIoLink(Inner::Udp(socket)))
    }

    async fn write(link: &mut AsyncIoLink, bytes: &[u8]) -> io::Result<usize> {
        match &mut link.0 {
            Inner::Tcp(stream) => stream.write(bytes).await,
            Inner::Udp(socket) => socket.send(bytes).await,
            Inner::Custom(stream) => stream.write(bytes).await,
        }
    }

    async fn flush(link: &mut AsyncIoLink) -> io::Result<()> {
        match &mut link.0 {
            Inner::Custom(stream) => stream.flush().await,
            _ => Ok(()),
        }
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
        match &mut link.0 {
            Inner::Tcp(stream) => stream.close().await,
            Inner::Udp(_) => Ok(()),
            Inner::Custom(stream) => stream.close().await,
        }
    }
}

impl<S: ByoStream + 'static> WrapStream<S> for AsyncIo {
    type Link = AsyncIoLink;

    fn wrap(stream: S) -> AsyncIoLink {
        AsyncIoLink(Inner::Custom(Box::new(stream)))
    }
}
