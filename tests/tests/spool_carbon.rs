//! The disk spool against Graphite's own carbon-cache, values read back
//! from whisper, every adapter:
//! - carbon down for two minutes while the application sends ten times
//!   what the memory buffer holds, then back: all stored, spool empty (and
//!   the same with a 3 s outage for the other adapters);
//! - a close during an outage and a new sender on the same spool;
//! - an application SIGKILLed while it spools, restarted on the same spool;
//! - a spool that reaches its limit: exactly the oldest dropped, counted;
//! - a corrupt record in a spool file: only that record lost, counted.
//!
//! A full disk and an unusable directory are tested through the CLI
//! (graphite-cli/tests/cli.rs), where a file-size limit can be set on the
//! application's process alone.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graphite_proto::sender::{SenderConfig, Spool, Stats};
use graphite_proto::{Datapoint, MetricPath};
use graphite_tests::carbon::{Carbon, CarbonOptions};
use graphite_tests::process;
use graphite_tests::runtime::{AnySender, Runtime};
use graphite_tests::storm;

/// Carbon's writer and the sender share two cores: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const BUFFER: usize = storm::SMALL_BUFFER;
const SERIES: i64 = 100;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn config(spool: &Path) -> SenderConfig {
    storm::small_buffer_with_spool(spool)
}

/// Datapoint `i` of a run: series `i % SERIES`, one second apart per
/// round over the series, its index as value (each is a whisper point of
/// its own).
struct Run {
    tag: String,
    base: i64,
    paths: Vec<MetricPath>,
}

impl Run {
    fn new(tag: &str, count: i64) -> Self {
        let paths = (0..SERIES)
            .map(|s| MetricPath::new(&format!("spool.{tag}.s{s}")).expect("valid"))
            .collect();
        Self {
            tag: tag.to_owned(),
            // Every timestamp within whisper's hour, in the past.
            base: now() - count / SERIES - 60,
            paths,
        }
    }

    fn names(&self) -> Vec<String> {
        (0..SERIES)
            .map(|s| format!("spool.{}.s{s}", self.tag))
            .collect()
    }

    fn points(&self, range: std::ops::Range<i64>) -> Vec<Datapoint> {
        range
            .map(|i| {
                let path = self.paths[(i % SERIES) as usize].clone();
                Datapoint::new(path, i, self.base + i / SERIES)
            })
            .collect()
    }

    fn expected(&self, range: std::ops::Range<i64>) -> Vec<(String, i64, f64)> {
        range
            .map(|i| {
                (
                    format!("spool.{}.s{}", self.tag, i % SERIES),
                    self.base + i / SERIES,
                    i as f64,
                )
            })
            .collect()
    }
}

