//! A loopback TCP receiver for the naming peers: keeps the plaintext lines
//! each connection delivered, exactly as the peer wrote them (a value's text
//! such as `11.50` matters), and can pass every connection on to a real
//! carbon-cache at the same time.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One plaintext line a peer sent: `name value timestamp`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series name, tags included, as sent.
    pub name: String,
    /// The value's text as sent (`11.50`, `7`, `0.5`, `Infinity`).
    pub value: String,
    /// The timestamp, in seconds.
    pub timestamp: i64,
}

impl Sample {
    /// Parses a plaintext line; panics naming the line if it is not
    /// `name value timestamp`.
    pub fn parse(line: &str) -> Self {
        let fields: Vec<&str> = line.split(' ').collect();
        let [name, value, timestamp] = fields[..] else {
            panic!("not a plaintext line `name value timestamp`: {line:?}");
        };
        Self {
            name: name.to_owned(),
            value: value.to_owned(),
            timestamp: timestamp
                .parse()
                .unwrap_or_else(|e| panic!("timestamp of {line:?}: {e}")),
        }
    }

    /// The value as a number (`Infinity` and `NaN` included).
    pub fn number(&self) -> f64 {
        self.value
            .parse()
            .unwrap_or_else(|e| panic!("value of {self:?}: {e}"))
    }
}

#[derive(Default)]
struct Connection {
    bytes: Vec<u8>,
    closed: bool,
}

type Shared = Arc<(Mutex<Vec<Connection>>, Condvar)>;

/// A TCP receiver on `127.0.0.1` that records each connection's lines.
pub struct LineCapture {
    addr: SocketAddr,
    state: Shared,
    stop: Arc<AtomicBool>,
}

impl LineCapture {
    /// Starts one on an ephemeral port. With `forward`, each connection is
    /// also copied, byte for byte, to a new connection to that address (a
    /// carbon-cache's plaintext port); it counts as closed once the copy is
    /// closed too.
    pub fn start(forward: Option<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the capture");
        let addr = listener.local_addr().expect("capture address");
        let state: Shared = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (accept_state, accept_stop) = (Arc::clone(&state), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::Acquire) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let index = {
                    let mut connections = accept_state.0.lock().expect("capture lock");
                    connections.push(Connection::default());
                    connections.len() - 1
                };
                let state = Arc::clone(&accept_state);
                thread::spawn(move || read_connection(stream, index, &state, forward));
            }
        });
        Self { addr, state, stop }
    }

    /// The port peers send to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The lines of every closed connection, in the order they were
    /// accepted, once `done` holds for them; after `timeout`, an error
    /// saying what was awaited and what arrived.
    pub fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&[Vec<Sample>]) -> bool,
    ) -> Result<Vec<Vec<Sample>>, String> {
        let (lock, cv) = &*self.state;
        let deadline = Instant::now() + timeout;
        let mut connections = lock.lock().expect("capture lock");
        loop {
            let closed = closed_lines(&connections);
            if done(&closed) {
                return Ok(closed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "waited {timeout:?} for {what}; received {} connection(s), closed:\n{closed:#?}",
                    connections.len()
                ));
            }
            connections = cv.wait_timeout(connections, left).expect("capture lock").0;
        }
    }

    /// The lines of the first `n` connections once all of them are closed.
    pub fn wait_closed(&self, n: usize, timeout: Duration) -> Result<Vec<Vec<Sample>>, String> {
        let mut all = self.wait_until(timeout, &format!("{n} closed connection(s)"), |c| {
            c.len() >= n
        })?;
        all.truncate(n);
        Ok(all)
    }
}

/// The lines of the closed connections up to the first still open.
fn closed_lines(connections: &[Connection]) -> Vec<Vec<Sample>> {
    connections
        .iter()
        .take_while(|c| c.closed)
        .map(|c| {
            let text = std::str::from_utf8(&c.bytes).expect("peers write UTF-8");
            text.lines()
                .filter(|l| !l.is_empty())
                .map(Sample::parse)
                .collect()
        })
        .collect()
}

impl Drop for LineCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Unblock the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
    }
}

fn read_connection(
    mut stream: TcpStream,
    index: usize,
    state: &(Mutex<Vec<Connection>>, Condvar),
    forward: Option<SocketAddr>,
) {
    let mut copy =
        forward.map(|to| TcpStream::connect(to).expect("connect to the forward address"));
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(copy) = copy.as_mut() {
                    copy.write_all(&buf[..n]).expect("forward to carbon");
                }
                state.0.lock().expect("capture lock")[index]
                    .bytes
                    .extend_from_slice(&buf[..n]);
            }
        }
    }
    if let Some(copy) = copy {
        let _ = copy.shutdown(Shutdown::Write);
    }
    let (lock, cv) = state;
    lock.lock().expect("capture lock")[index].closed = true;
    cv.notify_all();
}
