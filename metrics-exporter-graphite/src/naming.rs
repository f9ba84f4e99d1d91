//! Series names: a `metrics` key (name and labels) plus a suffix, turned
//! into a valid [`MetricPath`] in either [`LabelStyle`].
//!
//! The replacement rules are documented on [`LabelStyle`]; this file is
//! their only implementation.

use graphite_proto::{MetricPath, sanitize_metric_part};
use metrics::Key;

use crate::scheme::LabelStyle;

/// How labels become part of a series name, with the prefix and the
/// global labels. Built once per exporter.
#[derive(Clone, Debug)]
pub(crate) struct Namer {
    /// Sanitised prefix nodes joined with `.`, or empty.
    prefix: String,
    /// Global labels, in the order given (a later one with the same key
    /// replaces an earlier one).
    global_labels: Vec<(String, String)>,
    style: LabelStyle,
}

/// A label set (or name) that cannot make a valid series once the
/// replacement rules have run: the series is dropped and counted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

impl Namer {
    pub(crate) fn new(
        prefix: Option<&str>,
        global_labels: &[(String, String)],
        style: LabelStyle,
    ) -> Self {
        let prefix = prefix.map(sanitize_dotted).unwrap_or_default();
        let mut globals: Vec<(String, String)> = Vec::new();
        for (k, v) in global_labels {
            globals.retain(|(gk, _)| gk != k);
            globals.push((k.clone(), v.clone()));
        }
        Self {
            prefix,
            global_labels: globals,
            style,
        }
    }

    /// The series name of `key` for each of `suffixes` (`""` for none), in
    /// the same order.
    pub(crate) fn paths(&self, key: &Key, suffixes: &[&str]) -> Result<Vec<MetricPath>, Invalid> {
        let name = sanitize_dotted(key.name());
        let base = if self.prefix.is_empty() {
            name
        } else {
            format!("{}.{name}", self.prefix)
        };
        // The metric's own labels first; a global label only where the
        // metric has no label of that key (the metric's own label wins).
        let mut labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
        for (k, v) in &self.global_labels {
            if !labels.iter().any(|(own, _)| own == k) {
                labels.push((k, v));
            }
        }
        match self.style {
            LabelStyle::Tags => {
                let mut tags = Vec::with_capacity(labels.len());
                for (k, v) in labels {
                    tags.push((tag_key(k)?, tag_value(v)?));
                }
                suffixes
                    .iter()
                    .map(|suffix| {
                        let series = join(&base, suffix);
                        MetricPath::tagged(&series, tags.iter().map(|(k, v)| (k, v)))
                            .map_err(|_| Invalid)
                    })
                    .collect()
            }
            LabelStyle::Path => {
                let mut nodes = Vec::with_capacity(labels.len());
                for (k, v) in labels {
                    nodes.push((path_node(k)?, path_node(v)?));
                }
                nodes.sort();
                if nodes.windows(2).any(|w| w[0].0 == w[1].0) {
                    return Err(Invalid);
                }
                let mut with_labels = base;
                for (k, v) in &nodes {
                    with_labels.push('.');
                    with_labels.push_str(k);
                    with_labels.push('.');
                    with_labels.push_str(v);
                }
                suffixes
                    .iter()
                    .map(|suffix| MetricPath::new(&join(&with_labels, suffix)).map_err(|_| Invalid))
                    .collect()
            }
        }
    }
}

fn join(base: &str, suffix: &str) -> String {
    if suffix.is_empty() {
        base.to_owned()
    } else {
        format!("{base}.{suffix}")
    }
}

/// A dotted metric name: every node through [`sanitize_metric_part`]
/// (an empty node becomes `_`).
fn sanitize_dotted(name: &str) -> String {
    name.split('.')
        .map(sanitize_metric_part)
        .collect::<Vec<_>>()
        .join(".")
}

/// A label key or value as one path node: [`sanitize_metric_part`], so
/// `.` becomes `_`; empty is invalid.
fn path_node(text: &str) -> Result<String, Invalid> {
    if text.is_empty() {
        return Err(Invalid);
    }
    Ok(sanitize_metric_part(text))
}

