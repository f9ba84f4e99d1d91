//! [`ClientConfig`]: the direct client's settings.

use std::time::Duration;

use crate::naming::Naming;
use crate::path::NameError;
use crate::pickle::DEFAULT_MAX_FRAME_LEN;
use crate::protocol::Protocol;
use crate::udp::DEFAULT_MAX_DATAGRAM_LEN;

/// Settings of a direct client, with documented defaults.
///
/// ```
/// use std::time::Duration;
/// use graphite_proto::{client::ClientConfig, Protocol};
///
/// let config = ClientConfig::new(Protocol::Pickle)
///     .with_prefix("prod.web1")?
///     .with_default_tags([("dc", "eu")])?
///     .with_write_timeout(Duration::from_secs(2));
/// assert_eq!(config.protocol.default_port(), 2004);
/// # Ok::<(), graphite_proto::NameError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Wire protocol (default plaintext).
    pub protocol: Protocol,
    /// Per-address connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Bound on all the writes of one `send` or `send_multiple` call
    /// (default 10 s).
    pub write_timeout: Duration,
    /// Prefix and default tags applied to every name (default none).
    pub naming: Naming,
    /// Pickle payload limit (default carbon's 1 MiB).
    pub max_frame_len: usize,
    /// UDP datagram size (default 1,432).
    pub max_datagram_len: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self::new(Protocol::Plaintext)
    }
}

impl ClientConfig {
    /// Defaults for `protocol`.
    pub fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            connect_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            naming: Naming::default(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            max_datagram_len: DEFAULT_MAX_DATAGRAM_LEN,
        }
    }

    /// Sets [`protocol`](Self::protocol).
    #[must_use = "returns the new configuration"]
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
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
}
