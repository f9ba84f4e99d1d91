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
//!   everything.
//!
//! This crate is the tokio seam ([`Tokio`]: sockets, timers, spawning) and
//! nothing else: the decisions live in [`graphite_proto`], the handle, the
//! drive loop and the client in [`graphite_driver`].
#![warn(missing_docs)]

mod link;

pub use graphite_driver::types::*;
pub use link::{ByoStream, Tokio, TokioLink};

graphite_driver::async_adapter!(Tokio, "tokio");
