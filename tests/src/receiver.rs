//! A receiver that can crash: reads TCP at a set byte rate and appends
//! every byte it reads to a file at once (one file per connection), so that
//! what a SIGKILL loses is exactly what sat in the kernel's buffers.

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::carbon::free_tcp_port;
use crate::process;
use crate::python::Venv;

/// argv: port, directory, bytes per second (0: as fast as it can).
const SCRIPT: &str = r#"
import os, socket, sys, time
port, folder, rate = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
print("ready", flush=True)
chunk = 65536 if rate == 0 else max(1024, min(65536, int(rate / 50)))
n = 0
while True:
    conn, _ = srv.accept()
    n += 1
    out = os.open(os.path.join(folder, "%d-%d" % (os.getpid(), n)), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    start, got = time.time(), 0
    while True:
        data = conn.recv(chunk)
        if not data:
            break
        os.write(out, data)
        got += len(data)
        if rate:
            ahead = got / rate - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
    os.close(out)
    conn.close()
"#;

/// A crashable, rate-limited receiver on a loopback port.
pub struct CrashReceiver {
    /// Its port.
    pub port: u16,
    rate: u64,
    folder: TempDir,
    child: Option<Child>,
}

impl CrashReceiver {
    /// Starts one reading `rate` bytes a second (0: as fast as it can).
    pub fn start(rate: u64) -> Self {
        let mut receiver = Self {
            port: free_tcp_port(),
            rate,
            folder: tempfile::tempdir().expect("temp dir"),
            child: None,
        };
        receiver.launch();
        receiver
    }

    /// Starts the process (again) and waits until it listens.
    pub fn launch(&mut self) {
        let mut child = Command::new(Venv::get().python())
            .arg("-c")
            .arg(SCRIPT)
            .arg(self.port.to_string())
            .arg(self.folder.path())
            .arg(self.rate.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python starts");
        let mut ready = String::new();
        let stdout = child.stdout.take().expect("piped");
        BufReader::new(stdout)
            .read_line(&mut ready)
            .expect("receiver output");
        assert_eq!(ready.trim(), "ready", "{}", process::drain(&mut child));
        self.child = Some(child);
    }

    /// The process id, while running (to stop it with SIGSTOP).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILLs it: what its kernel held unread is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::kill(child.id());
            let _ = child.wait();
        }
    }

    /// The distinct whole lines received so far, over every connection (a
    /// torn last line of a connection is not counted, as carbon would not).
    pub fn lines(&self) -> HashSet<String> {
        let mut lines = HashSet::new();
        for entry in fs::read_dir(self.folder.path()).expect("folder").flatten() {
            let text = fs::read(entry.path()).unwrap_or_default();
            let end = text.iter().rposition(|&b| b == b'\n').unwrap_or(0);
            let whole = &text[..end];
            for line in whole.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                lines.insert(String::from_utf8_lossy(line).into_owned());
            }
        }
        lines
    }

    /// Every whole line received, duplicates included.
    pub fn line_count(&self) -> usize {
        fs::read_dir(self.folder.path())
            .expect("folder")
            .flatten()
            .map(|entry| {
                let text = fs::read(entry.path()).unwrap_or_default();
                text.iter().filter(|&&b| b == b'\n').count()
            })
            .sum()
    }

    /// Waits until `want` distinct lines arrived or `timeout` passed.
    pub fn wait_for(&self, want: usize, timeout: Duration) -> HashSet<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let lines = self.lines();
            if lines.len() >= want || Instant::now() >= deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Where the files are (for failure messages).
    pub fn folder(&self) -> PathBuf {
        self.folder.path().to_owned()
    }
}

impl Drop for CrashReceiver {
    fn drop(&mut self) {
        self.kill();
    }
}
