//! Carbon's plaintext protocol: `metric SP value SP timestamp LF`.
//!
//! [`encode`] writes one line; [`PlaintextDecoder`] reads lines back from a
//! stream that arrives in arbitrary chunks, the way carbon's line receiver
//! does (split on whitespace, exactly three fields).

use bytes::{Buf, BufMut, BytesMut};

use crate::buffer::{InsufficientSize, ensure_room};
use crate::datapoint::{Datapoint, timestamp_from_f64};
use crate::path::{MAX_LINE_LEN, MetricPath, NameError};
use crate::value::{Value, ValueError, ValueFormatter};

/// Writes `dp` as one plaintext line and returns its length.
///
/// Allocates nothing. On a fixed buffer without room, nothing is written.
///
/// ```
/// use graphite_proto::{plaintext, Datapoint, MetricPath};
///
/// let dp = Datapoint::new(MetricPath::new("a.b")?, 7, 1_700_000_000);
/// let mut out = Vec::new();
/// plaintext::encode(&dp, &mut out)?;
/// assert_eq!(out, b"a.b 7 1700000000\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode(dp: &Datapoint, buf: &mut impl BufMut) -> Result<usize, InsufficientSize> {
    let mut scratch = LineScratch::default();
    let line = scratch.line(dp);
    ensure_room(buf, line.len())?;
    line.write(buf);
    Ok(line.len())
}

/// The length of `dp`'s plaintext line, newline included.
pub fn encoded_len(dp: &Datapoint) -> usize {
    LineScratch::default().line(dp).len()
}

/// Stack buffers for formatting a line's numbers once.
#[derive(Default)]
pub(crate) struct LineScratch {
    values: ValueFormatter,
    stamps: itoa::Buffer,
}

impl LineScratch {
    /// Formats `dp`'s numbers; the result knows its length before writing.
    pub(crate) fn line<'a>(&'a mut self, dp: &'a Datapoint) -> Line<'a> {
        Line {
            path: dp.path.as_bytes(),
            value: dp.value.format(&mut self.values).as_bytes(),
            stamp: self.stamps.format(dp.timestamp).as_bytes(),
        }
    }
}

/// One formatted line, not yet written.
pub(crate) struct Line<'a> {
    path: &'a [u8],
    value: &'a [u8],
    stamp: &'a [u8],
}

impl Line<'_> {
    /// Length with the two spaces and the newline.
    pub(crate) fn len(&self) -> usize {
        self.path.len() + self.value.len() + self.stamp.len() + 3
    }

    /// Writes the line; the caller has checked the room.
    #[inline]
    pub(crate) fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(self.path);
        buf.put_u8(b' ');
        buf.put_slice(self.value);
        buf.put_u8(b' ');
        buf.put_slice(self.stamp);
        buf.put_u8(b'\n');
    }
}

/// A line that does not hold exactly one valid datapoint.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct LineError {
    /// 1-based line number in the stream (or datagram).
    pub line: u64,
    /// What is wrong with it.
    pub kind: LineErrorKind,
}

/// What is wrong with a plaintext line.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LineErrorKind {
    /// The line was longer than the decoder's limit; it was skipped up to
    /// its newline (carbon would close the connection).
    #[error("line longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The line was not UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    NotUtf8 {
        /// Offset of the first bad byte.
        offset: usize,
    },
    /// Not exactly three whitespace-separated fields.
    #[error("{found} fields, expected 3 (metric value timestamp)")]
    FieldCount {
        /// How many fields the line had.
        found: usize,
    },
    /// The metric name was invalid.
    #[error("metric name: {0}")]
    Name(#[from] NameError),
    /// The value was not a number.
    #[error("value {0:?} is not a number")]
    BadValue(String),
    /// The value was NaN or infinite.
    #[error("value: {0}")]
    NonFinite(#[from] ValueError),
    /// The timestamp was not a number of seconds that fits in `i64`.
    #[error("timestamp {0:?} is not a Unix time in seconds")]
    BadTimestamp(String),
}

/// Parses one line (without its newline) as carbon does: surrounding
/// whitespace is ignored, and the rest must be exactly
/// `metric value timestamp`.
///
/// Integers are read exactly; other numbers as `f64`. A fractional timestamp
/// is truncated toward zero, as whisper does.
///
/// ```
/// use graphite_proto::{plaintext, Value};
///
/// let dp = plaintext::parse_line(b"a.b 0.5 1700000000\r")?;
/// assert_eq!((dp.path.as_str(), dp.value, dp.timestamp), ("a.b", Value::Float(0.5), 1_700_000_000));
/// assert!(plaintext::parse_line(b"a.b 1").is_err());
/// # Ok::<(), plaintext::LineErrorKind>(())
/// ```
pub fn parse_line(line: &[u8]) -> Result<Datapoint, LineErrorKind> {
    let text = std::str::from_utf8(line).map_err(|e| LineErrorKind::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let mut fields = text.split_whitespace();
    let (Some(name), Some(value), Some(stamp), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(LineErrorKind::FieldCount {
            found: text.split_whitespace().count(),
        });
    };
    let path = MetricPath::new(name)?;
    let value = parse_value(value)?;
    let timestamp = parse_timestamp(stamp)?;
    Ok(Datapoint {
        path,
        value,
        timestamp,
    })
}

fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn parse_value(text: &str) -> Result<Value, LineErrorKind> {
    if is_integer_text(text) {
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(Value::from(u));
        }
    }
    let float: f64 = text
        .parse()
        .map_err(|_| LineErrorKind::BadValue(text.to_owned()))?;
    Ok(Value::float(float)?)
}

fn parse_timestamp(text: &str) -> Result<i64, LineErrorKind> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(i);
    }
    let bad = || LineErrorKind::BadTimestamp(text.to_owned());
    let float: f64 = text.parse().map_err(|_| bad())?;
    timestamp_from_f64(float).ok_or_else(bad)
}

