//! The generated workload every measurement shares.

use graphite_proto::{Datapoint, MetricPath, Value};

/// Series in the workload.
pub(crate) const SERIES: usize = 1_000;

/// The name of series `i`, like `servers.host42.cpu.core3.usage`.
pub(crate) fn series_name(i: usize) -> String {
    format!("servers.host{}.cpu.core{}.usage", i / 8, i % 8)
}

/// The value of series `i` at tick `tick`: two floats for every integer,
/// as gauges and counters mix in practice.
pub(crate) fn value(i: usize, tick: usize) -> Value {
    if i.is_multiple_of(3) {
        Value::Int((i * 17 + tick) as i64)
    } else {
        Value::Float(i as f64 * 0.731 + tick as f64 * 0.0625 + 0.125)
    }
}

/// `ticks` rounds over all series, timestamps advancing one second a round.
pub(crate) fn workload(ticks: usize) -> Vec<Datapoint> {
    let paths: Vec<MetricPath> = (0..SERIES)
        .map(|i| MetricPath::new(&series_name(i)).expect("valid name"))
        .collect();
    let mut out = Vec::with_capacity(SERIES * ticks);
    for tick in 0..ticks {
        for (i, path) in paths.iter().enumerate() {
            out.push(Datapoint::new(
                path.clone(),
                value(i, tick),
                1_700_000_000 + tick as i64,
            ));
        }
    }
    out
}