/// A carbon with the run's series created, not started yet: down.
fn carbon_down(run: &Run) -> Carbon {
    let carbon = Carbon::prepare(CarbonOptions::default());
    carbon.create_series(&run.names());
    carbon
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "spool"))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the spool is empty and nothing is buffered.
fn wait_drained(sender: &AnySender, timeout: Duration) -> Stats {
    let deadline = Instant::now() + timeout;
    loop {
        let stats = sender.stats();
        if stats.spool_held == 0 && stats.buffered == 0 {
            return stats;
        }
        assert!(Instant::now() < deadline, "spool not drained: {stats:?}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// Carbon is down for `outage` while the application sends ten times what
/// the memory buffer holds, spread over the outage; then carbon is back:
/// every datapoint is stored and the spool ends empty.
fn outage_ten_times_the_buffer(runtime: Runtime, tag: &str, outage: Duration) {
    // 40 bytes a line: ten times the buffer.
    let count = 10 * BUFFER as i64 / 40;
    let run = Run::new(tag, count);
    let mut carbon = carbon_down(&run);
    let spool = tempfile::tempdir().expect("tempdir");
    let sender = AnySender::spawn(runtime, "127.0.0.1", carbon.line_port, config(spool.path()))
        .expect("spawn");
    let started = Instant::now();
    let chunks = (count + 999) / 1000;
    for (n, from) in (0..count).step_by(1000).enumerate() {
        let due = started + outage.mul_f64(n as f64 / chunks as f64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        sender
            .sink()
            .push_many_wait_blocking(&run.points(from..(from + 1000).min(count)))
            .expect("room, through the spool");
    }
    let spooling = started.elapsed();
    thread::sleep((started + outage).saturating_duration_since(Instant::now()));
    let stats = sender.stats();
    eprintln!(
        "{}: spooled {} of {count} datapoints in {spooling:.2?} with carbon down ({:.0} datapoints/s); outage {:.1?}; connect failures {}",
        runtime.name(),
        stats.spooled,
        count as f64 / spooling.as_secs_f64(),
        started.elapsed(),
        stats.connect_failures,
    );
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(stats.spooled > count as u64 * 8 / 10, "{stats:?}");
    assert!(stats.is_consistent(), "{stats:?}");

    carbon.launch();
    let stats = wait_drained(&sender, Duration::from_secs(90));
    assert_eq!(stats.unspooled, stats.spooled, "{stats:?}");
    assert!(stats.is_consistent(), "{stats:?}");
    assert!(segments(spool.path()).is_empty(), "the spool is empty");
    carbon
        .wait_for(&run.expected(0..count), Duration::from_secs(60))
        .expect("every datapoint stored");
    let stats = sender.close(Duration::from_secs(5));
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    eprintln!(
        "{}: all {count} stored after the outage; reconnected after {} failed attempts",
        runtime.name(),
        stats.connect_failures
    );
}

/// The two minutes: the sender's reconnect backoff reaches its
/// ceiling and the spool takes ten buffers' worth over the whole outage.
/// Light (carbon is down, the sends are spread out): it runs next to the
/// other tests, not one at a time with them.
#[test]
fn a_two_minute_outage_ten_times_the_buffer_is_spooled_and_all_stored() {
    outage_ten_times_the_buffer(Runtime::Smol, "outage120", Duration::from_secs(120));
}

#[test]
fn an_outage_ten_times_the_buffer_is_spooled_and_all_stored_by_every_other_adapter() {
    for runtime in [Runtime::Tokio, Runtime::AsyncStd, Runtime::Blocking] {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let tag = format!("outage_{}", runtime.name().replace('-', "_"));
        outage_ten_times_the_buffer(runtime, &tag, Duration::from_secs(3));
    }
}

/// Closed with `close(1 s)` during an outage, the application starts again
/// on the same spool (on `next`), then carbon comes back: all stored.
fn close_during_an_outage_then_a_new_sender(first: Runtime, next: Runtime) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let count = 20_000;
    let run = Run::new(&format!("close_{}", first.name().replace('-', "_")), count);
    let mut carbon = carbon_down(&run);
    let spool = tempfile::tempdir().expect("tempdir");
    let closed = AnySender::spawn(first, "127.0.0.1", carbon.line_port, config(spool.path()))
        .expect("spawn");
    closed
        .sink()
        .push_many_wait_blocking(&run.points(0..count))
        .expect("room");
    let started = Instant::now();
    let stats = closed.close(Duration::from_secs(1));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "close kept its deadline"
    );
    assert_eq!(
        (stats.spooled, stats.spool_held),
        (count as u64, count as u64),
        "{stats:?}"
    );
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(stats.is_consistent(), "{stats:?}");
    drop(closed);

    carbon.launch();
    let second = AnySender::spawn(next, "127.0.0.1", carbon.line_port, config(spool.path()))
        .expect("the next sender on the same spool");
    // Its close sends what the spool holds, within its deadline.
    let stats = second.close(Duration::from_secs(60));
    assert_eq!(
        (stats.spool_found, stats.unspooled, stats.spool_held),
        (count as u64, count as u64, 0)
    );
    assert!(stats.is_consistent(), "{stats:?}");
    assert!(segments(spool.path()).is_empty(), "the spool is empty");
    carbon
        .wait_for(&run.expected(0..count), Duration::from_secs(60))
        .expect("every datapoint stored");
}

#[test]
fn a_close_during_an_outage_and_a_new_sender_store_everything() {
    // Every adapter closes once and starts once, on another's spool.
    close_during_an_outage_then_a_new_sender(Runtime::Blocking, Runtime::Tokio);
    close_during_an_outage_then_a_new_sender(Runtime::AsyncStd, Runtime::Smol);
}

/// The application of the SIGKILL test, run as a child process of this
/// test binary: sends forever towards a carbon that is down, spooling,
/// and prints how much it has spooled.
#[test]
fn spooling_application() {
    let (Ok(dir), Ok(port), Ok(base)) = (
        std::env::var("SPOOL_APP_DIR"),
        std::env::var("SPOOL_APP_PORT"),
        std::env::var("SPOOL_APP_BASE"),
    ) else {
        return; // Not the child: nothing to do.
    };
    let port: u16 = port.parse().expect("port");
    let mut run = Run::new("killed", 0);
    run.base = base.parse().expect("base");
    let sender = AnySender::spawn(
        Runtime::Blocking,
        "127.0.0.1",
        port,
        config(Path::new(&dir)),
    )
    .expect("spawn");
    for from in (0..).step_by(1000) {
        sender
            .sink()
            .push_many_wait_blocking(&run.points(from..from + 1000))
            .expect("room");
        println!("spooled {}", sender.stats().spooled);
    }
}

#[test]
fn a_sigkilled_application_restarted_on_its_spool_stores_what_it_held() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let run = Run::new("killed", 200_000);
    let mut carbon = carbon_down(&run);
    let spool = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "spooling_application",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SPOOL_APP_DIR", spool.path())
        .env("SPOOL_APP_PORT", carbon.line_port.to_string())
        .env("SPOOL_APP_BASE", run.base.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the application");
    let stdout = child.stdout.take().expect("piped");
    let mut spooled_before_kill = 0u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if let Some(n) = line.strip_prefix("spooled ") {
            spooled_before_kill = n.parse().expect("a count");
        }
        // Killed while it spools: mid-write, with luck.
        if spooled_before_kill >= 60_000 || Instant::now() >= deadline {
            process::kill(child.id());
            break;
        }
    }
    let _ = child.wait();
    assert!(spooled_before_kill >= 60_000, "the application spooled");

    carbon.launch();
    let sender = AnySender::spawn(
        Runtime::Blocking,
        "127.0.0.1",
        carbon.line_port,
        config(spool.path()),
    )
    .expect("restarted on the same spool");
    let stats = sender.close(Duration::from_secs(90));
    eprintln!(
        "after the kill: {} datapoints found in the spool, {} torn records, {} sent",
        stats.spool_found, stats.spool_torn, stats.unspooled
    );
    assert!(stats.spool_found >= spooled_before_kill, "{stats:?}");
    assert!(stats.spool_torn <= 1, "{stats:?}");
    assert_eq!(
        (stats.unspooled, stats.spool_held),
        (stats.spool_found, 0),
        "{stats:?}"
    );
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(stats.is_consistent(), "{stats:?}");
    // The spool holds the oldest datapoints, in order: 0..spool_found.
    carbon
        .wait_for(
            &run.expected(0..stats.spool_found as i64),
            Duration::from_secs(60),
        )
        .expect("everything the spool held is stored");
}

/// None of `range`'s datapoints is in carbon.
fn assert_absent(carbon: &Carbon, run: &Run, range: std::ops::Range<i64>) {
    let expected = run.expected(range);
    let from = expected.iter().map(|e| e.1).min().unwrap_or(0) - 1;
    let until = expected.iter().map(|e| e.1).max().unwrap_or(0) + 1;
    let stored = carbon.fetch(&run.names(), from, until);
    let present: Vec<_> = expected
        .iter()
        .filter(|(m, t, _)| {
            stored
                .get(m)
                .is_some_and(|p| p.iter().any(|&(pt, _)| pt == *t))
        })
        .take(5)
        .collect();
    assert!(present.is_empty(), "dropped, yet stored: {present:?}");
}

#[test]
fn a_full_spool_drops_exactly_the_oldest_and_counts_them() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let count = 10 * BUFFER as i64 / 40;
    let run = Run::new("full", count);
    let mut carbon = carbon_down(&run);
    let spool = tempfile::tempdir().expect("tempdir");
    let max = 512 << 10;
    let sender = AnySender::spawn(
        Runtime::Tokio,
        "127.0.0.1",
        carbon.line_port,
        config(spool.path()).with_spool(Spool::new(spool.path(), max)),
    )
    .expect("spawn");
    for from in (0..count).step_by(1000) {
        sender
            .sink()
            .push_many_wait_blocking(&run.points(from..(from + 1000).min(count)))
            .expect("room, through the spool");
    }
    // The close spills what memory still holds: then everything is on disk
    // or counted.
    let full = sender.close(Duration::from_secs(1));
    drop(sender);
    let dropped = full.dropped.spool_full;
    assert!(dropped > 0, "the spool filled: {full:?}");
    assert_eq!(full.dropped.total(), dropped, "{full:?}");
    assert_eq!(full.spool_held, count as u64 - dropped, "{full:?}");
    assert!(full.spool_bytes <= max, "{full:?}");
    assert!(full.is_consistent(), "{full:?}");

    carbon.launch();
    let next = AnySender::spawn(
        Runtime::Tokio,
        "127.0.0.1",
        carbon.line_port,
        config(spool.path()).with_spool(Spool::new(spool.path(), max)),
    )
    .expect("a sender on the full spool");
    let stats = next.close(Duration::from_secs(60));
    eprintln!(
        "spool of {max} bytes: {dropped} of {count} dropped when full, {} found and sent",
        stats.unspooled
    );
    assert_eq!(stats.dropped.total(), 0, "no other loss: {stats:?}");
    assert_eq!(
        (stats.spool_found, stats.unspooled, stats.spool_held),
        (count as u64 - dropped, count as u64 - dropped, 0),
        "{stats:?}"
    );
    assert!(stats.is_consistent(), "{stats:?}");
    // The oldest records went: exactly the first `dropped` datapoints.
    carbon
        .wait_for(
            &run.expected(dropped as i64..count),
            Duration::from_secs(60),
        )
        .expect("every datapoint not dropped is stored");
    assert_absent(&carbon, &run, 0..dropped as i64);
}