/// A streaming plaintext decoder.
///
/// Feed it whatever bytes arrived, in chunks of any size; each call to
/// [`decode`](Self::decode) returns the next complete line's datapoint or
/// error, consuming it from the buffer, or `None` when it needs more input.
/// A bad line yields an error for that line only; decoding goes on. Memory is
/// bounded: a line longer than the limit is reported and skipped without
/// being kept.
///
/// ```
/// use bytes::BytesMut;
/// use graphite_proto::plaintext::PlaintextDecoder;
///
/// let mut decoder = PlaintextDecoder::new();
/// let mut buf = BytesMut::from(&b"a.b 1 10\nbad line\nc.d 2"[..]);
/// assert_eq!(decoder.decode(&mut buf).unwrap()?.path.as_str(), "a.b");
/// assert!(decoder.decode(&mut buf).unwrap().is_err());
/// assert!(decoder.decode(&mut buf).is_none()); // "c.d 2" waits for its newline
/// buf.extend_from_slice(b" 20\n");
/// assert_eq!(decoder.decode(&mut buf).unwrap()?.timestamp, 20);
/// # Ok::<(), graphite_proto::plaintext::LineError>(())
/// ```
#[derive(Debug)]
pub struct PlaintextDecoder {
    max_line_len: usize,
    /// Bytes of the current line already searched for a newline.
    scanned: usize,
    /// Skipping the rest of an overlong line.
    discarding: bool,
    /// Number of the next line (1-based).
    line: u64,
}

impl Default for PlaintextDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl PlaintextDecoder {
    /// A decoder with carbon's line limit, [`MAX_LINE_LEN`].
    pub fn new() -> Self {
        Self::with_max_line_len(MAX_LINE_LEN)
    }

    /// A decoder that refuses lines longer than `max_line_len` bytes
    /// (newline excluded).
    pub fn with_max_line_len(max_line_len: usize) -> Self {
        Self {
            max_line_len,
            scanned: 0,
            discarding: false,
            line: 1,
        }
    }

    /// Decodes the next complete line in `src`, consuming it.
    ///
    /// Returns `None` when `src` holds no complete line; call again after
    /// appending more input. Blank lines are skipped.
    pub fn decode(&mut self, src: &mut BytesMut) -> Option<Result<Datapoint, LineError>> {
        loop {
            let newline = src[self.scanned..].iter().position(|&b| b == b'\n');
            let Some(pos) = newline.map(|p| p + self.scanned) else {
                self.scanned = src.len();
                let overlong = !self.discarding && src.len() > self.max_line_len;
                if overlong || self.discarding {
                    // Keep no part of an overlong line: memory stays bounded.
                    self.discarding = true;
                    src.clear();
                    self.scanned = 0;
                }
                if overlong {
                    return Some(Err(self.error(LineErrorKind::TooLong {
                        max: self.max_line_len,
                    })));
                }
                return None;
            };
            let line = src.split_to(pos + 1);
            self.scanned = 0;
            if std::mem::take(&mut self.discarding) {
                // The overlong line was already reported when it passed the limit.
                self.line += 1;
                continue;
            }
            if let Some(result) = self.finish_line(&line[..pos]) {
                return Some(result);
            }
        }
    }

    /// Decodes what is left at the end of the stream: complete lines first,
    /// then a last line without a newline.
    pub fn decode_eof(&mut self, src: &mut BytesMut) -> Option<Result<Datapoint, LineError>> {
        if let Some(result) = self.decode(src) {
            return Some(result);
        }
        let rest = src.split();
        self.scanned = 0;
        if std::mem::take(&mut self.discarding) {
            return None;
        }
        self.finish_line(&rest)
    }

