//! opentelemetry-graphite's export of 10,000 data points, in the same run
//! and on the same shapes as metrics-exporter-graphite' flush of 10,000 series
//! (`exporters.rs`): 10,000 counters, and a mix of 8,000 counters, 1,500
//! gauges and 500 exponential histograms with 20 samples an interval.
//!
//! The SDK's `PeriodicReader` collects, then calls the exporter on its own
//! thread; the figures time the exporter's `export` alone (render and hand
//! over to the sender) and count that thread's allocations inside it, and
//! give the whole `force_flush` (the SDK's collection included) beside it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ::opentelemetry::KeyValue;
use ::opentelemetry::metrics::MeterProvider as _;
use graphite_proto::router::RoutedStats;
use graphite_proto::sender::{PushError, PushManyError, SenderConfig, Stats};
use graphite_proto::{Datapoint, Protocol, Value};
use opentelemetry_graphite::{BoxFuture, GraphiteExporter, Sink};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{
    Aggregation, Instrument, PeriodicReader, SdkMeterProvider, Stream, Temporality,
};

use crate::sink::DiscardSink;
use crate::{alloc, median, result};

/// Data points in the export figures.
const POINTS: usize = 10_000;

/// Time (µs) and allocations of each `export` call, measured on the
/// reader's thread around the real exporter.
#[derive(Debug, Default)]
struct Measured {
    calls: Vec<(f64, u64)>,
}

#[derive(Debug)]
struct Timed {
    inner: GraphiteExporter,
    measured: Arc<Mutex<Measured>>,
}

impl PushMetricExporter for Timed {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let before = alloc::thread_allocations();
        let start = Instant::now();
        let outcome = self.inner.export(metrics).await;
        let micros = start.elapsed().as_secs_f64() * 1e6;
        let allocs = alloc::thread_allocations() - before;
        self.measured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .calls
            .push((micros, allocs));
        outcome
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// Room for every series (the SDK's default limit is 2,000 per
/// instrument) and exponential histograms for `bench.size`.
fn view(instrument: &Instrument) -> Option<Stream> {
    let builder = Stream::builder().with_cardinality_limit(POINTS * 2);
    let builder = if instrument.name() == "bench.size" {
        builder.with_aggregation(Aggregation::Base2ExponentialHistogram {
            max_size: 160,
            max_scale: 20,
            record_min_max: true,
        })
    } else {
        builder
    };
    builder.build().ok()
}

fn counter_attributes(i: usize) -> [KeyValue; 2] {
    [
        KeyValue::new("route", format!("r{}", i / 10)),
        KeyValue::new("status", format!("{}", 200 + i % 10)),
    ]
}

/// Records one interval's updates.
type Update = Box<dyn Fn()>;

fn counters(provider: &SdkMeterProvider) -> Update {
    let counter = provider
        .meter("bench")
        .u64_counter("bench.requests")
        .build();
    let attributes: Vec<[KeyValue; 2]> = (0..POINTS).map(counter_attributes).collect();
    Box::new(move || attributes.iter().for_each(|a| counter.add(1, a)))
}

fn mixed(provider: &SdkMeterProvider) -> Update {
    let meter = provider.meter("bench");
    let counter = meter.u64_counter("bench.requests").build();
    let gauge = meter.f64_gauge("bench.queue").build();
    let histogram = meter.f64_histogram("bench.size").build();
    let counters: Vec<[KeyValue; 2]> = (0..8_000).map(counter_attributes).collect();
    let gauges: Vec<[KeyValue; 1]> = (0..1_500)
        .map(|i| [KeyValue::new("q", format!("q{i}"))])
        .collect();
    let histograms: Vec<[KeyValue; 1]> = (0..500)
        .map(|i| [KeyValue::new("op", format!("o{i}"))])
        .collect();
    Box::new(move || {
        counters.iter().for_each(|a| counter.add(1, a));
        gauges
            .iter()
            .enumerate()
            .for_each(|(i, a)| gauge.record(i as f64, a));
        for a in &histograms {
            for v in 0..20 {
                histogram.record(f64::from(v) * 0.5, a);
            }
        }
    })
}

/// A sink that takes nothing in: `export` with it is the rendering alone.
#[derive(Debug)]
struct NullSink;

impl Sink for NullSink {
    fn send(&self, _: &str, _: Value, _: Option<i64>) -> Result<(), PushError> {
        Ok(())
    }
    fn push(&self, _: &Datapoint) -> Result<(), PushError> {
        Ok(())
    }
    fn push_many(&self, _: &[Datapoint]) -> Result<(), PushManyError> {
        Ok(())
    }
    fn stats(&self) -> Stats {
        Stats::default()
    }
    fn routed_stats(&self) -> Option<RoutedStats> {
        None
    }
    fn push_many_wait<'a>(
        &'a self,
        _: &'a [Datapoint],
    ) -> BoxFuture<'a, Result<(), PushManyError>> {
        Box::pin(async { Ok(()) })
    }
    fn flush(&self, _: Duration) -> BoxFuture<'_, Stats> {
        Box::pin(async { Stats::default() })
    }
    fn close(&self, _: Duration) -> BoxFuture<'_, Stats> {
        Box::pin(async { Stats::default() })
    }
    fn push_many_wait_blocking(&self, _: &[Datapoint]) -> Result<(), PushManyError> {
        Ok(())
    }
    fn flush_blocking(&self, _: Duration) -> Stats {
        Stats::default()
    }
    fn close_blocking(&self, _: Duration) -> Stats {
        Stats::default()
    }
}

