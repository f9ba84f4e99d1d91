//! The restart storm's pieces, shared by the suites that kill carbon during
//! a stream: the series, their names as carbon's fetch takes them, and the
//! count of stored points.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graphite_proto::MetricPath;

use crate::carbon::Carbon;

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `count` series named `{prefix}.s{i}`.
pub fn series(prefix: &str, count: usize) -> Vec<MetricPath> {
    (0..count)
        .map(|i| MetricPath::new(&format!("{prefix}.s{i}")).expect("valid"))
        .collect()
}

/// The series' names, as carbon's fetch takes them.
pub fn names(series: &[MetricPath]) -> Vec<String> {
    series.iter().map(|p| p.as_str().to_owned()).collect()
}

/// Counts the stored points of `base..base + stamps` over `names`.
pub fn stored_count(carbon: &Carbon, names: &[String], base: i64, stamps: i64) -> usize {
    let stored = carbon.fetch(names, base - 1, base + stamps + 1);
    stored
        .values()
        .map(|points| {
            points
                .iter()
                .filter(|(t, _)| (base..base + stamps).contains(t))
                .count()
        })
        .sum()
}

/// Waits until `want` points of `base..base + stamps` are stored or
/// `timeout` passes; returns the count.
pub fn wait_stored(
    carbon: &Carbon,
    names: &[String],
    (base, stamps): (i64, i64),
    want: usize,
    timeout: Duration,
) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let n = stored_count(carbon, names, base, stamps);
        if n >= want || Instant::now() >= deadline {
            return n;
        }
        thread::sleep(Duration::from_millis(500));
    }
}
