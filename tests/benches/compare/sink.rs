//! A loopback TCP sink that reads and discards, counting bytes: the far end
//! of every end-to-end measurement.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Accepts any number of connections and discards what they send.
pub(crate) struct DiscardSink {
    addr: SocketAddr,
    received: Arc<AtomicU64>,
    /// Nanoseconds after the sink started at which the latest bytes arrived.
    last_arrival: Arc<AtomicU64>,
    /// The sink's start on the wall clock, to compare with another
    /// process's clock.
    epoch_unix: f64,
}

impl DiscardSink {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind sink");
        let addr = listener.local_addr().expect("sink address");
        let received = Arc::new(AtomicU64::new(0));
        let last_arrival = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let epoch_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let (counter, last) = (Arc::clone(&received), Arc::clone(&last_arrival));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (counter, last) = (Arc::clone(&counter), Arc::clone(&last));
                // Named, so a profile tells the sink's work from the sender's.
                let reader = thread::Builder::new().name("sink".to_owned());
                let _ = reader.spawn(move || {
                    let mut buf = vec![0_u8; 256 << 10];
                    while let Ok(n @ 1..) = stream.read(&mut buf) {
                        last.fetch_max(epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
                        counter.fetch_add(n as u64, Ordering::Relaxed);
                    }
                });
            }
        });
        Self {
            addr,
            received,
            last_arrival,
            epoch_unix,
        }
    }

    /// When the latest bytes arrived, in Unix seconds (wall clock).
    pub(crate) fn last_arrival_unix(&self) -> f64 {
        self.epoch_unix + self.last_arrival.load(Ordering::Relaxed) as f64 / 1e9
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
