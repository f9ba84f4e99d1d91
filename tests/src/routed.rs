//! A routed sender on any runtime behind one synchronous face, for the
//! routing suites against real carbons. The runtime comes from the CLI's
//! `--runtime` (`graphite_cli::backend`); the sender is the driver's one
//! [`RoutedSender`].

use std::time::{Duration, Instant};

use graphite_cli::backend::Started;
use graphite_driver::RoutedSender;
use graphite_proto::Datapoint;
use graphite_proto::ring::Ring;
use graphite_proto::router::{Failover, RoutedStats};
use graphite_proto::sender::{PushManyError, SenderConfig};

use crate::runtime::{Runtime, RuntimeError};

/// A routed sender on any runtime; the runtime is dropped after it.
pub struct AnyRouted {
    sender: RoutedSender,
    _started: Started,
}

impl AnyRouted {
    /// Starts a routed sender over `ring`.
    pub fn spawn(
        runtime: Runtime,
        ring: Ring,
        failover: Failover,
        config: SenderConfig,
    ) -> Result<Self, RuntimeError> {
        let started = runtime.start()?;
        let sender = started.within(|rt| RoutedSender::spawn(rt, ring, failover, config))?;
        Ok(Self {
            sender,
            _started: started,
        })
    }

    /// `push_many`: never waits.
    pub fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        self.sender.push_many(batch)
    }

    /// `send` with a textual name.
    pub fn send(
        &self,
        metric: &str,
        value: graphite_proto::Value,
        timestamp: Option<i64>,
    ) -> Result<(), graphite_proto::sender::PushError> {
        self.sender.send(metric, value, timestamp)
    }

    /// Each destination's outage start, or `None` while up.
    pub fn outages(&self) -> Vec<Option<Instant>> {
        self.sender.outages()
    }

    /// The counters.
    pub fn stats(&self) -> RoutedStats {
        self.sender.stats()
    }

    /// `close(timeout)`.
    pub fn close(&self, timeout: Duration) -> RoutedStats {
        self.sender.close_blocking(timeout)
    }
}
