//! opentelemetry-graphite against Graphite's own carbon-cache: instruments
//! recorded through the OpenTelemetry API, exported by the SDK's
//! `PeriodicReader`, read back from the whisper files carbon writes.
//!
//! Exports are driven by `SdkMeterProvider::force_flush`, each in a wall
//! clock second of its own (the test carbon keeps one point per second and
//! a data point's timestamp is its collection time in whole seconds), so
//! every interval's points are told apart in whisper.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graphite_proto::Protocol;
use graphite_proto::sender::{Backoff, SenderConfig};
use graphite_tests::carbon::{Carbon, CarbonOptions, free_tcp_port};
use graphite_tests::graphite_web::GraphiteWeb;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{
    Counter, Gauge, Histogram, Meter, MeterProvider as _, ObservableGauge, UpDownCounter,
};
use opentelemetry_graphite::{GraphiteExporter, Temporality};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{
    Aggregation, Instrument, PeriodicReader, SdkMeterProvider, Stream,
};

const STORE_TIMEOUT: Duration = Duration::from_secs(60);

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Sleeps into the next whole second (plus a margin) and returns it: the
/// export that follows is stamped with it. Waiting for the clock itself,
/// not for an event.
fn next_second() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let into = Duration::from_nanos(u64::from(now.subsec_nanos()));
    thread::sleep(Duration::from_secs(1) - into + Duration::from_millis(20));
    unix_now()
}

/// Exports every provider, all within second `ts`.
fn export_at(ts: i64, providers: &[&SdkMeterProvider]) {
    for p in providers {
        // An error here is a partial export, counted in the stats checked
        // at the end; the timestamps are what matters now.
        let _ = p.force_flush();
    }
    assert_eq!(
        unix_now(),
        ts,
        "the exports took past the second they are stamped with"
    );
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

/// A provider exporting only when asked (a long interval), with a
/// resource naming the service.
fn provider(exporter: GraphiteExporter) -> SdkMeterProvider {
    let reader = PeriodicReader::builder(exporter)
        .with_interval(Duration::from_secs(3600))
        .build();
    SdkMeterProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_service_name("checkout")
                .with_attribute(KeyValue::new("host.name", "not chosen"))
                .build(),
        )
        .with_reader(reader)
        .with_view(exponential_view)
        .build()
}

struct Instruments {
    requests: Counter<u64>,
    queue: UpDownCounter<i64>,
    temperature: Gauge<f64>,
    latency: Histogram<f64>,
    expo: Histogram<f64>,
    hostile: Counter<u64>,
    ordered: Counter<u64>,
    /// The observable gauge's value, as f64 bits.
    load: Arc<AtomicU64>,
    _load_gauge: ObservableGauge<f64>,
}

impl Instruments {
    fn new(meter: &Meter) -> Self {
        let load = Arc::new(AtomicU64::new(0));
        let observed = Arc::clone(&load);
        Self {
            requests: meter.u64_counter("requests").build(),
            queue: meter.i64_up_down_counter("queue").build(),
            temperature: meter.f64_gauge("temperature").build(),
            latency: meter
                .f64_histogram("latency")
                .with_boundaries(vec![1.0, 10.0])
                .build(),
            expo: meter.f64_histogram("expo.size").build(),
            hostile: meter.u64_counter("hostile").build(),
            ordered: meter.u64_counter("ordered").build(),
            load,
            _load_gauge: meter
                .f64_observable_gauge("load")
                .with_callback(move |o| {
                    o.observe(f64::from_bits(observed.load(Ordering::Relaxed)), &[]);
                })
                .build(),
        }
    }

