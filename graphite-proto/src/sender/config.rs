//! [`SenderConfig`]: every knob of the background sender, with defaults.

use std::time::Duration;

use crate::naming::Naming;
use crate::path::NameError;
use crate::pickle::DEFAULT_MAX_FRAME_LEN;
use crate::protocol::Protocol;
use crate::udp::DEFAULT_MAX_DATAGRAM_LEN;

use super::spool::Spool;

/// What `push` does when the buffer is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// Refuse the new datapoint and count it as dropped (default): the
    /// application never waits, and what is already buffered is kept.
    DropNewest,
    /// Make room by dropping the oldest buffered batch (replay copies
    /// first), counting its datapoints as dropped.
    DropOldest,
    /// Make the caller wait for room, up to the given time; then the new
    /// datapoint is dropped and counted. Adapters wait asynchronously (async)
    /// or block the thread (blocking).
    Wait(Duration),
}

/// The replay window: what was written recently is kept and written again
/// after a reconnect.
///
/// Bytes the kernel accepted, even bytes the peer acknowledged, can be lost
/// when carbon dies: they may sit unread in its socket buffer or unwritten in
/// its cache. Graphite stores one value per series and timestamp, so writing
/// a datapoint twice is harmless for carbon-cache, and replaying what carbon
/// may not have stored turns "lost in a restart" into "stored". The window
/// is by age and size, not by TCP acknowledgement, for that reason.
///
/// # The defaults: the last 12 MiB, up to 60 s
///
/// What a SIGKILLed carbon loses is mostly its cache: everything it has
/// read but not yet written to whisper. Its writer is throttled by
/// `MAX_UPDATES_PER_SECOND` (500 in carbon's example configuration), one
/// series per update, so with `S` series in its cache a write pass takes
/// about `S / 500` seconds: 2 s for 1,000 series, 20 s for 10,000, and
/// minutes on a busy carbon. Measured here (`tests/tests/lagging_carbon.rs`:
/// 1,000 series, 20,000 points a second, the writer throttled to 100
/// updates a second), carbon's writer was 5 s behind 6 s into the stream
/// and 7.5-8.6 s behind 3.5 s after a restart (median over the series;
/// 82,000 and 140,000-150,000 points received but not on disk) when it was
/// killed. So the window's time bound must be carbon's lag, not the
/// network's: 60 s by default, with room for a carbon slower than that
/// test's.
///
/// The byte bound is the memory budget that time needs. A typical service
/// (a few thousand series every 10 s, about 40 bytes a line) writes 1 to
/// 2 MB a minute: the whole 60 s fit in a few MiB. A bulk send (a backfill,
/// `graphite send` of a file) writes as fast as carbon reads, up to
/// 10-12 MB/s (carbon parses about 300,000 lines a second), and the
/// 200,000-point restart storm writes 6-9 MB in 10 s: 12 MiB covers that
/// storm with a carbon 10 s behind, and the last second of a bulk send at
/// carbon's full speed. Whichever bound is reached first wins: a slow
/// sender replays its last 60 s, a fast one its last 12 MiB.
///
/// Age counts only while connected (a long outage does not age the
/// window out), and is counted from a batch's *first* write: a replay
/// does not renew it. So however often reconnects fail during a replay,
/// the same batches are not replayed for ever; the window shrinks as
/// connected time passes.
///
/// # What the network holds
///
/// Besides the last `max_age`, the window always keeps what may still sit
/// in the network when the connection dies: the bytes our kernel has not
/// had acknowledged (its send queue, which the adapter reports after every
/// write: exact on Linux through `SIOCOUTQ`, bounded by `SO_SNDBUF`
/// elsewhere) plus `peer_unread`, an allowance for what carbon's kernel has
/// acknowledged but carbon has not read. A carbon that falls behind is
/// exactly such a reader: its receive queue grows up to its host's
/// `net.ipv4.tcp_rmem` maximum, so raise `peer_unread` towards that for
/// full coverage of a slow carbon (at 300 KB/s, loopback's receive queue
/// held under 100 KB; ours, 4 MB).
///
/// What replay cannot save: a carbon further behind than the window (more
/// than `max_age`, or more than `max_bytes` of what you send). Raise both
/// for a carbon minutes behind, and [`SenderConfig::buffer_capacity`] with
/// them: the window's copies count against the buffer.
///
/// Switch it off ([`SenderConfig::replay`] = `None`) when the peer is a
/// carbon-aggregator or anything else that sums or counts what it receives:
/// there a duplicate is a wrong value. The stats then report how many
/// datapoints were written shortly before each connection loss and may be
/// missing ([`Stats::unconfirmed`](crate::sender::Stats::unconfirmed)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayWindow {
    /// Keep batches first written during the last this long of connected
    /// time (default 60 s: longer than a busy carbon's writer lags).
    pub max_age: Duration,
    /// Bytes carbon may have received but not yet read (its socket's
    /// receive queue), kept whatever their age on top of what our own
    /// kernel still holds (default 1 MiB). See below.
    pub peer_unread: usize,
    /// Keep at most this many bytes, whatever their age (default 12 MiB:
    /// 10 s of the 200,000-point storm with margin, and more than Linux's
    /// default send-queue maximum, `net.ipv4.tcp_wmem`'s 4 MiB, plus
    /// `peer_unread`); the oldest go first.
    pub max_bytes: usize,
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(60),
            peer_unread: 1 << 20,
            max_bytes: 12 << 20,
        }
    }
}

