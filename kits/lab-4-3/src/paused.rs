//! Waiting without sleeping: the partitions a worker has paused, and when to
//! resume each one (seeds 002 and 003).

use std::time::Duration;

use harness::backoff::BackoffPolicy;
use harness::measure::rebalance::ObservedContext;
use rdkafka::consumer::StreamConsumer;

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
            Err(error) => tracing::warn!("could not pause {topic}/{partition}: {error}"),
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

    /// Was this record rewound before (a forward of it not acknowledged)? Then
    /// it is a redelivery, not a record the worker has not seen yet.
    pub fn was_rewound(&self, partition: i32, offset: i64) -> bool {
        self.forward_failures.contains_key(&(partition, offset))
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
