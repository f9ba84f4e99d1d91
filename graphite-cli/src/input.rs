//! Datapoints given on the command line or stdin: `metric value [timestamp]`.

use std::ops::Range;

use bytes::Bytes;
use graphite_proto::client::IntoValue;
use graphite_proto::{Datapoint, MetricPath, NameError, Value, ValueError};

/// Why an input line was not sent.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct InputError {
    /// 1-based line number (0 for command-line arguments).
    pub line: usize,
    /// What is wrong.
    pub reason: Invalid,
}

/// What is wrong with a line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Invalid {
    /// Not two or three fields.
    #[error("{0} fields; expected `metric value [timestamp]`")]
    Fields(usize),
    /// The metric name was refused.
    #[error("invalid metric name: {0}")]
    Name(#[from] NameError),
    /// The value is not a number.
    #[error("value {0:?} is not a number")]
    NotANumber(String),
    /// The value is NaN or infinite.
    #[error("invalid value: {0}")]
    Value(#[from] ValueError),
    /// The timestamp is not a finite number of Unix seconds.
    #[error("timestamp {0:?} is not a number of Unix seconds")]
    Timestamp(String),
    /// The line is not UTF-8.
    #[error("not UTF-8 (byte {offset})")]
    NotUtf8 {
        /// Offset of the first byte that is not.
        offset: usize,
    },
}

/// Parses one `metric value [timestamp]` line; `now` fills a missing
/// timestamp.
pub fn parse(line: &str, number: usize, now: i64) -> Result<Datapoint, InputError> {
    let mut fields = line.split_whitespace();
    let parsed = match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(name), Some(value), stamp, None) => datapoint(name, value, stamp, now),
        _ => Err(Invalid::Fields(line.split_whitespace().count())),
    };
    parsed.map_err(|reason| InputError {
        line: number,
        reason,
    })
}

/// Parses the line at `line` of `block`, as [`parse`] does, the name
/// staying a slice of the block: no copy, no allocation.
///
/// ```
/// use bytes::Bytes;
/// use graphite_cli::input::parse_in;
///
/// let block = Bytes::from_static(b"a.b 1.5 10\nc 2\n");
/// let dp = parse_in(&block, 11..14, 2, 99)?;
/// assert_eq!((dp.path.as_str(), dp.timestamp), ("c", 99));
/// # Ok::<(), graphite_cli::input::InputError>(())
/// ```
pub fn parse_in(
    block: &Bytes,
    line: Range<usize>,
    number: usize,
    now: i64,
) -> Result<Datapoint, InputError> {
    let bytes = &block[line.clone()];
    let Some(fields) = ascii_fields(bytes) else {
        // Non-ASCII bytes outside the name's own checks: Unicode whitespace
        // separates fields too, as `split_whitespace` says.
        return match std::str::from_utf8(bytes) {
            Ok(text) => parse(text, number, now),
            Err(e) => Err(InputError {
                line: number,
                reason: Invalid::NotUtf8 {
                    offset: e.valid_up_to(),
                },
            }),
        };
    };
    let (name, value, stamp) = match fields {
        Fields::Two(name, value) => (name, value, None),
        Fields::Three(name, value, stamp) => (name, value, Some(stamp)),
        Fields::Other(count) => {
            return Err(InputError {
                line: number,
                reason: Invalid::Fields(count),
            });
        }
    };
    let base = line.start;
    let parsed = MetricPath::from_bytes(block.slice(base + name.start..base + name.end))
        .map_err(Invalid::from)
        .and_then(|path| {
            let value = match short_int(&bytes[value.clone()]) {
                Some(i) => Value::Int(i),
                None => parse_value(ascii(&bytes[value]))?,
            };
            let timestamp = match stamp.map(|s| &bytes[s]) {
                None => now,
                Some(stamp) => match short_int(stamp) {
                    Some(t) => t,
                    None => parse_timestamp(ascii(stamp))?,
                },
            };
            Ok(Datapoint::new(path, value, timestamp))
        });
    parsed.map_err(|reason| InputError {
        line: number,
        reason,
    })
}

