//! Carbon's address as the builder takes it: `host:port`, `host` (the
//! protocol's default port), `[v6]:port` or `[v6]`.

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
    let bad = || BuildError::Address(address.to_owned());
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(bad()),
        }
    } else {
        match address.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    if host.is_empty() || host.contains(':') && !address.starts_with('[') {
        return Err(bad());
    }
    let port = match port {
        Some(p) => Some(p.parse().map_err(|_| bad())?),
        None => None,
    };
    Ok(Address {
        host: host.to_owned(),
        port,
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
