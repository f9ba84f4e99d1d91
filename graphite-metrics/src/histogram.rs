//! The histogram a series records into: log-bucketed atomic counters with a
//! bounded relative error, plus count, sum, min and max, in memory that does
//! not grow with the rate.
//!
//! # Buckets
//!
//! A finite sample `v` goes to one of:
//! - the **zero bucket** if `|v| < 2^MIN_EXP` (2^-30, about 9.3e-10);
//! - a **log bucket**, by sign, octave (`2^e <= |v| < 2^(e+1)`, `e` from
//!   `MIN_EXP` to `MAX_EXP`) and the top `SUB_BITS` (9) bits of the
//!   mantissa: 512 buckets per octave, read straight from the f64's bits
//!   (HdrHistogram's layout over floating point, no logarithm);
//! - an **overflow bucket**, by sign, if `|v| >= 2^(MAX_EXP+1)` (2^50, about
//!   1.1e15).
//!
//! NaN and infinities are not recorded; they are counted apart.
//!
//! # Relative error
//!
//! A quantile `q` of `n` samples is estimated for the sample at 0-based rank
//! `floor(q * (n - 1))` of the sorted samples (DDSketch's rank, as
//! metrics-util's `Summary` used before). The estimate is the midpoint of the
//! bucket holding that sample, clamped to `[min, max]`. A log bucket spans
//! `2^e / 512` from a lower bound of at least `2^e`, so the midpoint is
//! within `2^-10` (0.098 %) of every value in it: [`RELATIVE_ERROR_BOUND`].
//! In the zero bucket the estimate is 0 (absolute error under 2^-30); in an
//! overflow bucket it is the max (or the min for negatives).
//!
//! # Exact figures
//!
//! The count is the sum of the bucket counters: exact, and the same count
//! the quantiles rank against. Min and max are exact (atomic minimum and
//! maximum over an order-preserving integer form of the f64), except around
//! a take that raced with records (see below): a recorded min (max) outside
//! the lowest (highest) bucket counted is replaced by that bucket's
//! estimate, within the error bound of a counted sample. The sum is an
//! f64 updated with a compare-and-swap loop: every sample is added exactly
//! once, and the result is exact up to f64 rounding in the order the
//! additions happened to run (exact for samples whose every partial sum is
//! representable, such as integers below 2^53).
//!
//! # Memory
//!
//! Counters live in pages of one octave and sign (512 × 8 = 4 KiB), made
//! the first time a sample falls in that octave and kept for the
//! histogram's life. A histogram (one per name and label set) takes
//! [`EMPTY_BYTES`] (2,632) when created, plus 4 KiB per octave its values
//! have touched (40 KiB for latencies spanning 1 ms to 1 s), and at most
//! [`MAX_BYTES`] (every octave of both signs: 643 KiB), whatever the rate.
//! Recording never allocates except that once-per-octave page.
//!
//! # Concurrency
//!
//! Recording is a few atomic operations (no lock) once the octave's page
//! exists; the first sample into an octave allocates its page through a
//! `OnceLock`, and a thread recording into that same octave at that moment
//! waits for it. [`AtomicHistogram::take_into`] reads and zeroes each
//! counter with one atomic swap, so each record's bucket increment lands in
//! exactly one take: this interval or the next, never lost, never twice.
//! Sum, min and max are swapped the same way, before the buckets; a sample
//! recorded while a take runs can have its bucket counted in this interval
//! and its sum, min and max in the next (every sample is still in exactly
//! one interval's count and one interval's sum).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use metrics::HistogramFn;
use metrics_util::registry::Storage;

/// Mantissa bits that pick the bucket within an octave.
const SUB_BITS: u32 = 9;
/// Buckets per octave.
const SUBS: usize = 1 << SUB_BITS;
/// Smallest octave with log buckets: `2^MIN_EXP <= |v| < 2^(MIN_EXP+1)`.
const MIN_EXP: i64 = -30;
/// Largest octave with log buckets.
const MAX_EXP: i64 = 49;
/// Octaves per sign.
const OCTAVES: usize = (MAX_EXP - MIN_EXP + 1) as usize;

