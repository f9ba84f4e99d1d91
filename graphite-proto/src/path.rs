//! Validated metric names: [`MetricPath`].

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;

use crate::tags::{self, TagError};
use crate::value::MAX_VALUE_TEXT_LEN;

/// Carbon's longest plaintext line (Twisted's `LineOnlyReceiver.MAX_LENGTH`);
/// a longer line makes carbon close the connection.
pub const MAX_LINE_LEN: usize = 16_384;

/// The longest node: whisper stores `a.b.c` as `a/b/c.wsp`, and common
/// filesystems allow 255 bytes per file name, `.wsp` included.
pub const MAX_NODE_LEN: usize = 251;

/// The longest text of an `i64` timestamp (`-9223372036854775808`).
const MAX_TIMESTAMP_TEXT_LEN: usize = 20;

/// The longest name: with the longest value and timestamp, two spaces and the
/// newline, every plaintext line stays within [`MAX_LINE_LEN`].
pub const MAX_PATH_LEN: usize = MAX_LINE_LEN - MAX_VALUE_TEXT_LEN - MAX_TIMESTAMP_TEXT_LEN - 3;

/// A name carbon would mangle, split or refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name was empty.
    #[error("metric name is empty")]
    Empty,
    /// No parts were given to join.
    #[error("no parts to join into a metric name")]
    NoParts,
    /// The name was longer than [`MAX_PATH_LEN`] bytes.
    #[error("metric name is {len} bytes; at most {max} fit in carbon's 16,384-byte line")]
    TooLong {
        /// Length of the name in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A whitespace character, which would split or inject lines in carbon.
    #[error("whitespace {ch:?} (U+{cp:04X}) at byte {offset}: carbon splits lines on whitespace", cp = u32::from(*ch))]
    Whitespace {
        /// The character.
        ch: char,
        /// Its byte offset.
        offset: usize,
    },
    /// A control character (NUL, DEL, C1 controls, ...).
    #[error("control character U+{cp:04X} at byte {offset}", cp = u32::from(*ch))]
    Control {
        /// The character.
        ch: char,
        /// Its byte offset.
        offset: usize,
    },
    /// An empty node: a leading, trailing or doubled `.`.
    #[error("empty node at byte {offset} (leading, trailing or doubled '.')")]
    EmptyNode {
        /// Byte offset where the empty node starts.
        offset: usize,
    },
    /// A node longer than [`MAX_NODE_LEN`] bytes.
    #[error("node at byte {offset} is {len} bytes; whisper file names allow {max}")]
    NodeTooLong {
        /// Byte offset of the node.
        offset: usize,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A part given to [`MetricPath::from_parts`] held a `.` or `;`, which
    /// would make it more than one node.
    #[error(
        "part {part} holds separator {ch:?} at byte {offset}; encode it first (clean_and_join_metric_parts) or sanitize it"
    )]
    SeparatorInPart {
        /// Index of the part.
        part: usize,
        /// The separator.
        ch: char,
        /// Byte offset inside the part.
        offset: usize,
    },
    /// A tag segment was invalid.
    #[error(transparent)]
    Tag(#[from] TagError),
    /// The name was given as bytes that are not UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    NotUtf8 {
        /// Offset of the first bad byte.
        offset: usize,
    },
}

/// A metric name that carbon will store as one series, exactly as given.
///
/// Either a plain dotted path (`servers.web1.cpu`) or a Graphite 1.1 tagged
/// series (`cpu.load;dc=eu;host=web1`), in which case it is kept in carbon's
/// canonical form (tags sorted as carbon sorts them, leading `~` of the name
/// removed), so equal series are equal values and encode to equal bytes.
///
/// Once built it is valid: no whitespace or control characters, no empty
/// nodes, no node over [`MAX_NODE_LEN`] bytes, no line over carbon's limit,
/// `;` only between tags. Cloning is cheap (shared bytes), so build names
/// once and reuse them in hot loops.
///
/// ```
/// use graphite_proto::MetricPath;
///
/// let path = MetricPath::new("servers.web1.cpu")?;
/// assert_eq!(path.as_str(), "servers.web1.cpu");
///
/// let tagged = MetricPath::new("cpu.load;host=web1;dc=eu")?;
/// assert_eq!(tagged.as_str(), "cpu.load;dc=eu;host=web1");
///
/// assert!(MetricPath::new("a.b\nevil.metric 1 2").is_err());
/// # Ok::<(), graphite_proto::NameError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricPath {
    /// Valid UTF-8, checked at construction.
    text: Bytes,
    /// Length of the series name: everything before the first `;`.
    name_len: usize,
}

