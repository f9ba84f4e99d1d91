//! `render_at` and flushes without a carbon: the sender points at a closed
//! port and nothing here waits for it.

use std::collections::BTreeMap;
use std::time::Duration;

use metrics::{Key, Label, Recorder};

use crate::scheme::quantile_suffix;
use crate::{
    CounterMode, Datapoint, GraphiteBuilder, GraphiteHandle, GraphiteRecorder, LabelStyle,
};

const TS: i64 = 1_700_000_000;

fn builder() -> GraphiteBuilder {
    // Port 9 (discard) on loopback: nothing listens; the sender retries
    // quietly in the background and these tests never wait for it.
    GraphiteBuilder::new()
        .with_address("127.0.0.1:9")
        .with_interval(Duration::from_secs(1))
}

fn build(builder: GraphiteBuilder) -> (GraphiteRecorder, GraphiteHandle) {
    let (recorder, exporter) = builder.build().expect("build");
    let handle = exporter.handle();
    (recorder, handle)
}

fn as_map(points: &[Datapoint]) -> BTreeMap<String, f64> {
    points
        .iter()
        .map(|d| {
            assert_eq!(d.timestamp, TS);
            (d.path.as_str().to_owned(), d.value.as_f64())
        })
        .collect()
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

const META: metrics::Metadata<'static> =
    metrics::Metadata::new("t", metrics::Level::INFO, Some("t"));

#[test]
fn counters_cumulative_and_absolute() {
    let (recorder, handle) = build(builder().with_prefix("P"));
    let c = recorder.register_counter(&key("http.requests", &[]), &META);
    c.increment(5);
    let points = handle.render_at(TS);
    assert_eq!(
        as_map(&points),
        BTreeMap::from([("P.http.requests.count".into(), 5.0)])
    );
    // render_at is a preview: nothing advances.
    assert_eq!(handle.render_at(TS), points);
    handle.flush_now();
    c.increment(7);
    assert_eq!(as_map(&handle.render_at(TS))["P.http.requests.count"], 12.0);
    handle.flush_now();
    assert_eq!(as_map(&handle.render_at(TS))["P.http.requests.count"], 12.0);

    let abs = recorder.register_counter(&key("abs", &[]), &META);
    abs.absolute(100);
    abs.absolute(90);
    assert_eq!(as_map(&handle.render_at(TS))["P.abs.count"], 100.0);
    handle.shutdown(Duration::ZERO);
}

#[test]
fn counters_delta() {
    let (recorder, handle) = build(builder().with_counter_mode(CounterMode::Delta));
    let c = recorder.register_counter(&key("c", &[]), &META);
    let mut seen = Vec::new();
    for inc in [5, 7, 0] {
        c.increment(inc);
        seen.push(as_map(&handle.render_at(TS))["c.count"]);
        handle.flush_now();
    }
    assert_eq!(seen, [5.0, 7.0, 0.0]);
    assert_eq!(handle.exporter_stats().flushes, 3);
    handle.shutdown(Duration::ZERO);
}

#[test]
fn gauges_repeat_and_skip_non_finite() {
    let (recorder, handle) = build(builder());
    let g = recorder.register_gauge(&key("queue", &[("q", "a")]), &META);
    g.set(10.0);
    g.increment(2.5);
    g.decrement(1.0);
    let name = "queue;q=a";
    assert_eq!(as_map(&handle.render_at(TS))[name], 11.5);
    handle.flush_now();
    assert_eq!(as_map(&handle.render_at(TS))[name], 11.5);
    g.set(f64::NAN);
    assert!(handle.render_at(TS).is_empty());
    handle.flush_now();
    assert_eq!(handle.exporter_stats().non_finite, 1);
    handle.shutdown(Duration::ZERO);
}

#[test]
fn histograms_summarise_the_interval() {
    let (recorder, handle) = build(builder().with_prefix("P"));
    let h = recorder.register_histogram(&key("lat", &[]), &META);
    for v in 1..=100 {
        h.record(f64::from(v));
    }
    h.record(f64::INFINITY);
    let got = as_map(&handle.render_at(TS));
    assert_eq!(got["P.lat.count"], 100.0);
    assert_eq!(got["P.lat.sum"], 5050.0);
    assert_eq!(got["P.lat.min"], 1.0);
    assert_eq!(got["P.lat.max"], 100.0);
    assert_eq!(got["P.lat.mean"], 50.5);
    let near = |v: f64, want: f64| (v - want).abs() <= want * crate::SKETCH_RELATIVE_ERROR;
    assert!(near(got["P.lat.p50"], 50.0), "{}", got["P.lat.p50"]);
    assert!(near(got["P.lat.p99"], 99.0), "{}", got["P.lat.p99"]);
    for q in ["p75", "p95", "p999"] {
        assert!(got.contains_key(&format!("P.lat.{q}")), "{got:?}");
    }
    assert_eq!(got.len(), 10);
    handle.flush_now();
    assert_eq!(handle.exporter_stats().non_finite, 1);
    // No samples: only the totals.
    let got = as_map(&handle.render_at(TS));
    assert_eq!(
        got,
        BTreeMap::from([("P.lat.count".into(), 100.0), ("P.lat.sum".into(), 5050.0)])
    );
    h.record(1.0);
    handle.flush_now();
    assert_eq!(as_map(&handle.render_at(TS))["P.lat.count"], 101.0);
    handle.shutdown(Duration::ZERO);
}

#[test]
fn labels_in_both_styles_with_globals() {
    for (style, want) in [
        (
            LabelStyle::Tags,
            "app.http.requests.count;dc=ams;method=GET;status=200",
        ),
        (
            LabelStyle::Path,
            "app.http.requests.dc.ams.method.GET.status.200.count",
        ),
    ] {
        let (recorder, handle) = build(
            builder()
                .with_prefix("app")
                .with_label_style(style)
                .add_global_label("dc", "ams")
                .add_global_label("status", "overridden"),
        );
        recorder
            .register_counter(
                &key("http.requests", &[("status", "200"), ("method", "GET")]),
                &META,
            )
            .increment(1);
        recorder
            .register_counter(&key("bad", &[("a", "1"), ("a", "2")]), &META)
            .increment(1);
        let got = as_map(&handle.render_at(TS));
        assert_eq!(got, BTreeMap::from([(want.to_owned(), 1.0)]), "{style:?}");
        handle.flush_now();
        handle.flush_now();
        assert_eq!(handle.exporter_stats().invalid_series, 1);
        handle.shutdown(Duration::ZERO);
    }
}

#[test]
fn macros_through_a_local_recorder() {
    let (recorder, handle) = build(builder());
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("hits", "b" => "2", "a" => "1").increment(2);
        metrics::counter!("hits", "a" => "1", "b" => "2").increment(3);
    });
    let got = as_map(&handle.render_at(TS));
    assert_eq!(got, BTreeMap::from([("hits.count;a=1;b=2".into(), 5.0)]));
    handle.shutdown(Duration::ZERO);
}

