//! Which part of a metric name a ring hashes: [`HashKey`].

use std::fmt;

use super::hash::KeySink;

/// Which part of a metric name is hashed to find its destinations.
///
/// Python carbon's relay hashes the name exactly as it received it, tags
/// included ([`HashKey::Full`]); so does `carbon-c-relay -t` (test mode).
/// A live carbon-c-relay first rewrites the name and hashes only what
/// precedes the first `;` ([`HashKey::RelayRewritten`]), so that every tag
/// set of one name lands on one node. [`RingConfig`](super::RingConfig)
/// picks the implementation's own behaviour unless told otherwise.
///
/// ```
/// use graphite_proto::ring::{Compat, HashKey};
///
/// assert_eq!(HashKey::default_for(Compat::Carbon), HashKey::Full);
/// assert_eq!(HashKey::default_for(Compat::CarbonCRelay), HashKey::RelayRewritten);
/// assert_eq!(HashKey::RelayRewritten.key_of(b"cpu..load;host=a"), b"cpu.load");
/// assert_eq!(HashKey::Full.key_of(b"cpu;host=a"), b"cpu;host=a");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashKey {
    /// The name as given, tags included (Python carbon; `carbon-c-relay -t`).
    Full,
    /// What a live carbon-c-relay 3.7.3 hashes: the name as its dispatcher
    /// rewrites it (bytes outside `[A-Za-z0-9-_:#]` become `_`, runs of
    /// `.` collapse, a leading `.` and a final `.` go, whitespace ends the
    /// name), cut before the first `;`.
    RelayRewritten,
}

/// carbon-c-relay's default `-c`: the characters allowed besides
/// `[A-Za-z0-9]` (and `.`, the separator).
const RELAY_ALLOWED: &[u8] = b"-_:#";

impl HashKey {
    /// What the implementation hashes when not told otherwise.
    ///
    /// ```
    /// use graphite_proto::ring::{Compat, HashKey};
    /// assert_eq!(HashKey::default_for(Compat::Carbon), HashKey::Full);
    /// ```
    pub fn default_for(compat: super::Compat) -> Self {
        match compat {
            super::Compat::Carbon => Self::Full,
            super::Compat::CarbonCRelay => Self::RelayRewritten,
        }
    }

    /// The bytes that are hashed for `name` (allocates; the rings
    /// themselves hash without copying).
    ///
    /// ```
    /// use graphite_proto::ring::HashKey;
    /// assert_eq!(HashKey::RelayRewritten.key_of("h\u{e9}llo.x".as_bytes()), b"h__llo.x");
    /// ```
    pub fn key_of(self, name: &[u8]) -> Vec<u8> {
        struct Collect(Vec<u8>);
        impl KeySink for Collect {
            fn write(&mut self, bytes: &[u8]) {
                self.0.extend_from_slice(bytes);
            }
        }
        let mut out = Collect(Vec::new());
        self.feed(name, &mut out);
        out.0
    }

    /// Writes the hashed part of `name` into `sink`.
    pub(crate) fn feed(self, name: &[u8], sink: &mut impl KeySink) {
        match self {
            Self::Full => sink.write(name),
            Self::RelayRewritten => feed_rewritten(name, sink),
        }
    }
}

impl fmt::Display for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "full name",
            Self::RelayRewritten => "rewritten name before the first ';'",
        })
    }
}

/// Bytes gathered into a stack buffer and handed on in chunks.
struct Chunked<'a, S: KeySink> {
    buf: [u8; 64],
    len: usize,
    sink: &'a mut S,
}

impl<S: KeySink> Chunked<'_, S> {
    fn push(&mut self, byte: u8) {
        self.buf[self.len] = byte;
        self.len += 1;
        if self.len == self.buf.len() {
            self.sink.write(&self.buf);
            self.len = 0;
        }
    }

    fn finish(self) {
        self.sink.write(&self.buf[..self.len]);
    }
}

/// carbon-c-relay's dispatcher rewrite, streamed up to the first `;`.
fn feed_rewritten(name: &[u8], sink: &mut impl KeySink) {
    let mut out = Chunked {
        buf: [0; 64],
        len: 0,
        sink,
    };
    // Nothing written yet: a leading '.' is dropped.
    let mut started = false;
    // A '.' waits until something follows it: a final one is dropped.
    let mut pending_dot = false;
    for &b in name {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => break,
            b'.' => pending_dot = started,
            _ => {
                if pending_dot {
                    out.push(b'.');
                    pending_dot = false;
                }
                if b == b';' {
                    break;
                }
                let kept = b.is_ascii_alphanumeric() || RELAY_ALLOWED.contains(&b);
                out.push(if kept { b } else { b'_' });
                started = true;
            }
        }
    }
    out.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &[u8]) -> Vec<u8> {
        HashKey::RelayRewritten.key_of(name)
    }

    #[test]
    fn rewrite_matches_what_the_live_relay_forwards() {
        // Observed from carbon-c-relay 3.7.3 forwarding to a plain listener.
        assert_eq!(key(b"a.b.c"), b"a.b.c");
        assert_eq!(key("h\u{e9}llo.w\u{f6}rld".as_bytes()), b"h__llo.w__rld");
        assert_eq!(key(b"a..b...c."), b"a.b.c");
        assert_eq!(key(b".lead"), b"lead");
        assert_eq!(key(b"sp!ace$%^&*()=+"), b"sp_ace_________");
        assert_eq!(key(b"a:b#c-d_e"), b"a:b#c-d_e");
        assert_eq!(key(b"m.;a=b"), b"m.");
        assert_eq!(key(b"m..x;a=b;c=..d"), b"m.x");
        assert_eq!(key(b";a=b"), b"");
        assert_eq!(key(b"x y"), b"x");
        let long = vec![b'z'; 1000];
        assert_eq!(key(&long), long);
    }
}
