//! `cargo run -p lab-4-4-solution`: Lab 4.4's incident with the reference
//! solution. Same delivery guarantee and limits as `cargo run -p lab-4-4`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_4_criteria::run::scenario_main::<lab_4_4_solution::Solution>(
        "solutions/lab-4-4/src/exercise.rs",
    )
    .await
}
