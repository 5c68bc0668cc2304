//! What the retry consumer and every retry level share: the topic names, the
//! backoff policy, the gateway, how their consumers and producers are set up, and
//! the counters they keep.

pub use crate::extension::{Extensions, PipelineObserver};
pub use crate::paused::PausedPartitions;
pub use crate::stats::PipelineStats;
use std::time::Duration;

use anyhow::Context;
use harness::backoff::BackoffPolicy;
use harness::dead_letter::dlq_topic;
use harness::gateway::Gateway;
use harness::outcomes::outcomes_topic;
use harness::retry::retry_topic;
use harness::Broker;
use rdkafka::producer::FutureProducer;

/// Partitions of every topic of the pipeline (live, retry levels, DLQ).
pub const PARTITIONS: i32 = 3;
/// The seed's consumer group for the retry consumer.
pub const CONSUMER_GROUP: &str = "retry-payment-processor";
/// The seed's consumer groups for the levels: `retry-processor-1`, `-2`, `-3`.
pub const PROCESSOR_GROUP_PREFIX: &str = "retry-processor";

/// How quickly the group notices a member that is gone or stuck.
///
/// `max.poll.interval.ms` is the one that matters here: a member that does not
/// poll for that long is thrown out of the group, and its partitions are handed
/// to someone else. A retry tier that *sleeps* until a record is due must set it
/// above its longest delay (seed 000's 60 s), which also means a truly stuck
/// member goes unnoticed for that long. A tier that pauses keeps polling, so it
/// can keep the interval tight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupTimeouts {
    pub session: Duration,
    pub heartbeat: Duration,
    pub max_poll_interval: Duration,
}

impl GroupTimeouts {
    /// For the binaries: 10 s, well below the seed's 60 s level. (librdkafka wants
    /// `max.poll.interval.ms >= session.timeout.ms`, and brokers refuse sessions
    /// below their `group.min.session.timeout.ms`, 6 s by default.)
    pub const PRODUCTION: GroupTimeouts = GroupTimeouts {
        session: Duration::from_secs(10),
        heartbeat: Duration::from_secs(2),
        max_poll_interval: Duration::from_secs(10),
    };

    /// For the graded runs: 3 s, below the scaled 6 s of the last level, so a
    /// sleeping tier is thrown out. Needs `group.min.session.timeout.ms <= 3000`,
    /// which the workshop's brokers (kafka-local, compose, embedded) all allow.
    pub const TIGHT: GroupTimeouts = GroupTimeouts {
        session: Duration::from_secs(3),
        heartbeat: Duration::from_millis(500),
        max_poll_interval: Duration::from_secs(3),
    };

    /// How long a forward (to a retry topic or the DLQ) may wait for its ack:
    /// two thirds of `max.poll.interval.ms`, and at most [`FORWARD_TIMEOUT`].
    ///
    /// Forwards wait in their records' tasks, so the poll loop goes on, but a
    /// revocation waits for them (its drain, `retry_consumer::drain_timeout`)
    /// on the thread that polls, and must end well within the interval, or
    /// the member is thrown out of its group mid-rebalance and its last
    /// commit is refused. Failing fast also reports an unavailable topic in
    /// seconds (the record is rewound, never committed past) instead of
    /// librdkafka's five minutes.
    pub fn forward_timeout(&self) -> Duration {
        (self.max_poll_interval * 2 / 3).min(FORWARD_TIMEOUT)
    }

    /// The consumer properties that set these timeouts.
    pub fn consumer_properties(&self) -> [(&'static str, String); 3] {
        [
            ("session.timeout.ms", millis(self.session)),
            ("heartbeat.interval.ms", millis(self.heartbeat)),
            ("max.poll.interval.ms", millis(self.max_poll_interval)),
        ]
    }
}

/// The longest a forward waits for its ack, with relaxed group timeouts (and
/// for sends outside a poll loop, such as Lab 4.4's replays).
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything one deployment of the pipeline agrees on.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The live topic (seed 000: `payment_requests`).
    pub topic: String,
    pub dlq_topic: String,
    /// Delays already scaled (see [`BackoffPolicy::scaled`]). Its `max_retries` is
    /// the number of retry levels.
    pub policy: BackoffPolicy,
    pub gateway: Gateway,
    pub consumer_group: String,
    /// Level `N` consumes in group `<prefix>-N`.
    pub processor_group_prefix: String,
    pub timeouts: GroupTimeouts,
    /// What later labs plug in (Lab 4.4: parking, metrics); empty in Lab 4.3.
    /// See [`crate::extension`].
    pub extensions: Extensions,
}

impl Pipeline {
    /// The seed's names for everything, around `topic`.
    pub fn new(topic: &str, policy: BackoffPolicy, gateway: Gateway) -> Pipeline {
        Pipeline {
            topic: topic.to_string(),
            dlq_topic: dlq_topic(topic),
            policy,
            gateway,
            consumer_group: CONSUMER_GROUP.to_string(),
            processor_group_prefix: PROCESSOR_GROUP_PREFIX.to_string(),
            timeouts: GroupTimeouts::PRODUCTION,
            extensions: Extensions::default(),
        }
    }

    /// Tell the observer, if there is one.
    pub(crate) fn observe(&self, event: impl FnOnce(&dyn PipelineObserver)) {
        if let Some(observer) = &self.extensions.observer {
            event(observer.as_ref());
        }
    }

    pub fn levels(&self) -> u32 {
        self.policy.max_retries
    }

    pub fn retry_topic(&self, level: u32) -> String {
        retry_topic(&self.topic, level)
    }

    pub fn processor_group(&self, level: u32) -> String {
        format!("{}-{level}", self.processor_group_prefix)
    }

    pub fn outcomes_topic(&self) -> String {
        outcomes_topic(&self.topic)
    }

    /// Every topic the pipeline reads or writes, with partition counts: the live
    /// topic, one per retry level, the DLQ and the outcomes.
    pub fn topics(&self, partitions: i32) -> Vec<(String, i32)> {
        let mut topics = vec![(self.topic.clone(), partitions)];
        topics.extend((1..=self.levels()).map(|level| (self.retry_topic(level), partitions)));
        topics.push((self.dlq_topic.clone(), partitions));
        if let Some(parking) = &self.extensions.parking_topic {
            topics.push((parking.clone(), partitions));
        }
        topics.push((self.outcomes_topic(), 1));
        topics
    }
}

fn millis(duration: Duration) -> String {
    duration.as_millis().to_string()
}

/// The producer for every forward (retry topics and DLQ). `acks=all`, because a
/// forward one broker forgets is a payment lost once the source offset is
/// committed; idempotent, so librdkafka's own retries never duplicate; a short
/// `message.timeout.ms` (`message_timeout`: see [`GroupTimeouts::forward_timeout`]),
/// so an unavailable topic is reported in seconds (and the record rewound)
/// instead of after five minutes; no auto-creation, so a mistyped topic fails
/// instead of quietly filling a topic nobody reads.
pub fn forward_producer(
    broker: &Broker,
    message_timeout: Duration,
) -> anyhow::Result<FutureProducer> {
    broker
        .client_config()
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", millis(message_timeout))
        .set("allow.auto.create.topics", "false")
        .set("topic.metadata.refresh.interval.ms", "2000")
        .set("linger.ms", "0")
        .create()
        .context("creating the forward producer")
}
