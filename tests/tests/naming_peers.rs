//! The naming peers' exact output for fixed scripts: Dropwizard metrics
//! 3.2.6's `GraphiteReporter`, Micrometer's tagged mode (Dropwizard's
//! arithmetic named as Micrometer's source names it) and the statsd 0.9.0
//! daemon's graphite backend. These are the vectors the exporter's naming
//! presets are compared on, and the evidence for every claim in
//! `graphite-metrics/NAMING-PRESETS.md`.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graphite_tests::aggregation::carbon_rules;
use graphite_tests::capture::Sample;
use graphite_tests::carbon::Carbon;
use graphite_tests::dropwizard::{self, DropwizardRun, Layout, format_2f};
use graphite_tests::statsd::{self, StatsdRun};

/// Dropwizard's meters tick every 5 s; rates are per second.
const TICK_SECONDS: f64 = 5.0;

fn text(samples: &[Sample]) -> String {
    samples
        .iter()
        .map(|s| format!("{} {} {}\n", s.name, s.value, s.timestamp))
        .collect()
}

fn names_and_values(samples: &[Sample]) -> String {
    samples
        .iter()
        .map(|s| format!("{} {}\n", s.name, s.value))
        .collect()
}

/// `expected` with its indentation and blank lines removed.
fn table(expected: &str) -> String {
    expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

fn value<'a>(samples: &'a [Sample], name: &str) -> &'a str {
    &samples
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no {name} in\n{}", text(samples)))
        .value
}

/// An EWMA's rate, per second, as Dropwizard's `EWMA` computes it: the
/// first tick sets it to the tick's count over 5 s, each later tick moves
/// it by `alpha = 1 - exp(-5 / 60 / minutes)` towards that tick's rate.
fn ewma(ticks_counts: &[u64], minutes: f64) -> f64 {
    let alpha = 1.0 - (-TICK_SECONDS / 60.0 / minutes).exp();
    let interval_nanos = TICK_SECONDS * 1e9;
    let mut rate: Option<f64> = None;
    for &count in ticks_counts {
        let instant = count as f64 / interval_nanos;
        rate = Some(match rate {
            None => instant,
            Some(r) => r + alpha * (instant - r),
        });
    }
    rate.unwrap_or(0.0) * 1e9
}

/// `count / elapsed`, per second, as `Meter.getMeanRate` computes it.
fn mean_rate(count: u64, elapsed_ms: u64) -> f64 {
    count as f64 / (elapsed_ms as f64 * 1e6) * 1e9
}

/// The reference script's two reports (prefix `svc`), captured once for
/// every test here.
fn dropwizard_reference() -> &'static [Vec<Sample>] {
    static REPORTS: OnceLock<Vec<Vec<Sample>>> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let script = dropwizard::reference_script();
        let run = DropwizardRun {
            prefix: Some("svc"),
            ..DropwizardRun::new(&script)
        };
        dropwizard::capture(&run, None)
    })
}

/// The Micrometer reference script's report.
fn micrometer_reference() -> &'static [Sample] {
    static REPORT: OnceLock<Vec<Sample>> = OnceLock::new();
    REPORT.get_or_init(|| {
        let script = dropwizard::micrometer_reference_script();
        let run = DropwizardRun {
            layout: Layout::MicrometerTagged,
            ..DropwizardRun::new(&script)
        };
        dropwizard::samples(&run)
    })
}

/// statsd's flush with the reference lines and the one after it.
fn statsd_reference() -> &'static [Vec<Sample>] {
    static FLUSHES: OnceLock<Vec<Vec<Sample>>> = OnceLock::new();
    FLUSHES.get_or_init(|| {
        statsd::capture(
            &StatsdRun {
                config: statsd::REFERENCE_CONFIG,
                lines: statsd::REFERENCE_LINES,
                flushes: 2,
            },
            None,
        )
    })
}

