//! The reference DLQ consumer. Delivery guarantee: at-least-once, nothing lost:
//! the offset is committed only after the DLQ acknowledged the dead letter.
//! Limits: no retries; during a DLQ outage the consumer backs off and retries the
//! failed record, so nothing else moves until the DLQ is back.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_2::runner::consumer_main::<lab_4_2_solution::Solution>().await
}
