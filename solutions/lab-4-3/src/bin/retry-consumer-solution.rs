//! The reference retry consumer (seed 000's `retry_consumer.py`).
//!
//! Delivery guarantee: at-least-once, nothing lost: the offset is committed only
//! after the payment is processed, or its retry record or dead letter is
//! acknowledged, and only up to the first record of its partition that is not.
//! Limits: up to 2,000 records in flight per partition (a crash redelivers at
//! most that many per partition); retried payments lose their order, and
//! outcomes are reported in the order records finish.
//!
//! The code is given, in `kits/lab-4-3/src/runner.rs` (the same as the starter's):
//! nothing to edit in this file. The reference answer is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_3_kit::runner::consumer_main::<lab_4_3_solution::Solution>().await
}
