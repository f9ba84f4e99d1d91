//! [`GraphiteExporterBuilder`]: every option of the exporter, with its
//! default, checked when the exporter is built.

use std::sync::Arc;
use std::time::Duration;

use graphite_proto::sender::{ConfigError, SenderConfig};
use graphite_proto::{MetricPath, NameError, Protocol};
use opentelemetry_sdk::metrics::Temporality;

use crate::exporter::GraphiteExporter;
use crate::render::RenderConfig;
use graphite_driver::Sink;

/// The default carbon address.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:2003";

/// The default quantiles sent for exponential histograms.
pub const DEFAULT_QUANTILES: [f64; 5] = [0.5, 0.75, 0.95, 0.99, 0.999];

/// How long [`force_flush`](opentelemetry_sdk::metrics::exporter::PushMetricExporter::force_flush)
/// waits for carbon by default.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(4);

/// How long [`shutdown`](opentelemetry_sdk::metrics::exporter::PushMetricExporter::shutdown)
/// waits for carbon by default: under the 5 s the SDK's `PeriodicReader`
/// gives its whole shutdown (last collection, export and this).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(4);

/// Which names the series get. Both put attributes in Graphite 1.1 tags
/// (`name;key=value`); they differ in the suffixes (see
/// [`conventions`](crate::conventions) for every series, side by side).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NamingStyle {
    /// The OpenTelemetry collector's `carbonexporter` names (default), so
    /// that dashboards built on the collector keep working: sums and gauges
    /// as `name`, histograms as `name.count`, `name` (the sum) and
    /// `name.bucket;upper_bound=…`; plus `name.min` and `name.max`, and
    /// exponential histograms as `name.quantile;quantile=…`.
    #[default]
    Collector,
    /// graphite-rs's own names, as graphite-metrics sends them: a counter
    /// (monotonic sum) as `name.count`, gauges and up-down counters as
    /// `name`, histograms as `name.count`, `name.sum`, `name.min`,
    /// `name.max` (explicit buckets as `name.bucket;upper_bound=…`),
    /// exponential histograms' quantiles as `name.p50`, `name.p999`, ….
    Suffixes,
}

