//! The exporter's naming presets against the real reporters (issue 16,
//! point 3): the same values recorded through Dropwizard metrics 3.2.6's
//! `GraphiteReporter` (the Micrometer tagged layout on the same arithmetic)
//! and statsd 0.9.0's graphite backend, and through the exporter with
//! `NamingScheme::dropwizard()`, `micrometer_tagged()` and `statsd()`, both
//! captured as plaintext lines on loopback and passed on to two real
//! carbon-caches (one for the peer, one for us): the same series names,
//! the same whisper files, and the same values (as sent and as stored)
//! within the tolerances stated on each comparison.
//!
//! The exporter's flushes are driven with `GraphiteHandle::flush_at` on the
//! Dropwizard clock (interval 5 s, the EWMA tick), started ten minutes ago
//! so carbon keeps every point, and timestamps match to the second; statsd
//! stamps its own clock's flush time, compared apart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use graphite_tests::capture::{LineCapture, Sample};
use graphite_tests::carbon::Carbon;
use graphite_tests::dropwizard::{self, DropwizardRun, Layout};
use graphite_tests::statsd::{self, StatsdRun};
use metrics::{Key, Label, Recorder, Unit};
use metrics_exporter_graphite::{GraphiteBuilder, GraphiteHandle, GraphiteRecorder, NamingScheme};

/// The Dropwizard scripts' clock start, in seconds, for the renders that
/// go to no carbon.
const T0: i64 = 1_700_000_000;

/// A start ten minutes ago, on a 5 s boundary: every report of the
/// scripts (the last 65 s later) is in the past and within carbon's
/// one-hour retention.
fn recent_start() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    (now - 600).div_euclid(5) * 5
}

/// The histogram's relative error bound (2^-10).
const RELATIVE: f64 = 1.0 / 1024.0;

/// What `%2.2f` can hide.
const PRINTED: f64 = 0.005;

const META: metrics::Metadata<'static> =
    metrics::Metadata::new("t", metrics::Level::INFO, Some("t"));

fn key(name: &str) -> Key {
    // `name;k=v;k2=v2`, as the Dropwizard scripts write tagged names.
    let mut parts = name.split(';');
    let base = parts.next().expect("a name").to_owned();
    let labels: Vec<Label> = parts
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            Label::new(k.to_owned(), v.to_owned())
        })
        .collect();
    Key::from_parts(base, labels)
}

/// An exporter with `scheme` writing plaintext to a fresh capture; flushes
/// only when told (its loop is not started).
struct Ours {
    recorder: GraphiteRecorder,
    handle: GraphiteHandle,
    capture: LineCapture,
}

impl Ours {
    fn start(
        scheme: NamingScheme,
        prefix: Option<&str>,
        interval: u64,
        forward: Option<std::net::SocketAddr>,
    ) -> Self {
        let capture = LineCapture::start(forward);
        let mut builder = GraphiteBuilder::new()
            .with_address(format!("127.0.0.1:{}", capture.port()))
            .with_interval(Duration::from_secs(interval))
            .with_naming_scheme(scheme)
            .with_self_telemetry(false);
        if let Some(prefix) = prefix {
            builder = builder.with_prefix(prefix);
        }
        let (recorder, exporter) = builder.build().expect("build");
        let handle = exporter.handle();
        Self {
            recorder,
            handle,
            capture,
        }
    }

    /// Every line sent, once the sender has closed its connection.
    fn finish(self) -> Vec<Sample> {
        let stats = self.handle.shutdown(Duration::from_secs(10));
        assert_eq!(stats.dropped.total(), 0, "{stats:?}");
        self.capture
            .wait_closed(1, Duration::from_secs(10))
            .expect("the exporter's connection")
            .concat()
    }
}

/// `name;tags` with the tags sorted (carbon's canonical form; statsd
/// writes them in the order sent, Micrometer puts its attribute last).
fn canonical(name: &str) -> String {
    let mut parts = name.split(';');
    let base = parts.next().unwrap_or_default();
    let mut tags: Vec<&str> = parts.collect();
    tags.sort_unstable();
    std::iter::once(base)
        .chain(tags)
        .collect::<Vec<_>>()
        .join(";")
}

fn by_name(samples: &[Sample]) -> BTreeMap<String, f64> {
    samples
        .iter()
        .map(|s| (canonical(&s.name), s.number()))
        .collect()
}

