//! The reference retry consumer (seed 000's `retry_consumer.py`).
//!
//! Delivery guarantee: at-least-once, nothing lost: the offset is committed only
//! after the payment is processed, or its retry record or dead letter is
//! acknowledged. Limits: one record at a time; each forward waits for its ack;
//! retried payments lose their order within the partition.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_3_kit::runner::consumer_main::<lab_4_3_solution::Solution>().await
}
