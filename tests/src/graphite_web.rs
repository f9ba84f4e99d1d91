//! graphite-web 1.1.10 (from PyPI, in the test venv) serving a carbon's
//! whisper files on loopback: its render API and its tag database, which
//! carbon fills when started with [`CarbonOptions::tag_db`](crate::carbon::CarbonOptions).
//!
//! Configured through the environment only (`GRAPHITE_ROOT`,
//! `GRAPHITE_STORAGE_DIR`, `GRAPHITE_CONF_DIR`): the Django database
//! (sqlite) and the logs go into the carbon's storage directory, so each
//! test's pair is independent and removed with the carbon.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::process;
use crate::python::Venv;

/// How long graphite-web may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running graphite-web (Django's development server, one process).
///
/// Dropping it kills the process.
#[derive(Debug)]
pub struct GraphiteWeb {
    child: Child,
    port: u16,
}

impl GraphiteWeb {
    /// Creates the database under `storage` (carbon's storage directory,
    /// whose `whisper/` it serves) and starts the server on `port`.
    pub fn start(storage: &Path, port: u16) -> Self {
        let venv = Venv::get();
        let root = storage
            .parent()
            .map_or_else(|| storage.to_path_buf(), Path::to_path_buf);
        let conf = root.join("graphite-web-conf");
        std::fs::create_dir_all(storage.join("log/webapp")).expect("graphite-web log dir");
        std::fs::create_dir_all(&conf).expect("graphite-web conf dir");
        let env = |cmd: &mut Command| {
            cmd.env("GRAPHITE_ROOT", &root)
                .env("GRAPHITE_STORAGE_DIR", storage)
                .env("GRAPHITE_CONF_DIR", &conf)
                .env("DJANGO_SETTINGS_MODULE", "graphite.settings");
        };
        let mut migrate = Command::new(venv.bin("django-admin"));
        migrate.args(["migrate", "--noinput"]);
        env(&mut migrate);
        process::run_ok(&mut migrate, b"", Duration::from_secs(120));
        let mut serve = Command::new(venv.bin("django-admin"));
        serve
            .args(["runserver", &format!("127.0.0.1:{port}"), "--noreload"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        env(&mut serve);
        let child = serve.spawn().expect("start graphite-web");
        let mut web = Self { child, port };
        web.wait_serving();
        web
    }

    fn wait_serving(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.try_get("/tags").is_some() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let stderr = process::drain(&mut self.child);
                panic!("graphite-web exited ({status}) before serving:\n{stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "graphite-web did not serve within {START_TIMEOUT:?}"
            );
            // Django says it is ready only on stderr; a request is the
            // event we can observe.
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Its URL, for carbon's `GRAPHITE_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The body of `GET path_and_query` if the answer is 200.
    fn try_get(&self, path_and_query: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        write!(
            stream,
            "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        (head.split(' ').nth(1) == Some("200")).then(|| body.to_owned())
    }

    /// `GET path_and_query` as JSON; panics unless it answers 200 with JSON.
    pub fn get_json(&self, path_and_query: &str) -> serde_json::Value {
        let body = self
            .try_get(path_and_query)
            .unwrap_or_else(|| panic!("graphite-web: GET {path_and_query} failed"));
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("graphite-web: {path_and_query}: {e}: {body}"))
    }

    /// The tagged series matching a tag expression (`name=a.b`,
    /// `service.name=checkout`), from its tag database.
    pub fn find_series(&self, expr: &str) -> Vec<String> {
        let value = self.get_json(&format!("/tags/findSeries?expr={}", encode(expr)));
        serde_json::from_value(value).expect("a list of series")
    }

    /// `/render?target=…&format=json` from `from` to `until` (Unix
    /// seconds): each series' name and its `(timestamp, value)` points
    /// that hold a value.
    pub fn render(&self, target: &str, from: i64, until: i64) -> Vec<(String, Vec<(i64, f64)>)> {
        let value = self.get_json(&format!(
            "/render?target={}&format=json&from={from}&until={until}",
            encode(target)
        ));
        let series: Vec<serde_json::Value> = serde_json::from_value(value).expect("a list");
        series
            .into_iter()
            .map(|s| {
                let name = s["target"].as_str().unwrap_or_default().to_owned();
                let points = s["datapoints"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| Some((p[1].as_i64()?, p[0].as_f64()?)))
                    .collect();
                (name, points)
            })
            .collect()
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Drop for GraphiteWeb {
    fn drop(&mut self) {
        process::kill(self.child.id());
        let _ = self.child.wait();
    }
}