fn at(samples: &[Sample], ts: i64) -> Vec<Sample> {
    samples
        .iter()
        .filter(|s| s.timestamp == ts)
        .cloned()
        .collect()
}

/// The same names; each value within `tolerance(name, theirs)`. Returns
/// how many series were compared.
fn compare(
    what: &str,
    theirs: &BTreeMap<String, f64>,
    ours: &BTreeMap<String, f64>,
    tolerance: impl Fn(&str, f64) -> f64,
) -> usize {
    let their_names: BTreeSet<&String> = theirs.keys().collect();
    let our_names: BTreeSet<&String> = ours.keys().collect();
    assert_eq!(
        their_names, our_names,
        "{what}: series names differ\ntheirs: {theirs:#?}\nours: {ours:#?}"
    );
    let mut worst = (0.0, String::new());
    for (name, &want) in theirs {
        let got = ours[name];
        let allowed = tolerance(name, want);
        if want.is_finite() && (got - want).abs() > worst.0 {
            worst = (
                (got - want).abs(),
                format!("{name}: ours {got}, theirs {want}"),
            );
        }
        assert!(
            (got - want).abs() <= allowed || (want.is_infinite() && got == want),
            "{what}: {name}: ours {got}, theirs {want}, tolerance {allowed}"
        );
    }
    println!("{what}: largest difference {:.6} ({})", worst.0, worst.1);
    theirs.len()
}

/// The peer's carbon and ours hold the same whisper files (but for
/// `skip`'s), and at each `(theirs, ours)` timestamp the same values
/// within `tolerance`. Returns the number of values compared.
fn compare_carbons(
    what: &str,
    peer: &Carbon,
    ours: &Carbon,
    names: &[String],
    stamps: &[(i64, i64)],
    skip: impl Fn(&str) -> bool,
    tolerance: impl Fn(&str, f64) -> f64,
) -> usize {
    let files = |c: &Carbon| -> BTreeSet<String> {
        c.stored_files()
            .iter()
            .map(|p| p.display().to_string())
            .filter(|p| !skip(p))
            .collect()
    };
    let (their_files, our_files) = (files(peer), files(ours));
    assert_eq!(their_files, our_files, "{what}: whisper files differ");
    let mut compared = 0;
    for &(their_ts, our_ts) in stamps {
        let theirs = peer.fetch(names, their_ts - 1, their_ts);
        let mine = ours.fetch(names, our_ts - 1, our_ts);
        for name in names {
            let value = |points: &HashMap<String, Vec<(i64, f64)>>, ts: i64| {
                points[name].iter().find(|(t, _)| *t == ts).map(|(_, v)| *v)
            };
            let (Some(want), Some(got)) = (value(&theirs, their_ts), value(&mine, our_ts)) else {
                panic!(
                    "{what}: {name} at {their_ts}/{our_ts}: theirs {:?}, ours {:?}",
                    theirs[name], mine[name]
                );
            };
            let allowed = tolerance(&canonical(name), want);
            assert!(
                (got - want).abs() <= allowed || (want.is_infinite() && got == want),
                "{what}: stored {name}: ours {got}, theirs {want}, tolerance {allowed}"
            );
            compared += 1;
        }
    }
    println!(
        "{what}: {} whisper files, {compared} stored values compared",
        our_files.len()
    );
    compared
}

/// The statistic of a Dropwizard name: its last node or its
/// `metricattribute` tag.
fn statistic(name: &str) -> &str {
    if let Some(attr) = name
        .split(';')
        .find_map(|t| t.strip_prefix("metricattribute="))
    {
        return attr;
    }
    let base = name.split(';').next().unwrap_or(name);
    base.rsplit('.').next().unwrap_or(base)
}

/// Dropwizard's EWMA α for the N-minute rate.
fn alpha(minutes: f64) -> f64 {
    1.0 - (-5.0 / 60.0 / minutes).exp()
}

