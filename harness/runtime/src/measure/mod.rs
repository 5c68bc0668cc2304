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

/// `numerator / denominator`, for the ratios every report quotes (a zero
/// denominator counts as 1 ms, so a ratio is always a number).
pub fn ratio(numerator: std::time::Duration, denominator: std::time::Duration) -> f64 {
    numerator.as_secs_f64() / denominator.as_secs_f64().max(0.001)
}
