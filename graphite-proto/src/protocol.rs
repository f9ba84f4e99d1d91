//! Which of carbon's receivers to talk to.

use std::fmt;
use std::str::FromStr;

/// Carbon's three ingestion protocols.
///
/// ```
/// use graphite_proto::Protocol;
///
/// assert_eq!(Protocol::Pickle.default_port(), 2004);
/// assert_eq!("udp".parse::<Protocol>()?, Protocol::Udp);
/// # Ok::<(), graphite_proto::ParseProtocolError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// `metric value timestamp` lines over TCP (carbon's `LINE_RECEIVER_PORT`).
    #[default]
    Plaintext,
    /// Length-prefixed pickle frames over TCP (`PICKLE_RECEIVER_PORT`).
    Pickle,
    /// Plaintext lines in UDP datagrams (`UDP_RECEIVER_PORT`). No delivery
    /// guarantee: a lost datagram is lost silently by the network.
    Udp,
}

impl Protocol {
    /// Carbon's default port for the protocol: 2003 for plaintext and UDP,
    /// 2004 for pickle.
    pub const fn default_port(self) -> u16 {
        match self {
            Self::Plaintext | Self::Udp => 2003,
            Self::Pickle => 2004,
        }
    }

    /// Whether the protocol runs over a stream (TCP) rather than datagrams.
    pub const fn is_stream(self) -> bool {
        !matches!(self, Self::Udp)
    }

    /// The lower-case name (`plaintext`, `pickle`, `udp`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Pickle => "pickle",
            Self::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A protocol name that is not `plaintext`, `pickle` or `udp`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol {0:?}: expected plaintext, pickle or udp")]
pub struct ParseProtocolError(pub String);

impl FromStr for Protocol {
    type Err = ParseProtocolError;
    fn from_str(s: &str) -> Result<Self, ParseProtocolError> {
        match s.to_ascii_lowercase().as_str() {
            "plaintext" | "line" | "tcp" => Ok(Self::Plaintext),
            "pickle" => Ok(Self::Pickle),
            "udp" => Ok(Self::Udp),
            _ => Err(ParseProtocolError(s.to_owned())),
        }
    }
}
