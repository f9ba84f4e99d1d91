//! Series names: a `metrics` key (name and labels) plus a suffix, turned
//! into a valid [`MetricPath`] in either [`LabelStyle`].
//!
//! The replacement rules are documented on [`LabelStyle`]; this file is
//! their only implementation.

use graphite_proto::{MetricPath, sanitize_metric_part};
use metrics::Key;

use crate::scheme::{Characters, KindScheme, LabelStyle, NamingScheme, StatisticPlacement};

/// What an empty label key or value is sent as (carbon refuses empty
/// tags and path nodes).
pub(crate) const EMPTY_LABEL: &str = "_";

/// What a label named `name` (carbon's reserved tag) is renamed to, as
/// Telegraf does.
pub(crate) const NAME_LABEL: &str = "_name";

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
    statistic: StatisticPlacement,
    characters: Characters,
}

/// A label set (or name) that cannot make a valid series once the
/// replacement rules have run: the series is dropped and counted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

impl Namer {
    pub(crate) fn new(
        prefix: Option<&str>,
        global_labels: &[(String, String)],
        scheme: &NamingScheme,
    ) -> Self {
        let characters = scheme.characters;
        let prefix = prefix
            .map(|p| sanitize_dotted(&replace(characters, p)))
            .unwrap_or_default();
        let mut globals: Vec<(String, String)> = Vec::new();
        for (k, v) in global_labels {
            globals.retain(|(gk, _)| gk != k);
            globals.push((k.clone(), v.clone()));
        }
        Self {
            prefix,
            global_labels: globals,
            style: scheme.labels,
            statistic: scheme.statistic.clone(),
            characters,
        }
    }

    /// The sanitised prefix (empty for none).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The series names of `key` for each statistic of `kind`, in the same
    /// order.
    pub(crate) fn kind_paths(
        &self,
        key: &Key,
        kind: &KindScheme,
    ) -> Result<Vec<MetricPath>, Invalid> {
        let names: Vec<&str> = kind.statistics.iter().map(|(n, _)| n.as_str()).collect();
        self.paths_under(&kind.prefix, key, &names)
    }

    /// The series name of `key` for each of `suffixes` (`""` for none), in
    /// the same order.
    #[cfg(test)]
    pub(crate) fn paths(&self, key: &Key, suffixes: &[&str]) -> Result<Vec<MetricPath>, Invalid> {
        self.paths_under("", key, suffixes)
    }

    fn paths_under(
        &self,
        kind_prefix: &str,
        key: &Key,
        suffixes: &[&str],
    ) -> Result<Vec<MetricPath>, Invalid> {
        let name = sanitize_dotted(&replace(self.characters, key.name()));
        let mut base = String::new();
        for part in [kind_prefix, &self.prefix, &name] {
            if !part.is_empty() {
                if !base.is_empty() {
                    base.push('.');
                }
                base.push_str(part);
            }
        }
        // The metric's own labels first; a global label only where the
        // metric has no label of that key (the metric's own label wins).
        let mut labels: Vec<(String, String)> = key
            .labels()
            .map(|l| {
                (
                    replace(self.characters, l.key()),
                    replace(self.characters, l.value()),
                )
            })
            .collect();
        for (k, v) in &self.global_labels {
            if !key.labels().any(|own| own.key() == k) {
                labels.push((replace(self.characters, k), replace(self.characters, v)));
            }
        }
        match self.style {
            LabelStyle::Tags => {
                let mut tags = Vec::with_capacity(labels.len() + 1);
                for (k, v) in &labels {
                    tags.push((tag_key(k), tag_value(v)));
                }
                suffixes
                    .iter()
                    .map(|suffix| {
                        let mut tags = tags.clone();
                        let series = match &self.statistic {
                            StatisticPlacement::Tag(attr) if !suffix.is_empty() => {
                                tags.push((tag_key(attr), tag_value(suffix)));
                                base.clone()
                            }
                            _ => join(&base, suffix),
                        };
                        let mut keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
                        keys.sort_unstable();
                        if keys.windows(2).any(|w| w[0] == w[1]) {
                            return Err(Invalid);
                        }
                        MetricPath::tagged(&series, tags.iter().map(|(k, v)| (k, v)))
                            .map_err(|_| Invalid)
                    })
                    .collect()
            }
            LabelStyle::Path => {
                let mut nodes = Vec::with_capacity(labels.len());
                for (k, v) in &labels {
                    nodes.push((path_node(k), path_node(v)));
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
                    .map(|suffix| {
                        let series = match &self.statistic {
                            StatisticPlacement::Tag(attr) if !suffix.is_empty() => {
                                format!("{with_labels};{}={}", tag_key(attr), tag_value(suffix))
                            }
                            _ => join(&with_labels, suffix),
                        };
                        MetricPath::new(&series).map_err(|_| Invalid)
                    })
                    .collect()
            }
        }
    }
}

/// The scheme's own character rules, before graphite-rs's.
fn replace(characters: Characters, text: &str) -> String {
    match characters {
        Characters::Graphite => text.to_owned(),
        Characters::Dropwizard => replace_whitespace_runs(text.trim(), "-"),
        Characters::Statsd => replace_whitespace_runs(text, "_")
            .replace('/', "-")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ';' | '='))
            .collect(),
    }
}

