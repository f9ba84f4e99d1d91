//! Connecting: resolve afresh, try every address in turn, each within the
//! connect timeout.

use std::io;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use graphite_proto::Protocol;
use graphite_proto::client::SendError;

use crate::Runtime;

/// Resolves `host` (addresses change across restarts) and connects to each
/// address in turn, IPv6 and IPv4 alike, until one works.
pub(crate) async fn connect<R: Runtime>(
    host: &str,
    port: u16,
    protocol: Protocol,
    timeout: Duration,
) -> Result<R::Link, SendError> {
    let addrs = R::resolve(host, port)
        .await
        .map_err(|e| SendError::resolve_failed(host, e))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in &addrs {
        let attempt = async { Some(R::connect(*addr, protocol).await) };
        let limit = async {
            R::sleep_until(Instant::now() + timeout).await;
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
