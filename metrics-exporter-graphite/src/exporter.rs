//! The recorder, the periodic exporter and the handle that controls them.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graphite_proto::Datapoint;
use graphite_proto::sender::Stats;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

use graphite_driver::Sink;

use crate::error::BuildError;
use crate::histogram::GraphiteStorage;
use crate::render::{MetricRegistry, RenderConfig, State, Units};
pub use crate::stats::ExporterStats;
use crate::telemetry::Telemetry;

/// What the builder hands the exporter once every option is checked.
#[derive(Debug)]
pub(crate) struct ExporterConfig {
    /// Whole seconds, at least one.
    pub(crate) interval: i64,
    pub(crate) render: RenderConfig,
    pub(crate) sink: Arc<dyn Sink>,
    /// The exporter's and sender's own counters, sent each flush (`None`:
    /// opted out).
    pub(crate) telemetry: Option<Telemetry>,
}

#[derive(Debug, Default)]
struct Counters {
    flushes: AtomicU64,
    last_timestamp: AtomicI64,
    datapoints: AtomicU64,
    refused: AtomicU64,
    invalid_series: AtomicU64,
    non_finite: AtomicU64,
    idle_removed: AtomicU64,
    /// How long the last flush took to render and hand over, in
    /// nanoseconds.
    last_flush_nanos: AtomicU64,
}

/// The exporter's state behind its lock.
#[derive(Debug, Default)]
struct Flushing {
    state: State,
    /// Reused for every flush.
    out: Vec<Datapoint>,
    /// Set by the final flush: nothing is sent after it.
    closed: bool,
}

/// Stops the exporter loop.
#[derive(Debug, Default)]
struct Control {
    stop: Mutex<bool>,
    wake: Condvar,
}

#[derive(Debug)]
struct Inner {
    registry: MetricRegistry,
    units: Units,
    config: RenderConfig,
    /// Whole seconds.
    interval: i64,
    flushing: Mutex<Flushing>,
    sink: Arc<dyn Sink>,
    telemetry: Option<Telemetry>,
    control: Control,
    counters: Counters,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while flushing leaves nothing half-done that matters more
    // than going on sending metrics.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Seconds since the Unix epoch, as a float (0 if the clock is before it).
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Inner {
    /// The start of the interval `now` falls in.
    fn current_interval(&self) -> i64 {
        (unix_now() as i64).div_euclid(self.interval) * self.interval
    }

    /// Renders and hands over one flush stamped `timestamp`; returns the
    /// number of datapoints handed over (0 after the final flush).
    fn flush_at(&self, timestamp: i64, last: bool) -> usize {
        let mut flushing = lock(&self.flushing);
        if flushing.closed {
            return 0;
        }
        flushing.closed = last;
        let started = Instant::now();
        let Flushing { state, out, .. } = &mut *flushing;
        out.clear();
        let observed = state.render(
            &self.registry,
            &self.units,
            &self.config,
            timestamp,
            true,
            out,
        );
        let series = out.len();
        if let Some(telemetry) = &self.telemetry {
            telemetry.push(
                out,
                self.config.stamp(timestamp),
                &self.exporter_stats(),
                &self.sink.stats(),
            );
        }
        let refused = match self.sink.push_many(out) {
            Ok(()) => 0,
            Err(e) => {
                tracing::debug!(target: "graphite", "metrics flush: {e}");
                e.dropped
            }
        };
        let c = &self.counters;
        c.flushes.fetch_add(1, Ordering::Relaxed);
        c.last_timestamp.store(timestamp, Ordering::Relaxed);
        c.datapoints.fetch_add(series as u64, Ordering::Relaxed);
        c.refused.fetch_add(refused as u64, Ordering::Relaxed);
        c.invalid_series
            .fetch_add(observed.invalid_series, Ordering::Relaxed);
        c.non_finite
            .fetch_add(observed.non_finite, Ordering::Relaxed);
        c.idle_removed
            .fetch_add(observed.idle_removed, Ordering::Relaxed);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        c.last_flush_nanos.store(nanos, Ordering::Relaxed);
        series
    }

    fn exporter_stats(&self) -> ExporterStats {
        let c = &self.counters;
        ExporterStats {
            flushes: c.flushes.load(Ordering::Relaxed),
            last_timestamp: c.last_timestamp.load(Ordering::Relaxed),
            datapoints: c.datapoints.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            invalid_series: c.invalid_series.load(Ordering::Relaxed),
            non_finite: c.non_finite.load(Ordering::Relaxed),
            idle_removed: c.idle_removed.load(Ordering::Relaxed),
            last_flush: Duration::from_nanos(c.last_flush_nanos.load(Ordering::Relaxed)),
        }
    }

    /// Final flush, then stop the loop; returns whether this call did it.
    fn finish(&self) -> bool {
        {
            let mut stop = lock(&self.control.stop);
            if *stop {
                return false;
            }
            *stop = true;
        }
        self.flush_at(self.current_interval(), true);
        self.control.wake.notify_all();
        true
    }
}

/// The [`metrics::Recorder`] that stores what the application records, for
/// the [`Exporter`] to send.
///
/// Counters are atomic integers (`increment` is one atomic add, `absolute`
/// an atomic maximum, so it never lowers the total), gauges atomic floats,
/// histograms lock-free log-bucketed counters whose memory does not grow
/// with the rate (see [`SKETCH_RELATIVE_ERROR`](crate::SKETCH_RELATIVE_ERROR)
/// for their error). Registering a handle
/// (or a macro call) looks the series up in a sharded map and allocates only
/// the first time a series is seen.
///
/// ```
/// let (recorder, _exporter) = metrics_exporter_graphite::GraphiteBuilder::new().build()?;
/// metrics::with_local_recorder(&recorder, || metrics::counter!("hits").absolute(10));
/// assert_eq!(recorder.handle().render_at(0).len(), 1);
/// # Ok::<(), metrics_exporter_graphite::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GraphiteRecorder {
    inner: Arc<Inner>,
}

