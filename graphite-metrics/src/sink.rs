//! Where rendered datapoints go: the one place that touches graphite-rs's
//! adapters (`graphite_blocking::Sender`, `graphite_tokio::Sender`), so a
//! change in their API is a change here only.

use std::time::Duration;

use graphite_proto::Datapoint;
use graphite_proto::sender::{SenderConfig, Stats};

use crate::builder::BuildError;

/// Which adapter carries the datapoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// graphite-blocking's sender thread.
    Thread,
    /// graphite-tokio's sender task on the current runtime.
    #[cfg(feature = "tokio")]
    Tokio,
}

/// A running background sender.
#[derive(Debug)]
pub(crate) enum Sink {
    Blocking(graphite_blocking::Sender),
    #[cfg(feature = "tokio")]
    Tokio(graphite_tokio::Sender),
}

impl Sink {
    pub(crate) fn spawn(
        flavor: Flavor,
        host: &str,
        port: u16,
        config: SenderConfig,
    ) -> Result<Self, BuildError> {
        match flavor {
            Flavor::Thread => graphite_blocking::Sender::spawn(host, port, config)
                .map(Self::Blocking)
                .map_err(|e| BuildError::Sender(Box::new(e))),
            #[cfg(feature = "tokio")]
            Flavor::Tokio => {
                if tokio::runtime::Handle::try_current().is_err() {
                    return Err(BuildError::NoRuntime);
                }
                graphite_tokio::Sender::spawn(host, port, config)
                    .map(Self::Tokio)
                    .map_err(|e| BuildError::Sender(Box::new(e)))
            }
        }
    }

    /// Hands `batch` over without waiting; returns how many were dropped
    /// (counted in [`stats`](Self::stats) too).
    pub(crate) fn push_many(&self, batch: &[Datapoint]) -> usize {
        let result = match self {
            Self::Blocking(s) => s.push_many(batch),
            #[cfg(feature = "tokio")]
            Self::Tokio(s) => s.push_many(batch),
        };
        match result {
            Ok(()) => 0,
            Err(e) => {
                tracing::debug!(target: "graphite", "metrics flush: {e:?}");
                e.dropped
            }
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        match self {
            Self::Blocking(s) => s.stats(),
            #[cfg(feature = "tokio")]
            Self::Tokio(s) => s.stats(),
        }
    }

    /// Flushes and closes, waiting up to `timeout`. The tokio sender is
    /// waited for only outside its runtime (blocking a runtime thread on its
    /// own task could deadlock): inside, the close is started and the stats
    /// of the moment returned; use [`close_async`](Self::close_async) there.
    pub(crate) fn close(&self, timeout: Duration) -> Stats {
        match self {
            Self::Blocking(s) => s.close(timeout),
            #[cfg(feature = "tokio")]
            Self::Tokio(s) => {
                let close = s.close(timeout);
                if tokio::runtime::Handle::try_current().is_err() {
                    futures_lite::future::block_on(close)
                } else {
                    // One poll starts the close; the task finishes it.
                    let mut close = std::pin::pin!(close);
                    match futures_lite::future::block_on(futures_lite::future::poll_once(
                        close.as_mut(),
                    )) {
                        Some(stats) => stats,
                        None => s.stats(),
                    }
                }
            }
        }
    }

    /// Flushes and closes, waiting up to `timeout` without blocking a
    /// thread.
    #[cfg(feature = "tokio")]
    pub(crate) async fn close_async(&self, timeout: Duration) -> Stats {
        match self {
            Self::Blocking(s) => s.close(timeout),
            Self::Tokio(s) => s.close(timeout).await,
        }
    }
}
