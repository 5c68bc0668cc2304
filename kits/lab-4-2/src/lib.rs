//! # Lab 4.2: the dead letter queue (seed 000 Lab 4.2, with seeds 001 and 003)
//!
//! One poison pill must not block a partition, and must not be lost either. The
//! DLQ consumer processes each payment once; a failure becomes a dead-letter record
//! on `<topic>-dlq`, and the offset is committed only after the broker has it.
//!
//! ## Layout
//!
//! | file | what | yours? |
//! |---|---|---|
//! | `src/exercise.rs` | what to do with a failed record; how the analyzer counts | **TODO: graded** |
//! | `src/dlq_consumer.rs` | the consumer loop, the DLQ producer, the [`dlq_consumer::Failed`] toolbox | given |
//! | `src/analyzer.rs` | reading the DLQ from the beginning until drained; table and JSON | given |
//! | `src/scenario.rs` | produce, consume, analyze: the measured run the criteria also use | given |
//! | `src/runner.rs` | the binaries' `main`s, shared with the reference solution | given |
//! | `src/bin/` | `dlq-consumer`, `dlq-analyzer` (the seed's terminals) | given |
//!
//! The dead-letter format itself is shared with Labs 4.3 and 4.4, so it lives in
//! `harness::dead_letter` (read it: every field is explained there).

use std::future::Future;

pub mod analyzer;
pub mod dlq_consumer;
pub mod runner;

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
