//! The recorder, the periodic exporter and the handle that controls them.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graphite_proto::Datapoint;
use graphite_proto::sender::{SenderConfig, Stats};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

use crate::builder::{BuildError, GraphiteBuilder};
use crate::histogram::GraphiteStorage;
use crate::naming::Namer;
use crate::render::{MetricRegistry, RenderConfig, State};
use crate::sink::{self, Flavor};
use graphite_driver::Sink;

/// What the exporter itself counts (the sender's counters are
/// [`GraphiteHandle::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExporterStats {
    /// Flushes done (scheduled, [`GraphiteHandle::flush_now`] and the final
    /// one).
    pub flushes: u64,
    /// Timestamp of the last flush (0 before the first).
    pub last_timestamp: i64,
    /// Datapoints handed to the sender.
    pub datapoints: u64,
    /// Datapoints the sender refused (full buffer, closed): also in its
    /// stats.
    pub refused: u64,
    /// Series never sent because no valid name can be made of their name and
    /// labels (counted once per series).
    pub invalid_series: u64,
    /// Gauge values and histogram samples skipped because they were NaN or
    /// infinite (and sums that overflowed).
    pub non_finite: u64,
    /// Series forgotten after the idle timeout.
    pub idle_removed: u64,
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
    #[cfg(feature = "tokio")]
    notify: tokio::sync::Notify,
}

#[derive(Debug)]
struct Inner {
    registry: MetricRegistry,
    config: RenderConfig,
    /// Whole seconds.
    interval: i64,
    flushing: Mutex<Flushing>,
    sink: Arc<dyn Sink>,
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
        let Flushing { state, out, .. } = &mut *flushing;
        out.clear();
        let observed = state.render(&self.registry, &self.config, timestamp, true, out);
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
        c.datapoints.fetch_add(out.len() as u64, Ordering::Relaxed);
        c.refused.fetch_add(refused as u64, Ordering::Relaxed);
        c.invalid_series
            .fetch_add(observed.invalid_series, Ordering::Relaxed);
        c.non_finite
            .fetch_add(observed.non_finite, Ordering::Relaxed);
        c.idle_removed
            .fetch_add(observed.idle_removed, Ordering::Relaxed);
        out.len()
    }

    #[cfg(feature = "tokio")]
    fn stopped(&self) -> bool {
        *lock(&self.control.stop)
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
        #[cfg(feature = "tokio")]
        self.control.notify.notify_one();
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
/// let (recorder, _exporter) = graphite_metrics::GraphiteBuilder::new().build()?;
/// metrics::with_local_recorder(&recorder, || metrics::counter!("hits").absolute(10));
/// assert_eq!(recorder.handle().render_at(0).len(), 1);
/// # Ok::<(), graphite_metrics::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GraphiteRecorder {
    inner: Arc<Inner>,
}

impl GraphiteRecorder {
    /// A handle to the exporter this recorder feeds.
    pub fn handle(&self) -> GraphiteHandle {
        GraphiteHandle {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl Recorder for GraphiteRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

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
/// let (recorder, exporter) = graphite_metrics::GraphiteBuilder::new().build()?;
/// metrics::set_global_recorder(recorder).ok();
/// std::thread::spawn(move || exporter.run());
/// # Ok::<(), graphite_metrics::BuildError>(())
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

    /// Runs the loop as a future (spawn it on tokio) until
    /// [`GraphiteHandle::shutdown`] or
    /// [`GraphiteHandle::shutdown_async`].
    #[cfg(feature = "tokio")]
    pub async fn run_async(self) {
        let inner = &self.inner;
        let interval = inner.interval as f64;
        loop {
            let next = ((unix_now() / interval).floor() + 1.0) * interval;
            loop {
                if inner.stopped() {
                    return;
                }
                let left = next - unix_now();
                if left <= 0.0 {
                    break;
                }
                let notified = inner.control.notify.notified();
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs_f64(left)) => {}
                    () = notified => {}
                }
            }
            inner.flush_at(next as i64 - inner.interval, false);
        }
    }
}

