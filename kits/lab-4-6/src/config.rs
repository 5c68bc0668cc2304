//! How to run one windowed consumer: its group, topics, gateway and timeouts.

use std::time::Duration;

use harness::gateway::Gateway;

/// The consumer group, in the seed's style.
pub const DEFAULT_GROUP: &str = "windowed-payment-processor";

/// How long a forward (a dead letter, an outcome report) may wait for its ack
/// before it counts as failed and is tried again in place. Short, so an
/// unavailable DLQ is reported in seconds; below the group's poll interval.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// How to run one windowed consumer.
#[derive(Debug, Clone)]
pub struct WindowedConfig {
    pub topic: String,
    pub dlq_topic: String,
    pub group_id: String,
    pub member: String,
    pub gateway: Gateway,
    /// How often the committable offsets are committed (asynchronously). A
    /// crash redelivers what finished since the last commit, so short.
    pub commit_interval: Duration,
    /// How long a revocation or a shutdown waits for the records in flight to
    /// finish before it commits what is committable and lets the rest go (they
    /// are redelivered: duplicates, never losses).
    pub drain_timeout: Duration,
    /// The group's `session.timeout.ms` and `max.poll.interval.ms`.
    pub session_timeout: Duration,
}

impl WindowedConfig {
    /// Lab 4.6's defaults around `topic`.
    pub fn new(
        topic: &str,
        dlq_topic: &str,
        group_id: &str,
        member: &str,
        gateway: Gateway,
    ) -> Self {
        WindowedConfig {
            topic: topic.to_string(),
            dlq_topic: dlq_topic.to_string(),
            group_id: group_id.to_string(),
            member: member.to_string(),
            gateway,
            commit_interval: Duration::from_millis(20),
            drain_timeout: Duration::from_secs(2),
            session_timeout: Duration::from_secs(10),
        }
    }
}
