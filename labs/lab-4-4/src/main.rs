//! `cargo run -p lab-4-4`: a bug sends every JPY payment to the DLQ; the bug is
//! fixed, the DLQ replayed (twice: the second must do nothing) and purged, and a
//! report checks every payment against the ground truth.
//!
//! Delivery guarantee: the pipeline is at-least-once (Lab 4.3); a replay sends
//! each dead letter once per journal entry, so a crash between a replay's ack
//! and its journal record replays that one again. Limits: one replay or purge at
//! a time per service; purge needs a real broker (the embedded mock has no
//! DeleteRecords).
//!
//! The code is given, in `harness/criteria/lab-4-4/src/run.rs` (the grader's
//! judgement, so the checklist it prints is the code that grades you): there is
//! nothing to edit in this file. Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_4_criteria::run::scenario_main::<lab_4_4::Starter>("labs/lab-4-4/src/exercise.rs").await
}
