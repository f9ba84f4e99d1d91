//! [`BlockingClient`]: the [`Client`] for plain threads.

use std::sync::Arc;

use graphite_proto::Protocol;
use graphite_proto::client::{ClientConfig, IntoItem, IntoMetricPath, IntoValue, SendError};

use crate::thread::block_on;
use crate::{Client, Link, Runtime};

/// A direct connection to carbon from a thread: the [`Client`], each call
/// run to completion on the calling thread
/// ([`block_on`](crate::thread::block_on)). Each `send` writes at once, all
/// its writes within the write timeout, and returns only when the bytes are
/// written, or with an error saying how many datapoints went.
///
/// Its runtime must not need a reactor of its own (`graphite_blocking::Std`:
/// blocking sockets with bounded writes). After an error the next call
/// reconnects (when made from a host and port). A batch is never retried
/// behind your back.
#[derive(Debug)]
pub struct BlockingClient {
    client: Client,
}

impl BlockingClient {
    /// Connects to carbon at `host:port` (every resolved address is tried in
    /// turn). `port: None` uses the protocol's default: 2003 for plaintext
    /// and UDP, 2004 for pickle.
    pub fn connect(
        runtime: Arc<dyn Runtime>,
        host: &str,
        port: impl Into<Option<u16>>,
        protocol: Protocol,
    ) -> Result<Self, SendError> {
        Self::connect_with(runtime, host, port, ClientConfig::new(protocol))
    }

    /// Connects with a full configuration.
    pub fn connect_with(
        runtime: Arc<dyn Runtime>,
        host: &str,
        port: impl Into<Option<u16>>,
        config: ClientConfig,
    ) -> Result<Self, SendError> {
        let client = block_on(Client::connect_with(runtime, host, port, config))?;
        Ok(Self { client })
    }

    /// Uses a connection you made yourself (a TLS or Unix stream wrapped
    /// into a [`Link`]). Set its timeouts yourself: a write on it can only
    /// be bounded between system calls. It cannot reconnect.
    pub fn from_link(runtime: Arc<dyn Runtime>, link: Box<dyn Link>, config: ClientConfig) -> Self {
        Self {
            client: Client::from_link(runtime, link, config),
        }
    }

    /// Sends one datapoint; `timestamp: None` means now.
    pub fn send(
        &mut self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        block_on(self.client.send(metric, value, timestamp))
    }

    /// Sends many datapoints in one write: items are `(metric, value)` or
    /// `(metric, value, timestamp)`; those without a timestamp get
    /// `default_timestamp`, or now. Every item is checked before anything is
    /// written.
    pub fn send_multiple<I, T>(
        &mut self,
        items: I,
        default_timestamp: Option<i64>,
    ) -> Result<(), SendError>
    where
        I: IntoIterator<Item = T>,
        T: IntoItem,
    {
        block_on(self.client.send_multiple(items, default_timestamp))
    }

    /// aiographite's name encoder: see [`graphite_proto::clean_and_join_metric_parts`].
    pub fn clean_and_join_metric_parts<I>(parts: I) -> String
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        graphite_proto::clean_and_join_metric_parts(parts)
    }

    /// Flushes and shuts the write side down, reporting any error. Nothing
    /// is buffered by this client: every `send` wrote its bytes.
    pub fn close(self) -> Result<(), SendError> {
        block_on(self.client.close())
    }
}
