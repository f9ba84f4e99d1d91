//! Issue 15 §2: a slow receiver is not a dead one. The crash-and-slow
//! scenario (`crash_slow_receiver.rs`) at 100 KB/s and 30 KB/s: the
//! receiver is SIGKILLed twice, and after the second restart the sender
//! replays megabytes into a reader that drains them for tens of seconds,
//! while writes wait far longer than the write timeout. Every line must
//! arrive, with no stall declared while the receiver reads; and a receiver
//! that really stops reading is still detected within the write timeout.
//! The four adapters run side by side, and the tests too: the receivers are
//! slow and the streams short, so the machine is not loaded; the file takes
//! as long as its slowest reader.

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use graphite_proto::sender::{SenderConfig, Stats};
use graphite_proto::{Datapoint, Protocol, Value};
use graphite_tests::process;
use graphite_tests::receiver::CrashReceiver;
use graphite_tests::runtime::{AnySender, Runtime};
use graphite_tests::storm;

const STAMPS: i64 = 200;
const BASE: i64 = 1_700_000_000;

/// One adapter's run: its stats, the distinct lines received, and how
/// long it took.
struct Run {
    runtime: Runtime,
    stats: Stats,
    lines: HashSet<String>,
    total: usize,
    took: Duration,
}

/// `series` x 200 distinct lines over 10 s with default settings; the
/// receiver, reading `rate` bytes a second, is SIGKILLed at 3 s (back at
/// once) and at 5.5 s (connections refused for 3 s).
fn crash_and_slow(runtime: Runtime, rate: u64, series: usize) -> Run {
    let started = Instant::now();
    let mut receiver = CrashReceiver::start(rate);
    let sender = AnySender::spawn(
        runtime,
        "127.0.0.1",
        receiver.port,
        SenderConfig::new(Protocol::Plaintext),
    )
    .expect("spawn");
    let paths = storm::series(
        &format!("slow.{}", runtime.name().replace('-', "_")),
        series,
    );
    let start = Instant::now();
    let chaos = thread::spawn(move || {
        let at = |secs: f64| {
            let when = start + Duration::from_secs_f64(secs);
            thread::sleep(when.saturating_duration_since(Instant::now()));
        };
        at(3.0);
        receiver.kill();
        receiver.launch();
        at(5.5);
        receiver.kill();
        at(8.5);
        receiver.launch();
        receiver
    });
    for tick in 0..STAMPS {
        let due = start + Duration::from_millis(50 * tick as u64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        for path in &paths {
            let _ = sender.push(&Datapoint::new(path.clone(), Value::Int(tick), BASE + tick));
        }
    }
    let receiver = chaos.join().expect("chaos thread");
    let stats = sender.close(Duration::from_secs(200));
    let total = series * STAMPS as usize;
    // Closed once all is written; the receiver reads the rest at its pace.
    let lines = receiver.wait_for(total, Duration::from_secs(200));
    Run {
        runtime,
        stats,
        lines,
        total,
        took: started.elapsed(),
    }
}

/// `run` on every adapter at once; the results in adapter order.
fn side_by_side<T: Send>(run: impl Fn(Runtime) -> T + Sync) -> Vec<T> {
    let run = &run;
    thread::scope(|scope| {
        let handles: Vec<_> = Runtime::ALL
            .map(|runtime| scope.spawn(move || run(runtime)))
            .into_iter()
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("adapter run"))
            .collect()
    })
}

/// Every adapter at once, then the checks.
fn every_adapter_at(rate: u64, series: usize) {
    let runs = side_by_side(|runtime| crash_and_slow(runtime, rate, series));
    for run in &runs {
        let s = &run.stats;
        eprintln!(
            "{} at {rate} B/s: {} of {} lines; written {} replayed {} ({} bytes in all) dropped {} connects {} disconnects {} stalls {}; {:.1} s",
            run.runtime.name(),
            run.lines.len(),
            run.total,
            s.written,
            s.replayed,
            s.written_bytes,
            s.dropped.total(),
            s.connects,
            s.disconnects,
            s.stalls,
            run.took.as_secs_f64(),
        );
    }
    for run in &runs {
        let (name, s) = (run.runtime.name(), &run.stats);
        assert!(s.is_consistent(), "{name}: {s:?}");
        assert_eq!(s.dropped.total(), 0, "{name}: {s:?}");
        assert!(s.disconnects >= 2, "{name}: both kills were noticed: {s:?}");
        assert_eq!(
            s.stalls, 0,
            "{name}: a receiver that reads is not stalled: {s:?}"
        );
        assert_eq!(run.lines.len(), run.total, "{name}: every line arrived");
    }
}

// The stream must be larger than what the two kernels hold (our send
// queue grows to `net.ipv4.tcp_wmem`'s 4 MiB): only then does the replay
// after the second restart fill our queue, so that a write waits until half
// of it has drained (20 s at 100 KB/s, a minute at 30 KB/s), longer than
// the 10 s write timeout. A smaller stream never makes a write wait and
// would pass with the old rule too.

#[test]
fn at_100_kb_per_second_every_line_arrives_without_a_stall() {
    // 700 series: 140,000 lines, about 5 MB, read in about 60 s.
    every_adapter_at(100_000, 700);
}

#[test]
fn at_30_kb_per_second_every_line_arrives_without_a_stall() {
    // The same 5 MB: the smallest stream that fills our queue; read in
    // about 170 s.
    every_adapter_at(30_000, 700);
}

