//! The background sender against a carbon-cache that is killed, restarted,
//! started late, or stops reading: every adapter, through the same suite.

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use graphite_proto::sender::{OverflowPolicy, ReplayWindow, SenderConfig, Stats};
use graphite_proto::{Datapoint, MetricPath, Protocol, Value};
use graphite_tests::carbon::{Carbon, CarbonOptions};
use graphite_tests::process;
use graphite_tests::runtime::{AnySender, Runtime};
use graphite_tests::storm::{self, Spinner, names, now, wait_stored};

/// The storms load both cores, and the stalled-carbon test spins one: run
/// one test of this file at a time, so a carbon that lags measures the
/// machine's load, not the sender.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const SERIES: usize = 1_000;
const STAMPS: i64 = 200;

fn series(runtime: Runtime, tag: &str) -> Vec<MetricPath> {
    let prefix = format!("storm.{}.{tag}", runtime.name().replace('-', "_"));
    storm::series(&prefix, SERIES)
}

/// 200,000 distinct points (1,000 series x 200 timestamps) over about 10 s,
/// while carbon is SIGKILLed and restarted twice and once kept down for 3 s,
/// and another process spins on one core. With replay, carbon creates the
/// series' files itself, as a fresh carbon would; without, they are
/// created first (that run measures the loss the stats report, not
/// whisper's crash safety: a carbon killed while creating a file truncates
/// it for good).
fn storm(runtime: Runtime, replay: bool) -> (Stats, usize, String) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let _busy = Spinner::start();
    let mut carbon = Carbon::start();
    let tag = if replay { "replay" } else { "noreplay" };
    let series = series(runtime, tag);
    let base = now() - 600;
    let names = names(&series);
    if !replay {
        carbon.create_series(&names);
    }
    // A SIGKILLed carbon also loses what it had read but not yet written to
    // whisper; replay saves that only if the window outlasts carbon's write
    // lag, which reaches seconds on this loaded two-core machine. The
    // window is sized for it, as the ReplayWindow docs say to.
    let window = ReplayWindow {
        max_age: Duration::from_secs(10),
        max_bytes: 32 << 20,
        ..ReplayWindow::default()
    };
    let mut config = SenderConfig::new(Protocol::Plaintext)
        .with_buffer_capacity(64 << 20)
        .with_replay(Some(window));
    if !replay {
        config = config.with_replay(None);
    }
    let sender = AnySender::spawn(runtime, "127.0.0.1", carbon.line_port, config).expect("spawn");
    let pid = carbon.pid().expect("running");
    let chaos = thread::spawn(move || {
        let mut start = Instant::now();
        if replay {
            // Carbon creates the files itself; a kill while it creates one
            // would truncate that file for good (carbon's flaw, not ours):
            // the schedule starts once every file is whole.
            let deadline = start + Duration::from_secs(30);
            while carbon.whole_files() < SERIES && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
            }
            // The first kill comes now if the files took longer than 2 s.
            if let Some(shifted) = Instant::now().checked_sub(Duration::from_secs(2)) {
                start = start.max(shifted);
            }
        }
        let at = |secs: f64| {
            let when = start + Duration::from_secs_f64(secs);
            thread::sleep(when.saturating_duration_since(Instant::now()));
        };
        at(2.0);
        carbon.restart(); // SIGKILL, then start again at once
        at(5.0);
        carbon.restart();
        at(7.0);
        carbon.kill();
        thread::sleep(Duration::from_secs(3)); // connections refused meanwhile
        carbon.launch();
        carbon
    });
    let start = Instant::now();
    for tick in 0..STAMPS {
        // 20 timestamps a second: 200 over 10 s.
        let due = start + Duration::from_millis(50 * tick as u64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        for (i, path) in series.iter().enumerate() {
            let value = if i % 2 == 0 {
                Value::Int(tick)
            } else {
                Value::Float(tick as f64 + 0.5)
            };
            let _ = sender.push(&Datapoint::new(path.clone(), value, base + tick));
        }
    }
    let carbon = chaos.join().expect("chaos thread");
    assert_ne!(carbon.pid(), Some(pid), "carbon was restarted");
    let stats = sender.close(Duration::from_secs(60));
    assert!(stats.is_consistent(), "{stats:?}");
    let total = SERIES * STAMPS as usize;
    assert_eq!(stats.pushed(), total as u64);
    let want = total - (stats.dropped.total() + stats.unconfirmed) as usize;
    let stored = wait_stored(
        &carbon,
        &names,
        (base, STAMPS),
        total.min(want.max(1)),
        Duration::from_secs(120),
    );
    eprintln!(
        "{} replay={replay}: stored {stored} of {total}; written {} replayed {} unconfirmed {} dropped {} connects {} failures {} disconnects {}",
        runtime.name(),
        stats.written,
        stats.replayed,
        stats.unconfirmed,
        stats.dropped.total(),
        stats.connects,
        stats.connect_failures,
        stats.disconnects
    );
    // A kill that lands while the sender is still reconnecting (carbon takes
    // seconds to start on a loaded machine) shows as failed attempts, not
    // as a lost connection: either way the outages were seen.
    assert!(
        stats.disconnects >= 1 && stats.disconnects + stats.connect_failures >= 3,
        "the kills were noticed: {stats:?}"
    );
    let diagnosis = if stored < total {
        diagnose(&carbon, &names, base)
    } else {
        String::new()
    };
    (stats, stored, diagnosis)
}

