//! The sender the exporter starts when none is given: the one file that
//! names graphite-rs's adapters (`graphite_blocking`'s thread, or with the
//! `tokio` feature a task on the current tokio runtime). Past this point
//! the exporter holds a [`Sink`].

use std::sync::Arc;

use graphite_driver::{Sender, Sink};
use graphite_proto::sender::SenderConfig;

use crate::builder::BuildError;

/// Which runtime carries the datapoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// graphite-blocking's sender thread.
    Thread,
    /// graphite-tokio's sender task on the current runtime.
    #[cfg(feature = "tokio")]
    Tokio,
}

/// Starts a sender towards `host:port` on `flavor`'s runtime.
pub(crate) fn spawn(
    flavor: Flavor,
    host: &str,
    port: u16,
    config: SenderConfig,
) -> Result<Arc<dyn Sink>, BuildError> {
    let runtime = match flavor {
        Flavor::Thread => graphite_blocking::runtime(),
        #[cfg(feature = "tokio")]
        Flavor::Tokio => {
            if tokio::runtime::Handle::try_current().is_err() {
                return Err(BuildError::NoRuntime);
            }
            graphite_tokio::runtime()
        }
    };
    let sender =
        Sender::spawn(runtime, host, port, config).map_err(|e| BuildError::Sender(Box::new(e)))?;
    Ok(Arc::new(sender))
}
