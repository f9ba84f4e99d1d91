//! A real carbon-cache (Graphite's own, from PyPI) on loopback ports, with
//! its whisper files read back through carbon's and whisper's own code.

use std::collections::HashMap;
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use tempfile::TempDir;

use crate::process;
use crate::python::Venv;

/// How long carbon may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Where carbon keeps a metric's whisper file, by carbon's own path logic
/// (canonical tags, hashed file names for tagged series): the start of
/// every script that touches whisper files.
const WHISPER_PATH: &str = r#"
import os
from carbon.util import TaggedSeries

def whisper_path(root, metric):
    if ';' in metric:
        metric = TaggedSeries.parse(metric).path
    return os.path.join(root, TaggedSeries.encode(metric, os.sep, hash_only=True) + ".wsp")
"#;

/// Reads datapoints from whisper files: stdin is
/// `{"root": ..., "metrics": [...], "from": t, "until": t}`; stdout maps each
/// metric to its `[timestamp, value]` pairs that hold a value, and lists the
/// files it could not read.
const FETCH_SCRIPT: &str = r#"
import json, struct, sys
import whisper
req = json.load(sys.stdin)
out = {}
unreadable = []
for metric in req["metrics"]:
    path = whisper_path(req["root"], metric)
    points = []
    if os.path.exists(path):
        try:
            (start, end, step), values = whisper.fetch(path, req["from"], req["until"])
            points = [[start + i * step, v] for i, v in enumerate(values) if v is not None]
        except (whisper.CorruptWhisperFile, struct.error, OSError):
            # being created right now, or left truncated by a killed carbon
            unreadable.append(metric)
    out[metric] = points
json.dump({"points": out, "unreadable": unreadable}, sys.stdout)
"#;

/// Creates whisper files as carbon would: stdin is
/// `{"root": ..., "metrics": [...], "retention": "1s:1h"}`.
const CREATE_SCRIPT: &str = r#"
import json, sys
import whisper
req = json.load(sys.stdin)
archives = [whisper.parseRetentionDef(req["retention"])]
for metric in req["metrics"]:
    path = whisper_path(req["root"], metric)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        whisper.create(path, archives)
"#;

/// Every series' retention: one-second points for an hour. Small files
/// (43 KB), so creating a thousand of them does not make carbon's writer lag.
const RETENTION: &str = "1s:1h";

/// Options for a carbon-cache.
#[derive(Clone, Debug, Default)]
pub struct CarbonOptions {
    /// Turn on `ENABLE_TAGS` (tag database updates; storage works either way).
    pub tags: bool,
    /// The port of a graphite-web on loopback to register tags with
    /// (`GRAPHITE_URL`; turns on `ENABLE_TAGS`). Without it, tag updates
    /// go to a port where nothing listens.
    pub tag_db: Option<u16>,
    /// Carbon's `MAX_UPDATES_PER_SECOND` (default 100,000: the writer keeps
    /// up). A low value makes the writer lag as a busy carbon's does: with
    /// `S` series cached, one write pass takes about `S / value` seconds.
    pub max_updates_per_second: Option<u32>,
}

/// A running carbon-cache with its own temporary directory and ports.
///
/// Dropping it kills the process and removes the directory.
#[derive(Debug)]
pub struct Carbon {
    dir: TempDir,
    child: Option<Child>,
    /// Plaintext TCP port.
    pub line_port: u16,
    /// Plaintext UDP port.
    pub udp_port: u16,
    /// Pickle TCP port.
    pub pickle_port: u16,
}

/// A free ephemeral TCP port on loopback.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("ephemeral TCP port")
        .port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("ephemeral UDP port")
        .port()
}

impl Carbon {
    /// Starts a carbon-cache with default options and waits until it listens.
    pub fn start() -> Self {
        Self::start_with(CarbonOptions::default())
    }

    /// Starts a carbon-cache and waits until it listens.
    pub fn start_with(options: CarbonOptions) -> Self {
        let mut carbon = Self::prepare(options);
        carbon.launch();
        carbon
    }

    /// Writes the configuration and picks the ports, without starting
    /// carbon: clients can be pointed at it before it exists.
    pub fn prepare(options: CarbonOptions) -> Self {
        Venv::get();
        let dir = tempfile::Builder::new()
            .prefix("graphite-carbon-")
            .tempdir()
            .expect("temporary directory");
        let carbon = Self {
            dir,
            child: None,
            line_port: free_tcp_port(),
            udp_port: free_udp_port(),
            pickle_port: free_tcp_port(),
        };
        carbon.write_config(&options);
        carbon
    }

