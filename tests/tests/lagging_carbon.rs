//! Issue 15 §1: a carbon whose writer lags 5-10 s behind, SIGKILLed twice
//! during the 200,000-point stream and restarted, with the Sender's
//! defaults (no replay setting): every point stored, for every adapter.
//! At each kill the test measures how far behind carbon's writer was.

use std::sync::atomic::{AtomicI64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use graphite_proto::sender::SenderConfig;
use graphite_proto::{Datapoint, Protocol, Value};
use graphite_tests::carbon::{Carbon, CarbonOptions};
use graphite_tests::runtime::{AnySender, Runtime};
use graphite_tests::storm::{self, Lag, Spinner, names, now, wait_stored};

// Two adapters at a time at most (the test harness runs two tests at once
// on two cores): each carbon is throttled and the stream is 20,000 points
// a second, so two storms side by side load the machine about as much as
// the busy runs (a spinning process) do.

const SERIES: usize = 1_000;
const STAMPS: i64 = 200;
/// 20 timestamps a second: 200 over 10 s, 20,000 points a second.
const TICK: Duration = Duration::from_millis(50);
/// One series per update: a write pass over 1,000 series takes about 10 s,
/// so carbon holds up to 10 s of points in memory, as a busy carbon does.
const UPDATES_PER_SECOND: u32 = 100;

/// Kills carbon and measures its writer's lag, with what the sender had
/// written by then.
fn kill_and_measure(
    carbon: &mut Carbon,
    sender: &AnySender,
    names: &[String],
    base: i64,
    pushed: &AtomicI64,
) -> (Lag, u64) {
    let written = sender.stats().written;
    let newest = pushed.load(Ordering::Acquire);
    let lag = Lag::kill_and_measure(carbon, names, (base, STAMPS), newest, TICK);
    (lag, written)
}

/// Set `LAGGING_CARBON_BUSY=1` to run every adapter next to a process
/// spinning on one core (issue 15 asks for five such runs in a row; CI runs
/// the busy case once, through the CLI, in graphite-cli's tests).
fn busy() -> Option<Spinner> {
    std::env::var_os("LAGGING_CARBON_BUSY").map(|_| Spinner::start())
}

fn lagging_carbon_loses_nothing_with_the_defaults(runtime: Runtime) {
    let _busy = busy();
    let started = Instant::now();
    let mut carbon = Carbon::start_with(CarbonOptions {
        max_updates_per_second: Some(UPDATES_PER_SECOND),
        ..CarbonOptions::default()
    });
    let series = storm::series(&format!("lag.{}", runtime.name().replace('-', "_")), SERIES);
    let names = names(&series);
    // A carbon that has run for a while has its files: a kill while carbon
    // creates one would truncate it for good (whisper's flaw, not ours).
    carbon.create_series(&names);
    let base = now() - 600;
    let sender = AnySender::spawn(
        runtime,
        "127.0.0.1",
        carbon.line_port,
        SenderConfig::new(Protocol::Plaintext),
    )
    .expect("spawn");
    let pushed = AtomicI64::new(-1);
    let start = Instant::now();
    let (lags, carbon) = thread::scope(|scope| {
        let chaos = scope.spawn(|| {
            let at = |secs: f64| {
                let when = start + Duration::from_secs_f64(secs);
                thread::sleep(when.saturating_duration_since(Instant::now()));
            };
            at(6.0);
            let first = kill_and_measure(&mut carbon, &sender, &names, base, &pushed);
            carbon.launch(); // back at once
            // The second kill must find the sender connected again (its
            // backoff may outlast carbon's start on a busy machine), with
            // the replay in carbon's cache: 3 s after the reconnect.
            let limit = Instant::now() + Duration::from_secs(20);
            while sender.stats().connects < 2 && Instant::now() < limit {
                thread::sleep(Duration::from_millis(20));
            }
            let reconnected = start.elapsed().as_secs_f64();
            at((reconnected + 3.0).max(9.5));
            let second = kill_and_measure(&mut carbon, &sender, &names, base, &pushed);
            thread::sleep(Duration::from_secs(2)); // refused meanwhile
            carbon.launch();
            ([first, second], carbon)
        });
        for tick in 0..STAMPS {
            let due = start + TICK * tick as u32;
            thread::sleep(due.saturating_duration_since(Instant::now()));
            for (i, path) in series.iter().enumerate() {
                let value = if i % 2 == 0 {
                    Value::Int(tick)
                } else {
                    Value::Float(tick as f64 + 0.5)
                };
                let _ = sender.push(&Datapoint::new(path.clone(), value, base + tick));
            }
            pushed.store(tick, Ordering::Release);
        }
        chaos.join().expect("chaos thread")
    });
    let streamed = started.elapsed();
    let stats = sender.close(Duration::from_secs(120));
    let closed = started.elapsed();
    let total = SERIES * STAMPS as usize;
    let stored = wait_stored(
        &carbon,
        &names,
        (base, STAMPS),
        total,
        Duration::from_secs(120),
    );
    for (i, (lag, written)) in lags.iter().enumerate() {
        eprintln!(
            "{} kill {}: carbon's writer {:.1} s behind (median over series); {} points written, {} on disk ({} behind)",
            runtime.name(),
            i + 1,
            lag.seconds,
            written,
            lag.on_disk,
            *written as i64 - lag.on_disk as i64,
        );
    }
    eprintln!(
        "{}: stored {stored} of {total}; written {} replayed {} ({} bytes in all) dropped {} connects {} connect failures {} disconnects {} stalls {}; streamed by {:.1} s, closed by {:.1} s, stored by {:.1} s",
        runtime.name(),
        stats.written,
        stats.replayed,
        stats.written_bytes,
        stats.dropped.total(),
        stats.connects,
        stats.connect_failures,
        stats.disconnects,
        stats.stalls,
        streamed.as_secs_f64(),
        closed.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    assert!(stats.is_consistent(), "{stats:?}");
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(
        lags.iter().all(|(l, _)| l.seconds >= 4.0),
        "carbon's writer lagged when killed: the test can fail"
    );
    assert!(stats.disconnects >= 2 && stats.connects >= 3, "{stats:?}");
    assert_eq!(stored, total, "every (series, timestamp) is in carbon");
}

macro_rules! suite {
    ($($module:ident => $runtime:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test] fn lagging_carbon_loses_nothing_with_the_defaults() { super::lagging_carbon_loses_nothing_with_the_defaults($runtime) }
        }
    )*};
}

suite! {
    tokio => Runtime::Tokio,
    async_std => Runtime::AsyncStd,
    smol => Runtime::Smol,
    blocking => Runtime::Blocking,
}
