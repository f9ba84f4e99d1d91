//! graphite-metrics' histograms hold fixed memory whatever the rate: two
//! threads record into one histogram as fast as they can, with the default
//! 60 s interval, and the process's resident memory barely moves; the flush
//! then carries the exact count, sum, min and max, and quantiles within the
//! documented error, as read back by a loopback sink.
//!
//! The exporter loop is not run, so no scheduled flush splits the run (it
//! is shorter than the interval): the only flush is the final one, at
//! shutdown.
//!
//! `records_for_3s` runs by default; `records_for_30s` (the proof)
//! with `--ignored`.

use std::collections::BTreeMap;
use std::fs;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use graphite_metrics::{DEFAULT_INTERVAL, GraphiteBuilder, SKETCH_RELATIVE_ERROR, Value};
use graphite_tests::sink::Sink;
use metrics::{Key, Metadata, Recorder};

/// Resident memory may grow by less than this while recording.
const RSS_LIMIT: u64 = 16 << 20;

/// The values recorded, cycled through: multiples of 1/8 from -256 to
/// 255.875, so every sum is exact in f64 whatever the order of the
/// additions, over both signs, zero and 12 octaves.
const VALUES: usize = 4096;

fn value(k: usize) -> f64 {
    (k as f64 - 2048.0) / 8.0
}

/// The `i`-th record's value index: a permutation of `0..VALUES`, so
/// consecutive records land in scattered buckets.
fn index(i: usize) -> usize {
    i.wrapping_mul(1031) % VALUES
}

/// One run at a time: a second run in the same process would blur the
/// resident-memory figure.
static RUN: Mutex<()> = Mutex::new(());

fn rss_bytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

fn records_for(duration: Duration) {
    let _one = RUN.lock().unwrap_or_else(|p| p.into_inner());
    let sink = Sink::tcp();
    let (recorder, exporter) = GraphiteBuilder::new()
        .with_address(sink.addr().to_string())
        .with_prefix("mem")
        .build()
        .expect("build");
    assert_eq!(DEFAULT_INTERVAL, Duration::from_secs(60));
    let handle = exporter.handle();
    drop(exporter); // no scheduled flush: see the module docs
    let meta = Metadata::new("mem", metrics::Level::INFO, Some("mem"));
    let histogram = recorder.register_histogram(&Key::from_name("latency"), &meta);
    let stop = AtomicBool::new(false);

    let before = rss_bytes();
    let mut peak = before;
    let started = Instant::now();
    let counts: Vec<usize> = thread::scope(|scope| {
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let (histogram, stop) = (histogram.clone(), &stop);
                scope.spawn(move || {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..1024 {
                            histogram.record(value(index(i)));
                            i += 1;
                        }
                    }
                    i
                })
            })
            .collect();
        while started.elapsed() < duration {
            thread::sleep(Duration::from_millis(100));
            peak = peak.max(rss_bytes());
        }
        stop.store(true, Ordering::Relaxed);
        writers
            .into_iter()
            .map(|w| w.join().expect("writer"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    peak = peak.max(rss_bytes());
    let growth = peak.saturating_sub(before);
    let total: usize = counts.iter().sum();
    println!(
        "{total} records in {elapsed:.1} s ({:.1} M/s, two threads); resident memory {:.1} MB before, peak growth {:.3} MB",
        total as f64 / elapsed / 1e6,
        before as f64 / 1e6,
        growth as f64 / 1e6,
    );

    // What the records add up to, value by value.
    let mut multiplicity = vec![0_u64; VALUES];
    for &n in &counts {
        for m in &mut multiplicity {
            *m += (n / VALUES) as u64;
        }
        for i in 0..n % VALUES {
            multiplicity[index(i)] += 1;
        }
    }
    let count: u64 = multiplicity.iter().sum();
    assert_eq!(count, total as u64);
    let eighths: i128 = multiplicity
        .iter()
        .enumerate()
        .map(|(k, &m)| (k as i128 - 2048) * i128::from(m))
        .sum();
    let sum = eighths as f64 / 8.0;
    let min = value(multiplicity.iter().position(|&m| m > 0).expect("records"));
    let max = value(multiplicity.iter().rposition(|&m| m > 0).expect("records"));
    let at_rank = |q: f64| {
        let rank = (q * (count - 1) as f64).floor() as u64;
        let mut seen = 0;
        for (k, &m) in multiplicity.iter().enumerate() {
            seen += m;
            if seen > rank {
                return value(k);
            }
        }
        max
    };

    handle.shutdown(Duration::from_secs(10));
    let (points, bad) = sink.datapoints(false);
    assert_eq!(bad, 0);
    let got: BTreeMap<&str, Value> = points.iter().map(|d| (d.path.as_str(), d.value)).collect();
    println!("flushed: {got:?}");
    assert_eq!(
        got.get("mem.latency.count"),
        Some(&Value::Int(i64::try_from(count).expect("count fits")))
    );
    let float = |name: &str| got.get(name).map(|v| v.as_f64());
    assert_eq!(float("mem.latency.sum"), Some(sum));
    assert_eq!(float("mem.latency.min"), Some(min));
    assert_eq!(float("mem.latency.max"), Some(max));
    assert_eq!(float("mem.latency.mean"), Some(sum / count as f64));
    for (name, q) in [
        ("p50", 0.5),
        ("p75", 0.75),
        ("p95", 0.95),
        ("p99", 0.99),
        ("p999", 0.999),
    ] {
        let want = at_rank(q);
        let estimate = float(&format!("mem.latency.{name}")).expect(name);
        assert!(
            (estimate - want).abs() <= want.abs() * SKETCH_RELATIVE_ERROR,
            "{name}: {estimate} vs {want}"
        );
    }
    assert!(
        growth < RSS_LIMIT,
        "resident memory grew by {growth} bytes recording {total} samples"
    );
}

#[test]
fn records_for_3s() {
    records_for(Duration::from_secs(3));
}

#[test]
#[ignore = "30 s: the issue's proof; run with --ignored"]
fn records_for_30s() {
    records_for(Duration::from_secs(30));
}
