//! `host[:port]`: where a carbon listens, as a user writes it.
//!
//! The one parser of that syntax: the command line's `--to`, the metrics
//! exporter's address and the host and port of a ring's
//! [`Destination`](crate::ring::Destination) all read it here.

use std::fmt;
use std::str::FromStr;

/// A carbon's host and, when given, its port: `host`, `host:port`, `[v6]` or
/// `[v6]:port`.
///
/// The host is a name or an address, printable ASCII without whitespace or
/// brackets; an IPv6 address goes in brackets (a bare `::1:2003` could be an
/// address or an address and a port). The port, when written, is a number
/// from 1 to 65535. No surrounding whitespace is allowed.
///
/// ```
/// use graphite_proto::{Address, Protocol};
///
/// let a: Address = "carbon.example:2004".parse()?;
/// assert_eq!((a.host(), a.port()), ("carbon.example", Some(2004)));
/// let v6: Address = "[::1]".parse()?;
/// assert_eq!((v6.host(), v6.port_or(Protocol::Plaintext.default_port())), ("::1", 2003));
/// assert_eq!(v6.to_string(), "[::1]");
/// # Ok::<(), graphite_proto::AddressError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    host: String,
    port: Option<u16>,
}

/// Why a `host[:port]` was refused. Offsets count bytes from the start of
/// the text given to the parser.
///
/// ```
/// use graphite_proto::{Address, AddressError};
/// assert_eq!(
///     "carbon:20x4".parse::<Address>(),
///     Err(AddressError::InvalidPort { text: "20x4".into(), offset: 7 })
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Nothing was given.
    #[error("address is empty; expected host[:port]")]
    Empty,
    /// The host was empty (`:2003`, `[]`).
    #[error("address has an empty host; expected host[:port]")]
    EmptyHost,
    /// A `[` that opens an IPv6 host has no `]`.
    #[error("'[' at offset {offset} has no closing ']'")]
    UnclosedBracket {
        /// Offset of the `[`.
        offset: usize,
    },
    /// Something other than `:port` follows a bracketed host.
    #[error("byte 0x{byte:02X} at offset {offset} follows ']'; expected ':port' or the end")]
    AfterBracket {
        /// The byte.
        byte: u8,
        /// Its offset.
        offset: usize,
    },
    /// More than one `:` outside brackets: an IPv6 address must be written
    /// `[addr]` or `[addr]:port`.
    #[error("second ':' at offset {offset}: write an IPv6 address in brackets, [addr]:port")]
    UnbracketedIpv6 {
        /// Offset of the second `:`.
        offset: usize,
    },
    /// The port is not a number from 1 to 65535.
    #[error("port {text:?} at offset {offset} is not a number from 1 to 65535")]
    InvalidPort {
        /// The port as written.
        text: String,
        /// Its offset.
        offset: usize,
    },
    /// A byte that cannot appear in a host.
    #[error("byte 0x{byte:02X} at offset {offset} cannot appear in a host")]
    InvalidByte {
        /// The byte.
        byte: u8,
        /// Its offset.
        offset: usize,
    },
}

impl AddressError {
    /// The same error for text that starts `base` bytes into a longer one
    /// (a destination's `host:port` inside `host:port:instance`).
    pub(crate) fn shifted(self, base: usize) -> Self {
        match self {
            Self::UnclosedBracket { offset } => Self::UnclosedBracket {
                offset: offset + base,
            },
            Self::AfterBracket { byte, offset } => Self::AfterBracket {
                byte,
                offset: offset + base,
            },
            Self::UnbracketedIpv6 { offset } => Self::UnbracketedIpv6 {
                offset: offset + base,
            },
            Self::InvalidPort { text, offset } => Self::InvalidPort {
                text,
                offset: offset + base,
            },
            Self::InvalidByte { byte, offset } => Self::InvalidByte {
                byte,
                offset: offset + base,
            },
            other => other,
        }
    }
}

/// Checks a host: printable ASCII, no whitespace, no brackets, and no `:`
/// unless it was bracketed. `base` is its offset in the whole text.
pub(crate) fn check_host_bytes(
    text: &str,
    base: usize,
    allow_colon: bool,
) -> Result<(), (u8, usize)> {
    for (offset, byte) in text.bytes().enumerate() {
        let ok = byte.is_ascii_graphic()
            && byte != b'['
            && byte != b']'
            && (allow_colon || byte != b':');
        if !ok {
            return Err((byte, base + offset));
        }
    }
    Ok(())
}

fn parse_port(text: &str, offset: usize) -> Result<u16, AddressError> {
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse::<u16>().ok())
        .flatten()
        .filter(|&p| p != 0)
        .ok_or_else(|| AddressError::InvalidPort {
            text: text.to_owned(),
            offset,
        })
}

