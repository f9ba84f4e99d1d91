//! Self-telemetry: the exporter's and the sender's own counters, sent with
//! every flush under `PREFIX.metrics_exporter_graphite.` (`PREFIX` the
//! builder's prefix; no prefix: at the root), as carbon reports its own
//! `carbon.agents.*`:
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
//! The figures are those just before the flush that carries them.

use graphite_proto::sender::Stats;
use graphite_proto::{Datapoint, MetricPath, Value};

use crate::stats::ExporterStats;

/// The node under the builder's prefix that self-telemetry is sent under
/// (see [`GraphiteBuilder::with_self_telemetry`](crate::GraphiteBuilder::with_self_telemetry)).
pub const SELF_TELEMETRY_NODE: &str = "metrics_exporter_graphite";

/// The series' names after the node, in the order [`Telemetry::push`]
/// writes their values.
const NAMES: [&str; 30] = [
    "exporter.flushes",
    "exporter.datapoints",
    "exporter.refused",
    "exporter.invalid_series",
    "exporter.non_finite",
    "exporter.idle_removed",
    "exporter.last_flush_seconds",
    "sender.accepted",
    "sender.written",
    "sender.written_bytes",
    "sender.replayed",
    "sender.connects",
    "sender.connect_failures",
    "sender.disconnects",
    "sender.dropped.buffer_full",
    "sender.dropped.evicted",
    "sender.dropped.deadline",
    "sender.dropped.closed",
    "sender.dropped.too_large",
    "sender.dropped.invalid",
    "sender.dropped.spool_full",
    "sender.dropped.spool_error",
    "sender.dropped.spool_corrupt",
    "sender.spooled",
    "sender.unspooled",
    "sender.spool_found",
    "sender.buffered",
    "sender.buffered_bytes",
    "sender.spool_held",
    "sender.spool_bytes",
];

/// The series of self-telemetry, named once.
#[derive(Clone, Debug)]
pub(crate) struct Telemetry {
    paths: Vec<MetricPath>,
}

impl Telemetry {
    /// Under `prefix` (sanitised, may be empty); `None` if the names
    /// cannot be valid (a prefix too long).
    pub(crate) fn new(prefix: &str) -> Option<Self> {
        let base = if prefix.is_empty() {
            SELF_TELEMETRY_NODE.to_owned()
        } else {
            format!("{prefix}.{SELF_TELEMETRY_NODE}")
        };
        let paths = NAMES
            .iter()
            .map(|n| MetricPath::new(&format!("{base}.{n}")).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Self { paths })
    }

    /// Appends the counters' values, stamped `ts`.
    pub(crate) fn push(
        &self,
        out: &mut Vec<Datapoint>,
        ts: i64,
        exporter: &ExporterStats,
        sender: &Stats,
    ) {
        let d = &sender.dropped;
        let exporter_totals = [
            exporter.flushes,
            exporter.datapoints,
            exporter.refused,
            exporter.invalid_series,
            exporter.non_finite,
            exporter.idle_removed,
        ];
        let sender_figures = [
            sender.accepted,
            sender.written,
            sender.written_bytes,
            sender.replayed,
            sender.connects,
            sender.connect_failures,
            sender.disconnects,
            d.buffer_full,
            d.evicted,
            d.deadline,
            d.closed,
            d.too_large,
            d.invalid,
            d.spool_full,
            d.spool_error,
            d.spool_corrupt,
            sender.spooled,
            sender.unspooled,
            sender.spool_found,
            sender.buffered,
            sender.buffered_bytes as u64,
            sender.spool_held,
            sender.spool_bytes,
        ];
        let seconds = Value::float(exporter.last_flush.as_secs_f64()).unwrap_or(Value::Int(0));
        let values = exporter_totals
            .into_iter()
            .map(Value::from)
            .chain(std::iter::once(seconds))
            .chain(sender_figures.into_iter().map(Value::from));
        for (path, value) in self.paths.iter().zip(values) {
            out.push(Datapoint::new(path.clone(), value, ts));
        }
    }
}

/// The `storage-aggregation.conf` stanza for self-telemetry under
/// `prefix` (the builder's, if any): running totals keep their last value
/// (the flush time and the buffer's levels fall through to `average`).
/// [`GraphiteHandle::storage_aggregation`](crate::GraphiteHandle::storage_aggregation)
/// includes it; put it before the scheme's stanzas.
///
/// ```
/// let stanza = metrics_exporter_graphite::self_telemetry_storage_aggregation(Some("app"));
/// assert!(stanza.contains("pattern = ^app\\.metrics_exporter_graphite\\."));
/// ```
pub fn self_telemetry_storage_aggregation(prefix: Option<&str>) -> String {
    stanza(prefix.unwrap_or(""))
}

pub(crate) fn stanza(prefix: &str) -> String {
    let anchor = if prefix.is_empty() {
        "^".to_owned()
    } else {
        format!("^{}\\.", crate::storage::escape(prefix))
    };
    let section = crate::storage::section(prefix);
    format!(
        "\n[{section}_self_telemetry]\n\
         pattern = {anchor}{SELF_TELEMETRY_NODE}\\.(exporter\\.(flushes|datapoints|refused|\
         invalid_series|non_finite|idle_removed)|sender\\.(accepted|written|written_bytes|\
         replayed|connects|connect_failures|disconnects|spooled|unspooled|spool_found|\
         dropped\\.[a-z_]+))$\n\
         aggregationMethod = last\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_gets_a_value() {
        let t = Telemetry::new("app").expect("valid");
        let mut out = Vec::new();
        t.push(&mut out, 1, &ExporterStats::default(), &Stats::default());
        assert_eq!(out.len(), NAMES.len());
        assert_eq!(
            out[8].path.as_str(),
            "app.metrics_exporter_graphite.sender.written"
        );
    }
}
