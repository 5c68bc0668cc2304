//! `cargo run -p lab-4-3-solution`: Lab 4.3's scenario with the reference
//! solution. Same delivery guarantee and limits as `cargo run -p lab-4-3`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_3_criteria::run::scenario_main::<lab_4_3_solution::Solution>(
        "solutions/lab-4-3/src/exercise.rs",
    )
    .await
}