/// The tolerance of a Dropwizard value: counts exact; printed doubles
/// within `%2.2f`; stddev within the buckets' error of the largest
/// sample; quantiles within the buckets' error (the same rank:
/// `QuantileRank::Dropwizard`); EWMA rates
/// within one tick's worth of the last interval's marks (`α × marks / 5 s`:
/// the exporter cannot know where in the interval they fell);
/// `mean_rate` within Dropwizard's extra millisecond of elapsed time.
fn dropwizard_tolerance(
    samples: &BTreeMap<&str, Vec<f64>>,
    last_marks: &BTreeMap<&str, f64>,
) -> impl Fn(&str, f64) -> f64 {
    move |name, want| {
        let metric = samples
            .keys()
            .chain(last_marks.keys())
            .find(|m| name.starts_with(*m) || name.contains(&format!("{m};")))
            .copied()
            .unwrap_or("");
        let sorted = samples.get(metric).cloned().unwrap_or_default();
        let largest = sorted.last().copied().unwrap_or(0.0);
        let marks = last_marks.get(metric).copied().unwrap_or(0.0);
        PRINTED
            + match statistic(name) {
                "count" => 0.0,
                "stddev" => RELATIVE * largest,
                s if s.starts_with('p') => RELATIVE * want,
                "m1_rate" => alpha(1.0) * marks / 5.0,
                "m5_rate" => alpha(5.0) * marks / 5.0,
                "m15_rate" => alpha(15.0) * marks / 5.0,
                "mean_rate" => want * 0.001,
                _ => want.abs() * 1e-12,
            }
    }
}

#[test]
fn dropwizard_preset_matches_graphite_reporter() {
    let script = dropwizard::reference_script();
    let start = recent_start();
    let (peer, mine) = (Carbon::start(), Carbon::start());
    let run = DropwizardRun {
        prefix: Some("svc"),
        start_epoch_ms: start * 1000,
        ..DropwizardRun::new(&script)
    };
    let reports = dropwizard::capture(&run, Some(peer.line_addr()));
    assert_eq!(reports.len(), 2);

    // The same script through the exporter: timers are histograms in
    // seconds, the meter a counter in counts per second.
    let ours = Ours::start(
        NamingScheme::dropwizard(),
        Some("svc"),
        5,
        Some(mine.line_addr()),
    );
    let r = &ours.recorder;
    r.describe_histogram("app.latency".into(), Some(Unit::Seconds), "".into());
    r.describe_histogram("app.fast".into(), Some(Unit::Seconds), "".into());
    r.describe_counter("app.requests".into(), Some(Unit::CountPerSecond), "".into());
    let hits = r.register_counter(&key("app.hits"), &META);
    hits.increment(3);
    hits.increment(4);
    r.register_counter(&key("app.with space"), &META)
        .increment(1);
    for (name, v) in [
        ("app.temperature", 11.5),
        ("app.half_up", 0.125),
        ("app.big", 1e20),
        ("app.queue", 7.0),
    ] {
        r.register_gauge(&key(name), &META).set(v);
    }
    let size = r.register_histogram(&key("app.size"), &META);
    let latency = r.register_histogram(&key("app.latency"), &META);
    for v in 1..=100 {
        size.record(f64::from(v));
        latency.record(f64::from(v) / 1000.0);
    }
    let fast = r.register_histogram(&key("app.fast"), &META);
    fast.record(250e-6);
    fast.record(1500e-6);
    let requests = r.register_counter(&key("app.requests"), &META);
    requests.increment(60);
    // Report at 5.001 s on Dropwizard's clock: our interval [start, start + 5).
    ours.handle.flush_at(start);
    for k in 1..12 {
        ours.handle.flush_at(start + 5 * k);
    }
    requests.increment(30);
    hits.increment(1);
    // Report at 65.001 s: our interval [start + 60, start + 65).
    ours.handle.flush_at(start + 60);
    let sent = ours.finish();

    let samples: BTreeMap<&str, Vec<f64>> = BTreeMap::from([
        ("svc.app.size", (1..=100).map(f64::from).collect()),
        ("svc.app.latency", (1..=100).map(f64::from).collect()),
        ("svc.app.fast", vec![0.25, 1.5]),
    ]);
    let mut compared = 0;
    for (report, (ts, last_marks)) in reports.iter().zip([
        (start + 5, BTreeMap::from([("svc.app.requests", 60.0)])),
        (start + 65, BTreeMap::from([("svc.app.requests", 30.0)])),
    ]) {
        assert!(report.iter().all(|s| s.timestamp == ts), "{report:?}");
        let theirs = by_name(report);
        let mine = by_name(&at(&sent, ts));
        compared += compare(
            &format!("Dropwizard report at {ts}"),
            &theirs,
            &mine,
            dropwizard_tolerance(&samples, &last_marks),
        );
    }
    // Both reports: 4 gauges, 2 counters, 11 histogram series, 5 meter
    // series and 2 timers of 15.
    assert_eq!(compared, 2 * (4 + 2 + 11 + 5 + 2 * 15));
    println!("Dropwizard: {compared} series compared over 2 reports");

    // As stored: the same whisper files and values.
    let probe = [("svc.app.hits.count".to_owned(), start + 65, 8.0)];
    for carbon in [&peer, &mine] {
        carbon
            .wait_for(&probe, Duration::from_secs(60))
            .expect("the last report stored");
    }
    let names: Vec<String> = reports[0].iter().map(|s| s.name.clone()).collect();
    let marks = BTreeMap::from([("svc.app.requests", 60.0)]);
    let stored = compare_carbons(
        "Dropwizard",
        &peer,
        &mine,
        &names,
        &[(start + 5, start + 5), (start + 65, start + 65)],
        |_| false,
        dropwizard_tolerance(&samples, &marks),
    );
    assert_eq!(stored, compared);
}