fn restarts_lose_nothing_with_replay(runtime: Runtime) {
    let (stats, stored, diagnosis) = storm(runtime, true);
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(stats.replayed > 0, "{stats:?}");
    assert_eq!(
        stored,
        SERIES * STAMPS as usize,
        "every (series, timestamp) is in carbon; missing: {diagnosis}"
    );
}

/// Where the missing points are: whole series (a whisper file carbon
/// truncated when killed while creating it reads as unreadable, and carbon
/// never writes it again) or scattered points (what replay failed to cover).
fn diagnose(carbon: &Carbon, names: &[String], base: i64) -> String {
    let stored = carbon.fetch(names, base - 1, base + STAMPS + 1);
    let mut empty = Vec::new();
    let mut partial = Vec::new();
    for name in names {
        let count = stored.get(name).map_or(0, |points| {
            points
                .iter()
                .filter(|(t, _)| (base..base + STAMPS).contains(t))
                .count()
        });
        if count == 0 {
            empty.push(name.as_str());
        } else if count < STAMPS as usize {
            partial.push((name.as_str(), count));
        }
    }
    format!(
        "{} series with no point at all {:?}; {} series partly stored {:?}",
        empty.len(),
        &empty[..empty.len().min(3)],
        partial.len(),
        &partial[..partial.len().min(5)]
    )
}

fn without_replay_the_stats_bound_the_loss(runtime: Runtime) {
    let (stats, stored, _) = storm(runtime, false);
    let total = SERIES * STAMPS as usize;
    let missing = (total - stored) as u64;
    assert_eq!(stats.replayed, 0);
    assert!(
        missing <= stats.unconfirmed + stats.dropped.total(),
        "{missing} missing but only {} unconfirmed and {} dropped",
        stats.unconfirmed,
        stats.dropped.total()
    );
}

fn carbon_started_late_gets_the_buffer(runtime: Runtime) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut carbon = Carbon::prepare(CarbonOptions::default());
    let series = series(runtime, "late");
    let base = now() - 600;
    let sender = AnySender::spawn(
        runtime,
        "127.0.0.1",
        carbon.pickle_port,
        SenderConfig::new(Protocol::Pickle),
    )
    .expect("spawn");
    for tick in 0..5 {
        for path in &series {
            sender
                .push(&Datapoint::new(path.clone(), Value::Int(tick), base + tick))
                .expect("room");
        }
    }
    assert_eq!(sender.stats().written, 0, "nothing to write to yet");
    carbon.launch();
    let stats = sender.close(Duration::from_secs(60));
    assert_eq!(stats.written, 5 * SERIES as u64, "{stats:?}");
    let names = names(&series);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stored: usize = carbon
            .fetch(&names, base - 1, base + 6)
            .values()
            .map(Vec::len)
            .sum();
        if stored == 5 * SERIES {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{stored} of {} stored",
            5 * SERIES
        );
        thread::sleep(Duration::from_millis(500));
    }
}

fn a_carbon_that_stops_reading_never_blocks_the_application(runtime: Runtime) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let carbon = Carbon::start();
    let pid = carbon.pid().expect("running");
    let capacity = 2 << 20;
    let config = SenderConfig::new(Protocol::Plaintext)
        .with_buffer_capacity(capacity)
        .with_overflow(OverflowPolicy::DropNewest)
        .with_write_timeout(Duration::from_secs(2));
    let sender = AnySender::spawn(runtime, "127.0.0.1", carbon.line_port, config).expect("spawn");
    process::signal(pid, "STOP");
    let path =
        MetricPath::new(&format!("stalled.{}", runtime.name().replace('-', "_"))).expect("valid");
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    let mut pushed = 0_u64;
    while started.elapsed() < Duration::from_secs(5) {
        let dp = Datapoint::new(path.clone(), Value::Int(1), pushed as i64);
        let t = Instant::now();
        let _ = sender.push(&dp);
        slowest = slowest.max(t.elapsed());
        pushed += 1;
        let stats = sender.stats();
        assert!(stats.buffered_bytes <= capacity, "{stats:?}");
    }
    let stats = sender.stats();
    process::signal(pid, "CONT");
    assert!(stats.dropped.buffer_full > 0, "{stats:?}");
    assert!(stats.is_consistent(), "{stats:?}");
    assert_eq!(stats.pushed(), pushed);
    // Generous for a loaded 2-core machine; typical pushes take well under 1 µs.
    assert!(
        slowest < Duration::from_millis(50),
        "a push took {slowest:?}"
    );
    let stats = sender.close(Duration::from_secs(30));
    assert!(stats.is_consistent(), "{stats:?}");
    assert_eq!(stats.buffered, 0);
}

macro_rules! suite {
    ($($module:ident => $runtime:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test] fn restarts_lose_nothing_with_replay() { super::restarts_lose_nothing_with_replay($runtime) }
            #[test] fn carbon_started_late_gets_the_buffer() { super::carbon_started_late_gets_the_buffer($runtime) }
            #[test] fn a_carbon_that_stops_reading_never_blocks_the_application() { super::a_carbon_that_stops_reading_never_blocks_the_application($runtime) }
        }
    )*};
}

// Without replay the loss is the core's accounting, the same for every
// adapter (one drive loop): two adapters run that storm.
#[test]
fn without_replay_the_stats_bound_the_loss_tokio() {
    without_replay_the_stats_bound_the_loss(Runtime::Tokio)
}

#[test]
fn without_replay_the_stats_bound_the_loss_blocking() {
    without_replay_the_stats_bound_the_loss(Runtime::Blocking)
}

suite! {
    tokio => Runtime::Tokio,
    async_std => Runtime::AsyncStd,
    smol => Runtime::Smol,
    blocking => Runtime::Blocking,
}
