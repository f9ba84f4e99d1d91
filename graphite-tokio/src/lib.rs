//! Send metrics to Graphite's carbon from tokio.
//!
//! ```no_run
//! # async fn demo() -> Result<(), graphite_proto::client::SendError> {
//! let mut client = graphite_tokio::connect("localhost", None, graphite_tokio::Protocol::Pickle).await?;
//! client.send("servers.web1.cpu", 0.25, None).await?;
//! # Ok(()) }
//! ```
//!
//! Two ways to send:
//! - [`Client`]: aiographite's API (`connect`, `send`, `send_multiple`,
//!   `close`). Each call writes at once and reports typed errors, including
//!   how much of a batch was written when a write fails.
//! - [`Sender`]: a cheap cloneable handle whose `send` never waits for the
//!   network; a background task batches, reconnects, replays and counts
//!   everything (see `graphite_proto::sender`).
//!
//! Both are thin: validation, encoding, batching, backoff and accounting
//! live in [`graphite_proto`]; this crate owns the sockets and the task.
#![warn(missing_docs)]

mod client;
mod net;
mod sender;

pub use client::{Client, connect};
pub use graphite_proto::client::{ClientConfig, SendError};
pub use graphite_proto::sender::{OverflowPolicy, ReplayWindow, SenderConfig, Stats};
pub use graphite_proto::{self as proto, Datapoint, MetricPath, Protocol, Value};
pub use net::ByoStream;
pub use sender::Sender;
