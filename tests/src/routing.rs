//! The reference routers: Python carbon's `ConsistentHashingRouter` (run
//! in the test venv), carbon-c-relay 3.7.3 (Debian's package, unpacked
//! under `target/` without root) in test mode and live, and Python
//! carbon's `carbon-relay`; plus the sample series they route.

use std::fs::{self, File};
use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use graphite_proto::MetricPath;
use serde_json::json;
use tempfile::TempDir;

use crate::carbon::free_tcp_port;
use crate::process;
use crate::python::{Venv, target_dir};

/// The carbon-c-relay version the rings reproduce.
pub const C_RELAY_VERSION: &str = "v3.7.3";

/// How long a relay may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long carbon-c-relay may take from listening to a complete start-up
/// (it normally takes milliseconds).
const C_RELAY_START: Duration = Duration::from_secs(15);

/// How many times carbon-c-relay is started before a test gives up.
const C_RELAY_ATTEMPTS: usize = 3;

/// `n` valid series names (plain, tagged, non-ASCII, tagged non-ASCII),
/// deterministic, each starting with `prefix` (which may be empty).
pub fn sample_names(prefix: &str, n: usize) -> Vec<String> {
    const WORDS: [&str; 12] = [
        "servers", "web", "db", "cpu", "load", "disk", "used", "requests", "p99", "eu-west",
        "queue", "rate",
    ];
    const WIDE: [&str; 8] = [
        "München",
        "温度",
        "naïve",
        "Ωmega",
        "emoji🙂",
        "café",
        "данные",
        "ürün",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        // xorshift64*: a fixed, portable sequence
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as usize
    };
    let mut names = Vec::with_capacity(n);
    let mut i = 0;
    while names.len() < n {
        let a = WORDS[next() % WORDS.len()];
        let b = WORDS[next() % WORDS.len()];
        let w = WIDE[next() % WIDE.len()];
        let text = match i % 4 {
            0 | 1 => format!("{prefix}{a}.{b}{i}.{}", next() % 1000),
            2 => format!("{prefix}{a}.{b};host=h{};dc={}", i, WORDS[next() % 3]),
            _ if i % 8 == 3 => format!("{prefix}{w}.{a}{i}"),
            _ => format!("{prefix}{a}.{w};city={w}{i}"),
        };
        i += 1;
        let path = MetricPath::new(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        names.push(path.as_str().to_owned());
    }
    names
}

/// Runs carbon's own `ConsistentHashingRouter`: for each case
/// `(hash_type, replication, diverse_replicas, destinations)`, each name's
/// destinations as indices into the case's destinations, in the order
/// `getDestinations` yields them.
pub fn carbon_routes(
    cases: &[(&str, usize, bool, Vec<String>)],
    names: &[String],
) -> Vec<Vec<Vec<usize>>> {
    const SCRIPT: &str = r#"
import json, sys
from carbon.routers import ConsistentHashingRouter
from carbon.util import parseDestinations

class Settings(dict):
    __getattr__ = dict.__getitem__

req = json.load(sys.stdin)
out = []
for case in req["cases"]:
    settings = Settings(REPLICATION_FACTOR=case["replication"],
                        DIVERSE_REPLICAS=case["diverse"],
                        ROUTER_HASH_TYPE=case["hash"])
    router = ConsistentHashingRouter(settings)
    destinations = parseDestinations(case["destinations"])
    for d in destinations:
        router.addDestination(d)
    out.append([[destinations.index(d) for d in router.getDestinations(name)]
                for name in req["names"]])
json.dump(out, sys.stdout)
"#;
    let request = json!({
        "cases": cases.iter().map(|(hash, replication, diverse, destinations)| json!({
            "hash": hash, "replication": replication, "diverse": diverse, "destinations": destinations,
        })).collect::<Vec<_>>(),
        "names": names,
    });
    let out = Venv::get().run(SCRIPT, request.to_string().as_bytes());
    serde_json::from_slice(&out).expect("the router script prints JSON")
}

/// The carbon-c-relay binary, unpacked on first use from Debian's package
/// into `target/graphite-c-relay` (`apt-get download` and `dpkg -x`: no
/// root needed; `apt-get update` is run once if the download finds
/// nothing, which needs root).
///
/// Panics with what to install when it cannot be had.
pub fn c_relay_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let dir = target_dir().join("graphite-c-relay");
        let binary = dir.join("root/usr/bin/carbon-c-relay");
        fs::create_dir_all(&dir).expect("create the carbon-c-relay dir");
        let lock = File::create(dir.with_extension("lock")).expect("create the lock file");
        lock.lock().expect("lock the carbon-c-relay dir");
        if !version_ok(&binary) {
            install_c_relay(&dir);
            assert!(
                version_ok(&binary),
                "{} is not carbon-c-relay {C_RELAY_VERSION}: the rings reproduce that version",
                binary.display()
            );
        }
        drop(lock);
        binary
    })
}

