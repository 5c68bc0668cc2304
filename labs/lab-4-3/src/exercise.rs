//! YOUR TASKS (graded). Two functions, and the rest of the lab is given.
//!
//! 1. [`Starter::handle_failure`]: what to do with a payment whose attempt failed.
//!    Right now it does what Labs 4.1 and 4.2 taught so far: retry in place,
//!    sleeping with the record in hand, then dead-letter. Make it non-blocking: route the
//!    failure to a retry topic or the DLQ, and commit only after the broker
//!    acknowledged the forward.
//! 2. [`Starter::hold_until_due`]: what a retry level does with a record that is
//!    not due yet. Right now it sleeps (the seed's `time.sleep(delay_seconds)`).
//!    Make it wait without sleeping.
//!
//! Check your work:  cargo grade lab-4-3

use lab_4_3_kit::failed::{DlqReason, Failed};
use lab_4_3_kit::retry_processor::{Hold, NotYetDue};
use lab_4_3_kit::Exercise;

/// Your implementation.
pub struct Starter;

impl Exercise for Starter {
    async fn handle_failure(failed: Failed<'_>) -> anyhow::Result<()> {
        // TODO(lab-4-3, step 1): route the failure instead of retrying in place.
        //
        // `failed` gives you:
        //   failed.error().is_retryable()     transient (worth retrying) or not (permanent, poison)
        //   failed.next_retry()               Some(hop): the next retry level and its delay;
        //                                     None: no level left, the DLQ it is
        //   failed.send_to_retry(&hop).await  forward the exact record (plus retry headers)
        //                                     to hop.topic, and wait for the broker's ack
        //   failed.send_to_dlq(reason).await  dead-letter it (DlqReason::NotRetryable, or
        //                                     DlqReason::RetriesExhausted: "final-failure: true")
        //   failed.report_dead_lettered()     tell the graders, once the DLQ has it
        //   failed.commit() / failed.rewind() move past the record / get it back later
        //
        // The rules (seeds 002 and 003):
        //   - not retryable -> straight to the DLQ, no retry record;
        //   - retryable     -> the next retry level, or the DLQ (RetriesExhausted) after the last;
        //   - commit only after the forward was acknowledged. If it was not: log it,
        //     do not commit, rewind (the record comes back after a short back-off).
        //
        // What it does now: Lab 4.1's loop with Lab 4.2's DLQ at the end. Every
        // `sleep` below waits with the record in hand. On the retry consumer, which
        // keeps a window of records in flight, it holds the partition's committed
        // offset back and a place in the window (at production rates the window
        // fills within a second, and the partition stops). Retry levels keep the
        // same window, with the same cost. (A sleep in `hold_until_due` is worse: a
        // level calls it before starting a record, so it holds up the level's whole
        // poll loop, and one longer than max.poll.interval.ms throws the level out
        // of its group.)
        while let Some(delay) = failed.delay_before_next_try() {
            tokio::time::sleep(delay).await;
            if failed.try_again().await {
                failed.report_processed().await?;
                return failed.commit();
            }
        }
        // Like the seed's `producer.flush()`, nobody checks that the DLQ has it.
        let _ = failed.send_to_dlq(DlqReason::RetriesExhausted).await;
        failed.report_dead_lettered().await?;
        failed.commit()
    }

    async fn hold_until_due(record: NotYetDue<'_>) -> anyhow::Result<Hold> {
        // TODO(lab-4-3, step 2): wait for the record without sleeping (seed 002:
        // "pause the consumer for that time interval, and then resume").
        //
        // `record` gives you:
        //   record.pause_partition()  stop fetching from this record's partition only
        //   record.seek_back()        make the partition deliver this record again
        //   record.due_ms(), record.remaining()
        // Return Hold::UntilDue once the partition is paused and sought back: the
        // level resumes it at the due time. Return Hold::Waited to have it processed now.
        //
        // What it does now is the seed's `time.sleep(delay_seconds)`: the poll loop
        // stops, every other partition of this level waits too, and a sleep longer
        // than max.poll.interval.ms gets the level thrown out of its group.
        tokio::time::sleep(record.remaining()).await;
        Ok(Hold::Waited)
    }
}
