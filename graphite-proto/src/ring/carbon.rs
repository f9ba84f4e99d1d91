//! Python carbon's `ConsistentHashRing` as `ConsistentHashingRouter` uses
//! it (carbon 1.1.x, `carbon/hashing.py` and `carbon/routers.py`).

use std::collections::HashSet;
use std::fmt::Write as _;

use super::hash::{Chars, Fnv1a32, Md5Position, fnv1a_position, md5_position};
use super::{Destination, HashKey, REPLICAS};

/// Python carbon's two ring hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CarbonHash {
    /// MD5; replica keys `"('host', 'instance'):i"`.
    Md5,
    /// FNV-1a; replica keys `"i-instance"` (`"i-None"` without instance).
    Fnv1a,
}

/// The ring: `(position, node)` sorted by position. Positions are unique
/// (carbon bumps a taken position by one until free), so they may exceed
/// 65535.
#[derive(Clone, Debug)]
pub(crate) struct CarbonRing {
    hash: CarbonHash,
    entries: Vec<(u32, u32)>,
    /// For each node, the first node with the same host: the server
    /// identity `DIVERSE_REPLICAS` compares.
    host_of: Vec<u32>,
}

/// Python's `repr()` of a `str` holding printable ASCII (all
/// [`Destination`] allows): single quotes unless the text holds a `'` and
/// no `"`; backslashes and the chosen quote escaped.
fn push_repr(out: &mut String, text: &str) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for ch in text.chars() {
        if ch == '\\' || ch == quote {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push(quote);
}

/// `"%s:%d" % ((host, instance), i)` without the `:%d`.
fn tuple_repr(destination: &Destination) -> String {
    let mut out = String::from("(");
    push_repr(&mut out, destination.host());
    out.push_str(", ");
    match destination.instance() {
        Some(instance) => push_repr(&mut out, instance),
        None => out.push_str("None"),
    }
    out.push(')');
    out
}

impl CarbonRing {
    /// `ConsistentHashRing` after `add_node` of each destination in order.
    pub(crate) fn new(hash: CarbonHash, destinations: &[Destination]) -> Self {
        let mut taken: HashSet<u32> = HashSet::with_capacity(destinations.len() * REPLICAS);
        let mut entries = Vec::with_capacity(destinations.len() * REPLICAS);
        let mut key = String::new();
        for (node, destination) in destinations.iter().enumerate() {
            let tuple = tuple_repr(destination);
            for i in 0..REPLICAS {
                key.clear();
                let position = match hash {
                    CarbonHash::Md5 => {
                        let _ = write!(key, "{tuple}:{i}");
                        md5_position(key.as_bytes())
                    }
                    CarbonHash::Fnv1a => {
                        let _ = write!(key, "{i}-{}", destination.instance().unwrap_or("None"));
                        fnv1a_position(key.as_bytes(), Chars::Unsigned)
                    }
                };
                let mut position = u32::from(position);
                while !taken.insert(position) {
                    position += 1;
                }
                entries.push((position, node as u32));
            }
        }
        entries.sort_unstable();
        let host_of = destinations
            .iter()
            .map(|d| {
                destinations
                    .iter()
                    .position(|other| other.host() == d.host())
                    .unwrap_or(0) as u32
            })
            .collect();
        Self {
            hash,
            entries,
            host_of,
        }
    }

    /// `remove_node`: the node's entries go, every other entry stays where
    /// it was (no re-bump); nodes after it are renumbered down by one.
    pub(crate) fn without(&self, node: usize, destinations: &[Destination]) -> Self {
        let node = node as u32;
        let entries = self
            .entries
            .iter()
            .filter(|e| e.1 != node)
            .map(|&(p, n)| (p, if n > node { n - 1 } else { n }))
            .collect();
        let host_of = destinations
            .iter()
            .map(|d| {
                destinations
                    .iter()
                    .position(|other| other.host() == d.host())
                    .unwrap_or(0) as u32
            })
            .collect();
        Self {
            hash: self.hash,
            entries,
            host_of,
        }
    }

    /// The metric's position (`carbonHash`).
    fn position(&self, name: &[u8], key: HashKey) -> u16 {
        match self.hash {
            CarbonHash::Md5 => {
                let mut sink = Md5Position::default();
                key.feed(name, &mut sink);
                sink.finish()
            }
            CarbonHash::Fnv1a => {
                let mut sink = Fnv1a32::new(Chars::Unsigned);
                key.feed(name, &mut sink);
                sink.finish()
            }
        }
    }

    /// The first node at or after the name's position.
    pub(crate) fn primary(&self, name: &[u8], key: HashKey) -> usize {
        let position = u32::from(self.position(name, key));
        let index = self.entries.partition_point(|e| e.0 < position);
        self.entries
            .get(index)
            .or_else(|| self.entries.first())
            .map_or(0, |e| e.1 as usize)
    }

    /// `getDestinations`: walks the ring from the name's position as
    /// `get_nodes` does, collecting distinct nodes (with `diverse`, nodes
    /// on distinct hosts) until `replication` are found.
    pub(crate) fn route(
        &self,
        name: &[u8],
        key: HashKey,
        replication: usize,
        diverse: bool,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        let len = self.entries.len();
        if len == 0 {
            return;
        }
        let position = u32::from(self.position(name, key));
        // bisect_left(ring, (position, ())): the first entry at or after it.
        let mut index = self.entries.partition_point(|e| e.0 < position) % len;
        let last = (index + len - 1) % len;
        // `get_nodes` yields the only node before walking when there is
        // one; the walk yields it again, and the client manager collapses
        // the copies: one destination.
        loop {
            let node = self.entries[index].1 as usize;
            let host = self.host_of[node];
            let fresh = if diverse {
                !out.iter().any(|&n| self.host_of[n] == host)
            } else {
                !out.contains(&node)
            };
            if fresh {
                out.push(node);
                if out.len() >= replication {
                    return;
                }
            }
            index = (index + 1) % len;
            if index == last {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(s: &str) -> Destination {
        s.parse().expect("valid")
    }

    #[test]
    fn replica_keys_are_python_reprs() {
        assert_eq!(tuple_repr(&dest("127.0.0.1:2004:a")), "('127.0.0.1', 'a')");
        assert_eq!(tuple_repr(&dest("127.0.0.1:2004")), "('127.0.0.1', None)");
        assert_eq!(tuple_repr(&dest("h:1:it's")), "('h', \"it's\")");
        assert_eq!(tuple_repr(&dest("h:1:'\"")), "('h', '\\'\"')");
        assert_eq!(tuple_repr(&dest("h:1:a\\b")), "('h', 'a\\\\b')");
    }

    #[test]
    fn instance_less_fnv1a_nodes_collide_and_are_bumped() {
        let dests = [dest("10.0.0.1:2004"), dest("10.0.0.2:2004")];
        let ring = CarbonRing::new(CarbonHash::Fnv1a, &dests);
        assert_eq!(ring.entries.len(), 2 * REPLICAS);
        let mut positions: Vec<u32> = ring.entries.iter().map(|e| e.0).collect();
        positions.dedup();
        assert_eq!(positions.len(), 2 * REPLICAS, "positions are unique");
    }
}
