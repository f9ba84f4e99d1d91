//! metrics-exporter-graphite read as a Grafana panel reads it: graphite-web
//! 1.1.10's render API over a real carbon-cache with its tag database,
//! `seriesByTag`, `perSecond` of a cumulative counter and `summarize` of a
//! gauge giving the values recorded.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graphite_tests::carbon::{Carbon, CarbonOptions, free_tcp_port};
use graphite_tests::graphite_web::GraphiteWeb;
use metrics::{Key, Label, Metadata, Recorder};
use metrics_exporter_graphite::GraphiteBuilder;

const META: Metadata<'static> = Metadata::new("it", metrics::Level::INFO, Some("it"));
const STORE_TIMEOUT: Duration = Duration::from_secs(60);

fn key(name: &'static str) -> Key {
    Key::from_parts(name, vec![Label::new("method", "GET")])
}

/// Renders `target` until it gives exactly `want` (points that hold a
/// value), or panics with what it gave after the timeout.
fn wait_render(
    web: &GraphiteWeb,
    carbon: &Carbon,
    target: &str,
    range: (i64, i64),
    want: &[(String, Vec<(i64, f64)>)],
) {
    let deadline = Instant::now() + STORE_TIMEOUT;
    loop {
        let got = web.render(target, range.0, range.1);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "graphite-web render {target}: {got:?}, want {want:?}\ncarbon log:\n{}",
            carbon.log()
        );
        thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn graphite_web_renders_the_exporters_series_as_a_panel_would() {
    let web_port = free_tcp_port();
    let mut carbon = Carbon::prepare(CarbonOptions {
        tag_db: Some(web_port),
        ..CarbonOptions::default()
    });
    let web = GraphiteWeb::start(&carbon.storage_dir(), web_port);
    carbon.launch();
    let (recorder, exporter) = GraphiteBuilder::new()
        .with_address(format!("127.0.0.1:{}", carbon.line_port))
        .with_interval(Duration::from_secs(1))
        .with_prefix("panel")
        .with_self_telemetry(false)
        .build()
        .expect("build");
    let handle = exporter.handle();
    let requests = recorder.register_counter(&key("requests"), &META);
    let queue = recorder.register_gauge(&key("queue"), &META);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    // Five one-second intervals, flushed with their own timestamps.
    let start = now - 30;
    for (i, ts) in (start..start + 5).enumerate() {
        requests.increment(10 * (i as u64 + 1)); // totals 10, 30, 60, 100, 150
        queue.set((i + 1) as f64); // 1 .. 5
        assert_eq!(handle.flush_at(ts), 2);
    }
    // Shutdown's final flush adds the two series once more, stamped now.
    let stats = handle.shutdown(Duration::from_secs(10));
    assert_eq!((stats.written, stats.dropped.total()), (12, 0), "{stats:?}");

    let range = (start - 1, start + 5);
    let counter = "panel.requests.count;method=GET".to_owned();
    let gauge = "panel.queue;method=GET".to_owned();
    let points = |values: &[f64]| -> Vec<(i64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (start + i as i64, *v))
            .collect()
    };
    // A panel finds the series by tag and draws the running total ...
    wait_render(
        &web,
        &carbon,
        "seriesByTag('name=panel.requests.count')",
        range,
        &[(counter.clone(), points(&[10.0, 30.0, 60.0, 100.0, 150.0]))],
    );
    assert_eq!(web.find_series("method=GET").len(), 2);
    // ... its rate: perSecond of a cumulative counter is what was added
    // each second (the first point has no predecessor) ...
    let rate: Vec<(i64, f64)> = points(&[0.0, 20.0, 30.0, 40.0, 50.0])
        .into_iter()
        .skip(1)
        .collect();
    let rendered = web.render(
        "perSecond(seriesByTag('name=panel.requests.count'))",
        range.0,
        range.1,
    );
    assert_eq!(rendered.len(), 1, "{rendered:?}");
    assert_eq!(rendered[0].1, rate, "{rendered:?}");
    // ... and a gauge summarised over the five seconds (graphite-web reads
    // the points after `from`).
    let summary = web.render(
        "summarize(seriesByTag('name=panel.queue'), '5s', 'avg', true)",
        start - 1,
        start + 4,
    );
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert_eq!(summary[0].1, vec![(start, 3.0)], "{summary:?} ({gauge})");
    let summed = web.render(
        "summarize(seriesByTag('name=panel.queue'), '5s', 'sum', true)",
        start - 1,
        start + 4,
    );
    assert_eq!(summed[0].1, vec![(start, 15.0)], "{summed:?}");
}
