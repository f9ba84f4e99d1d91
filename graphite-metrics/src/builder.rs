//! [`GraphiteBuilder`]: every option of the exporter, with its default.

use std::time::Duration;

use graphite_proto::Protocol;
use graphite_proto::sender::SenderConfig;

use crate::exporter::{Exporter, GraphiteHandle, GraphiteRecorder};

/// The default carbon address.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:2003";

/// The default interval between two flushes.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The default quantiles sent for histograms.
pub const DEFAULT_QUANTILES: [f64; 5] = [0.5, 0.75, 0.95, 0.99, 0.999];

/// How a metric's labels become part of its Graphite name.
///
/// The metric name is split on `.` and every node goes through
/// [`graphite_proto::sanitize_metric_part`]: whitespace, control characters,
/// `; / \ * ? [ ] { }` become `_`, and an empty node becomes `_`
/// (`"a b..c"` gives `a_b._.c`). The prefix is treated the same way.
/// Labels follow the rules of each style below. A series whose labels still
/// cannot be valid (an empty key or value, the same key twice after
/// replacement, a name longer than carbon accepts) is never sent: it is
/// counted once in [`ExporterStats::invalid_series`](crate::ExporterStats).
///
/// ```
/// use graphite_metrics::{GraphiteBuilder, LabelStyle};
///
/// let builder = GraphiteBuilder::new().with_label_style(LabelStyle::Path);
/// # drop(builder);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelStyle {
    /// Graphite 1.1 tags after the suffix, in carbon's canonical order:
    /// `P.http.requests.count;method=GET;status=200` (default). Carbon
    /// stores them under `_tagged/`. In tag names whitespace, control
    /// characters and `; ! ^ =` become `_`; in tag values whitespace,
    /// control characters and `;` become `_`, and so does a leading `~`. A
    /// label named `name` (reserved by carbon) makes the series invalid.
    #[default]
    Tags,
    /// `key.value` nodes before the suffix, sorted by key:
    /// `P.http.requests.method.GET.status.200.count`. Keys and values go
    /// through [`graphite_proto::sanitize_metric_part`], so a `.` in a value
    /// becomes `_` and every label is exactly two nodes.
    Path,
}

/// What a counter sends every interval.
///
/// ```
/// use graphite_metrics::{CounterMode, GraphiteBuilder};
///
/// let builder = GraphiteBuilder::new().with_counter_mode(CounterMode::Delta);
/// # drop(builder);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CounterMode {
    /// The running total since the series was first seen (default): what
    /// Graphite's `perSecond` and `nonNegativeDerivative` expect, and robust
    /// to a lost datapoint.
    #[default]
    Cumulative,
    /// The change since the previous flush: for carbon-aggregator `sum`
    /// rules or StatsD-style dashboards. Applies to histograms' `.count`
    /// and `.sum` too.
    Delta,
}

