//! [`BuildError`]: why the exporter could not be built or installed.

use std::time::Duration;

/// Why the exporter could not be built or installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The address was not `host:port` (or `host`, for the protocol's
    /// default port); the error names the offset.
    #[error("carbon address: {0}")]
    Address(#[from] graphite_proto::AddressError),
    /// The interval was shorter than a second or not a whole number of
    /// seconds (Graphite timestamps are whole seconds).
    #[error("interval {0:?} must be a whole number of seconds, at least one")]
    Interval(Duration),
    /// A quantile was outside `0.0..=1.0`.
    #[error("quantile {0} is outside 0.0..=1.0")]
    Quantile(f64),
    /// The sender configuration cannot work.
    #[error(transparent)]
    SenderConfig(#[from] graphite_proto::sender::ConfigError),
    /// The sender could not start (its thread or task).
    #[error("cannot start the sender: {0}")]
    Sender(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The exporter thread could not start.
    #[error("cannot start the exporter thread: {0}")]
    Thread(#[source] std::io::Error),
    /// A global recorder was already installed.
    #[error("a global metrics recorder is already installed")]
    AlreadyInstalled,
    /// `GraphiteBuilder::build_tokio` (feature `tokio`) was called outside
    /// a tokio runtime.
    #[error("not inside a tokio runtime")]
    NoRuntime,
}
