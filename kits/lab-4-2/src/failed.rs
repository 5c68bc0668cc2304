//! [`Failed`]: the toolbox `Exercise::handle_failure` gets for one failed record:
//! its dead letter, the acknowledged DLQ send, the outcome report, commit and rewind.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use harness::clock::now_ms;
use harness::dead_letter::{DeadLetter, FailureContext};
use harness::gateway::PaymentError;
use harness::measure::rebalance::ObservedContext;
use harness::outcomes::{payment_id_of, Outcome, OutcomeReporter, OutcomeStatus};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Offset;

use crate::config::DlqConsumerConfig;
use crate::stats::DlqStats;

/// Everything `handle_failure` may need about one failed record, and the tools
/// to act on it.
pub struct Failed<'a> {
    pub message: &'a BorrowedMessage<'a>,
    pub error: &'a PaymentError,
    /// Processing attempts so far: 1, unless the record came back after a dead
    /// letter that was not acknowledged.
    pub attempts: u32,
    pub first_failure_ms: i64,
    pub(crate) consumer: &'a StreamConsumer<ObservedContext>,
    pub(crate) dlq: &'a FutureProducer,
    pub(crate) reporter: &'a OutcomeReporter,
    pub(crate) config: &'a DlqConsumerConfig,
    pub(crate) stats: &'a DlqStats,
    pub(crate) rewound: &'a AtomicBool,
    /// µs spent waiting for the broker in the calls below (see `failure_handling_us`).
    pub(crate) waited_us: &'a AtomicU64,
}

impl Failed<'_> {
    /// The dead-letter record of this failure (see `harness::dead_letter`).
    pub fn dead_letter(&self) -> DeadLetter {
        DeadLetter::from_message(
            self.message,
            self.error,
            &FailureContext {
                consumer_group: &self.config.group_id,
                attempts: self.attempts,
                first_failure_ms: self.first_failure_ms,
                last_failure_ms: now_ms(),
            },
        )
    }

    /// Produce `dead` to the DLQ topic, keyed by the original key, and wait for
    /// the broker's acknowledgement. `Ok((partition, offset))` means the broker
    /// has it; `Err` means it may not.
    pub async fn send_to_dlq(&self, dead: &DeadLetter) -> anyhow::Result<(i32, i64)> {
        let value = dead.to_json();
        let mut record = FutureRecord::to(&self.config.dlq_topic)
            .payload(&value)
            .headers(dead.kafka_headers());
        if let Some(key) = self.message.key() {
            record = record.key(key);
        }
        let started = Instant::now();
        let sent = self.dlq.send(record, Duration::from_secs(10)).await;
        self.waited_since(started);
        match sent {
            Ok(delivery) => {
                self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    target: "payment",
                    "sent to DLQ | payment {} | error {}: {} | retry count {}",
                    payment_id_of(self.message),
                    dead.error_type,
                    dead.error_reason,
                    dead.retry_count
                );
                Ok((delivery.partition, delivery.offset))
            }
            Err((error, _)) => {
                self.stats.dlq_send_failures.fetch_add(1, Ordering::Relaxed);
                let error =
                    anyhow::anyhow!("DLQ {} did not acknowledge: {error}", self.config.dlq_topic);
                // Seed 001's CRITICAL line. "Will be retried" is the rule: do not
                // commit, rewind (see `Exercise::handle_failure`).
                tracing::error!(
                    target: "CRITICAL",
                    "failed to send payment {} to DLQ, will be retried once rewound (do not commit): {error:#}",
                    payment_id_of(self.message)
                );
                Err(error)
            }
        }
    }

    /// Tell the graders (the outcomes topic) this payment was dead-lettered.
    pub async fn report_dead_lettered(&self) -> anyhow::Result<()> {
        self.report(OutcomeStatus::DeadLettered).await
    }

    /// Tell the graders this payment was skipped: committed past, not dead-lettered.
    pub async fn report_skipped(&self) -> anyhow::Result<()> {
        self.report(OutcomeStatus::Skipped).await
    }

    async fn report(&self, status: OutcomeStatus) -> anyhow::Result<()> {
        let outcome = Outcome::for_message(
            self.message,
            status,
            self.attempts,
            Some(self.error.to_string()),
            &self.config.member,
        );
        let started = Instant::now();
        let reported = self.reporter.report(&outcome).await;
        self.waited_since(started);
        reported
    }

    fn waited_since(&self, started: Instant) {
        self.waited_us
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    /// Commit past the failed record, so this group does not consume it again. The
    /// commit is asynchronous: if it is lost (a rebalance, a crash), the record is
    /// consumed again, never skipped.
    pub fn commit(&self) -> anyhow::Result<()> {
        self.consumer
            .commit_message(self.message, CommitMode::Async)
            .context("committing past the failed record")
    }

    /// Seek this partition back to the failed record: it will be consumed (and
    /// processed) again, after a back-off during which only this partition is
    /// paused. Other partitions are not affected.
    pub fn rewind(&self) -> anyhow::Result<()> {
        self.consumer
            .seek(
                self.message.topic(),
                self.message.partition(),
                Offset::Offset(self.message.offset()),
                Duration::from_secs(5),
            )
            .context("rewinding to the failed record")?;
        self.rewound.store(true, Ordering::Relaxed);
        Ok(())
    }

    pub fn message_topic(&self) -> &str {
        self.message.topic()
    }

    pub fn message_partition(&self) -> i32 {
        self.message.partition()
    }

    pub fn message_offset(&self) -> i64 {
        self.message.offset()
    }

    /// The consumer's settings (topic names, group, member).
    pub fn config(&self) -> &DlqConsumerConfig {
        self.config
    }
}
