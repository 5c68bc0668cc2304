//! The reference DLQ analyzer. Read-only: it commits nothing and disturbs no
//! group. Limits: reads up to the end offsets seen when it starts.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_2_kit::runner::analyzer_main::<lab_4_2_solution::Solution>().await
}
