//! `cargo run -p lab-4-5-solution`: Lab 4.5's scenario with the reference
//! solution. Same delivery guarantee and limits as `cargo run -p lab-4-5`.
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
