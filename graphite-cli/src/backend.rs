//! The sender behind `graphite send`, on the runtime `--runtime` names:
//! the one place in the workspace that names every adapter. Everything
//! past [`Runtime::start`] holds a runtime value and a [`Sink`].

use std::sync::Arc;
use std::time::Duration;

use graphite_driver::{RoutedSender, Sender, Sink, SpawnError};
use graphite_proto::Datapoint;
use graphite_proto::ring::Ring;
use graphite_proto::router::{Failover, RoutedStats};
use graphite_proto::sender::{PushManyError, SenderConfig, Stats};

/// Which adapter sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Runtime {
    /// `graphite-tokio`.
    Tokio,
    /// `graphite-async-std` under the async-std executor (needs the
    /// `async-std` feature: async-std is discontinued, RUSTSEC-2025-0052).
    AsyncStd,
    /// `graphite-async-std` under smol.
    Smol,
    /// `graphite-blocking`.
    Blocking,
}

/// Why the sender could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The async-std executor was not compiled in.
    #[error("this build has no async-std executor: rebuild with `--features async-std`")]
    Unavailable,
    /// The sender could not start.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The tokio runtime could not start.
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

impl Runtime {
    /// Every runtime.
    pub const ALL: [Self; 4] = [Self::Tokio, Self::AsyncStd, Self::Smol, Self::Blocking];

    /// Its name, as `--runtime` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tokio => "tokio",
            Self::AsyncStd => "async-std",
            Self::Smol => "smol",
            Self::Blocking => "blocking",
        }
    }

    /// Starts it: the runtime value senders and clients take, and what
    /// keeps it running (tokio's worker threads; smol's and async-std's
    /// global executors run by themselves).
    pub fn start(self) -> Result<Started, BackendError> {
        let (runtime, tokio): (Arc<dyn graphite_driver::Runtime>, _) = match self {
            Self::Tokio => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?;
                (graphite_tokio::runtime(), Some(rt))
            }
            Self::AsyncStd => (Arc::new(async_std_runtime()?), None),
            Self::Smol => (
                Arc::new(graphite_async_std::AsyncIo::with_spawner(|task| {
                    smol::spawn(task).detach();
                })),
                None,
            ),
            Self::Blocking => (graphite_blocking::runtime(), None),
        };
        Ok(Started {
            kind: self,
            runtime,
            tokio,
        })
    }
}

#[cfg(feature = "async-std")]
fn async_std_runtime() -> Result<graphite_async_std::AsyncIo, BackendError> {
    Ok(graphite_async_std::AsyncIo::with_spawner(|task| {
        async_std::task::spawn(task);
    }))
}

#[cfg(not(feature = "async-std"))]
fn async_std_runtime() -> Result<graphite_async_std::AsyncIo, BackendError> {
    Err(BackendError::Unavailable)
}

/// A started runtime: the value senders and clients take, a way to wait
/// on a future from a plain thread, and what keeps the runtime alive.
#[derive(Debug)]
pub struct Started {
    kind: Runtime,
    runtime: Arc<dyn graphite_driver::Runtime>,
    tokio: Option<tokio::runtime::Runtime>,
}

impl Started {
    /// The runtime value.
    pub fn runtime(&self) -> Arc<dyn graphite_driver::Runtime> {
        Arc::clone(&self.runtime)
    }

    /// Which runtime this is.
    pub fn kind(&self) -> Runtime {
        self.kind
    }

    /// Runs `make` where the runtime can spawn (inside tokio's context).
    pub fn within<T>(&self, make: impl FnOnce(Arc<dyn graphite_driver::Runtime>) -> T) -> T {
        let _entered = self.tokio.as_ref().map(tokio::runtime::Runtime::enter);
        make(self.runtime())
    }

    /// Connects a TCP stream with this runtime's own socket type and wraps
    /// it as a stream you bring (the path a TLS or Unix stream takes).
    pub fn link_from_tcp(
        &self,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<Box<dyn graphite_driver::Link>> {
        Ok(match self.kind {
            Runtime::Tokio => {
                let stream = self.block_on(tokio::net::TcpStream::connect(addr))?;
                graphite_tokio::link_from_stream(stream)
            }
            Runtime::AsyncStd | Runtime::Smol => {
                let stream = smol::block_on(async_net::TcpStream::connect(addr))?;
                graphite_async_std::link_from_stream(stream)
            }
            Runtime::Blocking => {
                graphite_blocking::link_from_stream(std::net::TcpStream::connect(addr)?)
            }
        })
    }

    /// Waits for `future` on the calling thread, on the runtime's own
    /// executor (a plain thread: graphite-driver's small one).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match (&self.tokio, self.kind) {
            (Some(rt), _) => rt.block_on(future),
            #[cfg(feature = "async-std")]
            (None, Runtime::AsyncStd) => async_std::task::block_on(future),
            (None, Runtime::Smol) => smol::block_on(future),
            _ => graphite_driver::thread::block_on(future),
        }
    }
}

/// A background sender behind blocking calls: one carbon, or several
/// routed by a ring. The sink is dropped before its runtime.
#[derive(Debug)]
pub struct Backend {
    sink: Box<dyn Sink>,
    started: Started,
}

impl Backend {
    /// Starts a sender towards `host:port`.
    pub fn spawn(
        runtime: Runtime,
        host: &str,
        port: u16,
        config: SenderConfig,
    ) -> Result<Self, BackendError> {
        let started = runtime.start()?;
        let sender = started.within(|rt| Sender::spawn(rt, host, port, config))?;
        Ok(Self {
            sink: Box::new(sender),
            started,
        })
    }

    /// Starts one sender per destination of `ring`, routed under `failover`.
    pub fn spawn_routed(
        runtime: Runtime,
        ring: Ring,
        failover: Failover,
        config: SenderConfig,
    ) -> Result<Self, BackendError> {
        let started = runtime.start()?;
        let sender = started.within(|rt| RoutedSender::spawn(rt, ring, failover, config))?;
        Ok(Self {
            sink: Box::new(sender),
            started,
        })
    }

    /// The runtime it runs on.
    pub fn runtime(&self) -> Runtime {
        self.started.kind()
    }

    /// Hands over a slice: with `wait`, as room frees up (the pipe pauses),
    /// up to the configured wait; without, dropping what does not fit.
    pub fn hand_over(&self, batch: &[Datapoint], wait: bool) -> Result<(), PushManyError> {
        if wait {
            self.sink.push_many_wait_blocking(batch)
        } else {
            self.sink.push_many(batch)
        }
    }

    /// The counters (for several carbons, the total over destinations,
    /// which counts copies).
    pub fn stats(&self) -> Stats {
        self.sink.stats()
    }

    /// The counters per destination, when sending to several carbons.
    pub fn routed_stats(&self) -> Option<RoutedStats> {
        self.sink.routed_stats()
    }

    /// Flushes within `timeout`, closes, and returns the final counters.
    pub fn close(&self, timeout: Duration) -> Stats {
        self.sink.close_blocking(timeout)
    }
}
