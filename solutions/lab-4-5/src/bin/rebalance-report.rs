//! `rebalance-report`: the per-strategy table of Lab 4.5's README, regenerated.
//! It runs the reference solution's members through the scaled scenario under
//! each strategy, on one broker, and prints the table (and its Markdown).
//!
//! ```text
//! cargo run -p lab-4-5-solution --bin rebalance-report
//! ```
//!
//! (The README's run is a debug build: the members wait on the broker and on
//! their 50 ms of processing, not on the CPU. `--release` works too.)
//!
//! Delivery guarantee of the members: at-least-once; duplicates after a graceful
//! revocation bounded by the records in hand. Limits: the numbers are one run on
//! one machine; compare the strategies with each other, within one run.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_5_criteria::run::report_main::<lab_4_5_solution::Solution>().await
}
