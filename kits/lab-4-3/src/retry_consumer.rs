//! The retry consumer: seed 000's `retry_consumer.py`. It reads the live topic in
//! group `retry-payment-processor`, gives each payment one attempt, and hands a
//! failure to [`Exercise::handle_failure`] (your code) with level 0.
//!
//! Delivery guarantee (once `handle_failure` is done right): at-least-once, and
//! nothing lost: the offset moves only after the payment is processed, or its
//! retry record or dead letter is acknowledged by the broker. A crash in between
//! forwards it twice (a duplicate, never a loss).
//! Limits: one record at a time, and each forward waits for its ack (a few ms on
//! a real broker), so throughput at zero processing cost is bounded by the
//! produce round trip; ordering within a partition is given up for retried
//! payments (seed 000: "retry patterns break strict ordering").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use harness::clock::now_ms;
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::{OutcomeReporter, OutcomeStatus};
use harness::Broker;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::Message;

use crate::failed::Failed;
use crate::pipeline::{forward_producer, PausedPartitions, Pipeline, PipelineStats};
use crate::worker::Worker;
use crate::Exercise;

/// Run the retry consumer until `stop` is raised.
pub async fn run<E: Exercise>(
    broker: &Broker,
    pipeline: &Pipeline,
    member: &str,
    reporter: &OutcomeReporter,
    stats: &PipelineStats,
    rebalances: RebalanceLog,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let group = pipeline.consumer_group.clone();
    // A short fetch wait: when the live topic goes quiet for a moment, the next
    // payment is fetched within 50 ms rather than up to 500 ms (librdkafka's
    // default); a payment service is judged on latency.
    let consumer = pipeline.group_consumer(
        broker,
        &group,
        member,
        rebalances,
        &[("fetch.wait.max.ms", "50")],
    )?;
    consumer.subscribe(&[&pipeline.topic])?;
    let producer = forward_producer(broker, pipeline.timeouts.forward_timeout())?;
    let worker = Worker {
        consumer: &consumer,
        producer: &producer,
        reporter,
        pipeline,
        stats,
        group: &group,
        member,
        level: 0,
    };
    // Partitions paused after a forward was not acknowledged.
    let mut paused = PausedPartitions::default();

    while !stop.load(Ordering::Relaxed) {
        paused.resume_due(&consumer, &pipeline.topic);
        let budget = paused.wait_budget(Duration::from_millis(100));
        let message = match tokio::time::timeout(budget, consumer.recv()).await {
            Err(_) => continue,
            Ok(Err(error)) => {
                tracing::warn!(member, "consumer error: {error}");
                continue;
            }
            Ok(Ok(message)) => message,
        };
        stats.note_first_record(now_ms());
        let (partition, offset) = (message.partition(), message.offset());
        if paused.will_redeliver(partition, offset) {
            continue;
        }
        if !paused.was_rewound(partition, offset) {
            PipelineStats::count(&stats.ledger.taken, 0);
        }
        match pipeline.gateway.process(message.payload(), 1).await {
            Ok(_payment) => {
                stats.processed.fetch_add(1, Ordering::Relaxed);
                worker
                    .report(&message, None, OutcomeStatus::Processed, 1, None)
                    .await?;
                tracing::info!(
                    target: "payment",
                    "payment {} processed",
                    harness::outcomes::payment_id_of(&message)
                );
                consumer.commit_message(&message, CommitMode::Async)?;
            }
            Err(error) => {
                pipeline.observe(|o| o.failure(0, &error));
                let rewound = AtomicBool::new(false);
                let failed = Failed {
                    message: &message,
                    level: 0,
                    state: None,
                    attempt: Mutex::new((1, error)),
                    first_failure_ms: now_ms(),
                    worker: &worker,
                    rewound: &rewound,
                };
                let before = stats.before_failure(0);
                let handling =
                    stats
                        .in_exercise
                        .measure(0, "handle_failure", E::handle_failure(failed));
                // Ctrl-C must not wait for a handle_failure that sleeps through
                // its retries in place (the starter's blocking retry: up to 80 s).
                // Abandoning it is safe: this record is not committed yet, so it
                // is delivered again when the group next runs (at-least-once).
                let finished = tokio::select! {
                    result = handling => Some(result),
                    _ = raised(stop) => None,
                };
                match finished {
                    Some(result) => result?,
                    None => {
                        PipelineStats::count(&stats.ledger.abandoned, 0);
                        tracing::info!(
                            member,
                            "stopped while handle_failure was still busy: payment {} left uncommitted, it will be delivered again",
                            harness::outcomes::payment_id_of(&message)
                        );
                        break;
                    }
                }
                let rewound = rewound.load(Ordering::Relaxed);
                if stats.settle_failure(before, rewound) {
                    tracing::warn!(
                        target: "payment",
                        "payment {} LOST: handle_failure neither forwarded it (acknowledged) nor rewound it, and it is committed past",
                        harness::outcomes::payment_id_of(&message)
                    );
                }
                paused.after_failure(&consumer, &pipeline.topic, partition, offset, rewound);
            }
        }
    }
    // Leave the group now, so a successor does not wait a session timeout for us.
    consumer.unsubscribe();
    Ok(())
}

/// Resolves once `stop` is raised (checked every 50 ms: the flag is a plain
/// atomic, shared with loops that test it between records).
pub(crate) async fn raised(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