impl MetricPath {
    /// Validates `name`, a plain or tagged series name.
    ///
    /// Tags are put in carbon's canonical order; a tag named `name` or a tag
    /// given twice is refused rather than silently rewritten as carbon would.
    pub fn new(name: &str) -> Result<Self, NameError> {
        check_characters(name)?;
        let Some(first_semicolon) = name.find(';') else {
            check_nodes(name, 0)?;
            return Ok(Self {
                text: Bytes::copy_from_slice(name.as_bytes()),
                name_len: name.len(),
            });
        };
        let series = &name[..first_semicolon];
        let mut tags = Vec::new();
        let mut offset = first_semicolon + 1;
        for segment in name[first_semicolon + 1..].split(';') {
            let (tag, value) = segment
                .split_once('=')
                .ok_or(TagError::MissingEquals { offset })?;
            tags.push((tag, value, offset));
            offset += segment.len() + 1;
        }
        Self::build_tagged(series, tags)
    }

    /// Validates a name given as shared bytes, keeping them without a copy
    /// when they are already in canonical form (decoders use this to slice
    /// names out of received frames).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use graphite_proto::{MetricPath, NameError};
    ///
    /// let p = MetricPath::from_bytes(Bytes::from_static(b"a.b"))?;
    /// assert_eq!(p.as_str(), "a.b");
    /// assert_eq!(MetricPath::from_bytes(Bytes::from_static(b"a\xff")), Err(NameError::NotUtf8 { offset: 1 }));
    /// # Ok::<(), NameError>(())
    /// ```
    pub fn from_bytes(bytes: Bytes) -> Result<Self, NameError> {
        if is_simple_name(&bytes) {
            return Ok(Self {
                name_len: bytes.len(),
                text: bytes,
            });
        }
        let text = std::str::from_utf8(&bytes).map_err(|e| NameError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        if text.contains(';') {
            return Self::new(text);
        }
        check_characters(text)?;
        check_nodes(text, 0)?;
        Ok(Self {
            name_len: bytes.len(),
            text: bytes,
        })
    }

    /// Builds a tagged series from a name and `(tag, value)` pairs.
    ///
    /// ```
    /// use graphite_proto::MetricPath;
    ///
    /// let p = MetricPath::tagged("disk.used", [("host", "db1"), ("dc", "eu")])?;
    /// assert_eq!(p.as_str(), "disk.used;dc=eu;host=db1");
    /// assert_eq!(p.name(), "disk.used");
    /// assert_eq!(p.tags().collect::<Vec<_>>(), [("dc", "eu"), ("host", "db1")]);
    /// # Ok::<(), graphite_proto::NameError>(())
    /// ```
    pub fn tagged<I, K, V>(name: &str, tags: I) -> Result<Self, NameError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        if name.contains(';') {
            let offset = name.find(';').unwrap_or_default();
            return Err(NameError::SeparatorInPart {
                part: 0,
                ch: ';',
                offset,
            });
        }
        let owned: Vec<(K, V)> = tags.into_iter().collect();
        let mut joined = String::from(name);
        for (k, v) in &owned {
            joined.push(';');
            joined.push_str(k.as_ref());
            joined.push('=');
            joined.push_str(v.as_ref());
        }
        if owned.is_empty() {
            return Self::new(name);
        }
        // Offsets in errors refer to the `name;k=v;...` text built here.
        Self::new(&joined)
    }