fn replace_whitespace_runs(text: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !in_run {
                out.push_str(with);
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
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
/// `.` becomes `_`; empty becomes [`EMPTY_LABEL`].
fn path_node(text: &str) -> String {
    if text.is_empty() {
        return EMPTY_LABEL.to_owned();
    }
    sanitize_metric_part(text)
}

/// A tag name: whitespace, control characters and `; ! ^ =` become `_`;
/// empty becomes [`EMPTY_LABEL`], `name` (reserved by carbon)
/// [`NAME_LABEL`].
fn tag_key(text: &str) -> String {
    if text.is_empty() {
        return EMPTY_LABEL.to_owned();
    }
    if text == "name" {
        return NAME_LABEL.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || matches!(c, ';' | '!' | '^' | '=') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A tag value: whitespace, control characters and `;` become `_`, and so
/// does a leading `~`; empty becomes [`EMPTY_LABEL`].
fn tag_value(text: &str) -> String {
    if text.is_empty() {
        return EMPTY_LABEL.to_owned();
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

    fn scheme(labels: LabelStyle) -> NamingScheme {
        NamingScheme {
            labels,
            ..NamingScheme::default()
        }
    }

    fn names(namer: &Namer, key: &Key, suffix: &str) -> Result<String, Invalid> {
        namer
            .paths(key, &[suffix])
            .map(|p| p[0].as_str().to_owned())
    }

    #[test]
    fn tags_are_canonical_whatever_the_order() {
        let namer = Namer::new(Some("app.web1"), &[], &scheme(LabelStyle::Tags));
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
        let namer = Namer::new(Some("app"), &[], &scheme(LabelStyle::Path));
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
        let namer = Namer::new(None, &globals, &scheme(LabelStyle::Tags));
        let k = key("x", &[("host", "db2")]);
        assert_eq!(names(&namer, &k, ""), Ok("x;dc=ams;host=db2".into()));
    }

    #[test]
    fn invalid_label_sets_are_refused() {
        for style in [LabelStyle::Tags, LabelStyle::Path] {
            let namer = Namer::new(None, &[], &scheme(style));
            assert_eq!(
                names(&namer, &key("x", &[("a", "1"), ("a", "2")]), "count"),
                Err(Invalid)
            );
        }
        let tags = Namer::new(None, &[], &scheme(LabelStyle::Tags));
        // Replacement makes both keys `a_b`: a duplicate.
        assert_eq!(
            names(&tags, &key("x", &[("a b", "1"), ("a=b", "2")]), ""),
            Err(Invalid)
        );
    }

    #[test]
    fn name_labels_and_empty_values_get_placeholders() {
        let tags = Namer::new(None, &[], &scheme(LabelStyle::Tags));
        assert_eq!(
            names(&tags, &key("x", &[("name", "1"), ("a", "")]), "count"),
            Ok("x.count;_name=1;a=_".into())
        );
        let path = Namer::new(None, &[], &scheme(LabelStyle::Path));
        assert_eq!(
            names(&path, &key("x", &[("a", "")]), "count"),
            Ok("x.a._.count".into())
        );
    }

    #[test]
    fn presets_place_prefixes_statistics_and_characters() {
        let k = key("app.bad name/x(y)", &[("env", "prod")]);
        let statsd = NamingScheme::statsd(&[90.0]);
        let namer = Namer::new(None, &[], &statsd);
        let paths = namer.kind_paths(&k, &statsd.counter).expect("valid");
        assert_eq!(
            paths[0].as_str(),
            "stats.counters.app.bad_name-xy.count;env=prod"
        );
        let micrometer = NamingScheme::micrometer_tagged();
        let namer = Namer::new(None, &[], &micrometer);
        let paths = namer.kind_paths(
            &key("http.requests", &[("method", "GET")]),
            &micrometer.counter,
        );
        assert_eq!(
            paths.expect("valid")[1].as_str(),
            "http.requests;method=GET;metricattribute=m1_rate"
        );
        let dropwizard = NamingScheme::dropwizard();
        let namer = Namer::new(Some("svc"), &[], &dropwizard);
        let paths = namer.kind_paths(&key("app.with space", &[]), &dropwizard.counter);
        assert_eq!(
            paths.expect("valid")[0].as_str(),
            "svc.app.with-space.count"
        );
    }

    #[test]
    fn hostile_characters_are_replaced() {
        let tags = Namer::new(None, &[], &scheme(LabelStyle::Tags));
        let k = key("a b.c\nd", &[("k;x", "~v;1 2")]);
        assert_eq!(names(&tags, &k, ""), Ok("a_b.c_d;k_x=_v_1_2".into()));
        assert_eq!(names(&tags, &key("a..b", &[]), ""), Ok("a._.b".into()));
    }
}
