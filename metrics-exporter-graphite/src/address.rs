//! Carbon's address as the builder takes it: `host:port`, `host` (the
//! protocol's default port), `[v6]:port` or `[v6]`, read by graphite-proto's
//! [`Address`](graphite_proto::Address), the one `host[:port]` parser.

use crate::error::BuildError;

/// The host and the port, if one was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Address {
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
}

/// Parses `address`; the host is not resolved (that happens on every
/// connect).
pub(crate) fn parse(address: &str) -> Result<Address, BuildError> {
    let address: graphite_proto::Address = address.parse()?;
    Ok(Address {
        host: address.host().to_owned(),
        port: address.port(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ok = |a: &str| parse(a).ok().map(|a| (a.host, a.port.unwrap_or(2003)));
        assert_eq!(ok("127.0.0.1:2004"), Some(("127.0.0.1".into(), 2004)));
        assert_eq!(ok("carbon"), Some(("carbon".into(), 2003)));
        assert_eq!(ok("[::1]:2005"), Some(("::1".into(), 2005)));
        assert_eq!(ok("[::1]"), Some(("::1".into(), 2003)));
        assert_eq!(ok("host:x"), None);
        assert_eq!(ok(":2003"), None);
        assert_eq!(ok("::1:2003"), None);
    }
}
