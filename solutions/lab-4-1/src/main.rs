//! `cargo run -p lab-4-1-solution`: Lab 4.1's scenario with the reference lag
//! calculation. Same delivery guarantees and limits as `cargo run -p lab-4-1`.
//!
//! The code is given, in `harness/criteria/lab-4-1/src/run.rs` (the same as the
//! starter's): nothing to edit in this file. The reference answer is in
//! `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_1_criteria::run::run::<lab_4_1_solution::Solution>("solutions/lab-4-1/src/exercise.rs")
        .await
}