/// Every value in a log bucket is within this fraction of the bucket's
/// midpoint: 2^-10 (half a bucket's width over the octave's lower bound).
pub(crate) const RELATIVE_ERROR_BOUND: f64 = 1.0 / (2 * SUBS) as f64;

/// Magnitudes below this are counted in the zero bucket (2^-30).
pub(crate) const ZERO_THRESHOLD: f64 = 1.0 / (1u64 << -MIN_EXP) as f64;

/// Bytes of one page: the counters of one octave of one sign.
const PAGE_BYTES: usize = SUBS * size_of::<AtomicU64>();

/// Bytes of a histogram before any page exists (the struct and its `Arc`'s
/// two reference counts).
pub(crate) const EMPTY_BYTES: usize = size_of::<AtomicHistogram>() + 2 * size_of::<usize>();

/// Bytes of a histogram whose values touched every octave of both signs.
pub(crate) const MAX_BYTES: usize = EMPTY_BYTES + 2 * OCTAVES * PAGE_BYTES;

// The promises the crate docs make.
const _: () = {
    assert!(RELATIVE_ERROR_BOUND <= crate::SKETCH_RELATIVE_ERROR);
    assert!(EMPTY_BYTES < 3 << 10 && MAX_BYTES < 650 << 10);
};

const SIGN: u64 = 1 << 63;
const MANTISSA_BITS: u32 = 52;
const EXP_BIAS: i64 = 1023;

type Page = Box<[AtomicU64; SUBS]>;

/// One series' histogram: lock-free recording into fixed buckets, read and
/// reset each interval by the flush. See the [module docs](self) for the
/// buckets, error and memory.
#[derive(Debug)]
pub(crate) struct AtomicHistogram {
    /// `[0]`: positive values, `[1]`: negative; by octave from `MIN_EXP`.
    pages: [[OnceLock<Page>; OCTAVES]; 2],
    zero: AtomicU64,
    /// Magnitudes at least `2^(MAX_EXP+1)`, by sign.
    overflow: [AtomicU64; 2],
    /// f64 bits.
    sum: AtomicU64,
    /// [`order_key`] of the least value; `u64::MAX` when none.
    min: AtomicU64,
    /// [`order_key`] of the greatest value; 0 when none.
    max: AtomicU64,
    /// NaN and infinite samples, not recorded.
    non_finite: AtomicU64,
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        Self {
            pages: std::array::from_fn(|_| std::array::from_fn(|_| OnceLock::new())),
            zero: AtomicU64::new(0),
            overflow: [AtomicU64::new(0), AtomicU64::new(0)],
            sum: AtomicU64::new(0.0_f64.to_bits()),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            non_finite: AtomicU64::new(0),
        }
    }
}

/// Maps f64 bits to integers in the same order as the values (negatives
/// reversed below positives), so min and max are integer atomics.
fn order_key(bits: u64) -> u64 {
    if bits & SIGN == 0 { bits | SIGN } else { !bits }
}

fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key & SIGN != 0 { key & !SIGN } else { !key })
}

fn new_page() -> Page {
    Box::new(std::array::from_fn(|_| AtomicU64::new(0)))
}

/// Reads a counter, zeroing it when `reset` (skipping the write when it is
/// already zero: most buckets are).
fn read(counter: &AtomicU64, reset: bool) -> u64 {
    if !reset {
        return counter.load(Ordering::Relaxed);
    }
    if counter.load(Ordering::Relaxed) == 0 {
        return 0;
    }
    counter.swap(0, Ordering::Relaxed)
}

