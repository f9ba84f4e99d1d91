//! Dropwizard's meter rates, `m1_rate`, `m5_rate`, `m15_rate` and
//! `mean_rate`, computed from the counts a flush sees.
//!
//! Dropwizard ticks every 5 s of its clock: a tick takes the marks since
//! the previous one as `instant = marks / 5 s`, the first tick sets each
//! rate to it and each later one moves it by `α (instant − rate)`,
//! `α = 1 − exp(−5 / 60 / N)` for N = 1, 5, 15 minutes. A flush here
//! happens at an interval's end and does not know when within the interval
//! the marks happened: it runs the ticks due by then and counts the
//! interval's marks in the last of them. Against Dropwizard, a rate can
//! therefore differ by `α × marks / 5 s` of the latest interval (one tick's
//! worth), and by nothing when the marks came before the tick.

/// Seconds between two ticks.
const TICK: i64 = 5;

/// `α = 1 − exp(−5 / 60 / N)` for the 1, 5 and 15-minute rates, as
/// Dropwizard's `EWMA` computes them (Java's `Math.exp`).
const ALPHAS: [f64; 3] = [
    0.07995558537067671,
    0.01652854617838251,
    0.005540151995103271,
];

fn alphas() -> [f64; 3] {
    ALPHAS
}

/// One meter's state between flushes.
#[derive(Clone, Debug)]
pub(crate) struct Meter {
    /// When the series was first seen (the start of that interval).
    start: i64,
    last_tick: i64,
    uncounted: u64,
    rates: [f64; 3],
    ticked: bool,
}

impl Meter {
    /// A meter first seen in the interval starting at `start`.
    pub(crate) fn new(start: i64) -> Self {
        Self {
            start,
            last_tick: start,
            uncounted: 0,
            rates: [0.0; 3],
            ticked: false,
        }
    }

    /// Runs the ticks due by `now` (an interval's end), with `marks` (the
    /// interval's) counted in the last of them, or kept for the next tick
    /// if none is due.
    pub(crate) fn advance(&mut self, now: i64, marks: u64) {
        let age = now - self.last_tick;
        let ticks = if age >= TICK { age / TICK } else { 0 };
        if ticks == 0 {
            self.uncounted += marks;
            return;
        }
        if ticks >= 2 {
            // The marks kept from before, then empty ticks in closed form
            // (a flush long after the last one costs no more than one).
            self.tick();
            let decay = i32::try_from(ticks - 2).unwrap_or(i32::MAX);
            for (rate, alpha) in self.rates.iter_mut().zip(alphas()) {
                *rate *= (1.0 - alpha).powi(decay);
            }
        }
        self.uncounted += marks;
        self.tick();
        self.last_tick = now - age % TICK;
    }

    /// One tick: the marks kept become the instant rate.
    fn tick(&mut self) {
        let instant = self.uncounted as f64 / TICK as f64;
        self.uncounted = 0;
        for (rate, alpha) in self.rates.iter_mut().zip(alphas()) {
            if self.ticked {
                *rate += alpha * (instant - *rate);
            } else {
                *rate = instant;
            }
        }
        self.ticked = true;
    }

    /// The 1, 5 and 15-minute rates per second (0 before the first tick).
    pub(crate) fn rates(&self) -> [f64; 3] {
        self.rates
    }

    /// `count` per second since the start, at `now`.
    pub(crate) fn mean_rate(&self, count: u64, now: i64) -> f64 {
        if count == 0 {
            return 0.0;
        }
        count as f64 / (now - self.start) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphas_are_the_formula() {
        for (alpha, minutes) in ALPHAS.iter().zip([1.0_f64, 5.0, 15.0]) {
            let formula = 1.0 - (-(TICK as f64) / 60.0 / minutes).exp();
            assert!((alpha - formula).abs() < 1e-15, "{alpha} {formula}");
        }
    }

    #[test]
    fn dropwizard_vectors() {
        // NAMING-PRESETS.md: 60 marks, a report 5 s later: all three 12;
        // 12 empty ticks later: 12/e, 12 e^-0.2, 12 e^-1/15.
        let mut m = Meter::new(0);
        m.advance(5, 60);
        assert_eq!(m.rates(), [12.0; 3]);
        assert_eq!(m.mean_rate(60, 5), 12.0);
        m.advance(65, 0);
        let [m1, m5, m15] = m.rates();
        assert!((m1 - 12.0 * (-1.0f64).exp()).abs() < 1e-9, "{m1}");
        assert!((m5 - 12.0 * (-0.2f64).exp()).abs() < 1e-9, "{m5}");
        assert!((m15 - 12.0 * (-1.0f64 / 15.0).exp()).abs() < 1e-9, "{m15}");
    }

    #[test]
    fn a_flush_years_later_is_one_step() {
        let mut m = Meter::new(0);
        m.advance(5, 60);
        m.advance(100_000_000, 5);
        // The old rate has decayed to nothing; one tick of 1/s moves it by α.
        assert_eq!(m.rates(), alphas());
    }

    #[test]
    fn marks_before_a_tick_wait_for_it() {
        let mut m = Meter::new(0);
        m.advance(2, 10);
        assert_eq!(m.rates(), [0.0; 3]);
        m.advance(5, 5);
        assert_eq!(m.rates(), [3.0; 3]);
    }
}
