//! Turning the registry's current values into datapoints: the pure part of
//! a flush. Names are rendered once per series and kept; a flush in steady
//! state allocates nothing for counters and gauges.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::Ordering;
use std::sync::{PoisonError, RwLock};

use graphite_proto::{Datapoint, MetricPath, Value};
use metrics::{Key, Unit};
use metrics_util::registry::Registry;
use metrics_util::{KeyHasher, MetricKind, MetricKindMask};

use crate::histogram::{GraphiteStorage, Snapshot};
use crate::naming::Namer;
use crate::rates::Meter;
use crate::scheme::{
    CounterMode, KindScheme, NamingScheme, QuantileRank, Statistic, ThresholdStatistic,
    TimestampAt, Window,
};

/// The relative error of the quantiles sent for histograms: each is within
/// 0.1 % of the sample at that rank (`floor(q * (count - 1))`, 0-based),
/// for magnitudes from 2^-30 (about 9.3e-10; smaller ones are sent as 0) to
/// 2^50 (about 1.1e15; past it, the max or min). The buckets guarantee
/// 2^-10 (0.098 %).
pub const SKETCH_RELATIVE_ERROR: f64 = 0.001;

/// The registry the recorder writes to and the exporter reads.
pub(crate) type MetricRegistry = Registry<Key, GraphiteStorage>;

/// Keys carry their hash, computed once: no need to hash them again.
type KeyMap<V> = HashMap<Key, V, BuildHasherDefault<KeyHasher>>;

/// What rendering observed, to be added to the exporter's stats when the
/// flush is committed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Observed {
    /// Series seen for the first time whose name cannot be valid.
    pub(crate) invalid_series: u64,
    /// Gauge values or histogram samples that were NaN or infinite.
    pub(crate) non_finite: u64,
    /// Series forgotten after the idle timeout.
    pub(crate) idle_removed: u64,
}

/// The units given by `describe_counter!` and `describe_histogram!`, by
/// metric name: they pick meters and timers and scale timers.
pub(crate) type Units = RwLock<HashMap<String, Unit>>;

/// Settings that shape the output.
#[derive(Clone, Debug)]
pub(crate) struct RenderConfig {
    pub(crate) namer: Namer,
    pub(crate) scheme: NamingScheme,
    /// Whole seconds.
    pub(crate) interval: i64,
    /// Whole seconds; `None`: never.
    pub(crate) idle_timeout: Option<i64>,
    /// The kinds the idle timeout applies to.
    pub(crate) idle_kinds: MetricKindMask,
}

impl RenderConfig {
    /// The timestamp of a flush of the interval starting at `start`.
    pub(crate) fn stamp(&self, start: i64) -> i64 {
        match self.scheme.timestamp {
            TimestampAt::IntervalStart => start,
            TimestampAt::IntervalEnd => start + self.interval,
        }
    }
}

/// Which of a scheme's kinds a series is, with the factor its samples are
/// multiplied by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Meter,
    Histogram,
    Timer,
}

impl Kind {
    fn scheme(self, scheme: &NamingScheme) -> &KindScheme {
        match self {
            Self::Counter => &scheme.counter,
            Self::Meter => &scheme.meter,
            Self::Histogram => &scheme.histogram,
            Self::Timer => &scheme.timer,
        }
    }
}

fn unit_of(units: &Units, key: &Key) -> Option<Unit> {
    units
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(key.name())
        .copied()
}

/// Whether `kind` sends Dropwizard rates (the meter is advanced only then).
fn has_rates(kind: &KindScheme) -> bool {
    kind.statistics.iter().any(|(_, s)| {
        matches!(
            s,
            Statistic::M1Rate | Statistic::M5Rate | Statistic::M15Rate | Statistic::MeanRate
        )
    })
}

/// A histogram's kind and scale from its described unit.
fn histogram_kind(unit: Option<Unit>, scheme: &NamingScheme) -> (Kind, f64) {
    let to_ms = match unit {
        Some(Unit::Seconds) => 1e3,
        Some(Unit::Milliseconds) => 1.0,
        Some(Unit::Microseconds) => 1e-3,
        Some(Unit::Nanoseconds) => 1e-6,
        _ => return (Kind::Histogram, 1.0),
    };
    let scale = if scheme.timers_in_milliseconds {
        to_ms
    } else {
        1.0
    };
    (Kind::Timer, scale)
}

/// A series' names, one per statistic: one kept inline (a counter's or a
/// gauge's usual single series costs no pointer chase per flush).
#[derive(Debug)]
enum Paths {
    One(MetricPath),
    Many(Vec<MetricPath>),
}

