//! One export: the SDK's [`ResourceMetrics`] into Graphite
//! [`Datapoint`]s. Pure: no I/O, no clock (timestamps are the SDK's).

use std::time::{SystemTime, UNIX_EPOCH};

use graphite_proto::{Datapoint, MetricPath, Value};
use opentelemetry::{Key, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, ExponentialHistogram, Histogram, MetricData, ResourceMetrics,
};

use crate::builder::NamingStyle;
use crate::exponential::{self, Buckets};
use crate::series::{Kind, SeriesCache, Slot, SlotSpec, go_shortest_g, tag_key, tag_value};

/// What the builder decided about names.
#[derive(Clone, Debug)]
pub(crate) struct RenderConfig {
    pub(crate) prefix: Option<MetricPath>,
    pub(crate) naming: NamingStyle,
    /// Ascending, deduplicated, in `0.0..=1.0`.
    pub(crate) quantiles: Vec<f64>,
    pub(crate) resource_tags: Vec<String>,
}

/// Graphite datapoints not produced by one export, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Skipped {
    pub(crate) non_finite: u64,
    pub(crate) invalid_name: u64,
    pub(crate) invalid_attributes: u64,
}

/// Renders exports, keeping series names from one export to the next.
#[derive(Debug)]
pub(crate) struct Renderer {
    config: RenderConfig,
    /// A histogram's `.count`, sum, `.min` and `.max` series.
    fixed_specs: Vec<SlotSpec>,
    /// An exponential histogram's series: the fixed ones, then quantiles.
    exponential_specs: Vec<SlotSpec>,
    cache: SeriesCache,
    positive: Vec<u64>,
    negative: Vec<u64>,
    estimates: Vec<f64>,
}

/// Slots 0..4 of a histogram: count, sum, min, max; then buckets or
/// quantiles.
const FIXED_SLOTS: usize = 4;

/// A data point's number type.
trait Number: Copy {
    /// The value to send; `None` when not finite.
    fn value(self) -> Option<Value>;
    fn to_f64(self) -> f64;
}

impl Number for f64 {
    fn value(self) -> Option<Value> {
        Value::float(self).ok()
    }
    fn to_f64(self) -> f64 {
        self
    }
}

