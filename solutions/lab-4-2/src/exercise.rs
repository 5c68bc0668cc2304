//! Reference solution of Lab 4.2's two tasks.

use lab_4_2_kit::analyzer::{DlqRecord, DlqReport};
use lab_4_2_kit::dlq_consumer::Failed;
use lab_4_2_kit::Exercise;

pub struct Solution;

impl Exercise for Solution {
    async fn handle_failure(failed: Failed<'_>) -> anyhow::Result<()> {
        let dead = failed.dead_letter();
        match failed.send_to_dlq(&dead).await {
            Ok(_) => {
                // The broker has the dead letter: now, and only now, is it safe to
                // move the offset past the original. A crash right here means the
                // record is dead-lettered twice on restart: a duplicate, never a loss.
                failed.report_dead_lettered().await?;
                failed.commit()
            }
            Err(_) => {
                // Seed 001's rule: without the DLQ's ack, do not commit. Rewinding
                // makes the record come back (handled again after a back-off, while
                // the others keep flowing) instead of being lost. (`send_to_dlq`
                // has already logged seed 001's "CRITICAL: failed to send to DLQ,
                // will be retried" line.)
                failed.rewind()
            }
        }
    }

    fn tally(report: &mut DlqReport, record: DlqRecord) {
        match record.dead_letter {
            Ok(dead) => {
                report.total += 1;
                *report.by_reason.entry(dead.error_reason).or_default() += 1;
                *report
                    .by_type_and_partition
                    .entry(dead.error_type)
                    .or_default()
                    .entry(dead.original_partition)
                    .or_default() += 1;
            }
            // Another team's format, a truncated write, bytes that are not JSON:
            // counted, never a crash.
            Err(_) => report.unreadable += 1,
        }
    }
}
