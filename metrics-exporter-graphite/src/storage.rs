//! The `storage-aggregation.conf` stanzas that match what a naming scheme
//! sends: carbon picks a file's rollup method once, when it creates the
//! file, from the first pattern that matches the full name with its tags
//! sorted, so a pattern must allow tags after the statistic (`($|;)`) and
//! each statistic needs the method that keeps it right in coarser archives.

use std::fmt::Write as _;
use std::time::Duration;

use crate::scheme::{
    CounterMode, KindScheme, NamingScheme, Statistic, StatisticPlacement, ThresholdStatistic,
    Window,
};

/// A rollup method of carbon's, in the order the stanzas are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Method {
    Last,
    Sum,
    Min,
    Max,
    Average,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Self::Last => "last",
            Self::Sum => "sum",
            Self::Min => "min",
            Self::Max => "max",
            Self::Average => "average",
        }
    }
}

/// A running total keeps its last value; a per-interval total is summed
/// (a missing point is no events: `xFilesFactor = 0`); extremes keep their
/// extreme; means, rates, deviations, percentiles and gauges average.
fn method(stat: Statistic, mode: CounterMode, window: Window) -> Method {
    let total = |cumulative: bool| {
        if cumulative {
            Method::Last
        } else {
            Method::Sum
        }
    };
    match stat {
        Statistic::Count | Statistic::Sum => total(mode == CounterMode::Cumulative),
        Statistic::SampleSum | Statistic::SumSquares => total(window == Window::SinceStart),
        Statistic::Min => Method::Min,
        Statistic::Max => Method::Max,
        Statistic::Threshold(percent, ThresholdStatistic::Bound) => {
            if percent < 0.0 {
                Method::Min
            } else {
                Method::Max
            }
        }
        Statistic::Threshold(_, ThresholdStatistic::Mean) => Method::Average,
        Statistic::Threshold(..) => Method::Sum,
        _ => Method::Average,
    }
}

