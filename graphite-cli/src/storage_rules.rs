//! `graphite storage-rules`: the `storage-aggregation.conf` stanzas for a
//! metrics-exporter-graphite naming scheme and counter mode, as
//! `GraphiteHandle::storage_aggregation` prints them for a running exporter.

use std::time::Duration;

use clap::{Args, ValueEnum};
use metrics_exporter_graphite::{
    CounterMode, DEFAULT_QUANTILES, NamingScheme, self_telemetry_storage_aggregation,
};

/// The naming schemes, by name.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Scheme {
    /// metrics-exporter-graphite's own (the default).
    Graphite,
    /// Dropwizard's GraphiteReporter.
    Dropwizard,
    /// Micrometer's graphite registry, tagged mode.
    Micrometer,
    /// statsd's graphite backend, new namespace.
    Statsd,
}

/// What a counter sends.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Counters {
    /// Running totals.
    Cumulative,
    /// The change per interval.
    Delta,
}

/// `graphite storage-rules` arguments.
#[derive(Args, Debug)]
pub(crate) struct StorageRulesArgs {
    /// The exporter's naming scheme.
    #[arg(long, value_enum, default_value = "graphite")]
    scheme: Scheme,
    /// The counter mode, if not the scheme's own (statsd: delta, the
    /// others: cumulative).
    #[arg(long, value_enum)]
    counter_mode: Option<Counters>,
    /// The exporter's prefix (`with_prefix`), if any.
    #[arg(long)]
    prefix: Option<String>,
    /// The exporter's interval, in seconds.
    #[arg(long, default_value_t = 60)]
    interval: u64,
    /// The finest retention of the carbon schema, in seconds: a warning is
    /// printed when the interval differs.
    #[arg(long)]
    finest_retention: Option<u64>,
    /// Leave out the rule for the exporter's self-telemetry (on by default
    /// in the exporter, `with_self_telemetry(false)` turns it off).
    #[arg(long)]
    no_self_telemetry: bool,
    /// statsd's percent thresholds (repeatable; default 90).
    #[arg(long = "threshold", allow_negative_numbers = true)]
    thresholds: Vec<f64>,
}

/// Prints the stanzas.
pub(crate) fn run(args: &StorageRulesArgs) {
    let mut scheme = match args.scheme {
        Scheme::Graphite => NamingScheme::graphite(&DEFAULT_QUANTILES),
        Scheme::Dropwizard => NamingScheme::dropwizard(),
        Scheme::Micrometer => NamingScheme::micrometer_tagged(),
        Scheme::Statsd if args.thresholds.is_empty() => NamingScheme::statsd(&[90.0]),
        Scheme::Statsd => NamingScheme::statsd(&args.thresholds),
    };
    if let Some(mode) = args.counter_mode {
        scheme.counter_mode = match mode {
            Counters::Cumulative => CounterMode::Cumulative,
            Counters::Delta => CounterMode::Delta,
        };
    }
    let mut conf = scheme.storage_aggregation(
        args.prefix.as_deref(),
        Duration::from_secs(args.interval),
        args.finest_retention.map(Duration::from_secs),
    );
    if !args.no_self_telemetry {
        // First: no statistic's pattern may claim these series.
        let at = conf.find("\n[").unwrap_or(conf.len());
        conf.insert_str(
            at,
            &self_telemetry_storage_aggregation(args.prefix.as_deref()),
        );
    }
    print!("{conf}");
}