    fn record(&self, step: usize) {
        self.requests
            .add([5, 7, 1][step], &[KeyValue::new("method", "GET")]);
        self.queue.add([10, -3, 1][step], &[]);
        self.temperature.record([21.5, 19.0, 20.25][step], &[]);
        self.load
            .store([0.5_f64, 0.75, 1.0][step].to_bits(), Ordering::Relaxed);
        let (latency, expo): (&[f64], &[f64]) = match step {
            0 => (&[0.5, 5.0, 50.0], &[8.0, 8.0, 8.0]),
            1 => (&[2.0, 3.0, 4.0], &[8.0, 8.0]),
            _ => (&[], &[]),
        };
        for &v in latency {
            self.latency.record(v, &[]);
        }
        for &v in expo {
            self.expo.record(v, &[]);
        }
        if step == 0 {
            for (k, v) in HOSTILE {
                self.hostile.add(1, &[KeyValue::new(*k, *v)]);
            }
            let (a, z) = (KeyValue::new("a", "1"), KeyValue::new("z", "2"));
            self.ordered.add(1, &[z.clone(), a.clone()]);
            self.ordered.add(1, &[a, z]);
        }
    }
}

const HOSTILE: &[(&str, &str)] = &[
    ("space", "a b"),
    ("semi", "x;injected=1"),
    ("tilde", "~start"),
    ("newline", "one\ntwo 3 4\nthree"),
    ("empty", ""),
];

/// The series each hostile attribute becomes (before the prefix).
const HOSTILE_SERIES: &[&str] = &[
    "hostile;service.name=checkout;space=a_b",
    "hostile;semi=x_injected=1;service.name=checkout",
    "hostile;service.name=checkout;tilde=_start",
    "hostile;newline=one_two_3_4_three;service.name=checkout",
    "hostile;empty=<empty>;service.name=checkout",
];

/// Every series and value of one export, as documented
/// (`opentelemetry_graphite::conventions`), collector names.
fn expected(prefix: &str, delta: bool, step: usize, ts: i64) -> Vec<(String, i64, f64)> {
    let tag = ";service.name=checkout";
    let mut out = Vec::new();
    let mut add = |name: &str, value: f64| {
        let name = if name.contains(';') {
            format!("{prefix}.{name}")
        } else {
            format!("{prefix}.{name}{tag}")
        };
        out.push((name, ts, value));
    };
    let requests = if delta {
        [5.0, 7.0, 1.0]
    } else {
        [5.0, 12.0, 13.0]
    };
    add("requests;method=GET;service.name=checkout", requests[step]);
    // Up-down counters stay cumulative under a delta preference.
    add("queue", [10.0, 7.0, 8.0][step]);
    add("temperature", [21.5, 19.0, 20.25][step]);
    add("load", [0.5, 0.75, 1.0][step]);
    // Histograms: delta sends nothing for an interval without samples.
    let latency: Option<[f64; 7]> = match (delta, step) {
        // count, sum, min, max, buckets <=1, <=10, rest
        (_, 0) => Some([3.0, 55.5, 0.5, 50.0, 1.0, 1.0, 1.0]),
        (false, _) => Some([6.0, 64.5, 0.5, 50.0, 1.0, 4.0, 1.0]),
        (true, 1) => Some([3.0, 9.0, 2.0, 4.0, 0.0, 3.0, 0.0]),
        (true, _) => None,
    };
    if let Some(l) = latency {
        add("latency.count", l[0]);
        add("latency", l[1]);
        add("latency.min", l[2]);
        add("latency.max", l[3]);
        add("latency.bucket;service.name=checkout;upper_bound=1", l[4]);
        add("latency.bucket;service.name=checkout;upper_bound=10", l[5]);
        add("latency.bucket;service.name=checkout;upper_bound=inf", l[6]);
    }
    let expo: Option<(f64, f64)> = match (delta, step) {
        (_, 0) => Some((3.0, 24.0)),
        (false, _) => Some((5.0, 40.0)),
        (true, 1) => Some((2.0, 16.0)),
        (true, _) => None,
    };
    if let Some((count, sum)) = expo {
        add("expo.size.count", count);
        add("expo.size", sum);
        add("expo.size.min", 8.0);
        add("expo.size.max", 8.0);
        // Every sample is 8: min and max pin each estimate to it.
        for q in ["50", "75", "95", "99", "99.9"] {
            add(
                &format!("expo.size.quantile;quantile={q};service.name=checkout"),
                8.0,
            );
        }
    }
    if step == 0 || !delta {
        for series in HOSTILE_SERIES {
            add(series, 1.0);
        }
        add("ordered;a=1;service.name=checkout;z=2", 2.0);
    }
    out
}

