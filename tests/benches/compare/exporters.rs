//! metrics-exporter-graphite against metrics-exporter-prometheus, both used the same
//! way: a counter increment through a registered handle and through the
//! `counter!` macro (each recorder made current with
//! `metrics::with_local_recorder`), allocations per increment, a histogram
//! record through a handle, and one flush of 10,000 series.

use std::hint::black_box;
use std::time::{Duration, Instant};

use graphite_proto::Protocol;
use graphite_proto::sender::SenderConfig;
use metrics::{Histogram, Key, Label, Metadata, Recorder};
use metrics_exporter_graphite::{GraphiteBuilder, GraphiteHandle, GraphiteRecorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

use crate::sink::DiscardSink;
use crate::{alloc, median, ratio, result};

const META: Metadata<'static> = Metadata::new("bench", metrics::Level::INFO, Some("bench"));

/// Series in the flush figures.
const FLUSH_SERIES: usize = 10_000;

/// Increments per second through a handle, the median of `reps` passes of
/// `n` increments, and the calling thread's allocations per increment.
fn handle_rate(recorder: &dyn Recorder, n: usize, reps: usize) -> (f64, f64) {
    let key = Key::from_parts("bench.requests", vec![Label::new("method", "GET")]);
    let counter = recorder.register_counter(&key, &META);
    let pass = || {
        for _ in 0..n {
            black_box(&counter).increment(1);
        }
    };
    measure(n, reps, pass)
}

/// The same through `counter!` with static labels, the recorder made
/// current for the whole pass.
fn macro_rate(recorder: &dyn Recorder, n: usize, reps: usize) -> (f64, f64) {
    let pass = || {
        metrics::with_local_recorder(recorder, || {
            for _ in 0..n {
                metrics::counter!("bench.requests", "method" => "GET").increment(black_box(1));
            }
        });
    };
    measure(n, reps, pass)
}

/// Histogram records per second through a handle, metrics-exporter-graphite' then
/// metrics-exporter-prometheus's: the median of `reps` passes of `n` each,
/// the two alternating so a busy machine slows both alike; and each one's
/// allocations per record. The values are those of latencies in seconds (1
/// ms to about 1 s). Prometheus keeps every sample until its upkeep, which
/// runs between passes, untimed.
fn histogram_rates(
    ours: &dyn Recorder,
    prometheus: &PrometheusRecorder,
    n: usize,
    reps: usize,
) -> [(f64, f64); 2] {
    let key = Key::from_parts("bench.latency", vec![Label::new("method", "GET")]);
    let histograms = [
        ours.register_histogram(&key, &META),
        prometheus.register_histogram(&key, &META),
    ];
    let record = |histogram: &Histogram| {
        for i in 0..n {
            black_box(histogram).record(black_box((i & 1023) as f64 * 0.001 + 0.001));
        }
    };
    // Drains prometheus's samples (nothing to do for ours).
    let upkeep = prometheus.handle();
    for histogram in &histograms {
        record(histogram); // warm-up
        upkeep.run_upkeep();
    }
    let mut rates = [Vec::new(), Vec::new()];
    for _ in 0..reps {
        for (rates, histogram) in rates.iter_mut().zip(&histograms) {
            let start = Instant::now();
            record(histogram);
            rates.push(n as f64 / start.elapsed().as_secs_f64());
            upkeep.run_upkeep();
        }
    }
    let [ours_rates, prometheus_rates] = rates;
    let allocs = |histogram: &Histogram| {
        let before = alloc::thread_allocations();
        record(histogram);
        let allocs = (alloc::thread_allocations() - before) as f64 / n as f64;
        upkeep.run_upkeep();
        allocs
    };
    [
        (median(ours_rates), allocs(&histograms[0])),
        (median(prometheus_rates), allocs(&histograms[1])),
    ]
}

fn measure(n: usize, reps: usize, pass: impl Fn()) -> (f64, f64) {
    pass(); // warm-up: registers the series
    let rates = (0..reps)
        .map(|_| {
            let start = Instant::now();
            pass();
            n as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    let before = alloc::thread_allocations();
    pass();
    let allocs = (alloc::thread_allocations() - before) as f64 / n as f64;
    (median(rates), allocs)
}

/// An exporter sending to a discard sink, with room for many flushes.
fn exporter_to_sink(sink: &DiscardSink) -> (GraphiteRecorder, GraphiteHandle) {
    let (recorder, exporter) = GraphiteBuilder::new()
        .with_address(sink.addr().to_string())
        .with_prefix("bench.app")
        .add_global_label("dc", "ams")
        .with_sender_config(SenderConfig::new(Protocol::Plaintext).with_buffer_capacity(256 << 20))
        .build()
        .expect("build");
    let handle = exporter.handle();
    // The exporter loop is not run: flushes are driven by `flush_now`.
    drop(exporter);
    (recorder, handle)
}

/// Time and calling-thread allocations of `flush_now` over `FLUSH_SERIES`
/// series made by `populate`, whose `update` runs before every flush.
/// Returns (first flush µs, steady flush µs (median), steady allocations
/// per flush, datapoints per flush).
fn flush_figures(
    reps: usize,
    populate: impl Fn(&GraphiteRecorder) -> Box<dyn Fn()>,
) -> (f64, f64, f64, usize) {
    let sink = DiscardSink::start();
    let (recorder, handle) = exporter_to_sink(&sink);
    let update = populate(&recorder);
    let drained = |handle: &GraphiteHandle| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while handle.stats().buffered > 0 {
            assert!(
                Instant::now() < deadline,
                "sender stalled: {:?}",
                handle.stats()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    update();
    let start = Instant::now();
    let points = handle.flush_now();
    let first = start.elapsed().as_secs_f64() * 1e6;
    drained(&handle);
    let mut times = Vec::new();
    let mut allocs = Vec::new();
    for _ in 0..reps {
        update();
        let before = alloc::thread_allocations();
        let start = Instant::now();
        handle.flush_now();
        times.push(start.elapsed().as_secs_f64() * 1e6);
        allocs.push((alloc::thread_allocations() - before) as f64);
        drained(&handle);
    }
    let stats = handle.shutdown(Duration::from_secs(30));
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    (first, median(times), median(allocs), points)
}

fn counter_keys(n: usize) -> Vec<Key> {
    (0..n)
        .map(|i| {
            Key::from_parts(
                "bench.requests",
                vec![
                    Label::new("route", format!("r{}", i / 10)),
                    Label::new("status", format!("{}", 200 + i % 10)),
                ],
            )
        })
        .collect()
}

/// 10,000 counters.
fn counters(recorder: &GraphiteRecorder) -> Box<dyn Fn()> {
    let handles: Vec<_> = counter_keys(FLUSH_SERIES)
        .iter()
        .map(|k| recorder.register_counter(k, &META))
        .collect();
    Box::new(move || handles.iter().for_each(|c| c.increment(1)))
}

/// 8,000 counters, 1,500 gauges, 500 histograms with 20 samples each
/// interval.
fn mixed(recorder: &GraphiteRecorder) -> Box<dyn Fn()> {
    let counters: Vec<_> = counter_keys(8_000)
        .iter()
        .map(|k| recorder.register_counter(k, &META))
        .collect();
    let gauges: Vec<_> = (0..1_500)
        .map(|i| {
            let key = Key::from_parts("bench.queue", vec![Label::new("q", format!("q{i}"))]);
            recorder.register_gauge(&key, &META)
        })
        .collect();
    let histograms: Vec<_> = (0..500)
        .map(|i| {
            let key = Key::from_parts("bench.latency", vec![Label::new("op", format!("o{i}"))]);
            recorder.register_histogram(&key, &META)
        })
        .collect();
    Box::new(move || {
        counters.iter().for_each(|c| c.increment(1));
        gauges.iter().enumerate().for_each(|(i, g)| g.set(i as f64));
        for h in &histograms {
            for v in 0..20 {
                h.record(f64::from(v) * 0.5);
            }
        }
    })
}

/// Every metrics-exporter-graphite figure.
pub(crate) fn run(quick: bool) {
    let (n, reps) = if quick {
        (5_000_000, 5)
    } else {
        (20_000_000, 11)
    };
    let (ours, _) = GraphiteBuilder::new()
        .with_address("127.0.0.1:9")
        .build()
        .expect("build");
    let prometheus = PrometheusBuilder::new().build_recorder();

    // A quarter of the passes' length: prometheus holds 8 bytes per sample
    // until its upkeep drains them.
    let [(ours_hist, ours_hist_allocs), (prom_hist, prom_hist_allocs)] =
        histogram_rates(&ours, &prometheus, n / 4, reps);
    result("metrics_histogram_handle_graphite", ours_hist, "records/s");
    result(
        "metrics_histogram_handle_prometheus",
        prom_hist,
        "records/s",
    );
    result(
        "allocs_per_record_histogram_graphite",
        ours_hist_allocs,
        "count",
    );
    result(
        "allocs_per_record_histogram_prometheus",
        prom_hist_allocs,
        "count",
    );
    ratio("metrics_histogram_vs_prometheus", ours_hist / prom_hist);

    let (ours_handle, ours_handle_allocs) = handle_rate(&ours, n, reps);
    let (prom_handle, prom_handle_allocs) = handle_rate(&prometheus, n, reps);
    let (ours_macro, ours_macro_allocs) = macro_rate(&ours, n, reps);
    let (prom_macro, prom_macro_allocs) = macro_rate(&prometheus, n, reps);
    result(
        "metrics_counter_handle_graphite",
        ours_handle,
        "increments/s",
    );
    result(
        "metrics_counter_handle_prometheus",
        prom_handle,
        "increments/s",
    );
    result("metrics_counter_macro_graphite", ours_macro, "increments/s");
    result(
        "metrics_counter_macro_prometheus",
        prom_macro,
        "increments/s",
    );
    result(
        "allocs_per_increment_handle_graphite",
        ours_handle_allocs,
        "count",
    );
    result(
        "allocs_per_increment_macro_graphite",
        ours_macro_allocs,
        "count",
    );
    result(
        "allocs_per_increment_handle_prometheus",
        prom_handle_allocs,
        "count",
    );
    result(
        "allocs_per_increment_macro_prometheus",
        prom_macro_allocs,
        "count",
    );
    let handle_ratio = ours_handle / prom_handle;
    let macro_ratio = ours_macro / prom_macro;
    ratio("metrics_counter_vs_prometheus_handle", handle_ratio);
    ratio("metrics_counter_vs_prometheus_macro", macro_ratio);
    // The headline: the worse of the two.
    ratio(
        "metrics_counter_vs_prometheus",
        handle_ratio.min(macro_ratio),
    );

    let flush_reps = if quick { 5 } else { 15 };
    for (name, populate) in [
        (
            "counters",
            counters as fn(&GraphiteRecorder) -> Box<dyn Fn()>,
        ),
        ("mixed", mixed),
    ] {
        let (first, steady, allocs, points) = flush_figures(flush_reps, populate);
        println!("# flush of {FLUSH_SERIES} series ({name}): {points} datapoints");
        result(&format!("metrics_flush_10k_{name}_first"), first, "us");
        result(&format!("metrics_flush_10k_{name}"), steady, "us");
        result(&format!("metrics_flush_10k_{name}_allocs"), allocs, "count");
    }
    // The OpenTelemetry exporter on the same shapes, in the same run.
    crate::otel::run(quick);
}
