//! Series names: an instrument's name and a data point's attributes turned
//! into valid [`MetricPath`]s, once per series, and cached across exports
//! so that a steady export allocates nothing per data point.
//!
//! The replacement rules are documented in [`conventions`](crate::conventions);
//! this file is their only implementation.

use std::collections::HashMap;

use graphite_proto::MetricPath;
use opentelemetry::{KeyValue, Value};

/// A series whose names are not used for this many exports is forgotten
/// (delta temporality leaves idle series out of an export, so one absence
/// is normal).
const FORGET_AFTER_EXPORTS: u64 = 10;

/// Carbon's canonical empty-value placeholder, as the collector sent it.
pub(crate) const EMPTY_VALUE: &str = "<empty>";

/// One Graphite series of a data point, or why it cannot be sent.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Slot {
    Path(MetricPath),
    /// The instrument name (with prefix and suffix) is not a valid path.
    InvalidName,
    /// The attributes cannot form valid tags.
    InvalidAttributes,
}

/// What a data point is, for the cache key (a name can be reused by
/// instruments of different kinds in different scopes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Number,
    MonotonicSum,
    Histogram,
    Exponential,
}

/// One series to name: a suffix after the instrument name and an extra
/// tag (`upper_bound`, `quantile`).
#[derive(Clone, Debug)]
pub(crate) struct SlotSpec {
    pub(crate) suffix: String,
    pub(crate) extra_tag: Option<(&'static str, String)>,
}

impl SlotSpec {
    pub(crate) fn plain(suffix: &str) -> Self {
        Self {
            suffix: suffix.to_owned(),
            extra_tag: None,
        }
    }
}

#[derive(Debug)]
struct Entry {
    slots: Vec<Slot>,
    last_used: u64,
}

/// Names per series, kept across exports.
///
/// A series is identified by its signature: the instrument name, the kind
/// and the attributes in the order the SDK gives them (always the same for
/// one series), each length-prefixed, in one buffer. Looking it up hashes
/// and compares that one buffer, exactly, instead of chasing every
/// attribute's allocation. A set the SDK ever gave in another order only
/// makes a second entry with the same names.
#[derive(Debug, Default)]
pub(crate) struct SeriesCache {
    /// Signature to index in `entries`.
    index: HashMap<Box<[u8]>, usize>,
    entries: Vec<Entry>,
    /// Indices in `entries` free for reuse.
    free: Vec<usize>,
    generation: u64,
    /// The resource tags the cached names were built with.
    resource_tags: Vec<(String, String)>,
    /// The signature being looked up, reused.
    signature: Vec<u8>,
}

impl SeriesCache {
    /// Starts an export whose resource gives `resource_tags`; names built
    /// with other resource tags are dropped.
    pub(crate) fn begin(&mut self, resource_tags: Vec<(String, String)>) {
        if resource_tags != self.resource_tags {
            self.index.clear();
            self.entries.clear();
            self.free.clear();
            self.resource_tags = resource_tags;
        }
        self.generation += 1;
    }

    /// Ends an export: forgets series unused for a while.
    pub(crate) fn end(&mut self) {
        let now = self.generation;
        let (entries, free) = (&mut self.entries, &mut self.free);
        self.index.retain(|_, &mut i| {
            let keep = entries
                .get(i)
                .is_some_and(|e| now - e.last_used < FORGET_AFTER_EXPORTS);
            if !keep {
                if let Some(e) = entries.get_mut(i) {
                    e.slots = Vec::new(); // release the names now
                }
                free.push(i);
            }
            keep
        });
    }