#[test]
fn micrometer_tagged_preset_matches_its_layout() {
    let script = dropwizard::micrometer_reference_script();
    let start = recent_start();
    let (peer, mine) = (Carbon::start(), Carbon::start());
    let run = DropwizardRun {
        layout: Layout::MicrometerTagged,
        start_epoch_ms: start * 1000,
        ..DropwizardRun::new(&script)
    };
    let report = dropwizard::capture(&run, Some(peer.line_addr())).concat();

    let ours = Ours::start(
        NamingScheme::micrometer_tagged(),
        None,
        5,
        Some(mine.line_addr()),
    );
    let r = &ours.recorder;
    r.describe_histogram("http.latency".into(), Some(Unit::Seconds), "".into());
    r.register_counter(&key("http.requests;method=GET;status=200"), &META)
        .increment(5);
    r.register_gauge(&key("jvm.memory.used;area=heap"), &META)
        .set(1_048_576.0);
    let payload = r.register_histogram(&key("payload.size;uri=/api"), &META);
    for v in 1..=10 {
        payload.record(f64::from(v));
    }
    let latency = r.register_histogram(&key("http.latency;method=GET"), &META);
    for ms in [10.0, 20.0, 30.0] {
        latency.record(ms / 1000.0);
    }
    ours.handle.flush_at(start);
    let sent = ours.finish();

    let samples: BTreeMap<&str, Vec<f64>> = BTreeMap::from([
        ("payload.size", (1..=10).map(f64::from).collect()),
        ("http.latency", vec![10.0, 20.0, 30.0]),
    ]);
    let compared = compare(
        "Micrometer tagged report",
        &by_name(&report),
        &by_name(&at(&sent, start + 5)),
        dropwizard_tolerance(&samples, &BTreeMap::new()),
    );
    let probe = [(
        "http.requests;method=GET;status=200;metricattribute=count".to_owned(),
        start + 5,
        5.0,
    )];
    for carbon in [&peer, &mine] {
        carbon
            .wait_for(&probe, Duration::from_secs(60))
            .expect("the report stored");
    }
    let names: Vec<String> = report.iter().map(|s| s.name.clone()).collect();
    let stored = compare_carbons(
        "Micrometer tagged",
        &peer,
        &mine,
        &names,
        &[(start + 5, start + 5)],
        |_| false,
        dropwizard_tolerance(&samples, &BTreeMap::new()),
    );
    assert_eq!(stored, compared);
    // A meter (5), a gauge, a summary (11) and a timer (15).
    assert_eq!(compared, 5 + 1 + 11 + 15);
    println!("Micrometer tagged: {compared} series compared");
}

/// statsd lines the exporter can record the same way: no sample rates
/// (the `metrics` facade has none) and no sets.
const STATSD_LINES: &[&str] = &[
    "app.hits:3|c",
    "app.hits:4|c",
    "app.tagged:2|c|#env:prod,region:eu",
    "app.bad name/x(y):1|c",
    "app.temperature:11.5|g",
    "app.temperature:+2|g",
    "app.temperature:-1|g",
    "app.tiny:0.0000001|g",
    "app.latency:1|ms",
    "app.latency:2|ms",
    "app.latency:3|ms",
    "app.latency:4|ms",
    "app.latency:5|ms",
    "app.latency:6|ms",
    "app.latency:7|ms",
    "app.latency:8|ms",
    "app.latency:9|ms",
    "app.latency:10|ms",
];

