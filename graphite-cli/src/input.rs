//! Datapoints given on the command line or stdin: `metric value [timestamp]`.

use graphite_proto::client::{IntoValue, SendError};
use graphite_proto::{Datapoint, MetricPath, Value};

/// Why an input line was not sent.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct InputError {
    /// 1-based line number (0 for command-line arguments).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses one `metric value [timestamp]` line; `now` fills a missing
/// timestamp and `prefix` is prepended to the name.
pub fn parse(
    line: &str,
    number: usize,
    now: i64,
    prefix: Option<&MetricPath>,
) -> Result<Datapoint, InputError> {
    let fail = |reason: String| InputError {
        line: number,
        reason,
    };
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (name, value, stamp) = match fields.as_slice() {
        [name, value] => (*name, *value, None),
        [name, value, stamp] => (*name, *value, Some(*stamp)),
        other => {
            return Err(fail(format!(
                "{} fields; expected `metric value [timestamp]`",
                other.len()
            )));
        }
    };
    datapoint(name, value, stamp, now, prefix).map_err(|e| fail(e.to_string()))
}

/// Builds a datapoint from its three texts.
pub fn datapoint(
    name: &str,
    value: &str,
    stamp: Option<&str>,
    now: i64,
    prefix: Option<&MetricPath>,
) -> Result<Datapoint, SendError> {
    let mut path = MetricPath::new(name)?;
    if let Some(prefix) = prefix {
        path = path.with_prefix(prefix)?;
    }
    let value = parse_value(value)?;
    let timestamp = match stamp {
        None => now,
        Some(text) => text.parse::<i64>().map_err(|_| {
            SendError::Encode(format!("timestamp {text:?} is not whole Unix seconds"))
        })?,
    };
    Ok(Datapoint::new(path, value, timestamp))
}

fn parse_value(text: &str) -> Result<Value, SendError> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Ok(Value::from(u));
    }
    let float: f64 = text
        .parse()
        .map_err(|_| SendError::Encode(format!("value {text:?} is not a number")))?;
    Ok(float.into_value()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_reports_why_not() {
        let dp = parse("a.b 1.5 10", 1, 99, None).expect("valid");
        assert_eq!(
            (dp.path.as_str(), dp.value, dp.timestamp),
            ("a.b", Value::Float(1.5), 10)
        );
        assert_eq!(parse("a.b 7", 1, 99, None).expect("valid").timestamp, 99);
        let prefix = MetricPath::new("p").expect("valid");
        assert_eq!(
            parse("a 1", 1, 0, Some(&prefix))
                .expect("valid")
                .path
                .as_str(),
            "p.a"
        );
        for bad in ["a", "a b c d", "a.. 1", "a nan", "a 1 x", "a\u{a0}b 1"] {
            let err = parse(bad, 7, 0, None).expect_err(bad);
            assert_eq!(err.line, 7);
        }
    }
}
