//! A Graphite (carbon) exporter for the [`metrics`] facade.
//!
//! ```no_run
//! let handle = metrics_exporter_graphite::GraphiteBuilder::new().with_prefix("app.web1").install()?;
//! metrics::counter!("http.requests", "method" => "GET").increment(1);
//! handle.shutdown(std::time::Duration::from_secs(5));
//! # Ok::<(), metrics_exporter_graphite::BuildError>(())
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
//! That is the default [`NamingScheme`]; presets reproduce what
//! Dropwizard's `GraphiteReporter` ([`NamingScheme::dropwizard`]),
//! Micrometer's tagged mode ([`NamingScheme::micrometer_tagged`]) and
//! statsd's graphite backend ([`NamingScheme::statsd`]) send, and
//! [`GraphiteHandle::storage_aggregation`] prints the carbon rollup rules
//! for whatever scheme is used.
//!
//! Labels become Graphite 1.1 tags (`P.http.requests.count;method=GET`,
//! [`LabelStyle::Tags`], the default) or path nodes sorted by key
//! (`P.http.requests.method.GET.count`, [`LabelStyle::Path`]); see
//! [`LabelStyle`] for how characters carbon cannot store are replaced. A
//! series whose name cannot be made valid, and NaN or infinite values, are
//! never sent: they are counted in [`ExporterStats`].
//!
//! Every flush also sends the exporter's and the sender's own counters
//! (written, dropped by reason, replayed, connections, flush time) under
//! `P.metrics_exporter_graphite.exporter.*` and `P.metrics_exporter_graphite.sender.*`
//! ([`GraphiteBuilder::with_self_telemetry`] turns them off):
//!
//! | series | what |
//! |---|---|
//! | `exporter.flushes`, `.datapoints`, `.refused`, `.invalid_series`, `.non_finite`, `.idle_removed` | [`ExporterStats`], running totals |
//! | `exporter.last_flush_seconds` | how long the previous flush took |
//! | `sender.accepted`, `.written`, `.written_bytes`, `.replayed`, `.connects`, `.connect_failures`, `.disconnects` | the sender's [`Stats`], running totals |
//! | `sender.dropped.buffer_full`, `.evicted`, `.deadline`, `.closed`, `.too_large`, `.invalid`, `.spool_full`, `.spool_error`, `.spool_corrupt` | drops by reason, running totals |
//! | `sender.spooled`, `.unspooled`, `.spool_found` | the disk spool's running totals |
//! | `sender.buffered`, `sender.buffered_bytes`, `sender.spool_held`, `sender.spool_bytes` | what waits in the sender's buffer and spool |
//!
//! The recorder is metrics-util's atomic registry: a counter increment is
//! one atomic add and allocates nothing. A histogram keeps no samples: each
//! one is counted in a log-scaled bucket (quantiles within
//! [`SKETCH_RELATIVE_ERROR`]) and added to exact count, sum, min and max, all
//! atomics, so its memory does not grow with the rate: 2.6 KiB per name and
//! label set, plus 4 KiB for each power-of-two range (octave) its values
//! have touched (40 KiB for latencies from 1 ms to 1 s), at most 643 KiB.
//!
//! The exporter's loop runs on a thread of its own. Its datapoints go
//! through graphite-blocking's sender thread, or, with the `tokio` feature
//! and [`GraphiteBuilder::install`] called inside a tokio runtime,
//! graphite-tokio's sender on that runtime; [`GraphiteBuilder::with_sink`]
//! takes any other sender (a routed one, another runtime's).
//!
//! Modules depend one way: builder → exporter → render → naming → scheme,
//! and the sink the builder starts.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod address;
mod builder;
mod error;
mod exporter;
mod histogram;
mod naming;
mod rates;
mod render;
mod scheme;
mod sink;
mod stats;
mod storage;
mod telemetry;
#[cfg(test)]
mod tests;

pub use builder::{DEFAULT_ADDRESS, DEFAULT_INTERVAL, GraphiteBuilder};
pub use error::BuildError;
pub use exporter::{Exporter, ExporterStats, GraphiteHandle, GraphiteRecorder};
pub use graphite_proto::sender::{SenderConfig, Stats};
pub use graphite_proto::{Datapoint, MetricPath, Protocol, Value};
pub use metrics_util::MetricKindMask;
pub use render::SKETCH_RELATIVE_ERROR;
pub use scheme::{
    Characters, CounterMode, DEFAULT_QUANTILES, KindScheme, LabelStyle, NamingScheme, QuantileRank,
    Statistic, StatisticPlacement, ThresholdStatistic, TimestampAt, Window,
};
pub use telemetry::{SELF_TELEMETRY_NODE, self_telemetry_storage_aggregation};
