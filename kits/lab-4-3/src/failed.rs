//! [`Failed`]: a payment whose attempt just failed, and the tools to route it.
//! The retry consumer (level 0, the live topic) and every retry level hand their
//! failures to [`crate::Exercise::handle_failure`] with one of these.

use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Duration;

use harness::backoff::BackoffPolicy;
use harness::clock::now_ms;
use harness::dead_letter::{DeadLetter, FailureContext};
use harness::gateway::PaymentError;
use harness::headers::raw_headers;
use harness::outcomes::OutcomeStatus;
use harness::retry::{RetryState, FAILED_ATTEMPTS, FINAL_FAILURE};
use rdkafka::message::{Header, Message, OwnedMessage};
use rdkafka::producer::FutureRecord;

use crate::pipeline::PipelineStats;
use crate::record::Settle;
use crate::settlement::Handled;
use crate::worker::Worker;

/// Why a payment goes to the DLQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlqReason {
    /// Permanent or poison: retrying cannot help, so it goes straight there.
    NotRetryable,
    /// Retryable, but the last level failed too (seed 000: `final-failure: true`).
    RetriesExhausted,
}

/// Where a retry goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryHop {
    /// 1 for `<topic>-retry-1`, and so on.
    pub level: u32,
    pub topic: String,
    /// How long the record waits there before it is tried again.
    pub delay: Duration,
}

/// A payment whose attempt failed, with everything needed to route it.
pub struct Failed<'a> {
    pub(crate) message: &'a OwnedMessage,
    /// 0: the live topic (the retry consumer); N: retry level N.
    pub(crate) level: u32,
    pub(crate) state: Option<&'a RetryState>,
    /// Attempts so far and the last error (the starter's in-place retries change them).
    pub(crate) attempt: Mutex<(u32, PaymentError)>,
    pub(crate) first_failure_ms: i64,
    pub(crate) worker: &'a Worker<'a>,
    /// The record's ticket in its consumer's window: `commit` finishes it.
    pub(crate) settle: &'a Settle<'a>,
    /// What the toolbox saw this call do, for the worker's books.
    pub(crate) handled: &'a Handled,
}