#[test]
fn dropwizard_graphite_reporter_reference() {
    let reports = dropwizard_reference();
    assert_eq!(reports.len(), 2);
    // Order: gauges, counters, histograms, meters, timers, each by name;
    // integers bare, doubles `%2.2f`; the timestamp is the reporter's
    // clock in whole seconds (1 700 000 005.001 s).
    let first = table(
        "
        svc.app.big 100000000000000000000.00 1700000005
        svc.app.half_up 0.13 1700000005
        svc.app.queue 7 1700000005
        svc.app.temperature 11.50 1700000005
        svc.app.hits.count 7 1700000005
        svc.app.with-space.count 1 1700000005
        svc.app.size.count 100 1700000005
        svc.app.size.max 100 1700000005
        svc.app.size.mean 50.50 1700000005
        svc.app.size.min 1 1700000005
        svc.app.size.stddev 28.87 1700000005
        svc.app.size.p50 50.00 1700000005
        svc.app.size.p75 75.00 1700000005
        svc.app.size.p95 95.00 1700000005
        svc.app.size.p98 98.00 1700000005
        svc.app.size.p99 99.00 1700000005
        svc.app.size.p999 100.00 1700000005
        svc.app.requests.count 60 1700000005
        svc.app.requests.m1_rate 12.00 1700000005
        svc.app.requests.m5_rate 12.00 1700000005
        svc.app.requests.m15_rate 12.00 1700000005
        svc.app.requests.mean_rate 12.00 1700000005
        svc.app.fast.max 1.50 1700000005
        svc.app.fast.mean 0.88 1700000005
        svc.app.fast.min 0.25 1700000005
        svc.app.fast.stddev 0.63 1700000005
        svc.app.fast.p50 1.50 1700000005
        svc.app.fast.p75 1.50 1700000005
        svc.app.fast.p95 1.50 1700000005
        svc.app.fast.p98 1.50 1700000005
        svc.app.fast.p99 1.50 1700000005
        svc.app.fast.p999 1.50 1700000005
        svc.app.fast.count 2 1700000005
        svc.app.fast.m1_rate 0.40 1700000005
        svc.app.fast.m5_rate 0.40 1700000005
        svc.app.fast.m15_rate 0.40 1700000005
        svc.app.fast.mean_rate 0.40 1700000005
        svc.app.latency.max 100.00 1700000005
        svc.app.latency.mean 50.50 1700000005
        svc.app.latency.min 1.00 1700000005
        svc.app.latency.stddev 28.87 1700000005
        svc.app.latency.p50 50.00 1700000005
        svc.app.latency.p75 75.00 1700000005
        svc.app.latency.p95 95.00 1700000005
        svc.app.latency.p98 98.00 1700000005
        svc.app.latency.p99 99.00 1700000005
        svc.app.latency.p999 100.00 1700000005
        svc.app.latency.count 100 1700000005
        svc.app.latency.m1_rate 20.00 1700000005
        svc.app.latency.m5_rate 20.00 1700000005
        svc.app.latency.m15_rate 20.00 1700000005
        svc.app.latency.mean_rate 20.00 1700000005
        ",
    );
    assert_eq!(text(&reports[0]), first);

    // 60 s later: the same series, the counter and meter counts running
    // totals, the histograms unchanged (the reservoir keeps its samples),
    // the rates decayed by 12 more ticks. The 30 marks made at 65.001 s
    // come after that tick: counted, not yet in any EWMA.
    let second = &reports[1];
    let names = |r: &[Sample]| r.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(second), names(&reports[0]));
    assert!(second.iter().all(|s| s.timestamp == 1_700_000_065));
    assert_eq!(value(second, "svc.app.hits.count"), "8");
    assert_eq!(value(second, "svc.app.requests.count"), "90");
    let decayed = |first_tick: u64| {
        let mut ticks = vec![first_tick];
        ticks.extend([0; 12]);
        ticks
    };
    for (meter, first_tick, count) in [
        ("svc.app.requests", 60, 90),
        ("svc.app.latency", 100, 100),
        ("svc.app.fast", 2, 2),
    ] {
        for (attribute, minutes) in [("m1_rate", 1.0), ("m5_rate", 5.0), ("m15_rate", 15.0)] {
            assert_eq!(
                value(second, &format!("{meter}.{attribute}")),
                format_2f(ewma(&decayed(first_tick), minutes)),
                "{meter}.{attribute}"
            );
        }
        assert_eq!(
            value(second, &format!("{meter}.mean_rate")),
            format_2f(mean_rate(count, 65_001)),
            "{meter}.mean_rate"
        );
    }
    let exact = table(
        "
        svc.app.requests.m1_rate 4.41
        svc.app.requests.m5_rate 9.82
        svc.app.requests.m15_rate 11.23
        svc.app.requests.mean_rate 1.38
        svc.app.latency.m1_rate 7.36
        svc.app.latency.m5_rate 16.37
        svc.app.latency.m15_rate 18.71
        svc.app.latency.mean_rate 1.54
        ",
    );
    let rates: Vec<Sample> = second
        .iter()
        .filter(|s| {
            (s.name.starts_with("svc.app.requests.") || s.name.starts_with("svc.app.latency."))
                && s.name.ends_with("_rate")
        })
        .cloned()
        .collect();
    assert_eq!(names_and_values(&rates), exact);
}

