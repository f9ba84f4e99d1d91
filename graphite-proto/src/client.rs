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
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::datapoint::Datapoint;
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
    /// Timeout of one `send` call's writes (default 10 s).
    pub write_timeout: Duration,
    /// Prepended to every name, with a `.` (default none).
    pub prefix: Option<MetricPath>,
    /// Tags added to every series that does not set them (default none).
    pub default_tags: Vec<(String, String)>,
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
            prefix: None,
            default_tags: Vec::new(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            max_datagram_len: DEFAULT_MAX_DATAGRAM_LEN,
        }
    }

    /// Sets [`protocol`](Self::protocol).
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`write_timeout`](Self::write_timeout).
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`prefix`](Self::prefix); it must be a plain (untagged) path.
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self, NameError> {
        let path = MetricPath::new(prefix)?;
        if path.is_tagged() {
            return Err(NameError::SeparatorInPart {
                part: 0,
                ch: ';',
                offset: path.name().len(),
            });
        }
        self.prefix = Some(path);
        Ok(self)
    }

    /// Sets [`default_tags`](Self::default_tags), checked as carbon would.
    pub fn with_default_tags<I, K, V>(mut self, tags: I) -> Result<Self, NameError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let tags: Vec<(String, String)> = tags
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        // Validate once, through the same rules as any series.
        MetricPath::tagged("x", tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        self.default_tags = tags;
        Ok(self)
    }

    /// Sets [`max_frame_len`](Self::max_frame_len).
    pub fn with_max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// Sets [`max_datagram_len`](Self::max_datagram_len).
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
    Encode(String),
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
    /// The server had closed the connection (seen before writing, so
    /// nothing of this batch was written); the next call reconnects.
    #[error("server closed the connection; nothing of this batch was written")]
    PeerClosed,
    /// The client was closed.
    #[error("client is closed")]
    Closed,
}

impl From<LineTooLong> for SendError {
    fn from(e: LineTooLong) -> Self {
        Self::Encode(e.to_string())
    }
}

impl From<PickleEncodeError> for SendError {
    fn from(e: PickleEncodeError) -> Self {
        Self::Encode(e.to_string())
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

/// The direct client's logic: prepares names and encodes batches.
#[derive(Clone, Debug)]
pub struct ClientCore {
    config: ClientConfig,
}

impl ClientCore {
    /// A core for `config`.
    pub fn new(config: ClientConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Applies the prefix and default tags to a name.
    pub fn prepare(&self, path: MetricPath) -> Result<MetricPath, NameError> {
        let path = match &self.config.prefix {
            Some(prefix) => path.with_prefix(prefix)?,
            None => path,
        };
        if self.config.default_tags.is_empty() {
            return Ok(path);
        }
        let missing: Vec<(&str, &str)> = self
            .config
            .default_tags
            .iter()
            .filter(|(k, _)| path.tags().all(|(own, _)| own != k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if missing.is_empty() {
            return Ok(path);
        }
        MetricPath::tagged(path.name(), path.tags().chain(missing))
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
                dp.path = self.prepare(dp.path)?;
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
        let core = ClientCore::new(config);
        let p = core
            .prepare(MetricPath::new("cpu;host=b").expect("valid"))
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
}