impl AtomicHistogram {
    /// Records `value`: a NaN or infinity is only counted (see
    /// [`Snapshot::non_finite`]).
    pub(crate) fn record(&self, value: f64) {
        if !value.is_finite() {
            self.non_finite.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // -0.0 + 0.0 is +0.0: one zero, whatever its sign.
        let value = value + 0.0;
        let bits = value.to_bits();
        let magnitude = bits & !SIGN;
        let sign = (bits >> 63) as usize;
        let exp = (magnitude >> MANTISSA_BITS) as i64 - EXP_BIAS;
        if exp < MIN_EXP {
            self.zero.fetch_add(1, Ordering::Relaxed);
        } else if exp > MAX_EXP {
            self.overflow[sign].fetch_add(1, Ordering::Relaxed);
        } else {
            let sub = ((magnitude >> (MANTISSA_BITS - SUB_BITS)) as usize) & (SUBS - 1);
            let page = self.pages[sign][(exp - MIN_EXP) as usize].get_or_init(new_page);
            page[sub].fetch_add(1, Ordering::Relaxed);
        }
        let mut sum = self.sum.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(sum) + value).to_bits();
            match self
                .sum
                .compare_exchange_weak(sum, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => sum = now,
            }
        }
        // Read first: once min and max settle, recording only loads them.
        let key = order_key(bits);
        if key < self.min.load(Ordering::Relaxed) {
            self.min.fetch_min(key, Ordering::Relaxed);
        }
        if key > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(key, Ordering::Relaxed);
        }
    }

    /// Moves everything recorded since the last take into `out` and starts
    /// the next interval at zero. Concurrent records are never lost: see the
    /// [module docs](self#concurrency).
    pub(crate) fn take_into(&self, out: &mut Snapshot) {
        self.collect(true, out);
    }

    /// Copies everything recorded since the last take into `out`, changing
    /// nothing.
    pub(crate) fn peek_into(&self, out: &mut Snapshot) {
        self.collect(false, out);
    }

    fn collect(&self, reset: bool, out: &mut Snapshot) {
        out.buckets.clear();
        out.non_finite = read(&self.non_finite, reset);
        // Sum, min and max before the buckets: see the module docs.
        out.sum = f64::from_bits(if reset {
            self.sum.swap(0.0_f64.to_bits(), Ordering::Relaxed)
        } else {
            self.sum.load(Ordering::Relaxed)
        });
        let (min, max) = if reset {
            (
                self.min.swap(u64::MAX, Ordering::Relaxed),
                self.max.swap(0, Ordering::Relaxed),
            )
        } else {
            (
                self.min.load(Ordering::Relaxed),
                self.max.load(Ordering::Relaxed),
            )
        };
        out.min = (min != u64::MAX).then(|| from_order_key(min));
        out.max = (max != 0).then(|| from_order_key(max));
        // In ascending order of value: negative overflow, negative octaves
        // from the largest magnitude, zero, positive octaves, overflow.
        let mut push = |bucket: Bucket, n: u64| {
            if n > 0 {
                out.buckets.push(Bucket { count: n, ..bucket });
            }
        };
        push(Bucket::overflow(true), read(&self.overflow[1], reset));
        for (octave, page) in self.pages[1].iter().enumerate().rev() {
            if let Some(page) = page.get() {
                let exp = octave as i64 + MIN_EXP;
                for (sub, counter) in page.iter().enumerate().rev() {
                    push(Bucket::log(exp, sub, true), read(counter, reset));
                }
            }
        }
        push(Bucket::ZERO, read(&self.zero, reset));
        for (octave, page) in self.pages[0].iter().enumerate() {
            if let Some(page) = page.get() {
                let exp = octave as i64 + MIN_EXP;
                for (sub, counter) in page.iter().enumerate() {
                    push(Bucket::log(exp, sub, false), read(counter, reset));
                }
            }
        }
        push(Bucket::overflow(false), read(&self.overflow[0], reset));
        out.count = out.buckets.iter().map(|b| b.count).sum();
    }
}

impl HistogramFn for AtomicHistogram {
    fn record(&self, value: f64) {
        Self::record(self, value);
    }
}

/// The registry's storage: atomic integers and floats for counters and
/// gauges (as metrics-util's `AtomicStorage`), [`AtomicHistogram`] for
/// histograms.
#[derive(Debug)]
pub(crate) struct GraphiteStorage;

impl<K> Storage<K> for GraphiteStorage {
    type Counter = Arc<AtomicU64>;
    type Gauge = Arc<AtomicU64>;
    type Histogram = Arc<AtomicHistogram>;

    fn counter(&self, _: &K) -> Self::Counter {
        Arc::new(AtomicU64::new(0))
    }

    fn gauge(&self, _: &K) -> Self::Gauge {
        Arc::new(AtomicU64::new(0))
    }

    fn histogram(&self, _: &K) -> Self::Histogram {
        Arc::new(AtomicHistogram::default())
    }
}

