//! carbon-c-relay 3.7.3's rings (`consistent-hash.c`): `carbon_ch`
//! without the collision bump, `fnv1a_ch` over signed chars, and
//! `jump_fnv1a_ch`.

use std::cmp::Ordering;
use std::fmt::Write as _;

use super::hash::{
    Chars, Fnv1a32, Fnv1a64Signed, Md5Position, fnv1a_position, jump_bucket, md5_position, xorshift,
};
use super::{Destination, HashKey, REPLICAS};

/// carbon-c-relay's `CONN_DESTS_SIZE`: the most servers a hash cluster may
/// hold.
pub(crate) const MAX_SERVERS: usize = 64;

/// carbon-c-relay's `snprintf` buffer for a replica key: longer keys are
/// cut to 255 bytes.
const KEY_BUF: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RelayHash {
    Carbon,
    Fnv1a,
    Jump,
}

/// A sorted ring (carbon_ch, fnv1a_ch) or the bucket order (jump).
#[derive(Clone, Debug)]
pub(crate) struct RelayRing {
    hash: RelayHash,
    /// `(position, server)`, sorted; for the jump hash, the servers in
    /// bucket order with their configuration index as position.
    entries: Vec<(u16, u32)>,
    /// How many distinct servers the ring holds: fewer than configured
    /// when a server lost every position to others.
    present: usize,
}

/// glibc's `qsort` (Debian's carbon-c-relay links glibc 2.36, whose qsort
/// is a top-down merge sort): the same comparisons in the same order, so
/// that even a comparator that is not a total order (carbon-c-relay's
/// instance order mixes numbers and strings) sorts as the relay sorts.
fn glibc_msort<T: Copy>(v: &mut [T], tmp: &mut Vec<T>, cmp: &impl Fn(&T, &T) -> Ordering) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    glibc_msort(&mut v[..n1], tmp, cmp);
    glibc_msort(&mut v[n1..], tmp, cmp);
    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) != Ordering::Greater {
            tmp.push(v[i]);
            i += 1;
        } else {
            tmp.push(v[j]);
            j += 1;
        }
    }
    tmp.extend_from_slice(&v[i..n1]);
    let merged = tmp.len();
    v[..merged].copy_from_slice(tmp);
}

