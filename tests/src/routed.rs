//! The four adapters' routed senders behind one synchronous face, for the
//! routing suites against real carbons.

use std::time::{Duration, Instant};

use graphite_proto::Datapoint;
use graphite_proto::ring::Ring;
use graphite_proto::router::{Failover, RoutedStats};
use graphite_proto::sender::{PushManyError, SenderConfig};

use crate::runtime::{Runtime, RuntimeError};

/// A routed sender on any runtime.
pub enum AnyRouted {
    /// tokio, with the runtime its tasks run on (dropped after the sender).
    Tokio(graphite_tokio::RoutedSender, tokio::runtime::Runtime),
    /// One task on async-std's executor.
    AsyncStd(graphite_async_std::RoutedSender),
    /// One task on smol's global executor.
    Smol(graphite_async_std::RoutedSender),
    /// One thread per destination.
    Blocking(graphite_blocking::RoutedSender),
}

impl AnyRouted {
    /// Starts a routed sender over `ring`.
    pub fn spawn(
        runtime: Runtime,
        ring: Ring,
        failover: Failover,
        config: SenderConfig,
    ) -> Result<Self, RuntimeError> {
        Ok(match runtime {
            Runtime::Tokio => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?;
                let sender = {
                    let _guard = rt.enter();
                    graphite_tokio::RoutedSender::spawn(ring, failover, config)?
                };
                Self::Tokio(sender, rt)
            }
            Runtime::AsyncStd => {
                let (sender, task) =
                    graphite_async_std::RoutedSender::start(ring, failover, config)?;
                async_std::task::spawn(task);
                Self::AsyncStd(sender)
            }
            Runtime::Smol => {
                let (sender, task) =
                    graphite_async_std::RoutedSender::start(ring, failover, config)?;
                smol::spawn(task).detach();
                Self::Smol(sender)
            }
            Runtime::Blocking => Self::Blocking(graphite_blocking::RoutedSender::spawn(
                ring, failover, config,
            )?),
        })
    }

    /// `push_many`: never waits.
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
    ) -> Result<(), graphite_proto::sender::PushError> {
        match self {
            Self::Tokio(s, _) => s.send(metric, value, timestamp),
            Self::AsyncStd(s) | Self::Smol(s) => s.send(metric, value, timestamp),
            Self::Blocking(s) => s.send(metric, value, timestamp),
        }
    }

    /// Each destination's outage start, or `None` while up.
    pub fn outages(&self) -> Vec<Option<Instant>> {
        match self {
            Self::Tokio(s, _) => s.outages(),
            Self::AsyncStd(s) | Self::Smol(s) => s.outages(),
            Self::Blocking(s) => s.outages(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> RoutedStats {
        match self {
            Self::Tokio(s, _) => s.stats(),
            Self::AsyncStd(s) | Self::Smol(s) => s.stats(),
            Self::Blocking(s) => s.stats(),
        }
    }

    /// `close(timeout)`.
    pub fn close(&self, timeout: Duration) -> RoutedStats {
        match self {
            Self::Tokio(s, rt) => rt.block_on(s.close(timeout)),
            Self::AsyncStd(s) => async_std::task::block_on(s.close(timeout)),
            Self::Smol(s) => smol::block_on(s.close(timeout)),
            Self::Blocking(s) => s.close(timeout),
        }
    }
}