/// (first export µs, steady export µs (median), steady allocations per
/// export (median), datapoints per export, steady force_flush µs (median);
/// the fastest steady export in place of the median with `render_only`),
/// through graphite-blocking's sender to a discarding peer, or with
/// `render_only` into [`NullSink`].
fn export_figures(
    reps: usize,
    populate: fn(&SdkMeterProvider) -> Update,
    render_only: bool,
) -> [f64; 5] {
    let sink = DiscardSink::start();
    let builder = GraphiteExporter::builder().with_prefix("bench.app");
    let builder = if render_only {
        builder.with_sink(Arc::new(NullSink))
    } else {
        builder
            .with_address(sink.addr().to_string())
            .with_sender_config(
                SenderConfig::new(Protocol::Plaintext).with_buffer_capacity(256 << 20),
            )
    };
    let exporter = builder.build().expect("build");
    let handle = exporter.clone();
    let measured = Arc::new(Mutex::new(Measured::default()));
    let timed = Timed {
        inner: exporter,
        measured: Arc::clone(&measured),
    };
    let reader = PeriodicReader::builder(timed)
        .with_interval(Duration::from_secs(3600))
        .build();
    let provider = SdkMeterProvider::builder()
        .with_reader(reader)
        .with_view(view)
        .build();
    let update = populate(&provider);
    let drained = || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while handle.sink_stats().buffered > 0 {
            assert!(
                Instant::now() < deadline,
                "sender stalled: {:?}",
                handle.sink_stats()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    let mut flushes = Vec::new();
    for _ in 0..=reps {
        update();
        let start = Instant::now();
        provider.force_flush().expect("export");
        flushes.push(start.elapsed().as_secs_f64() * 1e6);
        drained();
    }
    let sent_per_export = handle.stats().sent as f64 / (reps + 1) as f64;
    provider.shutdown().expect("shutdown");
    let stats = handle.stats();
    assert_eq!(stats.not_sent(), 0, "{stats:?}");
    assert_eq!(handle.sink_stats().dropped.total(), 0);
    let calls = std::mem::take(
        &mut measured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .calls,
    );
    // The last call is the shutdown's export.
    let first = calls[0].0;
    let steady = &calls[1..=reps];
    let fastest = steady.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
    [
        first,
        if render_only {
            fastest
        } else {
            median(steady.iter().map(|c| c.0).collect())
        },
        median(steady.iter().map(|c| c.1 as f64).collect()),
        sent_per_export,
        median(flushes[1..].to_vec()),
    ]
}

/// Every opentelemetry-graphite figure.
pub(crate) fn run(quick: bool) {
    let reps = if quick { 5 } else { 15 };
    for (name, populate) in [
        ("counters", counters as fn(&SdkMeterProvider) -> Update),
        ("mixed", mixed),
    ] {
        let [first, steady, allocs, points, flush] = export_figures(reps, populate, false);
        let [_, render, _, _, _] = export_figures(reps, populate, true);
        println!("# OpenTelemetry export of {POINTS} data points ({name}): {points} datapoints");
        result(&format!("otel_export_10k_{name}_first"), first, "us");
        result(&format!("otel_export_10k_{name}"), steady, "us");
        result(&format!("otel_export_10k_{name}_allocs"), allocs, "count");
        // The fastest pass: the least disturbed by other work on the machine.
        result(
            &format!("otel_export_10k_{name}_render_only_fastest"),
            render,
            "us",
        );
        result(
            &format!("otel_force_flush_10k_{name}_with_sdk_collect"),
            flush,
            "us",
        );
    }
}
