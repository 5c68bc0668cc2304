//! `cargo run -p lab-4-5-solution`: Lab 4.5's scenario with the reference
//! solution. Delivery guarantee of its members: at-least-once, with duplicates
//! after a graceful revocation bounded by the records in hand (each revocation
//! finishes them and commits synchronously). Limits: what a member killed with
//! SIGKILL processed since its last periodic commit is redone by the next owner;
//! on the embedded mock only cooperative-sticky runs.
//!
//! The code is given, in `harness/criteria/lab-4-5/src/run.rs` (the same as the
//! starter's): nothing to edit in this file. The reference answer is in
//! `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_5_criteria::run::scenario_main::<lab_4_5_solution::Solution>(
        "solutions/lab-4-5/src/exercise.rs",
    )
    .await
}
