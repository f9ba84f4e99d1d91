//! Connections: resolve every address, try each in turn, detect a closed peer.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use graphite_proto::Protocol;
use graphite_proto::client::SendError;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UdpSocket, lookup_host};

/// A stream the user brings (TLS, Unix socket, ...).
pub trait ByoStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByoStream for T {}

/// A socket this crate connected.
pub(crate) enum Link {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

/// The client's connection: one of ours, or the user's stream.
pub(crate) enum Conn {
    Link(Link),
    Custom(Box<dyn ByoStream>),
}

/// Resolves `host` afresh (addresses change across restarts) and connects
/// to each address in turn, IPv6 and IPv4 alike, until one works.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    protocol: Protocol,
    timeout: Duration,
) -> Result<Link, SendError> {
    let addrs: Vec<SocketAddr> = lookup_host((host, port))
        .await
        .map_err(|source| SendError::Resolve {
            host: host.to_owned(),
            source,
        })?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in &addrs {
        match tokio::time::timeout(timeout, connect_one(*addr, protocol)).await {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(e)) => last = e,
            Err(_) => {
                last = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connect timed out after {timeout:?}"),
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
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(addr).await?;
        Ok(Link::Udp(socket))
    }
}

/// Whether the peer has closed a TCP connection (read side at EOF), checked
/// without waiting, as Telegraf does before each write. Carbon never sends
/// anything, so any bytes read are discarded.
pub(crate) fn peer_closed(stream: &TcpStream) -> bool {
    let mut scratch = [0_u8; 256];
    loop {
        match stream.try_read(&mut scratch) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// Waits until the peer closes the connection (EOF or error).
pub(crate) async fn closed(stream: &TcpStream) -> io::Error {
    let mut scratch = [0_u8; 256];
    loop {
        if let Err(e) = stream.readable().await {
            return e;
        }
        match stream.try_read(&mut scratch) {
            Ok(0) => {
                return io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "peer closed the connection",
                );
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return e,
        }
    }
}

/// Writes some of `bytes` and returns how many went.
pub(crate) async fn write_some(link: &Link, bytes: &[u8]) -> io::Result<usize> {
    match link {
        Link::Tcp(stream) => loop {
            stream.writable().await?;
            match stream.try_write(bytes) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        },
        Link::Udp(socket) => socket.send(bytes).await,
    }
}
