//! The reference DLQ consumer. Delivery guarantee: at-least-once, nothing lost:
//! the offset is committed only after the DLQ acknowledged the dead letter.
//! Limits: no retries; during a DLQ outage the failed record's partition is paused
//! and retried with back-off while other partitions flow, but each failing send
//! holds the loop for up to 5 s.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_2_kit::runner::consumer_main::<lab_4_2_solution::Solution>().await
}