impl GraphiteRecorder {
    /// Keeps a counter's or histogram's unit for the naming scheme (a
    /// counter in [`Unit::CountPerSecond`] is a meter, a histogram in a
    /// time unit a timer), read when the series is first flushed.
    fn describe(&self, name: KeyName, unit: Option<Unit>) {
        if let Some(unit) = unit {
            self.inner
                .units
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(name.as_str().to_owned(), unit);
        }
    }

    /// A handle to the exporter this recorder feeds.
    pub fn handle(&self) -> GraphiteHandle {
        GraphiteHandle {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl Recorder for GraphiteRecorder {
    fn describe_counter(&self, name: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(name, unit);
    }

    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_histogram(&self, name: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(name, unit);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.inner
            .registry
            .get_or_create_counter(key, |c| Counter::from_arc(Arc::clone(c)))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.inner
            .registry
            .get_or_create_gauge(key, |g| Gauge::from_arc(Arc::clone(g)))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.inner
            .registry
            .get_or_create_histogram(key, |h| Histogram::from_arc(Arc::clone(h)))
    }
}

/// The periodic exporter: flushes every interval, at the interval's
/// boundaries, until [`GraphiteHandle::shutdown`].
///
/// A flush scheduled at boundary `B` carries timestamp `B - interval`, the
/// start of the interval whose data it holds, whenever the loop actually
/// wakes; if it wakes more than an interval late it flushes once, for the
/// latest boundary.
///
/// ```no_run
/// let (recorder, exporter) = metrics_exporter_graphite::GraphiteBuilder::new().build()?;
/// metrics::set_global_recorder(recorder).ok();
/// std::thread::spawn(move || exporter.run());
/// # Ok::<(), metrics_exporter_graphite::BuildError>(())
/// ```
#[derive(Debug)]
#[must_use = "the exporter sends nothing until it runs"]
pub struct Exporter {
    inner: Arc<Inner>,
}

impl Exporter {
    /// A handle to this exporter.
    pub fn handle(&self) -> GraphiteHandle {
        GraphiteHandle {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Runs the loop on the calling thread until
    /// [`GraphiteHandle::shutdown`].
    pub fn run(self) {
        let inner = &self.inner;
        let interval = inner.interval as f64;
        loop {
            let next = ((unix_now() / interval).floor() + 1.0) * interval;
            let mut stop = lock(&inner.control.stop);
            loop {
                if *stop {
                    return;
                }
                let left = next - unix_now();
                if left <= 0.0 {
                    break;
                }
                stop = inner
                    .control
                    .wake
                    .wait_timeout(stop, Duration::from_secs_f64(left))
                    .map_or_else(|p| p.into_inner().0, |(g, _)| g);
            }
            drop(stop);
            inner.flush_at(next as i64 - inner.interval, false);
        }
    }

    /// Runs the loop on a thread of its own (named `metrics-exporter-graphite`)
    /// until [`GraphiteHandle::shutdown`], which waits for that thread.
    ///
    /// ```no_run
    /// let (recorder, exporter) = metrics_exporter_graphite::GraphiteBuilder::new().build()?;
    /// let handle = exporter.spawn()?;
    /// metrics::with_local_recorder(&recorder, || metrics::counter!("jobs").increment(1));
    /// handle.shutdown(std::time::Duration::from_secs(5));
    /// # Ok::<(), metrics_exporter_graphite::BuildError>(())
    /// ```
    pub fn spawn(self) -> Result<GraphiteHandle, BuildError> {
        let handle = self.handle();
        let thread = std::thread::Builder::new()
            .name("metrics-exporter-graphite".into())
            .spawn(move || self.run())
            .map_err(BuildError::Thread)?;
        *lock(&handle.inner.thread) = Some(thread);
        Ok(handle)
    }
}

/// Controls a running exporter: cheap to clone.
///
/// ```no_run
/// use std::time::Duration;
///
/// let handle = metrics_exporter_graphite::GraphiteBuilder::new().install()?;
/// metrics::gauge!("queue.depth").set(12.0);
/// handle.flush_now();
/// println!("{:?} {:?}", handle.stats(), handle.exporter_stats());
/// handle.shutdown(Duration::from_secs(5));
/// # Ok::<(), metrics_exporter_graphite::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GraphiteHandle {
    inner: Arc<Inner>,
}

impl GraphiteHandle {
    /// Sends everything now, stamped with the start of the current interval,
    /// without waiting for the network; returns the number of datapoints
    /// handed to the sender. The next scheduled flush carries the same
    /// timestamp, and carbon keeps the last value it receives for it: in
    /// [`CounterMode::Delta`](crate::CounterMode::Delta) that value is
    /// only the change since this flush.
    pub fn flush_now(&self) -> usize {
        self.inner.flush_at(self.inner.current_interval(), false)
    }

    /// A flush of the interval starting at `interval_start` (seconds since
    /// the epoch), as if that interval had just ended: stamped per the
    /// naming scheme, deltas and rates advanced. For tests that drive time
    /// themselves (with a long interval, so the loop stays out of the
    /// way); returns the number of datapoints handed to the sender.
    ///
    /// ```
    /// let (recorder, exporter) = metrics_exporter_graphite::GraphiteBuilder::new()
    ///     .with_address("127.0.0.1:9")
    ///     .build()?;
    /// metrics::with_local_recorder(&recorder, || metrics::counter!("hits").increment(1));
    /// assert_eq!(exporter.handle().flush_at(1_700_000_000), 1);
    /// # Ok::<(), metrics_exporter_graphite::BuildError>(())
    /// ```
    pub fn flush_at(&self, interval_start: i64) -> usize {
        self.inner.flush_at(interval_start, false)
    }

    /// The `storage-aggregation.conf` stanzas for what this exporter sends
    /// (its naming scheme, counter mode, prefix and interval): see
    /// [`NamingScheme::storage_aggregation`](crate::NamingScheme::storage_aggregation).
    /// Give the finest retention of the carbon schema the series fall
    /// under to be warned when the interval differs from it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_recorder, exporter) = metrics_exporter_graphite::GraphiteBuilder::new()
    ///     .with_prefix("app")
    ///     .with_interval(Duration::from_secs(10))
    ///     .build()?;
    /// let conf = exporter.handle().storage_aggregation(Some(Duration::from_secs(60)));
    /// assert!(conf.contains("WARNING"));
    /// assert!(conf.contains("pattern = ^app\\..*\\.(count|sum)($|;)\naggregationMethod = last"));
    /// # Ok::<(), metrics_exporter_graphite::BuildError>(())
    /// ```
    pub fn storage_aggregation(&self, finest_retention: Option<Duration>) -> String {
        let config = &self.inner.config;
        let prefix = config.namer.prefix();
        let mut conf = config.scheme.storage_aggregation(
            (!prefix.is_empty()).then_some(prefix),
            Duration::from_secs(u64::try_from(self.inner.interval).unwrap_or(0)),
            finest_retention,
        );
        if self.inner.telemetry.is_some() {
            // First: no statistic's pattern may claim these series.
            let at = conf.find("\n[").unwrap_or(conf.len());
            conf.insert_str(at, &crate::telemetry::stanza(prefix));
        }
        conf
    }

    /// The sender's counters: datapoints accepted, written, dropped (by
    /// reason), connections.
    pub fn stats(&self) -> Stats {
        self.inner.sink.stats()
    }

    /// The exporter's own counters.
    pub fn exporter_stats(&self) -> ExporterStats {
        self.inner.exporter_stats()
    }

    /// What a flush stamped `timestamp` would send now, without sending it
    /// or changing anything (histogram samples stay, deltas do not
    /// advance). For tests.
    ///
    /// ```
    /// use metrics_exporter_graphite::GraphiteBuilder;
    ///
    /// let (recorder, _exporter) = GraphiteBuilder::new().with_prefix("app").build()?;
    /// metrics::with_local_recorder(&recorder, || metrics::counter!("hits").increment(3));
    /// let points = recorder.handle().render_at(1_700_000_000);
    /// assert_eq!(points[0].path.as_str(), "app.hits.count");
    /// assert_eq!(points[0].value, metrics_exporter_graphite::Value::Int(3));
    /// # Ok::<(), metrics_exporter_graphite::BuildError>(())
    /// ```
    pub fn render_at(&self, timestamp: i64) -> Vec<Datapoint> {
        let mut flushing = lock(&self.inner.flushing);
        let mut out = Vec::new();
        flushing.state.render(
            &self.inner.registry,
            &self.inner.units,
            &self.inner.config,
            timestamp,
            false,
            &mut out,
        );
        out
    }

    /// A final flush (stamped with the start of the current interval),
    /// then the exporter's thread stops and the sender flushes and closes
    /// within `timeout`. Returns the sender's stats after, once all of that
    /// is done or the deadline passed (at most about a second later, even
    /// from inside an async runtime whose sender cannot run: the sink's
    /// close is bounded). Later calls send nothing.
    pub fn shutdown(&self, timeout: Duration) -> Stats {
        let deadline = Instant::now() + timeout;
        self.inner.finish();
        let thread = lock(&self.inner.thread).take();
        if let Some(thread) = thread {
            // The loop wakes on `finish` and returns without flushing.
            let _ = thread.join();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        self.inner.sink.close_blocking(left)
    }

    /// [`shutdown`](Self::shutdown) for async code: waits for the sender to
    /// close without blocking a runtime thread. The exporter's thread is
    /// told to stop and ends by itself.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), metrics_exporter_graphite::BuildError> {
    /// let handle = metrics_exporter_graphite::GraphiteBuilder::new().install()?;
    /// let stats = handle.shutdown_async(std::time::Duration::from_secs(5)).await;
    /// println!("{stats:?}");
    /// # Ok(()) }
    /// ```
    pub async fn shutdown_async(&self, timeout: Duration) -> Stats {
        self.inner.finish();
        self.inner.sink.close(timeout).await
    }
}

/// Builds the recorder and the exporter over a checked configuration.
pub(crate) fn new(config: ExporterConfig) -> (GraphiteRecorder, Exporter) {
    let inner = Arc::new(Inner {
        registry: MetricRegistry::new(GraphiteStorage),
        units: Units::default(),
        config: config.render,
        interval: config.interval,
        flushing: Mutex::new(Flushing::default()),
        sink: config.sink,
        telemetry: config.telemetry,
        control: Control::default(),
        counters: Counters::default(),
        thread: Mutex::new(None),
    });
    (
        GraphiteRecorder {
            inner: Arc::clone(&inner),
        },
        Exporter { inner },
    )
}