    fn conf_dir(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Carbon's storage directory (`whisper/`, logs), for a graphite-web.
    pub fn storage_dir(&self) -> PathBuf {
        self.storage()
    }

    /// Carbon's whisper directory.
    pub fn whisper_dir(&self) -> PathBuf {
        self.storage().join("whisper")
    }

    fn write_config(&self, options: &CarbonOptions) {
        let storage = self.storage();
        for sub in ["whisper", "lists", "log"] {
            fs::create_dir_all(storage.join(sub)).expect("storage dirs");
        }
        fs::create_dir_all(self.conf_dir()).expect("conf dir");
        let s = storage.display();
        // CACHE_WRITE_STRATEGY = sorted is carbon's default: every series is
        // written each pass. `max` writes the fullest series first and can
        // leave a thinly fed one in memory for longer than any replay
        // window, so a SIGKILL would lose it whatever the client does.
        let conf = format!(
            "[cache]\n\
             STORAGE_DIR = {s}\n\
             LOCAL_DATA_DIR = {s}/whisper\n\
             WHITELISTS_DIR = {s}/lists\n\
             LOG_DIR = {s}/log\n\
             PID_DIR = {s}\n\
             ENABLE_LOGROTATION = False\n\
             USER =\n\
             MAX_CACHE_SIZE = inf\n\
             MAX_UPDATES_PER_SECOND = {updates}\n\
             MAX_CREATES_PER_MINUTE = inf\n\
             CACHE_WRITE_STRATEGY = sorted\n\
             LINE_RECEIVER_INTERFACE = 127.0.0.1\n\
             LINE_RECEIVER_PORT = {line}\n\
             ENABLE_UDP_LISTENER = True\n\
             UDP_RECEIVER_INTERFACE = 127.0.0.1\n\
             UDP_RECEIVER_PORT = {udp}\n\
             PICKLE_RECEIVER_INTERFACE = 127.0.0.1\n\
             PICKLE_RECEIVER_PORT = {pickle}\n\
             CACHE_QUERY_INTERFACE = 127.0.0.1\n\
             CACHE_QUERY_PORT = {query}\n\
             ENABLE_TAGS = {tags}\n\
             GRAPHITE_URL = http://127.0.0.1:{tagdb}\n\
             LOG_LISTENER_CONN_SUCCESS = False\n\
             LOG_UPDATES = False\n\
             LOG_CREATES = False\n",
            line = self.line_port,
            udp = self.udp_port,
            pickle = self.pickle_port,
            query = free_tcp_port(),
            updates = options.max_updates_per_second.unwrap_or(100_000),
            tags = if options.tags || options.tag_db.is_some() {
                "True"
            } else {
                "False"
            },
            // Without a graphite-web nothing listens there: tag-database
            // updates fail fast and storage goes on.
            tagdb = options.tag_db.unwrap_or_else(free_tcp_port),
        );
        fs::write(self.conf_dir().join("carbon.conf"), conf).expect("carbon.conf");
        fs::write(
            self.conf_dir().join("storage-schemas.conf"),
            format!("[default]\npattern = .*\nretentions = {RETENTION}\n"),
        )
        .expect("storage-schemas.conf");
    }

    /// Starts carbon (again) on its ports and storage, and waits until it
    /// listens.
    pub fn launch(&mut self) {
        // A SIGKILLed carbon leaves its pid file; twistd would refuse to start.
        let _ = fs::remove_file(self.storage().join("carbon-cache-a.pid"));
        let venv = Venv::get();
        let child = Command::new(venv.python())
            .arg(venv.bin("carbon-cache.py"))
            .arg(format!(
                "--config={}",
                self.conf_dir().join("carbon.conf").display()
            ))
            .args(["--nodaemon", "start"])
            .env("GRAPHITE_ROOT", self.dir.path())
            .env("GRAPHITE_CONF_DIR", self.conf_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start carbon-cache.py");
        self.child = Some(child);
        self.wait_listening();
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let up = [self.line_port, self.pickle_port]
                .iter()
                .all(|&p| TcpStream::connect(("127.0.0.1", p)).is_ok());
            if up {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let stderr = process::drain(child);
                panic!(
                    "carbon-cache exited ({status}) before listening:\n{stderr}\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "carbon-cache did not listen within {START_TIMEOUT:?}\n{}",
                self.log()
            );
            // Carbon announces readiness only in its log; polling the port is
            // the event we can observe.
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Carbon's console log, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.storage().join("log/carbon-cache-a/console.log"))
            .unwrap_or_default()
    }

    /// `127.0.0.1:line_port`.
    pub fn line_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.line_port))
    }