impl Address {
    /// An address from its parts, checked as the parser checks them (the
    /// host without brackets).
    ///
    /// ```
    /// use graphite_proto::Address;
    /// assert_eq!(Address::new("::1", Some(2004))?.to_string(), "[::1]:2004");
    /// assert!(Address::new("a b", None).is_err());
    /// assert!(Address::new("a", Some(0)).is_err());
    /// # Ok::<(), graphite_proto::AddressError>(())
    /// ```
    pub fn new(host: &str, port: Option<u16>) -> Result<Self, AddressError> {
        if host.is_empty() {
            return Err(AddressError::EmptyHost);
        }
        check_host_bytes(host, 0, true)
            .map_err(|(byte, offset)| AddressError::InvalidByte { byte, offset })?;
        if port == Some(0) {
            return Err(AddressError::InvalidPort {
                text: String::from("0"),
                offset: host.len() + 1,
            });
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    /// The host: a name or an address (IPv6 without its brackets).
    ///
    /// ```
    /// let a: graphite_proto::Address = "[fe80::1]:2004".parse().unwrap();
    /// assert_eq!(a.host(), "fe80::1");
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, if one was written.
    ///
    /// ```
    /// let a: graphite_proto::Address = "carbon".parse().unwrap();
    /// assert_eq!(a.port(), None);
    /// ```
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port, or `default` (usually the protocol's) when none was
    /// written.
    ///
    /// ```
    /// use graphite_proto::{Address, Protocol};
    /// let a: Address = "carbon".parse().unwrap();
    /// assert_eq!(a.port_or(Protocol::Pickle.default_port()), 2004);
    /// ```
    pub fn port_or(&self, default: u16) -> u16 {
        self.port.unwrap_or(default)
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(AddressError::Empty);
        }
        let (host, port_at) = if let Some(inner) = text.strip_prefix('[') {
            let close = inner
                .find(']')
                .ok_or(AddressError::UnclosedBracket { offset: 0 })?;
            let host = &inner[..close];
            let after = close + 2;
            match text.as_bytes().get(after) {
                None => (host, None),
                Some(b':') => (host, Some(after + 1)),
                Some(&byte) => {
                    return Err(AddressError::AfterBracket {
                        byte,
                        offset: after,
                    });
                }
            }
        } else {
            match text.find(':') {
                None => (text, None),
                Some(colon) => {
                    if let Some(second) = text[colon + 1..].find(':') {
                        return Err(AddressError::UnbracketedIpv6 {
                            offset: colon + 1 + second,
                        });
                    }
                    (&text[..colon], Some(colon + 1))
                }
            }
        };
        if host.is_empty() {
            return Err(AddressError::EmptyHost);
        }
        let host_at = usize::from(text.starts_with('['));
        check_host_bytes(host, host_at, host_at == 1)
            .map_err(|(byte, offset)| AddressError::InvalidByte { byte, offset })?;
        let port = port_at.map(|at| parse_port(&text[at..], at)).transpose()?;
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for Address {
    /// The syntax again, brackets around an IPv6 host: parsing the output
    /// gives the same address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_form() {
        let ok = |s: &str| {
            let a: Address = s.parse().expect(s);
            (a.host().to_owned(), a.port())
        };
        assert_eq!(ok("127.0.0.1:2004"), ("127.0.0.1".into(), Some(2004)));
        assert_eq!(ok("carbon"), ("carbon".into(), None));
        assert_eq!(ok("[::1]:2005"), ("::1".into(), Some(2005)));
        assert_eq!(ok("[::1]"), ("::1".into(), None));
        assert_eq!(ok("h:65535"), ("h".into(), Some(65535)));
    }

    #[test]
    fn refuses_naming_the_offset() {
        use AddressError as E;
        let err = |s: &str| s.parse::<Address>().expect_err(s);
        assert_eq!(err(""), E::Empty);
        assert_eq!(err(":2003"), E::EmptyHost);
        assert_eq!(err("[]:1"), E::EmptyHost);
        assert_eq!(err("[::1:2003"), E::UnclosedBracket { offset: 0 });
        assert_eq!(
            err("[::1]2003"),
            E::AfterBracket {
                byte: b'2',
                offset: 5
            }
        );
        assert_eq!(err("::1:2003"), E::UnbracketedIpv6 { offset: 1 });
        assert_eq!(err("h:1:a"), E::UnbracketedIpv6 { offset: 3 });
        for (text, port) in [
            ("h:0", "0"),
            ("h:+1", "+1"),
            ("h:65536", "65536"),
            ("h:", ""),
        ] {
            assert_eq!(
                err(text),
                E::InvalidPort {
                    text: port.into(),
                    offset: 2
                },
                "{text}"
            );
        }
        assert_eq!(
            err("a b:1"),
            E::InvalidByte {
                byte: b' ',
                offset: 1
            }
        );
        assert_eq!(
            err("[a b]:1"),
            E::InvalidByte {
                byte: b' ',
                offset: 2
            }
        );
        assert_eq!(
            err(" h"),
            E::InvalidByte {
                byte: b' ',
                offset: 0
            }
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(text in ".{0,40}") {
            if let Ok(a) = text.parse::<Address>() {
                prop_assert_eq!(a.to_string().parse::<Address>(), Ok(a));
            }
        }

        #[test]
        fn offsets_point_into_the_text(text in "[ -~\u{e9}]{0,20}") {
            if let Err(e) = text.parse::<Address>() {
                let offset = match e {
                    AddressError::UnclosedBracket { offset }
                    | AddressError::AfterBracket { offset, .. }
                    | AddressError::UnbracketedIpv6 { offset }
                    | AddressError::InvalidPort { offset, .. }
                    | AddressError::InvalidByte { offset, .. } => offset,
                    _ => 0,
                };
                prop_assert!(offset <= text.len());
            }
        }
    }
}
