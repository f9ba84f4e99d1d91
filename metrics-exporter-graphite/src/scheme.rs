//! The naming configuration, [`NamingScheme`], and the choices it is made
//! of: where labels go ([`LabelStyle`]), what a counter sends
//! ([`CounterMode`]), statistics, prefixes per kind, windows, timestamps.
//! The lowest module: naming and rendering read these, the builder sets
//! them.

/// The default quantiles sent for histograms.
pub const DEFAULT_QUANTILES: [f64; 5] = [0.5, 0.75, 0.95, 0.99, 0.999];

/// How a metric's labels become part of its Graphite name.
///
/// The metric name is split on `.` and every node goes through
/// [`graphite_proto::sanitize_metric_part`]: whitespace, control characters,
/// `; / \ * ? [ ] { }` become `_`, and an empty node becomes `_`
/// (`"a b..c"` gives `a_b._.c`). The prefix is treated the same way.
/// Labels follow the rules of each style below. An empty label key or
/// value is sent as `_` (carbon refuses empty tags and nodes), and a label
/// named `name` (carbon's reserved tag) is renamed `_name`, as Telegraf
/// does: the series is kept. A series whose labels still cannot be valid
/// (the same key twice after replacement, a name longer than carbon
/// accepts) is never sent: it is counted once in
/// [`ExporterStats::invalid_series`](crate::ExporterStats).
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
    /// control characters and `;` become `_`, and so does a leading `~`.
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

/// One statistic a series sends, computed at each flush.
///
/// "The window" is the interval for [`Window::Interval`] schemes and
/// everything since the series was first seen for [`Window::SinceStart`].
/// Statistics of samples (`SampleSum` to `Threshold`) are sent only when
/// the window has samples; `Count`, `Sum` and the rates always.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Statistic {
    /// A gauge's value.
    Value,
    /// A counter's total, or a histogram's number of samples: the running
    /// total or the interval's change, by [`CounterMode`].
    Count,
    /// A histogram's sum of samples, by [`CounterMode`] as `Count`.
    Sum,
    /// The sum of the window's samples, sent only when it has samples
    /// (statsd's `sum`).
    SampleSum,
    /// The least sample of the window.
    Min,
    /// The greatest sample of the window.
    Max,
    /// The mean of the window's samples.
    Mean,
    /// Their population standard deviation (from the buckets: each sample
    /// within the histogram's relative error).
    Stddev,
    /// The median: the mean of the two middle samples for an even count
    /// (statsd's rule).
    Median,
    /// The sum of the squared samples (from the buckets).
    SumSquares,
    /// The sample at rank `floor(q × (count − 1))` (see
    /// [`SKETCH_RELATIVE_ERROR`](crate::SKETCH_RELATIVE_ERROR)).
    Quantile(f64),
    /// The interval's change of the count per second.
    Rate,
    /// Dropwizard's one-minute exponentially weighted rate per second,
    /// ticking every 5 s.
    M1Rate,
    /// The five-minute rate.
    M5Rate,
    /// The fifteen-minute rate.
    M15Rate,
    /// The count since the series was first seen divided by the seconds
    /// since the start of that interval.
    MeanRate,
    /// statsd's threshold family over the `k = round(|percent| / 100 × n)`
    /// lowest (percent > 0) or highest (percent < 0) of the interval's `n`
    /// samples; not sent when `k` is 0.
    Threshold(f64, ThresholdStatistic),
}

/// The statistic of a [`Statistic::Threshold`] family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThresholdStatistic {
    /// `k`.
    Count,
    /// The mean of the `k` samples.
    Mean,
    /// The largest of them (percent > 0) or the smallest (percent < 0).
    Bound,
    /// Their sum.
    Sum,
    /// The sum of their squares.
    SumSquares,
}

/// The series of one kind of metric: a prefix and named statistics.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct KindScheme {
    /// Nodes before the builder's prefix and the name (statsd's
    /// `stats.counters`), empty for none.
    pub prefix: String,
    /// The statistics, each with the name it is sent as (`""`: the bare
    /// series, for gauges).
    pub statistics: Vec<(String, Statistic)>,
}

impl KindScheme {
    /// A kind with `prefix` and `statistics`.
    ///
    /// ```
    /// use metrics_exporter_graphite::{KindScheme, Statistic};
    /// let counters = KindScheme::new("", [("count", Statistic::Count), ("rate", Statistic::Rate)]);
    /// assert_eq!(counters.statistics.len(), 2);
    /// ```
    pub fn new<'a>(
        prefix: &str,
        statistics: impl IntoIterator<Item = (&'a str, Statistic)>,
    ) -> Self {
        Self {
            prefix: prefix.to_owned(),
            statistics: statistics
                .into_iter()
                .map(|(n, s)| (n.to_owned(), s))
                .collect(),
        }
    }
}

