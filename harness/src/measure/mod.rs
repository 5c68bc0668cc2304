//! Measurement: what the labs and graders observe about a running consumer.
//!
//! - [`latency`]: end-to-end latency per payment, from produce to outcome, with percentiles.
//! - [`lag`]: consumer lag, from a group's committed offsets against high watermarks, sampled over time.
//! - [`rebalance`]: a consumer context that records every rebalance a member goes through.
//! - [`summary`]: the two-column summary table every report prints.

pub mod lag;
pub mod latency;
pub mod rebalance;
pub mod summary;