impl Number for u64 {
    fn value(self) -> Option<Value> {
        Some(Value::from(self))
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Number for i64 {
    fn value(self) -> Option<Value> {
        Some(Value::from(self))
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// Unix seconds, truncated toward zero as carbon truncates.
fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Pushes the datapoint of `slot`, or counts why it is skipped.
fn emit(
    out: &mut Vec<Datapoint>,
    skipped: &mut Skipped,
    slot: &Slot,
    value: Option<Value>,
    timestamp: i64,
) {
    match (slot, value) {
        (Slot::Path(path), Some(value)) => out.push(Datapoint {
            path: path.clone(),
            value,
            timestamp,
        }),
        (Slot::Path(_), None) => skipped.non_finite += 1,
        (Slot::InvalidName, _) => skipped.invalid_name += 1,
        (Slot::InvalidAttributes, _) => skipped.invalid_attributes += 1,
    }
}

impl Renderer {
    pub(crate) fn new(config: RenderConfig) -> Self {
        let sum = match config.naming {
            NamingStyle::Collector => "",
            NamingStyle::Suffixes => ".sum",
        };
        let fixed_specs: Vec<SlotSpec> = [".count", sum, ".min", ".max"]
            .into_iter()
            .map(SlotSpec::plain)
            .collect();
        let mut exponential_specs = fixed_specs.clone();
        for &q in &config.quantiles {
            exponential_specs.push(match config.naming {
                // The collector's summary convention: percent, Go's %g.
                NamingStyle::Collector => SlotSpec {
                    suffix: ".quantile".to_owned(),
                    extra_tag: Some(("quantile", go_shortest_g(q * 100.0))),
                },
                NamingStyle::Suffixes => SlotSpec::plain(&format!(".{}", quantile_suffix(q))),
            });
        }
        Self {
            config,
            fixed_specs,
            exponential_specs,
            cache: SeriesCache::default(),
            positive: Vec::new(),
            negative: Vec::new(),
            estimates: Vec::new(),
        }
    }

    /// Appends the datapoints of `metrics` to `out`; returns what was
    /// skipped.
    pub(crate) fn render(
        &mut self,
        metrics: &ResourceMetrics,
        out: &mut Vec<Datapoint>,
    ) -> Skipped {
        let resource_tags = self.resource_tags(metrics.resource());
        self.cache.begin(resource_tags);
        let mut skipped = Skipped::default();
        let mut attributes: Vec<&KeyValue> = Vec::new();
        for scope in metrics.scope_metrics() {
            for metric in scope.metrics() {
                let name = metric.name();
                match metric.data() {
                    AggregatedMetrics::F64(data) => {
                        self.data(name, data, &mut attributes, out, &mut skipped);
                    }
                    AggregatedMetrics::U64(data) => {
                        self.data(name, data, &mut attributes, out, &mut skipped);
                    }
                    AggregatedMetrics::I64(data) => {
                        self.data(name, data, &mut attributes, out, &mut skipped);
                    }
                }
            }
        }
        self.cache.end();
        skipped
    }

    /// The chosen resource attributes, as tags.
    fn resource_tags(&self, resource: &Resource) -> Vec<(String, String)> {
        self.config
            .resource_tags
            .iter()
            .filter_map(|key| {
                let value = resource.get(&Key::new(key.clone()))?;
                Some((tag_key(key)?, tag_value(&value.as_str())))
            })
            .collect()
    }

    fn data<'m, T: Number>(
        &mut self,
        name: &str,
        data: &'m MetricData<T>,
        attributes: &mut Vec<&'m KeyValue>,
        out: &mut Vec<Datapoint>,
        skipped: &mut Skipped,
    ) {
        let prefix = self.config.prefix.as_ref();
        match data {
            MetricData::Gauge(gauge) => {
                let ts = unix_seconds(gauge.time());
                for dp in gauge.data_points() {
                    attributes.clear();
                    attributes.extend(dp.attributes());
                    let slots = self
                        .cache
                        .slots(prefix, name, Kind::Number, attributes, 1, || {
                            vec![SlotSpec::plain("")]
                        });
                    emit(out, skipped, &slots[0], dp.value().value(), ts);
                }
            }
            MetricData::Sum(sum) => {
                let ts = unix_seconds(sum.time());
                // metrics-exporter-graphite' style calls a counter `.count`; an
                // up-down counter is a level, like a gauge.
                let counter = sum.is_monotonic() && self.config.naming == NamingStyle::Suffixes;
                let (kind, suffix) = if counter {
                    (Kind::MonotonicSum, ".count")
                } else {
                    (Kind::Number, "")
                };
                for dp in sum.data_points() {
                    attributes.clear();
                    attributes.extend(dp.attributes());
                    let slots = self.cache.slots(prefix, name, kind, attributes, 1, || {
                        vec![SlotSpec::plain(suffix)]
                    });
                    emit(out, skipped, &slots[0], dp.value().value(), ts);
                }
            }
            MetricData::Histogram(histogram) => {
                self.histogram(name, histogram, attributes, out, skipped);
            }
            MetricData::ExponentialHistogram(histogram) => {
                self.exponential(name, histogram, attributes, out, skipped);
            }
        }
    }

    fn histogram<'m, T: Number>(
        &mut self,
        name: &str,
        histogram: &'m Histogram<T>,
        attributes: &mut Vec<&'m KeyValue>,
        out: &mut Vec<Datapoint>,
        skipped: &mut Skipped,
    ) {
        let ts = unix_seconds(histogram.time());
        for dp in histogram.data_points() {
            attributes.clear();
            attributes.extend(dp.attributes());
            let buckets = dp.bucket_counts().count();
            let specs = || {
                let mut specs = self.fixed_specs.clone();
                let bounds: Vec<f64> = dp.bounds().collect();
                for i in 0..buckets {
                    // The last bucket has no bound of its own: `inf`.
                    let bound = bounds
                        .get(i)
                        .map_or_else(|| "inf".to_owned(), |b| go_shortest_g(*b));
                    specs.push(SlotSpec {
                        suffix: ".bucket".to_owned(),
                        extra_tag: Some(("upper_bound", bound)),
                    });
                }
                specs
            };
            let prefix = self.config.prefix.as_ref();
            let slots = self.cache.slots(
                prefix,
                name,
                Kind::Histogram,
                attributes,
                FIXED_SLOTS + buckets,
                specs,
            );
            emit(out, skipped, &slots[0], Some(Value::from(dp.count())), ts);
            emit(out, skipped, &slots[1], dp.sum().value(), ts);
            if let Some(min) = dp.min() {
                emit(out, skipped, &slots[2], min.value(), ts);
            }
            if let Some(max) = dp.max() {
                emit(out, skipped, &slots[3], max.value(), ts);
            }
            for (slot, count) in slots[FIXED_SLOTS..].iter().zip(dp.bucket_counts()) {
                emit(out, skipped, slot, Some(Value::from(count)), ts);
            }
        }
    }

    fn exponential<'m, T: Number>(
        &mut self,
        name: &str,
        histogram: &'m ExponentialHistogram<T>,
        attributes: &mut Vec<&'m KeyValue>,
        out: &mut Vec<Datapoint>,
        skipped: &mut Skipped,
    ) {
        let ts = unix_seconds(histogram.time());
        let expected = self.exponential_specs.len();
        for dp in histogram.data_points() {
            attributes.clear();
            attributes.extend(dp.attributes());
            let min = dp.min();
            let max = dp.max();
            self.positive.clear();
            self.positive.extend(dp.positive_bucket().counts());
            self.negative.clear();
            self.negative.extend(dp.negative_bucket().counts());
            let buckets = Buckets {
                scale: dp.scale(),
                zero_count: dp.zero_count(),
                positive_offset: dp.positive_bucket().offset(),
                positive: &self.positive,
                negative_offset: dp.negative_bucket().offset(),
                negative: &self.negative,
                min: min.map(Number::to_f64),
                max: max.map(Number::to_f64),
            };
            exponential::estimate_quantiles(&buckets, &self.config.quantiles, &mut self.estimates);
            let prefix = self.config.prefix.as_ref();
            let slots = self.cache.slots(
                prefix,
                name,
                Kind::Exponential,
                attributes,
                expected,
                || self.exponential_specs.clone(),
            );
            emit(out, skipped, &slots[0], Some(Value::from(dp.count())), ts);
            emit(out, skipped, &slots[1], dp.sum().value(), ts);
            if let Some(min) = min {
                emit(out, skipped, &slots[2], min.value(), ts);
            }
            if let Some(max) = max {
                emit(out, skipped, &slots[3], max.value(), ts);
            }
            for (slot, &estimate) in slots[FIXED_SLOTS..].iter().zip(&self.estimates) {
                emit(out, skipped, slot, Value::float(estimate).ok(), ts);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn cached_series(&self) -> usize {
        self.cache.len()
    }
}

/// `0.5` → `p50`, `0.999` → `p999`, `0.05` → `p05`, `1.0` → `p100`, as
/// metrics-exporter-graphite names its quantiles.
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
    format!("p{digits:0<2}")
}
