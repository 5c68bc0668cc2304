//! # Lab 4.3: non-blocking retries (seed 000 Lab 4.3, with seeds 002 and 003)
//!
//! Lab 4.1 retried in the poll loop and blocked everything behind a failure; Lab
//! 4.2 stopped blocking but gave up on failures that a second try would have
//! fixed. Here a failure that is worth retrying leaves the live topic for a
//! **retry topic**, where it waits (in Kafka, not in memory, and without
//! sleeping) until it is due, and is tried again by that level's processor:
//!
//! ```text
//! payment_requests --> retry consumer --ok--> processed
//!                          |  not retryable ---------------------------------> payment_requests-dlq
//!                          \  retryable --> payment_requests-retry-1 (5 s) --ok--> processed
//!                                              \ fails --> ...-retry-2 (15 s) --> ...-retry-3 (60 s)
//!                                                                                   \ fails --> DLQ (final-failure: true)
//! ```
//!
//! ## Layout
//!
//! | file | what | yours? |
//! |---|---|---|
//! | `src/exercise.rs` | routing a failure; waiting for a record that is not due | **TODO: graded** |
//! | `src/failed.rs` | [`failed::Failed`]: the toolbox for routing a failed payment | given |
//! | `src/retry_consumer.rs` | the main consumer on the live topic (seed's `retry_consumer.py`) | given |
//! | `src/retry_processor.rs` | one level's processor, [`retry_processor::NotYetDue`] (seed's `retry_processor.py`) | given |
//! | `src/pipeline.rs` | topic names, groups, timeouts, producers, pausing, counters | given |
//! | `src/running.rs` | the consumer and the levels as tasks you can start, kill and restart | given |
//! | `src/scenario.rs` | produce, run, settle, measure: the run the criteria also use | given |
//! | `src/verdicts.rs` | what the topics should show for each payment, and where they differ | given |
//! | `src/report.rs` | the end-of-run report and the success checklist | given |
//! | `src/runner.rs` | the binaries' `main`s, shared with the reference solution | given |
//! | `src/bin/` | `retry-consumer`, `retry-processor` (the seed's terminals) | given |
//!
//! Shared with other labs, in `harness`: the backoff policies (`harness::backoff`),
//! the retry headers (`harness::retry`), the dead-letter format
//! (`harness::dead_letter`).

use std::future::Future;

pub mod extension;
pub mod failed;
pub mod paused;
pub mod pipeline;
pub mod retry_consumer;
pub mod retry_processor;
pub mod runner;
pub mod running;
pub mod stats;

/// The parts of the lab a student writes. The starter (`exercise::Starter`) and
/// the reference solution each implement it, and everything given is generic over
/// it, so the two can never drift apart on anything but the exercise.
pub trait Exercise: Send + Sync + 'static {
    /// A payment's attempt failed, on the live topic (level 0) or on a retry
    /// level: send it where it belongs, then commit.
    fn handle_failure(
        failed: failed::Failed<'_>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// A retry level read a record that is not due yet: make it wait.
    fn hold_until_due(
        record: retry_processor::NotYetDue<'_>,
    ) -> impl Future<Output = anyhow::Result<retry_processor::Hold>> + Send;
}
