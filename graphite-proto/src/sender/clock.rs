//! The connected clock: how long the sender has been connected, in all.
//! The replay window ages by it, so an outage does not age out what was
//! written just before it.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ConnectedClock {
    /// Connected time of the connections that have ended.
    past: Duration,
    /// Since when the current connection is up.
    since: Option<Instant>,
}

impl ConnectedClock {
    /// A connection came up.
    pub(crate) fn start(&mut self, now: Instant) {
        if self.since.is_none() {
            self.since = Some(now);
        }
    }

    /// The connection went down (or was closed on purpose).
    pub(crate) fn stop(&mut self, now: Instant) {
        if let Some(since) = self.since.take() {
            self.past += now.saturating_duration_since(since);
        }
    }

    /// Connected time up to `now`.
    pub(crate) fn read(&self, now: Instant) -> Duration {
        self.past
            + self
                .since
                .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stands_still_while_disconnected() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut clock = ConnectedClock::default();
        assert_eq!(clock.read(t0 + s(5)), s(0));
        clock.start(t0 + s(5));
        assert_eq!(clock.read(t0 + s(7)), s(2));
        clock.stop(t0 + s(8));
        assert_eq!(clock.read(t0 + s(100)), s(3), "an outage does not count");
        clock.start(t0 + s(100));
        assert_eq!(clock.read(t0 + s(101)), s(4));
    }
}
