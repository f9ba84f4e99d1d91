//! The sender behind `graphite send`, on the runtime `--runtime` names.

use std::time::Duration;

use graphite_driver::SpawnError;
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

/// A background sender on one of the runtimes, behind blocking calls: one
/// carbon, or several routed by a ring.
#[derive(Debug)]
pub enum Backend {
    /// tokio. The sender comes first: it is dropped before its runtime.
    Tokio(graphite_tokio::Sender, tokio::runtime::Runtime),
    /// async-std's or smol's executor (the task is already spawned).
    AsyncIo(graphite_async_std::Sender, Runtime),
    /// A thread.
    Blocking(graphite_blocking::Sender),
    /// Several carbons on tokio.
    TokioRouted(graphite_tokio::RoutedSender, tokio::runtime::Runtime),
    /// Several carbons on async-std's or smol's executor.
    AsyncIoRouted(graphite_async_std::RoutedSender, Runtime),
    /// Several carbons, a thread each.
    BlockingRouted(graphite_blocking::RoutedSender),
}

fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
}

impl Backend {
    /// Starts a sender towards `host:port`.
    pub fn spawn(
        runtime: Runtime,
        host: &str,
        port: u16,
        config: SenderConfig,
    ) -> Result<Self, BackendError> {
        Ok(match runtime {
            Runtime::Tokio => {
                let rt = tokio_runtime()?;
                let sender = {
                    let _guard = rt.enter();
                    graphite_tokio::Sender::spawn(host, port, config)?
                };
                Self::Tokio(sender, rt)
            }
            Runtime::AsyncStd | Runtime::Smol => {
                let (sender, task) = graphite_async_std::Sender::start(host, port, config)?;
                spawn_async_io(runtime, task)?;
                Self::AsyncIo(sender, runtime)
            }
            Runtime::Blocking => {
                Self::Blocking(graphite_blocking::Sender::spawn(host, port, config)?)
            }
        })
    }

    /// Starts one sender per destination of `ring`, routed under `failover`.
    pub fn spawn_routed(
        runtime: Runtime,
        ring: Ring,
        failover: Failover,
        config: SenderConfig,
    ) -> Result<Self, BackendError> {
        Ok(match runtime {
            Runtime::Tokio => {
                let rt = tokio_runtime()?;
                let sender = {
                    let _guard = rt.enter();
                    graphite_tokio::RoutedSender::spawn(ring, failover, config)?
                };
                Self::TokioRouted(sender, rt)
            }
            Runtime::AsyncStd | Runtime::Smol => {
                let (sender, task) =
                    graphite_async_std::RoutedSender::start(ring, failover, config)?;
                spawn_async_io(runtime, task)?;
                Self::AsyncIoRouted(sender, runtime)
            }
            Runtime::Blocking => Self::BlockingRouted(graphite_blocking::RoutedSender::spawn(
                ring, failover, config,
            )?),
        })
    }

    /// Hands over a slice: with `wait`, as room frees up (the pipe pauses),
    /// up to the configured wait; without, dropping what does not fit.
    pub fn hand_over(&self, batch: &[Datapoint], wait: bool) -> Result<(), PushManyError> {
        match (self, wait) {
            (Self::Tokio(s, rt), true) => rt.block_on(s.push_many_wait(batch)),
            (Self::AsyncIo(s, runtime), true) => {
                block_on_async_io(*runtime, s.push_many_wait(batch))
            }
            (Self::Blocking(s), true) => s.push_many_wait(batch),
            (Self::TokioRouted(s, rt), true) => rt.block_on(s.push_many_wait(batch)),
            (Self::AsyncIoRouted(s, runtime), true) => {
                block_on_async_io(*runtime, s.push_many_wait(batch))
            }
            (Self::BlockingRouted(s), true) => s.push_many_wait(batch),
            (Self::Tokio(s, _), false) => s.push_many(batch),
            (Self::AsyncIo(s, _), false) => s.push_many(batch),
            (Self::Blocking(s), false) => s.push_many(batch),
            (Self::TokioRouted(s, _), false) => s.push_many(batch),
            (Self::AsyncIoRouted(s, _), false) => s.push_many(batch),
            (Self::BlockingRouted(s), false) => s.push_many(batch),
        }
    }

    /// The counters (for several carbons, the total over destinations,
    /// which counts copies).
    pub fn stats(&self) -> Stats {
        match self.routed_stats() {
            Some(routed) => routed.total(),
            None => match self {
                Self::Tokio(s, _) => s.stats(),
                Self::AsyncIo(s, _) => s.stats(),
                Self::Blocking(s) => s.stats(),
                _ => Stats::default(),
            },
        }
    }

    /// The counters per destination, when sending to several carbons.
    pub fn routed_stats(&self) -> Option<RoutedStats> {
        match self {
            Self::TokioRouted(s, _) => Some(s.stats()),
            Self::AsyncIoRouted(s, _) => Some(s.stats()),
            Self::BlockingRouted(s) => Some(s.stats()),
            _ => None,
        }
    }

    /// Flushes within `timeout`, closes, and returns the final counters.
    pub fn close(&self, timeout: Duration) -> Stats {
        match self {
            Self::Tokio(s, rt) => rt.block_on(s.close(timeout)),
            Self::AsyncIo(s, runtime) => block_on_async_io(*runtime, s.close(timeout)),
            Self::Blocking(s) => s.close(timeout),
            Self::TokioRouted(s, rt) => rt.block_on(s.close(timeout)).total(),
            Self::AsyncIoRouted(s, runtime) => {
                block_on_async_io(*runtime, s.close(timeout)).total()
            }
            Self::BlockingRouted(s) => s.close(timeout).total(),
        }
    }
}

#[cfg(feature = "async-std")]
fn spawn_async_io(
    runtime: Runtime,
    task: graphite_async_std::SenderTask,
) -> Result<(), BackendError> {
    if runtime == Runtime::AsyncStd {
        async_std::task::spawn(task);
    } else {
        smol::spawn(task).detach();
    }
    Ok(())
}

#[cfg(not(feature = "async-std"))]
fn spawn_async_io(
    runtime: Runtime,
    task: graphite_async_std::SenderTask,
) -> Result<(), BackendError> {
    if runtime == Runtime::AsyncStd {
        return Err(BackendError::Unavailable);
    }
    smol::spawn(task).detach();
    Ok(())
}

fn block_on_async_io<F: Future>(runtime: Runtime, f: F) -> F::Output {
    #[cfg(feature = "async-std")]
    if runtime == Runtime::AsyncStd {
        return async_std::task::block_on(f);
    }
    let _ = runtime;
    smol::block_on(f)
}
