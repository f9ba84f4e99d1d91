//! The `graphite` command: the name encoder, the debug listener, `send`
//! through every runtime, and `send` against Graphite's own carbon-cache.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graphite_proto::Protocol;
use graphite_tests::carbon::Carbon;
use graphite_tests::process;
use graphite_tests::runtime::Runtime;

const STORE_TIMEOUT: Duration = Duration::from_secs(60);

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn graphite(args: &[&str], stdin: &str) -> std::process::Output {
    process::run(
        Command::new(env!("CARGO_BIN_EXE_graphite")).args(args),
        stdin.as_bytes(),
        Duration::from_secs(60),
    )
}

/// The runtimes this build of the command has: async-std's executor is an
/// opt-in feature; without it, `--runtime async-std` is refused by name.
fn runtimes() -> impl Iterator<Item = Runtime> {
    Runtime::ALL
        .into_iter()
        .filter(|&r| cfg!(feature = "async-std") || r != Runtime::AsyncStd)
}

#[test]
fn async_std_without_the_feature_is_refused_by_name() {
    let out = graphite(&["send", "--runtime", "async-std", "a", "1"], "");
    if cfg!(feature = "async-std") {
        assert!(out.status.success());
    } else {
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--features async-std"));
    }
}

fn port_for(carbon: &Carbon, protocol: Protocol) -> u16 {
    match protocol {
        Protocol::Plaintext => carbon.line_port,
        Protocol::Pickle => carbon.pickle_port,
        _ => carbon.udp_port,
    }
}

#[test]
fn encode_and_decode_name_match_aiographite() {
    let out = graphite(
        &[
            "encode-name",
            "sproc performance",
            "velo@zillow.com",
            "::EH12",
        ],
        "",
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "sproc%20performance-.velo%40zillow%2Ecom-.%3A%3AEH12-"
    );
    let out = graphite(&["decode-name", "Mnchen-3ya.temp-"], "");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "München\ntemp\n");
    let out = graphite(&["decode-name", "ok-.%41"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("part 1"),
        "the bad part is named"
    );
}

#[test]
fn send_without_a_target_shows_what_carbon_would_receive() {
    for runtime in runtimes() {
        for protocol in ["plaintext", "pickle", "udp"] {
            let out = graphite(
                &["send", "--protocol", protocol, "--runtime", runtime.name()],
                "a.b 1 100\nc.d 2.5 200\n",
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "a.b 1 100\nc.d 2.5 200\n",
                "{runtime:?} {protocol}"
            );
        }
    }
    let out = graphite(&["send", "--prefix", "app", "requests", "42", "7"], "");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "app.requests 42 7\n");
}

#[test]
fn listen_reports_datapoints_and_bad_lines() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let listener = Command::new(env!("CARGO_BIN_EXE_graphite"))
        .args([
            "listen",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--count",
            "3",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start listener");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut stream = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "listener did not start"
        );
        // The listener announces nothing we can wait on but its port.
        std::thread::park_timeout(Duration::from_millis(50));
    };
    std::io::Write::write_all(
        &mut stream,
        b"a.b 1 10\nnot a valid line at all\nc 2.5 20\n",
    )
    .expect("write");
    drop(stream);
    let out = listener
        .wait_with_output()
        .expect("listener exits after 3 items");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "a.b 1 10");
    assert!(lines[1].starts_with("error: "), "{text}");
    assert_eq!(lines[2], "c 2.5 20");
}

