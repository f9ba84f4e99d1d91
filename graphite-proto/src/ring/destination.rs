//! A carbon destination as carbon's `DESTINATIONS` writes it:
//! `host:port[:instance]`, its `host:port` read by [`Address`].

use std::fmt;
use std::str::FromStr;

use crate::address::{Address, AddressError, check_host_bytes};

/// One carbon (a cache or a relay) in a ring: host, port and an optional
/// instance name.
///
/// Parsed from carbon's `DESTINATIONS` syntax, `host:port[:instance]`, with
/// an IPv6 host in brackets (`[::1]:2004:a`). Python carbon places a
/// destination on its ring by host and instance (never the port);
/// carbon-c-relay by host and instance (`carbon_ch`), by instance or else
/// host and port (`fnv1a_ch`), or by the order of instances
/// (`jump_fnv1a_ch`).
///
/// Host and instance are restricted to printable ASCII without whitespace,
/// brackets or (outside brackets) `:`, so that every ring key is the same
/// bytes Python's `repr` and C's `snprintf` would make.
///
/// ```
/// use graphite_proto::ring::Destination;
///
/// let d: Destination = "10.0.0.1:2004:a".parse()?;
/// assert_eq!((d.host(), d.port(), d.instance()), ("10.0.0.1", 2004, Some("a")));
/// let v6: Destination = "[::1]:2004".parse()?;
/// assert_eq!((v6.host(), v6.instance()), ("::1", None));
/// assert_eq!(v6.to_string(), "[::1]:2004");
/// assert!("10.0.0.1".parse::<Destination>().is_err());
/// # Ok::<(), graphite_proto::ring::DestinationError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Destination {
    host: String,
    port: u16,
    instance: Option<String>,
}

/// Why a destination was refused.
///
/// ```
/// use graphite_proto::ring::{Destination, DestinationError};
/// assert_eq!(
///     "h:1:a b".parse::<Destination>(),
///     Err(DestinationError::InvalidByte { byte: b' ', offset: 5 })
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// Nothing was given.
    #[error("destination is empty; expected host:port[:instance]")]
    Empty,
    /// The host was empty.
    #[error("destination has an empty host; expected host:port[:instance]")]
    EmptyHost,
    /// No `:port` followed the host.
    #[error("destination has no port; expected host:port[:instance]")]
    MissingPort,
    /// An IPv6 host opened with `[` had no `]:` after it.
    #[error("destination opens '[' without a closing ']:'")]
    UnclosedBracket,
    /// The port was not a number from 1 to 65535.
    #[error("port {text:?} is not a number from 1 to 65535")]
    InvalidPort {
        /// The port as written.
        text: String,
    },
    /// `host:port:` with nothing after the last colon.
    #[error("destination has an empty instance after the last ':'")]
    EmptyInstance,
    /// A byte that cannot appear in a host or an instance.
    #[error(
        "byte 0x{byte:02X} at offset {offset} cannot appear in a destination's host or instance"
    )]
    InvalidByte {
        /// The byte.
        byte: u8,
        /// Its offset in the text.
        offset: usize,
    },
}

impl From<AddressError> for DestinationError {
    /// The `host:port` part's error, as a destination reports it.
    fn from(e: AddressError) -> Self {
        match e {
            AddressError::Empty => Self::Empty,
            AddressError::UnclosedBracket { .. } | AddressError::AfterBracket { .. } => {
                Self::UnclosedBracket
            }
            AddressError::InvalidPort { text, .. } => Self::InvalidPort { text },
            AddressError::InvalidByte { byte, offset } => Self::InvalidByte { byte, offset },
            // EmptyHost, and what cannot happen once the instance is cut off
            // (a second ':' outside brackets).
            _ => Self::EmptyHost,
        }
    }
}

/// An instance name: printable ASCII, no whitespace, no brackets.
fn check_instance(text: &str, base: usize) -> Result<(), DestinationError> {
    check_host_bytes(text, base, true)
        .map_err(|(byte, offset)| DestinationError::InvalidByte { byte, offset })
}

impl Destination {
    /// A destination without an instance.
    ///
    /// ```
    /// use graphite_proto::ring::Destination;
    /// let d = Destination::new("127.0.0.1", 2004)?;
    /// assert_eq!(d.to_string(), "127.0.0.1:2004");
    /// # Ok::<(), graphite_proto::ring::DestinationError>(())
    /// ```
    pub fn new(host: &str, port: u16) -> Result<Self, DestinationError> {
        let address = Address::new(host, Some(port))?;
        Ok(Self {
            host: address.host().to_owned(),
            port,
            instance: None,
        })
    }

