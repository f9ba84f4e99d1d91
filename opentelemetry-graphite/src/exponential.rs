//! Quantile estimates from an OpenTelemetry base-2 exponential histogram,
//! with a relative error that depends only on the histogram's scale.
//!
//! A bucket of index `i` at scale `s` holds the values `v` with
//! `base^i < |v| <= base^(i+1)`, where `base = 2^(2^-s)`. The estimate for
//! a quantile is a point inside the bucket that holds the sample of that
//! rank: `2·L·U / (L + U)` for bounds `L < U`, the point whose relative
//! distance to either bound is the same, `(base − 1) / (base + 1)`
//! ([`relative_error`]), as in DDSketch. Clamping the estimate to the
//! recorded minimum and maximum, which the sample lies between, can only
//! bring it closer.

/// The largest relative error of a quantile estimate from an exponential
/// histogram at `scale`: `(base − 1) / (base + 1)` with
/// `base = 2^(2^-scale)`.
///
/// The SDK picks the scale (20 at most) so that its buckets (160 by
/// default) cover the recorded range: values from 1 to 1,000 give scale 3
/// and at most 4.3 %; scale 4, 2.2 %; scale 5, 1.1 %; scale 6, 0.54 %; a
/// range of 10 %, scale 10 and under 0.034 %.
///
/// ```
/// use opentelemetry_graphite::relative_error;
///
/// assert!((relative_error(3) - 0.0433).abs() < 1e-4);
/// assert!(relative_error(20) < 1e-6);
/// ```
pub fn relative_error(scale: i8) -> f64 {
    let base = bucket_base(scale);
    (base - 1.0) / (base + 1.0)
}

/// `2^(2^-scale)`.
fn bucket_base(scale: i8) -> f64 {
    2f64.powf(2f64.powi(-i32::from(scale)))
}

/// The lower bound of bucket `index` (of magnitudes) at `scale`:
/// `base^index = 2^(index · 2^-scale)`, computed from the exponent so that
/// it stays exact for powers of two.
fn lower_bound(scale: i8, index: i64) -> f64 {
    // index · 2^-scale is exact in f64 for every index the SDK produces.
    (index as f64 * 2f64.powi(-i32::from(scale))).exp2()
}

/// One data point's buckets, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Buckets<'a> {
    pub(crate) scale: i8,
    pub(crate) zero_count: u64,
    pub(crate) positive_offset: i32,
    pub(crate) positive: &'a [u64],
    pub(crate) negative_offset: i32,
    pub(crate) negative: &'a [u64],
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

/// Where the sample of a rank lies.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Place {
    Negative(i64),
    Zero,
    Positive(i64),
}

impl Buckets<'_> {
    fn total(&self) -> u64 {
        self.zero_count
            .saturating_add(self.positive.iter().sum::<u64>())
            .saturating_add(self.negative.iter().sum::<u64>())
    }

    /// The estimate for a value in `place`.
    fn estimate(&self, place: Place) -> f64 {
        let magnitude = |index: i64| {
            let low = lower_bound(self.scale, index);
            let high = lower_bound(self.scale, index + 1);
            2.0 * low * high / (low + high)
        };
        let raw = match place {
            Place::Negative(i) => -magnitude(i),
            Place::Zero => 0.0,
            Place::Positive(i) => magnitude(i),
        };
        let raw = self.min.map_or(raw, |min| raw.max(min));
        self.max.map_or(raw, |max| raw.min(max))
    }

    /// Samples in ascending order of value, one bucket at a time:
    /// negative buckets from the largest magnitude down, the zero bucket,
    /// positive buckets up.
    fn ascending(&self) -> impl Iterator<Item = (Place, u64)> + '_ {
        let negative = self.negative.iter().enumerate().rev().map(|(i, &n)| {
            (
                Place::Negative(i64::from(self.negative_offset) + i as i64),
                n,
            )
        });
        let positive = self.positive.iter().enumerate().map(|(i, &n)| {
            (
                Place::Positive(i64::from(self.positive_offset) + i as i64),
                n,
            )
        });
        negative
            .chain(std::iter::once((Place::Zero, self.zero_count)))
            .chain(positive)
            .filter(|&(_, n)| n > 0)
    }
}

/// The nearest-rank position of quantile `q` among `total` samples:
/// `ceil(q · total)`, at least 1 (1-based).
pub(crate) fn rank(q: f64, total: u64) -> u64 {
    ((q * total as f64).ceil() as u64).clamp(1, total)
}