#[test]
fn dropwizard_units_number_format_and_elapsed_zero() {
    // A report at the meter's creation instant divides by zero elapsed
    // time; then rates per minute and durations in seconds; then the
    // number format's rounding, checked against the Java formatter.
    let odd = [
        0.125,
        -0.125,
        2.675,
        1.005,
        999.995,
        -0.001,
        0.005,
        1e-7,
        123_456.789,
    ];
    let mut script =
        String::from("meter m 60\nreport\ntimer t 1500 MILLISECONDS\nadvance 5001\nreport\n");
    for (i, v) in odd.iter().enumerate() {
        script.push_str(&format!("gauge g{i} {v}\n"));
    }
    script.push_str("report\n");
    let run = DropwizardRun {
        rate_unit: "MINUTES",
        duration_unit: "SECONDS",
        ..DropwizardRun::new(&script)
    };
    let reports = dropwizard::capture(&run, None);
    assert_eq!(
        names_and_values(&reports[0]),
        table(
            "
            m.count 60
            m.m1_rate 0.00
            m.m5_rate 0.00
            m.m15_rate 0.00
            m.mean_rate Infinity
            "
        )
    );
    assert_eq!(
        names_and_values(&reports[1]),
        table(
            "
            m.count 60
            m.m1_rate 720.00
            m.m5_rate 720.00
            m.m15_rate 720.00
            m.mean_rate 719.86
            t.max 1.50
            t.mean 1.50
            t.min 1.50
            t.stddev 0.00
            t.p50 1.50
            t.p75 1.50
            t.p95 1.50
            t.p98 1.50
            t.p99 1.50
            t.p999 1.50
            t.count 1
            t.m1_rate 12.00
            t.m5_rate 12.00
            t.m15_rate 12.00
            t.mean_rate 12.00
            "
        )
    );
    assert_eq!(
        value(&reports[1], "m.mean_rate"),
        format_2f(mean_rate(60, 5001) * 60.0)
    );
    let gauges: Vec<&Sample> = reports[2]
        .iter()
        .filter(|s| s.name.starts_with('g'))
        .collect();
    assert_eq!(gauges.len(), odd.len());
    for (i, v) in odd.iter().enumerate() {
        assert_eq!(value(&reports[2], &format!("g{i}")), format_2f(*v), "{v}");
    }
    assert_eq!(
        gauges.iter().map(|s| s.value.as_str()).collect::<Vec<_>>(),
        [
            "0.13",
            "-0.13",
            "2.68",
            "1.01",
            "1000.00",
            "-0.00",
            "0.01",
            "0.00",
            "123456.79"
        ]
    );
}

