//! A loopback TCP sink that reads and discards, counting bytes: the far end
//! of every end-to-end measurement.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Accepts any number of connections and discards what they send.
pub(crate) struct DiscardSink {
    addr: SocketAddr,
    received: Arc<AtomicU64>,
}

impl DiscardSink {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind sink");
        let addr = listener.local_addr().expect("sink address");
        let received = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&received);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let counter = Arc::clone(&counter);
                thread::spawn(move || {
                    let mut buf = vec![0_u8; 256 << 10];
                    while let Ok(n @ 1..) = stream.read(&mut buf) {
                        counter.fetch_add(n as u64, Ordering::Relaxed);
                    }
                });
            }
        });
        Self { addr, received }
    }

    /// Where to connect.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Bytes received so far, over every connection.
    pub(crate) fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Waits until `bytes` have arrived in all; false after `timeout`.
    pub(crate) fn wait_for(&self, bytes: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.received() < bytes {
            if Instant::now() >= deadline {
                return false;
            }
            // A tight poll: the sink's progress is the event, and a sleep
            // would add its own granularity to the measurement.
            thread::yield_now();
        }
        true
    }

    /// Waits until nothing has arrived for `quiet`, and returns the total.
    pub(crate) fn settle(&self, quiet: Duration, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        let mut last = self.received();
        let mut since = Instant::now();
        while Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
            let now = self.received();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                break;
            }
        }
        last
    }
}
