//! Outcome records: how a lab tells the world what became of each payment.
//!
//! Every lab reports each payment's fate (processed, dead-lettered, or given up)
//! to `<topic>-outcomes`. Graders read that topic, never the lab's memory, so a lab
//! can be graded while it runs as a separate process, even on another machine.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::{Deserialize, Serialize};

use crate::broker::Broker;
use crate::clock::now_ms;
use crate::tail::Tail;
use crate::wait;

/// What became of one payment, as one consumer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The gateway accepted it.
    Processed,
    /// It was handed to a dead letter queue (and the broker acknowledged that).
    DeadLettered,
    /// The consumer gave up and committed past it: nobody will ever see it again.
    /// This is how Lab 4.1's anti-pattern loses payments.
    Skipped,
    /// A *replayed* payment failed again and was set aside on the parking topic
    /// for a human (Lab 4.4), instead of going round the DLQ and replay loop
    /// forever. Not processed, not lost.
    Parked,
}

/// One outcome record, as JSON on `<topic>-outcomes`, keyed by payment id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub payment_id: String,
    pub status: OutcomeStatus,
    /// Attempts made at the gateway for this payment, by this consumer.
    pub attempts: u32,
    /// The last error, for failures.
    pub error: Option<String>,
    /// Which worker reported it, e.g. `fragile-consumer/7f3a`.
    pub worker: String,
    pub partition: i32,
    pub offset: i64,
    /// The payment record's Kafka timestamp: when it was produced.
    pub produced_at_ms: i64,
    /// When this outcome was decided.
    pub finished_at_ms: i64,
}

impl Outcome {
    /// The outcome of a consumed record, decided now. The key is the payment id
    /// (every workshop record is keyed by it); the record's Kafka timestamp is when
    /// it was produced.
    pub fn for_message<M: Message>(
        message: &M,
        status: OutcomeStatus,
        attempts: u32,
        error: Option<String>,
        worker: &str,
    ) -> Outcome {
        Outcome {
            payment_id: payment_id_of(message),
            status,
            attempts,
            error,
            worker: worker.to_string(),
            partition: message.partition(),
            offset: message.offset(),
            produced_at_ms: message.timestamp().to_millis().unwrap_or_else(now_ms),
            finished_at_ms: now_ms(),
        }
    }

    /// End-to-end latency, from produce to this outcome.
    pub fn latency_ms(&self) -> i64 {
        // Saturating: a record's CreateTime is whatever its producer said.
        self.finished_at_ms
            .saturating_sub(self.produced_at_ms)
            .max(0)
    }
}

/// The payment id of a record: every workshop record is keyed by it.
pub fn payment_id_of<M: Message>(message: &M) -> String {
    String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned()
}

/// How long a consumer took to drain a workload: from the first record it polled
/// (epoch ms) to the last outcome.
pub fn drain_time(first_record_at_ms: i64, outcomes: &[Outcome]) -> Duration {
    let last = outcomes
        .iter()
        .map(|o| o.finished_at_ms)
        .max()
        .unwrap_or(first_record_at_ms);
    Duration::from_millis((last - first_record_at_ms).max(0) as u64)
}

/// The outcomes topic that belongs to an input topic.
pub fn outcomes_topic(input_topic: &str) -> String {
    format!("{input_topic}-outcomes")
}

/// Publishes outcome records, waiting for the broker's ack on each.
#[derive(Clone)]
pub struct OutcomeReporter {
    producer: FutureProducer,
    topic: String,
}

impl OutcomeReporter {
    pub fn new(broker: &Broker, topic: &str) -> anyhow::Result<OutcomeReporter> {
        let producer = broker
            .client_config()
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "0")
            .create()
            .context("creating the outcome producer")?;
        Ok(OutcomeReporter {
            producer,
            topic: topic.to_string(),
        })
    }

    pub async fn report(&self, outcome: &Outcome) -> anyhow::Result<()> {
        let value = serde_json::to_vec(outcome)?;
        self.producer
            .send(
                FutureRecord::to(&self.topic)
                    .key(&outcome.payment_id)
                    .payload(&value),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(error, _)| {
                anyhow::anyhow!("cannot report outcome of {}: {error}", outcome.payment_id)
            })?;
        Ok(())
    }

    /// [`OutcomeReporter::report`] from a blocking thread inside a tokio runtime
    /// (Lab 4.1's consumer thread).
    pub fn report_blocking(&self, outcome: &Outcome) -> anyhow::Result<()> {
        tokio::runtime::Handle::current().block_on(self.report(outcome))
    }
}

/// Reads an outcomes topic from the beginning, in the background, keeping every
/// outcome it has seen. It uses no consumer group (plain `assign`), so it never
/// disturbs anybody's committed offsets.
pub struct OutcomeWatcher {
    tail: Tail<Outcome>,
}

impl OutcomeWatcher {
    pub fn start(broker: &Broker, topic: &str) -> anyhow::Result<OutcomeWatcher> {
        Ok(OutcomeWatcher {
            tail: Tail::start(broker, topic)?,
        })
    }

    /// Every outcome seen so far, in arrival order.
    pub fn snapshot(&self) -> Vec<Outcome> {
        self.tail.snapshot()
    }

    /// Records on the outcomes topic that were not outcomes.
    pub fn unreadable(&self) -> usize {
        self.tail.unreadable()
    }

    /// Wait until `done` holds for the outcomes seen, or the deadline passes.
    /// `done` returns `Err(progress)` while not done, for the timeout message.
    pub async fn wait_for<F>(
        &self,
        what: &str,
        deadline: Duration,
        mut done: F,
    ) -> Result<Vec<Outcome>, wait::TimedOut>
    where
        F: FnMut(&[Outcome]) -> Result<(), String>,
    {
        wait::until(what, deadline, Duration::from_millis(20), || {
            let outcomes = self.snapshot();
            done(&outcomes).map(|()| outcomes)
        })
        .await
    }
}

/// The latest outcome per payment.
pub fn latest_by_payment(outcomes: &[Outcome]) -> BTreeMap<&str, &Outcome> {
    outcomes
        .iter()
        .map(|o| (o.payment_id.as_str(), o))
        .collect()
}
