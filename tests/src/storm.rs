//! The restart storm's pieces, shared by the suites that kill carbon during
//! a stream: the series, their names as carbon's fetch takes them, and the
//! count of stored points.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graphite_proto::sender::{OverflowPolicy, ReplayWindow, SenderConfig, Spool};
use graphite_proto::{MetricPath, Protocol};

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

/// A process spinning on one core for as long as it lives: a storm run
/// next to it runs on a busy machine, as services do.
pub struct Spinner(std::process::Child);

impl Spinner {
    /// Starts the spinning process. It stops by itself once this process
    /// is gone, so that a test killed mid-run leaves no spinner behind.
    pub fn start() -> Self {
        Self(
            std::process::Command::new("sh")
                .args(["-c", r#"while kill -0 "$0" 2>/dev/null; do :; done"#])
                .arg(std::process::id().to_string())
                .spawn()
                .expect("sh starts"),
        )
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How far behind carbon's writer was when it was killed.
#[derive(Debug, Clone, Copy)]
pub struct Lag {
    /// Points on disk right after the kill (what survived it).
    pub on_disk: usize,
    /// The newest timestamp sent minus the newest stored, median over the
    /// series, in seconds of the stream.
    pub seconds: f64,
}

impl Lag {
    /// Kills carbon and measures what survived on disk against the newest
    /// timestamp index sent (`newest`, counted from `base`); carbon is
    /// left down. `tick` is the stream's time between timestamps.
    pub fn kill_and_measure(
        carbon: &mut Carbon,
        names: &[String],
        (base, stamps): (i64, i64),
        newest: i64,
        tick: Duration,
    ) -> Self {
        carbon.kill();
        let stored = carbon.fetch(names, base - 1, base + stamps + 1);
        let on_disk = stored.values().map(Vec::len).sum();
        let mut behind: Vec<i64> = names
            .iter()
            .map(|n| {
                let last = stored
                    .get(n)
                    .and_then(|p| p.iter().map(|(t, _)| *t).max())
                    .unwrap_or(base - 1);
                newest - (last - base)
            })
            .collect();
        behind.sort_unstable();
        Self {
            on_disk,
            seconds: behind[behind.len() / 2] as f64 * tick.as_secs_f64(),
        }
    }
}

/// The buffer of [`small_buffer_with_spool`]: overflowed ten times over in
/// seconds, so that spool tests stay short.
pub const SMALL_BUFFER: usize = 256 << 10;

/// A plaintext sender with a small buffer ([`SMALL_BUFFER`]), 16 KiB
/// batches, a short replay window, pushes that wait up to 10 s for room,
/// and a 256 MiB spool in `dir`.
pub fn small_buffer_with_spool(dir: &std::path::Path) -> SenderConfig {
    SenderConfig::new(Protocol::Plaintext)
        .with_buffer_capacity(SMALL_BUFFER)
        .with_batch_size(16 << 10)
        .with_overflow(OverflowPolicy::Wait(Duration::from_secs(10)))
        .with_replay(Some(ReplayWindow {
            max_age: Duration::from_secs(2),
            peer_unread: 32 << 10,
            max_bytes: 64 << 10,
        }))
        .with_spool(Spool::new(dir, 256 << 20))
}
