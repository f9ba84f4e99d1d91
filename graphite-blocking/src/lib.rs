//! Send metrics to Graphite's carbon from plain threads, over std::net.
//!
//! ```no_run
//! let mut client = graphite_blocking::connect("localhost", None, graphite_blocking::Protocol::Plaintext)?;
//! client.send("servers.web1.cpu", 0.25, None)?;
//! # Ok::<(), graphite_blocking::SendError>(())
//! ```
//!
//! Two ways to send:
//! - [`Client`]: aiographite's API (`connect`, `send`, `send_multiple`,
//!   `close`), each call writing at once with typed errors.
//! - [`Sender`]: a cloneable handle whose `send` never blocks on the
//!   network; a background thread batches, reconnects, replays and counts.
//!
//! This crate owns the sockets and the thread, nothing else: the decisions
//! live in [`graphite_proto`], the shared handle in [`graphite_driver`].
#![warn(missing_docs)]

mod client;
mod net;
mod sender;

pub use client::{Client, connect};
pub use graphite_driver::{SpawnError, Target};
pub use graphite_proto::client::{
    ClientConfig, EncodeError, IntoItem, IntoMetricPath, IntoValue, SendError,
};
pub use graphite_proto::sender::{
    Backoff, ConfigError, Dropped, OverflowPolicy, PushError, PushManyError, ReplayWindow,
    SenderConfig, Stats,
};
pub use graphite_proto::{self as proto, Datapoint, MetricPath, Naming, Protocol, Value};
pub use net::ByoStream;
pub use sender::Sender;