    /// Joins `parts` as nodes of one path; each part must be a single valid
    /// node (no `.` or `;`).
    ///
    /// To accept arbitrary text, encode the parts first with
    /// [`clean_and_join_metric_parts`](crate::clean_and_join_metric_parts)
    /// (reversible) or [`sanitize_metric_part`](crate::sanitize_metric_part)
    /// (readable, lossy).
    ///
    /// ```
    /// use graphite_proto::MetricPath;
    ///
    /// let p = MetricPath::from_parts(["servers", "web1", "cpu"])?;
    /// assert_eq!(p.as_str(), "servers.web1.cpu");
    /// assert!(MetricPath::from_parts(["a.b"]).is_err());
    /// # Ok::<(), graphite_proto::NameError>(())
    /// ```
    pub fn from_parts<I>(parts: I) -> Result<Self, NameError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut joined = String::new();
        for (index, part) in parts.into_iter().enumerate() {
            let part = part.as_ref();
            if let Some(offset) = part.find(['.', ';']) {
                let ch = char::from(part.as_bytes()[offset]);
                return Err(NameError::SeparatorInPart {
                    part: index,
                    ch,
                    offset,
                });
            }
            if index > 0 {
                joined.push('.');
            }
            joined.push_str(part);
            if joined.len() > MAX_PATH_LEN {
                break; // reported by `new` below; stops unbounded work
            }
        }
        if joined.is_empty() {
            return Err(NameError::NoParts);
        }
        Self::new(&joined)
    }

    /// Returns `prefix.self`, keeping `self`'s tags.
    ///
    /// ```
    /// use graphite_proto::MetricPath;
    ///
    /// let prefix = MetricPath::new("prod.web1")?;
    /// let p = MetricPath::new("cpu;core=0")?.with_prefix(&prefix)?;
    /// assert_eq!(p.as_str(), "prod.web1.cpu;core=0");
    /// # Ok::<(), graphite_proto::NameError>(())
    /// ```
    pub fn with_prefix(&self, prefix: &Self) -> Result<Self, NameError> {
        if prefix.is_tagged() {
            return Err(NameError::SeparatorInPart {
                part: 0,
                ch: ';',
                offset: prefix.name_len,
            });
        }
        let mut joined = String::with_capacity(prefix.len() + 1 + self.len());
        joined.push_str(prefix.as_str());
        joined.push('.');
        joined.push_str(self.as_str());
        Self::new(&joined)
    }

    fn build_tagged(series: &str, mut tags: Vec<(&str, &str, usize)>) -> Result<Self, NameError> {
        // Carbon strips the leading `~`s; the nodes are checked on what is
        // left, or "~.a;b=c" would become ".a;b=c", a name with an empty
        // node that no decoder (ours or carbon's plaintext reader) accepts.
        let stripped = series.trim_start_matches('~');
        if stripped.is_empty() {
            return Err(TagError::EmptySeriesName.into());
        }
        check_nodes(stripped, series.len() - stripped.len())?;
        let series = stripped;
        for &(tag, value, offset) in &tags {
            tags::validate_tag(tag, value, offset)?;
        }
        tags.sort_by(|a, b| tags::carbon_order((a.0, a.1), (b.0, b.1)));
        if let Some(pair) = tags.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(TagError::Duplicate {
                tag: pair[0].0.to_owned(),
                offset: pair[0].2.max(pair[1].2),
            }
            .into());
        }
        let mut text = String::with_capacity(MAX_PATH_LEN.min(series.len() + 64));
        text.push_str(series);
        for (tag, value, _) in &tags {
            text.push(';');
            text.push_str(tag);
            text.push('=');
            text.push_str(value);
        }
        Ok(Self {
            name_len: series.len(),
            text: Bytes::from(text),
        })
    }

    /// The name as text (canonical form for tagged series).
    pub fn as_str(&self) -> &str {
        // Built from `&str`/`String` only, so always UTF-8; the fallback is
        // unreachable but keeps this free of panics and `unsafe`.
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// The name as bytes, as they go on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// The name as shared bytes (cheap to clone).
    pub fn to_bytes(&self) -> Bytes {
        self.text.clone()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Always `false`: a `MetricPath` is never empty. Present for symmetry
    /// with [`len`](Self::len).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Whether this is a tagged series.
    pub fn is_tagged(&self) -> bool {
        self.name_len < self.text.len()
    }

    /// The series name without tags.
    pub fn name(&self) -> &str {
        &self.as_str()[..self.name_len]
    }

    /// The tags, in canonical order (empty for a plain path).
    pub fn tags(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let rest = &self.as_str()[self.name_len..];
        rest.split(';')
            .skip(1)
            .filter_map(|segment| segment.split_once('='))
    }
}

/// Refuses whitespace and control characters anywhere, and overlong names.
fn check_characters(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_PATH_LEN {
        return Err(NameError::TooLong {
            len: name.len(),
            max: MAX_PATH_LEN,
        });
    }
    // Fast path: printable ASCII other than space is always fine.
    if name.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Ok(());
    }
    for (offset, ch) in name.char_indices() {
        if ch.is_whitespace() {
            return Err(NameError::Whitespace { ch, offset });
        }
        if ch.is_control() {
            return Err(NameError::Control { ch, offset });
        }
    }
    Ok(())
}

