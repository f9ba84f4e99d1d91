//! Send metrics to Graphite's carbon from plain threads, over std::net.
//!
//! ```no_run
//! let mut client = graphite_blocking::connect("localhost", None, graphite_blocking::Protocol::Plaintext)?;
//! client.send("servers.web1.cpu", 0.25, None)?;
//! client.close()?;
//! # Ok::<(), graphite_blocking::SendError>(())
//! ```
//!
//! Two ways to send:
//! - [`Client`]: aiographite's API (`connect`, `send`, `send_multiple`,
//!   `close`), each call writing at once with typed errors.
//! - [`Sender`]: a cloneable handle whose `send` never blocks on the
//!   network; a background thread batches, reconnects, replays and counts:
//!   `Sender::spawn(graphite_blocking::runtime(), host, port, config)`, and
//!   the `_blocking` forms of its waits.
//!
//! This crate is the std::net seam ([`Std`]: sockets with writes bounded
//! in time, a thread per sender) and nothing else: the decisions live in
//! [`graphite_proto`], the senders, the drive loop and the client in
//! [`graphite_driver`], where the types re-exported here are documented.
#![warn(missing_docs)]

mod net;

use std::sync::Arc;

pub use graphite_driver::BlockingClient as Client;
pub use graphite_driver::types::*;
pub use net::{ByoStream, Std, WRITE_SLICE, link_from_stream};

/// [`Std`] as the runtime value senders and clients take.
pub fn runtime() -> Arc<dyn Runtime> {
    Arc::new(Std)
}

/// Connects to carbon at `host:port`; `port: None` uses the protocol's
/// default. See [`Client`].
pub fn connect(
    host: &str,
    port: impl Into<Option<u16>>,
    protocol: Protocol,
) -> Result<Client, SendError> {
    Client::connect(runtime(), host, port, protocol)
}