fn version_ok(binary: &Path) -> bool {
    Command::new(binary)
        .arg("-v")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(C_RELAY_VERSION))
}

/// Debian's carbon-c-relay package, unpacked into `dir/root`.
fn install_c_relay(dir: &Path) {
    crate::debian::unpack(&["carbon-c-relay"], &dir.join("root"));
}

/// A carbon-c-relay cluster line: `host:port` or `host:port=instance`.
pub fn c_relay_server(destination: &graphite_proto::ring::Destination) -> String {
    let host = if destination.host().contains(':') {
        format!("[{}]", destination.host())
    } else {
        destination.host().to_owned()
    };
    match destination.instance() {
        Some(instance) => format!("{host}:{}={instance}", destination.port()),
        None => format!("{host}:{}", destination.port()),
    }
}

/// A carbon-c-relay configuration with one hash cluster of `servers` and
/// one rule sending everything there.
pub fn c_relay_config(hash: &str, replication: usize, servers: &[String]) -> String {
    let mut conf = format!("cluster ring {hash} replication {replication}\n");
    for server in servers {
        conf.push_str("    ");
        conf.push_str(server);
        conf.push('\n');
    }
    conf.push_str("    ;\nmatch * send to ring stop;\n");
    conf
}

/// `carbon-c-relay -t -f config` fed `names`: for each name, the servers
/// (`host:port` as the relay prints them) in the order it chose them.
pub fn c_relay_test_mode(config: &str, names: &[String]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let conf = dir.path().join("relay.conf");
    fs::write(&conf, config).expect("write the relay config");
    let mut input = names.join("\n");
    input.push('\n');
    let out = process::run_ok(
        Command::new(c_relay_binary())
            .arg("-t")
            .arg("-f")
            .arg(&conf),
        input.as_bytes(),
        Duration::from_secs(120),
    );
    let text = String::from_utf8_lossy(&out);
    let mut routes: Vec<Vec<String>> = Vec::with_capacity(names.len());
    let mut in_cluster = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("* -> ") {
            routes.push(Vec::new());
            in_cluster = false;
        } else if trimmed.ends_with("(ring)") {
            in_cluster = true;
        } else if in_cluster && line.starts_with("        ") && !trimmed.is_empty() {
            if let Some(route) = routes.last_mut() {
                route.push(trimmed.to_owned());
            }
        } else if !line.starts_with("        ") {
            in_cluster = false;
        }
    }
    assert_eq!(
        routes.len(),
        names.len(),
        "carbon-c-relay -t routed {} of {} names:\n{text}",
        routes.len(),
        names.len()
    );
    routes
}

/// The name a live carbon-c-relay forwards for a name without whitespace:
/// bytes outside `[A-Za-z0-9-_:#]` before the first `;` become `_`, runs of
/// `.` collapse, a leading and a final `.` go.
pub fn c_relay_rewrite(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len());
    let mut in_tags = false;
    for &b in name.as_bytes() {
        if b == b'.' {
            if out.is_empty() || out.last() == Some(&b'.') {
                continue;
            }
            out.push(b);
        } else if in_tags || b == b';' {
            in_tags = true;
            out.push(b);
        } else if b.is_ascii_alphanumeric() || b"-_:#".contains(&b) {
            out.push(b);
        } else {
            out.push(b'_');
        }
    }
    if out.last() == Some(&b'.') {
        out.pop();
    }
    out
}