/// Exponential backoff between connection attempts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The first delay (default 100 ms).
    pub initial: Duration,
    /// The largest delay (default 10 s).
    pub max: Duration,
    /// Fraction of each delay that is random, 0.0 to 1.0 (default 0.5), so
    /// that many clients do not reconnect in step.
    pub jitter: f64,
    /// Seed of the jitter's random sequence (tests pass a fixed one).
    pub seed: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            jitter: 0.5,
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

/// Configuration of a [`Sender`](crate::sender::Sender).
///
/// Every field has a documented default ([`SenderConfig::new`]); set fields
/// directly or with the `with_*` methods, then [`validate`](Self::validate).
///
/// ```
/// use std::time::Duration;
/// use graphite_proto::{sender::{OverflowPolicy, SenderConfig}, Protocol};
///
/// let config = SenderConfig::new(Protocol::Pickle)
///     .with_buffer_capacity(16 << 20)
///     .with_batch_delay(Duration::from_millis(50))
///     .with_overflow(OverflowPolicy::DropOldest);
/// config.validate()?;
/// # Ok::<(), graphite_proto::sender::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SenderConfig {
    /// Wire protocol (default plaintext).
    pub protocol: Protocol,
    /// Most bytes buffered, replay copies included (default 16 MiB: the
    /// default replay window's 12 MiB and 4 MiB waiting to be written, 5 s
    /// of the 200,000-point storm).
    pub buffer_capacity: usize,
    /// A batch is written once it reaches this many bytes (default 64 KiB;
    /// for pickle at most the frame limit, for UDP the datagram size)...
    pub batch_size: usize,
    /// ...or this long after its first datapoint, whichever is first
    /// (default 100 ms).
    pub batch_delay: Duration,
    /// When the buffer is full (default [`OverflowPolicy::DropNewest`]).
    pub overflow: OverflowPolicy,
    /// Replay window (default on, the last 12 MiB up to 60 s; always off
    /// for UDP).
    pub replay: Option<ReplayWindow>,
    /// Delays between connection attempts.
    pub backoff: Backoff,
    /// Give up a connection attempt after this long (default 5 s).
    pub connect_timeout: Duration,
    /// A connection whose peer acknowledges nothing for this long while
    /// data waits is treated as down (default 10 s): a peer that stopped
    /// reading. Where the adapter reports the socket's send queue
    /// ([`Sender::on_send_queue`](crate::sender::Sender::on_send_queue)),
    /// a queue that shrinks is progress, however slowly the peer reads;
    /// elsewhere only a completed write is. The queue is sampled every
    /// [`sample_period`](Self::sample_period) while a write waits, so a
    /// stalled peer is detected within `write_timeout` plus one period.
    pub write_timeout: Duration,
    /// Reconnect this often even when healthy (default never), so that a
    /// load balancer spreads long-lived clients; DNS is resolved again.
    pub reconnect_interval: Option<Duration>,
    /// Pickle payload limit (default carbon's 1 MiB).
    pub max_frame_len: usize,
    /// UDP datagram size (default 1,432).
    pub max_datagram_len: usize,
    /// Prefix and default tags applied to every datapoint (default none).
    pub naming: Naming,
    /// A disk spool for what memory cannot hold (default none): see
    /// [`Spool`].
    pub spool: Option<Spool>,
}

/// A configuration that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The buffer cannot hold two batches, so one could never be filled
    /// while another is written.
    #[error("buffer capacity {capacity} must hold at least two batches of {batch} bytes")]
    BufferTooSmall {
        /// The buffer capacity.
        capacity: usize,
        /// The effective batch size.
        batch: usize,
    },
    /// A batch cannot hold even the longest possible line.
    #[error("batch size {0} is smaller than 64 bytes")]
    BatchTooSmall(usize),
    /// The spool cannot hold two batches.
    #[error("spool limit {max_bytes} must hold at least two batches of {batch} bytes")]
    SpoolTooSmall {
        /// The spool's byte limit.
        max_bytes: u64,
        /// The effective batch size.
        batch: usize,
    },
}

