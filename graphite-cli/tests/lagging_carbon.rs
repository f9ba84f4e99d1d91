//! Issue 15 §1 through the command line: `graphite send` with its defaults
//! (no replay, buffer or timeout flag) streams 200,000 points over 10 s to
//! a carbon-cache whose writer lags 5-10 s behind, while another process
//! spins on one core. Carbon is SIGKILLed twice and restarted: every point
//! is stored. At each kill the test measures how far behind carbon's writer
//! was.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use graphite_tests::carbon::{Carbon, CarbonOptions};
use graphite_tests::process;
use graphite_tests::storm::{self, Lag, Spinner, names, now, wait_stored};

const SERIES: usize = 1_000;
const STAMPS: i64 = 200;
/// 20 timestamps a second: 200 over 10 s, 20,000 points a second.
const TICK: Duration = Duration::from_millis(50);
/// One series per update: a write pass over 1,000 series takes about 10 s.
const UPDATES_PER_SECOND: u32 = 100;

#[test]
fn graphite_send_with_its_defaults_loses_nothing_to_a_lagging_carbon_killed_twice() {
    let _busy = Spinner::start();
    let started = Instant::now();
    let mut carbon = Carbon::start_with(CarbonOptions {
        max_updates_per_second: Some(UPDATES_PER_SECOND),
        ..CarbonOptions::default()
    });
    let series = storm::series("lag.cli", SERIES);
    let names = names(&series);
    // A kill while carbon creates a file would truncate it for good
    // (whisper's flaw, not ours): the files exist, as on a running carbon.
    carbon.create_series(&names);
    let base = now() - 600;
    let mut child = Command::new(env!("CARGO_BIN_EXE_graphite"))
        .args([
            "send",
            "--to",
            &format!("127.0.0.1:{}", carbon.line_port),
            "--stats",
            "--quiet",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("graphite starts");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("piped");
    let newest = AtomicI64::new(-1);
    let start = Instant::now();
    let (lags, carbon) = thread::scope(|scope| {
        let chaos = scope.spawn(|| {
            let at = |secs: f64| {
                let when = start + Duration::from_secs_f64(secs);
                thread::sleep(when.saturating_duration_since(Instant::now()));
            };
            let measure = |carbon: &mut Carbon| {
                let sent = newest.load(Ordering::Acquire);
                Lag::kill_and_measure(carbon, &names, (base, STAMPS), sent, TICK)
            };
            at(6.0);
            let first = measure(&mut carbon);
            carbon.launch(); // back at once
            // The second kill must find graphite connected again (its
            // backoff may outlast carbon's start on a busy machine), with
            // the replay in carbon's cache: 3 s after the reconnect.
            let limit = Instant::now() + Duration::from_secs(20);
            while !established(carbon.line_port) && Instant::now() < limit {
                thread::sleep(Duration::from_millis(20));
            }
            let reconnected = start.elapsed().as_secs_f64();
            at((reconnected + 3.0).max(9.5));
            let second = measure(&mut carbon);
            thread::sleep(Duration::from_secs(2)); // refused meanwhile
            carbon.launch();
            ([first, second], carbon)
        });
        let mut batch = String::with_capacity(SERIES * 40);
        for tick in 0..STAMPS {
            let due = start + TICK * tick as u32;
            thread::sleep(due.saturating_duration_since(Instant::now()));
            batch.clear();
            for (i, name) in names.iter().enumerate() {
                if i % 2 == 0 {
                    batch.push_str(&format!("{name} {tick} {}\n", base + tick));
                } else {
                    batch.push_str(&format!("{name} {tick}.5 {}\n", base + tick));
                }
            }
            stdin.write_all(batch.as_bytes()).expect("graphite reads");
            newest.store(tick, Ordering::Release);
        }
        chaos.join().expect("chaos thread")
    });
    drop(stdin); // end of input: graphite flushes and exits
    let streamed = started.elapsed();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || tx.send(child.wait_with_output()));
    let output = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| {
            process::kill(pid);
            panic!("graphite send did not finish within 120 s of its input's end")
        })
        .expect("graphite ran");
    let exited = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let total = SERIES * STAMPS as usize;
    let stored = wait_stored(
        &carbon,
        &names,
        (base, STAMPS),
        total,
        Duration::from_secs(120),
    );
    for (i, lag) in lags.iter().enumerate() {
        eprintln!(
            "graphite send, kill {}: carbon's writer {:.1} s behind (median over series), {} points on disk",
            i + 1,
            lag.seconds,
            lag.on_disk,
        );
    }
    eprintln!(
        "graphite send: stored {stored} of {total}; streamed by {:.1} s, exited by {:.1} s, stored by {:.1} s\n{stderr}",
        streamed.as_secs_f64(),
        exited.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    assert!(
        lags.iter().all(|l| l.seconds >= 4.0),
        "carbon's writer lagged when killed: the test can fail"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(" dropped=0 "), "{stderr}");
    assert!(stderr.contains(" unconfirmed=0 "), "{stderr}");
    assert_eq!(stored, total, "every (series, timestamp) is in carbon");
}

/// Whether a connection to `port` on loopback is established (graphite is
/// connected to carbon), from `/proc/net/tcp`.
fn established(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table.lines().skip(1).any(|row| {
        let fields: Vec<&str> = row.split_whitespace().collect();
        // local address "0100007F:PORT", state 01 = ESTABLISHED
        fields.len() > 3
            && fields[3] == "01"
            && fields[1].rsplit(':').next() == Some(&format!("{port:04X}"))
    })
}
