//! Tracing payments' paths through the topics: every retry record, dead letter
//! and processing of each payment, and the hops between them.

use std::collections::BTreeMap;
use std::time::Duration;

use harness::backoff::BackoffPolicy;
use harness::dead_letter::DeadLetter;
use harness::headers::header_value;
use harness::outcomes::OutcomeStatus;
use harness::retry::{FINAL_FAILURE, RETRY_COUNT, RETRY_DUE_MS};
use harness::topics::read_all;
use harness::Broker;
use rdkafka::Message;

use crate::settled::Settled;

/// One retry record as the topics show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySeen {
    /// The level whose topic it is on.
    pub level: u32,
    /// Its `retry-count` header, as text.
    pub retry_count: Option<String>,
    /// Its Kafka timestamp: when the attempt before it failed.
    pub written_at_ms: i64,
    pub due_ms: Option<i64>,
}

/// One dead letter as the DLQ shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterSeen {
    pub written_at_ms: i64,
    pub final_failure: Option<String>,
    /// `failed_processing_attempts` from its value (`None`: not a dead letter).
    pub attempts: Option<u32>,
    /// `failed_after_retries` from its value (seed 000 Lab 4.3's field).
    pub failed_after_retries: Option<u32>,
    pub error_type: Option<String>,
}

/// Everything the topics say about one payment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentPath {
    /// In the order they were written.
    pub retries: Vec<RetrySeen>,
    pub dead_letters: Vec<DeadLetterSeen>,
    /// When it was reported processed.
    pub processed_at_ms: Vec<i64>,
}

/// One hop: a retry record, and how long until the payment's next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub level: u32,
    /// When the retry record was written (the attempt before it failed).
    pub written_at_ms: i64,
    pub delay_ms: i64,
    /// `None`: the payment never moved on from here.
    pub waited_ms: Option<i64>,
}

impl PaymentPath {
    /// Each retry record with the time until the payment's next step: its next
    /// retry record, its dead letter, or its processing, whichever came first
    /// after the record was written.
    pub fn hops(&self, policy: &BackoffPolicy) -> Vec<Hop> {
        self.retries
            .iter()
            .map(|retry| {
                let later = |t: &i64| *t >= retry.written_at_ms;
                let next = self
                    .retries
                    .iter()
                    .map(|r| r.written_at_ms)
                    .filter(|t| *t > retry.written_at_ms)
                    .chain(
                        self.dead_letters
                            .iter()
                            .map(|d| d.written_at_ms)
                            .filter(later),
                    )
                    .chain(self.processed_at_ms.iter().copied().filter(later))
                    .min();
                Hop {
                    level: retry.level,
                    written_at_ms: retry.written_at_ms,
                    // The record's own due time says what its delay was (with
                    // jitter, each record draws its own); without one, the
                    // level's longest.
                    delay_ms: retry.due_ms.map_or_else(
                        || {
                            policy
                                .longest_delay(retry.level)
                                .map_or(0, |d| d.as_millis() as i64)
                        },
                        |due| due.saturating_sub(retry.written_at_ms),
                    ),
                    waited_ms: next.map(|t| t - retry.written_at_ms),
                }
            })
            .collect()
    }
}

/// Read the retry topics, the DLQ and the outcomes of a settled run, and put
/// together each payment's path. Black-box: only what is on the topics.
pub async fn trace_paths(
    broker: &Broker,
    run: &Settled,
) -> anyhow::Result<BTreeMap<String, PaymentPath>> {
    let deadline = Duration::from_secs(60);
    let mut paths: BTreeMap<String, PaymentPath> = BTreeMap::new();
    for level in 1..=run.pipeline.levels() {
        for message in read_all(broker, &run.pipeline.retry_topic(level), deadline).await? {
            let text = |key: &str| {
                header_value(&message, key).map(|v| String::from_utf8_lossy(&v).into_owned())
            };
            paths
                .entry(harness::outcomes::payment_id_of(&message))
                .or_default()
                .retries
                .push(RetrySeen {
                    level,
                    retry_count: text(RETRY_COUNT),
                    written_at_ms: message.timestamp().to_millis().unwrap_or(0),
                    due_ms: text(RETRY_DUE_MS).and_then(|t| t.parse().ok()),
                });
        }
    }
    for message in read_all(broker, &run.pipeline.dlq_topic, deadline).await? {
        let dead = DeadLetter::parse(message.payload()).ok();
        paths
            .entry(harness::outcomes::payment_id_of(&message))
            .or_default()
            .dead_letters
            .push(DeadLetterSeen {
                written_at_ms: message.timestamp().to_millis().unwrap_or(0),
                final_failure: header_value(&message, FINAL_FAILURE)
                    .map(|v| String::from_utf8_lossy(&v).into_owned()),
                attempts: dead.as_ref().map(|d| d.failed_processing_attempts),
                failed_after_retries: dead.as_ref().and_then(|d| d.failed_after_retries),
                error_type: dead.map(|d| d.error_type),
            });
    }
    for outcome in &run.outcomes {
        if outcome.status == OutcomeStatus::Processed {
            paths
                .entry(outcome.payment_id.clone())
                .or_default()
                .processed_at_ms
                .push(outcome.finished_at_ms);
        }
    }
    for path in paths.values_mut() {
        path.retries.sort_by_key(|r| (r.written_at_ms, r.level));
    }
    Ok(paths)
}