impl Paths {
    fn new(mut paths: Vec<MetricPath>) -> Self {
        if paths.len() == 1
            && let Some(one) = paths.pop()
        {
            return Self::One(one);
        }
        Self::Many(paths)
    }

    fn iter(&self) -> std::slice::Iter<'_, MetricPath> {
        match self {
            Self::One(path) => std::slice::from_ref(path).iter(),
            Self::Many(paths) => paths.iter(),
        }
    }
}

/// A series' rendered names (`None`: invalid, never sent) and what the
/// next flush needs from the previous one.
#[derive(Debug)]
struct CounterSeries {
    kind: Kind,
    paths: Option<Paths>,
    /// The value at the last committed flush.
    last: u64,
    /// Only for kinds that send rates.
    meter: Option<Meter>,
    live: Liveness,
}

#[derive(Debug)]
struct GaugeSeries {
    paths: Option<Paths>,
    last_bits: u64,
    live: Liveness,
}

#[derive(Debug)]
struct HistogramSeries {
    kind: Kind,
    scale: f64,
    paths: Option<Paths>,
    count: u64,
    sum: f64,
    /// Only for kinds that send rates.
    meter: Option<Meter>,
    /// Every sample so far, for [`Window::SinceStart`].
    total: Option<Snapshot>,
    live: Liveness,
}
/// What every kind of series tracks across committed flushes: when it last
/// changed (for the idle timeout) and whether its invalid name was counted.
#[derive(Debug)]
struct Liveness {
    /// Timestamp of the last committed flush that saw a change.
    changed_at: i64,
    /// Whether an invalid name was counted (once, by a committed flush).
    reported: bool,
}

impl Liveness {
    fn new(ts: i64) -> Self {
        Self {
            changed_at: ts,
            reported: false,
        }
    }

    /// A committed flush at `ts`: counts an invalid name once, notes a
    /// change, and says whether the series has now been idle long enough
    /// to forget.
    fn commit(
        &mut self,
        valid: bool,
        changed: bool,
        ts: i64,
        config: &RenderConfig,
        observed: &mut Observed,
        kind: MetricKind,
    ) -> bool {
        if !valid && !self.reported {
            self.reported = true;
            observed.invalid_series += 1;
        }
        if changed {
            self.changed_at = ts;
        }
        config.idle_kinds.matches(kind) && is_idle(config, self.changed_at, ts)
    }
}

/// Everything the exporter remembers between flushes.
#[derive(Debug, Default)]
pub(crate) struct State {
    counters: KeyMap<CounterSeries>,
    gauges: KeyMap<GaugeSeries>,
    histograms: KeyMap<HistogramSeries>,
    /// Reused for each histogram's interval.
    snapshot: Snapshot,
    /// Reused for a preview of a since-start window.
    preview: Snapshot,
    /// Reused for the idle keys of one flush.
    idle: Vec<Key>,
}

impl State {
    /// Appends to `out` what a flush of the interval starting at `start`
    /// sends. With `commit`, histogram samples are drained and totals,
    /// deltas, rates and idle times advance; without, nothing changes (a
    /// preview).
    pub(crate) fn render(
        &mut self,
        registry: &MetricRegistry,
        units: &Units,
        config: &RenderConfig,
        start: i64,
        commit: bool,
        out: &mut Vec<Datapoint>,
    ) -> Observed {
        let mut observed = Observed::default();
        self.render_counters(registry, units, config, start, commit, out, &mut observed);
        self.render_gauges(registry, config, start, commit, out, &mut observed);
        self.render_histograms(registry, units, config, start, commit, out, &mut observed);
        observed
    }