/// Controls a running exporter: cheap to clone.
///
/// ```no_run
/// use std::time::Duration;
///
/// let handle = graphite_metrics::GraphiteBuilder::new().install()?;
/// metrics::gauge!("queue.depth").set(12.0);
/// handle.flush_now();
/// println!("{:?} {:?}", handle.stats(), handle.exporter_stats());
/// handle.shutdown(Duration::from_secs(5));
/// # Ok::<(), graphite_metrics::BuildError>(())
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

    /// A flush stamped `timestamp` (tests drive time with it).
    #[cfg(test)]
    pub(crate) fn flush_at(&self, timestamp: i64) -> usize {
        self.inner.flush_at(timestamp, false)
    }

    /// The sender's counters: datapoints accepted, written, dropped (by
    /// reason), connections.
    pub fn stats(&self) -> Stats {
        self.inner.sink.stats()
    }

    /// The exporter's own counters.
    pub fn exporter_stats(&self) -> ExporterStats {
        let c = &self.inner.counters;
        ExporterStats {
            flushes: c.flushes.load(Ordering::Relaxed),
            last_timestamp: c.last_timestamp.load(Ordering::Relaxed),
            datapoints: c.datapoints.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            invalid_series: c.invalid_series.load(Ordering::Relaxed),
            non_finite: c.non_finite.load(Ordering::Relaxed),
            idle_removed: c.idle_removed.load(Ordering::Relaxed),
        }
    }

    /// What a flush stamped `timestamp` would send now, without sending it
    /// or changing anything (histogram samples stay, deltas do not
    /// advance). For tests.
    ///
    /// ```
    /// use graphite_metrics::GraphiteBuilder;
    ///
    /// let (recorder, _exporter) = GraphiteBuilder::new().with_prefix("app").build()?;
    /// metrics::with_local_recorder(&recorder, || metrics::counter!("hits").increment(3));
    /// let points = recorder.handle().render_at(1_700_000_000);
    /// assert_eq!(points[0].path.as_str(), "app.hits.count");
    /// assert_eq!(points[0].value, graphite_metrics::Value::Int(3));
    /// # Ok::<(), graphite_metrics::BuildError>(())
    /// ```
    pub fn render_at(&self, timestamp: i64) -> Vec<Datapoint> {
        let mut flushing = lock(&self.inner.flushing);
        let mut out = Vec::new();
        flushing.state.render(
            &self.inner.registry,
            &self.inner.config,
            timestamp,
            false,
            &mut out,
        );
        out
    }

    /// A final flush (stamped with the start of the current interval), then
    /// the sender flushes and closes within `timeout`, and the exporter
    /// stops. Returns the sender's stats after. Later calls send nothing.
    ///
    /// With the tokio exporter, call it outside the runtime, or use
    /// [`shutdown_async`](Self::shutdown_async): inside the runtime this
    /// starts the close without waiting for it.
    pub fn shutdown(&self, timeout: Duration) -> Stats {
        self.inner.finish();
        let stats = self.inner.sink.close_blocking(timeout);
        let thread = lock(&self.inner.thread).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        stats
    }

    /// [`shutdown`](Self::shutdown) for async code: waits for the sender to
    /// close without blocking a runtime thread.
    #[cfg(feature = "tokio")]
    pub async fn shutdown_async(&self, timeout: Duration) -> Stats {
        self.inner.finish();
        self.inner.sink.close(timeout).await
    }
}

/// `host:port`, `host`, `[v6]:port` or `[v6]`, read by graphite-proto's
/// [`Address`](graphite_proto::Address).
fn split_address(address: &str, default_port: u16) -> Result<(String, u16), BuildError> {
    let address: graphite_proto::Address = address.parse()?;
    Ok((address.host().to_owned(), address.port_or(default_port)))
}

pub(crate) fn build(
    builder: GraphiteBuilder,
    flavor: Flavor,
) -> Result<(GraphiteRecorder, Exporter), BuildError> {
    let interval = builder.interval;
    if interval < Duration::from_secs(1) || interval.subsec_nanos() != 0 {
        return Err(BuildError::Interval(interval));
    }
    if let Some(&q) = builder.quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        return Err(BuildError::Quantile(q));
    }
    let config = match (builder.sender_config, builder.protocol) {
        (Some(config), None) => config,
        (Some(mut config), Some(protocol)) => {
            config.protocol = protocol;
            config
        }
        (None, protocol) => SenderConfig::new(protocol.unwrap_or_default()),
    };
    config.validate()?;
    let (host, port) = split_address(&builder.address, config.protocol.default_port())?;
    let sink = sink::spawn(flavor, &host, port, config)?;
    let namer = Namer::new(
        builder.prefix.as_deref(),
        &builder.global_labels,
        builder.label_style,
    );
    let idle = builder
        .idle_timeout
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let inner = Arc::new(Inner {
        registry: MetricRegistry::new(GraphiteStorage),
        config: RenderConfig::new(namer, builder.counter_mode, builder.quantiles, idle),
        interval: i64::try_from(interval.as_secs()).unwrap_or(i64::MAX),
        flushing: Mutex::new(Flushing::default()),
        sink,
        control: Control::default(),
        counters: Counters::default(),
        thread: Mutex::new(None),
    });
    Ok((
        GraphiteRecorder {
            inner: Arc::clone(&inner),
        },
        Exporter { inner },
    ))
}

pub(crate) fn install(builder: GraphiteBuilder) -> Result<GraphiteHandle, BuildError> {
    #[cfg(feature = "tokio")]
    if tokio::runtime::Handle::try_current().is_ok() {
        let (recorder, exporter) = build(builder, Flavor::Tokio)?;
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            handle.shutdown(Duration::ZERO);
            return Err(BuildError::AlreadyInstalled);
        }
        tokio::spawn(exporter.run_async());
        return Ok(handle);
    }
    let (recorder, exporter) = build(builder, Flavor::Thread)?;
    let handle = recorder.handle();
    let thread = std::thread::Builder::new()
        .name("graphite-metrics".into())
        .spawn(move || exporter.run())
        .map_err(BuildError::Thread)?;
    *lock(&handle.inner.thread) = Some(thread);
    if metrics::set_global_recorder(recorder).is_err() {
        handle.shutdown(Duration::ZERO);
        return Err(BuildError::AlreadyInstalled);
    }
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ok = |a: &str| split_address(a, 2003).ok();
        assert_eq!(ok("127.0.0.1:2004"), Some(("127.0.0.1".into(), 2004)));
        assert_eq!(ok("carbon"), Some(("carbon".into(), 2003)));
        assert_eq!(ok("[::1]:2005"), Some(("::1".into(), 2005)));
        assert_eq!(ok("[::1]"), Some(("::1".into(), 2003)));
        assert_eq!(ok("host:x"), None);
        assert_eq!(ok(":2003"), None);
        assert_eq!(ok("::1:2003"), None);
    }
}
