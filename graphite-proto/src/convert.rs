//! What `send` accepts: [`IntoMetricPath`], [`IntoValue`] and
//! [`IntoItem`], shared by the direct client and the background sender.

use crate::client::SendError;
use crate::datapoint::Datapoint;
use crate::path::{MetricPath, NameError};
use crate::value::{Value, ValueError};

/// Anything `send` accepts as a metric name: a validated [`MetricPath`]
/// (no further check) or text (validated; refused with a typed error before
/// anything is written).
pub trait IntoMetricPath {
    /// Converts, validating text.
    fn into_metric_path(self) -> Result<MetricPath, NameError>;
}

impl IntoMetricPath for MetricPath {
    fn into_metric_path(self) -> Result<MetricPath, NameError> {
        Ok(self)
    }
}

impl IntoMetricPath for &MetricPath {
    fn into_metric_path(self) -> Result<MetricPath, NameError> {
        Ok(self.clone())
    }
}

impl IntoMetricPath for &str {
    fn into_metric_path(self) -> Result<MetricPath, NameError> {
        MetricPath::new(self)
    }
}

impl IntoMetricPath for String {
    fn into_metric_path(self) -> Result<MetricPath, NameError> {
        MetricPath::new(&self)
    }
}

impl IntoMetricPath for &String {
    fn into_metric_path(self) -> Result<MetricPath, NameError> {
        MetricPath::new(self)
    }
}

/// Anything `send` accepts as a value: integers, and floats (NaN and
/// infinities refused).
pub trait IntoValue {
    /// Converts, refusing non-finite floats.
    fn into_value(self) -> Result<Value, ValueError>;
}

macro_rules! into_value_exact {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Result<Value, ValueError> {
                Ok(Value::from(self))
            }
        }
    )*};
}
into_value_exact!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl IntoValue for f64 {
    fn into_value(self) -> Result<Value, ValueError> {
        Value::float(self)
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> Result<Value, ValueError> {
        Value::float(f64::from(self))
    }
}

impl IntoValue for Value {
    fn into_value(self) -> Result<Value, ValueError> {
        Ok(self)
    }
}

/// One item of `send_multiple`: `(metric, value)` takes the call's default
/// timestamp (or "now"), `(metric, value, timestamp)` its own. An item
/// without a timestamp never inherits another item's (aiographite's bug).
pub trait IntoItem {
    /// Converts to a datapoint, with `default_timestamp` for items without one.
    fn into_datapoint(self, default_timestamp: i64) -> Result<Datapoint, SendError>;
}

impl<M: IntoMetricPath, V: IntoValue> IntoItem for (M, V) {
    fn into_datapoint(self, default_timestamp: i64) -> Result<Datapoint, SendError> {
        Ok(Datapoint::new(
            self.0.into_metric_path()?,
            self.1.into_value()?,
            default_timestamp,
        ))
    }
}

impl<M: IntoMetricPath, V: IntoValue> IntoItem for (M, V, i64) {
    fn into_datapoint(self, _: i64) -> Result<Datapoint, SendError> {
        Ok(Datapoint::new(
            self.0.into_metric_path()?,
            self.1.into_value()?,
            self.2,
        ))
    }
}

impl IntoItem for Datapoint {
    fn into_datapoint(self, _: i64) -> Result<Datapoint, SendError> {
        Ok(self)
    }
}
