//! Connections over std::net: every address tried in turn, writes bounded
//! in time, a closed peer seen without waiting.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use graphite_driver::{BlockingRuntime, Target, WrapStream};
use graphite_proto::Protocol;
use graphite_proto::client::SendError;

/// A stream you bring (TLS, Unix socket, ...). Set its timeouts yourself:
/// a write on it can only be bounded between system calls.
pub trait ByoStream: Read + Write + Send {}
impl<T: Read + Write + Send> ByoStream for T {}

/// std::net, as the shared thread sender and client see it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Std;

/// A connection over std::net: a socket this crate connected, or your
/// stream.
pub struct StdLink(Link);

impl std::fmt::Debug for StdLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdLink").finish_non_exhaustive()
    }
}

enum Link {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Custom(Box<dyn ByoStream>),
}

impl<S: ByoStream + 'static> WrapStream<S> for Std {
    type Link = StdLink;

    fn wrap(stream: S) -> StdLink {
        StdLink(Link::Custom(Box::new(stream)))
    }
}

impl BlockingRuntime for Std {
    type Link = StdLink;

    fn connect(
        target: &Target,
        protocol: Protocol,
        timeout: Duration,
    ) -> Result<StdLink, SendError> {
        connect(target, protocol, timeout).map(StdLink)
    }

    fn write(link: &mut StdLink, bytes: &[u8], limit: Duration) -> io::Result<usize> {
        link.0.write(bytes, limit)
    }

    fn flush(link: &mut StdLink) -> io::Result<()> {
        link.0.flush()
    }

    fn send_queue(link: &StdLink) -> Option<usize> {
        if let Link::Tcp(stream) = &link.0 {
            graphite_driver::send_queue(stream)
        } else {
            None
        }
    }

    fn peer_closed(link: &mut StdLink) -> Option<io::Error> {
        link.0.peer_closed()
    }

    fn shutdown(link: &mut StdLink) -> io::Result<()> {
        link.0.shutdown()
    }
}

/// Resolves the host afresh and connects to each address in turn.
fn connect(target: &Target, protocol: Protocol, timeout: Duration) -> Result<Link, SendError> {
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| SendError::resolve_failed(&target.host, e))?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in &addrs {
        match connect_one(*addr, protocol, timeout) {
            Ok(link) => return Ok(link),
            Err(e) => last = e,
        }
    }
    Err(SendError::connect_failed(
        &target.host,
        target.port,
        &addrs,
        last,
    ))
}

fn connect_one(addr: SocketAddr, protocol: Protocol, timeout: Duration) -> io::Result<Link> {
    if protocol.is_stream() {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        return Ok(Link::Tcp(stream));
    }
    let socket = UdpSocket::bind(graphite_driver::unspecified_for(addr))?;
    socket.connect(addr)?;
    Ok(Link::Udp(socket))
}

impl Link {
    /// Writes some of `bytes` (a datagram whole), waiting at most `limit`:
    /// a time-out is a `WouldBlock` or `TimedOut` error.
    fn write(&mut self, bytes: &[u8], limit: Duration) -> io::Result<usize> {
        let limit = Some(limit.max(Duration::from_millis(1)));
        match self {
            Self::Tcp(stream) => {
                stream.set_write_timeout(limit)?;
                stream.write(bytes)
            }
            Self::Udp(socket) => {
                socket.set_write_timeout(limit)?;
                socket.send(bytes)
            }
            Self::Custom(stream) => stream.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Custom(stream) => stream.flush(),
            _ => Ok(()),
        }
    }

    /// The error that says the peer has closed the connection, checked
    /// without waiting; `None` while it is open (or cannot tell). Carbon
    /// never sends anything, so bytes read are discarded.
    fn peer_closed(&mut self) -> Option<io::Error> {
        let Self::Tcp(stream) = self else {
            return None;
        };
        if let Err(e) = stream.set_nonblocking(true) {
            return Some(e);
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
        closed.or_else(|| stream.set_nonblocking(false).err())
    }

    /// Flushes and shuts the write side down. A stream you brought has no
    /// shutdown in std's terms: it is flushed, and closes when dropped.
    fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Self::Tcp(stream) => stream.shutdown(Shutdown::Write),
            Self::Udp(_) => Ok(()),
            Self::Custom(stream) => stream.flush(),
        }
    }
}