/// A receiver reading 100 KB/s is stopped (SIGSTOP) while the sender
/// writes 2 MB/s: the queue stops shrinking once the receiver's buffer is
/// full, and the stall is declared within the write timeout and one
/// sample period of that.
fn stopped_receiver_is_detected(runtime: Runtime) -> (Duration, Stats) {
    let receiver = CrashReceiver::start(100_000);
    let timeout = Duration::from_secs(2);
    let config = SenderConfig::new(Protocol::Plaintext).with_write_timeout(timeout);
    let sender = AnySender::spawn(runtime, "127.0.0.1", receiver.port, config).expect("spawn");
    let path = storm::series(&format!("stopped.{}", runtime.name().replace('-', "_")), 1);
    let push = |from: i64, n: i64| {
        for t in from..from + n {
            let _ = sender.push(&Datapoint::new(path[0].clone(), Value::Int(t), BASE + t));
        }
    };
    // 3 s of reading, then the receiver stops while we keep writing.
    let start = Instant::now();
    let mut t = 0;
    while start.elapsed() < Duration::from_secs(3) {
        push(t, 6_000);
        t += 6_000;
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sender.stats().stalls, 0, "reading: no stall");
    let pid = receiver.pid().expect("running");
    process::signal(pid, "STOP");
    let stopped = Instant::now();
    while sender.stats().stalls == 0 && stopped.elapsed() < 5 * timeout {
        push(t, 6_000);
        t += 6_000;
        thread::sleep(Duration::from_millis(100));
    }
    let detected = stopped.elapsed();
    process::signal(pid, "CONT");
    let stats = sender.close(Duration::from_secs(1));
    (detected, stats)
}

#[test]
fn a_receiver_that_stops_reading_is_detected_within_the_write_timeout() {
    let timeout = Duration::from_secs(2);
    let period = SenderConfig::new(Protocol::Plaintext)
        .with_write_timeout(timeout)
        .sample_period();
    let runs: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = Runtime::ALL
            .map(|runtime| scope.spawn(move || (runtime, stopped_receiver_is_detected(runtime))))
            .into_iter()
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("adapter run"))
            .collect()
    });
    for (runtime, (detected, stats)) in &runs {
        eprintln!(
            "{}: stopped receiver detected after {:.2} s (write timeout {timeout:?}, sample period {period:?}); stalls {} disconnects {}",
            runtime.name(),
            detected.as_secs_f64(),
            stats.stalls,
            stats.disconnects
        );
    }
    for (runtime, (detected, stats)) in &runs {
        assert!(stats.stalls >= 1, "{}: {stats:?}", runtime.name());
        // The receiver's kernel keeps acknowledging until its buffer is
        // full (a fraction of a second at 2 MB/s): one second of slack.
        assert!(
            *detected <= timeout + period + Duration::from_secs(1),
            "{}: detected after {detected:?}",
            runtime.name()
        );
        assert!(
            *detected >= timeout,
            "{}: not before the timeout",
            runtime.name()
        );
    }
}

/// Issue 15 §3: the spool also serves a receiver that is merely slow. A
/// receiver reading 1 MB/s is sent 9 MB as fast as the application can
/// push, with a 256 KiB buffer: what the buffer cannot hold goes to the
/// spool while connected, comes back in order, and every line arrives with
/// nothing dropped and no stall. Every adapter side by side.
#[test]
fn a_slow_receiver_takes_the_overflow_through_the_spool() {
    const COUNT: i64 = 250_000;
    let runs: Vec<(Runtime, Stats, usize, Duration)> = side_by_side(|runtime| {
        let started = Instant::now();
        let receiver = CrashReceiver::start(1_000_000);
        let spool = tempfile::tempdir().expect("tempdir");
        let config = storm::small_buffer_with_spool(spool.path());
        let sender = AnySender::spawn(runtime, "127.0.0.1", receiver.port, config).expect("spawn");
        let paths = storm::series(
            &format!("slowspool.{}", runtime.name().replace('-', "_")),
            1_000,
        );
        let mut points = Vec::with_capacity(1_000);
        for from in (0..COUNT).step_by(1_000) {
            points.clear();
            points.extend((from..from + 1_000).map(|i| {
                Datapoint::new(
                    paths[(i % 1_000) as usize].clone(),
                    Value::Int(i),
                    BASE + i / 1_000,
                )
            }));
            sender
                .sink()
                .push_many_wait_blocking(&points)
                .expect("room, through the spool");
        }
        let stats = sender.close(Duration::from_secs(120));
        let lines = receiver.wait_for(COUNT as usize, Duration::from_secs(60));
        let received = receiver.line_count();
        assert_eq!(
            received,
            lines.len(),
            "{}: no line twice, no line cut: {stats:?}",
            runtime.name()
        );
        (runtime, stats, lines.len(), started.elapsed())
    });
    for (runtime, s, lines, took) in &runs {
        eprintln!(
            "{} into 1 MB/s with a spool: {lines} of {COUNT} lines; spooled {} unspooled {} dropped {} stalls {} disconnects {}; {:.1} s",
            runtime.name(),
            s.spooled,
            s.unspooled,
            s.dropped.total(),
            s.stalls,
            s.disconnects,
            took.as_secs_f64()
        );
    }
    for (runtime, s, lines, _) in &runs {
        let name = runtime.name();
        assert!(s.is_consistent(), "{name}: {s:?}");
        assert!(
            s.spooled > 0,
            "{name}: the overflow went to the spool: {s:?}"
        );
        assert_eq!(s.unspooled, s.spooled, "{name}: and came back: {s:?}");
        assert_eq!(s.dropped.total(), 0, "{name}: {s:?}");
        assert_eq!(s.stalls, 0, "{name}: a slow reader is not stalled: {s:?}");
        assert_eq!(*lines, COUNT as usize, "{name}: every line arrived: {s:?}");
    }
}
