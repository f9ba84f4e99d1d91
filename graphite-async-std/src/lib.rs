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

pub use graphite_driver::{SenderTask, SpawnError, Target};
pub use graphite_proto::client::{
    ClientConfig, EncodeError, IntoItem, IntoMetricPath, IntoValue, SendError,
};
pub use graphite_proto::sender::{
    Backoff, ConfigError, Dropped, OverflowPolicy, PushError, PushManyError, ReplayWindow,
    SenderConfig, Stats,
};
pub use graphite_proto::{self as proto, Datapoint, MetricPath, Naming, Protocol, Value};
pub use link::{AsyncIo, AsyncIoLink, ByoStream};

/// aiographite's direct client on async-std or smol.
pub type Client = graphite_driver::Client<AsyncIo>;

/// The background sender as a task for any executor.
///
/// ```no_run
/// use std::time::Duration;
/// use graphite_async_std::{Protocol, Sender, SenderConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (sender, task) = Sender::start("localhost", None, SenderConfig::new(Protocol::Plaintext))?;
/// smol::spawn(task).detach(); // or async_std::task::spawn(task)
/// sender.send("app.requests", 1, None)?;
/// smol::block_on(sender.close(Duration::from_secs(5)));
/// # Ok(()) }
/// ```
pub type Sender = graphite_driver::Sender<AsyncIo>;

/// Connects to carbon at `host:port`; `port: None` uses the protocol's
/// default. See [`Client`].
pub async fn connect(
    host: &str,
    port: impl Into<Option<u16>>,
    protocol: Protocol,
) -> Result<Client, SendError> {
    Client::connect(host, port, protocol).await
}