/// A relay process (carbon-c-relay or Python's carbon-relay) listening for
/// plaintext on a loopback port; killed when dropped.
#[derive(Debug)]
pub struct Relay {
    dir: TempDir,
    child: Child,
    /// Plaintext TCP port.
    pub line_port: u16,
    log: PathBuf,
}

impl Relay {
    /// carbon-c-relay with `config`, one worker, submission mode (no
    /// statistics of its own).
    ///
    /// Now and then (about once in a few dozen starts on a loaded 2-core
    /// machine) carbon-c-relay 3.7.3 stops after opening its listeners and
    /// never starts its servers: such a relay is killed and started again,
    /// up to three times.
    pub fn c_relay(config: &str) -> Self {
        let mut failures = Vec::new();
        for _ in 0..C_RELAY_ATTEMPTS {
            match Self::try_c_relay(config) {
                Ok(relay) => return relay,
                Err(log) => failures.push(log),
            }
        }
        panic!(
            "carbon-c-relay did not complete its start-up in {C_RELAY_ATTEMPTS} attempts of {C_RELAY_START:?}:\n{}",
            failures.join("\n----\n")
        );
    }

    fn try_c_relay(config: &str) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("graphite-c-relay-")
            .tempdir()
            .expect("temporary directory");
        let conf = dir.path().join("relay.conf");
        fs::write(&conf, config).expect("write the relay config");
        let line_port = free_tcp_port();
        let log = dir.path().join("relay.log");
        let child = Command::new(c_relay_binary())
            .arg("-f")
            .arg(&conf)
            .args(["-p", &line_port.to_string(), "-w", "1", "-s", "-l"])
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start carbon-c-relay");
        let mut relay = Self {
            dir,
            child,
            line_port,
            log,
        };
        relay.wait_listening("carbon-c-relay");
        // It listens before its servers are started; lines routed before
        // then never reach them.
        let deadline = Instant::now() + C_RELAY_START;
        while !relay.log().contains("startup sequence complete") {
            if Instant::now() >= deadline {
                // Dropping the relay kills it.
                return Err(relay.log());
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(relay)
    }

    /// Python carbon's `carbon-relay` with `RELAY_METHOD =
    /// consistent-hashing` over `destinations` (`host:port:instance`, the
    /// caches' pickle ports).
    pub fn carbon(
        hash: &str,
        replication: usize,
        diverse_replicas: bool,
        destinations: &[String],
    ) -> Self {
        let venv = Venv::get();
        let dir = tempfile::Builder::new()
            .prefix("graphite-carbon-relay-")
            .tempdir()
            .expect("temporary directory");
        let storage = dir.path().join("storage");
        fs::create_dir_all(storage.join("log")).expect("storage dirs");
        let conf_dir = dir.path().join("conf");
        fs::create_dir_all(&conf_dir).expect("conf dir");
        let line_port = free_tcp_port();
        let s = storage.display();
        let conf = format!(
            "[relay]\n\
             STORAGE_DIR = {s}\n\
             LOCAL_DATA_DIR = {s}/whisper\n\
             LOG_DIR = {s}/log\n\
             PID_DIR = {s}\n\
             ENABLE_LOGROTATION = False\n\
             USER =\n\
             LINE_RECEIVER_INTERFACE = 127.0.0.1\n\
             LINE_RECEIVER_PORT = {line_port}\n\
             PICKLE_RECEIVER_INTERFACE = 127.0.0.1\n\
             PICKLE_RECEIVER_PORT = {pickle}\n\
             RELAY_METHOD = consistent-hashing\n\
             ROUTER_HASH_TYPE = {hash}\n\
             REPLICATION_FACTOR = {replication}\n\
             DIVERSE_REPLICAS = {diverse}\n\
             DESTINATIONS = {destinations}\n\
             DESTINATION_PROTOCOL = pickle\n\
             MAX_QUEUE_SIZE = 1000000\n\
             MAX_DATAPOINTS_PER_MESSAGE = 500\n\
             USE_FLOW_CONTROL = True\n\
             LOG_LISTENER_CONN_SUCCESS = False\n",
            pickle = free_tcp_port(),
            diverse = if diverse_replicas { "True" } else { "False" },
            destinations = destinations.join(", "),
        );
        let conf_path = conf_dir.join("carbon.conf");
        fs::write(&conf_path, conf).expect("carbon.conf");
        // Read at start-up even though a relay stores nothing.
        fs::write(
            conf_dir.join("storage-schemas.conf"),
            "[default]\npattern = .*\nretentions = 1s:1h\n",
        )
        .expect("storage-schemas.conf");
        let output = File::create(dir.path().join("output.log")).expect("output log");
        let child = Command::new(venv.python())
            .arg(venv.bin("carbon-relay.py"))
            .arg(format!("--config={}", conf_path.display()))
            .args(["--nodaemon", "start"])
            .env("GRAPHITE_ROOT", dir.path())
            .env("GRAPHITE_CONF_DIR", &conf_dir)
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("output log"))
            .stderr(output)
            .spawn()
            .expect("start carbon-relay.py");
        let log = storage.join("log/carbon-relay-a/console.log");
        let mut relay = Self {
            dir,
            child,
            line_port,
            log,
        };
        relay.wait_listening("carbon-relay");
        relay
    }