/// Why the exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The address was not `host:port` (or `host`, for the protocol's
    /// default port; IPv6 literals in brackets): the error names the offset.
    #[error(transparent)]
    Address(#[from] graphite_proto::AddressError),
    /// The prefix is not a plain Graphite path.
    #[error("prefix {prefix:?} is not a plain Graphite path: {source}")]
    Prefix {
        /// The prefix given.
        prefix: String,
        /// Why it was refused.
        #[source]
        source: NameError,
    },
    /// A quantile was outside `0.0..=1.0`.
    #[error("quantile {0} is outside 0.0..=1.0")]
    Quantile(f64),
    /// A resource attribute chosen as a tag can never be a valid tag name
    /// (empty, or `name`, which carbon reserves).
    #[error("resource attribute {0:?} cannot be a Graphite tag name")]
    ResourceTag(String),
    /// `with_sink` was combined with an option of the default sender
    /// (address, protocol, sender configuration), which would be ignored.
    #[error("with_sink cannot be combined with {0}: configure the sink you pass instead")]
    SinkWithSenderOption(&'static str),
    /// The sender configuration cannot work.
    #[error(transparent)]
    SenderConfig(#[from] ConfigError),
    /// The default sender's thread could not start.
    #[error("cannot start the sender: {0}")]
    Sender(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Builds a [`GraphiteExporter`].
///
/// Defaults: carbon at `127.0.0.1:2003`, plaintext, no prefix,
/// cumulative temporality, [`NamingStyle::Collector`], no resource
/// attributes as tags, quantiles 0.5, 0.75, 0.95, 0.99 and 0.999 for
/// exponential histograms, [`SenderConfig::new`]'s buffer and replay,
/// flush and shutdown waits of 4 s.
///
/// ```no_run
/// use opentelemetry_graphite::{GraphiteExporter, Protocol, Temporality};
///
/// let exporter = GraphiteExporter::builder()
///     .with_address("carbon.example.com:2003")
///     .with_protocol(Protocol::Plaintext)
///     .with_prefix("app")
///     .with_temporality(Temporality::Delta)
///     .build()?;
/// # Ok::<(), opentelemetry_graphite::BuildError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until `build`"]
pub struct GraphiteExporterBuilder {
    address: Option<String>,
    protocol: Option<Protocol>,
    prefix: Option<String>,
    temporality: Temporality,
    naming: NamingStyle,
    quantiles: Option<Vec<f64>>,
    resource_tags: Vec<String>,
    sender_config: Option<SenderConfig>,
    sink: Option<Arc<dyn Sink>>,
    flush_timeout: Option<Duration>,
    shutdown_timeout: Option<Duration>,
}

impl GraphiteExporterBuilder {
    /// Carbon's address, `host:port` (default `127.0.0.1:2003`); `host`
    /// alone uses the protocol's default port; IPv6 literals go in
    /// brackets (`[::1]:2003`). Checked by [`build`](Self::build)
    /// ([`BuildError::Address`]); the host is resolved again on every
    /// reconnect.
    pub fn with_address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    /// The wire protocol (default plaintext, or that of
    /// [`with_sender_config`](Self::with_sender_config)).
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Nodes put before every series name (default none), such as
    /// `app.web1`: a plain Graphite path, checked by
    /// [`build`](Self::build) ([`BuildError::Prefix`]). Applied by the
    /// exporter, so it holds with any sink (a sink's own
    /// `SenderConfig::with_prefix` would add its prefix in front).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The temporality the exporter asks the SDK for (default
    /// cumulative): with [`Temporality::Delta`], counters and histograms
    /// are sent as their change over each interval; up-down counters stay
    /// cumulative (the SDK's rule), so they are sent as their value.
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }

    /// Which names the series get (default [`NamingStyle::Collector`]).
    pub fn with_naming(mut self, naming: NamingStyle) -> Self {
        self.naming = naming;
        self
    }

    /// The quantiles estimated for exponential histograms (default 0.5,
    /// 0.75, 0.95, 0.99, 0.999), each within
    /// [`relative_error`](crate::relative_error) of the histogram's scale.
    pub fn with_quantiles(mut self, quantiles: &[f64]) -> Self {
        self.quantiles = Some(quantiles.to_vec());
        self
    }

    /// Resource attributes sent as tags on every series (default none),
    /// such as `service.name`. A data point's own attribute of the same
    /// key wins; a resource without the attribute adds no tag.
    pub fn with_resource_tags<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource_tags = keys.into_iter().map(Into::into).collect();
        self
    }

    /// The default sender's configuration: buffer, batching, replay,
    /// backoff (default [`SenderConfig::new`] for the protocol).
    pub fn with_sender_config(mut self, config: SenderConfig) -> Self {
        self.sender_config = Some(config);
        self
    }

    /// Sends through `sink` instead of starting graphite-blocking's thread
    /// sender: a tokio sender, a routed sender over several carbons, a
    /// test double. Configure the sink itself: combining this with
    /// [`with_address`](Self::with_address),
    /// [`with_protocol`](Self::with_protocol) or
    /// [`with_sender_config`](Self::with_sender_config) is refused
    /// ([`BuildError::SinkWithSenderOption`]).
    pub fn with_sink(mut self, sink: Arc<dyn Sink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// How long `force_flush` waits for carbon to take what is buffered
    /// (default 4 s); what is not written by then is dropped and counted.
    pub fn with_flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = Some(timeout);
        self
    }

    /// How long `shutdown` waits for carbon (default 4 s, under the SDK's
    /// 5 s); `shutdown_with_timeout` takes its own.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Checks every option and starts the sender (unless a sink was given).
    pub fn build(self) -> Result<GraphiteExporter, BuildError> {
        let prefix = match &self.prefix {
            None => None,
            Some(p) => Some(plain_path(p).map_err(|source| BuildError::Prefix {
                prefix: p.clone(),
                source,
            })?),
        };
        let mut quantiles = self
            .quantiles
            .clone()
            .unwrap_or_else(|| DEFAULT_QUANTILES.to_vec());
        if let Some(&bad) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(BuildError::Quantile(bad));
        }
        quantiles.sort_by(f64::total_cmp);
        quantiles.dedup();
        for key in &self.resource_tags {
            if key.is_empty() || key == "name" {
                return Err(BuildError::ResourceTag(key.clone()));
            }
        }
        let render = RenderConfig {
            prefix,
            naming: self.naming,
            quantiles,
            resource_tags: self.resource_tags.clone(),
        };
        let sink = match self.sink.clone() {
            Some(sink) => {
                self.refuse_sender_options()?;
                sink
            }
            None => self.spawn_sender()?,
        };
        Ok(GraphiteExporter::new(
            sink,
            render,
            self.temporality,
            self.flush_timeout.unwrap_or(DEFAULT_FLUSH_TIMEOUT),
            self.shutdown_timeout.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
        ))
    }

    fn refuse_sender_options(&self) -> Result<(), BuildError> {
        let option = if self.address.is_some() {
            "with_address"
        } else if self.protocol.is_some() {
            "with_protocol"
        } else if self.sender_config.is_some() {
            "with_sender_config"
        } else {
            return Ok(());
        };
        Err(BuildError::SinkWithSenderOption(option))
    }

    /// graphite-blocking's thread sender: needs no async runtime.
    fn spawn_sender(&self) -> Result<Arc<dyn Sink>, BuildError> {
        let mut config = self
            .sender_config
            .clone()
            .unwrap_or_else(|| SenderConfig::new(self.protocol.unwrap_or(Protocol::Plaintext)));
        if let Some(protocol) = self.protocol {
            config.protocol = protocol;
        }
        config.validate()?;
        let address = self.address.as_deref().unwrap_or(DEFAULT_ADDRESS);
        let (host, port) = split_address(address, config.protocol.default_port())?;
        let sender =
            graphite_driver::Sender::spawn(graphite_blocking::runtime(), &host, port, config)
                .map_err(|e| BuildError::Sender(Box::new(e)))?;
        Ok(Arc::new(sender))
    }
}

/// A prefix: a valid Graphite path without tags.
fn plain_path(prefix: &str) -> Result<MetricPath, NameError> {
    let path = MetricPath::new(prefix)?;
    if path.is_tagged() {
        return Err(NameError::SeparatorInPart {
            part: 0,
            ch: ';',
            offset: path.name().len(),
        });
    }
    Ok(path)
}

/// `host:port`, `host`, `[v6]:port` or `[v6]`, by graphite-proto's one
/// parser.
fn split_address(address: &str, default_port: u16) -> Result<(String, u16), BuildError> {
    let address: graphite_proto::Address = address.parse()?;
    Ok((address.host().to_owned(), address.port_or(default_port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            split_address("carbon:2004", 2003).ok(),
            Some(("carbon".to_owned(), 2004))
        );
        assert_eq!(
            split_address("carbon", 2003).ok(),
            Some(("carbon".to_owned(), 2003))
        );
        assert_eq!(
            split_address("[::1]:9", 2003).ok(),
            Some(("::1".to_owned(), 9))
        );
        for bad in [
            "",
            ":2003",
            "host:port",
            "::1:2003",
            "[::1",
            "[::1]x",
            "h:99999",
        ] {
            assert!(
                matches!(split_address(bad, 2003), Err(BuildError::Address(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_options_are_typed_errors() {
        let err = |b: GraphiteExporterBuilder| b.build().err();
        assert!(matches!(
            err(GraphiteExporterBuilder::default().with_address("no:port")),
            Some(BuildError::Address(_))
        ));
        assert!(matches!(
            err(GraphiteExporterBuilder::default().with_prefix("a..b")),
            Some(BuildError::Prefix { .. })
        ));
        assert!(matches!(
            err(GraphiteExporterBuilder::default().with_prefix("a;b=c")),
            Some(BuildError::Prefix { .. })
        ));
        assert!(matches!(
            err(GraphiteExporterBuilder::default().with_quantiles(&[0.5, 1.5])),
            Some(BuildError::Quantile(q)) if q == 1.5
        ));
        assert!(matches!(
            err(GraphiteExporterBuilder::default().with_resource_tags(["name"])),
            Some(BuildError::ResourceTag(_))
        ));
        let sink: Arc<dyn Sink> = Arc::new(crate::tests::SpySink::default());
        assert!(matches!(
            err(GraphiteExporterBuilder::default()
                .with_sink(sink)
                .with_protocol(Protocol::Pickle)),
            Some(BuildError::SinkWithSenderOption("with_protocol"))
        ));
    }
}
