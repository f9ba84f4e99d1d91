//! The hash functions under carbon's and carbon-c-relay's rings, each fed
//! in pieces so that a key never has to be copied into one buffer.

use md5::{Digest, Md5};

/// Something a ring key is written into, in pieces.
pub(crate) trait KeySink {
    /// Appends `bytes` to the key.
    fn write(&mut self, bytes: &[u8]);
}

/// Carbon's MD5 position: the first two bytes of the digest, big-endian
/// (`int(md5(key).hexdigest()[:4], 16)`).
#[derive(Default)]
pub(crate) struct Md5Position(Md5);

impl KeySink for Md5Position {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl Md5Position {
    pub(crate) fn finish(self) -> u16 {
        let digest = self.0.finalize();
        u16::from_be_bytes([digest[0], digest[1]])
    }
}

const FNV32_OFFSET: u32 = 0x811c_9dc5;
const FNV32_PRIME: u32 = 0x0100_0193;
const FNV64_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV64_PRIME: u64 = 0x0000_0100_0000_01b3;

/// How a byte enters FNV-1a.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chars {
    /// As an unsigned byte (Python's `bytes`).
    Unsigned,
    /// As a C `char` on x86, sign-extended to `unsigned int`: bytes from
    /// 0x80 up become `0xFFFFFFxx` (carbon-c-relay).
    Signed,
}

impl Chars {
    fn widen(self, byte: u8) -> u32 {
        match self {
            Self::Unsigned => u32::from(byte),
            // `(unsigned int)(char)byte`
            Self::Signed => i32::from(byte as i8) as u32,
        }
    }
}

/// 32-bit FNV-1a, folded to 16 bits as both carbons fold it.
pub(crate) struct Fnv1a32 {
    hash: u32,
    chars: Chars,
}

impl Fnv1a32 {
    pub(crate) fn new(chars: Chars) -> Self {
        Self {
            hash: FNV32_OFFSET,
            chars,
        }
    }

    /// `(h >> 16) ^ (h & 0xffff)`.
    pub(crate) fn finish(&self) -> u16 {
        ((self.hash >> 16) ^ (self.hash & 0xffff)) as u16
    }
}

impl KeySink for Fnv1a32 {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.hash = (self.hash ^ self.chars.widen(b)).wrapping_mul(FNV32_PRIME);
        }
    }
}

/// carbon-c-relay's 64-bit FNV-1a: each `char` is sign-extended to the
/// full 64 bits (bytes from 0x80 up become `0xFFFFFFFFFFFFFFxx`), as
/// `carbon-c-relay -t` shows; a 32-bit extension then zero-extension, as
/// the 32-bit hash does, routes non-ASCII names elsewhere.
pub(crate) struct Fnv1a64Signed(u64);

impl Default for Fnv1a64Signed {
    fn default() -> Self {
        Self(FNV64_OFFSET)
    }
}

impl Fnv1a64Signed {
    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

impl KeySink for Fnv1a64Signed {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ i64::from(b as i8) as u64).wrapping_mul(FNV64_PRIME);
        }
    }
}

/// Lamping and Veach's jump consistent hash, with carbon-c-relay's
/// arithmetic (a `double` quotient truncated to `long long`): a bucket in
/// `0..buckets`. `buckets` must be at least 1.
pub(crate) fn jump_bucket(mut key: u64, buckets: usize) -> usize {
    let buckets = buckets as i64;
    let (mut b, mut j) = (-1_i64, 0_i64);
    while j < buckets {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1_i64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b.max(0) as usize
}

/// carbon-c-relay's xorshift step between replicas of the jump hash.
pub(crate) fn xorshift(mut hash: u64) -> u64 {
    hash ^= hash >> 12;
    hash ^= hash << 25;
    hash ^= hash >> 27;
    hash.wrapping_mul(2_685_821_657_736_338_717)
}

/// The whole of `key`, hashed to a 16-bit position with MD5.
pub(crate) fn md5_position(key: &[u8]) -> u16 {
    let mut sink = Md5Position::default();
    sink.write(key);
    sink.finish()
}

/// The whole of `key`, hashed to a 16-bit position with folded FNV-1a.
pub(crate) fn fnv1a_position(key: &[u8], chars: Chars) -> u16 {
    let mut sink = Fnv1a32::new(chars);
    sink.write(key);
    sink.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_position_is_the_first_four_hex_digits() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(md5_position(b""), 0xd41d);
        // md5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(md5_position(b"a"), 0x0cc1);
    }

    #[test]
    fn fnv1a_known_values() {
        // FNV-1a 32 of "a" is 0xe40c292c.
        assert_eq!(fnv1a_position(b"a", Chars::Unsigned), 0xe40c ^ 0x292c);
        // ASCII bytes are the same signed or not.
        assert_eq!(
            fnv1a_position(b"abc", Chars::Signed),
            fnv1a_position(b"abc", Chars::Unsigned)
        );
        assert_ne!(
            fnv1a_position("é".as_bytes(), Chars::Signed),
            fnv1a_position("é".as_bytes(), Chars::Unsigned)
        );
        let mut h = Fnv1a64Signed::default();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn jump_matches_the_paper_reference_values() {
        assert_eq!(jump_bucket(0, 1), 0);
        for key in [1_u64, 42, 0xdead_beef, u64::MAX] {
            for buckets in 1..50 {
                assert!(jump_bucket(key, buckets) < buckets);
            }
        }
    }
}