/// Where a statistic's name goes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatisticPlacement {
    /// A last node: `name.p99` (then the labels, per [`LabelStyle`]).
    Suffix,
    /// A tag with this key: `name;metricattribute=p99` (Micrometer).
    Tag(String),
}

/// Which timestamp a flush's datapoints carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampAt {
    /// The start of the interval whose data they hold (default).
    #[default]
    IntervalStart,
    /// Its end, the flush time (Dropwizard, statsd).
    IntervalEnd,
}

/// Over what samples histogram statistics are computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Window {
    /// The interval's samples (default, statsd).
    #[default]
    Interval,
    /// Every sample since the series was first seen (Dropwizard's
    /// reservoirs are not reset by a report). The exporter keeps a copy of
    /// every bucket touched so far: 32 bytes per non-empty bucket (160 KiB
    /// for latencies from 1 ms to 1 s, at most 2.5 MiB per series), and
    /// merging it allocates once per histogram per flush.
    SinceStart,
}

/// Which sample a quantile is: the rank rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuantileRank {
    /// The sample at 0-based rank `floor(q × (n − 1))` (default,
    /// DDSketch's and metrics-util's rule).
    #[default]
    Lower,
    /// Dropwizard's `WeightedSnapshot` with equal weights: the sample at
    /// the largest index `i` whose cumulative weight `Qᵢ = Σ 1/n` (summed in
    /// floating point, as Dropwizard sums it) is at most `q` (p50 of 1..=100
    /// is 50, of 1..=10 is 6). Past Dropwizard's reservoir size (1028
    /// samples), `floor(q × n)`.
    Dropwizard,
}

/// How characters of names and labels are replaced, before graphite-rs's
/// own rules (see [`LabelStyle`]) make whatever is left valid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Characters {
    /// graphite-rs's rules only (default).
    #[default]
    Graphite,
    /// Dropwizard's `Graphite.send`: each whitespace run becomes `-`.
    Dropwizard,
    /// statsd's key rules: each whitespace run becomes `_`, `/` becomes
    /// `-`, then every character outside `A-Za-z0-9_-.;=` is removed.
    Statsd,
}

/// The naming configuration: which series each kind of metric sends, with
/// what names, values and timestamps. [`NamingScheme::graphite`] (the
/// default), [`dropwizard`](NamingScheme::dropwizard),
/// [`micrometer_tagged`](NamingScheme::micrometer_tagged) and
/// [`statsd`](NamingScheme::statsd) are values of it; every field is public
/// to make others.
///
/// The kinds: a counter; a *meter*, a counter described with
/// [`metrics::Unit::CountPerSecond`] (`describe_counter!`); a gauge; a
/// histogram; a *timer*, a histogram described with a time unit (seconds,
/// milliseconds, microseconds or nanoseconds), whose samples are converted
/// to milliseconds when [`timers_in_milliseconds`](Self::timers_in_milliseconds).
///
/// ```
/// use metrics_exporter_graphite::{GraphiteBuilder, NamingScheme};
/// let b = GraphiteBuilder::new().with_naming_scheme(NamingScheme::dropwizard());
/// # drop(b);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NamingScheme {
    /// Counters.
    pub counter: KindScheme,
    /// Counters described as [`metrics::Unit::CountPerSecond`].
    pub meter: KindScheme,
    /// Gauges.
    pub gauge: KindScheme,
    /// Histograms.
    pub histogram: KindScheme,
    /// Histograms described with a time unit.
    pub timer: KindScheme,
    /// Where labels go.
    pub labels: LabelStyle,
    /// Where the statistic's name goes.
    pub statistic: StatisticPlacement,
    /// Running totals or changes.
    pub counter_mode: CounterMode,
    /// The datapoints' timestamp.
    pub timestamp: TimestampAt,
    /// The histogram statistics' window.
    pub window: Window,
    /// Timers' samples converted to milliseconds from their described unit.
    pub timers_in_milliseconds: bool,
    /// Which sample a quantile is.
    pub quantile_rank: QuantileRank,
    /// Character replacement in names and labels.
    pub characters: Characters,
}

impl Default for NamingScheme {
    fn default() -> Self {
        Self::graphite(&DEFAULT_QUANTILES)
    }
}