/// `text` as a Python regular expression matching it literally.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !c.is_ascii_alphanumeric() && c != '_' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A section name unique to the anchor, so that the stanzas of several
/// exporters (other prefixes) can share one file: carbon refuses a
/// section twice.
pub(crate) fn section(anchor: &str) -> String {
    let mut name = String::from("metrics_exporter_graphite");
    if !anchor.is_empty() {
        name.push('_');
        name.extend(
            anchor
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    name
}

/// One group of series: the same anchor (kind prefix and prefix), each
/// method with its statistic names.
struct Group {
    anchor: String,
    methods: Vec<(Method, Vec<String>)>,
}

impl NamingScheme {
    /// The `storage-aggregation.conf` stanzas for what this scheme sends
    /// under `prefix` every `interval`: one section per method (`last` for
    /// running totals, `sum` with `xFilesFactor = 0` for per-interval
    /// totals, `min`, `max`, `average` for the rest), patterns anchored on
    /// the prefixes and allowing tags after the statistic (`\.count($|;)`).
    /// Bare series (gauges) match none and get carbon's default,
    /// `average`. Put the stanzas before any catch-all section.
    ///
    /// With `finest_retention`, a warning comes first when the interval is
    /// shorter (carbon keeps one point per step: the last, so summed deltas
    /// lose all but one interval) or longer (steps without a point).
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_exporter_graphite::{CounterMode, NamingScheme};
    ///
    /// let mut scheme = NamingScheme::default();
    /// scheme.counter_mode = CounterMode::Delta;
    /// let conf = scheme.storage_aggregation(Some("app"), Duration::from_secs(60), None);
    /// assert!(conf.contains("pattern = ^app\\..*\\.(count|sum)($|;)\nxFilesFactor = 0\naggregationMethod = sum"));
    /// ```
    pub fn storage_aggregation(
        &self,
        prefix: Option<&str>,
        interval: Duration,
        finest_retention: Option<Duration>,
    ) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# storage-aggregation.conf for metrics-exporter-graphite (counter mode {:?}, \
             interval {} s): put these sections before any catch-all.",
            self.counter_mode,
            interval.as_secs()
        );
        if let Some(finest) = finest_retention {
            if interval < finest {
                let _ = writeln!(
                    out,
                    "# WARNING: the interval ({} s) is shorter than the finest retention ({} s): \
                     carbon keeps only the last point of each step, so per-interval totals \
                     (sum) lose all but one interval and means are sampled. Make them equal.",
                    interval.as_secs(),
                    finest.as_secs()
                );
            } else if interval > finest {
                let _ = writeln!(
                    out,
                    "# WARNING: the interval ({} s) is longer than the finest retention ({} s): \
                     most steps stay empty, and rollups with an xFilesFactor above their share \
                     of filled steps write nothing. Make them equal.",
                    interval.as_secs(),
                    finest.as_secs()
                );
            }
        }
        let prefix = prefix.unwrap_or("");
        for group in &self.groups(prefix) {
            for (method, names) in &group.methods {
                let names = names.join("|");
                let statistic = match &self.statistic {
                    StatisticPlacement::Suffix => format!("\\.({names})($|;)"),
                    StatisticPlacement::Tag(key) => format!(";{}=({names})($|;)", escape(key)),
                };
                let anchor = if group.anchor.is_empty() {
                    String::new()
                } else {
                    format!("^{}\\..*", escape(&group.anchor))
                };
                let _ = writeln!(out, "\n[{}_{}]", section(&group.anchor), method.name());
                let _ = writeln!(out, "pattern = {anchor}{statistic}");
                if *method == Method::Sum {
                    let _ = writeln!(out, "xFilesFactor = 0");
                }
                let _ = writeln!(out, "aggregationMethod = {}", method.name());
            }
        }
        out
    }

    /// The kinds grouped by anchor, each statistic name under the method of
    /// the first kind that sends it.
    fn groups(&self, prefix: &str) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        let kinds: [&KindScheme; 5] = [
            &self.counter,
            &self.meter,
            &self.histogram,
            &self.timer,
            &self.gauge,
        ];
        for kind in kinds {
            let anchor = [kind.prefix.as_str(), prefix]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(".");
            let index = match groups.iter().position(|g| g.anchor == anchor) {
                Some(i) => i,
                None => {
                    groups.push(Group {
                        anchor,
                        methods: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            let group = &mut groups[index];
            for (name, stat) in &kind.statistics {
                if name.is_empty() || group.methods.iter().any(|(_, n)| n.contains(name)) {
                    continue;
                }
                let m = method(*stat, self.counter_mode, self.window);
                match group.methods.iter_mut().find(|(gm, _)| *gm == m) {
                    Some((_, names)) => names.push(name.clone()),
                    None => group.methods.push((m, vec![name.clone()])),
                }
            }
            group.methods.sort_by_key(|(m, _)| *m);
        }
        groups.retain(|g| !g.methods.is_empty());
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statsd_stanzas() {
        let conf = NamingScheme::statsd(&[90.0, -10.0]).storage_aggregation(
            None,
            Duration::from_secs(10),
            Some(Duration::from_secs(60)),
        );
        assert!(
            conf.contains("# WARNING: the interval (10 s) is shorter"),
            "{conf}"
        );
        assert!(
            conf.contains("pattern = ^stats\\.counters\\..*\\.(count)($|;)\nxFilesFactor = 0\naggregationMethod = sum"),
            "{conf}"
        );
        assert!(
            conf.contains(
                "pattern = ^stats\\.timers\\..*\\.(upper_90|upper)($|;)\naggregationMethod = max"
            ),
            "{conf}"
        );
        assert!(
            conf.contains(
                "pattern = ^stats\\.timers\\..*\\.(lower_top10|lower)($|;)\naggregationMethod = min"
            ),
            "{conf}"
        );
    }

    #[test]
    fn micrometer_stanzas_use_the_tag() {
        let conf = NamingScheme::micrometer_tagged().storage_aggregation(
            None,
            Duration::from_secs(60),
            Some(Duration::from_secs(60)),
        );
        assert!(!conf.contains("WARNING"), "{conf}");
        assert!(
            conf.contains("pattern = ;metricattribute=(count)($|;)\naggregationMethod = last"),
            "{conf}"
        );
    }
}
