//! aiographite's reversible name encoder, reproduced byte for byte.
//!
//! `encode(part) = percent_quote(punycode(part), safe="/").replace(".", "%2E")`:
//! raw punycode of the whole part (so ASCII-only parts gain a trailing `-`),
//! then every byte except `A-Z a-z 0-9 _ - ~ /` as upper-case `%XX`. The
//! result never contains `.`, `;` or whitespace, so any text becomes one
//! metric node, and the mapping can be undone.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::punycode::{self, PunycodeError};

/// Bytes that stay as they are: CPython's `quote` always keeps `_ . - ~`, and
/// aiographite adds `/`. `.` is left in the set because aiographite replaces
/// it by `%2E` after quoting, which is what escaping it here produces.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// Whether the encoder writes `b` as itself (the complement of [`ESCAPED`]).
fn is_kept(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'~' | b'/')
}

/// A string that [`encode_metric_part`] can never produce.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A `%` not followed by two hex digits.
    #[error("'%' at byte {offset} is not followed by two hex digits")]
    BadEscape {
        /// Offset of the `%`.
        offset: usize,
    },
    /// A byte the encoder never writes unescaped (non-ASCII, `.`, ...), or an
    /// escape that decodes to a non-ASCII byte.
    #[error("byte {byte:#04x} at offset {offset} never appears in an encoded name")]
    UnexpectedByte {
        /// The byte.
        byte: u8,
        /// Its offset in the input.
        offset: usize,
    },
    /// The unescaped text is not punycode.
    #[error("not punycode: {0}")]
    Punycode(#[from] PunycodeError),
    /// The text decodes, but encoding the result gives a different string, so
    /// the input is not an encoding (for example `%41`, where `A` is written
    /// unescaped, or lower-case hex).
    #[error(
        "{input:?} is not an encoded name: it decodes to {decoded:?}, which encodes to {reencoded:?}"
    )]
    NotCanonical {
        /// The input.
        input: String,
        /// What it decodes to.
        decoded: String,
        /// What that encodes to.
        reencoded: String,
    },
}

/// Encodes any text as one metric node, exactly as aiographite's
/// `GraphiteEncoder.encode` does.
///
/// ```
/// use graphite_proto::encode_metric_part;
///
/// assert_eq!(encode_metric_part("velo@zillow.com"), "velo%40zillow%2Ecom-");
/// assert_eq!(encode_metric_part("München"), "Mnchen-3ya");
/// ```
pub fn encode_metric_part(part: &str) -> String {
    let mut puny = String::with_capacity(part.len() + 8);
    punycode::encode_into(part, &mut puny);
    utf8_percent_encode(&puny, ESCAPED).to_string()
}

/// Undoes [`encode_metric_part`]: `Ok(x)` exactly when
/// `encode_metric_part(x) == encoded`.
///
/// Unlike aiographite's `decode`, which returns garbage or raises a stray
/// exception for text that is not an encoding, every such input gets a
/// [`DecodeError`] naming the problem.
///
/// ```
/// use graphite_proto::{decode_metric_part, DecodeError};
///
/// assert_eq!(decode_metric_part("Mnchen-3ya")?, "München");
/// assert!(matches!(decode_metric_part("foo.bar"), Err(DecodeError::UnexpectedByte { offset: 3, .. })));
/// assert!(matches!(decode_metric_part("%41"), Err(DecodeError::NotCanonical { .. })));
/// # Ok::<(), DecodeError>(())
/// ```
pub fn decode_metric_part(encoded: &str) -> Result<String, DecodeError> {
    let bytes = encoded.as_bytes();
    let mut unescaped = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or(DecodeError::BadEscape { offset: i })?;
            let value = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(DecodeError::BadEscape { offset: i })?;
            if !value.is_ascii() {
                return Err(DecodeError::UnexpectedByte {
                    byte: value,
                    offset: i,
                });
            }
            unescaped.push(value);
            i += 3;
        } else if is_kept(b) {
            unescaped.push(b);
            i += 1;
        } else {
            return Err(DecodeError::UnexpectedByte { byte: b, offset: i });
        }
    }
    let decoded = punycode::decode(&unescaped)?;
    let reencoded = encode_metric_part(&decoded);
    if reencoded == encoded {
        Ok(decoded)
    } else {
        Err(DecodeError::NotCanonical {
            input: encoded.to_owned(),
            decoded,
            reencoded,
        })
    }
}

/// Encodes each part with [`encode_metric_part`] and joins them with `.`,
/// exactly as aiographite's `clean_and_join_metric_parts`.
///
/// The result is a string, as in aiographite: joining no parts or empty
/// parts gives text that [`MetricPath::new`](crate::MetricPath::new) refuses.
///
/// ```
/// use graphite_proto::clean_and_join_metric_parts;
///
/// let name = clean_and_join_metric_parts(["sproc performance", "velo@zillow.com", "::EH12"]);
/// assert_eq!(name, "sproc%20performance-.velo%40zillow%2Ecom-.%3A%3AEH12-");
/// ```
pub fn clean_and_join_metric_parts<I>(parts: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut joined = String::new();
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            joined.push('.');
        }
        joined.push_str(&encode_metric_part(part.as_ref()));
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_that_are_not_encodings_are_errors() {
        assert!(matches!(
            decode_metric_part("%C3%BC"),
            Err(DecodeError::UnexpectedByte {
                byte: 0xC3,
                offset: 0
            })
        ));
        assert!(matches!(
            decode_metric_part("%4"),
            Err(DecodeError::BadEscape { offset: 0 })
        ));
        assert!(matches!(
            decode_metric_part("a%2e-"),
            Err(DecodeError::NotCanonical { .. })
        ));
        assert!(matches!(
            decode_metric_part("ü"),
            Err(DecodeError::UnexpectedByte { offset: 0, .. })
        ));
        assert!(matches!(
            decode_metric_part("a b-"),
            Err(DecodeError::UnexpectedByte {
                byte: b' ',
                offset: 1
            })
        ));
    }

    #[test]
    fn odd_looking_real_encodings_decode() {
        assert_eq!(
            decode_metric_part("abc").as_deref(),
            Ok("\u{82}\u{81}\u{80}")
        );
        assert_eq!(decode_metric_part("").as_deref(), Ok(""));
        assert_eq!(decode_metric_part("a%2Eb%2Ec-").as_deref(), Ok("a.b.c"));
    }
}
