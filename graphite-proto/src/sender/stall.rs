//! Is the peer reading? A write that waits is judged by what the peer
//! acknowledges, not by whether our write call returned: the adapter
//! samples the connection's kernel send queue (Linux: `SIOCOUTQ`, unsent
//! plus unacknowledged bytes), and a queue that shrank is a live peer,
//! however slow. Only a queue that did not shrink for the whole write
//! timeout is a stalled one. A link that reports no queue (UDP, a stream
//! you bring) is judged as before: no byte written for the write timeout.
//!
//! A slow reader is why this matters: the kernel reports a blocked socket
//! writable again only once a large part of its send queue has drained, so
//! at 100 KB/s with a 4 MB queue no write returns for many seconds while
//! the peer reads all the time.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StallWatch {
    /// The last sample of this connection's send queue, and when it was
    /// taken; `None` while the link has reported none.
    last: Option<(usize, Instant)>,
    /// When the queue last shrank between two samples: the peer
    /// acknowledged bytes.
    shrank_at: Option<Instant>,
    /// When the next sample is due, while samples are wanted.
    sample_due: Option<Instant>,
}

impl StallWatch {
    /// A new connection: nothing known about its queue.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    /// The send queue as last reported (0 before any report): bytes that
    /// may not have reached the peer.
    pub(crate) fn queue(&self) -> usize {
        self.last.map_or(0, |(bytes, _)| bytes)
    }

    /// Records a sample; the next one is due a `period` later.
    pub(crate) fn sample(&mut self, now: Instant, bytes: usize, period: Duration) {
        if self.last.is_some_and(|(before, _)| bytes < before) {
            self.shrank_at = Some(now);
        }
        self.last = Some((bytes, now));
        self.sample_due = Some(now + period);
    }

    /// A write starts waiting: samples are wanted from now on.
    pub(crate) fn arm(&mut self, now: Instant, period: Duration) {
        if self.sample_due.is_none_or(|due| due < now) {
            self.sample_due = Some(now + period);
        }
    }

    /// Timers advanced to `now`: a due sample is asked for again a period
    /// later (the adapter reports it after this call).
    pub(crate) fn on_timeout(&mut self, now: Instant, period: Duration) {
        if self.sample_due.is_some_and(|due| now >= due) {
            self.sample_due = Some(now + period);
        }
    }

    /// Whether samples are wanted: a write waits (`waiting`: since when),
    /// or the queue held bytes at the last sample.
    fn wants_samples(&self, waiting: Option<Instant>) -> bool {
        waiting.is_some() || self.queue() > 0
    }

    /// When the peer is stalled unless it shows progress: the write
    /// timeout after the later of the write's start and the queue's last
    /// shrinking.
    fn deadline(&self, waiting: Instant, timeout: Duration) -> Instant {
        self.shrank_at.map_or(waiting, |t| t.max(waiting)) + timeout
    }

    /// Whether the peer stopped reading: a write has waited (`waiting`:
    /// since when) and, where the link reports its queue, the queue has not
    /// shrunk for `timeout`, as a sample taken at or after the deadline
    /// shows (or no sample came for a `period` after it); elsewhere, the
    /// write has waited for `timeout`.
    pub(crate) fn is_stalled(
        &self,
        now: Instant,
        waiting: Option<Instant>,
        timeout: Duration,
        period: Duration,
    ) -> bool {
        let Some(waiting) = waiting else {
            return false;
        };
        let deadline = self.deadline(waiting, timeout);
        match self.last {
            _ if now < deadline => false,
            None => true,
            Some((_, sampled)) => sampled >= deadline || now >= deadline + period,
        }
    }

    /// Whether the link reports its queue (judged by it, not by writes).
    pub(crate) fn reports_queue(&self) -> bool {
        self.last.is_some()
    }

    /// The next time the sender must be woken for the watch: a sample due,
    /// or the stall deadline (plus a period to wait for a sample, where
    /// the link reports its queue).
    pub(crate) fn next_timeout(
        &self,
        waiting: Option<Instant>,
        timeout: Duration,
        period: Duration,
    ) -> Option<Instant> {
        let sample = self.sample_due.filter(|_| self.wants_samples(waiting));
        let stall = waiting.map(|w| {
            let deadline = self.deadline(w, timeout);
            if self.reports_queue() {
                deadline + period
            } else {
                deadline
            }
        });
        [sample, stall].into_iter().flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);
    const PERIOD: Duration = Duration::from_secs(1);

    #[test]
    fn a_shrinking_queue_moves_the_deadline() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut watch = StallWatch::default();
        watch.arm(t0, PERIOD);
        watch.sample(t0, 4_000_000, PERIOD);
        for i in 1..=30 {
            // 100 KB acknowledged each second: never stalled.
            watch.sample(t0 + s(i), 4_000_000 - 100_000 * i as usize, PERIOD);
            assert!(!watch.is_stalled(t0 + s(i), Some(t0), TIMEOUT, PERIOD));
        }
        // Then nothing moves: stalled at the first sample 10 s later.
        for i in 31..=40 {
            watch.sample(t0 + s(i), 1_000_000, PERIOD);
        }
        assert!(!watch.is_stalled(t0 + s(39), Some(t0), TIMEOUT, PERIOD));
        assert!(watch.is_stalled(t0 + s(40), Some(t0), TIMEOUT, PERIOD));
    }

    #[test]
    fn without_a_fresh_sample_the_deadline_waits_one_period() {
        let t0 = Instant::now();
        let mut watch = StallWatch::default();
        watch.sample(t0, 1_000, PERIOD);
        let deadline = t0 + TIMEOUT;
        assert!(!watch.is_stalled(deadline, Some(t0), TIMEOUT, PERIOD));
        assert_eq!(
            watch.next_timeout(Some(t0), TIMEOUT, PERIOD),
            Some(t0 + PERIOD),
            "a sample is due first"
        );
        assert!(watch.is_stalled(deadline + PERIOD, Some(t0), TIMEOUT, PERIOD));
    }

    #[test]
    fn a_link_without_queue_reports_keeps_the_write_rule() {
        let t0 = Instant::now();
        let watch = StallWatch::default();
        assert!(!watch.is_stalled(t0 + TIMEOUT - PERIOD, Some(t0), TIMEOUT, PERIOD));
        assert!(watch.is_stalled(t0 + TIMEOUT, Some(t0), TIMEOUT, PERIOD));
        assert!(!watch.is_stalled(t0 + TIMEOUT, None, TIMEOUT, PERIOD));
    }
}