#[test]
fn idle_series_are_forgotten() {
    let (recorder, handle) = build(builder().idle_timeout(Duration::from_secs(2)));
    recorder
        .register_counter(&key("c", &[]), &META)
        .increment(1);
    let flush = |ts: i64| handle.flush_at(ts);
    assert_eq!(flush(TS), 1);
    assert_eq!(flush(TS + 1), 1);
    assert_eq!(flush(TS + 2), 1); // idle for 2 s: sent, then forgotten
    assert_eq!(flush(TS + 3), 0);
    assert_eq!(handle.exporter_stats().idle_removed, 1);
    handle.shutdown(Duration::ZERO);
}

#[test]
fn shutdown_flushes_once_then_nothing() {
    let (recorder, handle) = build(builder());
    recorder.register_gauge(&key("g", &[]), &META).set(1.0);
    handle.shutdown(Duration::ZERO);
    assert_eq!(handle.exporter_stats().flushes, 1);
    assert_eq!(handle.flush_now(), 0);
    assert_eq!(handle.exporter_stats().flushes, 1);
}

#[test]
fn bad_options_are_refused() {
    assert!(matches!(
        builder().with_interval(Duration::from_millis(1500)).build(),
        Err(crate::BuildError::Interval(_))
    ));
    assert!(matches!(
        builder().with_quantiles(&[1.5]).build(),
        Err(crate::BuildError::Quantile(_))
    ));
    assert!(matches!(
        builder().with_address("nohost:").build(),
        Err(crate::BuildError::Address(_))
    ));
}

#[test]
fn quantile_suffixes() {
    let got: Vec<String> = [0.5, 0.75, 0.95, 0.99, 0.999, 0.05, 1.0, 0.0]
        .into_iter()
        .map(quantile_suffix)
        .collect();
    assert_eq!(
        got,
        ["p50", "p75", "p95", "p99", "p999", "p05", "p100", "p00"]
    );
}

#[test]
fn idle_timeout_applies_to_the_masked_kinds_only() {
    let (recorder, handle) = build(
        builder()
            .idle_timeout(Duration::from_secs(2))
            .idle_timeout_kinds(metrics_util::MetricKindMask::GAUGE),
    );
    recorder
        .register_counter(&key("c", &[]), &META)
        .increment(1);
    recorder.register_gauge(&key("g", &[]), &META).set(1.0);
    let flush = |ts: i64| handle.flush_at(ts);
    assert_eq!(flush(TS), 2);
    assert_eq!(flush(TS + 2), 2); // the gauge: sent, then forgotten
    assert_eq!(flush(TS + 4), 1); // the counter stays
    assert_eq!(handle.exporter_stats().idle_removed, 1);
    handle.shutdown(Duration::ZERO);
}

#[test]
fn try_with_address_checks_at_once() {
    assert!(matches!(
        GraphiteBuilder::new().try_with_address("[::1"),
        Err(crate::BuildError::Address(_))
    ));
    assert!(matches!(
        GraphiteBuilder::new().with_address("host:99999").build(),
        Err(crate::BuildError::Address(_))
    ));
}
