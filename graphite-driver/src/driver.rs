//! The drive loop, written once for every runtime (a thread runs it under
//! [`block_on`](crate::thread::block_on)): it executes the core's
//! [`Output`]s and races each wait against the core's next timer and the
//! handles' wake-ups. It decides nothing itself.

use std::sync::Arc;

use futures_lite::FutureExt;
use graphite_proto::Protocol;
use graphite_proto::sender::Output;

use crate::connect::connect;
use crate::handle::Driver;
use crate::runtime::ops;
use crate::spool_log::SpoolLog;
use crate::{Link, Runtime, Target};

/// What interrupted a wait.
enum Wake {
    /// The peer closed the connection.
    PeerClosed(std::io::Error),
    /// A timer, a wake-up, or nothing to wait for.
    Poll,
}

/// Runs `driver` against `target` until the core says [`Output::Close`].
pub(crate) async fn drive(
    driver: Driver,
    runtime: Arc<dyn Runtime>,
    target: Target,
    protocol: Protocol,
    mut spool: Option<SpoolLog>,
) {
    if let Some(spool) = spool.as_mut() {
        // What an earlier sender left, before anything is spilled or read.
        let (records, torn) = spool.recover();
        driver.spool_recovered(&records, torn);
    }
    let mut link: Option<Box<dyn Link>> = None;
    loop {
        let wake = driver.listen_wake();
        let urgent = driver.listen_urgent();
        let turn = driver.turn();
        let timer = async {
            match turn.deadline {
                Some(at) => runtime.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        match (turn.output, link.as_deref_mut()) {
            (Some(Output::Connect), _) => {
                let timeout = driver.connect_timeout();
                let result = connect(&*runtime, &target.host, target.port, protocol, timeout).await;
                driver.connected(result.map(|l| link = Some(l)));
            }
            (Some(Output::Transmit(bytes)), Some(l)) => {
                // A peer that has gone is seen before writing into its socket.
                if let Some(e) = ops::peer_closed(l) {
                    link = None;
                    driver.failed(&e);
                    continue;
                }
                let write = async { Some(ops::write(l, &bytes).await) };
                let interrupted = async {
                    timer.or(urgent).await;
                    None
                };
                let written = write.or(interrupted).await;
                // Let go of the bytes before reporting: the core takes the
                // buffer back for reuse only if nobody else holds it.
                drop(bytes);
                match written {
                    Some(Ok(n)) => driver.wrote(n, l.send_queue()),
                    Some(Err(e)) => {
                        link = None;
                        driver.failed(&e);
                    }
                    // A timer (a send-queue sample is due) or a wake-up:
                    // the core judges the waiting write by the queue.
                    None => driver.sampled(l.send_queue()),
                }
            }
            (Some(Output::Disconnect), _) => link = None,
            (Some(Output::Spool(op)), _) => {
                // Blocking file I/O on the driver's task, never on the
                // application's thread: appends go to the page cache.
                let result = match spool.as_mut() {
                    Some(spool) => spool.apply(op),
                    None => Err(std::io::Error::other("no spool open")),
                };
                driver.spool_done(result);
            }
            (Some(Output::Close), l) => {
                if let Some(l) = l {
                    let _ = ops::shutdown(l).await;
                }
                return;
            }
            (output, Some(l)) => {
                debug_assert!(output.is_none(), "{output:?}");
                let peer = async { Wake::PeerClosed(ops::closed(l).await) };
                let other = async {
                    timer.or(wake).await;
                    Wake::Poll
                };
                match peer.or(other).await {
                    Wake::PeerClosed(e) => {
                        link = None;
                        driver.failed(&e);
                    }
                    // The queue still draining is sampled too.
                    Wake::Poll => driver.sampled(l.send_queue()),
                }
            }
            (output, None) => {
                debug_assert!(output.is_none(), "{output:?}");
                timer.or(wake).await;
            }
        }
    }
}
