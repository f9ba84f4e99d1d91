//! An in-process carbon stand-in on loopback: records every byte each
//! connection delivers, and can stop reading (a stalled carbon) or refuse.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use graphite_proto::Datapoint;
use graphite_proto::pickle::PickleDecoder;
use graphite_proto::plaintext::PlaintextDecoder;
use graphite_proto::udp::decode_datagram;

#[derive(Default)]
struct State {
    /// Bytes received, one entry per connection (or per datagram for UDP).
    streams: Vec<Vec<u8>>,
    total: usize,
}

/// A TCP (or UDP) sink on `127.0.0.1`.
pub struct Sink {
    addr: SocketAddr,
    udp: bool,
    state: Arc<(Mutex<State>, Condvar)>,
    reading: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Sink {
    /// A TCP sink: accepts connections and reads everything.
    pub fn tcp() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind sink");
        let addr = listener.local_addr().expect("sink address");
        let sink = Self::with_addr(addr, false);
        let (state, reading, stop) = (
            Arc::clone(&sink.state),
            Arc::clone(&sink.reading),
            Arc::clone(&sink.stop),
        );
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::Acquire) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let index = {
                    let mut s = state.0.lock().expect("sink lock");
                    s.streams.push(Vec::new());
                    s.streams.len() - 1
                };
                let (state, reading) = (Arc::clone(&state), Arc::clone(&reading));
                thread::spawn(move || read_connection(stream, index, &state, &reading));
            }
        });
        sink
    }

    /// A UDP sink: records every datagram.
    pub fn udp() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind sink");
        let addr = socket.local_addr().expect("sink address");
        let sink = Self::with_addr(addr, true);
        let state = Arc::clone(&sink.state);
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let stop = Arc::clone(&sink.stop);
        thread::spawn(move || {
            let mut buf = vec![0_u8; 65_536];
            while !stop.load(Ordering::Acquire) {
                if let Ok(n) = socket.recv(&mut buf) {
                    let (lock, cv) = &*state;
                    let mut s = lock.lock().expect("sink lock");
                    s.streams.push(buf[..n].to_vec());
                    s.total += n;
                    cv.notify_all();
                }
            }
        });
        sink
    }

    fn with_addr(addr: SocketAddr, udp: bool) -> Self {
        Self {
            addr,
            udp,
            state: Arc::new((Mutex::new(State::default()), Condvar::new())),
            reading: Arc::new(AtomicBool::new(true)),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The sink's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops or resumes reading from connections (a stalled carbon).
    pub fn set_reading(&self, reading: bool) {
        self.reading.store(reading, Ordering::Release);
    }

    /// Bytes received so far.
    pub fn total_bytes(&self) -> usize {
        self.state.0.lock().expect("sink lock").total
    }

    /// Waits until at least `bytes` bytes arrived, or panics after `timeout`.
    pub fn wait_for_bytes(&self, bytes: usize, timeout: Duration) {
        let (lock, cv) = &*self.state;
        let deadline = Instant::now() + timeout;
        let mut s = lock.lock().expect("sink lock");
        while s.total < bytes {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "sink got {} of {bytes} bytes in {timeout:?}",
                s.total
            );
            s = cv.wait_timeout(s, left).expect("sink lock").0;
        }
    }

    /// Every datapoint received, decoded per connection as carbon would
    /// (`pickle` frames or plaintext lines; a torn tail is discarded), with
    /// the number of malformed lines or frames.
    pub fn datapoints(&self, pickle: bool) -> (Vec<Datapoint>, usize) {
        let s = self.state.0.lock().expect("sink lock");
        let mut out = Vec::new();
        let mut bad = 0;
        for stream in &s.streams {
            if self.udp {
                for r in decode_datagram(stream) {
                    match r {
                        Ok(dp) => out.push(dp),
                        Err(_) => bad += 1,
                    }
                }
                continue;
            }
            let mut buf = BytesMut::from(&stream[..]);
            if pickle {
                let mut decoder = PickleDecoder::new();
                loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(frame)) => {
                            for r in frame {
                                match r {
                                    Ok(dp) => out.push(dp),
                                    Err(_) => bad += 1,
                                }
                            }
                        }
                        Ok(None) => break,
                        Err(_) => {
                            bad += 1;
                            break;
                        }
                    }
                }
            } else {
                let mut decoder = PlaintextDecoder::new();
                while let Some(r) = decoder.decode(&mut buf) {
                    match r {
                        Ok(dp) => out.push(dp),
                        Err(_) => bad += 1,
                    }
                }
            }
        }
        (out, bad)
    }

    /// Connections accepted so far (TCP).
    pub fn connections(&self) -> usize {
        self.state.0.lock().expect("sink lock").streams.len()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Unblock the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
    }
}

fn read_connection(
    mut stream: TcpStream,
    index: usize,
    state: &(Mutex<State>, Condvar),
    reading: &AtomicBool,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        if !reading.load(Ordering::Acquire) {
            // A stalled carbon: leave the bytes in the kernel's buffers.
            thread::park_timeout(Duration::from_millis(20));
            continue;
        }
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let (lock, cv) = state;
                let mut s = lock.lock().expect("sink lock");
                s.streams[index].extend_from_slice(&buf[..n]);
                s.total += n;
                cv.notify_all();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}