    #[allow(clippy::too_many_arguments)]
    fn render_counters(
        &mut self,
        registry: &MetricRegistry,
        units: &Units,
        config: &RenderConfig,
        start: i64,
        commit: bool,
        out: &mut Vec<Datapoint>,
        observed: &mut Observed,
    ) {
        let ts = config.stamp(start);
        let now = start + config.interval;
        let counters = &mut self.counters;
        let idle = &mut self.idle;
        idle.clear();
        registry.visit_counters(|key, counter| {
            let value = counter.load(Ordering::Acquire);
            let series = match counters.get_mut(key) {
                Some(s) => s,
                None => {
                    let kind = if unit_of(units, key) == Some(Unit::CountPerSecond) {
                        Kind::Meter
                    } else {
                        Kind::Counter
                    };
                    let paths = config
                        .namer
                        .kind_paths(key, kind.scheme(&config.scheme))
                        .ok()
                        .map(Paths::new);
                    counters.entry(key.clone()).or_insert(CounterSeries {
                        kind,
                        paths,
                        last: 0,
                        meter: has_rates(kind.scheme(&config.scheme)).then(|| Meter::new(start)),
                        live: Liveness::new(start),
                    })
                }
            };
            let delta = value.saturating_sub(series.last);
            let meter = series.meter.clone().map(|mut m| {
                m.advance(now, delta);
                m
            });
            if let Some(paths) = &series.paths {
                let figures = Figures {
                    counter_mode: config.scheme.counter_mode,
                    rank: config.scheme.quantile_rank,
                    total: value,
                    delta,
                    total_sum: 0.0,
                    delta_sum: 0.0,
                    window: None,
                    interval: None,
                    meter: meter.as_ref(),
                    now,
                    seconds: config.interval as f64,
                    scale: 1.0,
                };
                let stats = &series.kind.scheme(&config.scheme).statistics;
                for (path, (_, stat)) in paths.iter().zip(stats) {
                    push(out, path, figures.value(*stat), ts, observed);
                }
            }
            if commit {
                let changed = value != series.last;
                series.last = value;
                series.meter = meter;
                if series.live.commit(
                    series.paths.is_some(),
                    changed,
                    start,
                    config,
                    observed,
                    MetricKind::Counter,
                ) {
                    idle.push(key.clone());
                }
            }
        });
        for key in self.idle.drain(..) {
            registry.delete_counter(&key);
            self.counters.remove(&key);
            observed.idle_removed += 1;
        }
    }

    fn render_gauges(
        &mut self,
        registry: &MetricRegistry,
        config: &RenderConfig,
        start: i64,
        commit: bool,
        out: &mut Vec<Datapoint>,
        observed: &mut Observed,
    ) {
        let ts = config.stamp(start);
        let gauges = &mut self.gauges;
        let idle = &mut self.idle;
        idle.clear();
        registry.visit_gauges(|key, gauge| {
            let bits = gauge.load(Ordering::Acquire);
            let series = match gauges.get_mut(key) {
                Some(s) => s,
                None => {
                    let paths = config
                        .namer
                        .kind_paths(key, &config.scheme.gauge)
                        .ok()
                        .map(Paths::new);
                    gauges.entry(key.clone()).or_insert(GaugeSeries {
                        paths,
                        last_bits: bits,
                        live: Liveness::new(start),
                    })
                }
            };
            if let Some(paths) = &series.paths {
                for (path, (_, stat)) in paths.iter().zip(&config.scheme.gauge.statistics) {
                    if *stat == Statistic::Value {
                        push(out, path, Some(f64::from_bits(bits).into()), ts, observed);
                    }
                }
            }
            if commit {
                let changed = bits != series.last_bits;
                series.last_bits = bits;
                if series.live.commit(
                    series.paths.is_some(),
                    changed,
                    start,
                    config,
                    observed,
                    MetricKind::Gauge,
                ) {
                    idle.push(key.clone());
                }
            }
        });
        for key in self.idle.drain(..) {
            registry.delete_gauge(&key);
            self.gauges.remove(&key);
            observed.idle_removed += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn render_histograms(
        &mut self,
        registry: &MetricRegistry,
        units: &Units,
        config: &RenderConfig,
        start: i64,
        commit: bool,
        out: &mut Vec<Datapoint>,
        observed: &mut Observed,
    ) {
        let ts = config.stamp(start);
        let now = start + config.interval;
        let since_start = config.scheme.window == Window::SinceStart;
        let histograms = &mut self.histograms;
        let idle = &mut self.idle;
        let snapshot = &mut self.snapshot;
        let preview = &mut self.preview;
        idle.clear();
        registry.visit_histograms(|key, histogram| {
            if commit {
                histogram.take_into(snapshot);
            } else {
                histogram.peek_into(snapshot);
            }
            observed.non_finite += snapshot.non_finite();
            let series = match histograms.get_mut(key) {
                Some(s) => s,
                None => {
                    let (kind, scale) = histogram_kind(unit_of(units, key), &config.scheme);
                    let paths = config
                        .namer
                        .kind_paths(key, kind.scheme(&config.scheme))
                        .ok()
                        .map(Paths::new);
                    histograms.entry(key.clone()).or_insert(HistogramSeries {
                        kind,
                        scale,
                        paths,
                        count: 0,
                        sum: 0.0,
                        meter: has_rates(kind.scheme(&config.scheme)).then(|| Meter::new(start)),
                        total: since_start.then(Snapshot::default),
                        live: Liveness::new(start),
                    })
                }
            };
            let n = snapshot.count();
            let sum = snapshot.sum();
            let meter = series.meter.clone().map(|mut m| {
                m.advance(now, n);
                m
            });
            let window = match &mut series.total {
                Some(total) if commit => {
                    total.merge_from(snapshot);
                    &*total
                }
                Some(total) => {
                    preview.clone_from(total);
                    preview.merge_from(snapshot);
                    &*preview
                }
                None => &*snapshot,
            };
            if let Some(paths) = &series.paths {
                let figures = Figures {
                    counter_mode: config.scheme.counter_mode,
                    rank: config.scheme.quantile_rank,
                    total: series.count + n,
                    delta: n,
                    total_sum: series.sum + sum,
                    delta_sum: sum,
                    window: Some(window),
                    interval: Some(&*snapshot),
                    meter: meter.as_ref(),
                    now,
                    seconds: config.interval as f64,
                    scale: series.scale,
                };
                let stats = &series.kind.scheme(&config.scheme).statistics;
                for (path, (_, stat)) in paths.iter().zip(stats) {
                    push(out, path, figures.value(*stat), ts, observed);
                }
            }
            if commit {
                series.count += n;
                series.sum += sum;
                series.meter = meter;
                if series.live.commit(
                    series.paths.is_some(),
                    n > 0,
                    start,
                    config,
                    observed,
                    MetricKind::Histogram,
                ) {
                    idle.push(key.clone());
                }
            }
        });
        for key in self.idle.drain(..) {
            registry.delete_histogram(&key);
            self.histograms.remove(&key);
            observed.idle_removed += 1;
        }
    }
}

/// What one series' statistics are computed from at one flush.
struct Figures<'a> {
    counter_mode: CounterMode,
    rank: QuantileRank,
    /// Count since the start, and in this interval.
    total: u64,
    delta: u64,
    total_sum: f64,
    delta_sum: f64,
    /// The samples of the scheme's window, and of the interval (histograms).
    window: Option<&'a Snapshot>,
    interval: Option<&'a Snapshot>,
    meter: Option<&'a Meter>,
    /// The interval's end.
    now: i64,
    seconds: f64,
    scale: f64,
}

/// A value to send: a count stays an integer.
enum Figure {
    Int(u64),
    Float(f64),
}

impl From<f64> for Figure {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}

impl<'a> Figures<'a> {
    /// The window, if it has samples.
    fn samples(&self) -> Option<&'a Snapshot> {
        self.window.filter(|s| s.count() > 0)
    }