/// statsd's own series, which the exporter does not imitate.
fn is_statsd_own(name: &str) -> bool {
    name.starts_with("stats.statsd.")
        || name.starts_with("stats.counters.statsd.")
        || name.starts_with("stats.gauges.statsd.")
}

#[test]
fn statsd_preset_matches_the_graphite_backend() {
    let (peer, mine) = (Carbon::start(), Carbon::start());
    let flushes = statsd::capture(
        &StatsdRun {
            config: statsd::REFERENCE_CONFIG,
            lines: STATSD_LINES,
            flushes: 2,
        },
        Some(peer.line_addr()),
    );
    let ours = Ours::start(
        NamingScheme::statsd(statsd::REFERENCE_CONFIG.percent_thresholds),
        None,
        2,
        Some(mine.line_addr()),
    );
    let r = &ours.recorder;
    r.describe_histogram("app.latency".into(), Some(Unit::Milliseconds), "".into());
    let hits = r.register_counter(&key("app.hits"), &META);
    hits.increment(3);
    hits.increment(4);
    r.register_counter(&key("app.tagged;env=prod;region=eu"), &META)
        .increment(2);
    r.register_counter(&key("app.bad name/x(y)"), &META)
        .increment(1);
    let temperature = r.register_gauge(&key("app.temperature"), &META);
    temperature.set(11.5);
    temperature.increment(2.0);
    temperature.decrement(1.0);
    r.register_gauge(&key("app.tiny"), &META).set(1e-7);
    let latency = r.register_histogram(&key("app.latency"), &META);
    for v in 1..=10 {
        latency.record(f64::from(v));
    }
    // Long-running exporters flush at real interval boundaries; here two
    // intervals of a fixed past, the data in the first.
    let start = recent_start();
    ours.handle.flush_at(start);
    ours.handle.flush_at(start + 2);
    let sent = ours.finish();

    // Exact: counts, rates, gauges, sums, upper, lower, mean, count_N.
    // From the buckets (each value within 2^-10): std, sum_squares,
    // median, mean_N, upper_N, lower_topN, sum_N, sum_squares_N.
    let tolerance = |name: &str, want: f64| {
        let stat = name.split(';').next().unwrap_or(name).rsplit('.').next();
        let from_buckets = matches!(stat, Some("std" | "sum_squares" | "median"))
            || ["mean_", "sum_", "upper_", "lower_"]
                .iter()
                .any(|p| stat.is_some_and(|s| s.starts_with(p)));
        if from_buckets {
            2.0 * RELATIVE * want.abs()
        } else {
            want.abs() * 1e-12
        }
    };
    let mut compared = 0;
    for (i, flush) in flushes.iter().enumerate() {
        let theirs: Vec<Sample> = flush
            .iter()
            .filter(|s| !is_statsd_own(&s.name))
            .cloned()
            .collect();
        let ours_now = at(&sent, start + 2 * (i as i64 + 1));
        compared += compare(
            &format!("statsd flush {i}"),
            &by_name(&theirs),
            &by_name(&ours_now),
            tolerance,
        );
    }
    let (their_ts, our_ts) = (flushes[1][0].timestamp, start + 4);
    let probe = |ts: i64| [("stats.gauges.app.temperature".to_owned(), ts, 12.5)];
    peer.wait_for(&probe(their_ts), Duration::from_secs(60))
        .expect("statsd's flushes stored");
    mine.wait_for(&probe(our_ts), Duration::from_secs(60))
        .expect("our flushes stored");
    let names: Vec<String> = flushes[0]
        .iter()
        .filter(|s| !is_statsd_own(&s.name))
        .map(|s| s.name.clone())
        .collect();
    let own_file = |path: &str| {
        [
            "stats/statsd/",
            "stats/counters/statsd/",
            "stats/gauges/statsd/",
        ]
        .iter()
        .any(|p| path.starts_with(p))
    };
    // Flush 0 only: in the idle flush statsd sends fewer timer series.
    let stored = compare_carbons(
        "statsd",
        &peer,
        &mine,
        &names,
        &[(flushes[0][0].timestamp, start + 2)],
        own_file,
        tolerance,
    );
    assert_eq!(stored, 32);
    // Flush 0: 3 counters × 2, 2 gauges, a timer of 3 × 5 + 9; flush 1
    // (idle): counters and gauges again, the timer's count and count_ps.
    assert_eq!(compared, (6 + 2 + 24) + (6 + 2 + 2));
    println!("statsd: {compared} series compared over 2 flushes");
}

