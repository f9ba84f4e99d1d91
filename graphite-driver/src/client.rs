//! [`Client`]: aiographite's API on any [`Runtime`], with typed errors.

use std::fmt;
use std::sync::Arc;

use futures_lite::FutureExt;
use graphite_proto::Protocol;
use graphite_proto::client::{
    ClientConfig, ClientCore, IntoItem, IntoMetricPath, IntoValue, SendError, WriteCursor,
};

use crate::connect::connect;
use crate::runtime::ops;
use crate::{Link, Runtime, Target, unix_now};

/// A direct connection to carbon: each `send` writes at once and returns
/// only when the bytes are written, or with an error saying how many
/// datapoints of the batch were written.
///
/// After an error the next call reconnects (when the client was made from a
/// host and port). A batch is never retried behind your back.
///
/// The adapters' `connect(host, port, protocol)` makes one on their
/// runtime; [`BlockingClient`](crate::BlockingClient) is the same client
/// for plain threads.
///
/// ```
/// use std::sync::Arc;
/// use graphite_driver::{Client, Runtime};
/// use graphite_proto::Protocol;
///
/// async fn report(runtime: Arc<dyn Runtime>) -> Result<(), graphite_proto::client::SendError> {
///     let mut client = Client::connect(runtime, "localhost", None, Protocol::Plaintext).await?;
///     client.send("servers.web1.cpu", 0.25, None).await?;
///     client.close().await
/// }
/// ```
pub struct Client {
    core: ClientCore,
    runtime: Arc<dyn Runtime>,
    target: Option<Target>,
    link: Option<Box<dyn Link>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", self.core.config())
            .field("target", &self.target)
            .field("connected", &self.link.is_some())
            .finish()
    }
}

impl Client {
    /// Connects to carbon at `host:port` (every resolved address is tried in
    /// turn). `port: None` uses the protocol's default: 2003 for plaintext
    /// and UDP, 2004 for pickle.
    pub async fn connect(
        runtime: Arc<dyn Runtime>,
        host: &str,
        port: impl Into<Option<u16>>,
        protocol: Protocol,
    ) -> Result<Self, SendError> {
        Self::connect_with(runtime, host, port, ClientConfig::new(protocol)).await
    }

    /// Connects with a full configuration.
    pub async fn connect_with(
        runtime: Arc<dyn Runtime>,
        host: &str,
        port: impl Into<Option<u16>>,
        config: ClientConfig,
    ) -> Result<Self, SendError> {
        let target = Target::new(host, port, config.protocol);
        let link = connect(
            &*runtime,
            &target.host,
            target.port,
            config.protocol,
            config.connect_timeout,
        )
        .await?;
        Ok(Self {
            core: ClientCore::new(config, true),
            runtime,
            target: Some(target),
            link: Some(link),
        })
    }

    /// Uses a connection you made yourself (the adapters wrap a TLS or Unix
    /// stream into a [`Link`]) for the plaintext or pickle protocol. Such a
    /// client cannot reconnect.
    pub fn from_link(runtime: Arc<dyn Runtime>, link: Box<dyn Link>, config: ClientConfig) -> Self {
        Self {
            core: ClientCore::new(config, false),
            runtime,
            target: None,
            link: Some(link),
        }
    }

    /// Sends one datapoint; `timestamp: None` means now.
    pub async fn send(
        &mut self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        let ts = timestamp.unwrap_or_else(unix_now);
        let item = (metric.into_metric_path()?, value.into_value()?, ts);
        self.send_multiple([item], None).await
    }

    /// Sends many datapoints in one write: items are `(metric, value)` or
    /// `(metric, value, timestamp)`; those without a timestamp get
    /// `default_timestamp`, or now. Every item is checked before anything is
    /// written; all the writes end within the write timeout.
    pub async fn send_multiple<I, T>(
        &mut self,
        items: I,
        default_timestamp: Option<i64>,
    ) -> Result<(), SendError>
    where
        I: IntoIterator<Item = T>,
        T: IntoItem,
    {
        let default_timestamp = default_timestamp.unwrap_or_else(unix_now);
        let now = self.runtime.now();
        let Some(mut cursor) = self.core.batch(now, items, default_timestamp)? else {
            return Ok(());
        };
        let timer = self.runtime.sleep_until(cursor.deadline());
        let link = self.ensure_connected().await?;
        let writes = async { Some(write_all(link, &mut cursor).await) };
        let limit = async {
            timer.await;
            None
        };
        let result = writes
            .or(limit)
            .await
            .unwrap_or_else(|| Err(cursor.timed_out()));
        if result.is_err() {
            // The stream may hold half a frame: never write after it.
            self.link = None;
        }
        result
    }

    /// aiographite's name encoder: see [`graphite_proto::clean_and_join_metric_parts`].
    pub fn clean_and_join_metric_parts<I>(parts: I) -> String
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        graphite_proto::clean_and_join_metric_parts(parts)
    }

    /// The open connection, after reconnecting if the last call failed or
    /// the peer has closed it (seen without writing, so nothing is lost or
    /// duplicated).
    async fn ensure_connected(&mut self) -> Result<&mut dyn Link, SendError> {
        if self
            .link
            .as_deref_mut()
            .is_some_and(|l| ops::peer_closed(l).is_some())
        {
            self.link = None;
        }
        if self.core.must_connect(self.link.is_some())?
            && let Some(target) = &self.target
        {
            let config = self.core.config();
            let link = connect(
                &*self.runtime,
                &target.host,
                target.port,
                config.protocol,
                config.connect_timeout,
            )
            .await?;
            self.link = Some(link);
        }
        self.link.as_deref_mut().ok_or(SendError::PeerClosed)
    }

    /// Flushes and shuts the write side down, reporting any error. Nothing
    /// is buffered by this client (every `send` has written its bytes).
    pub async fn close(mut self) -> Result<(), SendError> {
        let Some(link) = self.link.as_deref_mut() else {
            return Ok(());
        };
        ops::shutdown(link)
            .await
            .map_err(|source| SendError::Write {
                written: 0,
                total: 0,
                source,
            })
    }
}

async fn write_all(link: &mut dyn Link, cursor: &mut WriteCursor) -> Result<(), SendError> {
    while let Some(chunk) = cursor.chunk() {
        let n = ops::write(link, &chunk).await.map_err(|e| cursor.fail(e))?;
        cursor.advance(n)?;
    }
    ops::flush(link).await.map_err(|e| cursor.fail(e))
}