    fn value(&self, stat: Statistic) -> Option<Figure> {
        let cumulative = self.counter_mode == CounterMode::Cumulative;
        let scale = self.scale;
        Some(match stat {
            Statistic::Value => return None,
            Statistic::Count => Figure::Int(if cumulative { self.total } else { self.delta }),
            Statistic::Sum => {
                self.interval?;
                (if cumulative {
                    self.total_sum
                } else {
                    self.delta_sum
                } * scale)
                    .into()
            }
            Statistic::Rate => (self.delta as f64 / self.seconds).into(),
            Statistic::M1Rate => self.meter?.rates()[0].into(),
            Statistic::M5Rate => self.meter?.rates()[1].into(),
            Statistic::M15Rate => self.meter?.rates()[2].into(),
            Statistic::MeanRate => self.meter?.mean_rate(self.total, self.now).into(),
            Statistic::SampleSum => (self.samples()?.sum() * scale).into(),
            Statistic::Min => (self.samples()?.min()? * scale).into(),
            Statistic::Max => (self.samples()?.max()? * scale).into(),
            Statistic::Mean => {
                let w = self.samples()?;
                (w.sum() / w.count() as f64 * scale).into()
            }
            Statistic::Stddev => (stddev(self.samples()?) * scale).into(),
            Statistic::Median => (median(self.samples()?)? * scale).into(),
            Statistic::SumSquares => {
                let w = self.samples()?;
                let squares: f64 = w.estimates().map(|(v, n)| v * v * n as f64).sum();
                (squares * scale * scale).into()
            }
            Statistic::Quantile(q) => (quantile(self.samples()?, q, self.rank)? * scale).into(),
            Statistic::Threshold(percent, s) => {
                return threshold(self.samples()?, percent, s, scale);
            }
        })
    }
}

/// The population standard deviation, from the exact mean and the bucket
/// estimates.
fn stddev(w: &Snapshot) -> f64 {
    let n = w.count() as f64;
    let mean = w.sum() / n;
    let squares: f64 = w
        .estimates()
        .map(|(v, c)| (v - mean) * (v - mean) * c as f64)
        .sum();
    (squares / n).sqrt()
}

