//! Connections over std::net: every address tried in turn, closed-peer check.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use graphite_proto::Protocol;
use graphite_proto::client::SendError;

/// A stream the user brings (TLS, Unix socket, ...).
pub trait ByoStream: Read + Write + Send {}
impl<T: Read + Write + Send> ByoStream for T {}

/// A socket this crate connected.
pub(crate) enum Link {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

/// Resolves `host` afresh and connects to each address in turn.
pub(crate) fn connect(
    host: &str,
    port: u16,
    protocol: Protocol,
    timeout: Duration,
) -> Result<Link, SendError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|source| SendError::Resolve {
            host: host.to_owned(),
            source,
        })?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in &addrs {
        match connect_one(*addr, protocol, timeout) {
            Ok(link) => return Ok(link),
            Err(e) => last = e,
        }
    }
    Err(SendError::Connect {
        target: format!("{host}:{port} ({addrs:?})"),
        source: last,
    })
}

fn connect_one(addr: SocketAddr, protocol: Protocol, timeout: Duration) -> io::Result<Link> {
    if protocol.is_stream() {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        Ok(Link::Tcp(stream))
    } else {
        let local: SocketAddr = if addr.is_ipv6() {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local)?;
        socket.connect(addr)?;
        Ok(Link::Udp(socket))
    }
}

/// Whether the peer has closed the connection (read side at EOF), checked
/// without blocking, before a write. Carbon never sends anything, so bytes
/// read are discarded.
pub(crate) fn peer_closed(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut scratch = [0_u8; 256];
    let closed = loop {
        match (&*stream).read(&mut scratch) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break true,
        }
    };
    closed || stream.set_nonblocking(false).is_err()
}

/// Writes some of `bytes` (the socket's write timeout bounds the wait).
pub(crate) fn write_some(link: &Link, bytes: &[u8]) -> io::Result<usize> {
    match link {
        Link::Tcp(stream) => (&*stream).write(bytes),
        Link::Udp(socket) => socket.send(bytes),
    }
}
