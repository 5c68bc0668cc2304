//! [`Failed`]: the toolbox `Exercise::handle_failure` gets for one failed record:
//! its dead letter, the acknowledged DLQ send, the outcome report, commit and rewind.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use harness::clock::now_ms;
use harness::dead_letter::{DeadLetter, FailureContext};
use harness::gateway::PaymentError;
use harness::outcomes::{payment_id_of, Outcome, OutcomeStatus};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureRecord;

use crate::config::DlqConsumerConfig;
use crate::record::{Settle, Shared};

/// Everything `handle_failure` may need about one failed record, and the tools
/// to act on it.
pub struct Failed<'a> {
    pub message: &'a OwnedMessage,
    pub error: &'a PaymentError,
    /// Processing attempts so far: 1, unless the record came back after a dead
    /// letter that was not acknowledged.
    pub attempts: u32,
    pub first_failure_ms: i64,
    /// The record's ticket in the window, settled once.
    pub(crate) settle: &'a Settle<'a>,
    pub(crate) handling: &'a Handling,
    pub(crate) shared: &'a Shared,
}

/// What one `handle_failure` call did, for the record's task to act on.
#[derive(Default)]
pub(crate) struct Handling {
    pub rewound: AtomicBool,
    /// The DLQ acknowledged a dead letter of this record in this call.
    pub dead_lettered: AtomicBool,
    /// µs spent waiting for the broker in the calls below (see `failure_handling_us`).
    pub waited_us: AtomicU64,
}

impl Failed<'_> {
    /// The dead-letter record of this failure (see `harness::dead_letter`).
    pub fn dead_letter(&self) -> DeadLetter {
        DeadLetter::from_message(
            self.message,
            self.error,
            &FailureContext {
                consumer_group: &self.shared.config.group_id,
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
        let mut record = FutureRecord::to(&self.shared.config.dlq_topic)
            .payload(&value)
            .headers(dead.kafka_headers());
        if let Some(key) = self.message.key() {
            record = record.key(key);
        }
        let started = Instant::now();
        let in_flight = &self.shared.stats.dlq_sends_in_flight;
        in_flight.fetch_add(1, Ordering::Relaxed);
        let sent = self.shared.dlq.send(record, Duration::from_secs(10)).await;
        in_flight.fetch_sub(1, Ordering::Relaxed);
        self.waited_since(started);
        match sent {
            Ok(delivery) => {
                self.handling.dead_lettered.store(true, Ordering::Relaxed);
                self.shared
                    .stats
                    .dead_lettered
                    .fetch_add(1, Ordering::Relaxed);
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
                self.shared
                    .stats
                    .dlq_send_failures
                    .fetch_add(1, Ordering::Relaxed);
                let error = anyhow::anyhow!(
                    "DLQ {} did not acknowledge: {error}",
                    self.shared.config.dlq_topic
                );
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
            &self.shared.config.member,
        );
        let started = Instant::now();
        let reported = self.shared.reporter.report(&outcome).await;
        self.waited_since(started);
        reported
    }

    fn waited_since(&self, started: Instant) {
        self.handling
            .waited_us
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    /// Commit past the failed record, so this group does not consume it again.
    ///
    /// The consumer keeps a window of records in flight per partition, so
    /// "commit past this record" means: this record is finished. The window
    /// commits a partition up to its first record that is not finished yet,
    /// asynchronously, every few milliseconds. If that commit is lost (a
    /// rebalance, a crash), the record is consumed again, never skipped. Call
    /// it once the record is safe (in the DLQ): from the next commit on (once
    /// every record before it is finished too), a crash no longer brings it back.
    pub fn commit(&self) -> anyhow::Result<()> {
        self.settle.finish();
        Ok(())
    }

    /// Make the failed record come back: after a back-off (100 ms, doubling
    /// with each failure, at most 5 s) it is processed again, as attempt
    /// `attempts + 1`, and nothing is committed past it meanwhile.
    ///
    /// No seek is needed for that: the consumer still holds the record in its
    /// window, so it hands it back itself, while the partition's other records
    /// go on (until the partition's window is full: then the partition waits,
    /// which is the back-pressure a DLQ outage should cause). A crash or a
    /// revocation meanwhile lets the record go unfinished: whoever consumes
    /// the partition next reads it again from the committed offset.
    pub fn rewind(&self) -> anyhow::Result<()> {
        self.handling.rewound.store(true, Ordering::Relaxed);
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
        &self.shared.config
    }
}
