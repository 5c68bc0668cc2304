//! `cargo run -p lab-4-5`: seed 003's rebalancing step, measured. For each
//! strategy in turn, group members run as real processes on a 6-partition topic
//! under a steady producer, scaled 1 → 2 → 3 → 2 → 1 (one leaves gracefully, one
//! static member restarts, one is killed with SIGKILL). It prints who owned which
//! partition when, what each rebalance cost, and the success checklist.
//!
//! Delivery guarantee of the members, once `src/exercise.rs` is right:
//! at-least-once (offsets are committed after the outcome is acknowledged), with
//! duplicates bounded by the records in hand at a revocation. (The starter can
//! leave partitions unprocessed.) Limits: what a member killed with SIGKILL
//! processed since its last periodic commit is redone by the next owner.
//!
//! The code is given, in `harness/criteria/lab-4-5/src/run.rs` (the grader's
//! judgement, so the checklist it prints is the code that grades you): there is
//! nothing to edit in this file. Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_5_criteria::run::scenario_main::<lab_4_5::Starter>("labs/lab-4-5/src/exercise.rs").await
}
