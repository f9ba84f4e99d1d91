//! Render and exporter tests through the real SDK: instruments recorded
//! through the OpenTelemetry API, collected by a `PeriodicReader` on
//! `force_flush`, rendered into a spy sink (no sockets).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graphite_proto::router::RoutedStats;
use graphite_proto::sender::{PushError, PushManyError, Stats};
use graphite_proto::{Datapoint, Value, plaintext};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{
    Aggregation, Instrument, PeriodicReader, SdkMeterProvider, Stream, Temporality,
};
use proptest::prelude::*;

use crate::render::{RenderConfig, Renderer};
use crate::{GraphiteExporter, GraphiteExporterBuilder, NamingStyle, relative_error};
use graphite_driver::{BoxFuture, Sink};

/// A sink that keeps what it is given; refuses everything past `capacity`.
#[derive(Debug, Default)]
pub(crate) struct SpySink {
    taken: Mutex<Vec<Datapoint>>,
    capacity: Option<usize>,
    refused: Mutex<u64>,
}

impl SpySink {
    fn take(&self) -> Vec<Datapoint> {
        std::mem::take(&mut *self.taken.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Sink for SpySink {
    fn send(&self, metric: &str, value: Value, timestamp: Option<i64>) -> Result<(), PushError> {
        let path = graphite_proto::MetricPath::new(metric)?;
        self.push(&Datapoint::new(path, value, timestamp.unwrap_or(0)))
    }

    fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        self.push_many(std::slice::from_ref(dp))
            .map_err(|e| e.first_reason)
    }

    fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        let room = self
            .capacity
            .map_or(batch.len(), |c| c.saturating_sub(taken.len()));
        let accepted = room.min(batch.len());
        taken.extend_from_slice(&batch[..accepted]);
        if accepted == batch.len() {
            return Ok(());
        }
        *self.refused.lock().unwrap_or_else(PoisonError::into_inner) +=
            (batch.len() - accepted) as u64;
        Err(PushManyError {
            total: batch.len(),
            dropped: batch.len() - accepted,
            first_index: accepted,
            first_reason: PushError::Full,
        })
    }

    fn stats(&self) -> Stats {
        Stats::default()
    }

    fn routed_stats(&self) -> Option<RoutedStats> {
        None
    }

    fn push_many_wait<'a>(
        &'a self,
        batch: &'a [Datapoint],
    ) -> BoxFuture<'a, Result<(), PushManyError>> {
        Box::pin(async move { self.push_many(batch) })
    }

    fn flush(&self, _timeout: Duration) -> BoxFuture<'_, Stats> {
        Box::pin(async { Stats::default() })
    }

    fn close(&self, _timeout: Duration) -> BoxFuture<'_, Stats> {
        Box::pin(async { Stats::default() })
    }

    fn push_many_wait_blocking(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        self.push_many(batch)
    }

    fn flush_blocking(&self, _timeout: Duration) -> Stats {
        Stats::default()
    }

    fn close_blocking(&self, _timeout: Duration) -> Stats {
        Stats::default()
    }
}

/// Instruments whose name starts with `expo` get an exponential histogram.
fn exponential_view(instrument: &Instrument) -> Option<Stream> {
    instrument.name().starts_with("expo").then(|| {
        Stream::builder()
            .with_aggregation(Aggregation::Base2ExponentialHistogram {
                max_size: 160,
                max_scale: 20,
                record_min_max: true,
            })
            .build()
            .ok()
    })?
}

/// A provider exporting into a spy sink when asked.
struct Rig {
    provider: SdkMeterProvider,
    exporter: GraphiteExporter,
    spy: Arc<SpySink>,
}

impl Rig {
    fn new(builder: GraphiteExporterBuilder) -> Self {
        Self::with(
            builder,
            Resource::builder_empty().build(),
            SpySink::default(),
        )
    }