#[test]
fn micrometer_tagged_reference() {
    // Micrometer's counter is a Dropwizard meter; its gauges are doubles;
    // the statistic is the last tag, after the meter's own (sorted) tags.
    // Quantiles: Dropwizard's weighted snapshot (p50 of 1..=10 is 6).
    assert_eq!(
        text(micrometer_reference()),
        table(
            "
            jvm.memory.used;area=heap 1048576.00 1700000005
            payload.size;uri=/api;metricattribute=count 10 1700000005
            payload.size;uri=/api;metricattribute=max 10 1700000005
            payload.size;uri=/api;metricattribute=mean 5.50 1700000005
            payload.size;uri=/api;metricattribute=min 1 1700000005
            payload.size;uri=/api;metricattribute=stddev 2.87 1700000005
            payload.size;uri=/api;metricattribute=p50 6.00 1700000005
            payload.size;uri=/api;metricattribute=p75 8.00 1700000005
            payload.size;uri=/api;metricattribute=p95 10.00 1700000005
            payload.size;uri=/api;metricattribute=p98 10.00 1700000005
            payload.size;uri=/api;metricattribute=p99 10.00 1700000005
            payload.size;uri=/api;metricattribute=p999 10.00 1700000005
            http.requests;method=GET;status=200;metricattribute=count 5 1700000005
            http.requests;method=GET;status=200;metricattribute=m1_rate 1.00 1700000005
            http.requests;method=GET;status=200;metricattribute=m5_rate 1.00 1700000005
            http.requests;method=GET;status=200;metricattribute=m15_rate 1.00 1700000005
            http.requests;method=GET;status=200;metricattribute=mean_rate 1.00 1700000005
            http.latency;method=GET;metricattribute=max 30.00 1700000005
            http.latency;method=GET;metricattribute=mean 20.00 1700000005
            http.latency;method=GET;metricattribute=min 10.00 1700000005
            http.latency;method=GET;metricattribute=stddev 8.16 1700000005
            http.latency;method=GET;metricattribute=p50 20.00 1700000005
            http.latency;method=GET;metricattribute=p75 30.00 1700000005
            http.latency;method=GET;metricattribute=p95 30.00 1700000005
            http.latency;method=GET;metricattribute=p98 30.00 1700000005
            http.latency;method=GET;metricattribute=p99 30.00 1700000005
            http.latency;method=GET;metricattribute=p999 30.00 1700000005
            http.latency;method=GET;metricattribute=count 3 1700000005
            http.latency;method=GET;metricattribute=m1_rate 0.60 1700000005
            http.latency;method=GET;metricattribute=m5_rate 0.60 1700000005
            http.latency;method=GET;metricattribute=m15_rate 0.60 1700000005
            http.latency;method=GET;metricattribute=mean_rate 0.60 1700000005
            "
        )
    );
}

/// statsd's series about itself whose values depend on the machine (the
/// lag is 0 unless a flush timer fired half a second late): each must be
/// there, numeric, and is not compared.
const STATSD_VARYING: [&str; 6] = [
    "stats.gauges.statsd.timestamp_lag",
    "stats.statsd.graphiteStats.calculationtime",
    "stats.statsd.processing_time",
    "stats.statsd.graphiteStats.last_flush",
    "stats.statsd.graphiteStats.flush_time",
    "stats.statsd.graphiteStats.flush_length",
];