/// Whether a line holds nothing but whitespace (Unicode's, as
/// `str::trim` says); such lines are skipped, not counted.
///
/// ```
/// assert!(graphite_cli::input::is_blank(b" \t\r"));
/// assert!(!graphite_cli::input::is_blank(b" a"));
/// ```
pub fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|&b| b == b' ' || (b'\t'..=b'\r').contains(&b))
        || (!line.is_ascii() && std::str::from_utf8(line).is_ok_and(|t| t.trim().is_empty()))
}

/// The fields of a line, as ranges of it.
enum Fields {
    Two(Range<usize>, Range<usize>),
    Three(Range<usize>, Range<usize>, Range<usize>),
    Other(usize),
}

/// Splits an all-ASCII line on whitespace (`split_whitespace`'s ASCII
/// part: space, tab, LF, VT, FF, CR); `None` if a byte is not ASCII.
fn ascii_fields(line: &[u8]) -> Option<Fields> {
    // Most lines are `name value timestamp` with single spaces: when no
    // byte is a control byte or outside ASCII (checked without branching,
    // so the compiler vectorises it), spaces alone separate the fields.
    let plain = line
        .iter()
        .fold(true, |ok, &b| ok & (b' '..0x80).contains(&b));
    if plain {
        let mut spaces = [0; 2];
        let mut count = 0;
        for (i, &b) in line.iter().enumerate() {
            if b == b' ' {
                if let Some(at) = spaces.get_mut(count) {
                    *at = i;
                }
                count += 1;
            }
        }
        let [first, second] = spaces;
        let len = line.len();
        match count {
            1 if first > 0 && first + 1 < len => {
                return Some(Fields::Two(0..first, first + 1..len));
            }
            2 if first > 0 && second > first + 1 && second + 1 < len => {
                return Some(Fields::Three(0..first, first + 1..second, second + 1..len));
            }
            _ => {}
        }
    }
    let mut fields: [Range<usize>; 3] = [0..0, 0..0, 0..0];
    let mut count = 0;
    let mut start = None;
    for (i, &b) in line.iter().enumerate() {
        if !b.is_ascii() {
            return None;
        }
        let space = b == b' ' || (b'\t'..=b'\r').contains(&b);
        match (space, start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                if let Some(field) = fields.get_mut(count) {
                    *field = s..i;
                }
                count += 1;
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        if let Some(field) = fields.get_mut(count) {
            *field = s..line.len();
        }
        count += 1;
    }
    let [name, value, stamp] = fields;
    Some(match count {
        2 => Fields::Two(name, value),
        3 => Fields::Three(name, value, stamp),
        n => Fields::Other(n),
    })
}

/// An ASCII field as text.
fn ascii(field: &[u8]) -> &str {
    // Only called on fields `ascii_fields` found all-ASCII.
    std::str::from_utf8(field).unwrap_or_default()
}

/// Builds a datapoint from its texts.
pub fn datapoint(
    name: &str,
    value: &str,
    stamp: Option<&str>,
    now: i64,
) -> Result<Datapoint, Invalid> {
    let path = MetricPath::new(name)?;
    let value = parse_value(value)?;
    let timestamp = stamp.map_or(Ok(now), parse_timestamp)?;
    Ok(Datapoint::new(path, value, timestamp))
}

fn parse_value(text: &str) -> Result<Value, Invalid> {
    if let Some(i) = short_int(text.as_bytes()) {
        return Ok(Value::Int(i));
    }
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Ok(Value::from(u));
    }
    let float: f64 = text
        .parse()
        .map_err(|_| Invalid::NotANumber(text.to_owned()))?;
    Ok(float.into_value()?)
}

/// `i64::from_str` for the common case, an optional sign and 1 to 18
/// digits (which cannot overflow); `None` for anything else, which then
/// takes the general parsers.
fn short_int(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut value: i64 = 0;
    for &b in digits {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + i64::from(digit);
    }
    Some(if negative { -value } else { value })
}

