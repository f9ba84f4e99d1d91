//! Issue 15 §1 through the command line: `graphite send` with its defaults
//! (no replay, buffer or timeout flag) streams 200,000 points over 10 s to
//! a carbon-cache whose writer lags 5-10 s behind, while another process
//! spins on one core. Carbon is SIGKILLed twice and restarted: every point
//! is stored. At each kill the test measures how far behind carbon's writer
//! was.

use std::io::Write;
use std::process::{Command, Stdio};
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
    let mut lags = Vec::new();
    let start = Instant::now();
    let at = |secs: f64| start + Duration::from_secs_f64(secs);
    // The kills come at 6 s and 9.5 s of the stream, carbon back at once
    // after the first and 2 s after the second: done from this thread
    // between ticks, so the newest timestamp sent is known exactly.
    let mut schedule = vec![(at(6.0), None), (at(9.5), Some(Duration::from_secs(2)))];
    let mut down_until: Option<Instant> = None;
    let mut batch = String::with_capacity(SERIES * 40);
    for tick in 0..STAMPS {
        let due = start + TICK * tick as u32;
        thread::sleep(due.saturating_duration_since(Instant::now()));
        batch.clear();
        for (i, name) in names.iter().enumerate() {
            if i % 2 == 0 {
                batch.push_str(&format!("{name} {tick} {}\n", base + tick));
            } else {
                batch.push_str(&format!("{name} {}.5 {}\n", tick, base + tick));
            }
        }
        stdin.write_all(batch.as_bytes()).expect("graphite reads");
        if let Some(&(when, down)) = schedule.first()
            && Instant::now() >= when
        {
            schedule.remove(0);
            lags.push(Lag::kill_and_measure(
                &mut carbon,
                &names,
                (base, STAMPS),
                tick,
                TICK,
            ));
            match down {
                None => carbon.launch(),
                Some(d) => down_until = Some(Instant::now() + d),
            }
        }
        if down_until.is_some_and(|t| Instant::now() >= t) {
            down_until = None;
            carbon.launch();
        }
    }
    if let Some(t) = down_until {
        thread::sleep(t.saturating_duration_since(Instant::now()));
        carbon.launch();
    }
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
    assert_eq!(lags.len(), 2, "carbon was killed twice");
    assert!(
        lags.iter().all(|l| l.seconds >= 4.0),
        "carbon's writer lagged when killed: the test can fail"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(" dropped=0 "), "{stderr}");
    assert!(stderr.contains(" unconfirmed=0 "), "{stderr}");
    assert_eq!(stored, total, "every (series, timestamp) is in carbon");
}
