//! Every runtime behind one synchronous face, for the shared behaviour
//! suite, the real-carbon suites and the comparison bench, which run the
//! same code against every adapter. The runtimes come from the CLI's
//! `--runtime` (`graphite_cli::backend`), the one place that names them;
//! past that, a sender is a [`Sink`] and a client is the driver's one
//! [`Client`].

use std::time::Duration;

use graphite_cli::backend::{BackendError, Started};
use graphite_driver::{Client, Sender, Sink, SpawnError};
use graphite_proto::client::{ClientConfig, SendError};
use graphite_proto::sender::{PushError, PushManyError, SenderConfig, Stats};
use graphite_proto::{Datapoint, MetricPath};

/// Which adapter, on which executor (the CLI's `--runtime`).
pub use graphite_cli::backend::Runtime;

/// Why a runtime could not be used.
#[derive(Debug)]
pub enum RuntimeError {
    /// Connecting failed.
    Send(SendError),
    /// The sender could not start.
    Spawn(SpawnError),
    /// A runtime or stream could not be started.
    Start(std::io::Error),
}

impl From<SendError> for RuntimeError {
    fn from(e: SendError) -> Self {
        Self::Send(e)
    }
}

impl From<SpawnError> for RuntimeError {
    fn from(e: SpawnError) -> Self {
        Self::Spawn(e)
    }
}

impl From<std::io::Error> for RuntimeError {
    fn from(e: std::io::Error) -> Self {
        Self::Start(e)
    }
}

impl From<BackendError> for RuntimeError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Spawn(e) => Self::Spawn(e),
            BackendError::Runtime(e) => Self::Start(e),
            other => Self::Start(std::io::Error::other(other)),
        }
    }
}

/// A direct client on any runtime, its calls run to completion on the
/// runtime's executor.
pub struct AnyClient {
    client: Client,
    started: Started,
}

impl AnyClient {
    /// Connects with `config` to `host:port`.
    pub fn connect(
        runtime: Runtime,
        host: &str,
        port: u16,
        config: ClientConfig,
    ) -> Result<Self, RuntimeError> {
        let started = runtime.start()?;
        let client =
            started.block_on(Client::connect_with(started.runtime(), host, port, config))?;
        Ok(Self { client, started })
    }

    /// A client over a TCP stream connected here (the adapters' "bring your
    /// own stream" constructor).
    pub fn from_stream(
        runtime: Runtime,
        addr: std::net::SocketAddr,
        config: ClientConfig,
    ) -> Result<Self, RuntimeError> {
        let started = runtime.start()?;
        let link = started.link_from_tcp(addr)?;
        let client = Client::from_link(started.runtime(), link, config);
        Ok(Self { client, started })
    }

    /// `send(metric, value, timestamp)` with a textual name.
    pub fn send(
        &mut self,
        metric: &str,
        value: graphite_proto::Value,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        self.started
            .block_on(self.client.send(metric, value, timestamp))
    }

    /// `send_multiple` of built datapoints.
    pub fn send_multiple(&mut self, batch: Vec<Datapoint>) -> Result<(), SendError> {
        self.started
            .block_on(self.client.send_multiple(batch, None))
    }

    /// `close()`.
    pub fn close(self) -> Result<(), SendError> {
        self.started.block_on(self.client.close())
    }
}

/// A background sender on any runtime, held as a [`Sink`]; the runtime
/// is dropped after it, so that the last handle's flush can still run.
pub struct AnySender {
    sink: Box<dyn Sink>,
    /// The same sender, for what only it tells (the hand-over counters).
    sender: Sender,
    started: Started,
}

impl AnySender {
    /// Starts a sender towards `host:port`.
    pub fn spawn(
        runtime: Runtime,
        host: &str,
        port: u16,
        config: SenderConfig,
    ) -> Result<Self, RuntimeError> {
        let started = runtime.start()?;
        let sender = started.within(|rt| Sender::spawn(rt, host, port, config))?;
        Ok(Self {
            sink: Box::new(sender.clone()),
            sender,
            started,
        })
    }

    /// Lock acquisitions, driver wake-ups and loop turns so far.
    pub fn driver_counters(&self) -> graphite_driver::DriverCounters {
        self.sender.driver_counters()
    }

    /// The runtime it runs on.
    pub fn runtime(&self) -> Runtime {
        self.started.kind()
    }

    /// The sender, as every caller holds it.
    pub fn sink(&self) -> &dyn Sink {
        &*self.sink
    }

    /// `push` of a built datapoint: never waits.
    pub fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        self.sink.push(dp)
    }

    /// `push_many`: a slice under one lock; never waits.
    pub fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        self.sink.push_many(batch)
    }

    /// `send` with a textual name: an invalid one is refused and counted.
    pub fn send(
        &self,
        metric: &str,
        value: graphite_proto::Value,
        timestamp: Option<i64>,
    ) -> Result<(), PushError> {
        self.sink.send(metric, value, timestamp)
    }

    /// `send` of a name already validated: the work `Sender::send` does
    /// with a [`MetricPath`] (a clone, a datapoint, a push).
    pub fn send_path(
        &self,
        metric: &MetricPath,
        value: graphite_proto::Value,
        timestamp: i64,
    ) -> Result<(), PushError> {
        self.sink
            .push(&Datapoint::new(metric.clone(), value, timestamp))
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.sink.stats()
    }

    /// `flush(timeout)`.
    pub fn flush(&self, timeout: Duration) -> Stats {
        self.sink.flush_blocking(timeout)
    }

    /// `close(timeout)`.
    pub fn close(&self, timeout: Duration) -> Stats {
        self.sink.close_blocking(timeout)
    }
}
