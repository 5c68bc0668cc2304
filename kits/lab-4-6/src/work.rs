//! One record's work, in a task of its own: one gateway attempt, then its
//! forwards (a dead letter if it failed, and its outcome report), each tried
//! again **in place** until the broker acknowledges it.
//!
//! Retrying the forward here, rather than seeking the partition back to the
//! record (what a one-at-a-time loop must do), is what a window makes
//! possible: the record simply stays unfinished, so the committable offset
//! cannot pass it, while the partition's later records
//! go on (until the window is full: then they are parked, and past the backlog's
//! limit the partition pauses). Nothing is
//! processed twice for an outage, and nothing is committed past a record whose
//! dead letter the broker does not have. The sleep between tries is inside this
//! record's task: the poll loop never waits on it.
//!
//! A record gives up (unfinished, so redelivered to whoever owns its partition
//! next) only when its partition is being revoked or the consumer is stopping.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use harness::backoff::BackoffPolicy;
use harness::clock::now_ms;
use harness::dead_letter::{DeadLetter, FailureContext};
use harness::outcomes::{payment_id_of, Outcome, OutcomeReporter, OutcomeStatus};
use harness::Broker;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::config::{WindowedConfig, FORWARD_TIMEOUT};
use crate::stats::WindowedStats;
use crate::window::{Ticket, Window};
use crate::OffsetTracker;

/// What every record task shares.
pub(crate) struct Shared<T> {
    pub config: WindowedConfig,
    pub window: Arc<Window<T>>,
    pub stats: Arc<WindowedStats>,
    pub dlq: FutureProducer,
    pub reporter: OutcomeReporter,
    pub stop: Arc<AtomicBool>,
}

/// The producer for dead letters: `acks=all` and idempotent (a dead letter one
/// broker forgets is a payment lost once committed past), a short message
/// timeout (an unavailable DLQ is reported in seconds), no auto-creation (a
/// mistyped DLQ fails instead of filling a topic nobody reads), and a short
/// linger, so the dead letters of a whole window share a few requests.
pub fn dlq_producer(broker: &Broker) -> anyhow::Result<FutureProducer> {
    broker
        .client_config()
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set(
            "message.timeout.ms",
            FORWARD_TIMEOUT.as_millis().to_string(),
        )
        .set("allow.auto.create.topics", "false")
        .set("topic.metadata.refresh.interval.ms", "2000")
        .set("linger.ms", "2")
        .create()
        .context("creating the DLQ producer")
}

/// One forward a record needs before it is finished.
enum Forward<'a> {
    DeadLetter(&'a DeadLetter),
    Report(OutcomeStatus, Option<String>),
}

/// Process `message` and forward what it needs; then finish (or abandon) its ticket.
pub(crate) async fn work<T: OffsetTracker>(
    shared: Arc<Shared<T>>,
    message: OwnedMessage,
    ticket: Ticket,
) {
    let first_try_ms = now_ms();
    let settled = match shared.config.gateway.process(message.payload(), 1).await {
        Ok(_payment) => {
            let done = forward(
                &shared,
                &message,
                &ticket,
                Forward::Report(OutcomeStatus::Processed, None),
            )
            .await;
            if done {
                shared.stats.processed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(target: "payment", "payment {} processed", payment_id_of(&message));
            }
            done
        }
        Err(error) => {
            let dead = DeadLetter::from_message(
                &message,
                &error,
                &FailureContext {
                    consumer_group: &shared.config.group_id,
                    attempts: 1,
                    first_failure_ms: first_try_ms,
                    last_failure_ms: now_ms(),
                },
            );
            // The dead letter first, the report only once it is acknowledged: a
            // "dead-lettered" outcome is a promise that the DLQ has it.
            let done = forward(&shared, &message, &ticket, Forward::DeadLetter(&dead)).await
                && forward(
                    &shared,
                    &message,
                    &ticket,
                    Forward::Report(OutcomeStatus::DeadLettered, Some(error.to_string())),
                )
                .await;
            if done {
                shared.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    target: "payment",
                    "sent to DLQ | payment {} | error {}: {}",
                    payment_id_of(&message),
                    dead.error_type,
                    dead.error_reason
                );
            }
            done
        }
    };
    if settled {
        shared.window.finish(&ticket);
    } else {
        shared.stats.abandoned.fetch_add(1, Ordering::Relaxed);
        shared.window.abandon(&ticket);
    }
}

/// Send one forward until the broker acknowledges it. False: the record gave
/// up (revoked or stopping) without the ack.
async fn forward<T: OffsetTracker>(
    shared: &Shared<T>,
    message: &OwnedMessage,
    ticket: &Ticket,
    what: Forward<'_>,
) -> bool {
    let mut failures = 0u32;
    loop {
        let sent = match &what {
            Forward::DeadLetter(dead) => send_dead_letter(shared, message, dead).await,
            Forward::Report(status, error) => {
                let outcome =
                    Outcome::for_message(message, *status, 1, error.clone(), &shared.config.member);
                shared.reporter.report(&outcome).await
            }
        };
        let Err(error) = sent else {
            return true;
        };
        failures += 1;
        shared
            .stats
            .forward_failures
            .fetch_add(1, Ordering::Relaxed);
        if failures == 1 {
            // Seed 001's CRITICAL line, once per record: the retries are counted.
            tracing::error!(
                target: "CRITICAL",
                "payment {} (partition {}, offset {}): {error:#}; retrying in place, nothing is committed past it",
                payment_id_of(message),
                ticket.partition,
                ticket.offset
            );
        }
        let pause = BackoffPolicy::redelivery(failures);
        if !shared
            .window
            .wait_to_retry(ticket, &shared.stop, pause)
            .await
        {
            return false;
        }
    }
}

async fn send_dead_letter<T>(
    shared: &Shared<T>,
    message: &OwnedMessage,
    dead: &DeadLetter,
) -> anyhow::Result<()> {
    let value = dead.to_json();
    let mut record = FutureRecord::to(&shared.config.dlq_topic)
        .payload(&value)
        .headers(dead.kafka_headers());
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    shared
        .dlq
        .send(record, FORWARD_TIMEOUT)
        .await
        .map(|_| ())
        .map_err(|(error, _)| {
            anyhow::anyhow!(
                "DLQ {} did not acknowledge the dead letter: {error}",
                shared.config.dlq_topic
            )
        })
}
