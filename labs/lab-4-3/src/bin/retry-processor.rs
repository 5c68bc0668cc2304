//! The retry processors with your `src/exercise.rs` (seed 000's
//! `retry_processor.py`): every level, or one with `--level N`.
//!
//! Delivery guarantee, once the exercise is done: at-least-once, nothing lost:
//! a level commits only after it processed the payment or its forward was
//! acknowledged; a record that is not due waits in Kafka, its partition paused.
//! Limits: records of one partition wait in order (head-of-line); due times come
//! from the writer's clock.
//!
//! The code is given, in `kits/lab-4-3/src/runner.rs` (shared with the reference
//! solution, so both run the same loop): there is nothing to edit in this file.
//! Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_3_kit::runner::processor_main::<lab_4_3::Starter>().await
}
