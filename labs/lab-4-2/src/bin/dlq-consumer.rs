//! `dlq-consumer`: the seed's DLQ consumer terminal. One attempt per payment; a
//! failure is dead-lettered to `<topic>-dlq` (or `KAFKA_DLQ_TOPIC`).
//!
//! Delivery guarantee: at-least-once, nothing lost, once `src/exercise.rs` commits
//! only after the DLQ acknowledged (a crash in between dead-letters a record twice).
//! Limits: no retries; during a DLQ outage the failed record's partition is paused
//! and retried with back-off while other partitions flow, but each failing send
//! holds the loop for up to 5 s.
//!
//! The code is given, in `kits/lab-4-2/src/runner.rs` (shared with the reference
//! solution, so both run the same loop): there is nothing to edit in this file.
//! Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_2_kit::runner::consumer_main::<lab_4_2::Starter>().await
}