/// Every series a scheme sends for one metric of each kind, with labels.
fn names_of(scheme: NamingScheme, prefix: Option<&str>) -> (Vec<String>, String) {
    let mut builder = GraphiteBuilder::new()
        .with_address("127.0.0.1:9")
        .with_interval(Duration::from_secs(60))
        .with_naming_scheme(scheme)
        .with_self_telemetry(false);
    if let Some(prefix) = prefix {
        builder = builder.with_prefix(prefix);
    }
    let (r, exporter) = builder.build().expect("build");
    r.describe_counter("meter".into(), Some(Unit::CountPerSecond), "".into());
    r.describe_histogram("timer".into(), Some(Unit::Seconds), "".into());
    r.register_counter(&key("counter;method=GET;zone=a"), &META)
        .increment(1);
    r.register_counter(&key("meter;zone=a"), &META).increment(1);
    r.register_gauge(&key("gauge;zone=a"), &META).set(1.0);
    for name in ["histogram;zone=a", "timer;method=GET"] {
        let h = r.register_histogram(&key(name), &META);
        for v in 1..=20 {
            h.record(f64::from(v));
        }
    }
    let handle = exporter.handle();
    let names = handle
        .render_at(T0)
        .iter()
        .map(|d| d.path.as_str().to_owned())
        .collect();
    let conf = handle.storage_aggregation(Some(Duration::from_secs(60)));
    handle.shutdown(Duration::ZERO);
    (names, conf)
}

/// The statistic of a series: its last node before the tags, or its
/// `metricattribute` tag; `None` for a gauge (bare).
fn statistic_of(name: &str) -> Option<&str> {
    let stat = statistic(name);
    (!name.starts_with("gauge") && !name.contains(".gauge")).then_some(stat)
}

/// The method a statistic needs: running totals `last`, per-interval
/// totals `sum`, extremes their extreme, everything else `average`.
fn expected_method(stat: Option<&str>, deltas: bool) -> &'static str {
    let Some(stat) = stat else { return "average" };
    let family = stat.split('_').next().unwrap_or(stat);
    match (family, stat) {
        (_, "count" | "sum") => {
            if deltas {
                "sum"
            } else {
                "last"
            }
        }
        (_, "count_ps") => "average",
        ("count" | "sum", _) => "sum",
        ("min" | "lower", _) => "min",
        ("max" | "upper", _) => "max",
        _ => "average",
    }
}

#[test]
fn storage_rules_match_the_presets_names() {
    let presets = [
        ("graphite", NamingScheme::default(), Some("app"), false),
        (
            "graphite, deltas",
            {
                let mut s = NamingScheme::default();
                s.counter_mode = metrics_exporter_graphite::CounterMode::Delta;
                s
            },
            Some("app"),
            true,
        ),
        ("dropwizard", NamingScheme::dropwizard(), Some("svc"), false),
        ("micrometer", NamingScheme::micrometer_tagged(), None, false),
        (
            "statsd",
            NamingScheme::statsd(&[90.0, 99.5, -10.0]),
            None,
            true,
        ),
    ];
    let mut checked = 0;
    for (what, scheme, prefix, deltas) in presets {
        let (names, conf) = names_of(scheme, prefix);
        let rules = graphite_tests::aggregation::carbon_rules(&conf, &names);
        let wrong: Vec<String> = names
            .iter()
            .zip(&rules)
            .filter(|(name, rule)| {
                let method = expected_method(statistic_of(name), deltas);
                let xff = if method == "sum" { 0.0 } else { 0.5 };
                rule.method != method || rule.x_files_factor != xff
            })
            .map(|(name, rule)| {
                let want = expected_method(statistic_of(name), deltas);
                format!("{name}: expected {want}, carbon gives {rule:?}")
            })
            .collect();
        assert!(wrong.is_empty(), "{what}:\n{}\n{conf}", wrong.join("\n"));
        checked += names.len();
        println!("{what}: {} series, rules:\n{conf}", names.len());
    }
    println!("{checked} series checked against carbon's matcher");
}
