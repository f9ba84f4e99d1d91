//! The four runtimes behind one synchronous face, so that one behaviour
//! suite runs against every adapter (tokio, async-std, smol, blocking).

use std::time::Duration;

use graphite_proto::Datapoint;
use graphite_proto::client::{ClientConfig, SendError};
use graphite_proto::sender::{PushError, SenderConfig, Stats};

/// An adapter under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    /// `graphite-tokio`.
    Tokio,
    /// `graphite-async-std` under the async-std executor.
    AsyncStd,
    /// `graphite-async-std` under smol.
    Smol,
    /// `graphite-blocking`.
    Blocking,
}

impl Adapter {
    /// Every adapter.
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

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A direct client of any adapter.
pub enum TestClient {
    /// tokio, with the runtime it runs on.
    Tokio(tokio::runtime::Runtime, graphite_tokio::Client),
    /// async-std's executor.
    AsyncStd(graphite_async_std::Client),
    /// smol's executor.
    Smol(graphite_async_std::Client),
    /// Plain threads.
    Blocking(graphite_blocking::Client),
}

impl TestClient {
    /// Connects with `config` to `host:port`.
    pub fn connect(
        adapter: Adapter,
        host: &str,
        port: u16,
        config: ClientConfig,
    ) -> Result<Self, SendError> {
        Ok(match adapter {
            Adapter::Tokio => {
                let rt = tokio_runtime();
                let client =
                    rt.block_on(graphite_tokio::Client::connect_with(host, port, config))?;
                Self::Tokio(rt, client)
            }
            Adapter::AsyncStd => Self::AsyncStd(async_std::task::block_on(
                graphite_async_std::Client::connect_with(host, port, config),
            )?),
            Adapter::Smol => Self::Smol(smol::block_on(graphite_async_std::Client::connect_with(
                host, port, config,
            ))?),
            Adapter::Blocking => {
                Self::Blocking(graphite_blocking::Client::connect_with(host, port, config)?)
            }
        })
    }

    /// A client over a TCP stream the test connected itself (the "bring
    /// your own stream" constructor).
    pub fn from_stream(adapter: Adapter, addr: std::net::SocketAddr, config: ClientConfig) -> Self {
        match adapter {
            Adapter::Tokio => {
                let rt = tokio_runtime();
                let stream = rt
                    .block_on(tokio::net::TcpStream::connect(addr))
                    .expect("connect");
                Self::Tokio(rt, graphite_tokio::Client::from_stream(stream, config))
            }
            Adapter::AsyncStd | Adapter::Smol => {
                let stream = smol::block_on(async_net::TcpStream::connect(addr)).expect("connect");
                let client = graphite_async_std::Client::from_stream(stream, config);
                if adapter == Adapter::Smol {
                    Self::Smol(client)
                } else {
                    Self::AsyncStd(client)
                }
            }
            Adapter::Blocking => {
                let stream = std::net::TcpStream::connect(addr).expect("connect");
                Self::Blocking(graphite_blocking::Client::from_stream(stream, config))
            }
        }
    }

    /// `send(metric, value, timestamp)` with a textual name.
    pub fn send(
        &mut self,
        metric: &str,
        value: graphite_proto::Value,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        match self {
            Self::Tokio(rt, c) => rt.block_on(c.send(metric, value, timestamp)),
            Self::AsyncStd(c) => async_std::task::block_on(c.send(metric, value, timestamp)),
            Self::Smol(c) => smol::block_on(c.send(metric, value, timestamp)),
            Self::Blocking(c) => c.send(metric, value, timestamp),
        }
    }

    /// `send_multiple` of built datapoints.
    pub fn send_multiple(&mut self, batch: Vec<Datapoint>) -> Result<(), SendError> {
        match self {
            Self::Tokio(rt, c) => rt.block_on(c.send_multiple(batch, None)),
            Self::AsyncStd(c) => async_std::task::block_on(c.send_multiple(batch, None)),
            Self::Smol(c) => smol::block_on(c.send_multiple(batch, None)),
            Self::Blocking(c) => c.send_multiple(batch, None),
        }
    }

    /// `close()`.
    pub fn close(self) -> Result<(), SendError> {
        match self {
            Self::Tokio(rt, c) => rt.block_on(c.close()),
            Self::AsyncStd(c) => async_std::task::block_on(c.close()),
            Self::Smol(c) => smol::block_on(c.close()),
            Self::Blocking(c) => c.close(),
        }
    }
}

/// A background sender of any adapter.
pub enum TestSender {
    /// tokio, with the runtime its task runs on.
    Tokio(tokio::runtime::Runtime, graphite_tokio::Sender),
    /// Task on async-std's executor.
    AsyncStd(graphite_async_std::Sender),
    /// Task on smol's global executor.
    Smol(graphite_async_std::Sender),
    /// Background thread.
    Blocking(graphite_blocking::Sender),
}

impl TestSender {
    /// Starts a sender towards `host:port`.
    pub fn spawn(adapter: Adapter, host: &str, port: u16, config: SenderConfig) -> Self {
        match adapter {
            Adapter::Tokio => {
                let rt = tokio_runtime();
                let sender = {
                    let _guard = rt.enter();
                    graphite_tokio::Sender::spawn(host, port, config).expect("valid config")
                };
                Self::Tokio(rt, sender)
            }
            Adapter::AsyncStd => {
                let (sender, task) =
                    graphite_async_std::Sender::start(host, port, config).expect("valid config");
                async_std::task::spawn(task);
                Self::AsyncStd(sender)
            }
            Adapter::Smol => {
                let (sender, task) =
                    graphite_async_std::Sender::start(host, port, config).expect("valid config");
                smol::spawn(task).detach();
                Self::Smol(sender)
            }
            Adapter::Blocking => Self::Blocking(
                graphite_blocking::Sender::spawn(host, port, config).expect("valid config"),
            ),
        }
    }

    /// `push` of a built datapoint: never waits.
    pub fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        match self {
            Self::Tokio(_, s) => s.push(dp),
            Self::AsyncStd(s) | Self::Smol(s) => s.push(dp),
            Self::Blocking(s) => s.push(dp),
        }
    }

    /// `send` with a textual name.
    pub fn send(
        &self,
        metric: &str,
        value: graphite_proto::Value,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        match self {
            Self::Tokio(_, s) => s.send(metric, value, timestamp),
            Self::AsyncStd(s) | Self::Smol(s) => s.send(metric, value, timestamp),
            Self::Blocking(s) => s.send(metric, value, timestamp),
        }
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        match self {
            Self::Tokio(_, s) => s.stats(),
            Self::AsyncStd(s) | Self::Smol(s) => s.stats(),
            Self::Blocking(s) => s.stats(),
        }
    }

    /// `flush(timeout)`.
    pub fn flush(&self, timeout: Duration) -> Stats {
        match self {
            Self::Tokio(rt, s) => rt.block_on(s.flush(timeout)),
            Self::AsyncStd(s) => async_std::task::block_on(s.flush(timeout)),
            Self::Smol(s) => smol::block_on(s.flush(timeout)),
            Self::Blocking(s) => s.flush(timeout),
        }
    }

    /// `close(timeout)`.
    pub fn close(&self, timeout: Duration) -> Stats {
        match self {
            Self::Tokio(rt, s) => rt.block_on(s.close(timeout)),
            Self::AsyncStd(s) => async_std::task::block_on(s.close(timeout)),
            Self::Smol(s) => smol::block_on(s.close(timeout)),
            Self::Blocking(s) => s.close(timeout),
        }
    }
}
