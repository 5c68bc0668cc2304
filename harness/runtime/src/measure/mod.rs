//! Measurement: what the labs and graders observe about a running consumer.
//!
//! - [`latency`]: end-to-end latency per payment, from produce to outcome, with percentiles.
//! - [`lag`]: consumer lag, from a group's committed offsets against high watermarks, sampled over time.
//! - [`rebalance`]: a consumer context that records every rebalance a member goes through.
//! - [`summary`]: the two-column summary table every report prints.
//! - [`throughput`]: the raw consume-and-commit and consume-produce-commit baselines.

pub mod lag;
pub mod latency;
pub mod rebalance;
pub mod summary;
pub mod throughput;

/// The median of `values` (the upper middle one of an even count), `None` when
/// there are none: a figure nobody measured is "not measured", never a 0. Every
/// report quotes medians of several runs rather than one run's figure, because
/// one run on a busy 2-core machine can be off by half. A value that compares
/// with nothing (a NaN) is left out, so the sort sees a total order.
pub fn median<T: PartialOrd + Copy>(values: impl IntoIterator<Item = T>) -> Option<T> {
    let mut values: Vec<T> = values
        .into_iter()
        .filter(|value| value.partial_cmp(value).is_some())
        .collect();
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values.get(values.len() / 2).copied()
}

/// `numerator / denominator`, for the ratios every report quotes (a zero
/// denominator counts as 1 ms, so a ratio is always a number).
pub fn ratio(numerator: std::time::Duration, denominator: std::time::Duration) -> f64 {
    numerator.as_secs_f64() / denominator.as_secs_f64().max(0.001)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::median;

    #[test]
    fn median_of_nothing_is_not_measured() {
        assert_eq!(median(Vec::<i64>::new()), None);
    }

    #[test]
    fn median_takes_the_middle_or_the_upper_middle() {
        assert_eq!(median([5, 1, 3]), Some(3));
        assert_eq!(median([4, 1, 3, 2]), Some(3));
        let ms = Duration::from_millis;
        assert_eq!(median([ms(30), ms(10), ms(20)]), Some(ms(20)));
    }

    #[test]
    fn median_leaves_out_nan() {
        assert_eq!(median([f64::NAN, 2.0, 1.0, f64::NAN, 3.0]), Some(2.0));
        assert_eq!(median([f64::NAN]), None);
    }
}
