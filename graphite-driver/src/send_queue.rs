//! How many bytes a TCP socket still holds in its send queue: written by
//! us, not yet acknowledged by the peer. The replay window keeps at least
//! that much (plus an allowance for the peer's unread receive queue), so a
//! reconnect re-sends everything the old connection may have left
//! undelivered.

use std::io;

/// The socket's send queue in bytes: exact on Linux (`SIOCOUTQ`: unsent
/// plus unacknowledged); elsewhere the send buffer's size (`SO_SNDBUF`),
/// which bounds the queue from above. `None` when the socket cannot tell.
#[cfg(unix)]
pub fn send_queue(socket: &impl std::os::fd::AsFd) -> Option<usize> {
    queued(socket.as_fd()).ok()
}

/// The socket's send queue in bytes; see the unix version. On Windows the
/// send buffer's size (`SO_SNDBUF`), an upper bound.
#[cfg(windows)]
pub fn send_queue(socket: &impl std::os::windows::io::AsSocket) -> Option<usize> {
    socket2::SockRef::from(socket).send_buffer_size().ok()
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn queued(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut bytes: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (the value of TIOCOUTQ) reads a socket's send queue
    // length into one `c_int`; `bytes` is a valid, writable `c_int` for the
    // whole call and `fd` is a socket borrowed for it. No crate offers this
    // ioctl safely (socket2, rustix and nix have no wrapper for it).
    let result = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCOUTQ, &mut bytes) };
    if result == 0 {
        Ok(usize::try_from(bytes).unwrap_or(0))
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn queued(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<usize> {
    socket2::SockRef::from(&fd).send_buffer_size()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn an_unread_peer_leaves_bytes_in_the_send_queue() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut stream = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (_peer, _) = listener.accept().expect("accept");
        assert_eq!(super::send_queue(&stream), Some(0));
        stream.set_nonblocking(true).expect("nonblocking");
        let mut written = 0;
        while let Ok(n) = stream.write(&[b'x'; 65536]) {
            written += n;
        }
        let queued = super::send_queue(&stream).expect("queue");
        assert!(queued > 0 && queued <= written, "{queued} of {written}");
    }
}
