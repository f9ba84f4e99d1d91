//! Why a direct client's call failed: [`SendError`], [`EncodeError`].

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::path::NameError;
use crate::pickle::PickleEncodeError;
use crate::udp::LineTooLong;
use crate::value::ValueError;

/// Why a `send`, `send_multiple`, `connect` or `close` failed.
///
/// Write failures say how many datapoints of the batch were written whole
/// before the failure (`written`): those may have reached the server, the
/// rest did not. Nothing is retried behind your back, so nothing is
/// duplicated silently: resend the tail (`&items[written..]`) if you wish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A metric name was refused; nothing was written.
    #[error("invalid metric name: {0}")]
    Name(#[from] NameError),
    /// A value was refused; nothing was written.
    #[error("invalid value: {0}")]
    Value(#[from] ValueError),
    /// A datapoint cannot be framed (longer than a datagram, or than the
    /// pickle frame limit); nothing was written.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// No address of the host accepted a connection.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// `host:port` and the addresses tried.
        target: String,
        /// The last address's error.
        source: io::Error,
    },
    /// A write failed.
    #[error("write failed after {written} of {total} datapoints: {source}")]
    Write {
        /// Datapoints written whole before the failure.
        written: usize,
        /// Datapoints in the batch.
        total: usize,
        /// The socket's error.
        source: io::Error,
    },
    /// The server accepted nothing for the write timeout.
    #[error("write timed out after {written} of {total} datapoints ({timeout:?})")]
    WriteTimeout {
        /// Datapoints written whole before the timeout.
        written: usize,
        /// Datapoints in the batch.
        total: usize,
        /// The timeout.
        timeout: Duration,
    },
    /// The server had closed the connection of a client made from a
    /// stream, which cannot reconnect; nothing of this batch was written.
    #[error("server closed the connection; nothing of this batch was written")]
    PeerClosed,
}

impl SendError {
    /// The error of a connection attempt to every address of `host:port`.
    pub fn connect_failed(host: &str, port: u16, addrs: &[SocketAddr], last: io::Error) -> Self {
        Self::Connect {
            target: format!("{host}:{port} ({addrs:?})"),
            source: last,
        }
    }

    /// The error of resolving `host`.
    pub fn resolve_failed(host: &str, source: io::Error) -> Self {
        Self::Resolve {
            host: host.to_owned(),
            source,
        }
    }
}

/// Why a batch cannot be put in wire form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A line is longer than a UDP datagram.
    #[error(transparent)]
    LineTooLong(#[from] LineTooLong),
    /// A datapoint cannot fit in a pickle frame.
    #[error(transparent)]
    Pickle(#[from] PickleEncodeError),
}

impl From<LineTooLong> for SendError {
    fn from(e: LineTooLong) -> Self {
        Self::Encode(e.into())
    }
}

impl From<PickleEncodeError> for SendError {
    fn from(e: PickleEncodeError) -> Self {
        Self::Encode(e.into())
    }
}
