//! [`ClientCore`]: the direct client's decisions.

use std::time::Instant;

use bytes::BytesMut;

use crate::convert::IntoItem;
use crate::datapoint::Datapoint;
use crate::path::{MetricPath, NameError};
use crate::pickle::PickleEncoder;
use crate::plaintext;
use crate::protocol::Protocol;
use crate::udp::DatagramPacker;

use super::{ClientConfig, Outgoing, SendError, WriteCursor};

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
    use std::io;

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
