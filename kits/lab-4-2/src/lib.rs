//! # Lab 4.2: the dead letter queue (seed 000 Lab 4.2, with seeds 001 and 003)
//!
//! One poison pill must not block a partition, and must not be lost either. The
//! DLQ consumer processes each payment once; a failure becomes a dead-letter record
//! on `<topic>-dlq`, and the offset is committed only after the broker has it.
//!
//! ## Layout
//!
//! | where | what | whose |
//! |---|---|---|
//! | `labs/lab-4-2/src/exercise.rs` | [`Exercise::handle_failure`] (what to do with a failed record), [`Exercise::tally`] (how the analyzer counts) | **the student's (graded)** |
//! | `kits/lab-4-2/src/lib.rs` | the [`Exercise`] trait | given |
//! | `kits/lab-4-2/src/dlq_consumer.rs` | the consumer: Lab 4.6's windowed poll loop, the DLQ producer, a consumer as a task | given (read it) |
//! | `kits/lab-4-2/src/record.rs` | one record's task: the gateway, then its report or your `handle_failure`, then finished or handled again after a rewind | given (read it) |
//! | `kits/lab-4-2/src/config.rs`, `stats.rs` | a consumer's settings, and the counters it keeps | given |
//! | `kits/lab-4-2/src/failed.rs` | the [`failed::Failed`] toolbox `handle_failure` gets | given (read it) |
//! | `kits/lab-4-2/src/analyzer.rs` | reading the DLQ from the beginning until drained; table and JSON | given |
//! | `kits/lab-4-2/src/runner.rs` | the `dlq-consumer` and `dlq-analyzer` binaries' `main`s (the seed's terminals) | given |
//! | `harness/criteria/lab-4-2/src/` | the measured run (`scenario.rs`), its thresholds and checklist, and `cargo run -p lab-4-2` (`run.rs`) | the grader's |
//!
//! The student's crate holds only `exercise.rs` (plus one-line binaries that call
//! into this kit and the criteria), so the grader can take that one file from a
//! checkout and grade it in a pristine tree (`grade --submission`). The scenario
//! lives with the grader, not here, because the checklist `cargo run` prints must
//! be the very code the graded criteria run.
//!
//! The dead-letter format itself is shared with Labs 4.3 and 4.4, so it lives in
//! `harness::dead_letter` (`harness/runtime/src/dead_letter.rs`; read it: every
//! field is explained there).

use std::future::Future;

pub mod analyzer;
pub mod config;
pub mod dlq_consumer;
pub mod failed;
mod record;
pub mod runner;
pub mod stats;

/// The parts of the lab a student writes. The starter (`exercise::Starter`) and
/// the reference solution each implement it, and everything given is generic over
/// it, so the two can never drift apart on anything but the exercise.
pub trait Exercise: Send + Sync + 'static {
    /// Deal with a payment that failed: dead-letter it, then commit.
    fn handle_failure(
        failed: dlq_consumer::Failed<'_>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Count one DLQ record into the report.
    fn tally(report: &mut analyzer::DlqReport, record: analyzer::DlqRecord);
}
