//! `cargo run -p lab-4-2-solution`: Lab 4.2's scenario with the reference
//! solution. Same delivery guarantee and limits as `cargo run -p lab-4-2`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_2_criteria::run::scenario_main::<lab_4_2_solution::Solution>(
        "solutions/lab-4-2/src/exercise.rs",
    )
    .await
}