impl Failed<'_> {
    /// Why the last attempt failed. [`PaymentError::is_retryable`] says whether
    /// another attempt could help (seeds 002 and 003: only transient errors).
    pub fn error(&self) -> PaymentError {
        self.attempt_state().1.clone()
    }

    /// Attempts this payment has had so far, the failed one included.
    pub fn attempts(&self) -> u32 {
        self.attempt_state().0
    }

    /// Where the failed attempt ran: 0 on the live topic, N on retry level N.
    pub fn level(&self) -> u32 {
        self.level
    }

    /// The backoff policy: one retry level per allowed retry.
    pub fn policy(&self) -> &BackoffPolicy {
        &self.worker.pipeline.policy
    }

    /// How long the policy says to wait before trying again in place, or `None`
    /// when it allows no more tries (Lab 4.1's way; the starter uses it).
    pub fn delay_before_next_try(&self) -> Option<Duration> {
        self.policy().delay(self.attempts(), &mut rand::rng())
    }

    /// The next retry level and its delay, or `None` after the last level: then
    /// the payment belongs in the DLQ.
    pub fn next_retry(&self) -> Option<RetryHop> {
        let level = self.level + 1;
        let delay = self.policy().delay(level, &mut rand::rng())?;
        Some(RetryHop {
            level,
            topic: self.worker.pipeline.retry_topic(level),
            delay,
        })
    }

    /// Forward the record to `hop`'s retry topic and wait for the broker's ack.
    /// The retry record is the original, byte for byte (key, value, headers),
    /// plus the retry headers (`harness::retry`). `Err` means the broker may not
    /// have it: do not commit.
    pub async fn send_to_retry(&self, hop: &RetryHop) -> anyhow::Result<()> {
        let failed_at = now_ms();
        let error = self.error().to_string();
        let state = match self.state {
            None => RetryState::first(self.message, &error, failed_at, hop.delay),
            Some(state) => state.next(&error, failed_at, hop.delay),
        };
        let headers = raw_headers(self.message).unwrap_or_else(|problem| {
            tracing::warn!(
                "{}: original headers not copied to the retry record: {problem}",
                self.describe()
            );
            Vec::new()
        });
        let mut record = FutureRecord::to(&hop.topic)
            .headers(state.headers(&headers))
            // The retry tier's clock starts here: it waits until this + delay.
            .timestamp(failed_at);
        if let Some(value) = self.message.payload() {
            record = record.payload(value);
        }
        if let Some(key) = self.message.key() {
            record = record.key(key);
        }
        self.forward(record, "the retry", &hop.topic).await?;
        tracing::warn!(
            target: "payment",
            "payment {} will retry in {:?} (retry {}/{}) via {}",
            self.payment_id(),
            harness::clock::whole_ms(hop.delay),
            hop.level,
            self.worker.pipeline.levels(),
            hop.topic
        );
        Handled::note(&self.handled.forwarded);
        self.worker.pipeline.observe(|o| o.retried(hop.level));
        let stats = self.worker.stats;
        PipelineStats::count(&stats.sent_to_level, hop.level);
        PipelineStats::count(&stats.done_at_level, self.level);
        Ok(())
    }

    /// The parking topic, when this record is a replay of this pipeline's DLQ or
    /// parking topic (it carries `harness::replay::REPLAY_ID` and a
    /// `REPLAYED_FROM_TOPIC` naming one of them) and the pipeline parks failed
    /// replays (Lab 4.4). A replay that fails again must not go back into the DLQ: the next
    /// replay would pick it up, and round it would go.
    fn parking_topic(&self) -> Option<&str> {
        let pipeline = self.worker.pipeline;
        let parking = pipeline.extensions.parking_topic.as_deref()?;
        // A replay names the topic it came from; only one of ours counts, so a
        // stray `replay-id` header on a first delivery cannot hide a payment in
        // the parking topic.
        let from =
            harness::headers::header_value(self.message, harness::replay::REPLAYED_FROM_TOPIC)?;
        let ours = from == pipeline.dlq_topic.as_bytes() || from == parking.as_bytes();
        (ours && harness::replay::is_replay(self.message)).then_some(parking)
    }

    /// Dead-letter the record (`harness::dead_letter`, pointing at where the
    /// payment first was) and wait for the DLQ's ack. Its headers add
    /// `final-failure: true` for [`DlqReason::RetriesExhausted`] and the attempt
    /// count. A replay that failed again goes to the parking topic instead, in
    /// the same format (see [`Extensions::parking_topic`](crate::extension::Extensions::parking_topic)). `Err` means the topic
    /// may not have it: do not commit.
    pub async fn send_to_dlq(&self, reason: DlqReason) -> anyhow::Result<()> {
        let attempts = self.attempts();
        let mut dead = DeadLetter::from_message(
            self.message,
            &self.error(),
            &FailureContext {
                consumer_group: self.worker.group,
                attempts,
                first_failure_ms: self.first_failure_ms,
                last_failure_ms: now_ms(),
            },
        );
        if let Some(state) = self.state {
            dead = dead.with_retry_origin(state);
        }
        let value = dead.to_json();
        let attempts_text = attempts.to_string();
        let final_failure = if reason == DlqReason::RetriesExhausted {
            "true"
        } else {
            "false"
        };
        let headers = dead
            .kafka_headers()
            .insert(Header {
                key: FINAL_FAILURE,
                value: Some(final_failure),
            })
            .insert(Header {
                key: FAILED_ATTEMPTS,
                value: Some(attempts_text.as_str()),
            });
        let parking = self.parking_topic();
        let topic = parking.unwrap_or(&self.worker.pipeline.dlq_topic);
        let mut record = FutureRecord::to(topic).payload(&value).headers(headers);
        if let Some(key) = self.message.key() {
            record = record.key(key);
        }
        let what = if parking.is_some() {
            "the parking topic"
        } else {
            "DLQ"
        };
        self.forward(record, "the dead letter", what).await?;
        Handled::note(&self.handled.dead_lettered);
        let context = format!(
            "payment {} | error {}: {} | retry count {}",
            self.payment_id(),
            dead.error_type,
            dead.error_reason,
            dead.retry_count
        );
        match parking {
            None => tracing::error!(target: "payment", "sent to DLQ | {context}"),
            Some(parking) => {
                tracing::error!(target: "payment", "replay failed again, parked in {parking} | {context}")
            }
        }
        let stats = self.worker.stats;
        // A parked replay is not a dead letter (Lab 4.4's metrics count it).
        if parking.is_none() {
            stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
        }
        PipelineStats::count(&stats.done_at_level, self.level);
        Ok(())
    }

    /// Produce `record` and wait for the broker's ack. `Err` (counted in the
    /// stats, and logged as seed 001's CRITICAL line) means the broker may not
    /// have it. `to` names the destination in that line ("DLQ", a topic).
    async fn forward<K, P>(
        &self,
        record: FutureRecord<'_, K, P>,
        what: &str,
        to: &str,
    ) -> anyhow::Result<()>
    where
        K: rdkafka::message::ToBytes + ?Sized + Sync,
        P: rdkafka::message::ToBytes + ?Sized + Sync,
    {
        let topic = record.topic.to_string();
        let sent = self.worker.producer.send(record, Duration::from_secs(10));
        match crate::exercise_time::toolbox_wait(sent).await {
            Ok(_) => Ok(()),
            Err((error, _)) => {
                PipelineStats::count(&self.worker.stats.forward_failures_at_level, self.level);
                let error = anyhow::anyhow!("{topic} did not acknowledge {what}: {error}");
                // "Will be retried" is the rule: do not commit, rewind (see
                // `Exercise::handle_failure`).
                tracing::error!(
                    target: "CRITICAL",
                    "failed to send payment {} to {to}, will be retried once rewound (do not commit): {error:#}",
                    self.payment_id()
                );
                Err(error)
            }
        }
    }

    /// Tell the graders (the outcomes topic) this payment was dead-lettered (or,
    /// for a replay, parked).
    pub async fn report_dead_lettered(&self) -> anyhow::Result<()> {
        let status = match self.parking_topic() {
            Some(_) => OutcomeStatus::Parked,
            None => OutcomeStatus::DeadLettered,
        };
        let report = self.worker.report(
            self.message,
            self.state,
            status,
            self.attempts(),
            Some(self.error().to_string()),
        );
        crate::exercise_time::toolbox_wait(report).await
    }

    /// Tell the graders this payment was processed after all.
    pub async fn report_processed(&self) -> anyhow::Result<()> {
        self.worker.stats.processed.fetch_add(1, Ordering::Relaxed);
        Handled::note(&self.handled.processed);
        tracing::info!(
            target: "payment",
            "payment {} processed (attempt {})",
            self.payment_id(),
            self.attempts()
        );
        let report = self.worker.report(
            self.message,
            self.state,
            OutcomeStatus::Processed,
            self.attempts(),
            None,
        );
        crate::exercise_time::toolbox_wait(report).await
    }

    /// Call the gateway once more, right now. `true` if it worked. (Lab 4.1's
    /// way: the caller decides how long to wait first, and blocks while it does.)
    pub async fn try_again(&self) -> bool {
        let attempt = self.attempts() + 1;
        let call = self
            .worker
            .pipeline
            .gateway
            .process(self.message.payload(), attempt);
        let result = crate::exercise_time::toolbox_wait(call).await;
        let mut state = self.attempt_state();
        state.0 = attempt;
        if let Err(error) = &result {
            state.1 = error.clone();
        }
        result.is_ok()
    }

    /// Commit past the failed record, so this group does not consume it again.
    /// This marks the record finished: its partition's window commits every
    /// record up to the first unfinished one, within a few ms, asynchronously.
    /// If that commit is lost (a rebalance, a crash), the record is consumed
    /// again, never skipped. (It cannot fail today; the `Result` leaves room
    /// for a settlement that can.)
    pub fn commit(&self) -> anyhow::Result<()> {
        self.settle.finish();
        Ok(())
    }

    /// Hand the failed record back: nothing is committed past it, and it is
    /// processed again after a back-off that grows with each rewind. Only this
    /// record waits (its task does): the partition's other records go on, and
    /// its commit stops at this one meanwhile.
    pub fn rewind(&self) -> anyhow::Result<()> {
        Handled::note(&self.handled.rewound);
        Ok(())
    }

    fn attempt_state(&self) -> std::sync::MutexGuard<'_, (u32, PaymentError)> {
        // Never held across an await, so a poisoned lock can only mean a panic
        // elsewhere; the data is still consistent.
        self.attempt
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The payment's id (the record's key), for log lines.
    pub fn payment_id(&self) -> String {
        harness::outcomes::payment_id_of(self.message)
    }

    /// `payments-retry-2/1@17 (pay-42-7)`, for log lines.
    pub fn describe(&self) -> String {
        format!(
            "{}/{}@{} ({})",
            self.message.topic(),
            self.message.partition(),
            self.message.offset(),
            harness::outcomes::payment_id_of(self.message)
        )
    }
}