/// `0.5` → `p50`, `0.999` → `p999`, `0.05` → `p05`, `1.0` → `p100`.
pub(crate) fn quantile_suffix(q: f64) -> String {
    if q >= 1.0 {
        return "p100".to_owned();
    }
    // Up to six decimals, without trailing zeros, at least two digits.
    let text = format!("{q:.6}");
    let digits = text
        .split_once('.')
        .map_or("", |(_, d)| d)
        .trim_end_matches('0');
    if digits.len() < 2 {
        format!("p{digits:0<2}")
    } else {
        format!("p{digits}")
    }
}

/// statsd's threshold key: `90` → `90`, `99.5` → `99_5`, `-10` → `top10`.
fn threshold_key(percent: f64) -> String {
    format!("{percent}")
        .replacen('.', "_", 1)
        .replace('-', "top")
}

impl NamingScheme {
    /// graphite-rs's own scheme (the default): counters `.count`, gauges
    /// bare, histograms `.count .sum` and over the interval `.min .max
    /// .mean` and one `.pNN` per quantile; labels as tags; running totals;
    /// stamped with the interval's start.
    ///
    /// ```
    /// use metrics_exporter_graphite::NamingScheme;
    /// assert_eq!(NamingScheme::graphite(&[0.5, 0.99]), NamingScheme::graphite(&[0.5, 0.99]));
    /// ```
    pub fn graphite(quantiles: &[f64]) -> Self {
        let mut histogram = KindScheme::new(
            "",
            [
                ("count", Statistic::Count),
                ("sum", Statistic::Sum),
                ("min", Statistic::Min),
                ("max", Statistic::Max),
                ("mean", Statistic::Mean),
            ],
        );
        histogram.statistics.extend(
            quantiles
                .iter()
                .map(|&q| (quantile_suffix(q), Statistic::Quantile(q))),
        );
        let counter = KindScheme::new("", [("count", Statistic::Count)]);
        Self {
            meter: counter.clone(),
            counter,
            gauge: KindScheme::new("", [("", Statistic::Value)]),
            timer: histogram.clone(),
            histogram,
            labels: LabelStyle::Tags,
            statistic: StatisticPlacement::Suffix,
            counter_mode: CounterMode::Cumulative,
            timestamp: TimestampAt::IntervalStart,
            window: Window::Interval,
            timers_in_milliseconds: false,
            quantile_rank: QuantileRank::Lower,
            characters: Characters::Graphite,
        }
    }

    /// Dropwizard 3.2.6's `GraphiteReporter` (rates per second, durations
    /// in milliseconds): counters `.count` (running total); meters `.count
    /// .m1_rate .m5_rate .m15_rate .mean_rate`; gauges bare; histograms
    /// `.count .max .mean .min .stddev .p50 .p75 .p95 .p98 .p99 .p999` over
    /// every sample since the start; timers the same in milliseconds, then
    /// the meter's rates; stamped with the flush time; whitespace runs
    /// become `-`. Labels become tags after the statistic.
    ///
    /// ```
    /// let s = metrics_exporter_graphite::NamingScheme::dropwizard();
    /// assert_eq!(s.histogram.statistics.len(), 11);
    /// ```
    pub fn dropwizard() -> Self {
        let rates = [
            ("count", Statistic::Count),
            ("m1_rate", Statistic::M1Rate),
            ("m5_rate", Statistic::M5Rate),
            ("m15_rate", Statistic::M15Rate),
            ("mean_rate", Statistic::MeanRate),
        ];
        let samples = [
            ("max", Statistic::Max),
            ("mean", Statistic::Mean),
            ("min", Statistic::Min),
            ("stddev", Statistic::Stddev),
            ("p50", Statistic::Quantile(0.5)),
            ("p75", Statistic::Quantile(0.75)),
            ("p95", Statistic::Quantile(0.95)),
            ("p98", Statistic::Quantile(0.98)),
            ("p99", Statistic::Quantile(0.99)),
            ("p999", Statistic::Quantile(0.999)),
        ];
        let mut histogram = KindScheme::new("", [("count", Statistic::Count)]);
        histogram
            .statistics
            .extend(KindScheme::new("", samples).statistics);
        let mut timer = KindScheme::new("", samples);
        timer
            .statistics
            .extend(KindScheme::new("", rates).statistics);
        Self {
            counter: KindScheme::new("", [("count", Statistic::Count)]),
            meter: KindScheme::new("", rates),
            gauge: KindScheme::new("", [("", Statistic::Value)]),
            histogram,
            timer,
            labels: LabelStyle::Tags,
            statistic: StatisticPlacement::Suffix,
            counter_mode: CounterMode::Cumulative,
            timestamp: TimestampAt::IntervalEnd,
            window: Window::SinceStart,
            timers_in_milliseconds: true,
            quantile_rank: QuantileRank::Dropwizard,
            characters: Characters::Dropwizard,
        }
    }