    /// The same destination with an instance name.
    ///
    /// ```
    /// use graphite_proto::ring::Destination;
    /// let d = Destination::new("127.0.0.1", 2004)?.with_instance("a")?;
    /// assert_eq!(d.to_string(), "127.0.0.1:2004:a");
    /// # Ok::<(), graphite_proto::ring::DestinationError>(())
    /// ```
    pub fn with_instance(mut self, instance: &str) -> Result<Self, DestinationError> {
        if instance.is_empty() {
            return Err(DestinationError::EmptyInstance);
        }
        check_instance(instance, 0)?;
        self.instance = Some(instance.to_owned());
        Ok(self)
    }

    /// The host: a name or an address (IPv6 without its brackets).
    ///
    /// ```
    /// let d: graphite_proto::ring::Destination = "[::1]:2004".parse().unwrap();
    /// assert_eq!(d.host(), "::1");
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    ///
    /// ```
    /// let d: graphite_proto::ring::Destination = "a:2004".parse().unwrap();
    /// assert_eq!(d.port(), 2004);
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The instance name, if any.
    ///
    /// ```
    /// let d: graphite_proto::ring::Destination = "a:2004:b:c".parse().unwrap();
    /// assert_eq!(d.instance(), Some("b:c"));
    /// ```
    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }
}

impl FromStr for Destination {
    type Err = DestinationError;

    /// Carbon's `parseDestination`: `host:port[:instance]`, the instance
    /// being everything after the colon that follows the port; an IPv6
    /// host in brackets. Surrounding whitespace is ignored, as carbon
    /// strips it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lead = text.len() - text.trim_start().len();
        let s = text.trim();
        if s.is_empty() {
            return Err(DestinationError::Empty);
        }
        // `host:port` is read by Address; the instance is what follows the
        // colon after the port.
        let port_at = if s.starts_with('[') {
            let close = s.find(']').ok_or(DestinationError::UnclosedBracket)?;
            (s.as_bytes().get(close + 1) == Some(&b':')).then_some(close + 2)
        } else {
            s.find(':').map(|colon| colon + 1)
        };
        let Some(port_at) = port_at else {
            return match s.parse::<Address>() {
                Ok(_) => Err(DestinationError::MissingPort),
                Err(e) => Err(e.shifted(lead).into()),
            };
        };
        let end = s[port_at..].find(':').map_or(s.len(), |i| port_at + i);
        let address: Address = s[..end]
            .parse()
            .map_err(|e: AddressError| e.shifted(lead))?;
        let port = address.port().ok_or(DestinationError::MissingPort)?;
        let instance = match s.get(end + 1..) {
            None => None,
            Some("") => return Err(DestinationError::EmptyInstance),
            Some(name) => {
                check_instance(name, lead + end + 1)?;
                Some(name.to_owned())
            }
        };
        Ok(Self {
            host: address.host().to_owned(),
            port,
            instance,
        })
    }
}

impl fmt::Display for Destination {
    /// Carbon's syntax again, so that parsing the output gives the same
    /// destination.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "{}:{}", self.host, self.port)?;
        }
        if let Some(instance) = &self.instance {
            write!(f, ":{instance}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_carbon_destinations() {
        let d: Destination = " 127.0.0.1:2004 ".parse().expect("valid");
        assert_eq!(
            (d.host(), d.port(), d.instance()),
            ("127.0.0.1", 2004, None)
        );
        let d: Destination = "[fe80::1]:2104:b".parse().expect("valid");
        assert_eq!(
            (d.host(), d.port(), d.instance()),
            ("fe80::1", 2104, Some("b"))
        );
        assert_eq!(d.to_string(), "[fe80::1]:2104:b");
    }

    #[test]
    fn refuses_with_a_reason() {
        use DestinationError as E;
        let err = |s: &str| s.parse::<Destination>().expect_err("refused");
        assert_eq!(err(""), E::Empty);
        assert_eq!(err("host"), E::MissingPort);
        assert_eq!(err(":2003"), E::EmptyHost);
        assert_eq!(err("[::1:2003"), E::UnclosedBracket);
        assert_eq!(err("h:0"), E::InvalidPort { text: "0".into() });
        assert_eq!(err("h:+1"), E::InvalidPort { text: "+1".into() });
        assert_eq!(
            err("h:65536"),
            E::InvalidPort {
                text: "65536".into()
            }
        );
        assert_eq!(err("h:1:"), E::EmptyInstance);
        assert!("h'x:1".parse::<Destination>().is_ok(), "repr quotes it");
        assert_eq!(
            err("h:1:a b"),
            E::InvalidByte {
                byte: b' ',
                offset: 5
            }
        );
        assert_eq!(
            err("h\u{e9}:1"),
            E::InvalidByte {
                byte: 0xC3,
                offset: 1
            }
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(text in ".{0,40}") {
            if let Ok(d) = text.parse::<Destination>() {
                prop_assert_eq!(d.to_string().parse::<Destination>(), Ok(d));
            }
        }
    }
}
