//! Plaintext over UDP: whole lines packed into datagrams.
//!
//! Carbon's UDP listener splits each datagram into lines; a line cut across
//! two datagrams would arrive as two bad lines. So lines are never split: a
//! datagram holds as many whole lines as fit under the size limit.

use bytes::{Bytes, BytesMut};

use crate::datapoint::Datapoint;
use crate::plaintext::{self, LineError};

/// The default datagram size: an Ethernet MTU of 1,500 minus IPv6 (40) and
/// UDP (8) headers and room for tunnel overhead, so datagrams are not
/// fragmented on common paths.
pub const DEFAULT_MAX_DATAGRAM_LEN: usize = 1432;

/// A datapoint whose line cannot fit in one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a {len}-byte line cannot fit in a {max}-byte datagram; lines are never split")]
pub struct LineTooLong {
    /// Length of the line, newline included.
    pub len: usize,
    /// The datagram limit.
    pub max: usize,
}

/// Packs plaintext lines into datagrams of at most a given size.
///
/// ```
/// use graphite_proto::{udp::DatagramPacker, Datapoint, MetricPath};
///
/// let mut packer = DatagramPacker::with_max_datagram_len(32);
/// let mut datagrams = Vec::new();
/// for ts in 0..4 {
///     let dp = Datapoint::new(MetricPath::new("servers.a.cpu")?, 1, ts);
///     datagrams.extend(packer.push(&dp)?);
/// }
/// datagrams.extend(packer.finish());
/// assert_eq!(datagrams.len(), 4); // each 18-byte line alone: two do not fit in 32
/// assert!(datagrams.iter().all(|d| d.len() <= 32 && d.ends_with(b"\n")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DatagramPacker {
    max_datagram_len: usize,
    current: BytesMut,
    /// The other buffer: datagrams alternate between two allocations, so
    /// the one just returned can be in the caller's hands while the next is
    /// filled, and is taken back (not reallocated) once the caller drops it.
    spare: BytesMut,
}

impl Default for DatagramPacker {
    fn default() -> Self {
        Self::new()
    }
}

impl DatagramPacker {
    /// A packer with [`DEFAULT_MAX_DATAGRAM_LEN`].
    pub fn new() -> Self {
        Self::with_max_datagram_len(DEFAULT_MAX_DATAGRAM_LEN)
    }

    /// A packer whose datagrams never exceed `max_datagram_len` bytes.
    pub fn with_max_datagram_len(max_datagram_len: usize) -> Self {
        Self {
            max_datagram_len,
            current: BytesMut::with_capacity(max_datagram_len),
            spare: BytesMut::new(),
        }
    }

    /// The datagram limit.
    pub fn max_datagram_len(&self) -> usize {
        self.max_datagram_len
    }

    /// Adds `dp`'s line. When it does not fit in the datagram being filled,
    /// that datagram is returned, complete, and the line starts the next one.
    pub fn push(&mut self, dp: &Datapoint) -> Result<Option<Bytes>, LineTooLong> {
        let len = plaintext::encoded_len(dp);
        if len > self.max_datagram_len {
            return Err(LineTooLong {
                len,
                max: self.max_datagram_len,
            });
        }
        let full = if self.current.len() + len > self.max_datagram_len {
            self.finish()
        } else {
            None
        };
        if self.current.capacity() < len {
            // Takes back the memory of the datagram before last if the
            // caller has dropped it; allocates only if it has not.
            self.current.reserve(self.max_datagram_len);
        }
        // Room was reserved above, so this cannot fail.
        let _ = plaintext::encode(dp, &mut self.current);
        Ok(full)
    }

    /// Returns the datagram being filled, if it holds any line.
    pub fn finish(&mut self) -> Option<Bytes> {
        if self.current.is_empty() {
            return None;
        }
        let datagram = self.current.split().freeze();
        std::mem::swap(&mut self.current, &mut self.spare);
        Some(datagram)
    }

    /// Bytes in the datagram being filled.
    pub fn pending_len(&self) -> usize {
        self.current.len()
    }
}

/// Decodes one received datagram: every line, in order.
pub fn decode_datagram(datagram: &[u8]) -> Vec<Result<Datapoint, LineError>> {
    plaintext::decode_all(datagram)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::MetricPath;

    #[test]
    fn lines_are_never_split() {
        let mut packer = DatagramPacker::with_max_datagram_len(100);
        let mut datagrams = Vec::new();
        let mut sent = Vec::new();
        for i in 0..50 {
            let dp = Datapoint::new(
                MetricPath::new(&format!("m.{i}")).expect("valid"),
                i,
                i64::from(i),
            );
            datagrams.extend(packer.push(&dp).expect("fits"));
            sent.push(dp);
        }
        datagrams.extend(packer.finish());
        assert!(datagrams.iter().all(|d| d.len() <= 100));
        let received: Vec<_> = datagrams
            .iter()
            .flat_map(|d| decode_datagram(d))
            .map(|r| r.expect("whole line"))
            .collect();
        assert_eq!(received, sent);
    }

    #[test]
    fn a_line_longer_than_a_datagram_is_an_error() {
        let mut packer = DatagramPacker::with_max_datagram_len(8);
        let dp = Datapoint::new(MetricPath::new("abc").expect("valid"), 1, 1);
        assert_eq!(packer.push(&dp), Ok(None), "exactly 8 bytes fits");
        let long = Datapoint::new(MetricPath::new("abcd").expect("valid"), 1, 1);
        assert_eq!(packer.push(&long), Err(LineTooLong { len: 9, max: 8 }));
    }
}