    /// Micrometer's graphite registry in its default tagged mode: the
    /// statistic as the last tag `;metricattribute=…` instead of a node,
    /// labels as tags, counters as Dropwizard meters (`count m1_rate
    /// m5_rate m15_rate mean_rate`), otherwise Dropwizard's statistics,
    /// windows, units and timestamps ([`dropwizard`](Self::dropwizard)).
    ///
    /// ```
    /// use metrics_exporter_graphite::{NamingScheme, StatisticPlacement};
    /// let s = NamingScheme::micrometer_tagged();
    /// assert_eq!(s.statistic, StatisticPlacement::Tag("metricattribute".into()));
    /// ```
    pub fn micrometer_tagged() -> Self {
        let dropwizard = Self::dropwizard();
        Self {
            counter: dropwizard.meter.clone(),
            statistic: StatisticPlacement::Tag("metricattribute".to_owned()),
            characters: Characters::Graphite,
            ..dropwizard
        }
    }

    /// statsd 0.9.0's graphite backend, new namespace, with the
    /// `thresholds` given (statsd's default is `[90.0]`): counters
    /// `stats.counters.NAME.count` (the interval's change) and `.rate` (per
    /// second); gauges `stats.gauges.NAME`; histograms and timers (in
    /// milliseconds) `stats.timers.NAME.` with, per threshold N,
    /// `count_N mean_N upper_N sum_N sum_squares_N` (`lower_topM` for −M),
    /// then `std upper lower count count_ps sum sum_squares mean median`,
    /// over the interval; stamped with the flush time; statsd's character
    /// rules; labels as tags.
    ///
    /// ```
    /// let s = metrics_exporter_graphite::NamingScheme::statsd(&[90.0]);
    /// assert_eq!(s.timer.statistics[0].0, "count_90");
    /// ```
    pub fn statsd(thresholds: &[f64]) -> Self {
        let mut timer = KindScheme::new("stats.timers", []);
        for &t in thresholds {
            let key = threshold_key(t);
            let bound = if t < 0.0 {
                format!("lower_{key}")
            } else {
                format!("upper_{key}")
            };
            let family = [
                (format!("count_{key}"), ThresholdStatistic::Count),
                (format!("mean_{key}"), ThresholdStatistic::Mean),
                (bound, ThresholdStatistic::Bound),
                (format!("sum_{key}"), ThresholdStatistic::Sum),
                (format!("sum_squares_{key}"), ThresholdStatistic::SumSquares),
            ];
            timer.statistics.extend(
                family
                    .into_iter()
                    .map(|(name, s)| (name, Statistic::Threshold(t, s))),
            );
        }
        timer.statistics.extend(
            KindScheme::new(
                "",
                [
                    ("std", Statistic::Stddev),
                    ("upper", Statistic::Max),
                    ("lower", Statistic::Min),
                    ("count", Statistic::Count),
                    ("count_ps", Statistic::Rate),
                    ("sum", Statistic::SampleSum),
                    ("sum_squares", Statistic::SumSquares),
                    ("mean", Statistic::Mean),
                    ("median", Statistic::Median),
                ],
            )
            .statistics,
        );
        let counter = KindScheme::new(
            "stats.counters",
            [("count", Statistic::Count), ("rate", Statistic::Rate)],
        );
        Self {
            meter: counter.clone(),
            counter,
            gauge: KindScheme::new("stats.gauges", [("", Statistic::Value)]),
            histogram: timer.clone(),
            timer,
            labels: LabelStyle::Tags,
            statistic: StatisticPlacement::Suffix,
            counter_mode: CounterMode::Delta,
            timestamp: TimestampAt::IntervalEnd,
            window: Window::Interval,
            timers_in_milliseconds: true,
            quantile_rank: QuantileRank::Lower,
            characters: Characters::Statsd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statsd_threshold_keys() {
        assert_eq!(threshold_key(90.0), "90");
        assert_eq!(threshold_key(99.5), "99_5");
        assert_eq!(threshold_key(-10.0), "top10");
    }

    #[test]
    fn quantile_suffixes() {
        for (q, s) in [
            (0.5, "p50"),
            (0.999, "p999"),
            (0.05, "p05"),
            (1.0, "p100"),
            (0.9, "p90"),
        ] {
            assert_eq!(quantile_suffix(q), s);
        }
    }
}
