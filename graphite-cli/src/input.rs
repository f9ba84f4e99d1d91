//! Datapoints given on the command line or stdin: `metric value [timestamp]`.

use graphite_proto::client::IntoValue;
use graphite_proto::{Datapoint, MetricPath, NameError, Value, ValueError};

/// Why an input line was not sent.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct InputError {
    /// 1-based line number (0 for command-line arguments).
    pub line: usize,
    /// What is wrong.
    pub reason: Invalid,
}

/// What is wrong with a line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Invalid {
    /// Not two or three fields.
    #[error("{0} fields; expected `metric value [timestamp]`")]
    Fields(usize),
    /// The metric name was refused.
    #[error("invalid metric name: {0}")]
    Name(#[from] NameError),
    /// The value is not a number.
    #[error("value {0:?} is not a number")]
    NotANumber(String),
    /// The value is NaN or infinite.
    #[error("invalid value: {0}")]
    Value(#[from] ValueError),
    /// The timestamp is not a finite number of Unix seconds.
    #[error("timestamp {0:?} is not a number of Unix seconds")]
    Timestamp(String),
}

/// Parses one `metric value [timestamp]` line; `now` fills a missing
/// timestamp.
pub fn parse(line: &str, number: usize, now: i64) -> Result<Datapoint, InputError> {
    let mut fields = line.split_whitespace();
    let parsed = match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(name), Some(value), stamp, None) => datapoint(name, value, stamp, now),
        _ => Err(Invalid::Fields(line.split_whitespace().count())),
    };
    parsed.map_err(|reason| InputError {
        line: number,
        reason,
    })
}

/// Builds a datapoint from its texts.
pub fn datapoint(
    name: &str,
    value: &str,
    stamp: Option<&str>,
    now: i64,
) -> Result<Datapoint, Invalid> {
    let path = MetricPath::new(name)?;
    let value = parse_value(value)?;
    let timestamp = stamp.map_or(Ok(now), parse_timestamp)?;
    Ok(Datapoint::new(path, value, timestamp))
}

fn parse_value(text: &str) -> Result<Value, Invalid> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Ok(Value::from(u));
    }
    let float: f64 = text
        .parse()
        .map_err(|_| Invalid::NotANumber(text.to_owned()))?;
    Ok(float.into_value()?)
}

/// Carbon's `int(float(ts))`: fractional seconds are truncated toward zero.
fn parse_timestamp(text: &str) -> Result<i64, Invalid> {
    if let Ok(whole) = text.parse::<i64>() {
        return Ok(whole);
    }
    let invalid = || Invalid::Timestamp(text.to_owned());
    let float: f64 = text.parse().map_err(|_| invalid())?;
    // The range check keeps `as` exact: every float in it truncates to an i64.
    if float.is_finite() && float.abs() < 9.2e18 {
        Ok(float.trunc() as i64)
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_reports_why_not() {
        let dp = parse("a.b 1.5 10", 1, 99).expect("valid");
        assert_eq!(
            (dp.path.as_str(), dp.value, dp.timestamp),
            ("a.b", Value::Float(1.5), 10)
        );
        assert_eq!(parse("a.b 7", 1, 99).expect("valid").timestamp, 99);
        for bad in [
            "a",
            "a b c d",
            "a.. 1",
            "a nan",
            "a 1 x",
            "a\u{a0}b 1",
            "a 1 nan",
            "a 1 inf",
        ] {
            let err = parse(bad, 7, 0).expect_err(bad);
            assert_eq!(err.line, 7);
        }
        assert!(matches!(
            parse("a b c d", 1, 0).map_err(|e| e.reason),
            Err(Invalid::Fields(4))
        ));
    }

    #[test]
    fn fractional_timestamps_truncate_as_carbon_does() {
        // Python: int(float(ts)) for each.
        for (text, expected) in [
            ("1700000000.5", 1_700_000_000),
            ("1700000000.999", 1_700_000_000),
            ("-1.5", -1),
            ("1e9", 1_000_000_000),
            ("1.7E9", 1_700_000_000),
            ("+5", 5),
        ] {
            let dp = parse(&format!("a 1 {text}"), 1, 0).expect(text);
            assert_eq!(dp.timestamp, expected, "{text}");
        }
        assert!(parse("a 1 1e30", 1, 0).is_err(), "beyond i64 is refused");
    }
}