/// The flush's lines without the varying ones, after checking those and
/// the timestamps: the flush's own for all but the four `graphiteStats`
/// written at connect time (within a second of it).
fn statsd_fixed(flush: &[Sample]) -> String {
    let ts = flush[0].timestamp;
    for s in flush {
        let slack = if s.name.contains(".graphiteStats.") && !s.name.ends_with("calculationtime") {
            1
        } else {
            0
        };
        assert!(
            (s.timestamp - ts).abs() <= slack,
            "{s:?} in a flush at {ts}"
        );
    }
    for name in STATSD_VARYING {
        assert!(value(flush, name).parse::<f64>().is_ok(), "{name}");
    }
    let fixed: Vec<Sample> = flush
        .iter()
        .filter(|s| !STATSD_VARYING.contains(&s.name.as_str()))
        .cloned()
        .collect();
    names_and_values(&fixed)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

#[test]
fn statsd_graphite_backend_reference() {
    let flushes = statsd_reference();
    // The flush's timestamp is the daemon's clock at the flush, rounded
    // to the second.
    let ts = flushes[0][0].timestamp;
    let now = unix_now();
    assert!(ts <= now + 1 && ts >= now - 15, "flush at {ts}, now {now}");
    // One flushInterval later (a timer firing half a second late rounds
    // to the next second).
    let next = flushes[1][0].timestamp - ts;
    assert!((1..=3).contains(&next), "flushes {next} s apart");
    // Order: counters (statsd's own first), timers, gauges, sets, statsd's own;
    // each kind in the order its keys were first seen. Values: JavaScript
    // number text. Rates per second: count / (flushInterval / 1000).
    assert_eq!(
        statsd_fixed(&flushes[0]),
        table(
            "
            stats.counters.statsd.bad_lines_seen.rate 0
            stats.counters.statsd.bad_lines_seen.count 0
            stats.counters.statsd.packets_received.rate 0.5
            stats.counters.statsd.packets_received.count 1
            stats.counters.statsd.metrics_received.rate 11.5
            stats.counters.statsd.metrics_received.count 23
            stats.counters.app.hits.rate 3.5
            stats.counters.app.hits.count 7
            stats.counters.app.sampled.rate 5
            stats.counters.app.sampled.count 10
            stats.counters.app.tagged.rate;env=prod;region=eu 1
            stats.counters.app.tagged.count;env=prod;region=eu 2
            stats.counters.app.bad_name-xy.rate 0.5
            stats.counters.app.bad_name-xy.count 1
            stats.timers.app.latency.count_90 9
            stats.timers.app.latency.mean_90 5
            stats.timers.app.latency.upper_90 9
            stats.timers.app.latency.sum_90 45
            stats.timers.app.latency.sum_squares_90 285
            stats.timers.app.latency.count_99_5 10
            stats.timers.app.latency.mean_99_5 5.5
            stats.timers.app.latency.upper_99_5 10
            stats.timers.app.latency.sum_99_5 55
            stats.timers.app.latency.sum_squares_99_5 385
            stats.timers.app.latency.count_top10 1
            stats.timers.app.latency.mean_top10 10
            stats.timers.app.latency.lower_top10 10
            stats.timers.app.latency.sum_top10 10
            stats.timers.app.latency.sum_squares_top10 100
            stats.timers.app.latency.std 2.8722813232690143
            stats.timers.app.latency.upper 10
            stats.timers.app.latency.lower 1
            stats.timers.app.latency.count 10
            stats.timers.app.latency.count_ps 5
            stats.timers.app.latency.sum 55
            stats.timers.app.latency.sum_squares 385
            stats.timers.app.latency.mean 5.5
            stats.timers.app.latency.median 5.5
            stats.timers.app.half.count_90 1
            stats.timers.app.half.mean_90 0.5
            stats.timers.app.half.upper_90 0.5
            stats.timers.app.half.sum_90 0.5
            stats.timers.app.half.sum_squares_90 0.25
            stats.timers.app.half.count_99_5 1
            stats.timers.app.half.mean_99_5 0.5
            stats.timers.app.half.upper_99_5 0.5
            stats.timers.app.half.sum_99_5 0.5
            stats.timers.app.half.sum_squares_99_5 0.25
            stats.timers.app.half.count_top10 1
            stats.timers.app.half.mean_top10 0.5
            stats.timers.app.half.lower_top10 0.5
            stats.timers.app.half.sum_top10 0.5
            stats.timers.app.half.sum_squares_top10 0.25
            stats.timers.app.half.std 0
            stats.timers.app.half.upper 0.5
            stats.timers.app.half.lower 0.5
            stats.timers.app.half.count 2
            stats.timers.app.half.count_ps 1
            stats.timers.app.half.sum 0.5
            stats.timers.app.half.sum_squares 0.25
            stats.timers.app.half.mean 0.5
            stats.timers.app.half.median 0.5
            stats.gauges.app.temperature 12.5
            stats.gauges.app.tiny 1e-7
            stats.sets.app.users.count 2
            stats.statsd.numStats 13
            stats.statsd.graphiteStats.last_exception 0
            "
        )
    );
    // The next flush: counters reset to 0 (a delta per flush), timers
    // down to count_ps and count, sets emptied, gauges kept.
    assert_eq!(
        statsd_fixed(&flushes[1]),
        table(
            "
            stats.counters.statsd.bad_lines_seen.rate 0
            stats.counters.statsd.bad_lines_seen.count 0
            stats.counters.statsd.packets_received.rate 0
            stats.counters.statsd.packets_received.count 0
            stats.counters.statsd.metrics_received.rate 0
            stats.counters.statsd.metrics_received.count 0
            stats.counters.app.hits.rate 0
            stats.counters.app.hits.count 0
            stats.counters.app.sampled.rate 0
            stats.counters.app.sampled.count 0
            stats.counters.app.tagged.rate;env=prod;region=eu 0
            stats.counters.app.tagged.count;env=prod;region=eu 0
            stats.counters.app.bad_name-xy.rate 0
            stats.counters.app.bad_name-xy.count 0
            stats.timers.app.latency.count_ps 0
            stats.timers.app.latency.count 0
            stats.timers.app.half.count_ps 0
            stats.timers.app.half.count 0
            stats.gauges.app.temperature 12.5
            stats.gauges.app.tiny 1e-7
            stats.sets.app.users.count 0
            stats.statsd.numStats 13
            stats.statsd.graphiteStats.last_exception 0
            "
        )
    );
}

#[test]
fn peers_forward_into_carbon() {
    // What the capture sees is what a carbon-cache stores: the harnesses
    // can feed the real carbon the preset tests compare whisper files in.
    let carbon = Carbon::start();
    let to: SocketAddr = carbon.line_addr();
    let now_ms = (unix_now() - 10) * 1000;
    let script = "counter app.hits 3\ngauge app.temperature 11.5\nadvance 1000\nreport\n";
    let dw = dropwizard::capture(
        &DropwizardRun {
            prefix: Some("dw"),
            start_epoch_ms: now_ms,
            ..DropwizardRun::new(script)
        },
        Some(to),
    );
    let sd = statsd::capture(
        &StatsdRun {
            config: statsd::StatsdConfig {
                flush_interval_ms: 1000,
                percent_thresholds: &[90.0],
            },
            lines: &["app.hits:3|c|#env:prod", "app.temperature:11.5|g"],
            flushes: 1,
        },
        Some(to),
    );
    let pick = |samples: &[Sample], name: &str| {
        let s = samples
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name}"));
        (s.name.clone(), s.timestamp, s.number())
    };
    let expected = [
        pick(&dw[0], "dw.app.hits.count"),
        pick(&dw[0], "dw.app.temperature"),
        pick(&sd[0], "stats.counters.app.hits.count;env=prod"),
        pick(&sd[0], "stats.gauges.app.temperature"),
    ];
    assert_eq!(expected[0].2, 3.0);
    assert_eq!(expected[3].2, 11.5);
    carbon
        .wait_for(&expected, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The `storage-aggregation.conf` stanzas NAMING-PRESETS.md gives for
/// `scheme` (its fenced block marked `ini storage-aggregation=SCHEME`).
fn stanzas(scheme: &str) -> &'static str {
    const SPEC: &str = include_str!("../../graphite-metrics/NAMING-PRESETS.md");
    let fence = format!("```ini storage-aggregation={scheme}\n");
    let start = SPEC
        .find(&fence)
        .unwrap_or_else(|| panic!("no {fence:?} block in NAMING-PRESETS.md"))
        + fence.len();
    let end = start + SPEC[start..].find("```").expect("a closing fence");
    &SPEC[start..end]
}

/// A Dropwizard or Micrometer statistic's method: a running total
/// `last`, `min`, `max`, the rest (and gauges: `None`) `average`.
fn dropwizard_method(statistic: Option<&str>) -> &'static str {
    match statistic {
        Some("count") => "last",
        Some("min") => "min",
        Some("max") => "max",
        _ => "average",
    }
}

