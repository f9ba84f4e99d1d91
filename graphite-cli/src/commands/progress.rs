//! `graphite send`'s progress line.

use std::io::{self, IsTerminal};

use graphite_proto::sender::Stats;

/// The progress line on a terminal's stderr; silent anywhere else.
pub(crate) struct Progress(indicatif::ProgressBar);

impl Progress {
    pub(crate) fn new(quiet: bool) -> Self {
        let bar = if quiet || !io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new_spinner()
        };
        Self(bar)
    }

    pub(crate) fn is_hidden(&self) -> bool {
        self.0.is_hidden()
    }

    pub(crate) fn update(&self, lines: u64, stats: &Stats) {
        if self.is_hidden() {
            return;
        }
        let rate = lines as f64 / self.0.elapsed().as_secs_f64().max(1e-3);
        self.0.set_message(format!(
            "{lines} lines, {rate:.0}/s, written {}, buffered {}, dropped {}",
            stats.written,
            stats.buffered,
            stats.dropped.total()
        ));
        self.0.tick();
    }

    pub(crate) fn finish(&self, lines: u64, stats: &Stats) {
        self.update(lines, stats);
        self.0.finish();
    }
}
