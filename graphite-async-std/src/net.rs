//! Connections over async-net (the async-io reactor, shared by smol and
//! async-std): every address tried in turn, closed-peer check.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use async_io::Timer;
use async_net::{TcpStream, UdpSocket};
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt, future};
use graphite_proto::Protocol;
use graphite_proto::client::SendError;

/// A stream the user brings (TLS, Unix socket, ...), in futures-io terms.
pub trait ByoStream: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send {}
impl<T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send> ByoStream for T {}

/// A socket this crate connected.
#[derive(Clone)]
pub(crate) enum Link {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

/// Runs `f` for at most `limit`.
pub(crate) async fn timeout<T>(limit: Duration, f: impl Future<Output = T>) -> Option<T> {
    async { Some(f.await) }
        .or(async {
            Timer::after(limit).await;
            None
        })
        .await
}

/// Resolves `host` afresh and connects to each address in turn.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    protocol: Protocol,
    limit: Duration,
) -> Result<Link, SendError> {
    let addrs = async_net::resolve((host, port))
        .await
        .map_err(|source| SendError::Resolve {
            host: host.to_owned(),
            source,
        })?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in &addrs {
        match timeout(limit, connect_one(*addr, protocol)).await {
            Some(Ok(link)) => return Ok(link),
            Some(Err(e)) => last = e,
            None => {
                last = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connect timed out after {limit:?}"),
                )
            }
        }
    }
    Err(SendError::Connect {
        target: format!("{host}:{port} ({addrs:?})"),
        source: last,
    })
}

async fn connect_one(addr: SocketAddr, protocol: Protocol) -> io::Result<Link> {
    if protocol.is_stream() {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Link::Tcp(stream))
    } else {
        let local: SocketAddr = if addr.is_ipv6() {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(addr).await?;
        Ok(Link::Udp(socket))
    }
}

/// Whether the peer has closed the connection (read side at EOF), checked
/// without waiting, before a write. Carbon never sends anything.
pub(crate) fn peer_closed(stream: &TcpStream) -> bool {
    let mut reader = stream.clone();
    let mut scratch = [0_u8; 256];
    loop {
        match future::block_on(future::poll_once(reader.read(&mut scratch))) {
            None => return false,
            Some(Ok(0)) | Some(Err(_)) => return true,
            Some(Ok(_)) => {}
        }
    }
}

/// Waits until the peer closes the connection (EOF or error).
pub(crate) async fn closed(stream: &TcpStream) -> io::Error {
    let mut reader = stream.clone();
    let mut scratch = [0_u8; 256];
    loop {
        match reader.read(&mut scratch).await {
            Ok(0) => {
                return io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "peer closed the connection",
                );
            }
            Ok(_) => {}
            Err(e) => return e,
        }
    }
}

/// Writes some of `bytes` and returns how many went.
pub(crate) async fn write_some(link: &Link, bytes: &[u8]) -> io::Result<usize> {
    match link {
        Link::Tcp(stream) => stream.clone().write(bytes).await,
        Link::Udp(socket) => socket.send(bytes).await,
    }
}

/// The client's connection: one of ours, or the user's stream.
pub(crate) enum Conn {
    Link(Link),
    Custom(Box<dyn ByoStream>),
}