/// Quantile `q` by `rank`'s rule.
fn quantile(w: &Snapshot, q: f64, rank: QuantileRank) -> Option<f64> {
    match rank {
        QuantileRank::Lower => w.quantile(q),
        QuantileRank::Dropwizard => w.at_rank(dropwizard_index(w.count(), q)),
    }
}

/// Dropwizard's `WeightedSnapshot.getValue` with `n` equal weights: the
/// largest index whose cumulative weight, summed as Dropwizard sums it, is
/// at most `q`.
fn dropwizard_index(n: u64, q: f64) -> u64 {
    /// `ExponentiallyDecayingReservoir`'s default size.
    const RESERVOIR: u64 = 1028;
    if n > RESERVOIR {
        return ((q * n as f64).floor() as u64).min(n - 1);
    }
    let weight = 1.0 / n as f64;
    let (mut cumulative, mut index) = (0.0, 0);
    for i in 1..n {
        cumulative += weight;
        if cumulative <= q {
            index = i;
        } else {
            break;
        }
    }
    index
}

/// statsd's median: the middle sample, or the mean of the two middle ones.
fn median(w: &Snapshot) -> Option<f64> {
    let n = w.count();
    if n % 2 == 1 {
        w.at_rank(n / 2)
    } else {
        Some((w.at_rank(n / 2 - 1)? + w.at_rank(n / 2)?) / 2.0)
    }
}

/// statsd's threshold family: the `k = round(|percent| / 100 × n)` lowest
/// (highest for a negative percent) samples.
fn threshold(w: &Snapshot, percent: f64, s: ThresholdStatistic, scale: f64) -> Option<Figure> {
    let n = w.count();
    let k = if n > 1 {
        // JavaScript's Math.round: half up.
        (percent.abs() / 100.0 * n as f64 + 0.5).floor() as u64
    } else {
        1
    };
    if k == 0 {
        return None;
    }
    if s == ThresholdStatistic::Count {
        return Some(Figure::Int(k));
    }
    if s == ThresholdStatistic::Bound {
        let rank = if percent < 0.0 { n - k } else { k - 1 };
        return Some((w.at_rank(rank)? * scale).into());
    }
    // The k lowest (or highest) bucket estimates.
    let (mut sum, mut squares, mut left) = (0.0, 0.0, k);
    let mut take = |(v, c): (f64, u64)| {
        let used = c.min(left);
        left -= used;
        sum += v * used as f64;
        squares += v * v * used as f64;
    };
    if percent < 0.0 {
        let buckets: Vec<(f64, u64)> = w.estimates().collect();
        buckets.into_iter().rev().for_each(&mut take);
    } else {
        w.estimates().for_each(&mut take);
    }
    Some(
        match s {
            ThresholdStatistic::Mean => sum / k as f64 * scale,
            ThresholdStatistic::Sum => sum * scale,
            _ => squares * scale * scale,
        }
        .into(),
    )
}

fn is_idle(config: &RenderConfig, changed_at: i64, ts: i64) -> bool {
    config
        .idle_timeout
        .is_some_and(|limit| ts.saturating_sub(changed_at) >= limit)
}

/// Pushes a value; a NaN or infinite one (a sum that overflowed) is
/// skipped and counted.
fn push(
    out: &mut Vec<Datapoint>,
    path: &MetricPath,
    figure: Option<Figure>,
    ts: i64,
    observed: &mut Observed,
) {
    match figure {
        None => {}
        Some(Figure::Int(v)) => out.push(Datapoint::new(path.clone(), v, ts)),
        Some(Figure::Float(v)) => match Value::float(v) {
            Ok(v) => out.push(Datapoint::new(path.clone(), v, ts)),
            Err(_) => observed.non_finite += 1,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::dropwizard_index;

    #[test]
    fn dropwizard_ranks() {
        // NAMING-PRESETS.md: p50 of 1..=100 is 50 (index 49), of 1..=10 is
        // 6 (index 5); of 10, 20, 30 p75 is 30.
        assert_eq!(dropwizard_index(100, 0.5), 49);
        assert_eq!(dropwizard_index(10, 0.5), 5);
        assert_eq!(dropwizard_index(3, 0.75), 2);
        assert_eq!(dropwizard_index(3, 0.5), 1);
        assert_eq!(dropwizard_index(100, 0.999), 99);
        assert_eq!(dropwizard_index(1, 0.99), 0);
    }
}
