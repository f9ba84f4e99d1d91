//! The lossy sanitiser: readable names instead of reversible ones (rules on
//! [`sanitize_metric_part`]).

use crate::path::{MAX_NODE_LEN, MetricPath, NameError};

/// Whether `c` is replaced by `_` in a sanitised node.
fn is_unsafe(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '.' | ';' | '/' | '\\' | '*' | '?' | '[' | ']' | '{' | '}'
        )
}

/// Turns any text into one readable metric node, replacing every character
/// carbon, whisper or graphite-web cannot take with `_`.
///
/// [`encode_metric_part`](crate::encode_metric_part) keeps every character
/// and can be undone, but its output is hard to read (`cpu%20load-`). When a
/// readable name matters more than getting the original back, sanitise: every
/// character carbon, whisper or graphite-web cannot take in a node becomes
/// `_`. Different inputs may give the same node (`a b` and `a/b` both give
/// `a_b`), so only use it where that cannot merge series you care about.
///
/// Replaced by `_`:
/// - whitespace and control characters (ASCII and Unicode): carbon splits
///   lines on whitespace, so they would cut or inject datapoints;
/// - `.` (node separator), `;` (tag separator) and `/` and `\` (whisper would
///   create directories, changing the node structure);
/// - the glob characters `* ? [ ] { }`: carbon stores them, but graphite-web
///   reads them as wildcards, so such a series cannot be queried by its name.
///
/// Everything else, non-ASCII letters included, is kept. An empty part becomes
/// `_`, and a part longer than [`MAX_NODE_LEN`](crate::MAX_NODE_LEN) bytes is
/// cut at the last character boundary that fits.
///
/// How it compares: Dropwizard's `GraphiteSanitize` only trims the text and
/// turns runs of whitespace into `-`, so `.`, `;`, `/` and control characters
/// pass through and can split or retag a series; telegraf's graphite
/// serializer (strict mode) maps `/ @ *` to `-`, drops `\`, and turns every
/// other character except ASCII letters, digits, letters of any script and
/// `- : . _ =` into `_`; like this sanitiser it stops whitespace, but it keeps
/// `.` inside a tag or field value, where it becomes a node separator. This sanitiser works per part, so a part is always exactly
/// one node.
///
/// ```
/// use graphite_proto::sanitize_metric_part;
///
/// assert_eq!(sanitize_metric_part("velo@zillow.com"), "velo@zillow_com");
/// assert_eq!(sanitize_metric_part("cpu load\n"), "cpu_load_");
/// assert_eq!(sanitize_metric_part(""), "_");
/// ```
pub fn sanitize_metric_part(part: &str) -> String {
    if part.is_empty() {
        return String::from("_");
    }
    let mut out = String::with_capacity(part.len().min(MAX_NODE_LEN));
    for c in part.chars() {
        let c = if is_unsafe(c) { '_' } else { c };
        if out.len() + c.len_utf8() > MAX_NODE_LEN {
            break;
        }
        out.push(c);
    }
    out
}

/// Sanitises each part with [`sanitize_metric_part`] and joins them into a
/// [`MetricPath`]. Fails only when there are no parts or the joined name is
/// longer than [`MAX_PATH_LEN`](crate::MAX_PATH_LEN).
///
/// ```
/// use graphite_proto::sanitize_and_join_metric_parts;
///
/// let path = sanitize_and_join_metric_parts(["web 1", "disk /var", "used"])?;
/// assert_eq!(path.as_str(), "web_1.disk__var.used");
/// # Ok::<(), graphite_proto::NameError>(())
/// ```
pub fn sanitize_and_join_metric_parts<I>(parts: I) -> Result<MetricPath, NameError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    MetricPath::from_parts(parts.into_iter().map(|p| sanitize_metric_part(p.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sanitised_part_is_one_valid_node() {
        for input in [
            "a.b",
            "x;y=z",
            "tab\there",
            "\u{2028}",
            "*",
            "日本",
            "a\0b",
            "{a,b}",
        ] {
            let node = sanitize_metric_part(input);
            let path = MetricPath::from_parts([node.as_str()]).expect(input);
            assert_eq!(path.as_str(), node);
        }
    }

    #[test]
    fn long_parts_are_cut_on_a_char_boundary() {
        let node = sanitize_metric_part(&"é".repeat(200));
        assert!(node.len() <= MAX_NODE_LEN);
        assert_eq!(node.chars().count(), MAX_NODE_LEN / 2);
    }
}