/// A statsd series' method: per-flush totals `sum`, `upper*` `max`,
/// `lower*` `min`, statsd's own times `max`, the rest `average`.
fn statsd_method(name: &str) -> &'static str {
    let base = name.split(';').next().expect("a name");
    let statistic = base.rsplit('.').next().expect("a last node");
    if base.starts_with("stats.statsd.graphiteStats.last_") {
        return "max";
    }
    if base.starts_with("stats.counters.") {
        return if statistic == "count" {
            "sum"
        } else {
            "average"
        };
    }
    if !base.starts_with("stats.timers.") || statistic == "count_ps" {
        return "average";
    }
    // `upper_90`, `sum_squares_99_5`, `lower_top10`: the family before the threshold.
    let family = ["sum_squares", "count", "sum", "upper", "lower"]
        .into_iter()
        .find(|f| {
            statistic == *f
                || statistic
                    .strip_prefix(f)
                    .and_then(|r| r.strip_prefix('_'))
                    .is_some_and(|r| {
                        let r = r.strip_prefix("top").unwrap_or(r);
                        r.split('_')
                            .all(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                    })
        });
    match family {
        Some("upper") => "max",
        Some("lower") => "min",
        Some(_) => "sum",
        None => "average",
    }
}

fn check_rules(scheme: &str, names: &[String], expected: impl Fn(&str) -> &'static str) {
    let rules = carbon_rules(stanzas(scheme), names);
    let wrong: Vec<String> = names
        .iter()
        .zip(&rules)
        .filter(|(name, rule)| {
            let method = expected(name);
            let xff = if method == "sum" { 0.0 } else { 0.5 };
            rule.method != method || rule.x_files_factor != xff
        })
        .map(|(name, rule)| format!("{name}: expected {}, carbon gives {rule:?}", expected(name)))
        .collect();
    assert!(wrong.is_empty(), "{scheme}:\n{}", wrong.join("\n"));
}

