//! A Graphite (carbon) exporter for the [`metrics`] facade.
//!
//! ```no_run
//! let handle = graphite_metrics::GraphiteBuilder::new().with_prefix("app.web1").install()?;
//! metrics::counter!("http.requests", "method" => "GET").increment(1);
//! handle.shutdown(std::time::Duration::from_secs(5));
//! # Ok::<(), graphite_metrics::BuildError>(())
//! ```
//!
//! Every interval (60 s by default) the exporter sends every series, all
//! stamped with the start of the interval, through graphite-rs's resilient
//! sender (bounded buffer, reconnects, replay, counted drops). With the
//! prefix `P` and a metric `http.requests`:
//!
//! | recorded | sent |
//! |---|---|
//! | counter | `P.http.requests.count`: the running total ([`CounterMode::Cumulative`]) or the change ([`CounterMode::Delta`]); `absolute(v)` never lowers it |
//! | gauge | `P.http.requests`: the last value, every interval |
//! | histogram | `.count` and `.sum` (totals), and for the interval's samples `.min`, `.max`, `.mean`, `.p50`, `.p75`, `.p95`, `.p99`, `.p999` |
//!
//! Labels become Graphite 1.1 tags (`P.http.requests.count;method=GET`,
//! [`LabelStyle::Tags`], the default) or path nodes sorted by key
//! (`P.http.requests.method.GET.count`, [`LabelStyle::Path`]); see
//! [`LabelStyle`] for how characters carbon cannot store are replaced. A
//! series whose name cannot be made valid, and NaN or infinite values, are
//! never sent: they are counted in [`ExporterStats`].
//!
//! The recorder is metrics-util's atomic registry: a counter increment is
//! one atomic add and allocates nothing. A histogram keeps no samples: each
//! one is counted in a log-scaled bucket (quantiles within
//! [`SKETCH_RELATIVE_ERROR`]) and added to exact count, sum, min and max, all
//! atomics, so its memory does not grow with the rate: 2.6 KiB per name and
//! label set, plus 4 KiB for each power-of-two range (octave) its values
//! have touched (40 KiB for latencies from 1 ms to 1 s), at most 643 KiB.
//!
//! With the `tokio` feature, [`GraphiteBuilder::install`] called inside a
//! tokio runtime runs the exporter as a task with graphite-tokio's sender
//! instead of a thread.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod exporter;
mod histogram;
mod naming;
mod render;
mod sink;
#[cfg(test)]
mod tests;

pub use builder::{
    BuildError, CounterMode, DEFAULT_ADDRESS, DEFAULT_INTERVAL, DEFAULT_QUANTILES, GraphiteBuilder,
    LabelStyle,
};
pub use exporter::{Exporter, ExporterStats, GraphiteHandle, GraphiteRecorder};
pub use graphite_proto::sender::{SenderConfig, Stats};
pub use graphite_proto::{Datapoint, MetricPath, Protocol, Value};
pub use render::SKETCH_RELATIVE_ERROR;