#[test]
fn a_corrupt_spool_record_costs_only_itself() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let count = 20_000;
    let run = Run::new("corrupt", count);
    let mut carbon = carbon_down(&run);
    let spool = tempfile::tempdir().expect("tempdir");
    let first = AnySender::spawn(
        Runtime::AsyncStd,
        "127.0.0.1",
        carbon.line_port,
        config(spool.path()),
    )
    .expect("spawn");
    first
        .sink()
        .push_many_wait_blocking(&run.points(0..count))
        .expect("room");
    let stats = first.close(Duration::from_secs(1));
    assert_eq!(stats.spooled, count as u64, "{stats:?}");
    drop(first);

    // One flipped bit in the second record's batch, as a bad disk block
    // would leave it. Records: magic, len, datapoints, crc, id (24 bytes),
    // then the batch.
    let oldest = segments(spool.path()).into_iter().min().expect("a segment");
    let mut bytes = std::fs::read(&oldest).expect("segment");
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4"));
    let first_len = u32_at(&bytes, 4) as usize;
    let first_points = i64::from(u32_at(&bytes, 8));
    let second = 24 + first_len;
    let second_points = i64::from(u32_at(&bytes, second + 8));
    bytes[second + 24 + 10] ^= 0x04;
    std::fs::write(&oldest, &bytes).expect("write");

    carbon.launch();
    let next = AnySender::spawn(
        Runtime::Smol,
        "127.0.0.1",
        carbon.line_port,
        config(spool.path()),
    )
    .expect("a sender on the damaged spool");
    let stats = next.close(Duration::from_secs(60));
    eprintln!(
        "corrupt record of {second_points} datapoints: {} found, {} torn stretch(es), {} sent",
        stats.spool_found, stats.spool_torn, stats.unspooled
    );
    assert_eq!(stats.spool_torn, 1, "{stats:?}");
    assert_eq!(
        stats.spool_found,
        (count - second_points) as u64,
        "{stats:?}"
    );
    assert_eq!(
        (stats.unspooled, stats.spool_held),
        (stats.spool_found, 0),
        "{stats:?}"
    );
    assert!(stats.is_consistent(), "{stats:?}");
    let kept: Vec<_> = run
        .expected(0..first_points)
        .into_iter()
        .chain(run.expected(first_points + second_points..count))
        .collect();
    carbon
        .wait_for(&kept, Duration::from_secs(60))
        .expect("every intact record stored");
    assert_absent(&carbon, &run, first_points..first_points + second_points);
}