    fn with(builder: GraphiteExporterBuilder, resource: Resource, spy: SpySink) -> Self {
        let spy = Arc::new(spy);
        let exporter = builder
            .with_sink(Arc::clone(&spy) as Arc<dyn Sink>)
            .build()
            .expect("build");
        // A long interval: exports happen on `force_flush` only.
        let reader = PeriodicReader::builder(exporter.clone())
            .with_interval(Duration::from_secs(3600))
            .build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader)
            .with_view(exponential_view)
            .build();
        Self {
            provider,
            exporter,
            spy,
        }
    }

    fn meter(&self) -> Meter {
        self.provider.meter("test")
    }

    /// One export: every series and its value (as text), checking that all
    /// share one timestamp, the collection time in whole seconds.
    fn export(&self) -> BTreeMap<String, String> {
        let before = unix_now();
        self.provider.force_flush().expect("export");
        let after = unix_now();
        let mut series = BTreeMap::new();
        for dp in self.spy.take() {
            assert!(
                (before..=after).contains(&dp.timestamp),
                "{dp:?} not stamped between {before} and {after}"
            );
            let previous = series.insert(dp.path.to_string(), dp.value.to_string());
            assert!(previous.is_none(), "{} sent twice", dp.path);
        }
        series
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Compares series and values (as numbers: `8` and `8.0` are one value).
fn expect(series: &BTreeMap<String, String>, want: &[(&str, &str)]) {
    let number = |v: &str| v.parse::<f64>().unwrap_or(f64::NAN);
    let got: BTreeMap<&str, f64> = series
        .iter()
        .map(|(k, v)| (k.as_str(), number(v)))
        .collect();
    let want: BTreeMap<&str, f64> = want.iter().map(|(k, v)| (*k, number(v))).collect();
    assert_eq!(got, want);
}

/// Records one of everything the first interval, more the second.
fn record_everything(meter: &Meter, step: u32) {
    let attrs = [KeyValue::new("method", "GET")];
    meter
        .u64_counter("requests")
        .build()
        .add([5, 7][step as usize], &attrs);
    meter
        .i64_up_down_counter("queue")
        .build()
        .add([10, -3][step as usize], &[]);
    meter
        .f64_gauge("temperature")
        .build()
        .record([21.5, 19.0][step as usize], &[]);
    let latency = meter
        .f64_histogram("latency")
        .with_boundaries(vec![1.0, 10.0])
        .build();
    for v in [[0.5, 5.0, 50.0], [2.0, 3.0, 4.0]][step as usize] {
        latency.record(v, &[]);
    }
    let expo = meter.f64_histogram("expo.size").build();
    for v in [[8.0, 8.0, 8.0], [8.0, 8.0, 8.0]][step as usize] {
        expo.record(v, &[]);
    }
}

#[test]
fn every_kind_cumulative_in_collector_names() {
    let rig = Rig::new(GraphiteExporter::builder().with_quantiles(&[0.5, 0.999]));
    let meter = rig.meter();
    meter
        .f64_observable_gauge("load")
        .with_callback(|o| o.observe(0.75, &[KeyValue::new("cpu", "0")]))
        .build();
    record_everything(&meter, 0);
    let first = [
        ("requests;method=GET", "5"),
        ("queue", "10"),
        ("temperature", "21.5"),
        ("load;cpu=0", "0.75"),
        ("latency.count", "3"),
        ("latency", "55.5"),
        ("latency.min", "0.5"),
        ("latency.max", "50"),
        ("latency.bucket;upper_bound=1", "1"),
        ("latency.bucket;upper_bound=10", "1"),
        ("latency.bucket;upper_bound=inf", "1"),
        ("expo.size.count", "3"),
        ("expo.size", "24"),
        ("expo.size.min", "8"),
        ("expo.size.max", "8"),
        ("expo.size.quantile;quantile=50", "8"),
        ("expo.size.quantile;quantile=99.9", "8"),
    ];
    expect(&rig.export(), &first);
    record_everything(&meter, 1);
    expect(
        &rig.export(),
        &[
            ("requests;method=GET", "12"),
            ("queue", "7"),
            ("temperature", "19"),
            ("load;cpu=0", "0.75"),
            ("latency.count", "6"),
            ("latency", "64.5"),
            ("latency.min", "0.5"),
            ("latency.max", "50"),
            ("latency.bucket;upper_bound=1", "1"),
            ("latency.bucket;upper_bound=10", "4"),
            ("latency.bucket;upper_bound=inf", "1"),
            ("expo.size.count", "6"),
            ("expo.size", "48"),
            ("expo.size.min", "8"),
            ("expo.size.max", "8"),
            ("expo.size.quantile;quantile=50", "8"),
            ("expo.size.quantile;quantile=99.9", "8"),
        ],
    );
    assert_eq!(rig.exporter.stats().not_sent(), 0);
}

#[test]
fn delta_sends_changes_and_up_down_counters_as_their_value() {
    let rig = Rig::new(
        GraphiteExporter::builder()
            .with_temporality(Temporality::Delta)
            .with_prefix("app")
            .with_naming(NamingStyle::Suffixes)
            .with_quantiles(&[0.5]),
    );
    let meter = rig.meter();
    record_everything(&meter, 0);
    let first = rig.export();
    expect(
        &first,
        &[
            ("app.requests.count;method=GET", "5"),
            ("app.queue", "10"),
            ("app.temperature", "21.5"),
            ("app.latency.count", "3"),
            ("app.latency.sum", "55.5"),
            ("app.latency.min", "0.5"),
            ("app.latency.max", "50"),
            ("app.latency.bucket;upper_bound=1", "1"),
            ("app.latency.bucket;upper_bound=10", "1"),
            ("app.latency.bucket;upper_bound=inf", "1"),
            ("app.expo.size.count", "3"),
            ("app.expo.size.sum", "24"),
            ("app.expo.size.min", "8"),
            ("app.expo.size.max", "8"),
            ("app.expo.size.p50", "8"),
        ],
    );
    record_everything(&meter, 1);
    expect(
        &rig.export(),
        &[
            ("app.requests.count;method=GET", "7"),
            // Up-down counters stay cumulative under a delta preference.
            ("app.queue", "7"),
            ("app.temperature", "19"),
            ("app.latency.count", "3"),
            ("app.latency.sum", "9"),
            ("app.latency.min", "2"),
            ("app.latency.max", "4"),
            ("app.latency.bucket;upper_bound=1", "0"),
            ("app.latency.bucket;upper_bound=10", "3"),
            ("app.latency.bucket;upper_bound=inf", "0"),
            ("app.expo.size.count", "3"),
            ("app.expo.size.sum", "24"),
            ("app.expo.size.min", "8"),
            ("app.expo.size.max", "8"),
            ("app.expo.size.p50", "8"),
        ],
    );
    // Nothing recorded: a delta export has only the up-down counter and gauge.
    let idle = rig.export();
    assert!(
        idle.keys()
            .all(|k| k == "app.queue" || k == "app.temperature"),
        "{idle:?}"
    );
}

#[test]
fn monotonic_and_non_monotonic_sums_of_every_number_type() {
    let rig = Rig::new(GraphiteExporter::builder().with_naming(NamingStyle::Suffixes));
    let meter = rig.meter();
    meter.f64_counter("f").build().add(1.5, &[]);
    meter.u64_counter("u").build().add(u64::MAX, &[]);
    meter.f64_up_down_counter("fud").build().add(-2.5, &[]);
    meter.i64_up_down_counter("iud").build().add(i64::MIN, &[]);
    meter
        .u64_observable_counter("ou")
        .with_callback(|o| o.observe(9, &[]))
        .build();
    meter
        .i64_observable_up_down_counter("oud")
        .with_callback(|o| o.observe(-9, &[]))
        .build();
    meter.u64_gauge("ug").build().record(3, &[]);
    meter.i64_gauge("ig").build().record(-3, &[]);
    expect(
        &rig.export(),
        &[
            ("f.count", "1.5"),
            ("u.count", "18446744073709551615"),
            ("fud", "-2.5"),
            ("iud", "-9223372036854775808"),
            ("ou.count", "9"),
            ("oud", "-9"),
            ("ug", "3"),
            ("ig", "-3"),
        ],
    );
}

#[test]
fn attributes_in_any_order_make_one_canonical_series() {
    let rig = Rig::new(GraphiteExporter::builder());
    let counter = rig.meter().u64_counter("hits").build();
    let a = KeyValue::new("zone", "eu");
    let b = KeyValue::new("a-b", "1");
    let c = KeyValue::new("a", "2");
    counter.add(1, &[a.clone(), b.clone(), c.clone()]);
    counter.add(1, &[c.clone(), a.clone(), b.clone()]);
    counter.add(1, &[b, c, a]);
    // Carbon sorts ";tag=value" strings: "a-b=1" before "a=2".
    expect(&rig.export(), &[("hits;a-b=1;a=2;zone=eu", "3")]);
}

#[test]
fn hostile_attribute_values_never_break_a_line() {
    let rig = Rig::new(GraphiteExporter::builder());
    let counter = rig.meter().u64_counter("evil").build();
    let hostile = [
        ("space", "a b"),
        ("semi", "x;injected=1"),
        ("tilde", "~start"),
        ("newline", "one\ntwo 3 4\nthree"),
        ("empty", ""),
        ("unicode", "tab\tnbsp\u{a0}line\u{2028}end"),
        ("equals", "k=v"),
    ];
    for (k, v) in hostile {
        counter.add(1, &[KeyValue::new(k, v)]);
    }
    counter.add(1, &[KeyValue::new("key with space", "v")]);
    let series = rig.export();
    expect(
        &series,
        &[
            ("evil;space=a_b", "1"),
            ("evil;semi=x_injected=1", "1"),
            ("evil;tilde=_start", "1"),
            ("evil;newline=one_two_3_4_three", "1"),
            ("evil;empty=<empty>", "1"),
            ("evil;unicode=tab_nbsp_line_end", "1"),
            ("evil;equals=k=v", "1"),
            ("evil;key_with_space=v", "1"),
        ],
    );
    // And on the wire: exactly one line each, three fields.
    counter.add(1, &[KeyValue::new("newline", "a\r\nb")]);
    rig.provider.force_flush().expect("export");
    for dp in rig.spy.take() {
        let mut line = Vec::new();
        plaintext::encode(&dp, &mut line).expect("encodes");
        let text = String::from_utf8(line).expect("utf-8");
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        assert_eq!(text.trim_end().split(' ').count(), 3, "{text:?}");
    }
}

#[test]
fn non_finite_values_are_skipped_and_counted() {
    let rig = Rig::new(GraphiteExporter::builder());
    let meter = rig.meter();
    // The SDK drops NaN and infinite measurements itself; what reaches an
    // exporter is an aggregate that overflowed.
    meter.f64_gauge("nan").build().record(f64::NAN, &[]);
    let sum = meter.f64_up_down_counter("overflow").build();
    sum.add(f64::MAX, &[]);
    sum.add(f64::MAX, &[]);
    let histogram = meter
        .f64_histogram("big")
        .with_boundaries(vec![1.0])
        .build();
    histogram.record(f64::MAX, &[]);
    histogram.record(f64::MAX, &[]);
    meter.f64_gauge("fine").build().record(1.0, &[]);
    expect(
        &rig.export(),
        &[
            ("fine", "1"),
            ("big.count", "2"),
            ("big.min", "1.7976931348623157e308"),
            ("big.max", "1.7976931348623157e308"),
            ("big.bucket;upper_bound=1", "0"),
            ("big.bucket;upper_bound=inf", "2"),
        ],
    );
    let stats = rig.exporter.stats();
    // The up-down counter's total and the histogram's sum.
    assert_eq!(stats.skipped_non_finite, 2, "{stats:?}");
    assert_eq!(stats.sent, 6);
}

#[test]
fn invalid_names_and_impossible_attribute_sets_are_skipped_and_counted() {
    let spy = SpySink::default();
    let builder = GraphiteExporter::builder();
    let spy = Arc::new(spy);
    let exporter = builder
        .with_sink(Arc::clone(&spy) as Arc<dyn Sink>)
        .build()
        .expect("build");
    // A view may rename an instrument to anything.
    let rename = |i: &Instrument| match i.name() {
        "spaced" => Stream::builder().with_name("bad name").build().ok(),
        "semi" => Stream::builder().with_name("a;b=c").build().ok(),
        "dots" => Stream::builder().with_name("a..b").build().ok(),
        _ => None,
    };
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .with_view(rename)
        .build();
    let meter = provider.meter("test");
    for name in ["spaced", "semi", "dots"] {
        meter.u64_counter(name).build().add(1, &[]);
    }
    let counter = meter.u64_counter("ok").build();
    counter.add(1, &[KeyValue::new("name", "x")]);
    counter.add(1, &[KeyValue::new("", "x")]);
    counter.add(1, &[KeyValue::new("a b", "1"), KeyValue::new("a_b", "2")]);
    counter.add(1, &[KeyValue::new("fine", "1")]);
    let latency = meter
        .u64_histogram("latency")
        .with_boundaries(vec![1.0])
        .build();
    latency.record(1, &[KeyValue::new("upper_bound", "x")]);
    provider.force_flush().expect("export");
    let sent: Vec<String> = spy.take().iter().map(|d| d.path.to_string()).collect();
    // The histogram's count, sum, min and max are fine; its two buckets not.
    assert_eq!(
        sent,
        [
            "ok;fine=1",
            "latency.count;upper_bound=x",
            "latency;upper_bound=x",
            "latency.min;upper_bound=x",
            "latency.max;upper_bound=x",
        ]
    );
    let stats = exporter.stats();
    assert_eq!(stats.skipped_invalid_name, 3, "{stats:?}");
    assert_eq!(stats.skipped_invalid_attributes, 3 + 2, "{stats:?}");
    provider.shutdown().expect("shutdown");
}

#[test]
fn chosen_resource_attributes_become_tags() {
    let resource = Resource::builder_empty()
        .with_service_name("checkout")
        .with_attribute(KeyValue::new("host.name", "web 1"))
        .with_attribute(KeyValue::new("deployment.environment", "prod"))
        .build();
    let rig = Rig::with(
        GraphiteExporter::builder().with_resource_tags(["service.name", "host.name", "absent"]),
        resource,
        SpySink::default(),
    );
    let counter = rig.meter().u64_counter("jobs").build();
    counter.add(1, &[]);
    counter.add(2, &[KeyValue::new("host.name", "own")]);
    expect(
        &rig.export(),
        &[
            ("jobs;host.name=web_1;service.name=checkout", "1"),
            ("jobs;host.name=own;service.name=checkout", "2"),
        ],
    );
}

#[test]
fn what_the_sink_refuses_is_counted_and_reported() {
    let rig = Rig::with(
        GraphiteExporter::builder(),
        Resource::builder_empty().build(),
        SpySink {
            capacity: Some(1),
            ..SpySink::default()
        },
    );
    let meter = rig.meter();
    meter.u64_counter("a").build().add(1, &[]);
    meter.u64_counter("b").build().add(1, &[]);
    assert!(
        rig.provider.force_flush().is_err(),
        "a partial export is an error"
    );
    let stats = rig.exporter.stats();
    assert_eq!((stats.sent, stats.refused_by_sink), (1, 1), "{stats:?}");
}

#[test]
fn exporter_refuses_work_after_shutdown() {
    let spy: Arc<dyn Sink> = Arc::new(SpySink::default());
    let exporter = GraphiteExporter::builder()
        .with_sink(spy)
        .build()
        .expect("build");
    assert_eq!(exporter.temporality(), Temporality::Cumulative);
    exporter.force_flush().expect("flush");
    exporter.shutdown().expect("shutdown");
    assert!(matches!(
        exporter.shutdown(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert!(matches!(
        exporter.force_flush(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
}

#[test]
fn idle_series_names_are_forgotten() {
    let rig = Rig::new(GraphiteExporter::builder().with_temporality(Temporality::Delta));
    let counter = rig.meter().u64_counter("c").build();
    for i in 0..50 {
        // A new series every export; under delta the old ones go idle.
        counter.add(1, &[KeyValue::new("i", i64::from(i))]);
        assert_eq!(rig.export().len(), 1);
        assert!(
            rig.exporter.cached_series() <= 10,
            "{}",
            rig.exporter.cached_series()
        );
    }
}

/// A test exporter that renders with a [`Renderer`] and notes the scale of
/// each exponential histogram, to check quantiles against the stated error.
#[derive(Debug)]
struct Capture {
    renderer: Mutex<Renderer>,
    seen: Mutex<Vec<(Vec<Datapoint>, Vec<i8>)>>,
}

impl PushMetricExporter for Capture {
    async fn export(&self, metrics: &ResourceMetrics) -> opentelemetry_sdk::error::OTelSdkResult {
        let mut out = Vec::new();
        self.renderer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .render(metrics, &mut out);
        let mut scales = Vec::new();
        for scope in metrics.scope_metrics() {
            for metric in scope.metrics() {
                if let AggregatedMetrics::F64(MetricData::ExponentialHistogram(h)) = metric.data() {
                    scales.extend(h.data_points().map(|dp| dp.scale()));
                }
            }
        }
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((out, scales));
        Ok(())
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

const QUANTILES: [f64; 5] = [0.5, 0.75, 0.95, 0.99, 0.999];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The SDK's own bucketing, then our estimates: each within the stated
    /// error of the sample of nearest rank.
    #[test]
    fn exponential_quantiles_within_the_stated_error(
        values in prop::collection::vec(
            prop_oneof![
                8 => 1e-3..1e6_f64,
                2 => -1e4..-1e-3_f64,
                1 => Just(0.0),
            ],
            1..300,
        ),
    ) {
        let capture = Arc::new(Capture {
            renderer: Mutex::new(Renderer::new(RenderConfig {
                prefix: None,
                naming: NamingStyle::Suffixes,
                quantiles: QUANTILES.to_vec(),
                resource_tags: Vec::new(),
            })),
            seen: Mutex::new(Vec::new()),
        });
        let reader = PeriodicReader::builder(ArcExporter(Arc::clone(&capture)))
            .with_interval(Duration::from_secs(3600))
            .build();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader)
            .with_view(exponential_view)
            .build();
        let histogram = provider.meter("p").f64_histogram("expo").build();
        for &v in &values {
            histogram.record(v, &[]);
        }
        provider.force_flush().expect("export");
        provider.shutdown().expect("shutdown");
        let seen = capture.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let (out, scales) = &seen[0];
        let error = relative_error(scales[0]);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for (q, suffix) in QUANTILES.iter().zip(["p50", "p75", "p95", "p99", "p999"]) {
            let name = format!("expo.{suffix}");
            let dp = out.iter().find(|d| d.path.as_str() == name).expect("quantile sent");
            let estimate = dp.value.as_f64();
            let truth = sorted[crate::exponential::rank(*q, sorted.len() as u64) as usize - 1];
            prop_assert!(
                (estimate - truth).abs() <= error * truth.abs() * (1.0 + 1e-9),
                "{name}: {estimate} vs sample {truth}, stated error {error} at scale {}",
                scales[0]
            );
        }
        let count = out.iter().find(|d| d.path.as_str() == "expo.count").map(|d| d.value);
        prop_assert_eq!(count, Some(Value::from(values.len() as u64)));
    }
}

/// Lets a test keep the exporter it gives the reader.
#[derive(Debug)]
struct ArcExporter(Arc<Capture>);

impl PushMetricExporter for ArcExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.export(metrics).await
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}
