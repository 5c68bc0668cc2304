//! `cargo run -p lab-4-1-solution`: Lab 4.1's scenario with the reference lag
//! calculation. Same delivery guarantees and limits as `cargo run -p lab-4-1`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_1::runner::run(
        lab_4_1_solution::lag::consumer_lag,
        "solutions/lab-4-1/src/lag.rs",
    )
    .await
}
