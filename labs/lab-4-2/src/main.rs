//! `cargo run -p lab-4-2`: produce payments (20% failures plus poison pills), run
//! the DLQ consumer until every payment is processed or dead-lettered, run a
//! failure-free baseline, analyze the DLQ, and print the success checklist.
//!
//! Delivery guarantee of the consumer under test: at-least-once with nothing lost,
//! once `src/exercise.rs` commits only after the DLQ acknowledged. Limits: one
//! attempt per payment, so transient failures end in the DLQ too (Lab 4.3 fixes that).
//!
//! The code is given, in `harness/criteria/lab-4-2/src/run.rs` (the grader's
//! judgement, so the checklist it prints is the code that grades you): there is
//! nothing to edit in this file. Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_2_criteria::run::scenario_main::<lab_4_2::Starter>("labs/lab-4-2/src/exercise.rs").await
}
