//! The debug listener: a stand-in carbon that decodes what it receives with
//! the core's decoders and reports each datapoint, and bad input: by
//! default one report per run of refusals (a frame, a datagram, the bad
//! lines between two good ones, or at most a second's worth of them), with
//! how many and the first reason; with [`Detail::Every`], each one.

use std::fmt;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use graphite_proto::pickle::{FrameError, PickleDecoder};
use graphite_proto::plaintext::PlaintextDecoder;
use graphite_proto::udp::decode_datagram;
use graphite_proto::{Datapoint, Protocol};

/// One thing the listener received.
#[derive(Debug)]
pub enum Received {
    /// A valid datapoint.
    Datapoint(Datapoint),
    /// A bad line, item or frame, with the peer it came from.
    Error {
        /// The sender's address.
        peer: SocketAddr,
        /// What was wrong.
        message: String,
    },
    /// Several bad lines or items in a row, summarised.
    Refused {
        /// The sender's address.
        peer: SocketAddr,
        /// How many were refused.
        count: u64,
        /// Lines, or the items of one frame or datagram.
        of: Refusals,
        /// Why the first one was.
        first: String,
    },
}

/// What a [`Received::Refused`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusals {
    /// Lines of a plaintext stream, in a row.
    Lines,
    /// Items of one pickle frame or one datagram, of this many.
    Items {
        /// Items in the frame or datagram.
        of: usize,
    },
}

impl fmt::Display for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Datapoint(dp) => write!(f, "{} {} {}", dp.path, dp.value, dp.timestamp),
            Self::Error { peer, message } => write!(f, "error from {peer}: {message}"),
            Self::Refused {
                peer,
                count,
                of: Refusals::Lines,
                first,
            } => write!(
                f,
                "error from {peer}: {count} lines refused in a row; the first: {first}"
            ),
            Self::Refused {
                peer,
                count,
                of: Refusals::Items { of },
                first,
            } => write!(
                f,
                "error from {peer}: {count} of {of} items refused; the first: {first}"
            ),
        }
    }
}

/// How much the listener says about bad input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    /// One report per run of refusals: how many, and the first reason.
    #[default]
    Summary,
    /// One report per bad line or item.
    Every,
}

/// Refusals in a row from one peer, reported as one [`Received`].
struct Run<'a> {
    tx: &'a Sender<Received>,
    peer: SocketAddr,
    detail: Detail,
    count: u64,
    first: Option<String>,
    started: Instant,
}

/// A run of lines is reported at least this often while it goes on.
const RUN_REPORT_INTERVAL: Duration = Duration::from_secs(1);

impl<'a> Run<'a> {
    fn new(tx: &'a Sender<Received>, peer: SocketAddr, detail: Detail) -> Self {
        Self {
            tx,
            peer,
            detail,
            count: 0,
            first: None,
            started: Instant::now(),
        }
    }

    /// One more refusal; its reason is formatted only if it is reported.
    fn refuse(&mut self, reason: &dyn fmt::Display) {
        if self.detail == Detail::Every {
            self.send(Received::Error {
                peer: self.peer,
                message: reason.to_string(),
            });
            return;
        }
        if self.first.is_none() {
            self.first = Some(reason.to_string());
            self.started = Instant::now();
        }
        self.count += 1;
    }

    /// Reports the run so far, if any: alone, a refusal reads as before.
    fn report(&mut self, of: Refusals) {
        let Some(first) = self.first.take() else {
            return;
        };
        let count = std::mem::take(&mut self.count);
        let item = if count == 1 {
            Received::Error {
                peer: self.peer,
                message: first,
            }
        } else {
            Received::Refused {
                peer: self.peer,
                count,
                of,
                first,
            }
        };
        self.send(item);
    }

    /// Reports a run of lines that has gone on for a while.
    fn report_if_old(&mut self) {
        if self.first.is_some() && self.started.elapsed() >= RUN_REPORT_INTERVAL {
            self.report(Refusals::Lines);
        }
    }

    fn send(&self, item: Received) {
        let _ = self.tx.send(item);
    }
}

/// A running listener; what it receives arrives on [`Listener::received`].
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    received: Receiver<Received>,
}

