//! `dlq`: list, show, stats, replay and purge a dead letter queue, straight
//! against Kafka (it works while the service is down).
//!
//! Delivery guarantee of `replay`: each selected dead letter is sent to the first
//! retry topic and, after the ack, written to the replay journal; a rerun skips
//! what the journal has. A crash between the two replays that one record again.
//! Limits: two replays running at once on one DLQ can both send a record (the
//! service serialises its own); `purge` deletes partition prefixes only, and needs
//! a real broker.
//!
//! The code is given, in `kits/lab-4-4/src/tool.rs` (shared with the reference
//! solution, so both run the same tool): there is nothing to edit in this file.
//! Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_4_kit::tool::tool_main::<lab_4_4::Starter>().await
}
