//! [`AsyncIo`]: the runtime seam over async-net's sockets and async-io's
//! timers, which smol and async-std share.

use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use async_net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
use graphite_driver::{BoxFuture, Connecting, Link, Runtime, SpawnError, Spawned};

/// A stream you bring (TLS, Unix socket, ...), in futures-io terms.
pub trait ByoStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByoStream for T {}

/// Runs a task on the executor of your choice.
type Spawner = dyn Fn(BoxFuture<'static, ()>) + Send + Sync;

/// The async-io reactor (smol, async-std), as the driver sees it. It
/// depends on neither executor: give it yours with
/// [`with_spawner`](Self::with_spawner), or start senders with
/// `Sender::start` and spawn their task yourself.
#[derive(Clone, Default)]
pub struct AsyncIo {
    spawner: Option<Arc<Spawner>>,
}

impl fmt::Debug for AsyncIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncIo")
            .field("spawns", &self.spawner.is_some())
            .finish()
    }
}

impl AsyncIo {
    /// The reactor without an executor: `Sender::spawn` fails with
    /// [`SpawnError::NoRuntime`]; use `Sender::start`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The reactor with the executor `spawn` runs tasks on, for instance
    /// `|task| smol::spawn(task).detach()` or
    /// `|task| { async_std::task::spawn(task); }`.
    pub fn with_spawner(spawn: impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static) -> Self {
        Self {
            spawner: Some(Arc::new(spawn)),
        }
    }
}

/// A connection on async-io: a socket this crate connected, or your stream.
enum AsyncIoLink {
    Tcp(TcpStream),
    Udp(Async<UdpSocket>),
    Custom(Box<dyn ByoStream>),
}

/// Your stream (TLS, a Unix socket, ...) as a connection for
/// [`Client::from_link`](graphite_driver::Client::from_link).
pub fn link_from_stream(stream: impl ByoStream + 'static) -> Box<dyn Link> {
    Box::new(AsyncIoLink::Custom(Box::new(stream)))
}

impl Runtime for AsyncIo {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            Timer::at(deadline).await;
        })
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) -> Result<Spawned, SpawnError> {
        let spawn = self.spawner.as_ref().ok_or_else(|| {
            SpawnError::NoRuntime(
                "AsyncIo has no executor: use AsyncIo::with_spawner or Sender::start".into(),
            )
        })?;
        spawn(task);
        Ok(Spawned::Detached)
    }

    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        let host = host.to_owned();
        Box::pin(async move { async_net::resolve((host.as_str(), port)).await })
    }

    fn connect_tcp(&self, addr: SocketAddr, _: Duration) -> Connecting {
        Box::pin(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(AsyncIoLink::Tcp(stream)) as Box<dyn Link>)
        })
    }

    fn connect_udp(&self, local: SocketAddr, peer: SocketAddr) -> Connecting {
        let socket = Async::<UdpSocket>::bind(local).and_then(|s| {
            s.get_ref().connect(peer)?;
            Ok(Box::new(AsyncIoLink::Udp(s)) as Box<dyn Link>)
        });
        Box::pin(std::future::ready(socket))
    }
}

impl Link for AsyncIoLink {
    fn poll_write(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Self::Tcp(stream) => Pin::new(stream).poll_write(cx, bytes),
            Self::Custom(stream) => Pin::new(stream).poll_write(cx, bytes),
            Self::Udp(socket) => loop {
                match socket.get_ref().send(bytes) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        ready!(socket.poll_writable(cx))?;
                    }
                    sent => return Poll::Ready(sent),
                }
            },
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            Self::Custom(stream) => Pin::new(stream).poll_flush(cx),
            Self::Udp(_) => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(stream) => Pin::new(stream).poll_close(cx),
            Self::Custom(stream) => Pin::new(stream).poll_close(cx),
            Self::Udp(_) => Poll::Ready(Ok(())),
        }
    }

    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Self::Tcp(stream) = self else {
            return Poll::Pending;
        };
        // Carbon sends nothing: bytes read are dropped.
        let mut scratch = [0_u8; 256];
        loop {
            match ready!(Pin::new(&mut *stream).poll_read(cx, &mut scratch)) {
                Ok(0) => return Poll::Ready(io::ErrorKind::ConnectionReset.into()),
                Ok(_) => {}
                Err(e) => return Poll::Ready(e),
            }
        }
    }

    fn send_queue(&self) -> Option<usize> {
        match self {
            Self::Tcp(stream) => graphite_driver::send_queue(stream),
            _ => None,
        }
    }
}