/// `send` against carbon: valid lines stored, invalid ones reported with
/// their line numbers and never sent, for every runtime and protocol.
#[test]
fn send_to_carbon_through_every_runtime_refusing_hostile_lines() {
    let carbon = Carbon::start();
    let ts = now() - 60;
    let mut want = Vec::new();
    for runtime in runtimes() {
        for protocol in [Protocol::Plaintext, Protocol::Pickle, Protocol::Udp] {
            let name = format!("it.cli.{}.{protocol}", runtime.name().replace('-', "_"));
            let input = format!(
                "{name} 1.5 {ts}\n{name}.two 3 {ts}\nhostile\u{a0}name 1 {ts}\nno.value\n{name}.three 4 {ts}\nevil\rname 1 {ts}\n"
            );
            let target = format!("127.0.0.1:{}", port_for(&carbon, protocol));
            let args = [
                "send",
                "--to",
                &target,
                "--protocol",
                protocol.name(),
                "--runtime",
                runtime.name(),
                "--stats",
            ];
            let out = graphite(&args, &input);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "invalid lines make the exit status 1: {stderr}"
            );
            for line in ["line 3:", "line 4:", "line 6:"] {
                assert!(stderr.contains(line), "{line} not reported: {stderr}");
            }
            assert!(stderr.contains("written=3"), "{stderr}");
            want.push((name.clone(), ts, 1.5));
            want.push((format!("{name}.two"), ts, 3.0));
            want.push((format!("{name}.three"), ts, 4.0));
        }
    }
    carbon.wait_for(&want, STORE_TIMEOUT).expect("stored");
    let files = carbon.stored_files();
    assert_eq!(
        files.len(),
        want.len(),
        "carbon stored only the valid series: {files:?}"
    );
}

#[test]
fn route_prints_each_names_destinations_as_the_ring_places_them() {
    use graphite_proto::ring::{Compat, HashType, RingConfig};

    let to = ["10.0.0.1:2004:a", "10.0.0.2:2004:b", "10.0.0.3:2004:c"];
    let names = ["servers.web1.cpu", "cpu;dc=eu;host=a", "temp.München"];
    let cases: [(&[&str], Compat, HashType, usize); 4] = [
        (&[], Compat::Carbon, HashType::CarbonCh, 1),
        (
            &["--hash", "fnv1a_ch", "--replication", "2"],
            Compat::Carbon,
            HashType::Fnv1aCh,
            2,
        ),
        (
            &[
                "--compat",
                "carbon-c-relay",
                "--hash",
                "jump_fnv1a_ch",
                "--replication",
                "3",
            ],
            Compat::CarbonCRelay,
            HashType::JumpFnv1aCh,
            3,
        ),
        (
            &["--compat", "carbon-c-relay"],
            Compat::CarbonCRelay,
            HashType::CarbonCh,
            1,
        ),
    ];
    for (options, compat, hash, replication) in cases {
        let mut args = vec!["route"];
        for t in to {
            args.extend(["--to", t]);
        }
        args.extend(options);
        args.extend(names);
        let out = graphite(&args, "");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ring = RingConfig::new(compat, hash)
            .replication(replication)
            .build_from_strs(to)
            .expect("a ring");
        let expected: String = names
            .iter()
            .map(|name| {
                let dests: Vec<String> = ring
                    .route(name)
                    .iter()
                    .map(|&i| ring.destinations()[i].to_string())
                    .collect();
                format!("{name} {}\n", dests.join(" "))
            })
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "{options:?}"
        );
    }

    // Names from stdin, one per line.
    let out = graphite(&["route", "--to", to[0], "--to", to[1]], "a.b\n\nc.d\n");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

