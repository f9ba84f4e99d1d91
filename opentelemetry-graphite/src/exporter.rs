//! [`GraphiteExporter`]: the SDK's [`PushMetricExporter`] over any
//! [`Sink`], and the counters of what it could not send.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use graphite_proto::Datapoint;
use graphite_proto::sender::Stats;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;

use crate::builder::GraphiteExporterBuilder;
use crate::render::{RenderConfig, Renderer, Skipped};
use graphite_driver::Sink;

/// What the exporter did, counted in Graphite datapoints (a histogram data
/// point makes several).
///
/// Every datapoint that was rendered but not handed to the sink is in one
/// of the `skipped_*` counters; what the sink then drops (full buffer,
/// flush deadline, carbon away past the replay window) is in its own
/// [`Stats`] ([`GraphiteExporter::sink_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportStats {
    /// Calls of `export`.
    pub exports: u64,
    /// Datapoints handed to the sink and accepted by it.
    pub sent: u64,
    /// NaN or infinite values. The SDK 0.33 drops non-finite measurements
    /// itself, so what is counted here is an aggregate that overflowed (an
    /// `f64` sum past `f64::MAX`).
    pub skipped_non_finite: u64,
    /// Instrument names that are not a valid Graphite path with the prefix
    /// and suffix (possible only through a view's rename: the SDK checks
    /// instrument names).
    pub skipped_invalid_name: u64,
    /// Attribute sets that cannot be valid tags: an empty key, a key
    /// `name`, two keys equal once sanitised, a key `upper_bound` or
    /// `quantile` on a histogram's bucket or quantile series, or a series
    /// longer than carbon's line limit.
    pub skipped_invalid_attributes: u64,
    /// Datapoints the sink refused at once (full buffer, closed).
    pub refused_by_sink: u64,
}

impl ExportStats {
    /// Every datapoint not sent, whatever the reason.
    pub fn not_sent(&self) -> u64 {
        self.skipped_non_finite
            + self.skipped_invalid_name
            + self.skipped_invalid_attributes
            + self.refused_by_sink
    }
}

#[derive(Debug, Default)]
struct Counters {
    exports: AtomicU64,
    sent: AtomicU64,
    non_finite: AtomicU64,
    invalid_name: AtomicU64,
    invalid_attributes: AtomicU64,
    refused: AtomicU64,
}

/// The renderer and the batch it fills, reused by every export.
#[derive(Debug)]
struct State {
    renderer: Renderer,
    batch: Vec<Datapoint>,
}

struct Inner {
    sink: Arc<dyn Sink>,
    state: Mutex<State>,
    temporality: Temporality,
    flush_timeout: Duration,
    shutdown_timeout: Duration,
    counters: Counters,
    shut_down: AtomicBool,
}

/// An OpenTelemetry metrics exporter that sends to Graphite's carbon.
///
/// Give it to the SDK's `PeriodicReader` (which calls it from its own
/// thread, no async runtime needed). It is a cheap handle: keep a clone to
/// read [`stats`](Self::stats) and [`sink_stats`](Self::sink_stats).
///
/// - `export` renders the metrics (see [`conventions`](crate::conventions))
///   and hands them to the sink with `push_many`, which never waits:
///   a carbon that is down or slow never holds up the reader.
/// - `force_flush` waits until the sink has written what it buffers, up to
///   the flush timeout (default 4 s), even if carbon stopped reading.
/// - `shutdown_with_timeout` flushes and closes the sink within its
///   timeout; `shutdown` uses the builder's (default 4 s, under the 5 s the
///   `PeriodicReader` allows). What is not written by then is dropped and
///   counted in [`sink_stats`](Self::sink_stats).
///
/// The SDK 0.33's `SdkMeterProvider::force_flush` collects and exports
/// but does not call the exporter's `force_flush` (a to-do in the SDK):
/// it leaves the datapoints in the sender's buffer. To wait until carbon
/// has them, call `force_flush` on a clone of the exporter afterwards.
///
/// ```no_run
/// use opentelemetry_graphite::GraphiteExporter;
/// use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
///
/// let exporter = GraphiteExporter::builder().with_prefix("app").build()?;
/// let handle = exporter.clone();
/// let provider = SdkMeterProvider::builder()
///     .with_reader(PeriodicReader::builder(exporter).build())
///     .build();
/// // ...
/// provider.shutdown()?;
/// assert_eq!(handle.stats().not_sent(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct GraphiteExporter {
    inner: Arc<Inner>,
}

