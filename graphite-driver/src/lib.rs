//! What graphite-rs's adapters share above the sans-IO core
//! ([`graphite_proto`]), written once:
//!
//! - [`Handle`]: the sender handle every adapter wraps (the core behind a
//!   lock, the handle count, push and send, the waits for room, a flush and
//!   the close), on `event-listener`, which works under any executor and
//!   in a blocking wait.
//! - [`Sender`] and [`Client`] for any async [`Runtime`], with the drive
//!   loop that executes the core's outputs.
//!
//! - [`BlockingSender`] and [`BlockingClient`] for plain threads over any
//!   [`BlockingRuntime`], with the thread's drive loop.
//! - [`RoutedSender`] and [`BlockingRoutedSender`]: one sender per carbon
//!   destination, datapoints routed by series over a consistent-hash ring
//!   ([`graphite_proto::router`]).
//!
//! A runtime supplies a timer, name resolution and a handful of socket
//! operations ([`Runtime`], [`BlockingRuntime`]); `graphite-tokio`,
//! `graphite-async-std` and `graphite-blocking` are little more than that.
//!
//! ```
//! use graphite_driver::{Handle, channel};
//! use graphite_proto::{Protocol, sender::SenderConfig};
//!
//! let (handle, _driver) = channel(SenderConfig::new(Protocol::Plaintext))?;
//! handle.send("app.requests", 1, None)?;
//! assert_eq!(handle.stats().accepted, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

#[macro_use]
mod surface;
mod blocking;
mod client;
mod connect;
mod driver;
mod handle;
mod routed;
mod runtime;
mod send_queue;
mod sender;

use std::time::{SystemTime, UNIX_EPOCH};

pub use blocking::{BlockingClient, BlockingRuntime, BlockingSender};
pub use client::Client;
pub use event_listener::{EventListener, Listener};
pub use handle::{DROP_FLUSH_TIMEOUT, Driver, Handle, Turn, channel};
pub use routed::{BlockingRoutedSender, RoutedSender};
pub use runtime::{Runtime, Spawn, WrapStream};
pub use send_queue::send_queue;
pub use sender::{Sender, SenderTask};

use graphite_proto::Protocol;
use graphite_proto::sender::ConfigError;

/// The types in the adapters' public signatures: each adapter re-exports
/// them all (`pub use graphite_driver::types::*`), so one crate's docs and
/// imports are enough.
pub mod types {
    pub use crate::{SpawnError, Target};
    pub use graphite_proto::client::{
        ClientConfig, EncodeError, IntoItem, IntoMetricPath, IntoValue, SendError,
    };
    pub use graphite_proto::ring::{
        Compat, Destination, HashKey, HashType, Ring, RingConfig, RingError,
    };
    pub use graphite_proto::router::{Failover, RoutedStats};
    pub use graphite_proto::sender::{
        Backoff, ConfigError, Dropped, OverflowPolicy, PushError, PushManyError, ReplayWindow,
        SenderConfig, Stats,
    };
    pub use graphite_proto::{self as proto, Datapoint, MetricPath, Naming, Protocol, Value};
}

/// Names an async adapter's `Client`, `Sender` and `connect` for its
/// [`Runtime`] (`$runtime`, described as `$on` in the docs).
#[macro_export]
macro_rules! async_adapter {
    ($runtime:ident, $on:literal) => {
        #[doc = concat!("aiographite's direct client on ", $on, ": see [`graphite_driver::Client`].")]
        pub type Client = $crate::Client<$runtime>;

        #[doc = concat!("The background sender on ", $on, ": see [`graphite_driver::Sender`].")]
        pub type Sender = $crate::Sender<$runtime>;

        #[doc = concat!("One background sender per carbon destination, routed by a consistent-hash ring, on ", $on, ": see [`graphite_driver::RoutedSender`].")]
        pub type RoutedSender = $crate::RoutedSender<$runtime>;

        /// Connects to carbon at `host:port`; `port: None` uses the
        /// protocol's default. See [`Client`].
        pub async fn connect(
            host: &str,
            port: impl Into<Option<u16>>,
            protocol: $crate::types::Protocol,
        ) -> Result<Client, $crate::types::SendError> {
            Client::connect(host, port, protocol).await
        }
    };
}

/// Names a blocking adapter's `Client`, `Sender` and `connect` for its
/// [`BlockingRuntime`] (`$runtime`, described as `$on` in the docs).
#[macro_export]
macro_rules! blocking_adapter {
    ($runtime:ident, $on:literal) => {
        #[doc = concat!("aiographite's direct client over ", $on, ": see [`graphite_driver::BlockingClient`].")]
        pub type Client = $crate::BlockingClient<$runtime>;

        #[doc = concat!("The background sender on a thread, over ", $on, ": see [`graphite_driver::BlockingSender`].")]
        pub type Sender = $crate::BlockingSender<$runtime>;

        #[doc = concat!("One background sender thread per carbon destination, routed by a consistent-hash ring, over ", $on, ": see [`graphite_driver::BlockingRoutedSender`].")]
        pub type RoutedSender = $crate::BlockingRoutedSender<$runtime>;

        /// Connects to carbon at `host:port`; `port: None` uses the
        /// protocol's default. See [`Client`].
        pub fn connect(
            host: &str,
            port: impl Into<Option<u16>>,
            protocol: $crate::types::Protocol,
        ) -> Result<Client, $crate::types::SendError> {
            Client::connect(host, port, protocol)
        }
    };
}

/// The unspecified local address of `addr`'s family, to bind a UDP socket
/// that then connects to `addr`.
pub fn unspecified_for(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    use std::net::{Ipv4Addr, Ipv6Addr};
    match addr {
        std::net::SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        std::net::SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
    }
}

/// Why a sender could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The configuration cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// There is no runtime to spawn on (tokio: called outside a runtime).
    #[error("no runtime to spawn the sender on: {0}")]
    NoRuntime(String),
    /// The operating system refused a thread.
    #[error("cannot start the sender thread: {0}")]
    Thread(#[from] std::io::Error),
    /// The ring of a routed sender cannot be built.
    #[error(transparent)]
    Ring(#[from] graphite_proto::ring::RingError),
}

/// Where to connect: a host, resolved afresh at each connection, and a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Target {
    /// `host:port`, `port: None` meaning the protocol's default port.
    pub fn new(host: &str, port: impl Into<Option<u16>>, protocol: Protocol) -> Self {
        Self {
            host: host.to_owned(),
            port: port.into().unwrap_or(protocol.default_port()),
        }
    }
}

/// Seconds since the Unix epoch, for datapoints sent without a timestamp.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
