//! What the state machine asks of its adapter: [`Output`], and the
//! [`Event`]s worth logging.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use super::spool::SpoolOp;

/// The next thing the adapter must do, from
/// [`Sender::poll_output`](super::Sender::poll_output).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Output {
    /// Resolve the host again (every time: addresses change) and connect,
    /// within [`SenderConfig::connect_timeout`](super::SenderConfig::connect_timeout);
    /// report with [`Sender::on_connected`](super::Sender::on_connected) or
    /// [`Sender::on_connect_failed`](super::Sender::on_connect_failed).
    Connect,
    /// Write these bytes (or a prefix of them) and report with
    /// [`Sender::on_written`](super::Sender::on_written); for UDP, send them
    /// as one datagram. While the write waits, race it against
    /// [`Sender::poll_timeout`](super::Sender::poll_timeout) and against
    /// new calls on the sender (a flush or close deadline may have come
    /// closer): when either fires first, abandon the write and report the
    /// send queue with [`Sender::on_send_queue`](super::Sender::on_send_queue).
    /// Until one of these reports, the bytes are the transport's: pushes
    /// from other threads never spill or evict the batch they belong to.
    Transmit(Bytes),
    /// Drop the current connection (write timeout, deadline passed mid
    /// frame, or a periodic reconnect). A `Connect` follows when needed.
    Disconnect,
    /// Everything is flushed (or dropped at the deadline): shut the
    /// connection down cleanly and stop driving the sender.
    Close,
    /// Do this to the disk spool (configured with
    /// [`SenderConfig::with_spool`](super::SenderConfig::with_spool)), off
    /// the application's thread, and report with
    /// [`Sender::on_spool_done`](super::Sender::on_spool_done). One is given
    /// at a time.
    Spool(SpoolOp),
    /// Something to log.
    Event(Event),
}

/// Something worth logging, produced once per occurrence (not per
/// datapoint).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The connection was lost or could not be made; an outage begins.
    /// Reported once per outage, however many attempts fail.
    OutageStarted {
        /// What failed first.
        error: String,
        /// Datapoints waiting in the buffer.
        buffered: u64,
    },
    /// Connected again after an outage.
    Recovered {
        /// How long the outage lasted.
        outage: Duration,
        /// Failed connection attempts during it.
        failed_attempts: u64,
        /// Datapoints queued again from the replay window.
        replaying: u64,
        /// Datapoints dropped during the outage.
        dropped: u64,
        /// With replay off: datapoints written just before the loss that
        /// may be missing.
        unconfirmed: u64,
    },
    /// The spool failed an operation: what it was, and the error. After a
    /// failed append, nothing is spilled for a second.
    SpoolFailed {
        /// The operation (`append`, `read`, `remove`, `sync`).
        op: &'static str,
        /// The error.
        error: String,
    },
    /// Connections keep failing before the replay that follows each
    /// reconnect is written. Reported once, at the second failure in a
    /// row, until a replay completes. Meanwhile reconnects back off (a
    /// replay's writes do not reset the backoff, only finishing it does);
    /// nothing undelivered is dropped for it, and replay copies leave the
    /// window by their first write's age, so the same window is not
    /// replayed for ever.
    ReplayInterrupted {
        /// Connections lost in a row with a replay unfinished.
        failures: u64,
        /// Datapoints still to replay.
        replaying: u64,
        /// When the next attempt comes.
        retry_in: Duration,
    },
}

impl Event {
    /// Whether the event reports trouble (log it as a warning).
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            Self::OutageStarted { .. } | Self::ReplayInterrupted { .. } | Self::SpoolFailed { .. }
        )
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutageStarted { error, buffered } => {
                write!(
                    f,
                    "graphite connection lost ({error}); buffering, {buffered} datapoints waiting"
                )
            }
            Self::Recovered {
                outage,
                failed_attempts,
                replaying,
                dropped,
                unconfirmed,
            } => write!(
                f,
                "graphite connection recovered after {outage:.1?} ({failed_attempts} failed attempts): \
                 replaying {replaying} datapoints, {dropped} dropped during the outage, {unconfirmed} unconfirmed"
            ),
            Self::SpoolFailed { op, error } => write!(f, "graphite spool {op} failed: {error}"),
            Self::ReplayInterrupted {
                failures,
                replaying,
                retry_in,
            } => write!(
                f,
                "graphite connection lost {failures} times in a row during a replay \
                 ({replaying} datapoints still to replay): backing off, next attempt in {retry_in:.1?}; \
                 nothing is dropped for it"
            ),
        }
    }
}
