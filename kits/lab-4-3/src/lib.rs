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
//! | where | what | whose |
//! |---|---|---|
//! | `labs/lab-4-3/src/exercise.rs` | [`Exercise::handle_failure`] (routing a failure), [`Exercise::hold_until_due`] (waiting for a record that is not due) | **the student's (graded)** |
//! | `kits/lab-4-3/src/lib.rs` | the [`Exercise`] trait | given |
//! | `kits/lab-4-3/src/failed.rs` | [`failed::Failed`]: the toolbox for routing a failed payment | given (read it) |
//! | `kits/lab-4-3/src/retry_consumer.rs` | the main consumer on the live topic (seed's `retry_consumer.py`): Lab 4.6's windowed poll loop, up to [`retry_consumer::WINDOW`] records in flight per partition | given (read it) |
//! | `kits/lab-4-3/src/record.rs` | one record's life in its own task, on the live topic or a level: the attempt, your `handle_failure`, finished or tried again after a rewind | given (read it) |
//! | `kits/lab-4-3/src/settlement.rs` | what the toolbox saw a `handle_failure` call do (`commit` finishes the record in its window, `rewind` leaves it to its task) | given |
//! | `kits/lab-4-3/src/retry_processor.rs` | one level's processor: its setup, [`retry_processor::NotYetDue`] and [`retry_processor::Hold`] (seed's `retry_processor.py`) | given (read it) |
//! | `kits/lab-4-3/src/level_loop.rs` | a level's poll loop: which records start, which are held in Kafka, which wait in memory | given (read it) |
//! | `kits/lab-4-3/src/due_soon.rs` | the records a level keeps in memory for their last moments before they are due | given |
//! | `kits/lab-4-3/src/paused.rs` | the partitions a level has paused, and when to resume each | given |
//! | `kits/lab-4-3/src/pipeline.rs` | topic names, groups, timeouts, producers, pausing | given |
//! | `kits/lab-4-3/src/stats.rs` | the counters of one process (progress line, report) | given |
//! | `kits/lab-4-3/src/exercise_time.rs` | how long each call into your code took of its own (a level polls nothing during `hold_until_due`; a record in `handle_failure` holds its partition's commit) | given |
//! | `kits/lab-4-3/src/worker.rs` | what one worker (the consumer or a level) works with, and how it reports an outcome | given |
//! | `kits/lab-4-3/src/running.rs` | the consumer and the levels as tasks you can start, kill and restart | given |
//! | `kits/lab-4-3/src/extension.rs` | the hooks a later lab fills (Lab 4.4: parking a failed replay, metrics) | given |
//! | `kits/lab-4-3/src/runner.rs` | the `retry-consumer` and `retry-processor` binaries' `main`s (the seed's terminals) | given |
//! | `harness/criteria/lab-4-3/src/` | the run the criteria use (`scenario.rs`, `settled.rs`), `thresholds.rs`, `lateness.rs`, `paths.rs`, `verdicts.rs`, the report and checklist (`report.rs`), and `cargo run -p lab-4-3` (`run.rs`) | the grader's |
//!
//! The student's crate holds only `exercise.rs` (plus one-line binaries that call
//! into this kit and the criteria), so the grader can take that one file from a
//! checkout and grade it in a pristine tree (`grade --submission`). What the topics
//! *should* show lives with the grader, not here, so the checklist `cargo run`
//! prints and the grade come from the same code.
//!
//! Shared with other labs, in `harness` (`harness/runtime/src/`): the backoff
//! policies (`harness::backoff`), the retry headers (`harness::retry`), the
//! dead-letter format (`harness::dead_letter`).

use std::future::Future;

mod due_soon;
pub mod exercise_time;
pub mod extension;
pub mod failed;
mod level_loop;
pub mod paused;
pub mod pipeline;
mod record;
pub mod retry_consumer;
pub mod retry_processor;
pub mod runner;
pub mod running;
mod settlement;
pub mod stats;
mod worker;

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
