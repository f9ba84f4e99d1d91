//! Datapoint values: exact integers and finite floats.

use std::fmt;

/// A datapoint's value, as it goes on the wire.
///
/// Integers are printed exactly (no detour through `f64`, so `2^53 + 1`
/// arrives as written); floats are printed as the shortest text that parses
/// back to the same `f64`. NaN and infinities cannot be represented: carbon
/// drops NaN silently and whisper cannot store infinities meaningfully, so
/// they are refused when the value is built.
///
/// ```
/// use graphite_proto::Value;
///
/// let exact = Value::from(9_007_199_254_740_993_i64);
/// let float = Value::try_from(0.25_f64)?;
/// assert!(Value::try_from(f64::NAN).is_err());
/// assert_eq!(exact.to_string(), "9007199254740993");
/// assert_eq!(float.to_string(), "0.25");
/// # Ok::<(), graphite_proto::ValueError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX`. Smaller unsigned values are
    /// always stored as [`Value::Int`], so every number has one form.
    UInt(u64),
    /// A finite float (never NaN or infinite).
    Float(f64),
}

/// A value that cannot be sent to Graphite.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The value was NaN, which carbon would drop without a word.
    #[error("value is NaN: carbon drops NaN datapoints, so it is refused here")]
    NaN,
    /// The value was positive or negative infinity.
    #[error("value is {0}: only finite values can be stored")]
    Infinite(f64),
}

/// The longest text any [`Value`] formats to (`-1.7976931348623157e+308`).
pub const MAX_VALUE_TEXT_LEN: usize = 24;

impl Value {
    /// Builds a float value, refusing NaN and infinities.
    pub fn float(v: f64) -> Result<Self, ValueError> {
        if v.is_nan() {
            Err(ValueError::NaN)
        } else if v.is_infinite() {
            Err(ValueError::Infinite(v))
        } else {
            Ok(Self::Float(v))
        }
    }

    /// The value as an `f64` (integers above 2^53 lose precision).
    pub fn as_f64(self) -> f64 {
        match self {
            Self::Int(i) => i as f64,
            Self::UInt(u) => u as f64,
            Self::Float(f) => f,
        }
    }

    /// Writes the wire text of the value into `scratch` and returns it.
    ///
    /// This is the allocation-free path the encoders use.
    pub fn format(self, scratch: &mut ValueFormatter) -> &str {
        match self {
            Self::Int(i) => scratch.int.format(i),
            Self::UInt(u) => scratch.int.format(u),
            Self::Float(f) => scratch.float.format_finite(f),
        }
    }
}

/// Reusable stack buffers for formatting [`Value`]s without allocating.
#[derive(Default)]
pub struct ValueFormatter {
    int: itoa::Buffer,
    float: zmij::Buffer,
}

impl ValueFormatter {
    /// A new formatter.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for ValueFormatter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValueFormatter")
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.format(&mut ValueFormatter::new()))
    }
}

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Self::Int(i64::from(v))
            }
        }
    )*};
}
from_signed!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(i) => Self::Int(i),
            Err(_) => Self::UInt(v),
        }
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Self::from(v as u64)
    }
}

impl From<isize> for Value {
    fn from(v: isize) -> Self {
        Self::Int(v as i64)
    }
}

impl TryFrom<f64> for Value {
    type Error = ValueError;
    fn try_from(v: f64) -> Result<Self, ValueError> {
        Self::float(v)
    }
}

impl TryFrom<f32> for Value {
    type Error = ValueError;
    fn try_from(v: f32) -> Result<Self, ValueError> {
        Self::float(f64::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_exact() {
        assert_eq!(Value::from(i64::MIN).to_string(), "-9223372036854775808");
        assert_eq!(Value::from(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(Value::from(5_u64), Value::Int(5));
        assert_eq!(Value::from(u64::MAX), Value::UInt(u64::MAX));
    }

    #[test]
    fn floats_are_shortest_round_trip() {
        for (v, text) in [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (1e20, "1e+20"),
            (1e-7, "1e-7"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-f64::MAX, "-1.7976931348623157e+308"),
        ] {
            let value = Value::float(v).expect("finite");
            assert_eq!(value.to_string(), text);
            assert!(value.to_string().len() <= MAX_VALUE_TEXT_LEN);
        }
    }

    #[test]
    fn non_finite_is_refused() {
        assert_eq!(Value::float(f64::NAN), Err(ValueError::NaN));
        assert_eq!(
            Value::float(f64::NEG_INFINITY),
            Err(ValueError::Infinite(f64::NEG_INFINITY))
        );
        assert!(Value::try_from(f32::INFINITY).is_err());
    }
}
