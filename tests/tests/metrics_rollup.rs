//! The storage rules in a real rollup (issue 16, point 4): a carbon-cache
//! with a two-archive schema (`1s:10m,10s:1h`) and the stanzas
//! `storage_aggregation()` prints for a cumulative and a delta exporter;
//! twenty one-second intervals later, the 10 s archive holds, for each
//! statistic, the rollup of the true per-interval values: the last running
//! total, the summed deltas, the least minimum, the greatest maximum, and
//! the average of what the fine archive holds for means, percentiles and
//! gauges.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graphite_tests::carbon::{Carbon, CarbonOptions};
use metrics::{Key, Recorder};
use metrics_exporter_graphite::{CounterMode, GraphiteBuilder, GraphiteHandle, LabelStyle};

const META: metrics::Metadata<'static> =
    metrics::Metadata::new("t", metrics::Level::INFO, Some("t"));

const SCHEMAS: &str = "[default]\npattern = .*\nretentions = 1s:10m,10s:1h\n";

fn exporter(
    carbon: &Carbon,
    prefix: &str,
    mode: CounterMode,
) -> (metrics_exporter_graphite::GraphiteRecorder, GraphiteHandle) {
    let (recorder, exporter) = GraphiteBuilder::new()
        .with_address(format!("127.0.0.1:{}", carbon.line_port))
        .with_interval(Duration::from_secs(1))
        .with_prefix(prefix)
        .with_label_style(LabelStyle::Path)
        .with_counter_mode(mode)
        .with_self_telemetry(false)
        .build()
        .expect("build");
    (recorder, exporter.handle())
}

#[test]
fn coarse_archive_holds_the_right_rollup_per_statistic() {
    let carbon = Carbon::prepare(CarbonOptions::default());
    let (cum_recorder, cum) = exporter(&carbon, "cum", CounterMode::Cumulative);
    let (delta_recorder, delta) = exporter(&carbon, "delta", CounterMode::Delta);
    let finest = Some(Duration::from_secs(1));
    let rules = format!(
        "{}\n{}",
        cum.storage_aggregation(finest),
        delta.storage_aggregation(finest)
    );
    carbon.set_storage(SCHEMAS, &rules);
    let mut carbon = carbon;
    carbon.launch();

    // Twenty one-second intervals of a recent past, aligned on the coarse
    // step: at second k, the counter grows by k + 1, the histogram gets
    // k + 1 and 2 (k + 1), the gauge is k.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let base = (now - 120).div_euclid(10) * 10;
    for (recorder, handle) in [(&cum_recorder, &cum), (&delta_recorder, &delta)] {
        let counter = recorder.register_counter(&Key::from_name("c"), &META);
        let histogram = recorder.register_histogram(&Key::from_name("h"), &META);
        let gauge = recorder.register_gauge(&Key::from_name("g"), &META);
        for k in 0..20_u32 {
            counter.increment(u64::from(k) + 1);
            histogram.record(f64::from(k + 1));
            histogram.record(f64::from(2 * (k + 1)));
            gauge.set(f64::from(k));
            handle.flush_at(base + i64::from(k));
        }
    }
    let last = base + 19;
    let expected_last = [
        ("cum.c.count".to_owned(), last, 210.0),
        ("delta.c.count".to_owned(), last, 20.0),
    ];
    carbon
        .wait_for(&expected_last, Duration::from_secs(60))
        .expect("the last interval stored");

    let stats = [
        "c.count", "g", "h.count", "h.sum", "h.min", "h.max", "h.mean", "h.p50", "h.p99",
    ];
    let names: Vec<String> = ["cum", "delta"]
        .iter()
        .flat_map(|p| stats.iter().map(move |s| format!("{p}.{s}")))
        .collect();
    let fine = carbon.fetch_archive(&names, 1, base - 1, last);
    let coarse = carbon.fetch_archive(&names, 10, base - 1, last + 10);
    let window = |points: &[(i64, f64)], w: i64| -> Vec<f64> {
        points
            .iter()
            .filter(|(t, _)| (base + 10 * w..base + 10 * (w + 1)).contains(t))
            .map(|(_, v)| *v)
            .collect()
    };
    let mut checked = 0;
    for name in &names {
        let stat = name.split_once('.').map_or("", |(_, s)| s);
        let deltas = name.starts_with("delta.");
        let fine_points = &fine[name];
        assert_eq!(fine_points.len(), 20, "{name}: {fine_points:?}");
        let coarse_points: HashMap<i64, f64> = coarse[name].iter().copied().collect();
        for w in 0..2 {
            let values = window(fine_points, w);
            let want = match stat {
                "c.count" | "h.count" | "h.sum" if deltas => values.iter().sum(),
                "c.count" | "h.count" | "h.sum" => *values.last().expect("ten points"),
                "h.min" => values.iter().copied().fold(f64::INFINITY, f64::min),
                "h.max" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                _ => values.iter().sum::<f64>() / values.len() as f64,
            };
            let got = coarse_points.get(&(base + 10 * w)).copied();
            assert_eq!(got, Some(want), "{name} window {w}: fine {values:?}");
            checked += 1;
        }
    }
    // The true totals, from what was recorded: the rollups are right.
    let at = |name: &str, w: usize| coarse[name][w].1;
    assert_eq!(at("cum.c.count", 0), 55.0); // 1 + … + 10
    assert_eq!(at("delta.c.count", 1), 155.0); // 11 + … + 20
    assert_eq!(at("delta.h.count", 0), 20.0);
    assert_eq!(at("cum.h.min", 1), 11.0);
    assert_eq!(at("delta.h.max", 1), 40.0);
    println!("{checked} coarse points checked\n{rules}");
    cum.shutdown(Duration::from_secs(5));
    delta.shutdown(Duration::from_secs(5));
}