/// A non-empty bucket of a [`Snapshot`]: the values it holds lie in
/// `[low, high]`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    low: f64,
    high: f64,
    /// What a quantile falling here is estimated as (before the clamp to
    /// `[min, max]`).
    estimate: f64,
    count: u64,
}

impl Bucket {
    const ZERO: Self = Self {
        low: -ZERO_THRESHOLD,
        high: ZERO_THRESHOLD,
        estimate: 0.0,
        count: 0,
    };

    /// Bucket `sub` of the octave `2^exp`, of negative values if `negative`.
    fn log(exp: i64, sub: usize, negative: bool) -> Self {
        // Exact: powers of two times small integers.
        let octave = f64::from_bits(((exp + EXP_BIAS) as u64) << MANTISSA_BITS);
        let step = octave / SUBS as f64;
        let low = octave + step * sub as f64;
        let high = low + step;
        let estimate = low + step / 2.0;
        if negative {
            Self {
                low: -high,
                high: -low,
                estimate: -estimate,
                count: 0,
            }
        } else {
            Self {
                low,
                high,
                estimate,
                count: 0,
            }
        }
    }

    /// `recorded` if this bucket holds it, else the bucket's estimate.
    fn holding(&self, recorded: Option<f64>) -> f64 {
        recorded
            .filter(|v| (self.low..=self.high).contains(v))
            .unwrap_or(self.estimate)
    }

    /// Magnitudes past the last octave: a quantile here is the max (min).
    fn overflow(negative: bool) -> Self {
        let edge = 2f64.powi((MAX_EXP + 1) as i32);
        if negative {
            Self {
                low: f64::MIN,
                high: -edge,
                estimate: f64::MIN,
                count: 0,
            }
        } else {
            Self {
                low: edge,
                high: f64::MAX,
                estimate: f64::MAX,
                count: 0,
            }
        }
    }
}

/// One interval of a histogram, as read by [`AtomicHistogram::take_into`]:
/// reused from flush to flush so reading allocates only when more buckets
/// are in use than ever before.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// Non-empty buckets in ascending order of value.
    buckets: Vec<Bucket>,
    count: u64,
    sum: f64,
    /// As recorded; `None` if unset (see [`Snapshot::min`]).
    min: Option<f64>,
    max: Option<f64>,
    non_finite: u64,
}

impl Snapshot {
    /// Samples recorded (NaN and infinities not included).
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Their sum (exact up to f64 rounding in the order recorded).
    pub(crate) fn sum(&self) -> f64 {
        self.sum
    }

    /// NaN and infinite samples, not recorded.
    pub(crate) fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// The least sample, if any: exact unless a record raced with the take
    /// (its bucket counted here, its minimum in the next interval, or the
    /// reverse); then, if the recorded minimum is not in the lowest bucket,
    /// that bucket's estimate, within the error bound of a sample counted
    /// here.
    pub(crate) fn min(&self) -> Option<f64> {
        self.buckets.first().map(|b| b.holding(self.min))
    }

    /// The greatest sample, if any: as [`min`](Self::min), with the highest
    /// bucket.
    pub(crate) fn max(&self) -> Option<f64> {
        self.buckets.last().map(|b| b.holding(self.max))
    }