/// Estimates each of `quantiles` (ascending, in `0.0..=1.0`) into `out`, in
/// the same order; nothing when the histogram is empty. Each estimate is
/// within [`relative_error`] of the sample of nearest rank `ceil(q · n)`.
pub(crate) fn estimate_quantiles(buckets: &Buckets<'_>, quantiles: &[f64], out: &mut Vec<f64>) {
    out.clear();
    let total = buckets.total();
    if total == 0 {
        return;
    }
    let mut walk = buckets.ascending();
    let mut seen = 0_u64;
    let mut current = None;
    for &q in quantiles {
        let wanted = rank(q, total);
        while seen < wanted {
            match walk.next() {
                Some((place, n)) => {
                    seen += n;
                    current = Some(place);
                }
                None => break,
            }
        }
        if let Some(place) = current {
            out.push(buckets.estimate(place));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Buckets built the exact way (by comparing with the bounds), for
    /// checking the estimator alone; the SDK's own bucketing is checked in
    /// the render tests.
    fn bucketize(values: &[f64], scale: i8) -> (i32, Vec<u64>, i32, Vec<u64>, u64) {
        let index = |m: f64| {
            // Smallest i with m <= base^(i+1).
            let mut i = (m.log2() * 2f64.powi(i32::from(scale))).ceil() as i64 - 1;
            while lower_bound(scale, i + 1) < m {
                i += 1;
            }
            while lower_bound(scale, i) >= m {
                i -= 1;
            }
            i
        };
        let collect = |sign: f64| {
            let idx: Vec<i64> = values
                .iter()
                .filter(|v| **v * sign > 0.0)
                .map(|v| index(v.abs()))
                .collect();
            let Some(&lo) = idx.iter().min() else {
                return (0, Vec::new());
            };
            let hi = *idx.iter().max().unwrap_or(&lo);
            let mut counts = vec![0_u64; (hi - lo + 1) as usize];
            for i in idx {
                counts[(i - lo) as usize] += 1;
            }
            (lo as i32, counts)
        };
        let (po, p) = collect(1.0);
        let (no, n) = collect(-1.0);
        let zeros = values.iter().filter(|v| **v == 0.0).count() as u64;
        (po, p, no, n, zeros)
    }

    fn check(values: &[f64], scale: i8, quantiles: &[f64]) -> Result<(), TestCaseError> {
        let (po, p, no, n, zeros) = bucketize(values, scale);
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let buckets = Buckets {
            scale,
            zero_count: zeros,
            positive_offset: po,
            positive: &p,
            negative_offset: no,
            negative: &n,
            min: Some(min),
            max: Some(max),
        };
        let mut out = Vec::new();
        estimate_quantiles(&buckets, quantiles, &mut out);
        prop_assert_eq!(out.len(), quantiles.len());
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let error = relative_error(scale);
        for (&q, &estimate) in quantiles.iter().zip(&out) {
            let truth = sorted[rank(q, sorted.len() as u64) as usize - 1];
            let allowed = error * truth.abs() * (1.0 + 1e-9);
            prop_assert!(
                (estimate - truth).abs() <= allowed,
                "q {q}: estimate {estimate}, sample {truth}, error {} > {error}",
                (estimate - truth).abs() / truth.abs()
            );
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn estimates_stay_within_the_stated_error(
            values in prop::collection::vec(
                prop_oneof![
                    8 => 1e-6..1e9_f64,
                    2 => -1e6..-1e-6_f64,
                    1 => Just(0.0),
                ],
                1..400,
            ),
            scale in -3_i8..=12,
            mut quantiles in prop::collection::vec(0.0..=1.0_f64, 1..6),
        ) {
            quantiles.sort_by(f64::total_cmp);
            check(&values, scale, &quantiles)?;
        }
    }

    #[test]
    fn stated_errors() {
        assert!((relative_error(0) - 1.0 / 3.0).abs() < 1e-12);
        assert!((relative_error(3) - 0.043_294).abs() < 1e-5);
        assert!((relative_error(6) - 0.005_415).abs() < 1e-5);
    }

    #[test]
    fn empty_histogram_gives_nothing() {
        let buckets = Buckets {
            scale: 3,
            zero_count: 0,
            positive_offset: 0,
            positive: &[],
            negative_offset: 0,
            negative: &[],
            min: None,
            max: None,
        };
        let mut out = vec![1.0];
        estimate_quantiles(&buckets, &[0.5], &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn exact_at_powers_of_two_with_min_and_max() {
        // One sample: min and max pin the estimate to it.
        check(&[8.0], 2, &[0.0, 0.5, 1.0]).expect("within error");
        check(&[0.0, 0.0, 5.0], 0, &[0.5]).expect("zero bucket");
    }
}
