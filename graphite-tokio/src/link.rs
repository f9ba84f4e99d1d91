//! [`Tokio`]: the runtime seam over tokio's sockets, timers and tasks.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use graphite_driver::{Runtime, Spawn, SpawnError, WrapStream};
use graphite_proto::Protocol;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// A stream you bring (TLS, Unix socket, ...), in tokio's terms.
pub trait ByoStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByoStream for T {}

/// The tokio runtime, as the shared driver sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

/// A connection on tokio: a socket this crate connected, or your stream.
pub struct TokioLink(Inner);

enum Inner {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Custom(Box<dyn ByoStream>),
}

impl Runtime for Tokio {
    type Link = TokioLink;

    async fn sleep_until(deadline: Instant) {
        tokio::time::sleep_until(deadline.into()).await;
    }

    async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }

    async fn connect(addr: SocketAddr, protocol: Protocol) -> io::Result<TokioLink> {
        if protocol.is_stream() {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            return Ok(TokioLink(Inner::Tcp(stream)));
        }
        let socket = UdpSocket::bind(graphite_driver::unspecified_for(addr)).await?;
        socket.connect(addr).await?;
        Ok(TokioLink(Inner::Udp(socket)))
    }

    async fn write(link: &mut TokioLink, bytes: &[u8]) -> io::Result<usize> {
        match &mut link.0 {
            Inner::Tcp(stream) => stream.write(bytes).await,
            Inner::Udp(socket) => socket.send(bytes).await,
            Inner::Custom(stream) => stream.write(bytes).await,
        }
    }

    async fn flush(link: &mut TokioLink) -> io::Result<()> {
        match &mut link.0 {
            Inner::Custom(stream) => stream.flush().await,
            _ => Ok(()),
        }
    }

    fn send_queue(link: &TokioLink) -> Option<usize> {
        match &link.0 {
            Inner::Tcp(stream) => graphite_driver::send_queue(stream),
            _ => None,
        }
    }

    async fn closed(link: &mut TokioLink) -> io::Error {
        let Inner::Tcp(stream) = &link.0 else {
            return std::future::pending().await;
        };
        loop {
            if let Err(e) = stream.readable().await {
                return e;
            }
            if let Some(e) = read_to_eof(stream) {
                return e;
            }
        }
    }

    fn peer_closed(link: &mut TokioLink) -> bool {
        matches!(&link.0, Inner::Tcp(stream) if read_to_eof(stream).is_some())
    }

    async fn shutdown(link: &mut TokioLink) -> io::Result<()> {
        match &mut link.0 {
            Inner::Tcp(stream) => stream.shutdown().await,
            Inner::Udp(_) => Ok(()),
            Inner::Custom(stream) => stream.shutdown().await,
        }
    }
}

/// Reads what is there without waiting: the error that says the peer has
/// closed, or `None` while it is open. Carbon sends nothing; bytes are dropped.
fn read_to_eof(stream: &TcpStream) -> Option<io::Error> {
    let mut scratch = [0_u8; 256];
    loop {
        match stream.try_read(&mut scratch) {
            Ok(0) => return Some(io::ErrorKind::ConnectionReset.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) => return Some(e),
        }
    }
}

impl Spawn for Tokio {
    fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Result<(), SpawnError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| SpawnError::NoRuntime(e.to_string()))?;
        runtime.spawn(task);
        Ok(())
    }
}

impl<S: ByoStream + 'static> WrapStream<S> for Tokio {
    type Link = TokioLink;

    fn wrap(stream: S) -> TokioLink {
        TokioLink(Inner::Custom(Box::new(stream)))
    }
}

impl std::fmt::Debug for TokioLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokioLink").finish_non_exhaustive()
    }
}