/// C's `strtol(text, &end, 10)` and whether `*end == '\0'`.
fn strtol(text: &str) -> (i64, bool) {
    let bytes = text.as_bytes();
    let mut i = bytes
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let negative = match bytes.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = bytes[i.min(bytes.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        // No conversion: `end` is the start of the text.
        return (0, bytes.is_empty());
    }
    let mut value: i64 = 0;
    let mut overflow = false;
    for &b in &bytes[i..i + digits] {
        let d = i64::from(b - b'0');
        match value.checked_mul(10).and_then(|v| {
            if negative {
                v.checked_sub(d)
            } else {
                v.checked_add(d)
            }
        }) {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    if overflow {
        value = if negative { i64::MIN } else { i64::MAX };
    }
    (value, i + digits == bytes.len())
}

/// `entrycmp_jump_fnv1a`: servers with an instance first, by instance
/// (as numbers when both parse whole, `(int)(l - r)`; else `strcmp`), then
/// those without, in configuration order.
fn jump_order(destinations: &[Destination], l: &(u16, u32), r: &(u16, u32)) -> Ordering {
    let il = destinations[l.1 as usize].instance();
    let ir = destinations[r.1 as usize].instance();
    match (il, ir) {
        (None, None) => l.0.cmp(&r.0),
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(il), Some(ir)) => {
            let (vl, whole_l) = strtol(il);
            if whole_l {
                let (vr, whole_r) = strtol(ir);
                if whole_r {
                    return (vl.wrapping_sub(vr) as i32).cmp(&0);
                }
            }
            il.as_bytes().cmp(ir.as_bytes())
        }
    }
}

/// `entrycmp_carbon`: position, host, then instance (none after any).
fn carbon_order(destinations: &[Destination], l: &(u16, u32), r: &(u16, u32)) -> Ordering {
    let (dl, dr) = (&destinations[l.1 as usize], &destinations[r.1 as usize]);
    l.0.cmp(&r.0)
        .then_with(|| dl.host().as_bytes().cmp(dr.host().as_bytes()))
        .then_with(|| match (dl.instance(), dr.instance()) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => a.as_bytes().cmp(b.as_bytes()),
        })
}

/// `entrycmp_fnv1a`: position, host, port.
fn fnv1a_order(destinations: &[Destination], l: &(u16, u32), r: &(u16, u32)) -> Ordering {
    let (dl, dr) = (&destinations[l.1 as usize], &destinations[r.1 as usize]);
    l.0.cmp(&r.0)
        .then_with(|| dl.host().as_bytes().cmp(dr.host().as_bytes()))
        .then_with(|| dl.port().cmp(&dr.port()))
}

/// The key as `snprintf` into a 256-byte buffer leaves it.
fn c_key(key: &str) -> &[u8] {
    &key.as_bytes()[..key.len().min(KEY_BUF - 1)]
}

impl RelayRing {
    /// The ring after `ch_addnode` of each server in configuration order.
    /// `destinations` holds at most [`MAX_SERVERS`].
    pub(crate) fn new(hash: RelayHash, destinations: &[Destination]) -> Self {
        let mut entries: Vec<(u16, u32)> = Vec::with_capacity(destinations.len() * REPLICAS);
        let mut key = String::new();
        for (server, d) in destinations.iter().enumerate() {
            if hash == RelayHash::Jump {
                entries.push((server as u16, server as u32));
                continue;
            }
            for i in 0..REPLICAS {
                key.clear();
                let position = if hash == RelayHash::Carbon {
                    let _ = match d.instance() {
                        Some(instance) => write!(key, "('{}', '{instance}'):{i}", d.host()),
                        None => write!(key, "('{}', None):{i}", d.host()),
                    };
                    md5_position(c_key(&key))
                } else {
                    let _ = match d.instance() {
                        Some(instance) => write!(key, "{i}-{instance}"),
                        None => write!(key, "{i}-{}:{}", d.host(), d.port()),
                    };
                    fnv1a_position(c_key(&key), Chars::Signed)
                };
                entries.push((position, server as u32));
            }
        }
        let mut tmp = Vec::with_capacity(entries.len());
        match hash {
            RelayHash::Carbon => {
                glibc_msort(&mut entries, &mut tmp, &|l, r| {
                    carbon_order(destinations, l, r)
                });
            }
            RelayHash::Fnv1a => {
                glibc_msort(&mut entries, &mut tmp, &|l, r| {
                    fnv1a_order(destinations, l, r)
                });
            }
            RelayHash::Jump => {
                glibc_msort(&mut entries, &mut tmp, &|l, r| {
                    jump_order(destinations, l, r)
                });
            }
        }
        if hash != RelayHash::Jump {
            // A position held twice keeps its first server.
            for i in 1..entries.len() {
                if entries[i].0 == entries[i - 1].0 {
                    entries[i].1 = entries[i - 1].1;
                }
            }
        }
        let mut seen = [false; MAX_SERVERS];
        for entry in &entries {
            if let Some(slot) = seen.get_mut(entry.1 as usize) {
                *slot = true;
            }
        }
        let present = seen.iter().filter(|&&s| s).count();
        Self {
            hash,
            entries,
            present,
        }
    }

    /// The name's ring position (`carbon_ch`, `fnv1a_ch`) or 64-bit hash
    /// (jump).
    fn hash_of(&self, name: &[u8], key: HashKey) -> u64 {
        match self.hash {
            RelayHash::Carbon => {
                let mut sink = Md5Position::default();
                key.feed(name, &mut sink);
                u64::from(sink.finish())
            }
            RelayHash::Fnv1a => {
                let mut sink = Fnv1a32::new(Chars::Signed);
                key.feed(name, &mut sink);
                u64::from(sink.finish())
            }
            RelayHash::Jump => {
                let mut sink = Fnv1a64Signed::default();
                key.feed(name, &mut sink);
                sink.finish()
            }
        }
    }

    /// The first server of `name` without collecting replicas.
    pub(crate) fn primary(&self, name: &[u8], key: HashKey) -> usize {
        let hash = self.hash_of(name, key);
        let index = if self.hash == RelayHash::Jump {
            jump_bucket(hash, self.entries.len().max(1))
        } else {
            self.entries.partition_point(|e| u64::from(e.0) < hash)
        };
        self.entries
            .get(index)
            .or_else(|| self.entries.first())
            .map_or(0, |e| e.1 as usize)
    }

    /// `ch_get_nodes`: `replication` distinct servers (at most the number
    /// of servers, which the caller guarantees).
    pub(crate) fn route(
        &self,
        name: &[u8],
        key: HashKey,
        replication: usize,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        let len = self.entries.len();
        if len == 0 {
            return;
        }
        let hash = self.hash_of(name, key);
        if self.hash == RelayHash::Jump {
            self.jump(hash, replication, out);
            return;
        }
        // Binary search for the first entry at or after the position; a
        // duplicated position carries its first server throughout. The
        // relay itself would loop for ever when asked for more servers
        // than the ring holds; this stops at what it holds.
        let mut t = self.entries.partition_point(|e| u64::from(e.0) < hash);
        while out.len() < replication.min(self.present) {
            if t >= len {
                t = 0;
            }
            let server = self.entries[t].1 as usize;
            if !out.contains(&server) {
                out.push(server);
            }
            t += 1;
        }
    }

    /// The jump hash: a bucket, then for each further replica an xorshift
    /// of the hash over the buckets left (the chosen one swapped out).
    fn jump(&self, mut hash: u64, replication: usize, out: &mut Vec<usize>) {
        let mut buckets = [0_u32; MAX_SERVERS];
        let mut left = self.entries.len().min(MAX_SERVERS);
        for (slot, entry) in buckets.iter_mut().zip(&self.entries) {
            *slot = entry.1;
        }
        let mut wanted = replication;
        while left > 0 && wanted > 0 {
            let j = jump_bucket(hash, left);
            out.push(buckets[j] as usize);
            wanted -= 1;
            if wanted == 0 {
                break;
            }
            hash = xorshift(hash);
            left -= 1;
            buckets[j] = buckets[left];
        }
    }

    /// The servers in jump-hash bucket order (for the jump hash only).
    #[cfg(test)]
    pub(crate) fn bucket_order(&self) -> impl Iterator<Item = usize> + '_ {
        self.entries.iter().map(|e| e.1 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_c() {
        assert_eq!(strtol("12"), (12, true));
        assert_eq!(strtol(" -3"), (-3, true));
        assert_eq!(strtol("+7x"), (7, false));
        assert_eq!(strtol("x"), (0, false));
        assert_eq!(strtol(""), (0, true));
        assert_eq!(strtol("-"), (0, false));
        assert_eq!(strtol("99999999999999999999"), (i64::MAX, true));
    }

    #[test]
    fn msort_is_stable_and_sorts() {
        let mut v: Vec<(u8, u8)> = vec![(3, 0), (1, 1), (3, 2), (0, 3), (1, 4)];
        let mut tmp = Vec::new();
        glibc_msort(&mut v, &mut tmp, &|a, b| a.0.cmp(&b.0));
        assert_eq!(v, [(0, 3), (1, 1), (1, 4), (3, 0), (3, 2)]);
    }

    #[test]
    fn jump_orders_instances_numerically_then_by_config() {
        let d: Vec<Destination> = ["h:1:10", "h:2", "h:3:9", "h:4:b", "h:5"]
            .iter()
            .map(|s| s.parse().expect("valid"))
            .collect();
        let ring = RelayRing::new(RelayHash::Jump, &d);
        let order: Vec<usize> = ring.bucket_order().collect();
        // 9 < 10 numerically; "10" < "b" and "9" vs "b" by strcmp.
        assert_eq!(order, [2, 0, 3, 1, 4]);
    }
}