impl Listener {
    /// Binds `addr` for `protocol` and starts receiving on background
    /// threads, summarising bad input ([`Detail::Summary`]).
    pub fn bind(addr: SocketAddr, protocol: Protocol) -> io::Result<Self> {
        Self::bind_with(addr, protocol, Detail::Summary)
    }

    /// Binds `addr` for `protocol`, reporting bad input as `detail` says.
    pub fn bind_with(addr: SocketAddr, protocol: Protocol, detail: Detail) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let local = if protocol.is_stream() {
            let listener = TcpListener::bind(addr)?;
            let local = listener.local_addr()?;
            let pickle = protocol == Protocol::Pickle;
            thread::Builder::new()
                .name("graphite-listen".into())
                .spawn(move || accept_loop(&listener, pickle, detail, &tx))?;
            local
        } else {
            let socket = UdpSocket::bind(addr)?;
            let local = socket.local_addr()?;
            thread::Builder::new()
                .name("graphite-listen".into())
                .spawn(move || udp_loop(&socket, detail, &tx))?;
            local
        };
        Ok(Self {
            addr: local,
            received: rx,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// What was received, in arrival order.
    pub fn received(&self) -> &Receiver<Received> {
        &self.received
    }
}

fn accept_loop(listener: &TcpListener, pickle: bool, detail: Detail, tx: &Sender<Received>) {
    for stream in listener.incoming().flatten() {
        let tx = tx.clone();
        let _ = thread::Builder::new()
            .name("graphite-listen-conn".into())
            .spawn(move || read_stream(stream, pickle, detail, &tx));
    }
}

fn read_stream(mut stream: TcpStream, pickle: bool, detail: Detail, tx: &Sender<Received>) {
    let Ok(peer) = stream.peer_addr() else { return };
    // Woken at least this often, so that a run of bad lines is reported
    // while the peer is quiet.
    let _ = stream.set_read_timeout(Some(RUN_REPORT_INTERVAL));
    let mut run = Run::new(tx, peer, detail);
    let mut lines = PlaintextDecoder::new();
    let mut frames = PickleDecoder::new();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut chunk = vec![0_u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                run.report(Refusals::Lines);
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        buf.extend_from_slice(&chunk[..n]);
        if pickle {
            loop {
                match frames.decode(&mut buf) {
                    Ok(Some(frame)) => {
                        let of = frame.len();
                        for item in frame {
                            match item {
                                Ok(dp) => run.send(Received::Datapoint(dp)),
                                Err(e) => run.refuse(&e),
                            }
                        }
                        run.report(Refusals::Items { of });
                    }
                    Ok(None) => break,
                    Err(e @ FrameError::TooLarge { .. }) => {
                        // As carbon does: the stream cannot be resynchronised.
                        run.send(Received::Error {
                            peer,
                            message: format!("{e}; closing the connection"),
                        });
                        return;
                    }
                    Err(e) => run.send(Received::Error {
                        peer,
                        message: e.to_string(),
                    }),
                }
            }
        } else {
            while let Some(r) = lines.decode(&mut buf) {
                match r {
                    Ok(dp) => {
                        // In order: the bad lines before this one first.
                        run.report(Refusals::Lines);
                        run.send(Received::Datapoint(dp));
                    }
                    Err(e) => run.refuse(&e),
                }
            }
            run.report_if_old();
        }
    }
    run.report(Refusals::Lines);
    if !buf.is_empty() {
        let what = if pickle { "frame" } else { "line" };
        run.send(Received::Error {
            peer,
            message: format!(
                "connection closed inside a {what} ({} bytes discarded)",
                buf.len()
            ),
        });
    }
}

fn udp_loop(socket: &UdpSocket, detail: Detail, tx: &Sender<Received>) {
    let mut datagram = vec![0_u8; 65_536];
    while let Ok((n, peer)) = socket.recv_from(&mut datagram) {
        let mut run = Run::new(tx, peer, detail);
        let mut of = 0;
        for r in decode_datagram(&datagram[..n]) {
            of += 1;
            match r {
                Ok(dp) => run.send(Received::Datapoint(dp)),
                Err(e) => run.refuse(&e),
            }
        }
        run.report(Refusals::Items { of });
    }
}
