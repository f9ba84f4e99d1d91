//! [`Client`]: aiographite's API over std::net, with typed errors.

use std::io::{self, Write};
use std::net::Shutdown;
use std::time::{SystemTime, UNIX_EPOCH};

use graphite_proto::Protocol;
use graphite_proto::client::{
    ClientConfig, ClientCore, IntoItem, IntoMetricPath, IntoValue, Outgoing, SendError,
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
/// # Ok::<(), graphite_proto::client::SendError>(())
/// ```
pub fn connect(
    host: &str,
    port: impl Into<Option<u16>>,
    protocol: Protocol,
) -> Result<Client, SendError> {
    Client::connect_with(host, port, ClientConfig::new(protocol))
}

/// Seconds since the Unix epoch, for datapoints sent without a timestamp.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

enum Conn {
    Link(Link),
    Custom(Box<dyn ByoStream>),
}

/// A direct connection to carbon: each `send` writes at once (bounded by the
/// write timeout) and returns only when the bytes are written, or with an
/// error saying how many datapoints of the batch were written.
///
/// After an error the next call reconnects (when made from a host and port).
/// A batch is never retried behind your back.
pub struct Client {
    core: ClientCore,
    target: Option<(String, u16)>,
    conn: Option<Conn>,
    closed: bool,
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
    pub fn connect_with(
        host: &str,
        port: impl Into<Option<u16>>,
        config: ClientConfig,
    ) -> Result<Self, SendError> {
        let port = port.into().unwrap_or(config.protocol.default_port());
        let link = open(host, port, &config)?;
        Ok(Self {
            core: ClientCore::new(config),
            target: Some((host.to_owned(), port)),
            conn: Some(Conn::Link(link)),
            closed: false,
        })
    }

    /// Uses a stream you connected yourself (TLS, a Unix socket, ...) for
    /// plaintext or pickle. Set its timeouts yourself; it cannot reconnect.
    pub fn from_stream(stream: impl ByoStream + 'static, config: ClientConfig) -> Self {
        Self {
            core: ClientCore::new(config),
            target: None,
            conn: Some(Conn::Custom(Box::new(stream))),
            closed: false,
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
        self.ensure_connected()?;
        let mut written = 0;
        match self.write(&outgoing, &mut written) {
            Ok(()) => Ok(()),
            Err(source) => {
                self.conn = None;
                let delivered = outgoing.delivered(written);
                if matches!(
                    source.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) {
                    Err(SendError::WriteTimeout {
                        written: delivered,
                        total: outgoing.len(),
                        timeout: self.core.config().write_timeout,
                    })
                } else {
                    Err(SendError::Write {
                        written: delivered,
                        total: outgoing.len(),
                        source,
                    })
                }
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

    fn ensure_connected(&mut self) -> Result<(), SendError> {
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
        self.conn = Some(Conn::Link(open(host, *port, self.core.config())?));
        Ok(())
    }

    fn write(&mut self, outgoing: &Outgoing, written: &mut usize) -> io::Result<()> {
        match self.conn.as_mut() {
            None => Err(io::Error::new(io::ErrorKind::NotConnected, "not connected")),
            Some(Conn::Link(Link::Udp(socket))) => {
                for datagram in outgoing.datagrams() {
                    socket.send(&datagram)?;
                    *written += datagram.len();
                }
                Ok(())
            }
            Some(Conn::Link(Link::Tcp(stream))) => {
                write_counting(stream, outgoing.stream(), written)
            }
            Some(Conn::Custom(stream)) => write_counting(stream, outgoing.stream(), written),
        }
    }

    /// Shuts the connection down, reporting any error. Nothing is buffered
    /// by this client: every `send` wrote its bytes before returning.
    pub fn close(mut self) -> Result<(), SendError> {
        self.closed = true;
        let result = match self.conn.take() {
            Some(Conn::Link(Link::Tcp(s))) => s.shutdown(Shutdown::Write),
            Some(Conn::Custom(mut s)) => s.flush(),
            _ => Ok(()),
        };
        result.map_err(|source| SendError::Write {
            written: 0,
            total: 0,
            source,
        })
    }
}

fn open(host: &str, port: u16, config: &ClientConfig) -> Result<Link, SendError> {
    let link = net::connect(host, port, config.protocol, config.connect_timeout)?;
    let timeout = Some(config.write_timeout);
    let result = match &link {
        Link::Tcp(s) => s.set_write_timeout(timeout),
        Link::Udp(s) => s.set_write_timeout(timeout),
    };
    result.map_err(|source| SendError::Connect {
        target: format!("{host}:{port}"),
        source,
    })?;
    Ok(link)
}

/// Writes all of `bytes`, counting progress so a failure can tell how much went.
fn write_counting<W: Write + ?Sized>(
    stream: &mut W,
    bytes: &[u8],
    written: &mut usize,
) -> io::Result<()> {
    while *written < bytes.len() {
        match stream.write(&bytes[*written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => *written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    stream.flush()
}