    fn finish_line(&mut self, line: &[u8]) -> Option<Result<Datapoint, LineError>> {
        let result = if line.len() > self.max_line_len {
            Some(Err(self.error(LineErrorKind::TooLong {
                max: self.max_line_len,
            })))
        } else if line.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(parse_line(line).map_err(|kind| self.error(kind)))
        };
        self.line += 1;
        result
    }

    fn error(&self, kind: LineErrorKind) -> LineError {
        LineError {
            line: self.line,
            kind,
        }
    }
}

/// Decodes every line of a complete message (a UDP datagram, a file), in
/// order. Lines need not end with a newline at the very end.
///
/// ```
/// use graphite_proto::plaintext;
///
/// let results = plaintext::decode_all(b"a 1 1\nb 2 2\nnot valid");
/// assert_eq!(results.len(), 3);
/// assert!(results[2].is_err());
/// ```
pub fn decode_all(message: &[u8]) -> Vec<Result<Datapoint, LineError>> {
    let mut decoder = PlaintextDecoder::new();
    let mut src = BytesMut::from(message);
    let mut out = Vec::new();
    while let Some(result) = decoder.decode_eof(&mut src) {
        out.push(result);
    }
    src.advance(src.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dp(name: &str, value: Value, ts: i64) -> Datapoint {
        Datapoint::new(MetricPath::new(name).expect("valid"), value, ts)
    }

    #[test]
    fn encodes_lines() {
        let mut out = Vec::new();
        encode(&dp("a.b", Value::Float(0.1), 0), &mut out).expect("room");
        encode(&dp("c", Value::Int(-5), -1), &mut out).expect("room");
        assert_eq!(out, b"a.b 0.1 0\nc -5 -1\n");
        assert_eq!(encoded_len(&dp("c", Value::Int(-5), -1)), 8);
    }

    #[test]
    fn fixed_buffers_are_left_untouched_when_too_small() {
        let mut storage = [0_u8; 8];
        let mut slice = &mut storage[..];
        let err = encode(&dp("a.b", Value::Int(1), 10), &mut slice).expect_err("too small");
        assert_eq!(
            err,
            InsufficientSize {
                required: 9,
                available: 8
            }
        );
        assert_eq!(storage, [0; 8]);
    }

    #[test]
    fn parses_like_carbon() {
        let p = |s: &str| parse_line(s.as_bytes());
        assert_eq!(p("  a.b\t1e+20  5 ").expect("ok").value, Value::Float(1e20));
        assert_eq!(
            p("a 18446744073709551615 5").expect("ok").value,
            Value::UInt(u64::MAX)
        );
        assert_eq!(p("a 1 1.7e9").expect("ok").timestamp, 1_700_000_000);
        assert_eq!(
            p("a 1").expect_err("2 fields"),
            LineErrorKind::FieldCount { found: 2 }
        );
        assert_eq!(
            p("a 1 2 3").expect_err("4 fields"),
            LineErrorKind::FieldCount { found: 4 }
        );
        assert_eq!(
            p("a nan 2").expect_err("nan"),
            LineErrorKind::NonFinite(ValueError::NaN)
        );
        assert!(matches!(p("a x 2"), Err(LineErrorKind::BadValue(_))));
        assert!(matches!(p("a 1 inf"), Err(LineErrorKind::BadTimestamp(_))));
        assert!(matches!(p("a..b 1 2"), Err(LineErrorKind::Name(_))));
        assert!(matches!(
            parse_line(b"a\xff 1 2"),
            Err(LineErrorKind::NotUtf8 { offset: 1 })
        ));
    }

    #[test]
    fn overlong_lines_are_reported_once_and_skipped() {
        let mut decoder = PlaintextDecoder::with_max_line_len(16);
        let mut src = BytesMut::new();
        src.extend_from_slice(&[b'x'; 10]);
        assert!(decoder.decode(&mut src).is_none());
        src.extend_from_slice(&[b'x'; 10]);
        let err = decoder
            .decode(&mut src)
            .expect("reported")
            .expect_err("too long");
        assert_eq!(
            err,
            LineError {
                line: 1,
                kind: LineErrorKind::TooLong { max: 16 }
            }
        );
        assert!(src.is_empty(), "the overlong prefix is not kept");
        src.extend_from_slice(&[b'x'; 100]);
        assert!(decoder.decode(&mut src).is_none());
        src.extend_from_slice(b"xx\na 1 2\n");
        let ok = decoder.decode(&mut src).expect("line").expect("valid");
        assert_eq!(ok.path.as_str(), "a");
        assert!(decoder.decode(&mut src).is_none());
    }

    #[test]
    fn counts_lines_and_skips_blank_ones() {
        let results = decode_all(b"\n\na 1 1\nb\n");
        assert_eq!(results.len(), 2);
        assert_eq!(results[1].as_ref().expect_err("bad").line, 4);
    }
}