impl fmt::Debug for GraphiteExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphiteExporter")
            .field("sink", &self.inner.sink)
            .field("temporality", &self.inner.temporality)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl GraphiteExporter {
    /// A builder with every default: see [`GraphiteExporterBuilder`].
    pub fn builder() -> GraphiteExporterBuilder {
        GraphiteExporterBuilder::default()
    }

    pub(crate) fn new(
        sink: Arc<dyn Sink>,
        render: RenderConfig,
        temporality: Temporality,
        flush_timeout: Duration,
        shutdown_timeout: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                sink,
                state: Mutex::new(State {
                    renderer: Renderer::new(render),
                    batch: Vec::new(),
                }),
                temporality,
                flush_timeout,
                shutdown_timeout,
                counters: Counters::default(),
                shut_down: AtomicBool::new(false),
            }),
        }
    }

    /// What the exporter sent and skipped so far.
    pub fn stats(&self) -> ExportStats {
        let c = &self.inner.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ExportStats {
            exports: load(&c.exports),
            sent: load(&c.sent),
            skipped_non_finite: load(&c.non_finite),
            skipped_invalid_name: load(&c.invalid_name),
            skipped_invalid_attributes: load(&c.invalid_attributes),
            refused_by_sink: load(&c.refused),
        }
    }

    /// The sink's counters: written, buffered, dropped and why.
    pub fn sink_stats(&self) -> Stats {
        self.inner.sink.stats()
    }

    #[cfg(test)]
    pub(crate) fn cached_series(&self) -> usize {
        let state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.renderer.cached_series()
    }

    /// Renders and hands over one export; never waits for the network.
    fn export_now(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        if self.inner.shut_down.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let c = &self.inner.counters;
        c.exports.fetch_add(1, Ordering::Relaxed);
        let mut state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let State { renderer, batch } = &mut *state;
        batch.clear();
        let skipped = renderer.render(metrics, batch);
        self.count_skipped(skipped);
        let result = self.inner.sink.push_many(batch);
        let refused = result.as_ref().err().map_or(0, |e| e.dropped);
        c.sent
            .fetch_add((batch.len() - refused) as u64, Ordering::Relaxed);
        c.refused.fetch_add(refused as u64, Ordering::Relaxed);
        // Keep the capacity, drop the names' references.
        batch.clear();
        result.map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn count_skipped(&self, skipped: Skipped) {
        let c = &self.inner.counters;
        c.non_finite
            .fetch_add(skipped.non_finite, Ordering::Relaxed);
        c.invalid_name
            .fetch_add(skipped.invalid_name, Ordering::Relaxed);
        c.invalid_attributes
            .fetch_add(skipped.invalid_attributes, Ordering::Relaxed);
    }
}

/// `Timeout` when the sink dropped datapoints at a deadline meanwhile.
fn deadline_result(before: &Stats, after: &Stats, timeout: Duration) -> OTelSdkResult {
    if after.dropped.deadline > before.dropped.deadline {
        Err(OTelSdkError::Timeout(timeout))
    } else {
        Ok(())
    }
}

impl PushMetricExporter for GraphiteExporter {
    fn export(
        &self,
        metrics: &ResourceMetrics,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // All the work is synchronous and bounded: no await point.
        std::future::ready(self.export_now(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        if self.inner.shut_down.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let before = self.inner.sink.stats();
        let after = self.inner.sink.flush_blocking(self.inner.flush_timeout);
        deadline_result(&before, &after, self.inner.flush_timeout)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.inner.shut_down.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let before = self.inner.sink.stats();
        let after = self.inner.sink.close_blocking(timeout);
        deadline_result(&before, &after, timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.shutdown_with_timeout(self.inner.shutdown_timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality
    }
}
