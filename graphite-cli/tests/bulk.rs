//! `graphite send` at the load users bring: a million lines from a file and
//! from stdin into a real carbon-cache (the input pauses, nothing is
//! dropped), and into a receiver that never reads (`--timeout` bounds the
//! run, and the exit status and counters say what was not delivered).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graphite_tests::carbon::Carbon;
use graphite_tests::process;
use graphite_tests::runtime::Runtime;

const SERIES: usize = 1_000;
const STAMPS: i64 = 1_000;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Writes a million `metric value timestamp` lines: every series at every
/// timestamp, timestamps inside the test carbon's one-hour retention.
fn million_lines(path: &Path, base: i64) -> Vec<String> {
    let names: Vec<String> = (0..SERIES).map(|i| format!("bulk.s{i}")).collect();
    let mut out = BufWriter::new(File::create(path).expect("input file"));
    for t in 0..STAMPS {
        for (i, name) in names.iter().enumerate() {
            writeln!(out, "{name} {i} {}", base + t).expect("write");
        }
    }
    out.flush().expect("flush");
    names
}

fn send(args: &[&str], stdin: Option<&Path>) -> (std::process::Output, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_graphite"));
    cmd.args(args);
    if let Some(path) = stdin {
        cmd.stdin(Stdio::from(File::open(path).expect("input")));
    }
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("graphite starts");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let output = rx
        .recv_timeout(Duration::from_secs(300))
        .unwrap_or_else(|_| {
            process::kill(pid);
            panic!("graphite send did not finish within 300 s")
        })
        .expect("output");
    (output, start.elapsed())
}

#[test]
fn a_million_lines_into_carbon_are_all_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("million.txt");
    let base = now() - 2_000;
    let names = million_lines(&input, base);
    let runtimes = Runtime::ALL
        .into_iter()
        .filter(|&r| cfg!(feature = "async-std") || r != Runtime::AsyncStd);
    // The input path does not depend on the runtime: stdin is read through
    // the default one (blocking), a file through every other one.
    let runs = runtimes
        .filter(|&r| r != Runtime::Blocking)
        .map(|r| (r, true))
        .chain([(Runtime::Blocking, false)]);
    for (runtime, from_file) in runs {
        let carbon = Carbon::start();
        carbon.create_series(&names);
        let target = format!("127.0.0.1:{}", carbon.line_port);
        let input_arg = input.to_str().expect("utf-8 path");
        let mut args = vec![
            "send",
            "--to",
            &target,
            "--runtime",
            runtime.name(),
            "--stats",
        ];
        if from_file {
            args.extend(["--file", input_arg]);
        }
        let (out, took) = send(&args, (!from_file).then_some(input.as_path()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "{} from {}: exit {:?} after {took:.1?}: {}",
            runtime.name(),
            if from_file { "--file" } else { "stdin" },
            out.status.code(),
            stderr.trim()
        );
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains("accepted=1000000 written=1000000"),
            "{stderr}"
        );
        assert!(stderr.contains("dropped=0"), "{stderr}");
        let deadline = Instant::now() + Duration::from_secs(120);
        let stored = loop {
            let points = carbon.fetch(&names, base - 1, base + STAMPS);
            let stored: usize = points.values().map(Vec::len).sum();
            if stored >= SERIES * STAMPS as usize || Instant::now() >= deadline {
                break stored;
            }
            std::thread::sleep(Duration::from_secs(1));
        };
        assert_eq!(
            stored,
            SERIES * STAMPS as usize,
            "{} stored",
            runtime.name()
        );
    }
}

#[test]
fn a_receiver_that_never_reads_is_bounded_by_the_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("million.txt");
    million_lines(&input, now() - 2_000);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = listener.local_addr().expect("addr").to_string();
    // Accepts every connection and reads nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let input_arg = input.to_str().expect("utf-8 path");
    let (out, took) = send(
        &[
            "send",
            "--to",
            &target,
            "--file",
            input_arg,
            "--timeout",
            "1",
            "--stats",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "stalled receiver: exit {:?} after {took:.1?}: {}",
        out.status.code(),
        stderr.trim()
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not reading"), "{stderr}");
    assert!(
        stderr.lines().count() < 10,
        "drops are counted, not listed: {stderr}"
    );
    assert!(stderr.contains("stats: accepted="), "{stderr}");
    // Reading and parsing the file takes a few seconds in a debug build; the
    // network holds the run up for about two timeouts (one wait, one close).
    assert!(took < Duration::from_secs(60), "{took:?}");
    let field = |name: &str| -> u64 {
        let at = stderr.find(&format!(" {name}=")).expect(name) + name.len() + 2;
        stderr[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .expect(name)
    };
    let (accepted, written, dropped) = (field("accepted"), field("written"), field("dropped"));
    assert!(dropped > 0 && written < 1_000_000, "{stderr}");
    assert_eq!(
        written + dropped,
        1_000_000,
        "every line is written or dropped and counted: {stderr}"
    );
    assert!(accepted <= 1_000_000);
}
