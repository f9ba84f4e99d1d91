//! The four runtimes behind one synchronous face, for the shared behaviour
//! suite, the real-carbon suites and the comparison bench, which run the
//! same code against every adapter.

use std::time::Duration;

use graphite_driver::SpawnError;
use graphite_proto::Datapoint;
use graphite_proto::client::{ClientConfig, SendError};
use graphite_proto::sender::{PushError, PushManyError, SenderConfig, Stats};

/// Which adapter, on which executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// `graphite-tokio`.
    Tokio,
    /// `graphite-async-std` under the async-std executor.
    AsyncStd,
    /// `graphite-async-std` under smol.
    Smol,
    /// `graphite-blocking`.
    Blocking,
}

impl Runtime {
    /// Every runtime.
    pub const ALL: [Self; 4] = [Self::Tokio, Self::AsyncStd, Self::Smol, Self::Blocking];

    /// Its name, as the CLI's `--runtime` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tokio => "tokio",
            Self::AsyncStd => "async-std",
            Self::Smol => "smol",
            Self::Blocking => "blocking",
        }
    }
}

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

fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

fn async_std_block_on<F: Future>(f: F) -> F::Output {
    async_std::task::block_on(f)
}

/// A direct client on any runtime.
pub enum AnyClient {
    /// tokio, with the runtime it runs on.
    Tokio(graphite_tokio::Client, tokio::runtime::Runtime),
    /// async-std's executor.
    AsyncStd(graphite_async_std::Client),
    /// smol's executor.
    Smol(graphite_async_std::Client),
    /// Plain threads.
    Blocking(graphite_blocking::Client),
}

impl AnyClient {
    /// Connects with `config` to `host:port`.
    pub fn connect(
        runtime: Runtime,
        host: &str,
        port: u16,
        config: ClientConfig,
    ) -> Result<Self, RuntimeError> {
        Ok(match runtime {
            Runtime::Tokio => {
                let rt = tokio_runtime()?;
                let client =
                    rt.block_on(graphite_tokio::Client::connect_with(host, port, config))?;
                Self::Tokio(client, rt)
            }
            Runtime::AsyncStd => Self::AsyncStd(async_std_block_on(
                graphite_async_std::Client::connect_with(host, port, config),
            )?),
            Runtime::Smol => Self::Smol(smol::block_on(graphite_async_std::Client::connect_with(
                host, port, config,
            ))?),
            Runtime::Blocking => {
                Self::Blocking(graphite_blocking::Client::connect_with(host, port, config)?)
            }
        })
    }

    /// A client over a TCP stream connected here (the adapters' "bring your
    /// own stream" constructor).
    pub fn from_stream(
        runtime: Runtime,
        addr: std::net::SocketAddr,
        config: ClientConfig,
    ) -> Result<Self, RuntimeError> {
        Ok(match runtime {
            Runtime::Tokio => {
                let rt = tokio_runtime()?;
                let stream = rt.block_on(tokio::net::TcpStream::connect(addr))?;
                Self::Tokio(graphite_tokio::Client::from_stream(stream, config), rt)
            }
            Runtime::AsyncStd | Runtime::Smol => {
                let stream = smol::block_on(async_net::TcpStream::connect(addr))?;
                let client = graphite_async_std::Client::from_stream(stream, config);
                if runtime == Runtime::Smol {
                    Self::Smol(client)
                } else {
                    Self::AsyncStd(client)
                }
            }
            Runtime::Blocking => {
                let stream = std::net::TcpStream::connect(addr)?;
                Self::Blocking(graphite_blocking::Client::from_stream(stream, config))
            }
        })
    }

    /// `send(metric, value, timestamp)` with a textual name.
    pub fn send(
        &mut self,
        metric: &str,
        value: graphite_proto::Value,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        match self {
            Self::Tokio(c, rt) => rt.block_on(c.send(metric, value, timestamp)),
            Self::AsyncStd(c) => async_std_block_on(c.send(metric, value, timestamp)),
            Self::Smol(c) => smol::block_on(c.send(metric, value, timestamp)),
            Self::Blocking(c) => c.send(metric, value, timestamp),
        }
    }

