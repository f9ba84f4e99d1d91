//! Connecting: resolve afresh, try every address in turn, each within the
//! connect timeout.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use futures_lite::FutureExt;
use graphite_proto::Protocol;
use graphite_proto::client::SendError;

use crate::{Link, Runtime};

/// Resolves `host` (addresses change across restarts) and connects to each
/// address in turn, IPv6 and IPv4 alike, until one works.
pub(crate) async fn connect(
    runtime: &dyn Runtime,
    host: &str,
    port: u16,
    protocol: Protocol,
    timeout: Duration,
) -> Result<Box<dyn Link>, SendError> {
    let addrs = runtime
        .resolve(host, port)
        .await
        .map_err(|e| SendError::resolve_failed(host, e))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in &addrs {
        let connecting = if protocol.is_stream() {
            runtime.connect_tcp(*addr, timeout)
        } else {
            runtime.connect_udp(unspecified_for(*addr), *addr)
        };
        let attempt = async { Some(connecting.await) };
        let limit = async {
            runtime.sleep_until(runtime.now() + timeout).await;
            None
        };
        match attempt.or(limit).await {
            Some(Ok(link)) => return Ok(link),
            Some(Err(e)) => last = e,
            None => {
                last = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connect timed out after {timeout:?}"),
                );
            }
        }
    }
    Err(SendError::connect_failed(host, port, &addrs, last))
}

/// The unspecified local address of `addr`'s family, to bind a UDP socket
/// that then connects to `addr`.
fn unspecified_for(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
    }
}