/// A tag name: whitespace, control characters and `; ! ^ =` become `_`;
/// empty or `name` (reserved by carbon) is invalid.
fn tag_key(text: &str) -> Result<String, Invalid> {
    if text.is_empty() || text == "name" {
        return Err(Invalid);
    }
    Ok(text
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || matches!(c, ';' | '!' | '^' | '=') {
                '_'
            } else {
                c
            }
        })
        .collect())
}

/// A tag value: whitespace, control characters and `;` become `_`, and so
/// does a leading `~`; empty is invalid.
fn tag_value(text: &str) -> Result<String, Invalid> {
    if text.is_empty() {
        return Err(Invalid);
    }
    Ok(text
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_whitespace() || c.is_control() || c == ';' || (i == 0 && c == '~') {
                '_'
            } else {
                c
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Label;

    fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
        Key::from_parts(
            name,
            labels
                .iter()
                .map(|(k, v)| Label::new(*k, *v))
                .collect::<Vec<_>>(),
        )
    }

    fn names(namer: &Namer, key: &Key, suffix: &str) -> Result<String, Invalid> {
        namer
            .paths(key, &[suffix])
            .map(|p| p[0].as_str().to_owned())
    }

    #[test]
    fn tags_are_canonical_whatever_the_order() {
        let namer = Namer::new(Some("app.web1"), &[], LabelStyle::Tags);
        let a = key("http.requests", &[("status", "200"), ("method", "GET")]);
        let b = key("http.requests", &[("method", "GET"), ("status", "200")]);
        assert_eq!(
            names(&namer, &a, "count"),
            Ok("app.web1.http.requests.count;method=GET;status=200".into())
        );
        assert_eq!(names(&namer, &a, "count"), names(&namer, &b, "count"));
    }

    #[test]
    fn path_style_sorts_labels_and_replaces_dots() {
        let namer = Namer::new(Some("app"), &[], LabelStyle::Path);
        let k = key("http.requests", &[("status", "200"), ("host", "a.b c")]);
        assert_eq!(
            names(&namer, &k, "count"),
            Ok("app.http.requests.host.a_b_c.status.200.count".into())
        );
        assert_eq!(names(&namer, &key("g", &[]), ""), Ok("app.g".into()));
    }

    #[test]
    fn own_labels_win_over_global_ones() {
        let globals = [
            ("dc".to_owned(), "ams".to_owned()),
            ("host".to_owned(), "web1".to_owned()),
        ];
        let namer = Namer::new(None, &globals, LabelStyle::Tags);
        let k = key("x", &[("host", "db2")]);
        assert_eq!(names(&namer, &k, ""), Ok("x;dc=ams;host=db2".into()));
    }

    #[test]
    fn invalid_label_sets_are_refused() {
        for style in [LabelStyle::Tags, LabelStyle::Path] {
            let namer = Namer::new(None, &[], style);
            assert_eq!(
                names(&namer, &key("x", &[("a", "")]), "count"),
                Err(Invalid)
            );
            assert_eq!(
                names(&namer, &key("x", &[("a", "1"), ("a", "2")]), "count"),
                Err(Invalid)
            );
        }
        let tags = Namer::new(None, &[], LabelStyle::Tags);
        assert_eq!(names(&tags, &key("x", &[("name", "1")]), ""), Err(Invalid));
        // Replacement makes both keys `a_b`: a duplicate.
        assert_eq!(
            names(&tags, &key("x", &[("a b", "1"), ("a=b", "2")]), ""),
            Err(Invalid)
        );
    }

    #[test]
    fn hostile_characters_are_replaced() {
        let tags = Namer::new(None, &[], LabelStyle::Tags);
        let k = key("a b.c\nd", &[("k;x", "~v;1 2")]);
        assert_eq!(names(&tags, &k, ""), Ok("a_b.c_d;k_x=_v_1_2".into()));
        assert_eq!(names(&tags, &key("a..b", &[]), ""), Ok("a._.b".into()));
    }
}
