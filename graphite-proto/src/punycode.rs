//! RFC 3492 punycode over whole strings, as CPython's `punycode` codec does it.
//!
//! Why not the `idna` crate's `punycode` module: it computes in `u32` and
//! returns `None` when a delta overflows, which happens for long inputs (a
//! 4,100-byte ASCII run followed by U+10FFFF). CPython computes with
//! arbitrary-precision integers and encodes those inputs fine, and aiographite
//! names must match CPython byte for byte. Here deltas are `u128`: a delta is
//! at most `0x110000 * (chars + 1)`, which cannot overflow `u128` for any
//! string that fits in memory, so encoding is total.

const BASE: u128 = 36;
const T_MIN: u128 = 1;
const T_MAX: u128 = 26;
const SKEW: u128 = 38;
const DAMP: u128 = 700;
const INITIAL_BIAS: u128 = 72;
const INITIAL_N: u32 = 0x80;

/// Why a string is not punycode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PunycodeError {
    /// A byte outside the punycode alphabet.
    #[error("byte {byte:#04x} at offset {offset} is not a punycode digit")]
    BadDigit {
        /// The byte.
        byte: u8,
        /// Its offset.
        offset: usize,
    },
    /// The digits ended in the middle of a number.
    #[error("punycode digits end in the middle of a number")]
    Truncated,
    /// A number was too large to be a code point insertion.
    #[error("punycode number overflows")]
    Overflow,
    /// The decoded number is not a Unicode scalar value, or is ASCII (which
    /// punycode never encodes as a delta).
    #[error("punycode decodes to invalid code point {0:#x}")]
    BadCodePoint(u128),
}

fn threshold(k: u128, bias: u128) -> u128 {
    if k <= bias {
        T_MIN
    } else if k >= bias + T_MAX {
        T_MAX
    } else {
        k - bias
    }
}

fn adapt(delta: u128, num_points: u128, first_time: bool) -> u128 {
    let mut delta = if first_time { delta / DAMP } else { delta / 2 };
    delta += delta / num_points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + (BASE * delta) / (delta + SKEW)
}

fn digit_char(d: u128) -> char {
    // d < 36 by construction.
    let d = d as u8;
    char::from(if d < 26 { b'a' + d } else { b'0' + d - 26 })
}

fn digit_value(b: u8) -> Option<u128> {
    match b {
        b'a'..=b'z' => Some(u128::from(b - b'a')),
        b'A'..=b'Z' => Some(u128::from(b - b'A')),
        b'0'..=b'9' => Some(u128::from(b - b'0') + 26),
        _ => None,
    }
}

/// Appends the punycode of `input` (no `xn--` prefix) to `out`.
pub(crate) fn encode_into(input: &str, out: &mut String) {
    let mut basic: u128 = 0;
    let mut total: u128 = 0;
    for c in input.chars() {
        total += 1;
        if c.is_ascii() {
            out.push(c);
            basic += 1;
        }
    }
    if basic > 0 {
        out.push('-');
    }
    let mut n = INITIAL_N;
    let mut delta: u128 = 0;
    let mut bias = INITIAL_BIAS;
    let mut handled = basic;
    while handled < total {
        // The smallest code point not yet handled; exists since handled < total.
        let Some(m) = input.chars().map(u32::from).filter(|&c| c >= n).min() else {
            break;
        };
        delta += u128::from(m - n) * (handled + 1);
        n = m;
        for c in input.chars().map(u32::from) {
            if c < n {
                delta += 1;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = threshold(k, bias);
                    if q < t {
                        break;
                    }
                    out.push(digit_char(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out.push(digit_char(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta += 1;
        n += 1;
    }
}

/// Decodes punycode (no `xn--` prefix). Accepts what [`encode_into`] makes;
/// callers that need exactness re-encode and compare.
pub(crate) fn decode(input: &[u8]) -> Result<String, PunycodeError> {
    let (basic, extended, ext_offset) = match input.iter().rposition(|&b| b == b'-') {
        Some(p) => (&input[..p], &input[p + 1..], p + 1),
        None => (&input[..0], input, 0),
    };
    let mut output: Vec<char> = Vec::with_capacity(input.len());
    for (offset, &b) in basic.iter().enumerate() {
        if !b.is_ascii() {
            return Err(PunycodeError::BadDigit { byte: b, offset });
        }
        output.push(char::from(b));
    }
    let mut n = u128::from(INITIAL_N);
    let mut i: u128 = 0;
    let mut bias = INITIAL_BIAS;
    let mut pos = 0;
    while pos < extended.len() {
        let old_i = i;
        let mut w: u128 = 1;
        let mut k = BASE;
        loop {
            let &b = extended.get(pos).ok_or(PunycodeError::Truncated)?;
            let digit = digit_value(b).ok_or(PunycodeError::BadDigit {
                byte: b,
                offset: ext_offset + pos,
            })?;
            pos += 1;
            let step = digit.checked_mul(w).ok_or(PunycodeError::Overflow)?;
            i = i.checked_add(step).ok_or(PunycodeError::Overflow)?;
            let t = threshold(k, bias);
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t).ok_or(PunycodeError::Overflow)?;
            k += BASE;
        }
        let len = output.len() as u128 + 1;
        bias = adapt(i - old_i, len, old_i == 0);
        n = n.checked_add(i / len).ok_or(PunycodeError::Overflow)?;
        i %= len;
        let c = u32::try_from(n)
            .ok()
            .filter(|&c| c >= INITIAL_N)
            .and_then(char::from_u32)
            .ok_or(PunycodeError::BadCodePoint(n))?;
        // i < len <= output.len() + 1, so the index is in range.
        output.insert(i as usize, c);
        i += 1;
    }
    Ok(output.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(s: &str) -> String {
        let mut out = String::new();
        encode_into(s, &mut out);
        out
    }

    #[test]
    fn matches_cpython_codec() {
        // Outputs of `s.encode("punycode")` under CPython 3.11.
        for (input, expected) in [
            ("", ""),
            ("abc", "abc-"),
            ("ü", "tda"),
            ("München", "Mnchen-3ya"),
            ("日本", "wgv71a"),
            ("-", "--"),
        ] {
            assert_eq!(encode(input), expected, "{input:?}");
            assert_eq!(decode(expected.as_bytes()).as_deref(), Ok(input));
        }
    }

    #[test]
    fn long_inputs_do_not_overflow() {
        let input = "a".repeat(4100) + "\u{10FFFF}";
        let encoded = encode(&input);
        assert_eq!(decode(encoded.as_bytes()).as_deref(), Ok(input.as_str()));
    }

    #[test]
    fn hostile_digits_are_errors() {
        assert_eq!(
            decode("9".repeat(60).as_bytes()),
            Err(PunycodeError::Overflow)
        );
        assert_eq!(decode(b"a-b"), Err(PunycodeError::Truncated));
        assert!(matches!(
            decode(b"a-!"),
            Err(PunycodeError::BadDigit { offset: 2, .. })
        ));
    }
}
