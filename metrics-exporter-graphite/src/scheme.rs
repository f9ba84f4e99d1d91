//! The choices that shape series names and values: where labels go
//! ([`LabelStyle`]) and what a counter sends ([`CounterMode`]). The lowest
//! module: naming and rendering read these, the builder sets them.

/// How a metric's labels become part of its Graphite name.
///
/// The metric name is split on `.` and every node goes through
/// [`graphite_proto::sanitize_metric_part`]: whitespace, control characters,
/// `; / \ * ? [ ] { }` become `_`, and an empty node becomes `_`
/// (`"a b..c"` gives `a_b._.c`). The prefix is treated the same way.
/// Labels follow the rules of each style below. A series whose labels still
/// cannot be valid (an empty key or value, the same key twice after
/// replacement, a name longer than carbon accepts) is never sent: it is
/// counted once in [`ExporterStats::invalid_series`](crate::ExporterStats).
///
/// ```
/// use metrics_exporter_graphite::{GraphiteBuilder, LabelStyle};
///
/// let builder = GraphiteBuilder::new().with_label_style(LabelStyle::Path);
/// # drop(builder);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelStyle {
    /// Graphite 1.1 tags after the suffix, in carbon's canonical order:
    /// `P.http.requests.count;method=GET;status=200` (default). Carbon
    /// stores them under `_tagged/`. In tag names whitespace, control
    /// characters and `; ! ^ =` become `_`; in tag values whitespace,
    /// control characters and `;` become `_`, and so does a leading `~`. A
    /// label named `name` (reserved by carbon) makes the series invalid.
    #[default]
    Tags,
    /// `key.value` nodes before the suffix, sorted by key:
    /// `P.http.requests.method.GET.status.200.count`. Keys and values go
    /// through [`graphite_proto::sanitize_metric_part`], so a `.` in a value
    /// becomes `_` and every label is exactly two nodes.
    Path,
}

/// What a counter sends every interval.
///
/// ```
/// use metrics_exporter_graphite::{CounterMode, GraphiteBuilder};
///
/// let builder = GraphiteBuilder::new().with_counter_mode(CounterMode::Delta);
/// # drop(builder);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CounterMode {
    /// The running total since the series was first seen (default): what
    /// Graphite's `perSecond` and `nonNegativeDerivative` expect, and robust
    /// to a lost datapoint.
    #[default]
    Cumulative,
    /// The change since the previous flush: for carbon-aggregator `sum`
    /// rules or StatsD-style dashboards. Applies to histograms' `.count`
    /// and `.sum` too.
    Delta,
}