/// The common name, checked without branching per byte: printable ASCII
/// without space or `;` (so valid UTF-8, untagged), not too long, every
/// node non-empty and not too long. A name this accepts passes every check
/// of [`MetricPath::new`]; for any other, those checks decide (and say why).
fn is_simple_name(name: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (name.first(), name.last()) else {
        return false;
    };
    if name.len() > MAX_NODE_LEN {
        return is_simple_long_name(name);
    }
    // No node can be too long: a node is empty only at a leading, trailing
    // or double dot. The bytes go eight at a time; a short name is padded,
    // and a longer one's last few bytes are the last eight, looked at again.
    if first == b'.' || last == b'.' {
        return false;
    }
    let Some(&last_eight) = name.last_chunk::<8>() else {
        let low = name
            .iter()
            .rev()
            .fold(0, |word, &b| (word << 8) | u64::from(b));
        return simple_word((u64::from(b'a') * ONES) << (8 * name.len()) | low, 0).is_some();
    };
    let mut words = name.chunks_exact(8);
    let mut dot_before = 0;
    for word in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        match simple_word(u64::from_le_bytes(bytes), dot_before) {
            Some(dot_last) => dot_before = dot_last,
            None => return false,
        }
    }
    if words.remainder().is_empty() {
        return true;
    }
    let before = name.len() - 9;
    let dot_before = u64::from(name[before] == b'.') << 7;
    simple_word(u64::from_le_bytes(last_eight), dot_before).is_some()
}

/// The high bit of each byte of a word.
const HIGH: u64 = 0x8080_8080_8080_8080;
/// One in each byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;

/// Eight bytes of a name, little-endian: `None` if one is not printable
/// ASCII, is a space or `;`, or is a dot after a dot (`dot_before`: the
/// byte before the word was a dot); else whether the last byte is a dot.
/// In an ASCII word no sum carries from one byte into the next.
fn simple_word(word: u64, dot_before: u64) -> Option<u64> {
    let ascii = word & HIGH == 0;
    let above_space = word.wrapping_add(0x5f * ONES) & HIGH == HIGH;
    let below_delete = word.wrapping_add(ONES) & HIGH == 0;
    let dots = bytes_equal(word, b'.');
    let double_dot = dots & ((dots << 8) | dot_before) != 0;
    let simple = ascii && above_space && below_delete && bytes_equal(word, b';') == 0;
    (simple && !double_dot).then_some(dots >> 56)
}

/// The high bit of each byte of `word` (all of them ASCII) equal to `byte`.
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let diff = word ^ (u64::from(byte) * ONES);
    !(((diff & !HIGH) + !HIGH) | diff) & HIGH
}