/// Why the exporter could not be built or installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The address was not `host:port` (or `host`, for the protocol's
    /// default port); the error names the offset.
    #[error("carbon address: {0}")]
    Address(#[from] graphite_proto::AddressError),
    /// The interval was shorter than a second or not a whole number of
    /// seconds (Graphite timestamps are whole seconds).
    #[error("interval {0:?} must be a whole number of seconds, at least one")]
    Interval(Duration),
    /// A quantile was outside `0.0..=1.0`.
    #[error("quantile {0} is outside 0.0..=1.0")]
    Quantile(f64),
    /// The sender configuration cannot work.
    #[error(transparent)]
    SenderConfig(#[from] graphite_proto::sender::ConfigError),
    /// The sender could not start (its thread or task).
    #[error("cannot start the sender: {0}")]
    Sender(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The exporter thread could not start.
    #[error("cannot start the exporter thread: {0}")]
    Thread(#[source] std::io::Error),
    /// A global recorder was already installed.
    #[error("a global metrics recorder is already installed")]
    AlreadyInstalled,
    /// [`GraphiteBuilder::build_tokio`] was called outside a tokio runtime.
    #[error("not inside a tokio runtime")]
    NoRuntime,
}

/// Builds a Graphite exporter for the [`metrics`] facade.
///
/// Every option has a default: carbon at `127.0.0.1:2003`, plaintext, a
/// flush every 60 s, no prefix, no global labels, [`LabelStyle::Tags`],
/// [`CounterMode::Cumulative`], quantiles 0.5, 0.75, 0.95, 0.99 and 0.999,
/// no idle timeout, [`SenderConfig::new`]'s defaults.
///
/// ```no_run
/// use std::time::Duration;
/// use graphite_metrics::GraphiteBuilder;
///
/// let handle = GraphiteBuilder::new()
///     .with_address("carbon.example.com:2003")
///     .with_prefix("app.web1")
///     .with_interval(Duration::from_secs(10))
///     .install()?;
/// metrics::counter!("http.requests", "method" => "GET").increment(1);
/// handle.shutdown(Duration::from_secs(5));
/// # Ok::<(), graphite_metrics::BuildError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `install` or `build`"]
pub struct GraphiteBuilder {
    pub(crate) address: String,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) interval: Duration,
    pub(crate) prefix: Option<String>,
    pub(crate) global_labels: Vec<(String, String)>,
    pub(crate) label_style: LabelStyle,
    pub(crate) counter_mode: CounterMode,
    pub(crate) quantiles: Vec<f64>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) sender_config: Option<SenderConfig>,
}

impl Default for GraphiteBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl GraphiteBuilder {
    /// A builder with every default (see the type's docs).
    pub fn new() -> Self {
        Self {
            address: DEFAULT_ADDRESS.to_owned(),
            protocol: None,
            interval: DEFAULT_INTERVAL,
            prefix: None,
            global_labels: Vec::new(),
            label_style: LabelStyle::default(),
            counter_mode: CounterMode::default(),
            quantiles: DEFAULT_QUANTILES.to_vec(),
            idle_timeout: None,
            sender_config: None,
        }
    }

    /// Carbon's address, `host:port` (default `127.0.0.1:2003`); `host`
    /// alone uses the protocol's default port. IPv6 literals go in
    /// brackets: `[::1]:2003`. The host is resolved again on every
    /// reconnect.
    ///
    /// ```
    /// let b = graphite_metrics::GraphiteBuilder::new().with_address("carbon:2004");
    /// # drop(b);
    /// ```
    pub fn with_address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// The wire protocol (default plaintext, or the protocol of the
    /// [`with_sender_config`](Self::with_sender_config) configuration).
    ///
    /// ```
    /// use graphite_metrics::{GraphiteBuilder, Protocol};
    /// let b = GraphiteBuilder::new().with_protocol(Protocol::Pickle).with_address("carbon:2004");
    /// # drop(b);
    /// ```
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// How often everything is sent (default 60 s): a whole number of
    /// seconds, at least one. Every series of one flush carries the same
    /// timestamp, the start of the interval (a multiple of it since the
    /// Unix epoch), so match it to the retention of your carbon schema.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = graphite_metrics::GraphiteBuilder::new().with_interval(Duration::from_secs(10));
    /// # drop(b);
    /// ```
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Nodes put before every metric name (default none), such as
    /// `app.web1`; sanitised like metric names (see [`LabelStyle`]).
    ///
    /// ```
    /// let b = graphite_metrics::GraphiteBuilder::new().with_prefix("app.web1");
    /// # drop(b);
    /// ```
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// A label added to every metric (default none). A metric's own label
    /// with the same key wins; adding the same key twice keeps the last.
    ///
    /// ```
    /// let b = graphite_metrics::GraphiteBuilder::new().add_global_label("dc", "ams");
    /// # drop(b);
    /// ```
    pub fn add_global_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.global_labels.push((key.into(), value.into()));
        self
    }

    /// Tags (default) or path nodes: see [`LabelStyle`].
    ///
    /// ```
    /// use graphite_metrics::{GraphiteBuilder, LabelStyle};
    /// let b = GraphiteBuilder::new().with_label_style(LabelStyle::Path);
    /// # drop(b);
    /// ```
    pub fn with_label_style(mut self, style: LabelStyle) -> Self {
        self.label_style = style;
        self
    }

    /// Running totals (default) or changes: see [`CounterMode`].
    ///
    /// ```
    /// use graphite_metrics::{CounterMode, GraphiteBuilder};
    /// let b = GraphiteBuilder::new().with_counter_mode(CounterMode::Delta);
    /// # drop(b);
    /// ```
    pub fn with_counter_mode(mut self, mode: CounterMode) -> Self {
        self.counter_mode = mode;
        self
    }

    /// The quantiles sent for each histogram with samples in the interval
    /// (default 0.5, 0.75, 0.95, 0.99, 0.999), each as `.pNN`: the digits
    /// after `0.` (`0.5` → `p50`, `0.999` → `p999`, `1.0` → `p100`). They come
    /// from metrics-util's `Summary` (a DDSketch) with a relative error of
    /// at most 0.1 % ([`SKETCH_RELATIVE_ERROR`](crate::SKETCH_RELATIVE_ERROR)).
    ///
    /// ```
    /// let b = graphite_metrics::GraphiteBuilder::new().with_quantiles(&[0.5, 0.9]);
    /// # drop(b);
    /// ```
    pub fn with_quantiles(mut self, quantiles: &[f64]) -> Self {
        self.quantiles = quantiles.to_vec();
        self
    }

    /// Forget a series that did not change for this long (default never):
    /// a counter or gauge whose value stayed the same, a histogram without
    /// samples. It is no longer sent, and starts again from zero if it is
    /// used again. A handle registered before and kept by the application
    /// is detached when its series is forgotten, so keep this off with
    /// long-lived handles, or use the macros at each update.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = graphite_metrics::GraphiteBuilder::new().idle_timeout(Duration::from_secs(600));
    /// # drop(b);
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// The background sender's configuration: buffer, batching, replay,
    /// backoff (default [`SenderConfig::new`] for the protocol).
    ///
    /// ```
    /// use graphite_metrics::{GraphiteBuilder, Protocol, SenderConfig};
    /// let b = GraphiteBuilder::new()
    ///     .with_sender_config(SenderConfig::new(Protocol::Plaintext).with_replay(None));
    /// # drop(b);
    /// ```
    pub fn with_sender_config(mut self, config: SenderConfig) -> Self {
        self.sender_config = Some(config);
        self
    }

    /// Installs the global recorder and starts the exporter: on its own
    /// thread, or, with the `tokio` feature and when called inside a tokio
    /// runtime, as a task on that runtime.
    ///
    /// ```no_run
    /// let handle = graphite_metrics::GraphiteBuilder::new().install()?;
    /// metrics::gauge!("workers").set(8.0);
    /// # Ok::<(), graphite_metrics::BuildError>(())
    /// ```
    pub fn install(self) -> Result<GraphiteHandle, BuildError> {
        crate::exporter::install(self)
    }

    /// Builds the recorder and the exporter without installing or starting
    /// anything but the sender's thread: install the recorder yourself
    /// (`metrics::set_global_recorder`, or `metrics::with_local_recorder`)
    /// and run [`Exporter::run`] on a thread of yours.
    ///
    /// ```no_run
    /// let (recorder, exporter) = graphite_metrics::GraphiteBuilder::new().build()?;
    /// let handle = exporter.handle();
    /// std::thread::spawn(move || exporter.run());
    /// metrics::with_local_recorder(&recorder, || metrics::counter!("jobs").increment(1));
    /// handle.shutdown(std::time::Duration::from_secs(5));
    /// # Ok::<(), graphite_metrics::BuildError>(())
    /// ```
    pub fn build(self) -> Result<(GraphiteRecorder, Exporter), BuildError> {
        crate::exporter::build(self, crate::sink::Flavor::Thread)
    }

    /// Like [`build`](Self::build), with graphite-tokio's sender on the
    /// current runtime; run [`Exporter::run_async`] as a task.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), graphite_metrics::BuildError> {
    /// let (recorder, exporter) = graphite_metrics::GraphiteBuilder::new().build_tokio()?;
    /// let handle = exporter.handle();
    /// tokio::spawn(exporter.run_async());
    /// metrics::set_global_recorder(recorder).ok();
    /// handle.shutdown_async(std::time::Duration::from_secs(5)).await;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tokio")]
    pub fn build_tokio(self) -> Result<(GraphiteRecorder, Exporter), BuildError> {
        crate::exporter::build(self, crate::sink::Flavor::Tokio)
    }
}
