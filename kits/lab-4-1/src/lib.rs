//! # Lab 4.1 kit: the given code of "the blocking retry anti-pattern" (seed 000)
//!
//! An observation lab: the consumer here is *meant* to be wrong. The student runs
//! it, measures what its blocking retries do, and writes one function: the
//! group's consumer lag ([`Exercise::consumer_lag`], in `labs/lab-4-1/src/exercise.rs`).
//!
//! ## Layout
//!
//! | where | what | whose |
//! |---|---|---|
//! | `labs/lab-4-1/src/exercise.rs` | [`Exercise::consumer_lag`] | **the student's (graded)** |
//! | `kits/lab-4-1/src/lib.rs` | the [`Exercise`] trait | given |
//! | `kits/lab-4-1/src/fragile_consumer.rs` | the seed's fragile consumer, faithfully | given (read it) |
//! | `kits/lab-4-1/src/runner.rs` | the `fragile-consumer` binary's `main` | given |
//! | `harness/criteria/lab-4-1/src/` | the measured scenario, the report, the grader's own lag | the grader's |
//!
//! The student's crate holds only `exercise.rs` (plus one-line binaries that
//! call into this kit and the criteria), so the grader can take that one file
//! from a checkout and grade it in a pristine tree (`grade --submission`).

use std::time::Duration;

use harness::measure::lag::LagReport;
use rdkafka::consumer::BaseConsumer;

pub mod fragile_consumer;
pub mod runner;

/// The part of Lab 4.1 a student writes. The starter and the reference solution
/// each implement it; the scenario and the report are generic over it.
pub trait Exercise: Send + Sync + 'static {
    /// The lag of `consumer`'s group on every partition of `topic`, in partition
    /// order. `consumer` carries the group's `group.id` but never subscribes, so
    /// asking it questions does not disturb the group.
    fn consumer_lag(
        consumer: &BaseConsumer,
        topic: &str,
        timeout: Duration,
    ) -> anyhow::Result<LagReport>;
}
