//! Series names: an instrument's name and a data point's attributes turned
//! into valid [`MetricPath`]s, once per series, and cached across exports
//! so that a steady export allocates nothing per data point.
//!
//! The replacement rules are documented in [`conventions`](crate::conventions);
//! this file is their only implementation.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    name: String,
    kind: Kind,
    attributes: Vec<KeyValue>,
    slots: Vec<Slot>,
    last_used: u64,
}

/// Names per series, kept across exports.
#[derive(Debug, Default)]
pub(crate) struct SeriesCache {
    /// Keyed by [`series_hash`], already a hash: not hashed again.
    entries: HashMap<u64, Vec<Entry>, BuildHasherDefault<Identity>>,
    generation: u64,
    /// The resource tags the cached names were built with.
    resource_tags: Vec<(String, String)>,
}

impl SeriesCache {
    /// Starts an export whose resource gives `resource_tags`; names built
    /// with other resource tags are dropped.
    pub(crate) fn begin(&mut self, resource_tags: Vec<(String, String)>) {
        if resource_tags != self.resource_tags {
            self.entries.clear();
            self.resource_tags = resource_tags;
        }
        self.generation += 1;
    }

    /// Ends an export: forgets series unused for a while.
    pub(crate) fn end(&mut self) {
        let now = self.generation;
        self.entries.retain(|_, bucket| {
            bucket.retain(|e| now - e.last_used < FORGET_AFTER_EXPORTS);
            !bucket.is_empty()
        });
    }

    /// How many series are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.values().map(Vec::len).sum()
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
        let key = series_hash(name, kind, attributes);
        let generation = self.generation;
        let bucket = self.entries.entry(key).or_default();
        let found = bucket.iter().position(|e| {
            e.kind == kind
                && e.name == name
                && e.slots.len() == expected
                && e.attributes.len() == attributes.len()
                && attributes.iter().all(|kv| e.attributes.contains(kv))
        });
        let index = match found {
            Some(i) => i,
            None => {
                bucket.retain(|e| {
                    !(e.kind == kind && e.name == name && same(&e.attributes, attributes))
                });
                let slots = build_slots(prefix, name, attributes, &self.resource_tags, &specs());
                bucket.push(Entry {
                    name: name.to_owned(),
                    kind,
                    attributes: attributes.iter().map(|kv| (*kv).clone()).collect(),
                    slots,
                    last_used: generation,
                });
                bucket.len() - 1
            }
        };
        let entry = &mut bucket[index];
        entry.last_used = generation;
        &entry.slots
    }
}

fn same(cached: &[KeyValue], attributes: &[&KeyValue]) -> bool {
    cached.len() == attributes.len() && attributes.iter().all(|kv| cached.contains(kv))
}

/// A hash of the series that does not depend on the attributes' order.
fn series_hash(name: &str, kind: Kind, attributes: &[&KeyValue]) -> u64 {
    let mut h = Fx::default();
    name.hash(&mut h);
    kind.hash(&mut h);
    let mut sum = 0_u64;
    for kv in attributes {
        let mut a = Fx::default();
        kv.key.as_str().hash(&mut a);
        match &kv.value {
            Value::Bool(b) => b.hash(&mut a),
            Value::I64(i) => i.hash(&mut a),
            Value::F64(f) => f.to_bits().hash(&mut a),
            Value::String(s) => s.as_str().hash(&mut a),
            // Rare: the comparison tells arrays apart.
            _ => 0_u8.hash(&mut a),
        }
        sum = sum.wrapping_add(a.finish());
    }
    sum.hash(&mut h);
    h.finish()
}

/// The rustc/Firefox "Fx" hash: a rotate, xor and multiply per word. Not
/// collision-resistant, and it need not be: a collision costs a comparison
/// (entries are compared in full), and series come from the application.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0_u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0_u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ rest.len() as u64);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn finish(&self) -> u64 {
        // A final avalanche so that the low bits the map uses depend on all.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
}

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Passes a `u64` key through: it is already a hash.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
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
