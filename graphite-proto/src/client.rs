//! The sans-IO half of the direct client (aiographite's API): configuration,
//! argument conversion, name preparation, batch encoding, and the
//! accounting that lets a failed write say how much of the batch may have
//! reached the server.
//!
//! The runtime crates put a socket under it: their `Client::send` calls
//! [`ClientCore::encode`], writes [`Outgoing::stream`] (or each of
//! [`Outgoing::datagrams`]), and on failure reports
//! [`Outgoing::delivered`] datapoints in a [`SendError`].

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::datapoint::Datapoint;
use crate::naming::Naming;
use crate::path::{MetricPath, NameError};
use crate::pickle::{DEFAULT_MAX_FRAME_LEN, PickleEncodeError, PickleEncoder};
use crate::plaintext;
use crate::protocol::Protocol;
use crate::udp::{DEFAULT_MAX_DATAGRAM_LEN, DatagramPacker, LineTooLong};
use crate::value::{Value, ValueError};

/// Settings of a direct client, with documented defaults.
///
/// ```
/// use std::time::Duration;
/// use graphite_proto::{client::ClientConfig, Protocol};
///
/// let config = ClientConfig::new(Protocol::Pickle)
///     .with_prefix("prod.web1")?
///     .with_default_tags([("dc", "eu")])?
///     .with_write_timeout(Duration::from_secs(2));
/// assert_eq!(config.protocol.default_port(), 2004);
/// # Ok::<(), graphite_proto::NameError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Wire protocol (default plaintext).
    pub protocol: Protocol,
    /// Per-address connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Bound on all the writes of one `send` or `send_multiple` call
    /// (default 10 s).
    pub write_timeout: Duration,
    /// Prefix and default tags applied to every name (default none).
    pub naming: Naming,
    /// Pickle payload limit (default carbon's 1 MiB).
    pub max_frame_len: usize,
    /// UDP datagram size (default 1,432).
    pub max_datagram_len: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self::new(Protocol::Plaintext)
    }
}

impl ClientConfig {
    /// Defaults for `protocol`.
    pub fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            connect_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            naming: Naming::default(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            max_datagram_len: DEFAULT_MAX_DATAGRAM_LEN,
        }
    }

    /// Sets [`protocol`](Self::protocol).
    #[must_use = "returns the new configuration"]
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use = "returns the new configuration"]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`write_timeout`](Self::write_timeout).
    #[must_use = "returns the new configuration"]
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Prepends `prefix` and a `.` to every name (see [`Naming`]).
    #[must_use = "returns the new configuration"]
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self, NameError> {
        self.naming = self.naming.with_prefix(prefix)?;
        Ok(self)
    }

    /// Adds these tags to every series that does not set them (see
    /// [`Naming`]).
    #[must_use = "returns the new configuration"]
    pub fn with_default_tags<I, K, V>(mut self, tags: I) -> Result<Self, NameError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.naming = self.naming.with_default_tags(tags)?;
        Ok(self)
    }

    /// Sets [`max_frame_len`](Self::max_frame_len).
    #[must_use = "returns the new configuration"]
    pub fn with_max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// Sets [`max_datagram_len`](Self::max_datagram_len).
    #[must_use = "returns the new configuration"]
    pub fn with_max_datagram_len(mut self, bytes: usize) -> Self {
        self.max_datagram_len = bytes;
        self
    }
}

/// Anything `send` accepts as a metric name: a validated [`MetricPath`]
/// (no further check) or text (validated; refused with a typed error before
/// anything is written).
pub trait IntoMetricPath {
    /// Converts, validating text.
    fn into_metric_path(self) -> Result<MetricPath, NameError>;
}

impl IntoMetricPath for MetricPath {
    fn into_metric_path(self) -> Result<MetricPath, NameError> {
        Ok(self)
    }
}

impl IntoMetricPath for &MetricPath {
    fn into_metric_path(self) -> Result<MetricPath, NameError> {
        Ok(self.clone())
    }
}

impl IntoMetricPath for &str {
    fn into_metric_path(self) -> Result<MetricPath, NameError> {
        MetricPath::new(self)
    }
}

impl IntoMetricPath for String {
    fn into_metric_path(self) -> Result<MetricPath, NameError> {
        MetricPath::new(&self)
    }
}

impl IntoMetricPath for &String {
    fn into_metric_path(self) -> Result<MetricPath, NameError> {
        MetricPath::new(self)
    }
}

/// Anything `send` accepts as a value: integers, and floats (NaN and
/// infinities refused).
pub trait IntoValue {
    /// Converts, refusing non-finite floats.
    fn into_value(self) -> Result<Value, ValueError>;
}

