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
//!   network; a background thread batches, reconnects, replays and counts.
//!
//! This crate is the std::net seam ([`Std`]: sockets with writes bounded
//! in time) and nothing else: the decisions live in [`graphite_proto`], the
//! handle, the thread's loop and the client in [`graphite_driver`].
#![warn(missing_docs)]

mod net;

pub use graphite_driver::types::*;
pub use net::{ByoStream, Std, StdLink};

graphite_driver::blocking_adapter!(Std, "std::net");
