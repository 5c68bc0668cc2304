//! Reference solution of Lab 4.3's two tasks.

use lab_4_3_kit::failed::{DlqReason, Failed};
use lab_4_3_kit::retry_processor::{Hold, NotYetDue};
use lab_4_3_kit::Exercise;

pub struct Solution;

impl Exercise for Solution {
    async fn handle_failure(failed: Failed<'_>) -> anyhow::Result<()> {
        // Route by what the failure is (seeds 002 and 003): retrying a permanent
        // failure or a poison pill only delays the inevitable and burns a bank call
        // per level; a transient one gets the next level, until there is none.
        let retry = if failed.error().is_retryable() {
            failed.next_retry()
        } else {
            None
        };
        let sent = match &retry {
            Some(hop) => failed.send_to_retry(hop).await,
            None if failed.error().is_retryable() => {
                failed.send_to_dlq(DlqReason::RetriesExhausted).await
            }
            None => failed.send_to_dlq(DlqReason::NotRetryable).await,
        };
        match sent {
            Ok(()) => {
                // The broker has the forward: now, and only now, may the offset
                // move past the record. A crash right here forwards it twice on
                // restart: a duplicate, never a loss.
                if retry.is_none() {
                    failed.report_dead_lettered().await?;
                }
                failed.commit()
            }
            Err(_) => {
                // No ack, no commit: rewinding brings the record back after a short
                // back-off on its partition only, instead of losing it. (The
                // toolbox has already logged seed 001's "CRITICAL: failed to
                // send ..., will be retried" line.)
                failed.rewind()
            }
        }
    }

    async fn hold_until_due(record: NotYetDue<'_>) -> anyhow::Result<Hold> {
        // Pause, don't sleep (seed 002): the poll loop keeps running, so the level
        // stays in its group and its other partitions keep flowing. Seeking back
        // leaves the record in Kafka; the level resumes the partition when it is due.
        record.pause_partition()?;
        record.seek_back()?;
        Ok(Hold::UntilDue)
    }
}
