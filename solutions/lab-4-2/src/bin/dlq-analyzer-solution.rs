//! The reference DLQ analyzer. Read-only: it commits nothing and disturbs no
//! group. Limits: reads up to the end offsets seen when it starts.
//!
//! The code is given, in `kits/lab-4-2/src/runner.rs` (the same as the starter's):
//! nothing to edit in this file. The reference answer is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_2_kit::runner::analyzer_main::<lab_4_2_solution::Solution>().await
}
