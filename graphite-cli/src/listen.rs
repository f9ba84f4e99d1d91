//! The debug listener: a stand-in carbon that decodes what it receives with
//! the core's decoders and reports each datapoint or bad input.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

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
}

impl std::fmt::Display for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Datapoint(dp) => write!(f, "{} {} {}", dp.path, dp.value, dp.timestamp),
            Self::Error { peer, message } => write!(f, "error from {peer}: {message}"),
        }
    }
}

/// A running listener; what it receives arrives on [`Listener::received`].
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    received: Receiver<Received>,
}

impl Listener {
    /// Binds `addr` for `protocol` and starts receiving on background threads.
    pub fn bind(addr: SocketAddr, protocol: Protocol) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let local = if protocol.is_stream() {
            let listener = TcpListener::bind(addr)?;
            let local = listener.local_addr()?;
            let pickle = protocol == Protocol::Pickle;
            thread::Builder::new()
                .name("graphite-listen".into())
                .spawn(move || accept_loop(&listener, pickle, &tx))?;
            local
        } else {
            let socket = UdpSocket::bind(addr)?;
            let local = socket.local_addr()?;
            thread::Builder::new()
                .name("graphite-listen".into())
                .spawn(move || udp_loop(&socket, &tx))?;
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

fn accept_loop(listener: &TcpListener, pickle: bool, tx: &Sender<Received>) {
    for stream in listener.incoming().flatten() {
        let tx = tx.clone();
        let _ = thread::Builder::new()
            .name("graphite-listen-conn".into())
            .spawn(move || read_stream(stream, pickle, &tx));
    }
}

fn read_stream(mut stream: TcpStream, pickle: bool, tx: &Sender<Received>) {
    let Ok(peer) = stream.peer_addr() else { return };
    let error = |message: String| Received::Error { peer, message };
    let mut lines = PlaintextDecoder::new();
    let mut frames = PickleDecoder::new();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut chunk = vec![0_u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        if pickle {
            loop {
                match frames.decode(&mut buf) {
                    Ok(Some(frame)) => {
                        for item in frame {
                            let _ = tx.send(
                                item.map_or_else(|e| error(e.to_string()), Received::Datapoint),
                            );
                        }
                    }
                    Ok(None) => break,
                    Err(e @ FrameError::TooLarge { .. }) => {
                        // As carbon does: the stream cannot be resynchronised.
                        let _ = tx.send(error(format!("{e}; closing the connection")));
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(error(e.to_string()));
                    }
                }
            }
        } else {
            while let Some(r) = lines.decode(&mut buf) {
                let _ = tx.send(r.map_or_else(|e| error(e.to_string()), Received::Datapoint));
            }
        }
    }
    if !buf.is_empty() {
        let what = if pickle { "frame" } else { "line" };
        let _ = tx.send(error(format!(
            "connection closed inside a {what} ({} bytes discarded)",
            buf.len()
        )));
    }
}

fn udp_loop(socket: &UdpSocket, tx: &Sender<Received>) {
    let mut datagram = vec![0_u8; 65_536];
    while let Ok((n, peer)) = socket.recv_from(&mut datagram) {
        for r in decode_datagram(&datagram[..n]) {
            let item = r.map_or_else(
                |e| Received::Error {
                    peer,
                    message: e.to_string(),
                },
                Received::Datapoint,
            );
            let _ = tx.send(item);
        }
    }
}
