//! Send metrics to Graphite's carbon from async-std or smol.
//!
//! Built on futures-io and the async-io reactor (through async-net), which
//! both executors share, so one crate serves both; it depends on neither
//! (async-std is discontinued, RUSTSEC-2025-0052, and is only used here to
//! test under its executor).
//!
//! ```no_run
//! # fn main() -> Result<(), graphite_async_std::SendError> {
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
//!   network. `Sender::spawn` runs its task on the executor given to
//!   [`AsyncIo::with_spawner`]; `Sender::start` hands you the task instead.
//!
//! This crate is the futures-io seam ([`AsyncIo`]: sockets and timers) and
//! nothing else: the decisions live in [`graphite_proto`], the senders, the
//! drive loop and the client in [`graphite_driver`], where the types
//! re-exported here are documented.
#![warn(missing_docs)]

mod link;

use std::sync::Arc;

pub use graphite_driver::types::*;
pub use link::{AsyncIo, ByoStream, link_from_stream};

/// [`AsyncIo`] without an executor, as the runtime value senders and
/// clients take (enough for the client and `Sender::start`).
pub fn runtime() -> Arc<dyn Runtime> {
    Arc::new(AsyncIo::new())
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
