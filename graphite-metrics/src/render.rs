//! Turning the registry's current values into datapoints: the pure part of
//! a flush. Names are rendered once per series and kept; a flush in steady
//! state allocates nothing for counters and gauges.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::Ordering;

use graphite_proto::{Datapoint, MetricPath, Value};
use metrics::Key;
use metrics_util::KeyHasher;
use metrics_util::registry::Registry;

use crate::builder::CounterMode;
use crate::histogram::{GraphiteStorage, Snapshot};
use crate::naming::Namer;

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

/// Settings that shape the output.
#[derive(Clone, Debug)]
pub(crate) struct RenderConfig {
    pub(crate) namer: Namer,
    pub(crate) counter_mode: CounterMode,
    pub(crate) quantiles: Vec<f64>,
    /// Suffixes of histogram series: count, sum, min, max, mean, then one
    /// per quantile.
    pub(crate) histogram_suffixes: Vec<String>,
    /// Whole seconds; `None`: never.
    pub(crate) idle_timeout: Option<i64>,
}

impl RenderConfig {
    pub(crate) fn new(
        namer: Namer,
        counter_mode: CounterMode,
        quantiles: Vec<f64>,
        idle_timeout: Option<i64>,
    ) -> Self {
        let mut histogram_suffixes: Vec<String> = ["count", "sum", "min", "max", "mean"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        histogram_suffixes.extend(quantiles.iter().map(|&q| quantile_suffix(q)));
        Self {
            namer,
            counter_mode,
            quantiles,
            histogram_suffixes,
            idle_timeout,
        }
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

/// A series' rendered names (`None`: invalid, never sent) and what the
/// next flush needs from the previous one.
#[derive(Debug)]
struct CounterSeries {
    path: Option<MetricPath>,
    /// The value at the last committed flush.
    last: u64,
    live: Liveness,
}

#[derive(Debug)]
struct GaugeSeries {
    path: Option<MetricPath>,
    last_bits: u64,
    live: Liveness,
}

#[derive(Debug)]
struct HistogramSeries {
    /// count, sum, min, max, mean, quantiles.
    paths: Option<Vec<MetricPath>>,
    count: u64,
    sum: f64,
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
    ) -> bool {
        if !valid && !self.reported {
            self.reported = true;
            observed.invalid_series += 1;
        }
        if changed {
            self.changed_at = ts;
        }
        is_idle(config, self.changed_at, ts)
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
    /// Reused for the idle keys of one flush.
    idle: Vec<Key>,
}

impl State {
    /// Appends to `out` what a flush at `timestamp` sends. With `commit`,
    /// histogram samples are drained and totals, deltas and idle times
    /// advance; without, nothing changes (a preview).
    pub(crate) fn render(
        &mut self,
        registry: &MetricRegistry,
        config: &RenderConfig,
        timestamp: i64,
        commit: bool,
        out: &mut Vec<Datapoint>,
    ) -> Observed {
        let mut observed = Observed::default();
        self.render_counters(registry, config, timestamp, commit, out, &mut observed);
        self.render_gauges(registry, config, timestamp, commit, out, &mut observed);
        self.render_histograms(registry, config, timestamp, commit, out, &mut observed);
        observed
    }

    fn render_counters(
        &mut self,
        registry: &MetricRegistry,
        config: &RenderConfig,
        ts: i64,
        commit: bool,
        out: &mut Vec<Datapoint>,
        observed: &mut Observed,
    ) {
        let counters = &mut self.counters;
        let idle = &mut self.idle;
        idle.clear();
        registry.visit_counters(|key, counter| {
            let value = counter.load(Ordering::Acquire);
            let series = match counters.get_mut(key) {
                Some(s) => s,
                None => {
                    let path = config
                        .namer
                        .paths(key, &["count"])
                        .ok()
                        .and_then(|mut p| p.pop());
                    counters.entry(key.clone()).or_insert(CounterSeries {
                        path,
                        last: 0,
                        live: Liveness::new(ts),
                    })
                }
            };
            let sent = match config.counter_mode {
                CounterMode::Cumulative => value,
                CounterMode::Delta => value.saturating_sub(series.last),
            };
            if let Some(path) = &series.path {
                out.push(Datapoint::new(path.clone(), sent, ts));
            }
            if commit {
                let changed = value != series.last;
                series.last = value;
                if series
                    .live
                    .commit(series.path.is_some(), changed, ts, config, observed)
                {
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
        ts: i64,
        commit: bool,
        out: &mut Vec<Datapoint>,
        observed: &mut Observed,
    ) {
        let gauges = &mut self.gauges;
        let idle = &mut self.idle;
        idle.clear();
        registry.visit_gauges(|key, gauge| {
            let bits = gauge.load(Ordering::Acquire);
            let series = match gauges.get_mut(key) {
                Some(s) => s,
                None => {
                    let path = config
                        .namer
                        .paths(key, &[""])
                        .ok()
                        .and_then(|mut p| p.pop());
                    gauges.entry(key.clone()).or_insert(GaugeSeries {
                        path,
                        last_bits: bits,
                        live: Liveness::new(ts),
                    })
                }
            };
            if let Some(path) = &series.path {
                match Value::float(f64::from_bits(bits)) {
                    Ok(v) => out.push(Datapoint::new(path.clone(), v, ts)),
                    Err(_) => observed.non_finite += 1,
                }
            }
            if commit {
                let changed = bits != series.last_bits;
                series.last_bits = bits;
                if series
                    .live
                    .commit(series.path.is_some(), changed, ts, config, observed)
                {
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

    fn render_histograms(
        &mut self,
        registry: &MetricRegistry,
        config: &RenderConfig,
        ts: i64,
        commit: bool,
        out: &mut Vec<Datapoint>,
        observed: &mut Observed,
    ) {
        let histograms = &mut self.histograms;
        let idle = &mut self.idle;
        let snapshot = &mut self.snapshot;
        idle.clear();
        let suffixes: Vec<&str> = config
            .histogram_suffixes
            .iter()
            .map(String::as_str)
            .collect();
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
                    let paths = config.namer.paths(key, &suffixes).ok();
                    histograms.entry(key.clone()).or_insert(HistogramSeries {
                        paths,
                        count: 0,
                        sum: 0.0,
                        live: Liveness::new(ts),
                    })
                }
            };
            let n = snapshot.count();
            let sum = snapshot.sum();
            if let Some(paths) = &series.paths {
                let (count_sent, sum_sent) = match config.counter_mode {
                    CounterMode::Cumulative => (series.count + n, series.sum + sum),
                    CounterMode::Delta => (n, sum),
                };
                out.push(Datapoint::new(paths[0].clone(), count_sent, ts));
                push_float(out, &paths[1], sum_sent, ts, observed);
                if let (Some(min), Some(max)) = (snapshot.min(), snapshot.max()) {
                    push_float(out, &paths[2], min, ts, observed);
                    push_float(out, &paths[3], max, ts, observed);
                    push_float(out, &paths[4], sum / n as f64, ts, observed);
                    for (path, &q) in paths[5..].iter().zip(&config.quantiles) {
                        if let Some(v) = snapshot.quantile(q) {
                            push_float(out, path, v, ts, observed);
                        }
                    }
                }
            }
            if commit {
                series.count += n;
                series.sum += sum;
                if series
                    .live
                    .commit(series.paths.is_some(), n > 0, ts, config, observed)
                {
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

fn is_idle(config: &RenderConfig, changed_at: i64, ts: i64) -> bool {
    config
        .idle_timeout
        .is_some_and(|limit| ts.saturating_sub(changed_at) >= limit)
}

/// Pushes a float; a sum that overflowed to infinity is skipped and counted.
fn push_float(
    out: &mut Vec<Datapoint>,
    path: &MetricPath,
    v: f64,
    ts: i64,
    observed: &mut Observed,
) {
    match Value::float(v) {
        Ok(v) => out.push(Datapoint::new(path.clone(), v, ts)),
        Err(_) => observed.non_finite += 1,
    }
}
