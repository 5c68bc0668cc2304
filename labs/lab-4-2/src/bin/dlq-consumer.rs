//! `dlq-consumer`: the seed's DLQ consumer terminal. One attempt per payment; a
//! failure is dead-lettered to `<topic>-dlq` (or `KAFKA_DLQ_TOPIC`).
//!
//! Delivery guarantee: at-least-once, nothing lost, once `src/exercise.rs` commits
//! only after the DLQ acknowledged (a crash in between dead-letters a record twice).
//! Limits: no retries; a DLQ outage stalls only the partitions whose records fail.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_2::runner::consumer_main::<lab_4_2::Starter>().await
}
