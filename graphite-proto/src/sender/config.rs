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
/// a datapoint twice is harmless for carbon-cache, and replaying the last
/// seconds turns "lost in a restart" into "stored". The window is by age and
/// size, not by TCP acknowledgement, for that reason.
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
/// What replay cannot save: a carbon's in-memory cache, lost when carbon
/// itself crashes, holds everything it has read but not yet written to
/// whisper. That is carbon's to protect; the window saves it only when
/// `max_age` is longer than carbon's write lag (a carbon minutes behind
/// needs a window of minutes, and `max_bytes` to match its rate).
///
/// Switch it off ([`SenderConfig::replay`] = `None`) when the peer is a
/// carbon-aggregator or anything else that sums or counts what it receives:
/// there a duplicate is a wrong value. The stats then report how many
/// datapoints were written shortly before each connection loss and may be
/// missing ([`Stats::unconfirmed`](crate::sender::Stats::unconfirmed)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayWindow {
    /// Keep batches written during this long (default 2 s).
    pub max_age: Duration,
    /// Bytes carbon may have received but not yet read (its socket's
    /// receive queue), kept whatever their age on top of what our own
    /// kernel still holds (default 1 MiB). See below.
    pub peer_unread: usize,
    /// Keep at most this many bytes (default 6 MiB: Linux's default
    /// send-queue maximum, `net.ipv4.tcp_wmem`'s 4 MiB, plus `peer_unread`
    /// and a margin; raise it if you raised that); the oldest go first.
    pub max_bytes: usize,
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(2),
            peer_unread: 1 << 20,
            max_bytes: 6 << 20,
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
    /// Most bytes buffered, replay copies included (default 10 MiB: the
    /// default replay window's 6 MiB and 4 MiB waiting to be written).
    pub buffer_capacity: usize,
    /// A batch is written once it reaches this many bytes (default 64 KiB;
    /// for pickle at most the frame limit, for UDP the datagram size)...
    pub batch_size: usize,
    /// ...or this long after its first datapoint, whichever is first
    /// (default 100 ms).
    pub batch_delay: Duration,
    /// When the buffer is full (default [`OverflowPolicy::DropNewest`]).
    pub overflow: OverflowPolicy,
    /// Replay window (default on, 2 s / 4 MiB; always off for UDP).
    pub replay: Option<ReplayWindow>,
    /// Delays between connection attempts.
    pub backoff: Backoff,
    /// Give up a connection attempt after this long (default 5 s).
    pub connect_timeout: Duration,
    /// A connection that accepts no byte for this long while data waits is
    /// treated as down (default 10 s): a peer that stopped reading.
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
            buffer_capacity: 10 << 20,
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