    /// How many series are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// The slots of series (`name`, `kind`, `attributes`), built by
    /// `specs` (called only when they are not cached, or were cached with
    /// another count than `expected`).
    pub(crate) fn slots(
        &mut self,
        prefix: Option<&MetricPath>,
        name: &str,
        kind: Kind,
        attributes: &[&KeyValue],
        expected: usize,
        specs: impl FnOnce() -> Vec<SlotSpec>,
    ) -> &[Slot] {
        signature(&mut self.signature, name, kind, attributes);
        let generation = self.generation;
        let cached = self.index.get(self.signature.as_slice()).copied();
        let fresh = cached
            .and_then(|i| self.entries.get(i))
            .is_some_and(|e| e.slots.len() == expected);
        let i = match cached {
            Some(i) if fresh => i,
            _ => {
                let entry = Entry {
                    slots: build_slots(prefix, name, attributes, &self.resource_tags, &specs()),
                    last_used: generation,
                };
                let i = match cached.or_else(|| self.free.pop()) {
                    Some(i) if i < self.entries.len() => {
                        self.entries[i] = entry;
                        i
                    }
                    _ => {
                        self.entries.push(entry);
                        self.entries.len() - 1
                    }
                };
                self.index.insert(self.signature.as_slice().into(), i);
                i
            }
        };
        let entry = &mut self.entries[i];
        entry.last_used = generation;
        &entry.slots
    }
}

/// Writes the signature of a series into `out`: every part length-prefixed
/// (or fixed-size), so that two different series never write the same
/// bytes.
fn signature(out: &mut Vec<u8>, name: &str, kind: Kind, attributes: &[&KeyValue]) {
    fn text(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out.clear();
    out.push(kind as u8);
    text(out, name);
    for kv in attributes {
        text(out, kv.key.as_str());
        match &kv.value {
            Value::Bool(b) => out.extend_from_slice(&[b'b', u8::from(*b)]),
            Value::I64(i) => {
                out.push(b'i');
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::F64(f) => {
                out.push(b'f');
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Value::String(s) => {
                out.push(b's');
                text(out, s.as_str());
            }
            // Arrays (rare) by their text, which allocates.
            other => {
                out.push(b'a');
                text(out, &other.as_str());
            }
        }
    }
}

/// Builds every slot of one series.
fn build_slots(
    prefix: Option<&MetricPath>,
    name: &str,
    attributes: &[&KeyValue],
    resource_tags: &[(String, String)],
    specs: &[SlotSpec],
) -> Vec<Slot> {
    let base = match prefix {
        Some(p) => format!("{p}.{name}"),
        None => name.to_owned(),
    };
    let tags = tags(attributes, resource_tags);
    specs
        .iter()
        .map(|spec| {
            let series = format!("{base}{}", spec.suffix);
            // A `;` would start tags: the name itself must be one plain path.
            if series.contains(';') || MetricPath::new(&series).is_err() {
                return Slot::InvalidName;
            }
            let Some(tags) = &tags else {
                return Slot::InvalidAttributes;
            };
            let extra = spec.extra_tag.as_ref();
            if let Some((key, _)) = extra
                && tags.iter().any(|(k, _)| k == key)
            {
                return Slot::InvalidAttributes;
            }
            let all = tags
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain(extra.map(|(k, v)| (*k, v.as_str())));
            MetricPath::tagged(&series, all).map_or(Slot::InvalidAttributes, Slot::Path)
        })
        .collect()
}

/// The data point's attributes as tags, then the resource's where the data
/// point has no tag of that key; `None` when they cannot all be valid.
fn tags(
    attributes: &[&KeyValue],
    resource_tags: &[(String, String)],
) -> Option<Vec<(String, String)>> {
    let mut tags: Vec<(String, String)> =
        Vec::with_capacity(attributes.len() + resource_tags.len());
    for kv in attributes {
        let key = tag_key(kv.key.as_str())?;
        if tags.iter().any(|(k, _)| *k == key) {
            return None; // two attributes that differ only in replaced characters
        }
        tags.push((key, tag_value(&kv.value.as_str())));
    }
    for (key, value) in resource_tags {
        if !tags.iter().any(|(k, _)| k == key) {
            tags.push((key.clone(), value.clone()));
        }
    }
    Some(tags)
}

/// A tag name: whitespace, control characters and `; ! ^ =` become `_`;
/// empty, or `name` (carbon reserves it), cannot be a tag.
pub(crate) fn tag_key(text: &str) -> Option<String> {
    let key: String = text
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || matches!(c, ';' | '!' | '^' | '=') {
                '_'
            } else {
                c
            }
        })
        .collect();
    (!key.is_empty() && key != "name").then_some(key)
}

/// A tag value: whitespace, control characters and `;` become `_`, and so
/// does a leading `~`; empty becomes `<empty>`, as the collector sent it.
pub(crate) fn tag_value(text: &str) -> String {
    if text.is_empty() {
        return EMPTY_VALUE.to_owned();
    }
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_whitespace() || c.is_control() || c == ';' || (i == 0 && c == '~') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)` prints it, which is
/// how the collector wrote bucket bounds and quantiles in tags: the
/// shortest digits that round-trip, in exponent form (`1e+06`, `1e-05`)
/// when the exponent is below -4 or at least 6.
pub(crate) fn go_shortest_g(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    if !v.is_finite() {
        // Go: "+Inf", "-Inf", "NaN"; the SDK never gives these as bounds.
        return if v.is_nan() {
            "NaN".to_owned()
        } else if v > 0.0 {
            "+Inf".to_owned()
        } else {
            "-Inf".to_owned()
        };
    }
    // Rust's `{:e}` gives the same shortest round-trip digits: "d.ddde±x".
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if v < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{point}{rest}e{exp_sign}{:02}", exp.abs());
    }
    let point_at = exp + 1; // digits before the decimal point
    let nd = digits.len() as i32;
    if point_at <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point_at) as usize))
    } else if point_at >= nd {
        format!("{sign}{digits}{}", "0".repeat((point_at - nd) as usize))
    } else {
        let (int, frac) = digits.split_at(point_at as usize);
        format!("{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphite_proto::{Datapoint, plaintext};
    use proptest::prelude::*;

    proptest! {
        /// Any attributes at all: either valid tags that make exactly one
        /// plaintext line of three fields, or a series counted as invalid.
        #[test]
        fn any_attributes_make_one_line_or_none(
            attributes in prop::collection::vec((any::<String>(), any::<String>()), 0..4),
            extra in prop_oneof![Just(None), any::<String>().prop_map(Some)],
        ) {
            let kvs: Vec<KeyValue> = attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                .collect();
            let refs: Vec<&KeyValue> = kvs.iter().collect();
            let spec = SlotSpec {
                suffix: ".bucket".to_owned(),
                extra_tag: extra.map(|v| ("upper_bound", v)),
            };
            for slot in build_slots(None, "m", &refs, &[], &[spec]) {
                if let Slot::Path(path) = slot {
                    let mut line = Vec::new();
                    plaintext::encode(&Datapoint::new(path, 1, 0), &mut line).expect("encodes");
                    let text = String::from_utf8(line).expect("utf-8");
                    prop_assert_eq!(text.matches('\n').count(), 1);
                    prop_assert!(text.ends_with('\n'));
                    prop_assert_eq!(text.trim_end_matches('\n').split(' ').count(), 3, "{:?}", text);
                }
            }
        }
    }

    #[test]
    fn go_g_matches_go() {
        // strconv.FormatFloat(v, 'g', -1, 64) in Go 1.22.
        for (v, go) in [
            (0.0, "0"),
            (5.0, "5"),
            (2.5, "2.5"),
            (0.005, "0.005"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (100_000.0, "100000"),
            (1_000_000.0, "1e+06"),
            (1_500_000.0, "1.5e+06"),
            (123_456.7, "123456.7"),
            (-7.5, "-7.5"),
            (1e21, "1e+21"),
            (1.25e-7, "1.25e-07"),
            (50.0, "50"),
            (99.9, "99.9"),
        ] {
            assert_eq!(go_shortest_g(v), go, "{v}");
        }
    }

    #[test]
    fn tag_rules() {
        assert_eq!(tag_key("http.method").as_deref(), Some("http.method"));
        assert_eq!(tag_key("a b;c!d^e=f").as_deref(), Some("a_b_c_d_e_f"));
        assert_eq!(tag_key(""), None);
        assert_eq!(tag_key("name"), None);
        assert_eq!(tag_value(""), "<empty>");
        assert_eq!(tag_value("~x~"), "_x~");
        assert_eq!(tag_value("a b\nc;d\te"), "a_b_c_d_e");
        assert_eq!(tag_value("GET /a=b"), "GET_/a=b");
    }
}
