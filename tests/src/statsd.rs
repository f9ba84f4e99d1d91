//! The statsd 0.9.0 daemon as a naming peer: installed from the npm registry
//! into `target/graphite-statsd` (`npm install --ignore-scripts`: the
//! optional `modern-syslog` wants node-gyp, the graphite backend does not)
//! and run with the machine's `node`, its graphite backend in the new
//! namespace (`legacyNamespace: false`) writing plaintext to a loopback port.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;

use crate::capture::{LineCapture, Sample};
use crate::carbon::free_tcp_port;
use crate::process;
use crate::python::target_dir;

/// The statsd release the presets reproduce.
pub const STATSD_PACKAGE: &str = "statsd@0.9.0";

/// The series statsd writes for its own packet counter in the new
/// namespace: it tells which flush carried the test's one datagram.
pub const PACKETS_RECEIVED: &str = "stats.counters.statsd.packets_received.count";

/// How long a flush may take to arrive beyond its interval.
const FLUSH_SLACK: Duration = Duration::from_secs(20);

/// The daemon's configuration (the rest is statsd's defaults).
#[derive(Clone, Debug)]
pub struct StatsdConfig<'a> {
    /// `flushInterval`, in milliseconds.
    pub flush_interval_ms: u64,
    /// `percentThreshold`.
    pub percent_thresholds: &'a [f64],
}

/// One capture: the daemon started, `lines` sent in one datagram after its
/// first flush, and `flushes` flushes kept from the one that carries them.
#[derive(Clone, Debug)]
pub struct StatsdRun<'a> {
    /// The daemon's configuration.
    pub config: StatsdConfig<'a>,
    /// statsd lines (`name:value|type[|@rate][|#tags]`), sent as one datagram.
    pub lines: &'a [&'a str],
    /// How many flushes to keep, the first being the one with the lines.
    pub flushes: usize,
}

/// `statsd/stats.js` installed under `target/`.
fn stats_js() -> &'static PathBuf {
    static STATS_JS: OnceLock<PathBuf> = OnceLock::new();
    STATS_JS.get_or_init(|| {
        let dir = target_dir().join("graphite-statsd");
        fs::create_dir_all(&dir).expect("create the statsd dir");
        let lock = File::create(dir.with_extension("lock")).expect("create the lock file");
        lock.lock().expect("lock the statsd dir");
        let marker = dir.join(".graphite-ready");
        if fs::read_to_string(&marker).ok().as_deref() != Some(STATSD_PACKAGE) {
            let probe = Command::new("npm").arg("--version").output();
            assert!(
                probe.as_ref().is_ok_and(|o| o.status.success()),
                "the statsd peer needs node and npm (npm --version failed: {probe:?}). \
                 Install them (Debian: apt-get install nodejs npm)."
            );
            let _ = fs::remove_dir_all(dir.join("node_modules"));
            process::run_ok(
                Command::new("npm")
                    .args([
                        "install",
                        "--ignore-scripts",
                        "--no-audit",
                        "--no-fund",
                        "--no-save",
                        "--prefix",
                    ])
                    .arg(&dir)
                    .arg(STATSD_PACKAGE),
                b"",
                Duration::from_secs(300),
            );
            fs::write(&marker, STATSD_PACKAGE).expect("write the statsd marker");
        }
        drop(lock);
        dir.join("node_modules/statsd/stats.js")
    })
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("ephemeral UDP port")
        .port()
}

/// A running statsd daemon on loopback ports; killed when dropped.
#[derive(Debug)]
pub struct Statsd {
    dir: TempDir,
    child: Child,
    /// Where it listens for statsd lines.
    pub udp_port: u16,
}