macro_rules! into_value_exact {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Result<Value, ValueError> {
                Ok(Value::from(self))
            }
        }
    )*};
}
into_value_exact!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl IntoValue for f64 {
    fn into_value(self) -> Result<Value, ValueError> {
        Value::float(self)
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> Result<Value, ValueError> {
        Value::float(f64::from(self))
    }
}

impl IntoValue for Value {
    fn into_value(self) -> Result<Value, ValueError> {
        Ok(self)
    }
}

/// One item of `send_multiple`: `(metric, value)` takes the call's default
/// timestamp (or "now"), `(metric, value, timestamp)` its own. An item
/// without a timestamp never inherits another item's (aiographite's bug).
pub trait IntoItem {
    /// Converts to a datapoint, with `default_timestamp` for items without one.
    fn into_datapoint(self, default_timestamp: i64) -> Result<Datapoint, SendError>;
}

impl<M: IntoMetricPath, V: IntoValue> IntoItem for (M, V) {
    fn into_datapoint(self, default_timestamp: i64) -> Result<Datapoint, SendError> {
        Ok(Datapoint::new(
            self.0.into_metric_path()?,
            self.1.into_value()?,
            default_timestamp,
        ))
    }
}

impl<M: IntoMetricPath, V: IntoValue> IntoItem for (M, V, i64) {
    fn into_datapoint(self, _: i64) -> Result<Datapoint, SendError> {
        Ok(Datapoint::new(
            self.0.into_metric_path()?,
            self.1.into_value()?,
            self.2,
        ))
    }
}

impl IntoItem for Datapoint {
    fn into_datapoint(self, _: i64) -> Result<Datapoint, SendError> {
        Ok(self)
    }
}

/// Why a `send`, `send_multiple`, `connect` or `close` failed.
///
/// Write failures say how many datapoints of the batch were written whole
/// before the failure (`written`): those may have reached the server, the
/// rest did not. Nothing is retried behind your back, so nothing is
/// duplicated silently: resend the tail (`&items[written..]`) if you wish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A metric name was refused; nothing was written.
    #[error("invalid metric name: {0}")]
    Name(#[from] NameError),
    /// A value was refused; nothing was written.
    #[error("invalid value: {0}")]
    Value(#[from] ValueError),
    /// A datapoint cannot be framed (longer than a datagram, or than the
    /// pickle frame limit); nothing was written.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// No address of the host accepted a connection.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// `host:port` and the addresses tried.
        target: String,
        /// The last address's error.
        source: io::Error,
    },
    /// A write failed.
    #[error("write failed after {written} of {total} datapoints: {source}")]
    Write {
        /// Datapoints written whole before the failure.
        written: usize,
        /// Datapoints in the batch.
        total: usize,
        /// The socket's error.
        source: io::Error,
    },
    /// The server accepted nothing for the write timeout.
    #[error("write timed out after {written} of {total} datapoints ({timeout:?})")]
    WriteTimeout {
        /// Datapoints written whole before the timeout.
        written: usize,
        /// Datapoints in the batch.
        total: usize,
        /// The timeout.
        timeout: Duration,
    },
    /// The server had closed the connection of a client made from a
    /// stream, which cannot reconnect; nothing of this batch was written.
    #[error("server closed the connection; nothing of this batch was written")]
    PeerClosed,
}

impl SendError {
    /// The error of a connection attempt to every address of `host:port`.
    pub fn connect_failed(host: &str, port: u16, addrs: &[SocketAddr], last: io::Error) -> Self {
        Self::Connect {
            target: format!("{host}:{port} ({addrs:?})"),
            source: last,
        }
    }

    /// The error of resolving `host`.
    pub fn resolve_failed(host: &str, source: io::Error) -> Self {
        Self::Resolve {
            host: host.to_owned(),
            source,
        }
    }
}

/// Why a batch cannot be put in wire form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A line is longer than a UDP datagram.
    #[error(transparent)]
    LineTooLong(#[from] LineTooLong),
    /// A datapoint cannot fit in a pickle frame.
    #[error(transparent)]
    Pickle(#[from] PickleEncodeError),
}

impl From<LineTooLong> for SendError {
    fn from(e: LineTooLong) -> Self {
        Self::Encode(e.into())
    }
}

impl From<PickleEncodeError> for SendError {
    fn from(e: PickleEncodeError) -> Self {
        Self::Encode(e.into())
    }
}

/// One batch in wire form, with what is needed to account for a failure.
#[derive(Clone, Debug)]
pub struct Outgoing {
    protocol: Protocol,
    bytes: Bytes,
    /// End offset and cumulative datapoints of each frame or datagram
    /// (plaintext lines are counted from the bytes instead).
    units: Vec<(usize, usize)>,
    datapoints: usize,
}

impl Outgoing {
    /// Everything to write on a stream.
    pub fn stream(&self) -> &Bytes {
        &self.bytes
    }

    /// The datagrams to send, in order (UDP).
    pub fn datagrams(&self) -> impl Iterator<Item = Bytes> + '_ {
        let mut start = 0;
        self.units.iter().map(move |&(end, _)| {
            let datagram = self.bytes.slice(start..end);
            start = end;
            datagram
        })
    }

    /// Datapoints in the batch.
    pub fn len(&self) -> usize {
        self.datapoints
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.datapoints == 0
    }

    /// Datapoints whose bytes lie wholly within the first `written` bytes:
    /// whole lines for plaintext, whole frames for pickle, whole datagrams
    /// for UDP. (Carbon discards a partial frame or line.)
    pub fn delivered(&self, written: usize) -> usize {
        let written = written.min(self.bytes.len());
        match self.protocol {
            Protocol::Plaintext => self.bytes[..written]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            _ => self
                .units
                .iter()
                .take_while(|&&(end, _)| end <= written)
                .last()
                .map_or(0, |&(_, n)| n),
        }
    }
}

/// The writes of one batch: what to write next, how far it got, and the
/// error that says how much was delivered when it fails or times out.
#[derive(Clone, Debug)]
pub struct WriteCursor {
    outgoing: Outgoing,
    /// Bytes written so far.
    written: usize,
    /// Datagrams sent so far (UDP).
    datagram: usize,
    deadline: Instant,
    timeout: Duration,
}

impl WriteCursor {
    /// The bytes to write next: the unwritten rest of the stream, or the
    /// next whole datagram. `None` once everything is written.
    #[must_use]
    pub fn chunk(&self) -> Option<Bytes> {
        match self.outgoing.protocol {
            Protocol::Udp => self.outgoing.datagrams().nth(self.datagram),
            _ => (self.written < self.outgoing.bytes.len())
                .then(|| self.outgoing.bytes.slice(self.written..)),
        }
    }

    /// `n` bytes of [`chunk`](Self::chunk) were written (a datagram is
    /// sent whole). Writing nothing on a stream is a failure.
    pub fn advance(&mut self, n: usize) -> Result<(), SendError> {
        if n == 0 {
            return Err(self.fail(io::ErrorKind::WriteZero.into()));
        }
        self.written += n;
        if self.outgoing.protocol == Protocol::Udp {
            self.datagram += 1;
        }
        Ok(())
    }

    /// When every write of the batch must be done.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How long the next write may wait, or the time-out error once the
    /// deadline has passed.
    pub fn time_left(&self, now: Instant) -> Result<Duration, SendError> {
        match self.deadline.checked_duration_since(now) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(self.timed_out()),
        }
    }

    /// The error for a write that failed with `source`: a socket time-out
    /// (`WouldBlock`, `TimedOut`) is [`SendError::WriteTimeout`], anything
    /// else [`SendError::Write`]. Either says how many datapoints went whole.
    pub fn fail(&self, source: io::Error) -> SendError {
        if matches!(
            source.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            return self.timed_out();
        }
        SendError::Write {
            written: self.outgoing.delivered(self.written),
            total: self.outgoing.len(),
            source,
        }
    }

    /// The error for a batch whose writes did not end by the deadline.
    pub fn timed_out(&self) -> SendError {
        SendError::WriteTimeout {
            written: self.outgoing.delivered(self.written),
            total: self.outgoing.len(),
            timeout: self.timeout,
        }
    }
}

