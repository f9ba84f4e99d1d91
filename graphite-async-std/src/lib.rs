//! Send metrics to Graphite's carbon from async-std or smol.
//!
//! Built on futures-io and the async-io reactor (through async-net), which
//! both executors share, so one crate serves both; it depends on neither
//! (async-std is discontinued, RUSTSEC-2025-0052, and is only used here to
//! test under its executor).
//!
//! ```no_run
//! # fn main() -> Result<(), graphite_proto::client::SendError> {
//! smol::block_on(async {
//!     let mut client = graphite_async_std::connect("localhost", None, graphite_async_std::Protocol::Plaintext).await?;
//!     client.send("servers.web1.cpu", 0.25, None).await?;
//!     client.close().await
//! })
//! # }
//! ```
//!
//! Two ways to send:
//! - [`Client`]: aiographite's API (`connect`, `send`, `send_multiple`,
//!   `close`), each call writing at once with typed errors.
//! - [`Sender`]: a cloneable handle whose `send` never waits for the
//!   network, with a [`SenderTask`] you spawn on your executor.
//!
//! Validation, encoding, batching, backoff and accounting live in
//! [`graphite_proto`]; this crate owns the sockets and the task.
#![warn(missing_docs)]

mod client;
mod net;
mod sender;

pub use client::{Client, connect};
pub use graphite_proto::client::{ClientConfig, SendError};
pub use graphite_proto::sender::{OverflowPolicy, ReplayWindow, SenderConfig, Stats};
pub use graphite_proto::{self as proto, Datapoint, MetricPath, Protocol, Value};
pub use net::ByoStream;
pub use sender::{Sender, SenderTask};
