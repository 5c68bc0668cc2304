//! `dlq-analyzer`: reads the DLQ from the beginning, counts by error reason and by
//! error type and original partition, and stops once drained. `--json` for machines.
//!
//! Guarantee: read-only; it commits nothing and disturbs no consumer group.
//! Limits: it reads up to the end offsets seen at start; later records wait for the next run.
//!
//! The code is given, in `kits/lab-4-2/src/runner.rs` (shared with the reference
//! solution, so both run the same loop): there is nothing to edit in this file.
//! Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_2_kit::runner::analyzer_main::<lab_4_2::Starter>().await
}
