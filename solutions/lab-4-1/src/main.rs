//! `cargo run -p lab-4-1-solution`: Lab 4.1's scenario with the reference lag
//! calculation. Same delivery guarantees and limits as `cargo run -p lab-4-1`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_1_criteria::run::run::<lab_4_1_solution::Solution>("solutions/lab-4-1/src/exercise.rs")
        .await
}
