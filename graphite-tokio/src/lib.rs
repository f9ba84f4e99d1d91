//! Send metrics to Graphite's carbon from tokio.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut client = graphite_tokio::connect("localhost", None, graphite_tokio::Protocol::Pickle).await?;
//! client.send("servers.web1.cpu", 0.25, None).await?;
//! client.close().await?;
//! # Ok(()) }
//! ```
//!
//! Two ways to send:
//! - [`Client`]: aiographite's API (`connect`, `send`, `send_multiple`,
//!   `close`). Each call writes at once and reports typed errors, including
//!   how much of a batch was written when a write fails.
//! - [`Sender`]: a cheap cloneable handle whose `send` never waits for the
//!   network; a background task batches, reconnects, replays and counts
//!   everything: `Sender::spawn(graphite_tokio::runtime(), host, port,
//!   config)` inside a tokio runtime ([`RoutedSender`] for several carbons).
//!
//! This crate is the tokio seam ([`Tokio`]: sockets, timers, spawning) and
//! nothing else: the decisions live in [`graphite_proto`], the senders, the
//! drive loop and the client in [`graphite_driver`], where the types
//! re-exported here are documented.
#![warn(missing_docs)]

mod link;

use std::sync::Arc;

pub use graphite_driver::types::*;
pub use link::{ByoStream, Tokio, link_from_stream};

/// [`Tokio`] as the runtime value senders and clients take.
pub fn runtime() -> Arc<dyn Runtime> {
    Arc::new(Tokio)
}

/// Connects to carbon at `host:port`; `port: None` uses the protocol's
/// default. See [`Client`].
pub async fn connect(
    host: &str,
    port: impl Into<Option<u16>>,
    protocol: Protocol,
) -> Result<Client, SendError> {
    Client::connect(runtime(), host, port, protocol).await
}
