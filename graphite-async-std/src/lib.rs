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
//!   network, with a [`SenderTask`] you spawn on your executor.
//!
//! This crate is the futures-io seam ([`AsyncIo`]: sockets and timers) and
//! nothing else: the decisions live in [`graphite_proto`], the handle, the
//! drive loop and the client in [`graphite_driver`].
#![warn(missing_docs)]

mod link;

pub use graphite_driver::SenderTask;
pub use graphite_driver::types::*;
pub use link::{AsyncIo, AsyncIoLink, ByoStream};

graphite_driver::async_adapter!(AsyncIo, "async-std or smol");