    fn wait_listening(&mut self, what: &str) {
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.line_port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{what} exited ({status}) before listening:\n{}\n{}",
                    process::drain(&mut self.child),
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not listen within {START_TIMEOUT:?}\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The relay's log and output, for failure messages.
    pub fn log(&self) -> String {
        let output = fs::read_to_string(self.dir.path().join("output.log")).unwrap_or_default();
        format!(
            "{output}{}",
            fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    /// Writes `lines` over one plain TCP connection and closes it.
    pub fn send(&self, lines: &[u8]) {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.line_port)).expect("connect to the relay");
        stream.write_all(lines).expect("write to the relay");
        stream.flush().expect("flush");
    }

    /// The relay's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        process::kill(self.child.id());
        let _ = self.child.wait();
        // carbon-c-relay's unix socket, named after its port.
        let _ = fs::remove_file(format!("/tmp/.s.carbon-c-relay.{}", self.line_port));
    }
}

/// carbon-c-relay started in front of `caches` (one instance each, `None`
/// for none), with our ring for the same configuration: the live relay's
/// own key, the rewritten name before `;`.
pub fn c_relay_in_front(
    caches: &[crate::carbon::Carbon],
    instances: &[Option<&str>],
    hash: graphite_proto::ring::HashType,
    replication: usize,
) -> (graphite_proto::ring::Ring, Relay) {
    use graphite_proto::ring::{Compat, RingConfig};
    let destinations: Vec<String> = caches
        .iter()
        .zip(instances)
        .map(|(c, i)| match i {
            Some(i) => format!("127.0.0.1:{}:{i}", c.line_port),
            None => format!("127.0.0.1:{}", c.line_port),
        })
        .collect();
    let ring = RingConfig::new(Compat::CarbonCRelay, hash)
        .replication(replication)
        .build_from_strs(&destinations)
        .expect("a ring");
    let servers: Vec<String> = ring.destinations().iter().map(c_relay_server).collect();
    let relay = Relay::c_relay(&c_relay_config(&hash.to_string(), replication, &servers));
    (ring, relay)
}

/// The names as the live carbon-c-relay forwards them, so as carbon
/// stores them.
pub fn c_relay_forwarded(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| String::from_utf8(c_relay_rewrite(n)).expect("the rewrite keeps UTF-8"))
        .collect()
}
