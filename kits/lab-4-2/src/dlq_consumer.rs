//! The DLQ consumer: each payment gets one attempt; a failure is handed to
//! [`Exercise::handle_failure`] (your code) with the [`Failed`] toolbox.
//!
//! Delivery guarantee (once `handle_failure` is done right): at-least-once, and
//! nothing lost. Every record ends processed or dead-lettered; the offset moves
//! only after the outcome is safe. A crash between the DLQ ack and the commit
//! dead-letters the record twice, which is why DLQ consumers must be idempotent.
//! Limits: no retries (that is Lab 4.3): a transient failure goes straight to the
//! DLQ, which the seed's discussion table calls "no retry for transient failures".
//! While the DLQ is down, a failed record is rewound and its partition paused for
//! a growing back-off, while the other partitions keep flowing; records are handled
//! one at a time, though, so each failing send still holds the loop for up to its
//! 5 s timeout. A dead letter the DLQ can never take (say, over its
//! `max.message.bytes`) keeps its partition retrying, loudly, until an operator
//! steps in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use harness::backoff::BackoffPolicy;
use harness::clock::now_ms;
use harness::measure::rebalance::{ObservedContext, RebalanceLog};
use harness::outcomes::{payment_id_of, Outcome, OutcomeReporter, OutcomeStatus};
use harness::Broker;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureProducer;
use rdkafka::TopicPartitionList;

pub use crate::config::{DlqConsumerConfig, DEFAULT_GROUP};
pub use crate::failed::Failed;
pub use crate::stats::DlqStats;
use crate::Exercise;

/// A producer for dead letters. `acks=all`, because a dead letter that one broker
/// forgets is a payment lost; a short `message.timeout.ms`, so an unavailable DLQ
/// is reported within seconds instead of five minutes; a short metadata refresh,
/// so a DLQ that comes back is noticed; and no auto-creation, so a mistyped DLQ
/// name fails instead of quietly filling a topic nobody reads.
pub fn dlq_producer(broker: &Broker) -> anyhow::Result<FutureProducer> {
    broker
        .client_config()
        .set("acks", "all")
        .set("message.timeout.ms", "5000")
        .set("allow.auto.create.topics", "false")
        // Look again for a missing DLQ topic every 2 s (default: 5 minutes), so a
        // DLQ that comes back is used within seconds.
        .set("topic.metadata.refresh.interval.ms", "2000")
        .set("linger.ms", "0")
        .create()
        .context("creating the DLQ producer")
}