#[test]
fn every_instrument_over_three_intervals_cumulative_and_delta() {
    let carbon = Carbon::start();
    // Cumulative, through the default sender (graphite-blocking's thread).
    let cumulative = GraphiteExporter::builder()
        .with_address(format!("127.0.0.1:{}", carbon.line_port))
        .with_prefix("otel.cum")
        .with_resource_tags(["service.name"])
        .build()
        .expect("build");
    // Delta, through a tokio sender passed as the sink.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let tokio_sender = {
        let _entered = runtime.enter();
        graphite_driver::Sender::spawn(
            graphite_tokio::runtime(),
            "127.0.0.1",
            carbon.line_port,
            SenderConfig::new(Protocol::Plaintext),
        )
        .expect("tokio sender")
    };
    let delta = GraphiteExporter::builder()
        .with_sink(Arc::new(tokio_sender))
        .with_temporality(Temporality::Delta)
        .with_prefix("otel.delta")
        .with_resource_tags(["service.name"])
        .build()
        .expect("build");
    let exporters = [cumulative.clone(), delta.clone()];
    let providers = [provider(cumulative), provider(delta)];
    let instruments: Vec<Instruments> = providers
        .iter()
        .map(|p| Instruments::new(&p.meter("shop")))
        .collect();

    let mut want = Vec::new();
    for step in 0..3 {
        for i in &instruments {
            i.record(step);
        }
        let ts = next_second();
        export_at(ts, &[&providers[0], &providers[1]]);
        want.extend(expected("otel.cum", false, step, ts));
        want.extend(expected("otel.delta", true, step, ts));
    }
    carbon
        .wait_for(&want, STORE_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    // Nothing else: no line was split or injected into another series.
    let mut series: Vec<&String> = want.iter().map(|w| &w.0).collect();
    series.sort();
    series.dedup();
    assert_eq!(
        carbon.stored_files().len(),
        series.len(),
        "{:?}",
        carbon.stored_files()
    );

    for p in &providers {
        p.shutdown().expect("shutdown");
    }
    for e in &exporters {
        let (stats, sink) = (e.stats(), e.sink_stats());
        assert_eq!(stats.not_sent(), 0, "{stats:?}");
        assert_eq!(sink.dropped.total(), 0, "{sink:?}");
    }
}

#[test]
fn carbon_away_for_three_intervals_gets_every_interval_with_its_own_timestamp() {
    let mut carbon = Carbon::start();
    let config = SenderConfig::new(Protocol::Plaintext).with_backoff(Backoff {
        max: Duration::from_millis(500),
        ..Backoff::default()
    });
    let exporter = GraphiteExporter::builder()
        .with_address(format!("127.0.0.1:{}", carbon.line_port))
        .with_prefix("otel.outage")
        .with_sender_config(config)
        .build()
        .expect("build");
    let handle = exporter.clone();
    let provider = provider(exporter);
    let meter = provider.meter("outage");
    let ticks = meter.u64_counter("ticks").build();
    let step = meter.i64_gauge("step").build();
    let mut want = Vec::new();
    let interval = |i: i64, want: &mut Vec<(String, i64, f64)>| {
        ticks.add(1, &[]);
        step.record(i, &[]);
        let ts = next_second();
        export_at(ts, &[&provider]);
        want.push(("otel.outage.ticks".to_owned(), ts, (i + 1) as f64));
        want.push(("otel.outage.step".to_owned(), ts, i as f64));
    };

    interval(0, &mut want);
    // SIGTERM does not write carbon's cache out: stop only once stored.
    carbon
        .wait_for(&want, STORE_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    carbon.stop();
    for i in 1..=3 {
        interval(i, &mut want);
    }
    carbon.launch();
    interval(4, &mut want);
    carbon
        .wait_for(&want, STORE_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));

    provider.shutdown().expect("shutdown");
    let (stats, sink) = (handle.stats(), handle.sink_stats());
    assert_eq!(stats.not_sent(), 0, "{stats:?}");
    assert_eq!(sink.dropped.total(), 0, "{sink:?}");
}

