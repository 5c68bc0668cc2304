//! The reference rebalance-aware member. Delivery guarantee: at-least-once; a
//! revocation finishes the records in hand and commits synchronously, so the
//! next owner redoes nothing but what did not finish in time. Limits: what a
//! member killed with SIGKILL processed since its last periodic commit is redone
//! by the next owner;
//! `--strategy consumer-protocol` needs a real Kafka 4 broker.
//!
//! The code is given, in `kits/lab-4-5/src/runner.rs` (the same as the starter's):
//! nothing to edit in this file. The reference answer is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_5_kit::runner::consumer_main::<lab_4_5_solution::Solution>().await
}
