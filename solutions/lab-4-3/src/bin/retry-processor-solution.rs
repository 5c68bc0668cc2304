//! The reference retry processors (seed 000's `retry_processor.py`): every
//! level in parallel, or one with `--level N`.
//!
//! Delivery guarantee: at-least-once, nothing lost: a level commits only after it
//! processed the payment or its forward was acknowledged. A record that is not
//! due waits in Kafka with its partition paused; the level keeps polling, so a
//! 60 s delay never trips a 10 s `max.poll.interval.ms`. Limits: records of one
//! partition wait in order (head-of-line); due times come from the writer's clock.
//!
//! The code is given, in `kits/lab-4-3/src/runner.rs` (the same as the starter's):
//! nothing to edit in this file. The reference answer is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_3_kit::runner::processor_main::<lab_4_3_solution::Solution>().await
}