/// Run the DLQ consumer until `stop` is raised.
pub async fn run<E: Exercise>(
    broker: &Broker,
    config: &DlqConsumerConfig,
    reporter: &OutcomeReporter,
    stats: &DlqStats,
    rebalances: RebalanceLog,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let consumer: StreamConsumer<ObservedContext> = broker
        .client_config()
        .set("group.id", &config.group_id)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create_with_context(ObservedContext::new(&config.member, rebalances))
        .context("creating the DLQ consumer")?;
    consumer.subscribe(&[&config.topic])?;
    let dlq = dlq_producer(broker)?;
    // Records that failed and came back (after a rewind): when they first failed
    // and how many attempts they have had. Entries go once the partition moves on.
    let mut redelivered: HashMap<(i32, i64), (i64, u32)> = HashMap::new();
    // Partitions paused after a rewind, and when to resume them. Pausing instead of
    // sleeping keeps every other partition flowing (seed 002: pause/resume, not sleep).
    let mut paused: HashMap<i32, Instant> = HashMap::new();

    while !stop.load(Ordering::Relaxed) {
        resume_due_partitions(&consumer, &config.topic, &mut paused);
        let message = match tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await
        {
            Err(_) => continue,
            Ok(Err(error)) => {
                tracing::warn!(member = %config.member, "consumer error: {error}");
                continue;
            }
            Ok(Ok(message)) => message,
        };
        let _ = stats.first_record_at_ms.compare_exchange(
            0,
            now_ms(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        let (partition, offset) = (message.partition(), message.offset());
        redelivered.retain(|(p, o), _| *p != partition || *o >= offset);
        let (first_failure_ms, attempt) = match redelivered.get(&(partition, offset)) {
            // It came back because its dead letter was not acknowledged.
            Some(&(first_failure_ms, attempts)) => (first_failure_ms, attempts + 1),
            None => (now_ms(), 1),
        };
        if attempt == 1 {
            stats.consumed.fetch_add(1, Ordering::Relaxed);
        }
        match config.gateway.process(message.payload(), attempt).await {
            Ok(_payment) => {
                let outcome = Outcome::for_message(
                    &message,
                    OutcomeStatus::Processed,
                    attempt,
                    None,
                    &config.member,
                );
                reporter.report(&outcome).await?;
                stats.processed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    target: "payment",
                    "payment {} processed",
                    payment_id_of(&message)
                );
                consumer.commit_message(&message, CommitMode::Async)?;
            }
            Err(error) => {
                redelivered.insert((partition, offset), (first_failure_ms, attempt));
                let (rewound, waited_us) = (AtomicBool::new(false), AtomicU64::new(0));
                let failed = Failed {
                    message: &message,
                    error: &error,
                    attempts: attempt,
                    first_failure_ms,
                    consumer: &consumer,
                    dlq: &dlq,
                    reporter,
                    config,
                    stats,
                    rewound: &rewound,
                    waited_us: &waited_us,
                };
                let dead_lettered_before = stats.dead_lettered.load(Ordering::Relaxed);
                let handling = Instant::now();
                E::handle_failure(failed).await?;
                if !rewound.load(Ordering::Relaxed)
                    && stats.dead_lettered.load(Ordering::Relaxed) == dead_lettered_before
                {
                    // Neither in the DLQ nor coming back: the next commit passes it.
                    // Say so, or the payment vanishes from the log without a trace.
                    stats.lost.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        target: "payment",
                        "payment {} LOST: it failed ({error}), and handle_failure neither dead-lettered nor rewound it",
                        payment_id_of(&message)
                    );
                }
                let own = (handling.elapsed().as_micros() as u64)
                    .saturating_sub(waited_us.load(Ordering::Relaxed));
                if let Ok(mut samples) = stats.failure_handling_us.lock() {
                    // Enough for any report, bounded for a consumer left running.
                    if samples.len() < 100_000 {
                        samples.push(own);
                    }
                }
                if rewound.load(Ordering::Relaxed) {
                    // Back off on this partition only, so a DLQ that is down is not
                    // hammered and the other partitions keep flowing.
                    let mut list = TopicPartitionList::new();
                    list.add_partition(&config.topic, partition);
                    match consumer.pause(&list) {
                        Ok(()) => {
                            paused.insert(
                                partition,
                                Instant::now() + BackoffPolicy::redelivery(attempt),
                            );
                        }
                        // Revoked meanwhile: its new owner will consume the record again.
                        Err(error) => tracing::warn!(
                            member = %config.member,
                            "could not pause partition {partition}: {error}"
                        ),
                    }
                }
            }
        }
    }
    // Leave the group now, so a successor does not wait a session timeout for us.
    consumer.unsubscribe();
    Ok(())
}

/// Resume the paused partitions whose back-off is over. A partition revoked while
/// paused cannot be resumed; its new owner starts it afresh, so that error is moot.
fn resume_due_partitions(
    consumer: &StreamConsumer<ObservedContext>,
    topic: &str,
    paused: &mut HashMap<i32, Instant>,
) {
    let now = Instant::now();
    paused.retain(|&partition, resume_at| {
        if *resume_at > now {
            return true;
        }
        let mut list = TopicPartitionList::new();
        list.add_partition(topic, partition);
        let _ = consumer.resume(&list);
        false
    });
}

/// A DLQ consumer running as a tokio task, stopped on request (or when dropped).
pub struct RunningDlqConsumer {
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub stats: Arc<DlqStats>,
    pub rebalances: RebalanceLog,
}

impl RunningDlqConsumer {
    pub fn spawn<E: Exercise>(
        broker: &Broker,
        config: DlqConsumerConfig,
        outcomes_topic: &str,
    ) -> anyhow::Result<RunningDlqConsumer> {
        let reporter = OutcomeReporter::new(broker, outcomes_topic)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(DlqStats::default());
        let rebalances = RebalanceLog::default();
        let (broker, stop_flag, task_stats, log) = (
            broker.clone(),
            stop.clone(),
            stats.clone(),
            rebalances.clone(),
        );
        let task = tokio::spawn(async move {
            run::<E>(&broker, &config, &reporter, &task_stats, log, &stop_flag).await
        });
        Ok(RunningDlqConsumer {
            stop,
            task: Some(task),
            stats,
            rebalances,
        })
    }

    /// Ask it to stop and wait for it; an error it stopped on comes back here.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.halt().await
    }

    /// [`RunningDlqConsumer::stop`] without giving up the handle (its stats stay readable).
    pub async fn halt(&mut self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        match self.task.take() {
            Some(task) => task.await.context("the DLQ consumer task panicked")?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningDlqConsumer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
