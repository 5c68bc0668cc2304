//! `windowed-consumer`: consumes the lab's topic with a window of records in
//! flight per partition; a failure is dead-lettered to `<topic>-dlq`.
//!
//! Delivery guarantee: at-least-once, nothing lost, once `src/exercise.rs`
//! never commits past an unfinished record (a crash redelivers what was held).
//! Limits: one attempt per payment; a DLQ that stays down fills the partition's
//! window, then its bounded backlog, and the partition pauses until the DLQ is
//! back.
//!
//! The code is given, in `kits/lab-4-6/src/runner.rs` (shared with the reference
//! solution, so both run the same loop): there is nothing to edit in this file.
//! Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_6_kit::runner::consumer_main::<lab_4_6::Starter>().await
}
