//! [`GraphiteBuilder`]: every option of the exporter, with its default.

use std::sync::Arc;
use std::time::Duration;

use graphite_driver::Sink;
use graphite_proto::Protocol;
use graphite_proto::sender::SenderConfig;
use metrics_util::MetricKindMask;

use crate::error::BuildError;
use crate::exporter::{self, Exporter, ExporterConfig, GraphiteHandle, GraphiteRecorder};
use crate::naming::Namer;
use crate::render::RenderConfig;
use crate::scheme::{CounterMode, DEFAULT_QUANTILES, LabelStyle, NamingScheme};
use crate::sink::Flavor;
use crate::telemetry::Telemetry;
use crate::{address, sink};

/// The default carbon address.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:2003";

/// The default interval between two flushes.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Builds a Graphite exporter for the [`metrics`] facade.
///
/// Every option has a default: carbon at `127.0.0.1:2003`, plaintext, a
/// flush every 60 s, no prefix, no global labels, [`LabelStyle::Tags`],
/// [`CounterMode::Cumulative`], quantiles 0.5, 0.75, 0.95, 0.99 and 0.999,
/// no idle timeout, [`SenderConfig::new`]'s defaults.
///
/// ```no_run
/// use std::time::Duration;
/// use metrics_exporter_graphite::GraphiteBuilder;
///
/// let handle = GraphiteBuilder::new()
///     .with_address("carbon.example.com:2003")
///     .with_prefix("app.web1")
///     .with_interval(Duration::from_secs(10))
///     .install()?;
/// metrics::counter!("http.requests", "method" => "GET").increment(1);
/// handle.shutdown(Duration::from_secs(5));
/// # Ok::<(), metrics_exporter_graphite::BuildError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `install` or `build`"]
pub struct GraphiteBuilder {
    pub(crate) address: String,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) interval: Duration,
    pub(crate) prefix: Option<String>,
    pub(crate) global_labels: Vec<(String, String)>,
    pub(crate) scheme: Option<NamingScheme>,
    pub(crate) label_style: Option<LabelStyle>,
    pub(crate) counter_mode: Option<CounterMode>,
    pub(crate) quantiles: Vec<f64>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) idle_kinds: MetricKindMask,
    pub(crate) sender_config: Option<SenderConfig>,
    pub(crate) sink: Option<Arc<dyn Sink>>,
    pub(crate) self_telemetry: bool,
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
            scheme: None,
            label_style: None,
            counter_mode: None,
            quantiles: DEFAULT_QUANTILES.to_vec(),
            idle_timeout: None,
            idle_kinds: MetricKindMask::ALL,
            sender_config: None,
            sink: None,
            self_telemetry: true,
        }
    }

    /// Carbon's address, `host:port` (default `127.0.0.1:2003`); `host`
    /// alone uses the protocol's default port. IPv6 literals go in
    /// brackets: `[::1]:2003`. The host is resolved again on every
    /// reconnect.
    ///
    /// ```
    /// let b = metrics_exporter_graphite::GraphiteBuilder::new().with_address("carbon:2004");
    /// # drop(b);
    /// ```
    pub fn with_address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// [`with_address`](Self::with_address), checked now: a typed error
    /// if `address` is not `host:port`, `host`, `[v6]:port` or `[v6]`
    /// ([`with_address`](Self::with_address) reports the same error from
    /// `build` or `install`). The host is not resolved.
    ///
    /// ```
    /// use metrics_exporter_graphite::{BuildError, GraphiteBuilder};
    /// assert!(GraphiteBuilder::new().try_with_address("carbon:2004").is_ok());
    /// assert!(matches!(
    ///     GraphiteBuilder::new().try_with_address("carbon:x"),
    ///     Err(BuildError::Address(_))
    /// ));
    /// ```
    pub fn try_with_address(self, address: impl Into<String>) -> Result<Self, BuildError> {
        let address = address.into();
        address::parse(&address)?;
        Ok(self.with_address(address))
    }

    /// The wire protocol (default plaintext, or the protocol of the
    /// [`with_sender_config`](Self::with_sender_config) configuration).
    ///
    /// ```
    /// use metrics_exporter_graphite::{GraphiteBuilder, Protocol};
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
    /// let b = metrics_exporter_graphite::GraphiteBuilder::new().with_interval(Duration::from_secs(10));
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
    /// let b = metrics_exporter_graphite::GraphiteBuilder::new().with_prefix("app.web1");
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
    /// let b = metrics_exporter_graphite::GraphiteBuilder::new().add_global_label("dc", "ams");
    /// # drop(b);
    /// ```
    pub fn add_global_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.global_labels.push((key.into(), value.into()));
        self
    }

    /// Tags (default) or path nodes: see [`LabelStyle`].
    ///
    /// ```
    /// use metrics_exporter_graphite::{GraphiteBuilder, LabelStyle};
    /// let b = GraphiteBuilder::new().with_label_style(LabelStyle::Path);
    /// # drop(b);
    /// ```
    pub fn with_label_style(mut self, style: LabelStyle) -> Self {
        self.label_style = Some(style);
        self
    }

    /// The naming scheme: which series each kind of metric sends, named
    /// how, stamped when (default [`NamingScheme::graphite`] with the
    /// [`with_quantiles`](Self::with_quantiles) quantiles). A preset
    /// reproduces what an existing reporter sends, so its dashboards keep
    /// working: [`NamingScheme::dropwizard`],
    /// [`NamingScheme::micrometer_tagged`], [`NamingScheme::statsd`].
    /// [`with_label_style`](Self::with_label_style) and
    /// [`with_counter_mode`](Self::with_counter_mode) still apply on top,
    /// whatever their order; [`with_quantiles`](Self::with_quantiles) does
    /// not (a scheme names its statistics).
    ///
    /// ```
    /// use metrics_exporter_graphite::{GraphiteBuilder, NamingScheme};
    /// let b = GraphiteBuilder::new().with_naming_scheme(NamingScheme::statsd(&[90.0]));
    /// # drop(b);
    /// ```
    pub fn with_naming_scheme(mut self, scheme: NamingScheme) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// Running totals (default) or changes: see [`CounterMode`].
    ///
    /// ```
    /// use metrics_exporter_graphite::{CounterMode, GraphiteBuilder};
    /// let b = GraphiteBuilder::new().with_counter_mode(CounterMode::Delta);
    /// # drop(b);
    /// ```
    pub fn with_counter_mode(mut self, mode: CounterMode) -> Self {
        self.counter_mode = Some(mode);
        self
    }

    /// The quantiles sent for each histogram with samples in the interval
    /// (default 0.5, 0.75, 0.95, 0.99, 0.999), each as `.pNN`: the digits
    /// after `0.` (`0.5` → `p50`, `0.999` → `p999`, `1.0` → `p100`). They come
    /// from metrics-util's `Summary` (a DDSketch) with a relative error of
    /// at most 0.1 % ([`SKETCH_RELATIVE_ERROR`](crate::SKETCH_RELATIVE_ERROR)).
    ///
    /// ```
    /// let b = metrics_exporter_graphite::GraphiteBuilder::new().with_quantiles(&[0.5, 0.9]);
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
    /// let b = metrics_exporter_graphite::GraphiteBuilder::new().idle_timeout(Duration::from_secs(600));
    /// # drop(b);
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// The kinds of metric [`idle_timeout`](Self::idle_timeout) applies to
    /// (default all), as metrics-exporter-prometheus's mask: keep counters
    /// with long-lived handles and forget idle gauges, for example.
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_exporter_graphite::{GraphiteBuilder, MetricKindMask};
    /// let b = GraphiteBuilder::new()
    ///     .idle_timeout(Duration::from_secs(600))
    ///     .idle_timeout_kinds(MetricKindMask::GAUGE | MetricKindMask::HISTOGRAM);
    /// # drop(b);
    /// ```
    pub fn idle_timeout_kinds(mut self, kinds: MetricKindMask) -> Self {
        self.idle_kinds = kinds;
        self
    }

    /// The background sender's configuration: buffer, batching, replay,
    /// backoff (default [`SenderConfig::new`] for the protocol).
    ///
    /// ```
    /// use metrics_exporter_graphite::{GraphiteBuilder, Protocol, SenderConfig};
    /// let b = GraphiteBuilder::new()
    ///     .with_sender_config(SenderConfig::new(Protocol::Plaintext).with_replay(None));
    /// # drop(b);
    /// ```
    pub fn with_sender_config(mut self, config: SenderConfig) -> Self {
        self.sender_config = Some(config);
        self
    }

    /// Sends through `sink` instead of starting a sender: any graphite-rs
    /// sender on any runtime, a routed one included, or a test double.
    /// The address, protocol and sender configuration are then not used;
    /// [`GraphiteHandle::shutdown`] closes the sink.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use graphite_driver::{Sender, Sink};
    /// use metrics_exporter_graphite::{GraphiteBuilder, Protocol, SenderConfig};
    ///
    /// let sender = Sender::spawn(
    ///     graphite_blocking::runtime(),
    ///     "carbon.example.com",
    ///     2003,
    ///     SenderConfig::new(Protocol::Plaintext),
    /// )?;
    /// let sink: Arc<dyn Sink> = Arc::new(sender);
    /// let handle = GraphiteBuilder::new().with_sink(sink).install()?;
    /// # drop(handle);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_sink(mut self, sink: Arc<dyn Sink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Whether every flush also sends the exporter's and the sender's own
    /// counters (default on): datapoints written, dropped by reason,
    /// replayed, connections, flush time, under
    /// `PREFIX.metrics_exporter_graphite.exporter.*` and `….sender.*` (see
    /// [`SELF_TELEMETRY_NODE`](crate::SELF_TELEMETRY_NODE) and the crate
    /// docs for the list). They are running totals, stamped like the
    /// flush; [`GraphiteHandle::storage_aggregation`] includes their rule.
    ///
    /// ```
    /// let b = metrics_exporter_graphite::GraphiteBuilder::new().with_self_telemetry(false);
    /// # drop(b);
    /// ```
    pub fn with_self_telemetry(mut self, enabled: bool) -> Self {
        self.self_telemetry = enabled;
        self
    }

    /// Installs the global recorder and starts the exporter's loop on a
    /// thread of its own. The sender is graphite-blocking's thread, or,
    /// with the `tokio` feature and when called inside a tokio runtime,
    /// graphite-tokio's task on that runtime (unless
    /// [`with_sink`](Self::with_sink) gave one).
    ///
    /// ```no_run
    /// let handle = metrics_exporter_graphite::GraphiteBuilder::new().install()?;
    /// metrics::gauge!("workers").set(8.0);
    /// # Ok::<(), metrics_exporter_graphite::BuildError>(())
    /// ```
    pub fn install(self) -> Result<GraphiteHandle, BuildError> {
        let (recorder, exporter) = self.build_on(Flavor::current())?;
        let handle = exporter.spawn()?;
        if metrics::set_global_recorder(recorder).is_err() {
            handle.shutdown(Duration::ZERO);
            return Err(BuildError::AlreadyInstalled);
        }
        Ok(handle)
    }

    /// Builds the recorder and the exporter without installing or starting
    /// anything but the sender (graphite-blocking's thread): install the
    /// recorder yourself (`metrics::set_global_recorder`, or
    /// `metrics::with_local_recorder`) and start the loop with
    /// [`Exporter::spawn`] or [`Exporter::run`].
    ///
    /// ```no_run
    /// let (recorder, exporter) = metrics_exporter_graphite::GraphiteBuilder::new().build()?;
    /// let handle = exporter.spawn()?;
    /// metrics::with_local_recorder(&recorder, || metrics::counter!("jobs").increment(1));
    /// handle.shutdown(std::time::Duration::from_secs(5));
    /// # Ok::<(), metrics_exporter_graphite::BuildError>(())
    /// ```
    pub fn build(self) -> Result<(GraphiteRecorder, Exporter), BuildError> {
        self.build_on(Flavor::Thread)
    }

    /// Like [`build`](Self::build), with graphite-tokio's sender on the
    /// current runtime (the exporter's loop still runs on its own thread).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), metrics_exporter_graphite::BuildError> {
    /// let (recorder, exporter) = metrics_exporter_graphite::GraphiteBuilder::new().build_tokio()?;
    /// let handle = exporter.spawn()?;
    /// metrics::set_global_recorder(recorder).ok();
    /// handle.shutdown_async(std::time::Duration::from_secs(5)).await;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tokio")]
    pub fn build_tokio(self) -> Result<(GraphiteRecorder, Exporter), BuildError> {
        self.build_on(Flavor::Tokio)
    }

    /// Checks every option, starts the sender (unless one was given) and
    /// hands the exporter its configuration.
    fn build_on(self, flavor: Flavor) -> Result<(GraphiteRecorder, Exporter), BuildError> {
        let interval = self.interval;
        if interval < Duration::from_secs(1) || interval.subsec_nanos() != 0 {
            return Err(BuildError::Interval(interval));
        }
        if let Some(&q) = self.quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(BuildError::Quantile(q));
        }
        let sink = match self.sink {
            Some(sink) => sink,
            None => {
                let config = match (self.sender_config, self.protocol) {
                    (Some(config), None) => config,
                    (Some(mut config), Some(protocol)) => {
                        config.protocol = protocol;
                        config
                    }
                    (None, protocol) => SenderConfig::new(protocol.unwrap_or_default()),
                };
                config.validate()?;
                let address = address::parse(&self.address)?;
                let port = address
                    .port
                    .unwrap_or_else(|| config.protocol.default_port());
                sink::spawn(flavor, &address.host, port, config)?
            }
        };
        let mut scheme = self
            .scheme
            .unwrap_or_else(|| NamingScheme::graphite(&self.quantiles));
        if let Some(style) = self.label_style {
            scheme.labels = style;
        }
        if let Some(mode) = self.counter_mode {
            scheme.counter_mode = mode;
        }
        let namer = Namer::new(self.prefix.as_deref(), &self.global_labels, &scheme);
        let telemetry = if self.self_telemetry {
            Telemetry::new(namer.prefix())
        } else {
            None
        };
        let idle = self
            .idle_timeout
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let interval = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX);
        Ok(exporter::new(ExporterConfig {
            interval,
            render: RenderConfig {
                namer,
                scheme,
                interval,
                idle_timeout: idle,
                idle_kinds: self.idle_kinds,
            },
            sink,
            telemetry,
        }))
    }
}