/// Carbon's `int(float(ts))`: fractional seconds are truncated toward zero.
fn parse_timestamp(text: &str) -> Result<i64, Invalid> {
    if let Some(whole) = short_int(text.as_bytes()) {
        return Ok(whole);
    }
    if let Ok(whole) = text.parse::<i64>() {
        return Ok(whole);
    }
    let invalid = || Invalid::Timestamp(text.to_owned());
    let float: f64 = text.parse().map_err(|_| invalid())?;
    // The range check keeps `as` exact: every float in it truncates to an i64.
    if float.is_finite() && float.abs() < 9.2e18 {
        Ok(float.trunc() as i64)
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_reports_why_not() {
        let dp = parse("a.b 1.5 10", 1, 99).expect("valid");
        assert_eq!(
            (dp.path.as_str(), dp.value, dp.timestamp),
            ("a.b", Value::Float(1.5), 10)
        );
        assert_eq!(parse("a.b 7", 1, 99).expect("valid").timestamp, 99);
        for bad in [
            "a",
            "a b c d",
            "a.. 1",
            "a nan",
            "a 1 x",
            "a\u{a0}b 1",
            "a 1 nan",
            "a 1 inf",
        ] {
            let err = parse(bad, 7, 0).expect_err(bad);
            assert_eq!(err.line, 7);
        }
        assert!(matches!(
            parse("a b c d", 1, 0).map_err(|e| e.reason),
            Err(Invalid::Fields(4))
        ));
    }

    #[test]
    fn a_line_in_a_block_parses_as_the_line_alone() {
        let lines = [
            "a.b 1.5 10",
            "a.b 7",
            "  a.b\t7\x0b 8 \r",
            "a",
            "a b c d",
            "a.. 1",
            "a nan",
            "a 1 x",
            "a\u{a0}b 1",
            "a\u{2003}1",
            "M\u{fc}nchen 1 2",
            "a 1 nan",
            "a 1 1e30",
            "a;x=y 3 4",
            "evil\rname 1 2",
            "a\0b 1",
            "18446744073709551615 18446744073709551615 -1.5",
            "a  1",
            " a 1",
            "a 1 ",
            "a 1  2",
            "a 1 2 3",
            "a  ",
            "-5 -5 -5",
            "+5 +5 +5",
            "a - 1",
            "a 1 +",
            "a 000000000000000001 0000000000000000001",
            "a 1234567890123456789 -9223372036854775808",
            "a 9223372036854775808 9223372036854775808",
            "a 1_000 1",
            "a 1.5e3 1.9",
        ];
        let mut text = lines.join("\n").into_bytes();
        text.extend_from_slice(b"\nbad\xff 1");
        let block = Bytes::from(text);
        let mut start = 0;
        for (number, line) in lines.iter().enumerate() {
            let range = start..start + line.len();
            start = range.end + 1;
            let fast = parse_in(&block, range, number, 99).map_err(|e| e.to_string());
            let slow = parse(line, number, 99).map_err(|e| e.to_string());
            assert_eq!(fast, slow, "{line:?}");
        }
        let err = parse_in(&block, start..block.len(), 9, 0).expect_err("not UTF-8");
        assert!(
            matches!(err.reason, Invalid::NotUtf8 { offset: 3 }),
            "{err}"
        );
    }

    #[test]
    fn blank_lines_as_trim_sees_them() {
        for blank in ["", " ", "\t\r", "\u{a0}\u{3000} "] {
            assert!(is_blank(blank.as_bytes()), "{blank:?}");
        }
        for not in ["a", " \u{e9}", "\u{a0}x"] {
            assert!(!is_blank(not.as_bytes()), "{not:?}");
        }
        assert!(!is_blank(b"\xff"));
    }

    #[test]
    fn fractional_timestamps_truncate_as_carbon_does() {
        // Python: int(float(ts)) for each.
        for (text, expected) in [
            ("1700000000.5", 1_700_000_000),
            ("1700000000.999", 1_700_000_000),
            ("-1.5", -1),
            ("1e9", 1_000_000_000),
            ("1.7E9", 1_700_000_000),
            ("+5", 5),
        ] {
            let dp = parse(&format!("a 1 {text}"), 1, 0).expect(text);
            assert_eq!(dp.timestamp, expected, "{text}");
        }
        assert!(parse("a 1 1e30", 1, 0).is_err(), "beyond i64 is refused");
    }
}
