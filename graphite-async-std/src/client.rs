//! [`Client`]: aiographite's API over futures-io (async-std or smol), with typed errors.

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_lite::AsyncWriteExt;
use graphite_proto::Protocol;
use graphite_proto::client::{
    ClientConfig, ClientCore, IntoItem, IntoMetricPath, IntoValue, Outgoing, SendError,
};

use crate::net::{self, ByoStream, Conn, Link};

/// Connects to carbon at `host:port` (every resolved address is tried in
/// turn). `port: None` uses the protocol's default: 2003 for plaintext and
/// UDP, 2004 for pickle.
///
/// ```no_run
/// # async fn demo() -> Result<(), graphite_proto::client::SendError> {
/// use graphite_async_std::{connect, Protocol};
///
/// let mut client = connect("localhost", None, Protocol::Plaintext).await?;
/// client.send("servers.web1.requests", 42, None).await?;
/// client.close().await?;
/// # Ok(()) }
/// ```
pub async fn connect(
    host: &str,
    port: impl Into<Option<u16>>,
    protocol: Protocol,
) -> Result<Client, SendError> {
    Client::connect_with(host, port, ClientConfig::new(protocol)).await
}

/// Writes all of `bytes`, counting progress in `written` so a failure or a
/// timeout can tell how much went.
async fn write_counting<W>(stream: &mut W, bytes: &[u8], written: &mut usize) -> io::Result<()>
where
    W: futures_io::AsyncWrite + Unpin + ?Sized,
{
    while *written < bytes.len() {
        let n = stream.write(&bytes[*written..]).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        *written += n;
    }
    stream.flush().await
}

/// Seconds since the Unix epoch, for datapoints sent without a timestamp.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A direct connection to carbon: each `send` writes at once and returns
/// only when the bytes are written, or with an error saying how many
/// datapoints of the batch were written.
///
/// After an error the next call reconnects (when the client was made from a
/// host and port). A batch is never retried behind your back.
pub struct Client {
    core: ClientCore,
    target: Option<(String, u16)>,
    conn: Option<Conn>,
    closed: bool,
    /// Bytes of the current batch written so far (read after a timeout).
    in_flight_written: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", self.core.config())
            .field("target", &self.target)
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

impl Client {
    /// A configuration with the defaults, to adjust and pass to
    /// [`connect_with`](Self::connect_with).
    pub fn builder() -> ClientConfig {
        ClientConfig::default()
    }

    /// Connects with a full configuration.
    pub async fn connect_with(
        host: &str,
        port: impl Into<Option<u16>>,
        config: ClientConfig,
    ) -> Result<Self, SendError> {
        let port = port.into().unwrap_or(config.protocol.default_port());
        let conn = net::connect(host, port, config.protocol, config.connect_timeout).await?;
        Ok(Self {
            core: ClientCore::new(config),
            target: Some((host.to_owned(), port)),
            conn: Some(Conn::Link(conn)),
            closed: false,
            in_flight_written: 0,
        })
    }

    /// Uses a stream you connected yourself (TLS, a Unix socket, ...) for
    /// the plaintext or pickle protocol. Such a client cannot reconnect.
    pub fn from_stream(stream: impl ByoStream + 'static, config: ClientConfig) -> Self {
        Self {
            core: ClientCore::new(config),
            target: None,
            conn: Some(Conn::Custom(Box::new(stream))),
            closed: false,
            in_flight_written: 0,
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
    /// written.
    pub async fn send_multiple<I, T>(
        &mut self,
        items: I,
        default_timestamp: Option<i64>,
    ) -> Result<(), SendError>
    where
        I: IntoIterator<Item = T>,
        T: IntoItem,
    {
        if self.closed {
            return Err(SendError::Closed);
        }
        let batch = self
            .core
            .datapoints(items, default_timestamp.unwrap_or_else(unix_now))?;
        let outgoing = self.core.encode(&batch)?;
        if outgoing.is_empty() {
            return Ok(());
        }
        self.ensure_connected().await?;
        let timeout = self.core.config().write_timeout;
        match net::timeout(timeout, self.write(&outgoing)).await {
            Some(Ok(())) => Ok(()),
            Some(Err((written, source))) => {
                self.conn = None;
                Err(SendError::Write {
                    written: outgoing.delivered(written),
                    total: outgoing.len(),
                    source,
                })
            }
            None => {
                // The write was cut mid-way: the stream may hold half a frame.
                let written = self.in_flight_written;
                self.conn = None;
                Err(SendError::WriteTimeout {
                    written: outgoing.delivered(written),
                    total: outgoing.len(),
                    timeout,
                })
            }
        }
    }

    /// aiographite's name encoder: see [`graphite_proto::clean_and_join_metric_parts`].
    pub fn clean_and_join_metric_parts<I>(parts: I) -> String
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        graphite_proto::clean_and_join_metric_parts(parts)
    }

    /// Reconnects after an error, or after the peer closed the connection
    /// (seen without writing, so nothing is lost or duplicated).
    async fn ensure_connected(&mut self) -> Result<(), SendError> {
        if let Some(Conn::Link(Link::Tcp(stream))) = &self.conn
            && net::peer_closed(stream)
        {
            self.conn = None;
        }
        if self.conn.is_some() {
            return Ok(());
        }
        let Some((host, port)) = &self.target else {
            return Err(SendError::PeerClosed);
        };
        let config = self.core.config();
        self.conn = Some(Conn::Link(
            net::connect(host, *port, config.protocol, config.connect_timeout).await?,
        ));
        Ok(())
    }

    async fn write(&mut self, outgoing: &Outgoing) -> Result<(), (usize, io::Error)> {
        let written = &mut self.in_flight_written;
        *written = 0;
        let result = match self.conn.as_mut() {
            None => Err(io::Error::new(io::ErrorKind::NotConnected, "not connected")),
            Some(Conn::Link(Link::Udp(socket))) => {
                async {
                    for datagram in outgoing.datagrams() {
                        socket.send(&datagram).await?;
                        *written += datagram.len();
                    }
                    Ok(())
                }
                .await
            }
            Some(Conn::Link(Link::Tcp(stream))) => {
                write_counting(stream, outgoing.stream(), written).await
            }
            Some(Conn::Custom(stream)) => write_counting(stream, outgoing.stream(), written).await,
        };
        result.map_err(|e| (*written, e))
    }

    /// Flushes and shuts the connection down, reporting any error. Nothing
    /// is buffered by this client (every `send` has written its bytes), so
    /// this only completes the shutdown.
    pub async fn close(mut self) -> Result<(), SendError> {
        self.closed = true;
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        let result = match conn {
            Conn::Link(Link::Tcp(s)) => s.shutdown(std::net::Shutdown::Write),
            Conn::Custom(mut s) => s.close().await,
            Conn::Link(Link::Udp(_)) => Ok(()),
        };
        result.map_err(|source| SendError::Write {
            written: 0,
            total: 0,
            source,
        })
    }
}