#[test]
fn storage_rules_match_the_peers_names() {
    // Every series of the reference captures, plus Dropwizard's with
    // labels as tags after the statistic (as a preset with labels sends
    // them), through carbon's own rule loading, tag normalisation and
    // first-match choice.
    let mut dropwizard_names: Vec<String> = dropwizard_reference()[0]
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let tagged: Vec<String> = dropwizard_names
        .iter()
        .map(|n| format!("{n};method=GET;zone=a"))
        .collect();
    dropwizard_names.extend(tagged);
    check_rules("dropwizard", &dropwizard_names, |name| {
        let base = name.split(';').next().expect("a name");
        let last = base.rsplit('.').next().expect("a last node");
        // Gauges are bare: their last node is part of the name.
        let gauge = ["temperature", "queue", "half_up", "big"].contains(&last);
        dropwizard_method((!gauge).then_some(last))
    });

    let micrometer_names: Vec<String> = micrometer_reference()
        .iter()
        .map(|s| s.name.clone())
        .collect();
    // Carbon matches (and stores) the name with its tags sorted.
    let sorted = carbon_rules(
        stanzas("micrometer"),
        &["http.requests;method=GET;status=200;metricattribute=count".to_owned()],
    );
    assert_eq!(
        sorted[0].metric,
        "http.requests;method=GET;metricattribute=count;status=200"
    );
    check_rules("micrometer", &micrometer_names, |name| {
        let statistic = name
            .split(';')
            .find_map(|tag| tag.strip_prefix("metricattribute="));
        dropwizard_method(statistic)
    });

    let statsd_names: Vec<String> = statsd_reference()[0]
        .iter()
        .map(|s| s.name.clone())
        .collect();
    check_rules("statsd", &statsd_names, statsd_method);
}
