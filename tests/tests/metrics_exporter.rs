//! metrics-exporter-graphite against Graphite's own carbon-cache: what the exporter
//! sends every interval, read back from the whisper files carbon writes.
//!
//! Every exporter flushes each second (the test carbon keeps 1 s points).
//! The tests wait for flushes by polling the exporter's counters, and do
//! their updates right after a flush, so each update lands in a known
//! interval.

use std::collections::HashMap;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use graphite_proto::Protocol;
use graphite_proto::sender::{Backoff, SenderConfig};
use graphite_tests::carbon::{Carbon, CarbonOptions};
use metrics::{Key, Label, Metadata, Recorder};
use metrics_exporter_graphite::{
    CounterMode, ExporterStats, GraphiteBuilder, GraphiteHandle, GraphiteRecorder, LabelStyle,
    SKETCH_RELATIVE_ERROR,
};

const STORE_TIMEOUT: Duration = Duration::from_secs(60);
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
const INTERVAL: Duration = Duration::from_secs(1);
const META: Metadata<'static> = Metadata::new("it", metrics::Level::INFO, Some("it"));

fn builder(carbon: &Carbon, prefix: &str) -> GraphiteBuilder {
    GraphiteBuilder::new()
        .with_address(format!("127.0.0.1:{}", carbon.line_port))
        .with_interval(INTERVAL)
        .with_prefix(prefix)
}

/// An exporter built by hand and run on a thread of the test.
struct Running {
    recorder: GraphiteRecorder,
    handle: GraphiteHandle,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    fn start(builder: GraphiteBuilder) -> Self {
        let (recorder, exporter) = builder.build().expect("build");
        let handle = exporter.handle();
        let thread = thread::spawn(move || exporter.run());
        Self {
            recorder,
            handle,
            thread: Some(thread),
        }
    }

    fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
        Key::from_parts(
            name,
            labels
                .iter()
                .map(|(k, v)| Label::new(*k, *v))
                .collect::<Vec<_>>(),
        )
    }

    fn stop(mut self) {
        let stats = self.handle.shutdown(Duration::from_secs(10));
        assert_eq!(stats.dropped.total(), 0, "{stats:?}");
        if let Some(t) = self.thread.take() {
            t.join().expect("exporter thread");
        }
    }
}

