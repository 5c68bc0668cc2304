//! What the retry consumer and every retry level share: the topic names, the
//! backoff policy, the gateway, how their consumers and producers are set up, and
//! the counters they keep.

pub use crate::extension::{Extensions, PipelineObserver};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use harness::backoff::BackoffPolicy;
use harness::dead_letter::dlq_topic;
use harness::gateway::Gateway;
use harness::measure::rebalance::{ObservedContext, RebalanceLog};
use harness::outcomes::outcomes_topic;
use harness::retry::retry_topic;
use harness::Broker;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;
use rdkafka::ClientConfig;

/// The seed's consumer group for the retry consumer.
/// Partitions of every topic of the pipeline (live, retry levels, DLQ).
pub const PARTITIONS: i32 = 3;

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
    /// two thirds of `max.poll.interval.ms` (the last third is left to decide,
    /// commit or rewind, and poll again), and at most [`FORWARD_TIMEOUT`].
    ///
    /// The member does not poll while it waits, so a forward that outlasts the
    /// interval gets the member thrown out of its group *before* it decides
    /// what to do with the failure: its commit is refused and its partitions
    /// move on without it, whatever it decided. Failing fast keeps that
    /// decision (rewind, never commit) in the member's hands, and keeps a
    /// topic outage from turning into a rebalance storm.
    pub fn forward_timeout(&self) -> Duration {
        (self.max_poll_interval * 2 / 3).min(FORWARD_TIMEOUT)
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

    /// A consumer in `group` with manual commits and this pipeline's timeouts.
    pub fn group_consumer(
        &self,
        broker: &Broker,
        group: &str,
        member: &str,
        rebalances: RebalanceLog,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<StreamConsumer<ObservedContext>> {
        let mut config: ClientConfig = broker.client_config();
        config
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", millis(self.timeouts.session))
            .set("heartbeat.interval.ms", millis(self.timeouts.heartbeat))
            .set(
                "max.poll.interval.ms",
                millis(self.timeouts.max_poll_interval),
            );
        for (key, value) in extra {
            config.set(*key, *value);
        }
        config
            .create_with_context(ObservedContext::new(member, rebalances))
            .with_context(|| format!("creating consumer {member} in group {group}"))
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

/// Counters the consumer and the levels of one process keep, readable while they
/// run (the live progress line, the report).
#[derive(Debug)]
pub struct PipelineStats {
    pub processed: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Records forwarded into each retry level (index = level; 0 unused).
    pub sent_to_level: Vec<AtomicU64>,
    /// Records a level finished with: processed, or forwarded on (index = level).
    pub done_at_level: Vec<AtomicU64>,
    /// Forwards the broker did not acknowledge (each one rewound, not lost).
    pub forward_failures: AtomicU64,
    /// Times a level paused a partition because its head was not due yet.
    pub holds: AtomicU64,
    /// Epoch ms of the first record the retry consumer polled (0: none yet).
    pub first_record_at_ms: AtomicI64,
    /// How late each retry started, in microseconds after its due time (negative:
    /// early, which must never happen).
    lateness_us: Mutex<Vec<i64>>,
}

impl PipelineStats {
    pub fn new(levels: u32) -> PipelineStats {
        let counters = || (0..=levels).map(|_| AtomicU64::new(0)).collect();
        PipelineStats {
            processed: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            sent_to_level: counters(),
            done_at_level: counters(),
            forward_failures: AtomicU64::new(0),
            holds: AtomicU64::new(0),
            first_record_at_ms: AtomicI64::new(0),
            lateness_us: Mutex::new(Vec::new()),
        }
    }

    /// Records waiting at `level` right now, as far as this process knows.
    pub fn waiting_at(&self, level: u32) -> u64 {
        let get = |v: &Vec<AtomicU64>| {
            v.get(level as usize)
                .map(|c| c.load(Ordering::Relaxed))
                .unwrap_or(0)
        };
        get(&self.sent_to_level).saturating_sub(get(&self.done_at_level))
    }

    pub(crate) fn count(counters: &[AtomicU64], level: u32) {
        if let Some(counter) = counters.get(level as usize) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn record_lateness(&self, lateness_us: i64) {
        // Enough for any report; a service that runs for weeks must not grow
        // this list forever.
        const MAX_SAMPLES: usize = 100_000;
        if let Ok(mut samples) = self.lateness_us.lock() {
            if samples.len() < MAX_SAMPLES {
                samples.push(lateness_us);
            }
        }
    }

    /// Every lateness sample so far (µs after the due time).
    pub fn lateness_us(&self) -> Vec<i64> {
        self.lateness_us
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    pub(crate) fn note_first_record(&self, now_ms: i64) {
        let _ = self.first_record_at_ms.compare_exchange(
            0,
            now_ms,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// `processed 54 · retry-1 8 · retry-2 3 · retry-3 1 · DLQ 12`
    pub fn progress_line(&self, levels: u32) -> String {
        let mut line = format!("processed {}", self.processed.load(Ordering::Relaxed));
        for level in 1..=levels {
            line.push_str(&format!(" · retry-{level} {}", self.waiting_at(level)));
        }
        line.push_str(&format!(
            " · DLQ {}",
            self.dead_lettered.load(Ordering::Relaxed)
        ));
        line
    }
}

/// Partitions a worker has paused, and when to resume each one.
///
/// Pausing is how a Kafka consumer waits without sleeping (seeds 002 and 003):
/// the paused partition's fetches stop and anything already fetched from it is
/// dropped, while `poll` keeps being called, so the member stays in its group
/// and every other partition keeps flowing. Paired with a seek back to the
/// waiting record, the record stays in Kafka, not in memory.
#[derive(Debug, Default)]
pub struct PausedPartitions {
    /// partition -> (resume at, the offset it was sought back to)
    paused: std::collections::HashMap<i32, (std::time::Instant, i64)>,
    /// (partition, offset) -> how often that record's forward failed, for the
    /// growing back-off.
    forward_failures: std::collections::HashMap<(i32, i64), u32>,
}

impl PausedPartitions {
    /// Remember that `partition` is paused at `offset` until `resume_at`.
    pub fn insert(&mut self, partition: i32, offset: i64, resume_at: std::time::Instant) {
        self.paused.insert(partition, (resume_at, offset));
    }

    /// Pause `partition` of `topic` until `resume_at`. A partition revoked meanwhile
    /// cannot be paused; its new owner consumes the record again, so that is moot.
    pub fn pause(
        &mut self,
        consumer: &StreamConsumer<ObservedContext>,
        topic: &str,
        partition: i32,
        offset: i64,
        resume_at: std::time::Instant,
    ) {
        let mut list = rdkafka::TopicPartitionList::new();
        list.add_partition(topic, partition);
        match rdkafka::consumer::Consumer::pause(consumer, &list) {
            Ok(()) => self.insert(partition, offset, resume_at),
            Err(error) => eprintln!("⚠️  could not pause {topic}/{partition}: {error}"),
        }
    }

    /// After a failed record was handed to the exercise: if it was rewound (its
    /// forward was not acknowledged), back off on its partition only, longer
    /// with each failure, so a retry topic or DLQ that is down is not hammered
    /// and the other partitions keep flowing. Otherwise its failures are over.
    pub fn after_failure(
        &mut self,
        consumer: &StreamConsumer<ObservedContext>,
        topic: &str,
        partition: i32,
        offset: i64,
        rewound: bool,
    ) {
        if !rewound {
            self.forward_failures.remove(&(partition, offset));
            return;
        }
        let failures = self
            .forward_failures
            .entry((partition, offset))
            .or_insert(0);
        *failures += 1;
        let resume_at = std::time::Instant::now() + BackoffPolicy::redelivery(*failures);
        self.pause(consumer, topic, partition, offset, resume_at);
    }

    /// Resume every partition whose time has come.
    pub fn resume_due(&mut self, consumer: &StreamConsumer<ObservedContext>, topic: &str) {
        let now = std::time::Instant::now();
        self.paused.retain(|&partition, (resume_at, _)| {
            if *resume_at > now {
                return true;
            }
            let mut list = rdkafka::TopicPartitionList::new();
            list.add_partition(topic, partition);
            // Revoked meanwhile: its new owner starts it afresh.
            let _ = rdkafka::consumer::Consumer::resume(consumer, &list);
            false
        });
    }

    /// Is this record one a paused partition will deliver again? (A record fetched
    /// before the pause can still surface once; the seek brings it back anyway.)
    pub fn will_redeliver(&self, partition: i32, offset: i64) -> bool {
        self.paused
            .get(&partition)
            .is_some_and(|&(_, from)| offset >= from)
    }

    /// How long a worker may block in `recv` before a partition is due: at most
    /// `cap`, so the stop flag is seen promptly too.
    pub fn wait_budget(&self, cap: Duration) -> Duration {
        let now = std::time::Instant::now();
        self.paused
            .values()
            .map(|(resume_at, _)| resume_at.saturating_duration_since(now))
            .min()
            .unwrap_or(cap)
            .min(cap)
    }

    pub fn len(&self) -> usize {
        self.paused.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paused.is_empty()
    }
}
