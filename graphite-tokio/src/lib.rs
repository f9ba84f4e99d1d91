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

pub use graphite_driver::{SpawnError, Target};
pub use graphite_proto::client::{
    ClientConfig, EncodeError, IntoItem, IntoMetricPath, IntoValue, SendError,
};
pub use graphite_proto::sender::{
    Backoff, ConfigError, Dropped, OverflowPolicy, PushError, PushManyError, ReplayWindow,
    SenderConfig, Stats,
};
pub use graphite_proto::{self as proto, Datapoint, MetricPath, Naming, Protocol, Value};
pub use link::{ByoStream, Tokio, TokioLink};

/// aiographite's direct client on tokio.
///
/// ```no_run
/// # async fn demo() -> Result<(), graphite_tokio::SendError> {
/// use graphite_tokio::{Client, ClientConfig, Protocol};
///
/// let config = ClientConfig::new(Protocol::Plaintext).with_prefix("prod")?;
/// let mut client = Client::connect_with("localhost", None, config).await?;
/// client.send_multiple([("web1.mem", 512_u64), ("web1.disk", 77)], None).await?;
/// # Ok(()) }
/// ```
pub type Client = graphite_driver::Client<Tokio>;

/// The background sender on a tokio task.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use graphite_tokio::{Protocol, Sender, SenderConfig};
///
/// let sender = Sender::spawn("localhost", None, SenderConfig::new(Protocol::Plaintext))?;
/// sender.send("app.requests", 1, None)?; // never waits for the network
/// let stats = sender.close(Duration::from_secs(5)).await;
/// # Ok(()) }
/// ```
pub type Sender = graphite_driver::Sender<Tokio>;

/// Connects to carbon at `host:port`; `port: None` uses the protocol's
/// default. See [`Client`].
pub async fn connect(
    host: &str,
    port: impl Into<Option<u16>>,
    protocol: Protocol,
) -> Result<Client, SendError> {
    Client::connect(host, port, protocol).await
}
