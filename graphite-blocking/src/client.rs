//! [`Client`]: aiographite's API over std::net, with typed errors.

use std::time::Instant;

use graphite_driver::{Target, unix_now};
use graphite_proto::Protocol;
use graphite_proto::client::{
    ClientConfig, ClientCore, IntoItem, IntoMetricPath, IntoValue, SendError, WriteCursor,
};

use crate::net::{self, ByoStream, Link};

/// Connects to carbon at `host:port`, trying every resolved address in
/// turn. `port: None` uses the protocol's default (2003, or 2004 for pickle).
///
/// ```no_run
/// use graphite_blocking::{connect, Protocol};
///
/// let mut client = connect("localhost", None, Protocol::Plaintext)?;
/// client.send("servers.web1.requests", 42, None)?;
/// client.close()?;
/// # Ok::<(), graphite_blocking::SendError>(())
/// ```
pub fn connect(
    host: &str,
    port: impl Into<Option<u16>>,
    protocol: Protocol,
) -> Result<Client, SendError> {
    Client::connect_with(host, port, ClientConfig::new(protocol))
}

/// A direct connection to carbon: each `send` writes at once, all its
/// writes within the write timeout, and returns only when the bytes are
/// written, or with an error saying how many datapoints went.
///
/// After an error the next call reconnects (when made from a host and port).
/// A batch is never retried behind your back.
pub struct Client {
    core: ClientCore,
    target: Option<Target>,
    link: Option<Link>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", self.core.config())
            .field("target", &self.target)
            .field("connected", &self.link.is_some())
            .finish()
    }
}

impl Client {
    /// Connects with a full configuration.
    pub fn connect_with(
        host: &str,
        port: impl Into<Option<u16>>,
        config: ClientConfig,
    ) -> Result<Self, SendError> {
        let target = Target::new(host, port, config.protocol);
        let link = net::connect(&target, config.protocol, config.connect_timeout)?;
        Ok(Self {
            core: ClientCore::new(config, true),
            target: Some(target),
            link: Some(link),
        })
    }

    /// Uses a stream you connected yourself (TLS, a Unix socket, ...) for
    /// plaintext or pickle. Set its timeouts yourself; it cannot reconnect.
    pub fn from_stream(stream: impl ByoStream + 'static, config: ClientConfig) -> Self {
        Self {
            core: ClientCore::new(config, false),
            target: None,
            link: Some(Link::Custom(Box::new(stream))),
        }
    }

    /// Sends one datapoint; `timestamp: None` means now.
    pub fn send(
        &mut self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), SendError> {
        let ts = timestamp.unwrap_or_else(unix_now);
        let item = (metric.into_metric_path()?, value.into_value()?, ts);
        self.send_multiple([item], None)
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
        let default_timestamp = default_timestamp.unwrap_or_else(unix_now);
        let Some(mut cursor) = self.core.batch(Instant::now(), items, default_timestamp)? else {
            return Ok(());
        };
        let result = write_all(self.ensure_connected()?, &mut cursor);
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

    fn ensure_connected(&mut self) -> Result<&mut Link, SendError> {
        if self
            .link
            .as_mut()
            .is_some_and(|l| l.peer_closed().is_some())
        {
            self.link = None;
        }
        if self.core.must_connect(self.link.is_some())?
            && let Some(target) = &self.target
        {
            let config = self.core.config();
            self.link = Some(net::connect(
                target,
                config.protocol,
                config.connect_timeout,
            )?);
        }
        self.link.as_mut().ok_or(SendError::PeerClosed)
    }

    /// Flushes and shuts the write side down, reporting any error. Nothing
    /// is buffered by this client: every `send` wrote its bytes.
    pub fn close(mut self) -> Result<(), SendError> {
        let Some(link) = self.link.as_mut() else {
            return Ok(());
        };
        link.shutdown().map_err(|source| SendError::Write {
            written: 0,
            total: 0,
            source,
        })
    }
}

/// Writes the whole batch, each write bounded by what is left of the
/// batch's write timeout.
fn write_all(link: &mut Link, cursor: &mut WriteCursor) -> Result<(), SendError> {
    while let Some(chunk) = cursor.chunk() {
        let left = cursor.time_left(Instant::now())?;
        let n = link.write(&chunk, left).map_err(|e| cursor.fail(e))?;
        cursor.advance(n)?;
    }
    link.flush().map_err(|e| cursor.fail(e))
}
