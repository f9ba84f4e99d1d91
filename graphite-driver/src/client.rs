//! [`Client`]: aiographite's API for any async [`Runtime`], with typed
//! errors.

use std::fmt;
use std::marker::PhantomData;
use std::time::Instant;

use futures_lite::FutureExt;
use graphite_proto::Protocol;
use graphite_proto::client::{
    ClientConfig, ClientCore, IntoItem, IntoMetricPath, IntoValue, SendError, WriteCursor,
};

use crate::connect::connect;
use crate::{Runtime, Target, WrapStream, unix_now};

/// A direct connection to carbon: each `send` writes at once and returns
/// only when the bytes are written, or with an error saying how many
/// datapoints of the batch were written.
///
/// After an error the next call reconnects (when the client was made from a
/// host and port). A batch is never retried behind your back.
///
/// The adapters name it for their runtime: `graphite_tokio::Client`,
/// `graphite_async_std::Client`.
pub struct Client<R: Runtime> {
    core: ClientCore,
    target: Option<Target>,
    link: Option<R::Link>,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> fmt::Debug for Client<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", self.core.config())
            .field("target", &self.target)
            .field("connected", &self.link.is_some())
            .finish()
    }
}

impl<R: Runtime> Client<R> {
    /// Connects to carbon at `host:port` (every resolved address is tried in
    /// turn). `port: None` uses the protocol's default: 2003 for plaintext
    /// and UDP, 2004 for pickle.
    pub async fn connect(
        host: &str,
        port: impl Into<Option<u16>>,
        protocol: Protocol,
    ) -> Result<Self, SendError> {
        Self::connect_with(host, port, ClientConfig::new(protocol)).await
    }

    /// Connects with a full configuration.
    pub async fn connect_with(
        host: &str,
        port: impl Into<Option<u16>>,
        config: ClientConfig,
    ) -> Result<Self, SendError> {
        let target = Target::new(host, port, config.protocol);
        let link = connect::<R>(
            &target.host,
            target.port,
            config.protocol,
            config.connect_timeout,
        )
        .await?;
        Ok(Self {
            core: ClientCore::new(config, true),
            target: Some(target),
            link: Some(link),
            runtime: PhantomData,
        })
    }

    /// Uses a stream you connected yourself (TLS, a Unix socket, ...) for
    /// the plaintext or pickle protocol. Such a client cannot reconnect.
    pub fn from_stream<S>(stream: S, config: ClientConfig) -> Self
    where
        R: WrapStream<S, Link = <R as Runtime>::Link>,
    {
        Self {
            core: ClientCore::new(config, false),
            target: None,
            link: Some(R::wrap(stream)),
            runtime: PhantomData,
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
        let Some(mut cursor) = self.core.batch(Instant::now(), items, default_timestamp)? else {
            return Ok(());
        };
        let link = self.ensure_connected().await?;
        let deadline = cursor.deadline();
        let writes = async { Some(write_all::<R>(link, &mut cursor).await) };
        let limit = async {
            R::sleep_until(deadline).await;
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
    async fn ensure_connected(&mut self) -> Result<&mut R::Link, SendError> {
        if self.link.as_mut().is_some_and(|l| R::peer_closed(l)) {
            self.link = None;
        }
        if self.core.must_connect(self.link.is_some())?
            && let Some(target) = &self.target
        {
            let config = self.core.config();
            let link = connect::<R>(
                &target.host,
                target.port,
                config.protocol,
                config.connect_timeout,
            )
            .await?;
            self.link = Some(link);
        }
        self.link.as_mut().ok_or(SendError::PeerClosed)
    }

    /// Flushes and shuts the write side down, reporting any error. Nothing
    /// is buffered by this client (every `send` has written its bytes).
    pub async fn close(mut self) -> Result<(), SendError> {
        let Some(link) = self.link.as_mut() else {
            return Ok(());
        };
        R::shutdown(link).await.map_err(|source| SendError::Write {
            written: 0,
            total: 0,
            source,
        })
    }
}

async fn write_all<R: Runtime>(
    link: &mut R::Link,
    cursor: &mut WriteCursor,
) -> Result<(), SendError> {
    while let Some(chunk) = cursor.chunk() {
        let n = R::write(link, &chunk).await.map_err(|e| cursor.fail(e))?;
        cursor.advance(n)?;
    }
    R::flush(link).await.map_err(|e| cursor.fail(e))
}