/// The direct client's logic: prepares names, encodes batches, decides
/// when to (re)connect, and follows each batch's writes with a
/// [`WriteCursor`].
///
/// An adapter's `send_multiple` is:
///
/// ```no_run
/// # use std::io::Write;
/// # use std::time::Instant;
/// # use graphite_proto::client::{ClientConfig, ClientCore, SendError};
/// # fn demo(core: &ClientCore, socket: &mut std::net::TcpStream) -> Result<(), SendError> {
/// let Some(mut cursor) = core.batch(Instant::now(), [("app.requests", 1)], 1_700_000_000)? else {
///     return Ok(()); // nothing to send
/// };
/// while let Some(chunk) = cursor.chunk() {
///     cursor.time_left(Instant::now())?; // bound the write by this
///     let n = socket.write(&chunk).map_err(|e| cursor.fail(e))?;
///     cursor.advance(n)?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ClientCore {
    config: ClientConfig,
    reconnects: bool,
}

impl ClientCore {
    /// A core for `config`; `reconnects` is false for a client made from a
    /// stream the caller connected (it cannot be connected again).
    pub fn new(config: ClientConfig, reconnects: bool) -> Self {
        Self { config, reconnects }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Whether to connect before writing, given whether a connection is
    /// open (and its peer has not closed it). A client that cannot
    /// reconnect fails with [`SendError::PeerClosed`].
    pub fn must_connect(&self, connected: bool) -> Result<bool, SendError> {
        match (connected, self.reconnects) {
            (true, _) => Ok(false),
            (false, true) => Ok(true),
            (false, false) => Err(SendError::PeerClosed),
        }
    }

    /// Converts and encodes `send_multiple`'s items (see
    /// [`datapoints`](Self::datapoints)) into a cursor over their bytes,
    /// whose writes must end by `now` plus the write timeout. `None` when
    /// there is nothing to write.
    pub fn batch<I, T>(
        &self,
        now: Instant,
        items: I,
        default_timestamp: i64,
    ) -> Result<Option<WriteCursor>, SendError>
    where
        I: IntoIterator<Item = T>,
        T: IntoItem,
    {
        let batch = self.datapoints(items, default_timestamp)?;
        let outgoing = self.encode(&batch)?;
        if outgoing.is_empty() {
            return Ok(None);
        }
        Ok(Some(WriteCursor {
            outgoing,
            written: 0,
            datagram: 0,
            deadline: now + self.config.write_timeout,
            timeout: self.config.write_timeout,
        }))
    }

    /// Applies the prefix and default tags to a name.
    pub fn prepare(&self, path: &MetricPath) -> Result<MetricPath, NameError> {
        self.config.naming.apply(path)
    }

    /// Converts `send_multiple`'s items, applying the default timestamp,
    /// prefix and tags. Fails on the first invalid item, before anything is
    /// written.
    pub fn datapoints<I, T>(
        &self,
        items: I,
        default_timestamp: i64,
    ) -> Result<Vec<Datapoint>, SendError>
    where
        I: IntoIterator<Item = T>,
        T: IntoItem,
    {
        items
            .into_iter()
            .map(|item| {
                let mut dp = item.into_datapoint(default_timestamp)?;
                if !self.config.naming.is_empty() {
                    dp.path = self.prepare(&dp.path)?;
                }
                Ok(dp)
            })
            .collect()
    }

    /// Encodes a batch for the configured protocol.
    pub fn encode(&self, batch: &[Datapoint]) -> Result<Outgoing, SendError> {
        let mut bytes = BytesMut::new();
        let mut units = Vec::new();
        match self.config.protocol {
            Protocol::Plaintext => {
                for dp in batch {
                    // A BytesMut grows as needed.
                    let _ = plaintext::encode(dp, &mut bytes);
                }
            }
            Protocol::Pickle => {
                let encoder = PickleEncoder::with_max_frame_len(self.config.max_frame_len);
                let mut done = 0;
                while done < batch.len() {
                    done += encoder.encode_frame(&batch[done..], &mut bytes)?;
                    units.push((bytes.len(), done));
                }
            }
            Protocol::Udp => {
                let mut packer =
                    DatagramPacker::with_max_datagram_len(self.config.max_datagram_len);
                let mut done = 0;
                for dp in batch {
                    if let Some(datagram) = packer.push(dp)? {
                        bytes.extend_from_slice(&datagram);
                        units.push((bytes.len(), done));
                    }
                    done += 1;
                }
                if let Some(datagram) = packer.finish() {
                    bytes.extend_from_slice(&datagram);
                    units.push((bytes.len(), done));
                }
            }
        }
        Ok(Outgoing {
            protocol: self.config.protocol,
            bytes: bytes.freeze(),
            units,
            datapoints: batch.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(protocol: Protocol) -> ClientCore {
        ClientCore::new(
            ClientConfig::new(protocol)
                .with_max_datagram_len(64)
                .with_max_frame_len(128),
            true,
        )
    }

    fn batch(n: i64) -> Vec<Datapoint> {
        (0..n)
            .map(|i| {
                Datapoint::new(
                    MetricPath::new("a.metric").expect("valid"),
                    i,
                    1_700_000_000 + i,
                )
            })
            .collect()
    }

    #[test]
    fn delivered_counts_only_whole_units() {
        for protocol in [Protocol::Plaintext, Protocol::Pickle, Protocol::Udp] {
            let out = core(protocol).encode(&batch(20)).expect("encodes");
            assert_eq!(out.delivered(0), 0);
            assert_eq!(out.delivered(out.stream().len()), 20, "{protocol}");
            let mut last = 0;
            for n in 0..=out.stream().len() {
                let d = out.delivered(n);
                assert!(d >= last, "monotonic");
                last = d;
            }
            if protocol != Protocol::Plaintext {
                assert!(out.datagrams().count() > 1, "{protocol}: several units");
                assert_eq!(
                    out.delivered(out.stream().len() - 1),
                    out.units[out.units.len() - 2].1
                );
            }
        }
    }

    #[test]
    fn items_never_inherit_another_items_timestamp() {
        let core = core(Protocol::Plaintext);
        let dps = core
            .datapoints([("a", 1, 5)], 100)
            .and_then(|mut v| {
                v.extend(core.datapoints([("b", 2)], 100)?);
                Ok(v)
            })
            .expect("valid");
        assert_eq!((dps[0].timestamp, dps[1].timestamp), (5, 100));
        assert!(matches!(
            core.datapoints([("a b", 1)], 0),
            Err(SendError::Name(_))
        ));
        assert!(matches!(
            core.datapoints([("a", f64::NAN)], 0),
            Err(SendError::Value(_))
        ));
    }

    #[test]
    fn prefix_and_default_tags_are_applied() {
        let config = ClientConfig::new(Protocol::Plaintext)
            .with_prefix("prod")
            .and_then(|c| c.with_default_tags([("dc", "eu"), ("host", "a")]))
            .expect("valid");
        let core = ClientCore::new(config, true);
        let p = core
            .prepare(&MetricPath::new("cpu;host=b").expect("valid"))
            .expect("valid");
        assert_eq!(p.as_str(), "prod.cpu;dc=eu;host=b");
        assert!(
            ClientConfig::new(Protocol::Plaintext)
                .with_prefix("a;b=c")
                .is_err()
        );
        assert!(
            ClientConfig::new(Protocol::Plaintext)
                .with_default_tags([("a!", "b")])
                .is_err()
        );
    }

    #[test]
    fn the_cursor_walks_the_batch_and_reports_what_went() {
        let now = Instant::now();
        for protocol in [Protocol::Plaintext, Protocol::Pickle, Protocol::Udp] {
            let core = core(protocol);
            let items: Vec<Datapoint> = batch(20);
            let mut cursor = core
                .batch(now, items, 0)
                .expect("valid")
                .expect("not empty");
            let mut sent = Vec::new();
            let mut chunks = 0;
            while let Some(chunk) = cursor.chunk() {
                // A stream takes at most 7 bytes a write; a datagram goes whole.
                let n = if protocol == Protocol::Udp {
                    chunk.len()
                } else {
                    chunk.len().min(7)
                };
                sent.extend_from_slice(&chunk[..n]);
                cursor.advance(n).expect("progress");
                chunks += 1;
            }
            let whole = core.encode(&batch(20)).expect("encodes");
            assert_eq!(sent, whole.stream().as_ref(), "{protocol}");
            assert!(chunks > 1, "{protocol}");
            assert!(matches!(
                cursor.fail(io::ErrorKind::BrokenPipe.into()),
                SendError::Write {
                    written: 20,
                    total: 20,
                    ..
                }
            ));
        }
        let mut cursor = core(Protocol::Plaintext)
            .batch(now, batch(3), 0)
            .expect("valid")
            .expect("not empty");
        assert!(matches!(
            cursor.advance(0),
            Err(SendError::Write {
                written: 0,
                total: 3,
                ..
            })
        ));
        assert!(cursor.time_left(now).is_ok());
        assert!(matches!(
            cursor.time_left(cursor.deadline()),
            Err(SendError::WriteTimeout {
                written: 0,
                total: 3,
                ..
            })
        ));
        assert!(matches!(
            cursor.fail(io::ErrorKind::WouldBlock.into()),
            SendError::WriteTimeout { .. }
        ));
        let empty: [(&str, i64); 0] = [];
        assert!(
            core(Protocol::Plaintext)
                .batch(now, empty, 0)
                .expect("valid")
                .is_none()
        );
        assert!(
            core(Protocol::Plaintext)
                .must_connect(false)
                .expect("reconnects")
        );
        assert!(matches!(
            ClientCore::new(ClientConfig::default(), false).must_connect(false),
            Err(SendError::PeerClosed)
        ));
    }
}