    /// The estimate of quantile `q` (0 to 1): within
    /// [`RELATIVE_ERROR_BOUND`] of the sample at 0-based rank
    /// `floor(q * (count - 1))` (see the [module docs](self#relative-error));
    /// `None` without samples.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        let (min, max) = (self.min()?, self.max()?);
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).floor() as u64;
        let mut seen = 0;
        for bucket in &self.buckets {
            seen += bucket.count;
            if seen > rank {
                return Some(bucket.estimate.clamp(min, max.max(min)));
            }
        }
        Some(max)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use proptest::prelude::*;

    use super::*;

    fn snapshot(h: &AtomicHistogram) -> Snapshot {
        let mut s = Snapshot::default();
        h.take_into(&mut s);
        s
    }

    /// The sample at the rank the estimates are for.
    fn reference(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
    }

    fn within_bound(estimate: f64, want: f64) -> bool {
        (estimate - want).abs() <= want.abs() * RELATIVE_ERROR_BOUND + ZERO_THRESHOLD
    }

    const QUANTILES: [f64; 9] = [0.0, 0.05, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0];

    #[test]
    fn bounds() {
        assert_eq!(RELATIVE_ERROR_BOUND, 2f64.powi(-10));
        assert_eq!(ZERO_THRESHOLD, 2f64.powi(-30));
    }

    #[test]
    fn one_to_a_hundred() {
        let h = AtomicHistogram::default();
        for v in 1..=100 {
            h.record(f64::from(v));
        }
        h.record(f64::NAN);
        h.record(f64::NEG_INFINITY);
        let s = snapshot(&h);
        assert_eq!(
            (s.count(), s.sum(), s.min(), s.max(), s.non_finite()),
            (100, 5050.0, Some(1.0), Some(100.0), 2)
        );
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        for q in QUANTILES {
            let got = s.quantile(q).expect("samples");
            assert!(within_bound(got, reference(&sorted, q)), "{q}: {got}");
        }
        // Taken: the next interval starts empty.
        let s = snapshot(&h);
        assert_eq!((s.count(), s.sum(), s.non_finite()), (0, 0.0, 0));
        assert_eq!((s.min(), s.max(), s.quantile(0.5)), (None, None, None));
    }

    #[test]
    fn peek_changes_nothing() {
        let h = AtomicHistogram::default();
        h.record(3.0);
        let mut s = Snapshot::default();
        h.peek_into(&mut s);
        h.peek_into(&mut s);
        assert_eq!((s.count(), s.sum()), (1, 3.0));
        assert_eq!(snapshot(&h).count(), 1);
    }

    #[test]
    fn zero_negative_tiny_and_huge() {
        let h = AtomicHistogram::default();
        let values = [-0.0, 0.0, 1e-12, -1e-12, -5.0, 1e300, -1e300, 2f64.powi(50)];
        for v in values {
            h.record(v);
        }
        let s = snapshot(&h);
        assert_eq!(s.count(), values.len() as u64);
        assert_eq!((s.min(), s.max()), (Some(-1e300), Some(1e300)));
        assert_eq!(s.min().map(f64::to_bits), Some((-1e300_f64).to_bits()));
        // Ranks 0..7: -1e300, -5, then four zeros (two tiny), 2^50, 1e300.
        assert_eq!(s.quantile(0.0), Some(-1e300));
        assert!(within_bound(s.quantile(1.0 / 7.0).expect("q"), -5.0));
        assert_eq!(s.quantile(3.0 / 7.0), Some(0.0));
        assert_eq!(s.quantile(6.0 / 7.0), Some(1e300)); // overflow: the max
        assert_eq!(s.quantile(1.0), Some(1e300));
        // Only zeros: the max is +0.0 (never -0.0).
        h.record(-0.0);
        let s = snapshot(&h);
        assert_eq!(s.max().map(f64::to_bits), Some(0.0_f64.to_bits()));
    }

    #[test]
    fn bucket_edges() {
        // Every value in [1, 2) sits within the bound of its bucket's midpoint.
        for i in 0..=4096 {
            let v = 1.0 + f64::from(i) / 4096.0;
            let h = AtomicHistogram::default();
            h.record(v);
            h.record(0.5); // so the clamp to [min, max] does not hide errors
            h.record(4.0);
            let got = snapshot(&h).quantile(0.5).expect("q");
            assert!(
                (got - v).abs() <= v * RELATIVE_ERROR_BOUND,
                "{v}: {got} off by {}",
                (got - v).abs() / v
            );
        }
    }

    /// What a take racing with a record can leave: min and max unset, or
    /// from a sample counted in another interval. They are brought into the
    /// extreme buckets of the samples counted.
    #[test]
    fn min_and_max_stay_with_the_counted_buckets() {
        let h = AtomicHistogram::default();
        h.record(10.0);
        h.record(20.0);
        h.min.store(u64::MAX, Ordering::Relaxed);
        h.max
            .store(order_key(1000.0_f64.to_bits()), Ordering::Relaxed);
        let s = snapshot(&h);
        let (min, max) = (s.min().expect("min"), s.max().expect("max"));
        assert!(within_bound(min, 10.0) && min != 10.0, "{min}");
        assert!(within_bound(max, 20.0) && max != 20.0, "{max}");
        assert!(within_bound(s.quantile(0.0).expect("q"), 10.0));
        // Recorded stats without samples (their buckets went to the last
        // take): nothing to report.
        h.min.store(order_key(5.0_f64.to_bits()), Ordering::Relaxed);
        let s = snapshot(&h);
        assert_eq!((s.count(), s.min(), s.max()), (0, None, None));
    }

    #[test]
    fn memory_figures() {
        // The figures the crate docs give.
        assert_eq!((EMPTY_BYTES, PAGE_BYTES, OCTAVES), (2632, 4096, 80));
        assert_eq!(MAX_BYTES, 2632 + 160 * 4096);
    }

    fn sample() -> impl Strategy<Value = f64> {
        prop_oneof![
            // Log-uniform magnitudes over the whole bucketed range and past it.
            (any::<bool>(), -34.0..54.0_f64).prop_map(|(neg, e)| if neg {
                -(2f64.powf(e))
            } else {
                2f64.powf(e)
            }),
            -1.0e6..1.0e6_f64,
            (0..1000_u32).prop_map(f64::from),
            Just(0.0),
        ]
    }

    proptest! {
        #[test]
        fn quantiles_within_the_bound(values in prop::collection::vec(sample(), 1..1000)) {
            let h = AtomicHistogram::default();
            for &v in &values {
                h.record(v);
            }
            let s = snapshot(&h);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            prop_assert_eq!(s.count(), values.len() as u64);
            prop_assert_eq!(s.min(), Some(sorted[0] + 0.0));
            prop_assert_eq!(s.max(), Some(sorted[sorted.len() - 1] + 0.0));
            for q in QUANTILES {
                let want = reference(&sorted, q);
                let got = s.quantile(q).expect("samples");
                // Past the last octave only the max (min) is promised.
                if want.abs() < 2f64.powi(50) {
                    prop_assert!(within_bound(got, want), "q {}: {} vs {}", q, got, want);
                }
            }
        }

        #[test]
        fn integer_sums_are_exact(values in prop::collection::vec(-1_000_000_i32..1_000_000, 0..500)) {
            let h = AtomicHistogram::default();
            for &v in &values {
                h.record(f64::from(v));
            }
            let s = snapshot(&h);
            let want: i64 = values.iter().map(|&v| i64::from(v)).sum();
            prop_assert_eq!(s.sum(), want as f64);
            prop_assert_eq!(s.count(), values.len() as u64);
        }
    }

    /// Two threads record while a third takes in a loop: the takes add up to
    /// every record, with the exact sum, min and max.
    #[test]
    fn concurrent_records_survive_takes() {
        const PER_THREAD: u32 = 200_000;
        let h = Arc::new(AtomicHistogram::default());
        let done = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..2_u32)
            .map(|t| {
                let h = Arc::clone(&h);
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        // Integers: any order of addition gives the same sum.
                        h.record(f64::from(i % 1000) - 100.0 * f64::from(t));
                    }
                })
            })
            .collect();
        let taker = {
            let (h, done) = (Arc::clone(&h), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut s = Snapshot::default();
                let (mut count, mut sum, mut takes) = (0, 0.0, 0);
                let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
                loop {
                    let last = done.load(Ordering::Acquire);
                    h.take_into(&mut s);
                    takes += 1;
                    count += s.count();
                    sum += s.sum();
                    if let (Some(lo), Some(hi)) = (s.min(), s.max()) {
                        min = min.min(lo);
                        max = max.max(hi);
                    }
                    if last {
                        return (count, sum, min, max, takes);
                    }
                }
            })
        };
        for w in writers {
            w.join().expect("writer");
        }
        done.store(true, Ordering::Release);
        let (count, sum, min, max, takes) = taker.join().expect("taker");
        let per_cycle: f64 = (0..1000).map(f64::from).sum();
        let cycles = f64::from(PER_THREAD / 1000);
        let want_sum = 2.0 * cycles * per_cycle - 100.0 * f64::from(PER_THREAD);
        assert_eq!(count, 2 * u64::from(PER_THREAD));
        assert_eq!(sum, want_sum);
        // Takes racing with records may move a min or max to the next
        // interval; what is reported stays within a counted sample's bucket.
        assert!(within_bound(min, -100.0), "{min}");
        assert!(within_bound(max, 999.0), "{max}");
        assert!(takes > 1, "{takes}");
    }
}
