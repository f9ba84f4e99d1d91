//! OpenTelemetry metrics into Graphite's carbon.
//!
//! ```no_run
//! use opentelemetry::{KeyValue, metrics::MeterProvider};
//! use opentelemetry_graphite::GraphiteExporter;
//! use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
//!
//! let exporter = GraphiteExporter::builder().with_address("carbon:2003").with_prefix("app").build()?;
//! let reader = PeriodicReader::builder(exporter).build(); // exports every 60 s, on its own thread
//! let provider = SdkMeterProvider::builder().with_reader(reader).build();
//! let requests = provider.meter("web").u64_counter("http.requests").build();
//! requests.add(1, &[KeyValue::new("method", "GET")]); // app.http.requests;method=GET
//! provider.shutdown()?; // last export, then flushes to carbon (4 s at most)
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`GraphiteExporter`] implements the SDK's [`PushMetricExporter`], so it
//! plugs into `PeriodicReader` like any exporter. By default the series
//! are named as the OpenTelemetry collector's `carbonexporter` named them
//! (sums and gauges `name;k=v`, histograms `name.count`, `name` and
//! `name.bucket;upper_bound=…`), so dashboards built on the collector keep
//! working; what it got wrong is done right: tag values sanitised,
//! exponential histograms sent as count, sum, min, max and quantile
//! estimates of stated error, non-finite values and invalid names skipped
//! and counted. Every series, and every difference from the collector, is
//! in [`conventions`].
//!
//! Datapoints go through graphite-rs's resilient sender (bounded buffer,
//! reconnects, replay, counted drops): by default graphite-blocking's
//! thread sender, which needs no async runtime; any other [`Sink`] (a
//! tokio sender, a routed sender) through
//! [`with_sink`](GraphiteExporterBuilder::with_sink). An export never
//! waits for carbon; `force_flush` and `shutdown` wait at most their
//! timeouts, even for a carbon that stopped reading.
//!
//! # With tokio
//!
//! The exporter itself needs no runtime: the SDK's `PeriodicReader` calls
//! it on its own thread. To send through a tokio sender instead of
//! graphite-blocking's thread, pass one as the sink:
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use graphite_driver::Sender;
//! use opentelemetry_graphite::{GraphiteExporter, Protocol, SenderConfig};
//!
//! // Inside a tokio runtime.
//! let sender = Sender::spawn(graphite_tokio::runtime(), "carbon", 2003, SenderConfig::new(Protocol::Plaintext))?;
//! let exporter = GraphiteExporter::builder().with_sink(Arc::new(sender)).build()?;
//! # Ok(()) }
//! ```
//!
//! `force_flush` and `shutdown` then wait for the sender's task from the
//! calling thread (the reader's, for `shutdown`), at most their timeouts.
//! With a current-thread runtime, do not call `SdkMeterProvider::shutdown`
//! or `force_flush` on the runtime's own thread: the task could not run
//! meanwhile, and the wait would end at its deadline with nothing written.
//! Call them from another thread or an awaited
//! `tokio::task::spawn_blocking`.
//!
//! [`PushMetricExporter`]: opentelemetry_sdk::metrics::exporter::PushMetricExporter
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
pub mod conventions;
mod exponential;
mod exporter;
mod render;
mod series;
#[cfg(test)]
mod tests;

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

pub use builder::{
    BuildError, DEFAULT_ADDRESS, DEFAULT_FLUSH_TIMEOUT, DEFAULT_QUANTILES,
    DEFAULT_SHUTDOWN_TIMEOUT, GraphiteExporterBuilder, NamingStyle,
};
pub use exponential::relative_error;
pub use exporter::{ExportStats, GraphiteExporter};
pub use graphite_driver::{BoxFuture, Sink};
pub use graphite_proto::Protocol;
pub use graphite_proto::sender::{SenderConfig, Stats};
pub use opentelemetry_sdk::metrics::Temporality;