/// [`is_simple_name`] for a name longer than a node may be: node lengths
/// are counted too, a byte at a time.
fn is_simple_long_name(name: &[u8]) -> bool {
    if name.len() > MAX_PATH_LEN {
        return false;
    }
    let mut node_start = 0;
    for (i, &b) in name.iter().enumerate() {
        if !(0x21..0x7f).contains(&b) || b == b';' {
            return false;
        }
        if b == b'.' {
            if i == node_start || i - node_start > MAX_NODE_LEN {
                return false;
            }
            node_start = i + 1;
        }
    }
    node_start < name.len() && name.len() - node_start <= MAX_NODE_LEN
}

/// Refuses empty and overlong nodes in a dotted series name starting at
/// `base` in the caller's input.
fn check_nodes(series: &str, base: usize) -> Result<(), NameError> {
    let mut offset = base;
    for node in series.split('.') {
        if node.is_empty() {
            return Err(NameError::EmptyNode { offset });
        }
        if node.len() > MAX_NODE_LEN {
            return Err(NameError::NodeTooLong {
                offset,
                len: node.len(),
                max: MAX_NODE_LEN,
            });
        }
        offset += node.len() + 1;
    }
    Ok(())
}

impl fmt::Debug for MetricPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MetricPath").field(&self.as_str()).finish()
    }
}

impl fmt::Display for MetricPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for MetricPath {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for MetricPath {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::new(s)
    }
}

impl TryFrom<&str> for MetricPath {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        Self::new(s)
    }
}

impl TryFrom<String> for MetricPath {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, NameError> {
        Self::new(&s)
    }
}

impl TryFrom<&String> for MetricPath {
    type Error = NameError;
    fn try_from(s: &String) -> Result<Self, NameError> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The one-pass check of `from_bytes` agrees with the full checks.
        #[test]
        fn from_bytes_agrees_with_new(name in "[a-c.;= \t\u{e9}\u{7f}]{0,12}|[a.]{250,260}") {
            let bytes = Bytes::copy_from_slice(name.as_bytes());
            prop_assert_eq!(MetricPath::from_bytes(bytes), MetricPath::new(&name));
        }