/// Waits until every handle has flushed after `after` (their flush counts
/// then), and returns the new counts and the timestamp of those flushes.
fn next_flush(handles: &[&GraphiteHandle], after: &[u64]) -> (Vec<u64>, i64) {
    let deadline = Instant::now() + FLUSH_TIMEOUT;
    loop {
        let stats: Vec<ExporterStats> = handles.iter().map(|h| h.exporter_stats()).collect();
        if stats.iter().zip(after).all(|(s, &a)| s.flushes > a) {
            let ts = stats[0].last_timestamp;
            assert!(
                stats.iter().all(|s| s.last_timestamp == ts),
                "exporters flushed different intervals: {stats:?}"
            );
            return (stats.iter().map(|s| s.flushes).collect(), ts);
        }
        assert!(
            Instant::now() < deadline,
            "no flush within {FLUSH_TIMEOUT:?}: {stats:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// The flush counts now, after waiting for one flush so that the next
/// update is made just after a flush (a whole interval before the next).
fn at_interval_start(handles: &[&GraphiteHandle]) -> Vec<u64> {
    let now: Vec<u64> = handles.iter().map(|h| h.exporter_stats().flushes).collect();
    next_flush(handles, &now).0
}

fn fetch_one(carbon: &Carbon, metric: &str, ts: i64) -> Option<f64> {
    carbon
        .fetch(&[metric.to_owned()], ts - 1, ts + 1)
        .get(metric)
        .and_then(|points| points.iter().find(|p| p.0 == ts).map(|p| p.1))
}

fn expect(metric: &str, ts: i64, value: f64) -> (String, i64, f64) {
    (metric.to_owned(), ts, value)
}

#[test]
fn counters_gauges_and_histograms_read_back_from_whisper() {
    let carbon = Carbon::start();
    // The global recorder with the `counter!` macros, cumulative counters...
    let global = builder(&carbon, "it.cum").install().expect("install");
    // ...and a second exporter in delta mode, fed through handles.
    let delta = Running::start(builder(&carbon, "it.delta").with_counter_mode(CounterMode::Delta));
    let delta_counter = delta
        .recorder
        .register_counter(&Running::key("requests", &[]), &META);
    let handles = [&global, &delta.handle];

    let mut counts = at_interval_start(&handles);
    let mut stamps = Vec::new();
    for (step, inc) in [5_u64, 7, 0].into_iter().enumerate() {
        metrics::counter!("requests").increment(inc);
        delta_counter.increment(inc);
        match step {
            0 => {
                metrics::counter!("abs").absolute(100);
                metrics::gauge!("queue").set(10.0);
                for v in 1..=100 {
                    metrics::histogram!("latency").record(f64::from(v));
                }
            }
            1 => {
                metrics::counter!("abs").absolute(90);
                metrics::gauge!("queue").increment(5.0);
            }
            _ => metrics::gauge!("queue").decrement(3.0),
        }
        let (now, ts) = next_flush(&handles, &counts);
        counts = now;
        stamps.push(ts);
    }
    // One more interval with no updates: gauges and totals repeat.
    let (_, quiet) = next_flush(&handles, &counts);
    stamps.push(quiet);
    assert!(
        stamps.windows(2).all(|w| w[1] == w[0] + 1),
        "one flush per interval: {stamps:?}"
    );
    let [t1, t2, t3, t4] = stamps[..] else {
        unreachable!()
    };

    let mut expected = vec![
        expect("it.cum.requests.count", t1, 5.0),
        expect("it.cum.requests.count", t2, 12.0),
        expect("it.cum.requests.count", t3, 12.0),
        expect("it.cum.requests.count", t4, 12.0),
        expect("it.delta.requests.count", t1, 5.0),
        expect("it.delta.requests.count", t2, 7.0),
        expect("it.delta.requests.count", t3, 0.0),
        expect("it.cum.abs.count", t1, 100.0),
        expect("it.cum.abs.count", t2, 100.0),
        expect("it.cum.queue", t1, 10.0),
        expect("it.cum.queue", t2, 15.0),
        expect("it.cum.queue", t3, 12.0),
        expect("it.cum.queue", t4, 12.0),
        expect("it.cum.latency.count", t1, 100.0),
        expect("it.cum.latency.sum", t1, 5050.0),
        expect("it.cum.latency.min", t1, 1.0),
        expect("it.cum.latency.max", t1, 100.0),
        expect("it.cum.latency.mean", t1, 50.5),
        expect("it.cum.latency.count", t2, 100.0),
        expect("it.cum.latency.sum", t2, 5050.0),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    carbon
        .wait_for(&expected, STORE_TIMEOUT)
        .expect("every interval's values stored");

    // Quantiles: within the sketch's documented relative error of the
    // sample at that rank (DDSketch ranks: p50 → 50, p99 → 99).
    for (q, want) in [("p50", 50.0), ("p99", 99.0)] {
        let got = fetch_one(&carbon, &format!("it.cum.latency.{q}"), t1).expect("stored");
        assert!(
            (got - want).abs() <= want * SKETCH_RELATIVE_ERROR,
            "{q}: {got} vs {want}"
        );
        println!("{q} = {got} (sample at that rank: {want})");
    }
    // An interval without samples sends only count and sum.
    for suffix in ["min", "max", "mean", "p50", "p75", "p95", "p99", "p999"] {
        let metric = format!("it.cum.latency.{suffix}");
        assert!(fetch_one(&carbon, &metric, t1).is_some(), "{metric} at t1");
        assert_eq!(fetch_one(&carbon, &metric, t2), None, "{metric} at t2");
    }
    println!("stored: {expected:?}");
    let stats = global.shutdown(Duration::from_secs(10));
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    delta.stop();
}

#[test]
fn label_styles_make_the_expected_files() {
    let carbon = Carbon::start_with(CarbonOptions {
        tags: true,
        ..CarbonOptions::default()
    });
    // Self-telemetry off: only the series under test make files.
    let tags = Running::start(
        builder(&carbon, "it.tags")
            .with_self_telemetry(false)
            .add_global_label("dc", "ams")
            .add_global_label("method", "overridden"),
    );
    let path = Running::start(
        builder(&carbon, "it.path")
            .with_self_telemetry(false)
            .with_label_style(LabelStyle::Path)
            .add_global_label("dc", "ams")
            .add_global_label("method", "overridden"),
    );
    let handles = [&tags.handle, &path.handle];
    let counts = at_interval_start(&handles);
    for running in [&tags, &path] {
        // The same series, labels given in two orders; a dotted value; an
        // empty value (sent as `_`); and a label set that cannot be valid
        // (the same key twice).
        for labels in [
            [("status", "200"), ("method", "GET")],
            [("method", "GET"), ("status", "200")],
        ] {
            running
                .recorder
                .register_counter(&Running::key("http.requests", &labels), &META)
                .increment(1);
        }
        running
            .recorder
            .register_gauge(&Running::key("disk", &[("mount", "var.log")]), &META)
            .set(0.5);
        running
            .recorder
            .register_counter(&Running::key("bad", &[("a", "1"), ("a", "2")]), &META)
            .increment(1);
        running
            .recorder
            .register_counter(&Running::key("empty", &[("e", "")]), &META)
            .increment(1);
    }
    let (_, ts) = next_flush(&handles, &counts);
    let tagged_requests = "it.tags.http.requests.count;dc=ams;method=GET;status=200";
    let tagged_disk = "it.tags.disk;dc=ams;method=overridden;mount=var.log";
    let path_requests = "it.path.http.requests.dc.ams.method.GET.status.200.count";
    let path_disk = "it.path.disk.dc.ams.method.overridden.mount.var_log";
    let tagged_empty = "it.tags.empty.count;dc=ams;e=_;method=overridden";
    let path_empty = "it.path.empty.dc.ams.e._.method.overridden.count";
    carbon
        .wait_for(
            &[
                expect(tagged_requests, ts, 2.0),
                expect(tagged_disk, ts, 0.5),
                expect(path_requests, ts, 2.0),
                expect(path_disk, ts, 0.5),
                expect(tagged_empty, ts, 1.0),
                expect(path_empty, ts, 1.0),
            ],
            STORE_TIMEOUT,
        )
        .expect("both styles stored");
    let files = carbon.stored_files();
    let (tagged, plain): (Vec<_>, Vec<_>) = files.iter().partition(|f| f.starts_with("_tagged"));
    assert_eq!(tagged.len(), 3, "three tagged series: {files:?}");
    let mut plain: Vec<String> = plain.iter().map(|p| p.display().to_string()).collect();
    plain.sort();
    assert_eq!(
        plain,
        [
            "it/path/disk/dc/ams/method/overridden/mount/var_log.wsp",
            "it/path/empty/dc/ams/e/_/method/overridden/count.wsp",
            "it/path/http/requests/dc/ams/method/GET/status/200/count.wsp",
        ],
        "{files:?}"
    );
    for running in [&tags, &path] {
        assert_eq!(running.handle.exporter_stats().invalid_series, 1);
    }
    tags.stop();
    path.stop();
}

#[test]
fn carbon_down_for_three_intervals_loses_no_interval() {
    let mut carbon = Carbon::start();
    let config = SenderConfig::new(Protocol::Plaintext).with_backoff(Backoff {
        max: Duration::from_millis(500),
        ..Backoff::default()
    });
    let running = Running::start(builder(&carbon, "it.outage").with_sender_config(config));
    let counter = running
        .recorder
        .register_counter(&Running::key("ticks", &[]), &META);
    let handles = [&running.handle];
    let mut counts = at_interval_start(&handles);
    let mut stamps = Vec::new();
    // Two intervals up, three down, two up again; one increment each.
    for step in 0..7 {
        // The increment first, right after a flush: stopping or starting
        // carbon may take longer than an interval.
        counter.increment(1);
        if step == 2 {
            carbon.stop();
        }
        if step == 5 {
            carbon.launch();
        }
        let (now, ts) = next_flush(&handles, &counts);
        counts = now;
        stamps.push(ts);
    }
    let expected: Vec<_> = stamps
        .iter()
        .zip(1..)
        .map(|(&ts, total)| expect("it.outage.ticks.count", ts, f64::from(total)))
        .collect();
    carbon
        .wait_for(&expected, STORE_TIMEOUT)
        .expect("every interval stored with its own timestamp");
    let stats = running.handle.stats();
    assert!(stats.disconnects + stats.connect_failures > 0, "{stats:?}");
    println!("stamps {stamps:?}; sender {stats:?}");
    running.stop();
}

#[test]
fn thread_and_tokio_exporters_store_identical_values() {
    let carbon = Carbon::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let on_thread = Running::start(builder(&carbon, "it.same.thread"));
    let (tokio_recorder, tokio_handle) = runtime.block_on(async {
        let (recorder, exporter) = builder(&carbon, "it.same.tokio")
            .build_tokio()
            .expect("build on tokio");
        let handle = exporter.spawn().expect("exporter thread");
        (recorder, handle)
    });
    let recorders = [&on_thread.recorder, &tokio_recorder];
    let handles = [&on_thread.handle, &tokio_handle];
    let mut counts = at_interval_start(&handles);
    let mut stamps = Vec::new();
    for step in 0..3_u32 {
        for recorder in recorders {
            let labels = [("kind", "a")];
            recorder
                .register_counter(&Running::key("c", &labels), &META)
                .increment(u64::from(step) * 3 + 1);
            recorder
                .register_gauge(&Running::key("g", &[]), &META)
                .set(f64::from(step) * 1.5);
            let h = recorder.register_histogram(&Running::key("h", &[]), &META);
            for v in 0..=(step * 10) {
                h.record(f64::from(v) / 4.0);
            }
        }
        let (now, ts) = next_flush(&handles, &counts);
        counts = now;
        stamps.push(ts);
    }
    let suffixes = [
        "c.count;kind=a",
        "g",
        "h.count",
        "h.sum",
        "h.min",
        "h.max",
        "h.mean",
        "h.p50",
        "h.p75",
        "h.p95",
        "h.p99",
        "h.p999",
    ];
    let names = |flavor: &str| -> Vec<String> {
        suffixes
            .iter()
            .map(|s| format!("it.same.{flavor}.{s}"))
            .collect()
    };
    let (first, last) = (stamps[0], stamps[2]);
    // Wait for the last interval of both, then compare everything.
    let probe: Vec<_> = ["thread", "tokio"]
        .iter()
        .map(|f| expect(&format!("it.same.{f}.h.count"), last, 33.0))
        .collect();
    carbon.wait_for(&probe, STORE_TIMEOUT).expect("stored");
    let all: Vec<String> = names("thread").into_iter().chain(names("tokio")).collect();
    let mut stored: HashMap<String, Vec<(i64, f64)>> = carbon.fetch(&all, first - 1, last + 1);
    // A later interval may already be stored too (1 s intervals): compare
    // the three this test recorded.
    for points in stored.values_mut() {
        points.retain(|&(ts, _)| (first..=last).contains(&ts));
    }
    let mut compared = 0;
    for (t, k) in names("thread").iter().zip(names("tokio")) {
        assert_eq!(stored.get(t), stored.get(&k), "{t} vs {k}");
        compared += stored.get(t).map_or(0, Vec::len);
    }
    // 3 intervals of c, g, h.count, h.sum; 3 of the rest (every interval had samples).
    assert_eq!(compared, 3 * suffixes.len(), "{stored:?}");
    println!("compared {compared} values per exporter");
    on_thread.stop();
    let stats = runtime.block_on(tokio_handle.shutdown_async(Duration::from_secs(10)));
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
}

#[test]
fn shutdown_is_bounded_even_on_the_runtime_its_sender_needs() {
    // A current-thread runtime blocked in `shutdown`: graphite-tokio's
    // sender task cannot run, so the close can only end by its deadline
    // (the sink's close is bounded: timeout + 1 s).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (recorder, exporter) = GraphiteBuilder::new()
            .with_address("127.0.0.1:9")
            .with_interval(Duration::from_secs(1))
            .build_tokio()
            .expect("build on tokio");
        let handle = exporter.spawn().expect("exporter thread");
        recorder
            .register_counter(&Running::key("c", &[]), &META)
            .increment(1);
        let started = Instant::now();
        let stats = handle.shutdown(Duration::from_millis(300));
        let took = started.elapsed();
        assert!(took < Duration::from_millis(2_500), "{took:?}");
        println!("shutdown returned after {took:?}: {stats:?}");
    });
}
