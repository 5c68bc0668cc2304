//! `cargo run -p lab-4-1`: produce payments, run the fragile consumer with 0% and
//! 30% failures, run two of them in one group, and write `problems_observed.md`.
//!
//! Delivery guarantee of the consumer under test: at-most-once for failing
//! payments (they are committed past and lost) and at-least-once for the rest
//! (a member thrown out of its group processes them again). That is the lesson.
//! Limits: works on the embedded broker with no set-up; numbers on a real broker
//! (docker compose or scripts/kafka-local) are the ones to quote.
//!
//! The code is given, in `harness/criteria/lab-4-1/src/run.rs` (the grader's
//! judgement, so the checklist it prints is the code that grades you): there is
//! nothing to edit in this file. Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_1_criteria::run::run::<lab_4_1::Starter>("labs/lab-4-1/src/exercise.rs").await
}