        /// Eight bytes at a time decide as one byte at a time would.
        #[test]
        fn simple_names_by_words_as_by_bytes(
            name in "[a-c.;= \t\u{e9}\u{7f}~!\u{0}/]{0,40}|[a.]{1,20}|[a.]{240,260}"
        ) {
            prop_assert_eq!(is_simple_name(name.as_bytes()), is_simple_long_name(name.as_bytes()));
        }
    }

    #[test]
    fn simple_names_by_words_at_every_length_and_offset() {
        for len in 1..=40 {
            let plain = "a".repeat(len);
            assert!(is_simple_name(plain.as_bytes()), "{plain}");
            for at in 0..len {
                for byte in [b'.', b';', b' ', b'\0', 0x7f, 0x80, 0xff, b'!', b'~'] {
                    let mut name = plain.clone().into_bytes();
                    name[at] = byte;
                    assert_eq!(
                        is_simple_name(&name),
                        is_simple_long_name(&name),
                        "{name:?}"
                    );
                    if at + 1 < len {
                        name[at + 1] = byte;
                        assert_eq!(
                            is_simple_name(&name),
                            is_simple_long_name(&name),
                            "{name:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn simple_names_are_exactly_those_that_need_no_more_checks() {
        let long_node = "a".repeat(MAX_NODE_LEN);
        for name in [
            "a",
            "a.b",
            "servers.web1.cpu",
            "x-y_z:1",
            long_node.as_str(),
        ] {
            assert!(is_simple_name(name.as_bytes()), "{name}");
        }
        let too_long_node = "a".repeat(MAX_NODE_LEN + 1);
        for name in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "a b",
            "a;b=c",
            "M\u{fc}n",
            too_long_node.as_str(),
        ] {
            assert!(!is_simple_name(name.as_bytes()), "{name}");
        }
    }

    fn err(name: &str) -> NameError {
        MetricPath::new(name).expect_err(name)
    }

    #[test]
    fn accepts_ordinary_names() {
        for name in [
            "a",
            "servers.web1.cpu",
            "a/b.c~d",
            "München.temp",
            "x-y_z:1",
        ] {
            assert_eq!(MetricPath::new(name).expect(name).as_str(), name);
        }
    }

    #[test]
    fn names_the_offending_byte() {
        assert_eq!(err(""), NameError::Empty);
        assert_eq!(err("a b"), NameError::Whitespace { ch: ' ', offset: 1 });
        assert_eq!(
            err("ab\n"),
            NameError::Whitespace {
                ch: '\n',
                offset: 2
            }
        );
        assert_eq!(
            err("é\u{a0}x"),
            NameError::Whitespace {
                ch: '\u{a0}',
                offset: 2
            }
        );
        assert_eq!(
            err("a\u{2028}"),
            NameError::Whitespace {
                ch: '\u{2028}',
                offset: 1
            }
        );
        assert_eq!(
            err("a\0"),
            NameError::Control {
                ch: '\0',
                offset: 1
            }
        );
        assert_eq!(
            err("a\u{7f}"),
            NameError::Control {
                ch: '\u{7f}',
                offset: 1
            }
        );
        assert_eq!(err(".a"), NameError::EmptyNode { offset: 0 });
        assert_eq!(err("a..b"), NameError::EmptyNode { offset: 2 });
        assert_eq!(err("a."), NameError::EmptyNode { offset: 2 });
    }

    #[test]
    fn enforces_length_limits() {
        let node = "n".repeat(MAX_NODE_LEN);
        assert!(MetricPath::new(&node).is_ok());
        assert_eq!(
            err(&format!("a.{node}x")),
            NameError::NodeTooLong {
                offset: 2,
                len: 252,
                max: MAX_NODE_LEN
            }
        );
        let long = vec!["n".repeat(200); 100].join(".");
        assert!(matches!(err(&long), NameError::TooLong { .. }));
    }

    #[test]
    fn tagged_series_take_carbon_canonical_form() {
        let p = MetricPath::new("~~cpu;b=2;a-b=1;a=1").expect("valid");
        assert_eq!(p.as_str(), "cpu;a-b=1;a=1;b=2");
        assert!(p.is_tagged());
        assert_eq!(p.name(), "cpu");
        assert_eq!(p.tags().count(), 3);
        assert_eq!(
            MetricPath::new("cpu;x=a=b").expect("valid").as_str(),
            "cpu;x=a=b"
        );
    }

    #[test]
    fn bad_tags_are_refused() {
        assert_eq!(
            err("cpu;x"),
            NameError::Tag(TagError::MissingEquals { offset: 4 })
        );
        assert!(matches!(
            err("cpu;=1"),
            NameError::Tag(TagError::EmptyName { offset: 4 })
        ));
        assert!(matches!(
            err("cpu;a=1;a=2"),
            NameError::Tag(TagError::Duplicate { offset: 8, .. })
        ));
        assert!(matches!(
            err("cpu;name=x"),
            NameError::Tag(TagError::ReservedName { .. })
        ));
        assert!(matches!(
            err("~~;a=1"),
            NameError::Tag(TagError::EmptySeriesName)
        ));
        // What is left once carbon strips the `~`s must be a valid name.
        assert_eq!(err("~.a;b=c"), NameError::EmptyNode { offset: 1 });
        assert_eq!(err("~~a.;b=c"), NameError::EmptyNode { offset: 4 });
        assert!(matches!(
            err("cpu;a=1;"),
            NameError::Tag(TagError::MissingEquals { offset: 8 })
        ));
        assert!(matches!(
            err("cpu;a=1 2"),
            NameError::Whitespace { offset: 7, .. }
        ));
    }

    #[test]
    fn parts_must_be_single_nodes() {
        assert_eq!(
            MetricPath::from_parts(["ok", "a;b"]),
            Err(NameError::SeparatorInPart {
                part: 1,
                ch: ';',
                offset: 1
            })
        );
        assert_eq!(
            MetricPath::from_parts(Vec::<&str>::new()),
            Err(NameError::NoParts)
        );
        assert_eq!(
            MetricPath::from_parts(["", "x"]),
            Err(NameError::EmptyNode { offset: 0 })
        );
    }
}
