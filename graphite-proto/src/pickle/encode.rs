//! Writing pickle frames.

use bytes::BufMut;

use super::{DEFAULT_MAX_FRAME_LEN, op};
use crate::buffer::{InsufficientSize, ensure_room};
use crate::datapoint::Datapoint;
use crate::value::Value;

/// Bytes of a frame that are not items: length prefix, `PROTO 2`,
/// `EMPTY_LIST`, `MARK`, `APPENDS`, `STOP`.
const FRAME_OVERHEAD: usize = 4 + 2 + 1 + 1 + 1 + 1;

/// Why a batch could not be written as pickle frames.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PickleEncodeError {
    /// One datapoint alone does not fit in a frame under the limit.
    #[error("datapoint {index} needs a {required}-byte frame payload; the limit is {limit}")]
    ItemTooLarge {
        /// Index of the datapoint in the batch.
        index: usize,
        /// Payload bytes a frame holding only it would need.
        required: usize,
        /// The frame limit.
        limit: usize,
    },
    /// A fixed output buffer ran out of room. The first `encoded`
    /// datapoints were written as whole frames; nothing of the rest was.
    #[error("{encoded} datapoints written before the buffer ran out: {source}")]
    InsufficientSize {
        /// Datapoints written as complete frames.
        encoded: usize,
        /// How much room was missing.
        source: InsufficientSize,
    },
}

/// Encodes datapoints as carbon pickle frames no larger than a limit.
///
/// ```
/// use graphite_proto::{pickle::PickleEncoder, Datapoint, MetricPath};
///
/// let batch = vec![Datapoint::new(MetricPath::new("a.b")?, 1, 1_700_000_000); 3];
/// let mut out = Vec::new();
/// let frames = PickleEncoder::new().encode_batch(&batch, &mut out)?;
/// assert_eq!(frames, 1);
/// assert_eq!(u32::from_be_bytes(out[..4].try_into()?) as usize, out.len() - 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PickleEncoder {
    max_frame_len: usize,
}

impl Default for PickleEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl PickleEncoder {
    /// An encoder with carbon's default limit, [`DEFAULT_MAX_FRAME_LEN`].
    pub fn new() -> Self {
        Self {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }

    /// An encoder whose frames' payloads (the bytes after the length
    /// prefix) never exceed `max_frame_len`; set it to the receiving carbon's
    /// `PICKLE_RECEIVER_MAX_LENGTH`.
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        Self { max_frame_len }
    }

    /// The payload limit.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// Bytes `dp` adds to a frame.
    pub fn item_len(dp: &Datapoint) -> usize {
        // BINUNICODE + u32 length + text, timestamp, value, TUPLE2, TUPLE2.
        1 + 4 + dp.path.len() + int_len(i128::from(dp.timestamp)) + value_len(dp.value) + 2
    }

    /// Writes one frame holding as many leading datapoints of `batch` as fit
    /// under the limit, and returns how many it took (at least one, unless
    /// `batch` is empty, which writes nothing).
    pub fn encode_frame(
        &self,
        batch: &[Datapoint],
        buf: &mut impl BufMut,
    ) -> Result<usize, PickleEncodeError> {
        let Some(first) = batch.first() else {
            return Ok(0);
        };
        let payload_limit = self.max_frame_len;
        let mut payload = FRAME_OVERHEAD - 4;
        let mut count = 0;
        for dp in batch {
            let item = Self::item_len(dp);
            if payload + item > payload_limit {
                break;
            }
            payload += item;
            count += 1;
        }
        if count == 0 {
            return Err(PickleEncodeError::ItemTooLarge {
                index: 0,
                required: FRAME_OVERHEAD - 4 + Self::item_len(first),
                limit: payload_limit,
            });
        }
        ensure_room(buf, payload + 4)
            .map_err(|source| PickleEncodeError::InsufficientSize { encoded: 0, source })?;
        write_header(payload, buf);
        for dp in &batch[..count] {
            write_item(dp, buf);
        }
        write_trailer(buf);
        Ok(count)
    }

    /// Writes `batch` as as many frames as needed and returns the number of
    /// frames. Checks every datapoint against the limit before writing
    /// anything.
    pub fn encode_batch(
        &self,
        batch: &[Datapoint],
        buf: &mut impl BufMut,
    ) -> Result<usize, PickleEncodeError> {
        for (index, dp) in batch.iter().enumerate() {
            let required = FRAME_OVERHEAD - 4 + Self::item_len(dp);
            if required > self.max_frame_len {
                return Err(PickleEncodeError::ItemTooLarge {
                    index,
                    required,
                    limit: self.max_frame_len,
                });
            }
        }
        let mut done = 0;
        let mut frames = 0;
        while done < batch.len() {
            done += self
                .encode_frame(&batch[done..], buf)
                .map_err(|e| match e {
                    PickleEncodeError::InsufficientSize { source, .. } => {
                        PickleEncodeError::InsufficientSize {
                            encoded: done,
                            source,
                        }
                    }
                    other => other,
                })?;
            frames += 1;
        }
        Ok(frames)
    }
}

/// Bytes of a frame around its items (length prefix included).
pub(crate) const FRAME_LEN_WITHOUT_ITEMS: usize = FRAME_OVERHEAD;

/// Writes the length prefix for a `payload`-byte frame and the opening
/// opcodes: `PROTO 2`, `EMPTY_LIST`, `MARK`.
pub(crate) fn write_header(payload: usize, buf: &mut impl BufMut) {
    // Lengths above u32::MAX cannot occur: frames are built under a limit
    // far below 4 GiB.
    buf.put_u32(u32::try_from(payload).unwrap_or(u32::MAX));
    buf.put_slice(&[op::PROTO, 2, op::EMPTY_LIST, op::MARK]);
}

