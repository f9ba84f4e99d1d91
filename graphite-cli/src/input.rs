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
    let base = line.start;
    let shift = |r: Range<usize>| base + r.start..base + r.end;
    match fields {
        Fields::Two(name, value) => build(block, shift(name), shift(value), None, number, now),
        Fields::Three(name, value, stamp) => build(
            block,
            shift(name),
            shift(value),
            Some(shift(stamp)),
            number,
            now,
        ),
        Fields::Other(count) => Err(InputError {
            line: number,
            reason: Invalid::Fields(count),
        }),
    }
}

/// A datapoint from its fields, ranges of `block` of ASCII text: the name
/// a slice of the block, the numbers parsed from their bytes.
fn build(
    block: &Bytes,
    name: Range<usize>,
    value: Range<usize>,
    stamp: Option<Range<usize>>,
    number: usize,
    now: i64,
) -> Result<Datapoint, InputError> {
    let parsed = MetricPath::from_bytes(block.slice(name))
        .map_err(Invalid::from)
        .and_then(|path| {
            let value = &block[value];
            let value = match short_int(value) {
                Some(i) => Value::Int(i),
                None => parse_value(ascii(value))?,
            };
            let timestamp = match stamp.map(|s| &block[s]) {
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

/// Lines of one block: how many there were, how many were not blank, how
/// many were refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockCounts {
    /// Every line, blank or not (the next block's first line number is
    /// this much further).
    pub read: usize,
    /// Lines that were not blank, valid or not.
    pub lines: u64,
    /// Lines refused.
    pub invalid: u64,
}

/// Parses every line of `block` (whole lines, as
/// [`LineBlocks`](crate::blocks::LineBlocks) gives them; its first line is
/// number `first_line`), as [`parse_in`] would one by one: datapoints go
/// to `out`, each refused line to `refused`, blank lines are skipped.
///
/// In a block of printable ASCII (the usual case), a line of the form
/// `name value [stamp]` with single spaces is read in one pass from its
/// start: the name up to the first space (checked by [`MetricPath`]), the
/// numbers parsed as their digits go by, and the line's end found where
/// the last field ends. A line that does not fit that shape, or is
/// refused, is parsed again by [`parse_in`], which names the reason.
///
/// ```
/// use bytes::Bytes;
/// use graphite_cli::input::parse_block;
///
/// let block = Bytes::from_static(b"a.b 1 10\n\nbad\nc 2.5\n");
/// let (mut out, mut refused) = (Vec::new(), Vec::new());
/// let counts = parse_block(&block, 1, 99, &mut out, |e| refused.push(e.line));
/// assert_eq!((counts.read, counts.lines, counts.invalid, out.len()), (4, 3, 1, 2));
/// assert_eq!((out[1].path.as_str(), out[1].timestamp), ("c", 99));
/// assert_eq!(refused, [3]);
/// ```
pub fn parse_block(
    block: &Bytes,
    first_line: usize,
    now: i64,
    out: &mut Vec<Datapoint>,
    mut refused: impl FnMut(InputError),
) -> BlockCounts {
    let mut counts = BlockCounts::default();
    let plain = is_plain(block);
    let mut number = first_line;
    let mut start = 0;
    while start < block.len() {
        let fast = if plain {
            plain_line(block, start, now, out)
        } else {
            None
        };
        let end = match fast {
            Some(end) => {
                counts.lines += 1;
                end
            }
            None => {
                let end = memchr::memchr(b'\n', &block[start..]).map_or(block.len(), |i| start + i);
                let line = start..end;
                if !is_blank(&block[line.clone()]) {
                    counts.lines += 1;
                    match parse_in(block, line, number, now) {
                        Ok(dp) => out.push(dp),
                        Err(e) => {
                            counts.invalid += 1;
                            refused(e);
                        }
                    }
                }
                end
            }
        };
        number += 1;
        start = end + 1;
    }
    counts.read = number - first_line;
    counts
}

/// The line starting at `start` of a printable-ASCII block, read in one
/// pass if it is `name value [stamp]` with single spaces and valid: its
/// datapoint pushed to `out` (built in place, not returned: it is large),
/// and where the line ends (its `\n`, or the block's end). `None` for
/// anything else, which [`parse_in`] then parses (and says why not); in
/// such a block, space and `\n` are the only bytes up to `b' '`.
fn plain_line(block: &Bytes, start: usize, now: i64, out: &mut Vec<Datapoint>) -> Option<usize> {
    let line = &block[start..];
    let name_len = separator_from(line, 0)?;
    if line[name_len] != b' ' {
        return None;
    }
    let path = MetricPath::from_bytes(block.slice(start..start + name_len)).ok()?;
    let (value, after) = match int_field(line, name_len + 1) {
        Some((i, end)) => (Value::Int(i), end),
        None => {
            let field = field_at(line, name_len + 1)?;
            (parse_value(ascii(&line[field.clone()])).ok()?, field.end)
        }
    };
    let (timestamp, end) = match line.get(after) {
        None | Some(b'\n') => (now, after),
        _ => {
            let (stamp, end) = match int_field(line, after + 1) {
                Some(found) => found,
                None => {
                    let field = field_at(line, after + 1)?;
                    (
                        parse_timestamp(ascii(&line[field.clone()])).ok()?,
                        field.end,
                    )
                }
            };
            if !matches!(line.get(end), None | Some(b'\n')) {
                return None;
            }
            (stamp, end)
        }
    };
    out.push(Datapoint::new(path, value, timestamp));
    Some(start + end)
}

/// The field of a printable-ASCII line starting at `at`: up to the next
/// space, `\n` or the end; `None` if it is empty.
fn field_at(line: &[u8], at: usize) -> Option<Range<usize>> {
    let end = separator_from(line, at).unwrap_or(line.len());
    (end > at).then_some(at..end)
}

/// [`short_int`] of the field of a printable-ASCII line starting at `at`:
/// the number and where the field ends; `None` if the field is anything
/// else (empty, 19 digits or more, not an integer), which the general
/// parsers then read.
// Inlined: its result stays in registers instead of going through memory.
#[inline(always)]
fn int_field(line: &[u8], at: usize) -> Option<(i64, usize)> {
    let rest = line.get(at..)?;
    let (negative, digits) = match rest {
        [b'-', digits @ ..] => (true, digits),
        [b'+', digits @ ..] => (false, digits),
        _ => (false, rest),
    };
    let (len, value) = leading_digits(digits)?;
    if digits.get(len).is_some_and(|&b| b > b' ') {
        return None;
    }
    // At most 18 digits: below 10^18, within i64.
    let value = value as i64;
    let end = at + (rest.len() - digits.len()) + len;
    Some((if negative { -value } else { value }, end))
}

/// Eight ASCII zeros, one per byte of a word.
const ZEROS: u64 = 0x3030_3030_3030_3030;
/// The high bit of each byte of a word.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// How many ASCII digits `bytes` starts with, and their value; `None` if
/// none, or more than 18. Eight bytes are looked at a time.
#[inline(always)]
fn leading_digits(bytes: &[u8]) -> Option<(usize, u64)> {
    const POW10: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];
    let mut value: u64 = 0;
    let mut len = 0;
    while let Some(&word) = bytes.get(len..).and_then(|rest| rest.first_chunk::<8>()) {
        let word = u64::from_le_bytes(word);
        let flags = non_digits(word);
        if flags == 0 {
            if len + 8 > 18 {
                return None;
            }
            value = value * 100_000_000 + eight_digits(word);
            len += 8;
            continue;
        }
        // The first byte that is not a digit ends the number; the digits
        // before it move to the word's top, zeros filling in below.
        let n = (flags.trailing_zeros() / 8) as usize;
        if n > 0 {
            let top = (word << (64 - 8 * n)) | (ZEROS >> (8 * n));
            value = value * POW10[n] + eight_digits(top);
        }
        len += n;
        return (len > 0 && len <= 18).then_some((len, value));
    }
    for &b in &bytes[len..] {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 || len == 18 {
            break;
        }
        value = value * 10 + u64::from(digit);
        len += 1;
    }
    let more = bytes.get(len).is_some_and(u8::is_ascii_digit);
    (len > 0 && !more).then_some((len, value))
}

/// The high bit of each byte of `word` that is not an ASCII digit.
fn non_digits(word: u64) -> u64 {
    // Neither sum carries from one byte into the next: the first sets the
    // high bit of each byte from 0x30 up, the second of each from 0x3a up
    // (of its low seven bits; a high bit of its own is added back).
    let at_least_zero = (word | HIGH).wrapping_sub(ZEROS) & HIGH;
    let above_nine = (((word & !HIGH) + 0x4646_4646_4646_4646) | word) & HIGH;
    (!at_least_zero & HIGH) | above_nine
}

/// The first byte from `at` on that is a space or a control byte (in a
/// printable-ASCII line: a space or `\n`), eight bytes looked at a time;
/// `None` if there is none.
fn separator_from(line: &[u8], at: usize) -> Option<usize> {
    let mut i = at;
    while let Some(&word) = line.get(i..).and_then(|rest| rest.first_chunk::<8>()) {
        let word = u64::from_le_bytes(word);
        // High bit of each byte from 0x21 up (of its low seven bits), or
        // with a high bit of its own: neither can carry into the next byte.
        let printable = (((word & !HIGH) + 0x5f5f_5f5f_5f5f_5f5f) | word) & HIGH;
        let separators = !printable & HIGH;
        if separators != 0 {
            return Some(i + (separators.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    line.get(i..)?
        .iter()
        .position(|&b| b <= b' ')
        .map(|found| i + found)
}

/// Eight ASCII digits read as one little-endian word, combined in pairs,
/// then fours, then the eight (three multiplications, no loop).
fn eight_digits(word: u64) -> u64 {
    let ones = word.wrapping_sub(ZEROS);
    let pairs = ones.wrapping_mul(10).wrapping_add(ones >> 8);
    let low = (pairs & 0x0000_00ff_0000_00ff).wrapping_mul(100 + (1_000_000 << 32));
    let high = ((pairs >> 16) & 0x0000_00ff_0000_00ff).wrapping_mul(1 + (10_000 << 32));
    low.wrapping_add(high) >> 32
}

/// Whether `bytes` holds printable ASCII and newlines only. Checked in
/// chunks without branching, so that the compiler vectorises it.
fn is_plain(bytes: &[u8]) -> bool {
    let odd = |b: u8| u8::from(b.wrapping_sub(b' ') >= 0x60) & u8::from(b != b'\n');
    let chunks = bytes.chunks_exact(64);
    let mut bad = chunks.remainder().iter().fold(0, |bad, &b| bad | odd(b));
    for chunk in chunks {
        bad |= chunk.iter().fold(0, |bad, &b| bad | odd(b));
        if bad != 0 {
            return false;
        }
    }
    bad == 0
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

    /// Line by line, as the block parser must agree with.
    fn one_by_one(block: &Bytes, first_line: usize) -> (Vec<String>, BlockCounts) {
        let mut seen = Vec::new();
        let mut counts = BlockCounts {
            read: crate::blocks::lines(block).count(),
            ..BlockCounts::default()
        };
        for (number, line) in (first_line..).zip(crate::blocks::lines(block)) {
            if is_blank(&block[line.clone()]) {
                continue;
            }
            counts.lines += 1;
            match parse_in(block, line, number, 99) {
                Ok(dp) => seen.push(format!("{} {} {}", dp.path, dp.value, dp.timestamp)),
                Err(e) => {
                    counts.invalid += 1;
                    seen.push(e.to_string());
                }
            }
        }
        (seen, counts)
    }

    #[test]
    fn a_block_parses_as_its_lines_one_by_one() {
        let plain = "a.b 1 10\n\n  \nc 2.5\nd 1  2\n e 1 2\nf 1 2 \ng 1 2 3\nh\n \ni 7 -3\nj x 1\nk.. 1 1\nm  1 2\nn 1 1e30\no;t=1 2 3\np 18446744073709551615 -0\nq   \nlast 5 6";
        let mixed = "a 1 2\nb\t1 2\nM\u{fc}nchen 1 2\nc\u{a0}1\n\u{a0}\nd 1 2\r\ne 3 4\n";
        for text in [plain, mixed, "", "\n", "a 1", "a 1\n", " ", "a  \n"] {
            for trailing in ["", "\n"] {
                let block = Bytes::from(format!("{text}{trailing}"));
                let mut out = Vec::new();
                let mut seen = Vec::new();
                let counts = parse_block(&block, 5, 99, &mut out, |e| seen.push(e.to_string()));
                assert_eq!(counts.read, crate::blocks::lines(&block).count());
                // Datapoints and errors interleave in input order: compare
                // them as one list.
                let mut both: Vec<String> = Vec::new();
                let (expected, expected_counts) = one_by_one(&block, 5);
                let (mut dps, mut errs) = (out.iter(), seen.iter());
                for e in &expected {
                    let next = if e.starts_with("line ") {
                        errs.next().cloned()
                    } else {
                        dps.next()
                            .map(|dp| format!("{} {} {}", dp.path, dp.value, dp.timestamp))
                    };
                    both.push(next.unwrap_or_default());
                }
                assert_eq!(both, expected, "{text:?}{trailing:?}");
                assert_eq!(counts, expected_counts, "{text:?}{trailing:?}");
                assert!(dps.next().is_none() && errs.next().is_none());
            }
        }
    }

    /// Blocks of lines made at random from pieces that sit on the edges of
    /// the one-pass reader (signs, 18 and 19 digits, floats, empty fields,
    /// doubled spaces, a missing last newline): the block parser agrees
    /// with the line-by-line one on every line.
    #[test]
    fn random_blocks_parse_as_their_lines_one_by_one() {
        let pieces = [
            "a",
            "a.b",
            "a..b",
            ".a",
            "x;t=1",
            "1",
            "0",
            "-1",
            "+7",
            "-",
            "+",
            "1.5",
            "-0.5",
            "1e30",
            "nan",
            "inf",
            "123456789012345678",
            "-123456789012345678",
            "1234567890123456789",
            "18446744073709551615",
            "1700000000",
            "1700000000.9",
            "",
            "\u{7f}",
            "a\u{7f}",
        ];
        let separators = [" ", " ", " ", "  ", "\n"];
        // A fixed linear congruential sequence: the same blocks every run.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n
        };
        for _ in 0..300 {
            let mut text = String::new();
            for _ in 0..next(12) {
                for field in 0..next(5) {
                    if field > 0 {
                        text.push_str(separators[next(separators.len())]);
                    }
                    text.push_str(pieces[next(pieces.len())]);
                }
                text.push('\n');
            }
            if next(2) == 0 {
                text.pop();
            }
            let block = Bytes::from(text.clone());
            let (mut out, mut seen) = (Vec::new(), Vec::new());
            let counts = parse_block(&block, 1, 99, &mut out, |e| seen.push(e.to_string()));
            let (expected, expected_counts) = one_by_one(&block, 1);
            let mut dps = out
                .iter()
                .map(|dp| format!("{} {} {}", dp.path, dp.value, dp.timestamp));
            let mut errs = seen.into_iter();
            let both: Vec<String> = expected
                .iter()
                .map(|e| {
                    if e.starts_with("line ") {
                        errs.next()
                    } else {
                        dps.next()
                    }
                    .unwrap_or_default()
                })
                .collect();
            assert_eq!(both, expected, "{text:?}");
            assert_eq!(counts, expected_counts, "{text:?}");
            assert!(dps.next().is_none() && errs.next().is_none(), "{text:?}");
        }
    }

    #[test]
    fn digits_read_eight_at_a_time_agree_with_from_str() {
        for text in [
            "0",
            "7",
            "12345678",
            "87654321",
            "123456789",
            "1700000000",
            "999999999999999999",
            "000000000000000001",
            "100000000",
            "09",
        ] {
            let expected: i64 = text.parse().expect(text);
            let line = format!("{text} x");
            assert_eq!(int_field(line.as_bytes(), 0), Some((expected, text.len())));
            let negative = format!("a -{text}");
            assert_eq!(
                int_field(negative.as_bytes(), 2),
                Some((-expected, negative.len()))
            );
        }
        for not in ["", "-", "+", "1.5", "1x", "1234567890123456789", "1e3"] {
            assert_eq!(int_field(not.as_bytes(), 0), None, "{not}");
            assert_eq!(int_field(format!("{not} 1 2").as_bytes(), 0), None, "{not}");
        }
        // Every length, ended by each kind of byte, at every offset of a word.
        for len in 0..=20 {
            let digits: String = (0..len).map(|i| char::from(b'1' + (i % 9) as u8)).collect();
            for end in ["", " ", "\n", "x", "/", ":", "\u{7f}", "\u{e9}"] {
                for pad in 0..8 {
                    let line = format!("{}{digits}{end} 12345678", " ".repeat(pad));
                    let expected = (1..=18)
                        .contains(&len)
                        .then(|| digits.parse::<i64>().expect("digits"))
                        .filter(|_| matches!(end, "" | " " | "\n"))
                        .map(|v| (v, pad + len));
                    assert_eq!(int_field(line.as_bytes(), pad), expected, "{line:?}");
                }
            }
        }
    }

    #[test]
    fn separators_found_eight_bytes_at_a_time() {
        for len in 0..20 {
            for sep in [" ", "\n", "\t", "\0"] {
                let line = format!("{}{sep}{}", "a".repeat(len), "b ".repeat(5));
                assert_eq!(separator_from(line.as_bytes(), 0), Some(len), "{line:?}");
            }
            let none = "\u{7f}a~!".repeat(len);
            assert_eq!(separator_from(none.as_bytes(), 0), None);
        }
        assert_eq!(separator_from(b"ab c", 3), None);
        assert_eq!(separator_from(b"ab c", 9), None);
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
