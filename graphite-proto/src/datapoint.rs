//! [`Datapoint`]: one value of one series at one second.

use crate::path::MetricPath;
use crate::value::Value;

/// One measurement: a series, a value and a Unix timestamp in seconds.
///
/// The timestamp is always explicit: this crate never reads a clock, and `0`
/// means 1970-01-01T00:00:00Z, not "now" (aiographite's `timestamp=0` meant
/// "now"). Adapters fill in "now" where their API lets it be left out.
///
/// ```
/// use graphite_proto::{Datapoint, MetricPath, Value};
///
/// let dp = Datapoint::new(MetricPath::new("servers.web1.cpu")?, 42, 1_700_000_000);
/// assert_eq!(dp.value, Value::Int(42));
/// let float = Datapoint::new(dp.path.clone(), Value::try_from(0.5)?, 1_700_000_001);
/// assert_eq!(float.value, Value::Float(0.5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Datapoint {
    /// The series.
    pub path: MetricPath,
    /// The value.
    pub value: Value,
    /// Unix time in seconds.
    pub timestamp: i64,
}

impl Datapoint {
    /// Builds a datapoint. Floats go through [`Value::try_from`] first, which
    /// refuses NaN and infinities.
    pub fn new(path: MetricPath, value: impl Into<Value>, timestamp: i64) -> Self {
        Self {
            path,
            value: value.into(),
            timestamp,
        }
    }
}

/// Truncates a float timestamp toward zero, as whisper does; `None` when it
/// is not finite or outside `i64`.
pub(crate) fn timestamp_from_f64(seconds: f64) -> Option<i64> {
    // 2^63 is exact in f64; `as` would saturate silently, so check first.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (seconds.is_finite() && (-LIMIT..LIMIT).contains(&seconds)).then(|| seconds.trunc() as i64)
}