    /// `127.0.0.1:pickle_port`.
    pub fn pickle_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.pickle_port))
    }

    /// `127.0.0.1:udp_port`.
    pub fn udp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.udp_port))
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills carbon with SIGKILL: its cache is lost, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::kill(child.id());
            let _ = child.wait();
        }
    }

    /// Stops carbon with SIGTERM and waits: it writes its cache out first.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::signal(child.id(), "TERM");
            let _ = child.wait();
        }
    }

    /// Starts carbon again on the same ports and storage.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Reads every stored point of `metrics` from `from` to `until`.
    pub fn fetch(
        &self,
        metrics: &[String],
        from: i64,
        until: i64,
    ) -> HashMap<String, Vec<(i64, f64)>> {
        let request = json!({
            "root": self.whisper_dir(),
            "metrics": metrics,
            "from": from,
            "until": until,
        });
        let script = format!("{WHISPER_PATH}{FETCH_SCRIPT}");
        let out = Venv::get().run(&script, request.to_string().as_bytes());
        let mut parsed: serde_json::Value =
            serde_json::from_slice(&out).expect("fetch script prints JSON");
        let unreadable: Vec<String> =
            serde_json::from_value(parsed["unreadable"].take()).expect("a list of names");
        if !unreadable.is_empty() {
            eprintln!(
                "carbon: {} whisper files unreadable (being created, or truncated by a kill), e.g. {:?}",
                unreadable.len(),
                &unreadable[..unreadable.len().min(3)]
            );
        }
        serde_json::from_value(parsed["points"].take()).expect("points per metric")
    }

    /// Creates the whisper files of `metrics` ahead of time, as a carbon
    /// that has run for a while already has them.
    ///
    /// A carbon SIGKILLed while creating a file leaves it truncated, and
    /// never writes that series again: tests that kill carbon on purpose
    /// create their series first, so that they measure the client, not
    /// whisper's crash safety.
    pub fn create_series(&self, metrics: &[String]) {
        let request = json!({
            "root": self.whisper_dir(),
            "metrics": metrics,
            "retention": RETENTION,
        });
        let script = format!("{WHISPER_PATH}{CREATE_SCRIPT}");
        Venv::get().run(&script, request.to_string().as_bytes());
    }

    /// Waits until every `(metric, timestamp, value)` is stored exactly, and
    /// returns what is missing or different when `timeout` passes. Carbon
    /// writes its cache to disk in the background, so this polls.
    pub fn wait_for(
        &self,
        expected: &[(String, i64, f64)],
        timeout: Duration,
    ) -> Result<(), String> {
        let mut metrics: Vec<String> = expected.iter().map(|e| e.0.clone()).collect();
        metrics.sort();
        metrics.dedup();
        let from = expected.iter().map(|e| e.1).min().unwrap_or(0) - 1;
        let until = expected.iter().map(|e| e.1).max().unwrap_or(0) + 1;
        let deadline = Instant::now() + timeout;
        loop {
            let stored = self.fetch(&metrics, from, until);
            let missing: Vec<_> = expected
                .iter()
                .filter(|(m, t, v)| {
                    !stored
                        .get(m)
                        .is_some_and(|points| points.iter().any(|&(pt, pv)| pt == *t && pv == *v))
                })
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let sample: Vec<_> = missing.iter().take(5).collect();
                return Err(format!(
                    "{} of {} datapoints not stored, e.g. {sample:?}; stored for those: {:?}\ncarbon log:\n{}",
                    missing.len(),
                    expected.len(),
                    sample.iter().map(|m| stored.get(&m.0)).collect::<Vec<_>>(),
                    self.log()
                ));
            }
            thread::sleep(Duration::from_millis(250));
        }
    }

    /// How many whisper files carbon has created whole: as long as a fresh
    /// file of the test retention. A carbon SIGKILLed while creating a file
    /// leaves it short, and never writes that series again (whisper's
    /// create is not atomic), so tests that kill carbon wait for this.
    pub fn whole_files(&self) -> usize {
        // Header (16 bytes), one archive header (12), 3,600 points of 12.
        const WHOLE: u64 = 16 + 12 + 3_600 * 12;
        self.stored_files()
            .iter()
            .filter(|rel| {
                fs::metadata(self.whisper_dir().join(rel)).is_ok_and(|m| m.len() == WHOLE)
            })
            .count()
    }

    /// Every whisper file carbon has created, relative to its whisper dir.
    pub fn stored_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
            for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else if let Ok(rel) = path.strip_prefix(root) {
                    out.push(rel.to_path_buf());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.whisper_dir(), &self.whisper_dir(), &mut out);
        out.sort();
        out
    }
}

impl Drop for Carbon {
    fn drop(&mut self) {
        self.kill();
    }
}