impl Statsd {
    /// Starts the daemon flushing to `127.0.0.1:graphite_port`. It binds its
    /// UDP port within a few hundred milliseconds and flushes first one
    /// `flushInterval` after its start (that flush holds only its own series).
    pub fn start(graphite_port: u16, config: &StatsdConfig<'_>) -> Self {
        let stats_js = stats_js();
        let dir = tempfile::Builder::new()
            .prefix("graphite-statsd-")
            .tempdir()
            .expect("temporary directory");
        let udp_port = free_udp_port();
        let mut thresholds = String::new();
        for (i, t) in config.percent_thresholds.iter().enumerate() {
            if i > 0 {
                thresholds.push_str(", ");
            }
            write!(thresholds, "{t}").expect("write to a String");
        }
        let conf = format!(
            "{{\n\
             \x20 address: \"127.0.0.1\",\n\
             \x20 port: {udp_port},\n\
             \x20 mgmt_address: \"127.0.0.1\",\n\
             \x20 mgmt_port: {mgmt_port},\n\
             \x20 graphiteHost: \"127.0.0.1\",\n\
             \x20 graphitePort: {graphite_port},\n\
             \x20 flushInterval: {flush},\n\
             \x20 percentThreshold: [{thresholds}],\n\
             \x20 backends: [\"./backends/graphite\"],\n\
             \x20 graphite: {{ legacyNamespace: false }},\n\
             \x20 automaticConfigReload: false\n\
             }}\n",
            mgmt_port = free_tcp_port(),
            flush = config.flush_interval_ms,
        );
        let conf_path = dir.path().join("config.js");
        fs::write(&conf_path, conf).expect("write the statsd config");
        let output = File::create(dir.path().join("output.log")).expect("output log");
        let child = Command::new("node")
            .arg(stats_js)
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("output log"))
            .stderr(output)
            .spawn()
            .expect("start node statsd/stats.js");
        Self {
            dir,
            child,
            udp_port,
        }
    }

    /// Sends `lines` to the daemon in one datagram (so one flush holds them all).
    pub fn send(&self, lines: &[&str]) {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
        let datagram = lines.join("\n");
        socket
            .send_to(datagram.as_bytes(), ("127.0.0.1", self.udp_port))
            .expect("send to statsd");
    }

    /// The daemon's output, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("output.log")).unwrap_or_default()
    }
}

impl Drop for Statsd {
    fn drop(&mut self) {
        process::kill(self.child.id());
        let _ = self.child.wait();
    }
}

/// The index of the flush whose packet count is 1: the one carrying the
/// test's datagram (statsd counts no other packet).
fn data_flush(flushes: &[Vec<Sample>]) -> Option<usize> {
    flushes.iter().position(|flush| {
        flush
            .iter()
            .any(|s| s.name == PACKETS_RECEIVED && s.value == "1")
    })
}

/// Runs the daemon for `run`: waits for its first flush (it is up and
/// bound), sends the lines, and returns `run.flushes` flushes from the one
/// holding them, each as the lines of its connection in the order sent.
/// With `forward`, every flush also went to that address (a carbon-cache's
/// plaintext port).
pub fn capture(run: &StatsdRun<'_>, forward: Option<SocketAddr>) -> Vec<Vec<Sample>> {
    let receiver = LineCapture::start(forward);
    let statsd = Statsd::start(receiver.port(), &run.config);
    let interval = Duration::from_millis(run.config.flush_interval_ms);
    receiver
        .wait_closed(1, interval + FLUSH_SLACK)
        .unwrap_or_else(|e| panic!("statsd never flushed: {e}\nits output:\n{}", statsd.log()));
    statsd.send(run.lines);
    let wait = interval * (run.flushes as u32 + 1) + FLUSH_SLACK;
    let flushes = receiver
        .wait_until(wait, "the flushes after the datagram", |c| {
            data_flush(c).is_some_and(|i| c.len() >= i + run.flushes)
        })
        .unwrap_or_else(|e| panic!("{e}\nstatsd's output:\n{}", statsd.log()));
    let start = data_flush(&flushes).expect("checked by the wait");
    flushes[start..start + run.flushes].to_vec()
}

/// The flush holding the lines, as `(name, value, timestamp)` in the order sent.
pub fn samples(run: &StatsdRun<'_>) -> Vec<Sample> {
    capture(
        &StatsdRun {
            flushes: 1,
            ..run.clone()
        },
        None,
    )
    .remove(0)
}

/// The reference lines the statsd preset is compared on: counters (one
/// sampled at 0.1, one with DogStatsD tags, one with characters statsd
/// strips), a gauge set then moved by deltas, a gauge written with an
/// exponent, timers (one sampled at 0.5), a set, sent as one datagram.
pub const REFERENCE_LINES: &[&str] = &[
    "app.hits:3|c",
    "app.hits:4|c",
    "app.sampled:1|c|@0.1",
    "app.tagged:2|c|#env:prod,region:eu",
    "app.bad name/x(y):1|c",
    "app.temperature:11.5|g",
    "app.temperature:+2|g",
    "app.temperature:-1|g",
    "app.tiny:0.0000001|g",
    "app.latency:1|ms",
    "app.latency:2|ms",
    "app.latency:3|ms",
    "app.latency:4|ms",
    "app.latency:5|ms",
    "app.latency:6|ms",
    "app.latency:7|ms",
    "app.latency:8|ms",
    "app.latency:9|ms",
    "app.latency:10|ms",
    "app.half:0.5|ms|@0.5",
    "app.users:alice|s",
    "app.users:bob|s",
    "app.users:alice|s",
];

/// The reference configuration: a 2 s flush (so rates are half the
/// counts) and the thresholds 90 (statsd's default), 99.5 and -10 (the
/// lowest 10%).
pub const REFERENCE_CONFIG: StatsdConfig<'static> = StatsdConfig {
    flush_interval_ms: 2000,
    percent_thresholds: &[90.0, 99.5, -10.0],
};
