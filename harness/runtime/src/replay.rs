//! Replaying dead letters (Lab 4.4): the provenance headers a replayed record
//! carries, and the topics a replay uses besides the DLQ.
//!
//! A replayed record is the original record, byte for byte (key, value and
//! headers, rebuilt from the dead letter's base64 fields), plus the headers below.
//! They say where it came from, so that:
//! - the pipeline can tell a replay from a first delivery, and **park** a replay
//!   that fails again instead of dead-lettering it for the next replay to pick up
//!   (a loop that never ends);
//! - an operator can trace a processed payment back to the DLQ record and the
//!   replay run that brought it back.

use rdkafka::Message;

/// Which replay run sent the record, e.g. `replay-1767225600000-3f2a`.
pub const REPLAY_ID: &str = "replay-id";
/// The DLQ topic, partition and offset of the dead letter that was replayed.
pub const REPLAYED_FROM_TOPIC: &str = "replayed-from-topic";
pub const REPLAYED_FROM_PARTITION: &str = "replayed-from-partition";
pub const REPLAYED_FROM_OFFSET: &str = "replayed-from-offset";
/// When the replay run started (ms since the epoch): the same on every record of
/// one run.
pub const REPLAYED_AT_MS: &str = "replayed-at-ms";

/// Every provenance header a replay adds. A grader removes exactly these to get
/// the original headers back.
pub const PROVENANCE_HEADERS: [&str; 5] = [
    REPLAY_ID,
    REPLAYED_FROM_TOPIC,
    REPLAYED_FROM_PARTITION,
    REPLAYED_FROM_OFFSET,
    REPLAYED_AT_MS,
];

/// Where replayed payments that fail again wait for a human: `<topic>-parking`.
pub fn parking_topic(input_topic: &str) -> String {
    format!("{input_topic}-parking")
}

/// The replay journal of a DLQ: one record per dead letter replayed, keyed by its
/// DLQ coordinates (`<dlq>-replayed`).
pub fn journal_topic(dlq_topic: &str) -> String {
    format!("{dlq_topic}-replayed")
}

/// Is `message` a replay (does it carry a `replay-id`)?
pub fn is_replay<M: Message>(message: &M) -> bool {
    crate::headers::header_value(message, REPLAY_ID).is_some()
}
