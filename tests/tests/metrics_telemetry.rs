//! Self-telemetry (issue 16, point 5): every flush carries the exporter's
//! and the sender's own counters under `PREFIX.metrics_exporter_graphite.`,
//! on by default, and the storage rules keep the running totals' last
//! value (checked with carbon's own matcher).

use std::collections::BTreeMap;
use std::time::Duration;

use graphite_tests::aggregation::carbon_rules;
use graphite_tests::capture::{LineCapture, Sample};
use metrics::{Key, Recorder};
use metrics_exporter_graphite::GraphiteBuilder;

const T0: i64 = 1_700_000_000;

const META: metrics::Metadata<'static> =
    metrics::Metadata::new("t", metrics::Level::INFO, Some("t"));

fn telemetry_at(lines: &[Sample], ts: i64) -> BTreeMap<String, f64> {
    lines
        .iter()
        .filter(|s| s.timestamp == ts)
        .filter_map(|s| {
            s.name
                .strip_prefix("app.metrics_exporter_graphite.")
                .map(|n| (n.to_owned(), s.number()))
        })
        .collect()
}

#[test]
fn every_flush_carries_the_exporters_and_senders_counters() {
    let capture = LineCapture::start(None);
    let (recorder, exporter) = GraphiteBuilder::new()
        .with_address(format!("127.0.0.1:{}", capture.port()))
        .with_prefix("app")
        .with_interval(Duration::from_secs(10))
        .build()
        .expect("build");
    let handle = exporter.handle();
    let counter = recorder.register_counter(&Key::from_name("hits"), &META);
    counter.increment(3);
    recorder
        .register_gauge(&Key::from_name("nan"), &META)
        .set(f64::NAN);
    assert_eq!(handle.flush_at(T0), 1, "the counter; the NaN gauge skipped");
    // Wait until the sender has written the first flush, so the second one
    // reports it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while handle.stats().written < 31 {
        assert!(std::time::Instant::now() < deadline, "{:?}", handle.stats());
        std::thread::yield_now();
    }
    handle.flush_at(T0 + 10);
    let conf = handle.storage_aggregation(Some(Duration::from_secs(10)));
    let stats = handle.shutdown(Duration::from_secs(10));
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    let lines = capture
        .wait_closed(1, Duration::from_secs(10))
        .expect("the exporter's connection")
        .concat();

    let first = telemetry_at(&lines, T0);
    assert_eq!(first.len(), 30, "{first:?}");
    assert_eq!(first["exporter.flushes"], 0.0);
    assert_eq!(first["sender.accepted"], 0.0);
    let second = telemetry_at(&lines, T0 + 10);
    assert_eq!(second["exporter.flushes"], 1.0);
    assert_eq!(second["exporter.datapoints"], 1.0);
    assert_eq!(second["exporter.non_finite"], 1.0);
    // The first flush: one counter and 30 telemetry series, all written.
    assert_eq!(second["sender.accepted"], 31.0);
    assert_eq!(second["sender.written"], 31.0);
    assert_eq!(second["sender.connects"], 1.0);
    assert_eq!(second["sender.dropped.buffer_full"], 0.0);
    assert!(second["exporter.last_flush_seconds"] > 0.0);

    // Running totals roll up by their last value, levels by average.
    let names: Vec<String> = lines
        .iter()
        .filter(|s| s.timestamp == T0)
        .map(|s| s.name.clone())
        .collect();
    let rules = carbon_rules(&conf, &names);
    for (name, rule) in names.iter().zip(&rules) {
        let level = [
            "last_flush_seconds",
            "buffered",
            "buffered_bytes",
            "spool_held",
            "spool_bytes",
        ]
        .iter()
        .any(|l| name.ends_with(&format!(".{l}")));
        let want = if name == "app.hits.count" || !level {
            "last"
        } else {
            "average"
        };
        assert_eq!(rule.method, want, "{name}: {rule:?}\n{conf}");
    }
    println!("{} telemetry series per flush; rules:\n{conf}", first.len());
}