#[test]
fn flush_and_shutdown_keep_their_deadlines_against_a_carbon_that_stopped_reading() {
    let stalled = graphite_tests::sink::Sink::tcp();
    stalled.set_reading(false);
    let deadline = Duration::from_secs(1);
    let exporter = GraphiteExporter::builder()
        .with_address(stalled.addr().to_string())
        // Long names: one export is far more than the sockets can hold.
        .with_prefix(["n".repeat(60).as_str(); 4].join("."))
        .with_flush_timeout(deadline)
        .with_shutdown_timeout(deadline)
        .build()
        .expect("build");
    let handle = exporter.clone();
    let provider = provider(exporter);
    let meter = provider.meter("stall");
    for c in 0..20 {
        let counter = meter.u64_counter(format!("c{c}")).build();
        for i in 0..1_999_i64 {
            counter.add(1, &[KeyValue::new("i", i)]);
        }
    }
    // Fills the sender's buffer (what does not fit is refused and counted).
    let _ = provider.force_flush();
    assert!(handle.stats().sent > 0);

    let start = Instant::now();
    let flushed = opentelemetry_sdk::metrics::exporter::PushMetricExporter::force_flush(&handle);
    let took = start.elapsed();
    assert!(
        flushed.is_err(),
        "nothing can be written: the flush times out"
    );
    assert!(
        took >= deadline && took < deadline * 3,
        "force_flush took {took:?} for a {deadline:?} deadline"
    );

    let start = Instant::now();
    let shut = provider.shutdown();
    let took = start.elapsed();
    assert!(shut.is_err(), "the close times out: {shut:?}");
    assert!(
        took < deadline * 3,
        "shutdown took {took:?} for a {deadline:?} deadline"
    );
    let sink = handle.sink_stats();
    assert!(sink.dropped.deadline > 0, "{sink:?}");
    assert_eq!(sink.buffered, 0, "{sink:?}");
}

#[test]
fn graphite_web_finds_one_canonical_series_by_tag_and_renders_it() {
    let web_port = free_tcp_port();
    let mut carbon = Carbon::prepare(CarbonOptions {
        tag_db: Some(web_port),
        ..CarbonOptions::default()
    });
    let web = GraphiteWeb::start(&carbon.storage_dir(), web_port);
    carbon.launch();
    let exporter = GraphiteExporter::builder()
        .with_address(format!("127.0.0.1:{}", carbon.line_port))
        .with_prefix("otel.web")
        .with_resource_tags(["service.name"])
        .build()
        .expect("build");
    let provider = provider(exporter);
    let requests = provider.meter("web").u64_counter("requests").build();
    let (method, route) = (
        KeyValue::new("method", "GET"),
        KeyValue::new("route", "/a b"),
    );
    requests.add(2, &[method.clone(), route.clone()]);
    requests.add(3, &[route, method]);
    let ts = next_second();
    export_at(ts, &[&provider]);

    // Carbon registers the series with graphite-web after writing it.
    let series = "otel.web.requests;method=GET;route=/a_b;service.name=checkout";
    let deadline = Instant::now() + STORE_TIMEOUT;
    loop {
        let found = web.find_series("name=otel.web.requests");
        let rendered = web.render("seriesByTag('service.name=checkout')", ts - 5, ts + 5);
        let stored = rendered
            .iter()
            .any(|(name, points)| name == series && points.contains(&(ts, 5.0)));
        if found == [series] && stored {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "graphite-web: findSeries {found:?}, render {rendered:?}\ncarbon log:\n{}",
            carbon.log()
        );
        thread::sleep(Duration::from_millis(250));
    }
    provider.shutdown().expect("shutdown");
}
