//! YOUR TASKS (graded). Two functions, and the rest of the lab is given.
//!
//! 1. [`Starter::handle_failure`]: what the DLQ consumer does with a payment that
//!    failed. Right now it does what Lab 4.1 did after its last attempt: commit to
//!    skip, and the payment is lost. Make it dead-letter the record instead, and
//!    commit **only after the broker acknowledged the dead letter**.
//! 2. [`Starter::tally`]: how the DLQ analyzer counts one DLQ record.
//!
//! Check your work:  cargo grade lab-4-2

use lab_4_2_kit::analyzer::{DlqRecord, DlqReport};
use lab_4_2_kit::dlq_consumer::Failed;
use lab_4_2_kit::Exercise;

/// Your implementation.
pub struct Starter;

impl Exercise for Starter {
    async fn handle_failure(failed: Failed<'_>) -> anyhow::Result<()> {
        // TODO(lab-4-2, step 2): send the failed record to the dead letter queue.
        //
        // `failed` gives you everything you need:
        //   failed.dead_letter()            the dead-letter record (harness::dead_letter::DeadLetter)
        //   failed.send_to_dlq(&dead).await produce it and wait for the broker's ack (Err if not acked)
        //   failed.report_dead_lettered()   tell the graders (outcomes topic) it was dead-lettered
        //   failed.commit()                 commit past the failed record (it is finished: the
        //                                   consumer commits up to its first unfinished record)
        //   failed.rewind()                 make the failed record come back: it is handled again
        //                                   after a back-off, and nothing is committed past it
        //
        // The order matters (seed 001: "commit only after the DLQ send succeeded"):
        //   - If the DLQ send fails (send_to_dlq already logged seed 001's
        //     "CRITICAL: failed to send to DLQ, message will be retried"), do NOT commit,
        //     and rewind, so the record is processed again instead of lost.
        //   - Only once the DLQ acknowledged it: report, then commit.
        //
        // What it does now is Lab 4.1's "commit to skip": the payment is lost.
        failed.report_skipped().await?;
        failed.commit()
    }

    fn tally(report: &mut DlqReport, record: DlqRecord) {
        // TODO(lab-4-2, step 3): count every record, by error reason, and by
        // (error type, original partition). A record that is not a dead letter
        // (`record.dead_letter` is Err: another team's format, a truncated write,
        // bytes that are not JSON) must not crash the analyzer: count it in
        // `report.unreadable` instead.
        //
        // What it does now is the seed's analyzer: count by error reason only,
        // and silently ignore anything it cannot read.
        if let Ok(dead) = record.dead_letter {
            report.total += 1;
            *report.by_reason.entry(dead.error_reason).or_default() += 1;
        }
    }
}
