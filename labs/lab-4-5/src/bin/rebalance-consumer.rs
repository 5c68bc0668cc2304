//! `rebalance-consumer`: one member of a consumer group on `lab-4-5.orders` (or
//! `--instances N` members, each a process), logging every assignment and
//! revocation in one line. Seed 003's Étape 6: start one, start a second while
//! producing, stop one, and watch.
//!
//! Delivery guarantee, once `src/exercise.rs` is right: at-least-once; offsets
//! are committed every 5 s and on every revocation. Limits: what a member killed
//! with SIGKILL processed since its last commit is redone by the next owner;
//! `--strategy consumer-protocol` needs a real Kafka 4 broker.
//!
//! The code is given, in `kits/lab-4-5/src/runner.rs` (shared with the reference
//! solution, so both run the same loop): there is nothing to edit in this file.
//! Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_5_kit::runner::consumer_main::<lab_4_5::Starter>().await
}
