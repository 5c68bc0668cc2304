//! The reference DLQ consumer. Delivery guarantee: at-least-once, nothing lost:
//! the offset is committed only after the DLQ acknowledged the dead letter.
//! Limits: no retries; a DLQ outage stalls only the partitions whose records fail.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_2::runner::consumer_main::<lab_4_2_solution::Solution>().await
}
