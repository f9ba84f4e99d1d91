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

pub use graphite_driver::{SpawnError, Target};
pub use graphite_proto::client::{
    ClientConfig, EncodeError, IntoItem, IntoMetricPath, IntoValue, SendError,
};
pub use graphite_proto::sender::{
    Backoff, ConfigError, Dropped, OverflowPolicy, PushError, PushManyError, ReplayWindow,
    SenderConfig, Stats,
};
pub use graphite_proto::{self as proto, Datapoint, MetricPath, Naming, Protocol, Value};
pub use net::{ByoStream, Std, StdLink};

/// aiographite's direct client over std::net.
///
/// ```no_run
/// use graphite_blocking::{Client, ClientConfig, Protocol};
///
/// let config = ClientConfig::new(Protocol::Pickle).with_prefix("prod")?;
/// let mut client = Client::connect_with("localhost", None, config)?;
/// client.send_multiple([("web1.mem", 512_u64), ("web1.disk", 77)], None)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Client = graphite_driver::BlockingClient<Std>;

/// The background sender on its own thread.
///
/// ```no_run
/// use std::time::Duration;
/// use graphite_blocking::{Protocol, Sender, SenderConfig};
///
/// let sender = Sender::spawn("localhost", None, SenderConfig::new(Protocol::Plaintext))?;
/// sender.send("app.requests", 1, None)?;
/// let stats = sender.close(Duration::from_secs(5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Sender = graphite_driver::BlockingSender<Std>;

/// Connects to carbon at `host:port`; `port: None` uses the protocol's
/// default. See [`Client`].
pub fn connect(
    host: &str,
    port: impl Into<Option<u16>>,
    protocol: Protocol,
) -> Result<Client, SendError> {
    Client::connect(host, port, protocol)
}
