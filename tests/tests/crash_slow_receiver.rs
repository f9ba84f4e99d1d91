//! The replay window against a receiver that reads slower than we write and
//! is SIGKILLed: what its kernel and ours held unread must be sent again.
//! Every adapter, default settings, at 300 KB/s and at full speed.

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use graphite_proto::sender::SenderConfig;
use graphite_proto::{Datapoint, MetricPath, Protocol, Value};
use graphite_tests::receiver::CrashReceiver;
use graphite_tests::runtime::{AnySender, Runtime};

/// A run at full speed loads both cores: one at a time. The runs into a
/// 300 KB/s reader hardly load the machine; they run side by side (the
/// test harness runs two tests at once on two cores).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const SERIES: usize = 1_000;
const STAMPS: i64 = 200;
const BASE: i64 = 1_700_000_000;

/// 200,000 distinct lines over 10 s; the receiver is SIGKILLed at 2 s
/// (back at once) and at 5 s (connections refused for 3 s).
fn crash_and_slow(runtime: Runtime, rate: u64) {
    let _serial = (rate == 0).then(|| ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner()));
    let mut receiver = CrashReceiver::start(rate);
    let port = receiver.port;
    let sender = AnySender::spawn(
        runtime,
        "127.0.0.1",
        port,
        SenderConfig::new(Protocol::Plaintext),
    )
    .expect("spawn");
    let series: Vec<MetricPath> = (0..SERIES)
        .map(|i| MetricPath::new(&format!("crash.{}.s{i}", runtime.name())).expect("valid"))
        .collect();
    let start = Instant::now();
    let chaos = thread::spawn(move || {
        let at = |secs: u64| {
            thread::sleep(
                (start + Duration::from_secs(secs)).saturating_duration_since(Instant::now()),
            );
        };
        at(2);
        receiver.kill();
        receiver.launch();
        at(5);
        receiver.kill();
        at(8); // refused meanwhile
        receiver.launch();
        receiver
    });
    // The memory the buffer and the replay window held, sampled each tick.
    let mut peak_bytes = 0;
    for tick in 0..STAMPS {
        let due = start + Duration::from_millis(50 * tick as u64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        for path in &series {
            let _ = sender.push(&Datapoint::new(path.clone(), Value::Int(tick), BASE + tick));
        }
        peak_bytes = peak_bytes.max(sender.stats().buffered_bytes);
    }
    let receiver = chaos.join().expect("chaos thread");
    let stats = sender.close(Duration::from_secs(180));
    let total = SERIES * STAMPS as usize;
    let lines = receiver.wait_for(total, Duration::from_secs(120));
    eprintln!(
        "{} at {} B/s: {} of {total} lines received; peak buffer and replay memory {} bytes; written {} replayed {} ({} bytes written in all) dropped {} disconnects {}",
        runtime.name(),
        rate,
        lines.len(),
        peak_bytes,
        stats.written,
        stats.replayed,
        stats.written_bytes,
        stats.dropped.total(),
        stats.disconnects,
    );
    assert!(stats.is_consistent(), "{stats:?}");
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(stats.disconnects >= 2, "both kills were noticed: {stats:?}");
    assert_eq!(
        lines.len(),
        total,
        "every line reached the receiver's files ({})",
        receiver.folder().display()
    );
}

macro_rules! suite {
    ($($module:ident => $runtime:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test] fn at_300_kb_per_second() { crash_and_slow($runtime, 300_000) }
            #[test] fn at_full_speed() { crash_and_slow($runtime, 0) }
        }
    )*};
}

suite! {
    tokio => Runtime::Tokio,
    async_std => Runtime::AsyncStd,
    smol => Runtime::Smol,
    blocking => Runtime::Blocking,
}