#[test]
fn route_refuses_what_no_relay_would_run() {
    let out = graphite(
        &["route", "m", "--to", "h:1", "--hash", "jump_fnv1a_ch"],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("carbon-c-relay"));
    let out = graphite(&["route", "m", "--to", "h"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no port"));
    let out = graphite(&["route", "m", "--to", "h:1", "--to", "h:2"], "");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("host and instance"),
        "Python carbon keys destinations by host and instance"
    );
    let out = graphite(&["route", "m", "--to", "h:1", "--hash", "md5"], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("carbon_ch, fnv1a_ch or jump_fnv1a_ch"));
}

/// `send` with several `--to`: each series stored on exactly the cache(s)
/// the ring gives it (Python carbon's ring over pickle; carbon-c-relay's
/// jump hash with two replicas over plaintext); per-destination stats.
#[test]
fn send_to_several_carbons_routes_each_series_to_its_caches() {
    use graphite_proto::ring::{Compat, HashType, RingConfig};

    let caches = [Carbon::start(), Carbon::start(), Carbon::start()];
    let ts = now() - 60;
    /// Options, protocol, and the ring they describe; the runtime.
    type Case = (
        &'static [&'static str],
        Protocol,
        Compat,
        HashType,
        usize,
        Runtime,
    );
    let cases: [Case; 2] = [
        (
            &["--failover", "reroute"],
            Protocol::Pickle,
            Compat::Carbon,
            HashType::CarbonCh,
            1,
            Runtime::Blocking,
        ),
        (
            &[
                "--compat",
                "carbon-c-relay",
                "--hash",
                "jump_fnv1a_ch",
                "--replication",
                "2",
            ],
            Protocol::Plaintext,
            Compat::CarbonCRelay,
            HashType::JumpFnv1aCh,
            2,
            Runtime::Tokio,
        ),
    ];
    for (n, (options, protocol, compat, hash, replication, runtime)) in
        cases.into_iter().enumerate()
    {
        let to: Vec<String> = caches
            .iter()
            .enumerate()
            .map(|(i, c)| format!("127.0.0.1:{}:{}", port_for(c, protocol), i + 1))
            .collect();
        let names: Vec<String> = (0..300).map(|i| format!("it.routed{n}.s{i}")).collect();
        let input: String = names.iter().map(|m| format!("{m} 7 {ts}\n")).collect();
        let mut args = vec![
            "send",
            "--protocol",
            protocol.name(),
            "--runtime",
            runtime.name(),
            "--stats",
        ];
        for t in &to {
            args.extend(["--to", t.as_str()]);
        }
        args.extend(options);
        let out = graphite(&args, &input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        for t in &to {
            assert!(stderr.contains(&format!("stats {t}: ")), "{stderr}");
        }
        let copies = names.len() * replication;
        assert!(
            stderr.contains(&format!(
                "stats total (copies): accepted={copies} written={copies}"
            )),
            "{stderr}"
        );
        let ring = RingConfig::new(compat, hash)
            .replication(replication)
            .build_from_strs(&to)
            .expect("a ring");
        for (c, cache) in caches.iter().enumerate() {
            let want: Vec<(String, i64, f64)> = names
                .iter()
                .filter(|m| ring.route(m).contains(&c))
                .map(|m| (m.clone(), ts, 7.0))
                .collect();
            cache.wait_for(&want, STORE_TIMEOUT).expect("stored");
            let stored = cache.fetch(&names, ts - 1, ts + 1);
            let here = stored.values().filter(|p| !p.is_empty()).count();
            assert_eq!(here, want.len(), "cache {c} holds only its series");
        }
    }

    let out = graphite(
        &[
            "send",
            "--to",
            "h:1:a",
            "--to",
            "h:2:b",
            "--hash",
            "jump_fnv1a_ch",
            "m",
            "1",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("carbon-c-relay"));
    let out = graphite(
        &[
            "send",
            "--to",
            "h:1:a",
            "--to",
            "h:2:b",
            "--failover",
            "bogus",
            "m",
            "1",
        ],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("hold or reroute"));
}

/// `send --spool`: what a run could not deliver (carbon down) is kept in
/// the spool and delivered by the next run on the same directory, even
/// one with nothing new to send.
#[test]
fn send_with_a_spool_delivers_in_the_next_run_what_carbon_missed() {
    let mut carbon = Carbon::prepare(Default::default());
    let spool = tempfile::tempdir().expect("tempdir");
    let dir = spool.path().to_str().expect("a UTF-8 path");
    let target = format!("127.0.0.1:{}", carbon.line_port);
    let ts = now() - 60;
    let input: String = (0..100)
        .map(|i| format!("it.cli.spool.s{i} {i} {ts}\n"))
        .collect();
    let args = [
        "send",
        "--to",
        &target,
        "--spool",
        dir,
        "--timeout",
        "1",
        "--stats",
    ];
    let out = graphite(&args, &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "not delivered yet: {stderr}");
    assert!(stderr.contains(" spooled=100 "), "{stderr}");
    assert!(stderr.contains("spool_held=100 "), "{stderr}");
    assert!(stderr.contains("dropped=0 "), "{stderr}");

    carbon.launch();
    let args = [
        "send",
        "--to",
        &target,
        "--spool",
        dir,
        "--timeout",
        "30",
        "--stats",
    ];
    let out = graphite(&args, "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("spool_found=100 "), "{stderr}");
    assert!(stderr.contains(" unspooled=100 "), "{stderr}");
    let want: Vec<_> = (0..100)
        .map(|i| (format!("it.cli.spool.s{i}"), ts, f64::from(i)))
        .collect();
    carbon.wait_for(&want, STORE_TIMEOUT).expect("stored");
}

/// The value of `key=` in a `--stats` line.
fn stat(stderr: &str, key: &str) -> u64 {
    let prefix = format!("{key}=");
    stderr
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .find_map(|token| token.strip_prefix(&prefix))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in: {stderr}"))
}

/// `send --spool` on a full disk. A file-size limit makes it one without
/// root: with SIGXFSZ ignored, a write past the limit fails with EFBIG, as
/// on a full file system. The run keeps its deadline, counts what the
/// spool could not take, and the next run delivers what it did take.
#[test]
fn send_with_a_spool_on_a_full_disk_counts_its_loss_and_keeps_its_deadline() {
    let mut carbon = Carbon::prepare(Default::default());
    let spool = tempfile::tempdir().expect("tempdir");
    let dir = spool.path().to_str().expect("a UTF-8 path");
    let target = format!("127.0.0.1:{}", carbon.line_port);
    let count = 50_000;
    let base = now() - count / 100 - 60;
    let line = |i: i64| {
        (
            format!("it.cli.full.s{}", i % 100),
            base + i / 100,
            i as f64,
        )
    };
    let input: String = (0..count)
        .map(|i| {
            let (name, ts, value) = line(i);
            format!("{name} {value} {ts}\n")
        })
        .collect();
    // 512 blocks of 512 bytes: no file may pass 256 KiB; the input is 1.7 MB.
    let limited = "trap '' XFSZ; ulimit -f 512; exec \"$0\" \"$@\"";
    let started = std::time::Instant::now();
    let out = process::run(
        Command::new("sh").args([
            "-c",
            limited,
            env!("CARGO_BIN_EXE_graphite"),
            "send",
            "--to",
            &target,
            "--spool",
            dir,
            "--buffer",
            "131072",
            "--batch-size",
            "16384",
            "--timeout",
            "1",
            "--stats",
            "--quiet",
        ]),
        input.as_bytes(),
        Duration::from_secs(60),
    );
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{took:.2?}: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        took < Duration::from_secs(30),
        "kept its deadline: {took:?}"
    );
    let (accepted, held, lost) = (
        stat(&stderr, "accepted"),
        stat(&stderr, "spool_held"),
        stat(&stderr, "spool_error"),
    );
    assert!(held > 0 && lost > 0, "{stderr}");
    assert_eq!(stat(&stderr, "written"), 0, "{stderr}");
    // Every datapoint is on disk or counted lost: nothing silent. (Those
    // refused once the wait for room gave up count as buffer_full drops,
    // never accepted.)
    assert_eq!(held + lost, accepted, "{stderr}");
    assert_eq!(held + stat(&stderr, "dropped"), count as u64, "{stderr}");
    for entry in std::fs::read_dir(spool.path())
        .expect("spool dir")
        .flatten()
    {
        let len = entry.metadata().expect("metadata").len();
        assert!(len <= 256 << 10, "{:?} is {len} bytes", entry.path());
    }

    carbon.launch();
    let out = graphite(
        &[
            "send",
            "--to",
            &target,
            "--spool",
            dir,
            "--timeout",
            "30",
            "--stats",
            "--quiet",
        ],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stat(&stderr, "spool_found"), held, "{stderr}");
    assert_eq!(stat(&stderr, "unspooled"), held, "{stderr}");
    let names: Vec<String> = (0..100).map(|s| format!("it.cli.full.s{s}")).collect();
    let deadline = std::time::Instant::now() + STORE_TIMEOUT;
    let stored = loop {
        let fetched = carbon.fetch(&names, base - 1, base + count / 100 + 1);
        let stored: usize = fetched.values().map(Vec::len).sum();
        if stored as u64 >= held || std::time::Instant::now() >= deadline {
            break stored;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(stored as u64, held, "what the spool held is stored");
}

/// A spool directory that cannot be created: a clear error at start that
/// names it, not a panic and not a run that silently spools nowhere.
#[test]
fn send_with_an_unusable_spool_directory_is_refused_by_name() {
    let file = tempfile::NamedTempFile::new().expect("a file");
    let dir = file.path().join("spool");
    let dir = dir.to_str().expect("a UTF-8 path");
    let out = graphite(
        &["send", "--to", "127.0.0.1:9", "--spool", dir, "it.x", "1"],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(dir), "names the directory: {stderr}");
}