/// Writes the closing opcodes: `APPENDS`, `STOP`.
pub(crate) fn write_trailer(buf: &mut impl BufMut) {
    buf.put_slice(&[op::APPENDS, op::STOP]);
}

/// Writes one `(path, (timestamp, value))` item.
pub(crate) fn write_item(dp: &Datapoint, buf: &mut impl BufMut) {
    buf.put_u8(op::BINUNICODE);
    // Paths are at most MAX_PATH_LEN bytes.
    buf.put_u32_le(u32::try_from(dp.path.len()).unwrap_or(u32::MAX));
    buf.put_slice(dp.path.as_bytes());
    write_int(i128::from(dp.timestamp), buf);
    match dp.value {
        Value::Int(i) => write_int(i128::from(i), buf),
        Value::UInt(u) => write_int(i128::from(u), buf),
        Value::Float(f) => {
            buf.put_u8(op::BINFLOAT);
            buf.put_f64(f);
        }
    }
    buf.put_slice(&[op::TUPLE2, op::TUPLE2]);
}

fn value_len(v: Value) -> usize {
    match v {
        Value::Int(i) => int_len(i128::from(i)),
        Value::UInt(u) => int_len(i128::from(u)),
        Value::Float(_) => 9,
    }
}

/// Bytes of the two's-complement little-endian form LONG1 needs for `v`.
fn long_bytes(v: i128) -> usize {
    (1..=16)
        .find(|&n| {
            let bits = 8 * n as u32;
            bits >= 128 || (v >= -(1_i128 << (bits - 1)) && v < (1_i128 << (bits - 1)))
        })
        .unwrap_or(16)
}

/// Encoded length of an integer, as CPython's protocol-2 pickler picks it.
fn int_len(v: i128) -> usize {
    if (0..=0xff).contains(&v) {
        2
    } else if (0..=0xffff).contains(&v) {
        3
    } else if i32::try_from(v).is_ok() {
        5
    } else {
        2 + long_bytes(v)
    }
}

fn write_int(v: i128, buf: &mut impl BufMut) {
    if let Ok(b) = u8::try_from(v) {
        buf.put_slice(&[op::BININT1, b]);
    } else if let Ok(h) = u16::try_from(v) {
        buf.put_u8(op::BININT2);
        buf.put_u16_le(h);
    } else if let Ok(i) = i32::try_from(v) {
        buf.put_u8(op::BININT);
        buf.put_i32_le(i);
    } else {
        let n = long_bytes(v);
        buf.put_slice(&[op::LONG1, n as u8]);
        buf.put_slice(&v.to_le_bytes()[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::MetricPath;

    fn dp(name: &str, value: Value, ts: i64) -> Datapoint {
        Datapoint::new(MetricPath::new(name).expect("valid"), value, ts)
    }

    #[test]
    fn matches_cpython_opcodes_without_memo() {
        // pickle.dumps([('a.b', (1700000000, 1.5)), ('c', (5, -3))], 2) minus BINPUTs.
        let mut out = Vec::new();
        let batch = [
            dp("a.b", Value::Float(1.5), 1_700_000_000),
            dp("c", Value::Int(-3), 5),
        ];
        PickleEncoder::new()
            .encode_batch(&batch, &mut out)
            .expect("fits");
        let mut expected =
            b"\x80\x02](Xa.bJ\x00\xf1SeG?\xf8\x00\x00\x00\x00\x00\x00\x86\x86".to_vec();
        expected.splice(5..5, *b"\x03\x00\x00\x00");
        expected.extend_from_slice(b"X\x01\x00\x00\x00cK\x05J\xfd\xff\xff\xff\x86\x86e.");
        assert_eq!(&out[4..], &expected[..]);
        assert_eq!(out.len(), 4 + expected.len());
    }

    #[test]
    fn large_integers_use_long1() {
        let mut out = Vec::new();
        write_int(i128::from(u64::MAX), &mut out);
        assert_eq!(out, b"\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00");
        out.clear();
        write_int(1 << 31, &mut out);
        assert_eq!(out, b"\x8a\x05\x00\x00\x00\x80\x00");
        out.clear();
        write_int(-129, &mut out);
        assert_eq!(out, b"J\x7f\xff\xff\xff");
        for v in [
            0,
            255,
            256,
            65535,
            65536,
            -1,
            i128::from(i64::MIN),
            i128::from(u64::MAX),
        ] {
            out.clear();
            write_int(v, &mut out);
            assert_eq!(out.len(), int_len(v), "{v}");
        }
    }

    #[test]
    fn splits_batches_under_the_limit() {
        let batch: Vec<_> = (0..1000)
            .map(|i| dp("servers.host.cpu", Value::Int(i), i))
            .collect();
        let encoder = PickleEncoder::with_max_frame_len(1000);
        let mut out = Vec::new();
        let frames = encoder.encode_batch(&batch, &mut out).expect("fits");
        let mut rest = &out[..];
        let mut seen = 0;
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
            assert!(len <= 1000);
            rest = &rest[4 + len..];
            seen += 1;
        }
        assert_eq!(seen, frames);
        assert!(frames > 1);
    }

    #[test]
    fn refuses_items_that_cannot_fit() {
        let encoder = PickleEncoder::with_max_frame_len(20);
        let err = encoder.encode_batch(&[dp("a.long.name", Value::Int(1), 1)], &mut Vec::new());
        assert!(matches!(
            err,
            Err(PickleEncodeError::ItemTooLarge {
                index: 0,
                limit: 20,
                ..
            })
        ));
    }
}