impl SenderConfig {
    /// The defaults for `protocol`.
    pub fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            buffer_capacity: 16 << 20,
            batch_size: 64 << 10,
            batch_delay: Duration::from_millis(100),
            overflow: OverflowPolicy::DropNewest,
            replay: Some(ReplayWindow::default()),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            reconnect_interval: None,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            max_datagram_len: DEFAULT_MAX_DATAGRAM_LEN,
            naming: Naming::default(),
            spool: None,
        }
    }

    /// Sets [`spool`](Self::spool): spill to disk what memory cannot hold,
    /// and send it when carbon takes it again, also after a restart.
    #[must_use = "returns the new configuration"]
    pub fn with_spool(mut self, spool: Spool) -> Self {
        self.spool = Some(spool);
        self
    }

    /// Prepends `prefix` and a `.` to every name (see [`Naming`]).
    #[must_use = "returns the new configuration"]
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self, NameError> {
        self.naming = self.naming.with_prefix(prefix)?;
        Ok(self)
    }

    /// Adds these tags to every series that does not set them (see
    /// [`Naming`]).
    #[must_use = "returns the new configuration"]
    pub fn with_default_tags<I, K, V>(mut self, tags: I) -> Result<Self, NameError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.naming = self.naming.with_default_tags(tags)?;
        Ok(self)
    }

    /// Sets [`buffer_capacity`](Self::buffer_capacity).
    #[must_use = "returns the new configuration"]
    pub fn with_buffer_capacity(mut self, bytes: usize) -> Self {
        self.buffer_capacity = bytes;
        self
    }

    /// Sets [`batch_size`](Self::batch_size).
    #[must_use = "returns the new configuration"]
    pub fn with_batch_size(mut self, bytes: usize) -> Self {
        self.batch_size = bytes;
        self
    }

    /// Sets [`batch_delay`](Self::batch_delay).
    #[must_use = "returns the new configuration"]
    pub fn with_batch_delay(mut self, delay: Duration) -> Self {
        self.batch_delay = delay;
        self
    }

    /// Sets [`overflow`](Self::overflow).
    #[must_use = "returns the new configuration"]
    pub fn with_overflow(mut self, policy: OverflowPolicy) -> Self {
        self.overflow = policy;
        self
    }

    /// Sets [`replay`](Self::replay); `None` switches replay off.
    #[must_use = "returns the new configuration"]
    pub fn with_replay(mut self, window: Option<ReplayWindow>) -> Self {
        self.replay = window;
        self
    }

    /// Sets [`backoff`](Self::backoff).
    #[must_use = "returns the new configuration"]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use = "returns the new configuration"]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`write_timeout`](Self::write_timeout).
    #[must_use = "returns the new configuration"]
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`reconnect_interval`](Self::reconnect_interval).
    #[must_use = "returns the new configuration"]
    pub fn with_reconnect_interval(mut self, interval: Option<Duration>) -> Self {
        self.reconnect_interval = interval;
        self
    }

    /// Sets [`max_frame_len`](Self::max_frame_len).
    #[must_use = "returns the new configuration"]
    pub fn with_max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// Sets [`max_datagram_len`](Self::max_datagram_len).
    #[must_use = "returns the new configuration"]
    pub fn with_max_datagram_len(mut self, bytes: usize) -> Self {
        self.max_datagram_len = bytes;
        self
    }

    /// The largest batch actually built: `batch_size`, capped by the pickle
    /// frame limit, or the datagram size for UDP.
    pub fn effective_batch_size(&self) -> usize {
        match self.protocol {
            Protocol::Udp => self.max_datagram_len,
            Protocol::Pickle => self.batch_size.min(self.max_frame_len + 4),
            Protocol::Plaintext => self.batch_size,
        }
    }

    /// How often the send queue is sampled while a write waits or the
    /// queue holds bytes: a fifth of [`write_timeout`](Self::write_timeout),
    /// at most 1 s (1 s by default). Short enough that a stall is detected
    /// soon after `write_timeout`, long enough that a blocked write is not
    /// interrupted more than once a second.
    pub fn sample_period(&self) -> Duration {
        (self.write_timeout / 5).clamp(Duration::from_millis(1), Duration::from_secs(1))
    }

    /// The replay window in force: none for UDP, where nothing tells a lost
    /// datagram from a delivered one.
    pub fn effective_replay(&self) -> Option<ReplayWindow> {
        if self.protocol.is_stream() {
            self.replay
        } else {
            None
        }
    }

    /// Checks that the settings can work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let batch = self.effective_batch_size();
        if batch < 64 {
            return Err(ConfigError::BatchTooSmall(batch));
        }
        if self.buffer_capacity < 2 * batch {
            return Err(ConfigError::BufferTooSmall {
                capacity: self.buffer_capacity,
                batch,
            });
        }
        if let Some(spool) = &self.spool
            && spool.max_bytes < 2 * (batch as u64 + super::spool::RECORD_OVERHEAD)
        {
            return Err(ConfigError::SpoolTooSmall {
                max_bytes: spool.max_bytes,
                batch,
            });
        }
        Ok(())
    }
}