    /// `send_multiple` of built datapoints.
    pub fn send_multiple(&mut self, batch: Vec<Datapoint>) -> Result<(), SendError> {
        match self {
            Self::Tokio(c, rt) => rt.block_on(c.send_multiple(batch, None)),
            Self::AsyncStd(c) => async_std_block_on(c.send_multiple(batch, None)),
            Self::Smol(c) => smol::block_on(c.send_multiple(batch, None)),
            Self::Blocking(c) => c.send_multiple(batch, None),
        }
    }

    /// `close()`.
    pub fn close(self) -> Result<(), SendError> {
        match self {
            Self::Tokio(c, rt) => rt.block_on(c.close()),
            Self::AsyncStd(c) => async_std_block_on(c.close()),
            Self::Smol(c) => smol::block_on(c.close()),
            Self::Blocking(c) => c.close(),
        }
    }
}

/// A background sender on any runtime.
pub enum AnySender {
    /// tokio, with the runtime its task runs on (dropped after the sender,
    /// so that the last handle's flush can still run).
    Tokio(graphite_tokio::Sender, tokio::runtime::Runtime),
    /// Task on async-std's executor.
    AsyncStd(graphite_async_std::Sender),
    /// Task on smol's global executor.
    Smol(graphite_async_std::Sender),
    /// Background thread.
    Blocking(graphite_blocking::Sender),
}

impl AnySender {
    /// Starts a sender towards `host:port`.
    pub fn spawn(
        runtime: Runtime,
        host: &str,
        port: u16,
        config: SenderConfig,
    ) -> Result<Self, RuntimeError> {
        Ok(match runtime {
            Runtime::Tokio => {
                let rt = tokio_runtime()?;
                let sender = {
                    let _guard = rt.enter();
                    graphite_tokio::Sender::spawn(host, port, config)?
                };
                Self::Tokio(sender, rt)
            }
            Runtime::AsyncStd => {
                let (sender, task) = graphite_async_std::Sender::start(host, port, config)?;
                async_std::task::spawn(task);
                Self::AsyncStd(sender)
            }
            Runtime::Smol => {
                let (sender, task) = graphite_async_std::Sender::start(host, port, config)?;
                smol::spawn(task).detach();
                Self::Smol(sender)
            }
            Runtime::Blocking => {
                Self::Blocking(graphite_blocking::Sender::spawn(host, port, config)?)
            }
        })
    }

    /// `push` of a built datapoint: never waits.
    pub fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        match self {
            Self::Tokio(s, _) => s.push(dp),
            Self::AsyncStd(s) | Self::Smol(s) => s.push(dp),
            Self::Blocking(s) => s.push(dp),
        }
    }

    /// `push_many`: a slice under one lock; never waits.
    pub fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        match self {
            Self::Tokio(s, _) => s.push_many(batch),
            Self::AsyncStd(s) | Self::Smol(s) => s.push_many(batch),
            Self::Blocking(s) => s.push_many(batch),
        }
    }

    /// `send` with a textual name.
    pub fn send(
        &self,
        metric: &str,
        value: graphite_proto::Value,
        timestamp: Option<i64>,
    ) -> Result<(), PushError> {
        match self {
            Self::Tokio(s, _) => s.send(metric, value, timestamp),
            Self::AsyncStd(s) | Self::Smol(s) => s.send(metric, value, timestamp),
            Self::Blocking(s) => s.send(metric, value, timestamp),
        }
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        match self {
            Self::Tokio(s, _) => s.stats(),
            Self::AsyncStd(s) | Self::Smol(s) => s.stats(),
            Self::Blocking(s) => s.stats(),
        }
    }

    /// `flush(timeout)`.
    pub fn flush(&self, timeout: Duration) -> Stats {
        match self {
            Self::Tokio(s, rt) => rt.block_on(s.flush(timeout)),
            Self::AsyncStd(s) => async_std_block_on(s.flush(timeout)),
            Self::Smol(s) => smol::block_on(s.flush(timeout)),
            Self::Blocking(s) => s.flush(timeout),
        }
    }

    /// `close(timeout)`.
    pub fn close(&self, timeout: Duration) -> Stats {
        match self {
            Self::Tokio(s, rt) => rt.block_on(s.close(timeout)),
            Self::AsyncStd(s) => async_std_block_on(s.close(timeout)),
            Self::Smol(s) => smol::block_on(s.close(timeout)),
            Self::Blocking(s) => s.close(timeout),
        }
    }
}
