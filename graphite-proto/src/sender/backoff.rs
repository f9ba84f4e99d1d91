//! Reconnect delays: exponential, capped, with seeded jitter.

use std::time::Duration;

use super::config::Backoff;

/// The state of the backoff between connection attempts.
#[derive(Clone, Debug)]
pub(crate) struct BackoffState {
    config: Backoff,
    attempt: u32,
    rng: u64,
}

impl BackoffState {
    pub(crate) fn new(config: Backoff) -> Self {
        Self {
            rng: config.seed,
            config,
            attempt: 0,
        }
    }

    /// The delay before the next attempt; grows with each call until reset.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self
            .config
            .initial
            .saturating_mul(1_u32 << self.attempt.min(20))
            .min(self.config.max);
        self.attempt = self.attempt.saturating_add(1);
        let jitter = self.config.jitter.clamp(0.0, 1.0);
        base.mul_f64(1.0 - jitter * self.unit())
    }

    /// A connection worked: start again from the initial delay.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// A number in [0, 1) from SplitMix64: tiny, seedable, good enough to
    /// spread reconnects.
    fn unit(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1_u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_resets() {
        let mut b = BackoffState::new(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            jitter: 0.0,
            seed: 1,
        });
        let delays: Vec<_> = (0..6).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_in_range_and_follows_the_seed() {
        let config = Backoff {
            initial: Duration::from_millis(1000),
            max: Duration::from_secs(1),
            jitter: 0.5,
            seed: 42,
        };
        let mut a = BackoffState::new(config);
        let mut b = BackoffState::new(config);
        for _ in 0..100 {
            let d = a.next_delay();
            assert!(
                d > Duration::from_millis(500) && d <= Duration::from_millis(1000),
                "{d:?}"
            );
            assert_eq!(d, b.next_delay());
        }
    }
}
