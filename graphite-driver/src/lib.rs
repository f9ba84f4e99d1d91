//! What graphite-rs's runtimes share above the sans-IO core
//! ([`graphite_proto`]), written once:
//!
//! - [`Sender`]: the background sender (a bounded buffer, batching,
//!   reconnects, replay, exact accounting), driven by one loop on any
//!   runtime;
//! - [`RoutedSender`]: one sender per carbon destination, datapoints routed
//!   by series over a consistent-hash ring ([`graphite_proto::router`]);
//! - [`Sink`]: the object-safe trait both implement, for code that sends
//!   without naming a runtime;
//! - [`Client`] and [`BlockingClient`]: aiographite's direct client.
//!
//! A runtime is a value, `Arc<dyn Runtime>`: a clock, timers, spawning,
//! name resolution and connecting ([`Runtime`], [`Link`]). No public type is
//! generic over it. `graphite-tokio`, `graphite-async-std` (async-std and
//! smol) and `graphite-blocking` (plain threads, through the small
//! executor in [`thread`]) each implement it and nothing else; the
//! `testing` feature adds a simulated runtime with a manual clock and an
//! in-memory carbon.
//!
//! ```
//! use std::sync::Arc;
//! use graphite_driver::{Runtime, Sender, Sink};
//! use graphite_proto::{Protocol, sender::SenderConfig};
//!
//! fn start(runtime: Arc<dyn Runtime>) -> Result<Arc<dyn Sink>, Box<dyn std::error::Error>> {
//!     let sender = Sender::spawn(runtime, "localhost", 2003, SenderConfig::new(Protocol::Plaintext))?;
//!     sender.send("app.started", 1, None)?;
//!     Ok(Arc::new(sender))
//! }
//! ```
#![warn(missing_docs)]

mod blocking_client;
mod client;
mod connect;
#[cfg(feature = "counters")]
mod counters;
mod driver;
mod handle;
mod lanes;
mod routed;
mod runtime;
mod send_queue;
mod sender;
mod sink;
mod spool_log;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod thread;

#[cfg(test)]
mod lanes_tests;
#[cfg(test)]
mod spool_tests;
#[cfg(test)]
mod tests;

/// ARCHITECTURE.md's calling contract, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../ARCHITECTURE.md")]
struct ArchitectureExamples;

use std::time::{SystemTime, UNIX_EPOCH};

pub use blocking_client::BlockingClient;
pub use client::Client;
#[cfg(feature = "counters")]
pub use counters::DriverCounters;
pub use handle::DROP_FLUSH_TIMEOUT;
pub use routed::RoutedSender;
pub use runtime::{BoxFuture, Connecting, Link, Runtime, Spawned};
pub use send_queue::send_queue;
pub use sender::{Sender, SenderTask};
pub use sink::Sink;
pub use spool_log::SpoolError;

use graphite_proto::Protocol;
use graphite_proto::sender::ConfigError;

/// The types in the driver's public signatures, for adapters to re-export
/// (`pub use graphite_driver::types::*`), so that one crate's docs and
/// imports are enough.
pub mod types {
    pub use crate::{
        BlockingClient, BoxFuture, Client, Connecting, Link, RoutedSender, Runtime, Sender,
        SenderTask, Sink, SpawnError, Spawned, SpoolError, Target,
    };
    pub use graphite_proto::client::{
        ClientConfig, EncodeError, IntoItem, IntoMetricPath, IntoValue, SendError,
    };
    pub use graphite_proto::ring::{
        Compat, Destination, HashKey, HashType, Ring, RingConfig, RingError,
    };
    pub use graphite_proto::router::{Failover, RoutedStats};
    pub use graphite_proto::sender::{
        Backoff, ConfigError, Dropped, OverflowPolicy, PushError, PushManyError, ReplayWindow,
        SenderConfig, Spool, Stats,
    };
    pub use graphite_proto::{self as proto, Datapoint, MetricPath, Naming, Protocol, Value};
}

/// Why a sender could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The configuration cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// There is no runtime to spawn on (tokio: called outside a runtime; a
    /// runtime that cannot spawn by itself: use `Sender::start`).
    #[error("no runtime to spawn the sender on: {0}")]
    NoRuntime(String),
    /// The operating system refused a thread.
    #[error("cannot start the sender thread: {0}")]
    Thread(#[from] std::io::Error),
    /// The ring of a routed sender cannot be built.
    #[error(transparent)]
    Ring(#[from] graphite_proto::ring::RingError),
    /// The configured spool directory cannot be used.
    #[error(transparent)]
    Spool(#[from] SpoolError),
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
