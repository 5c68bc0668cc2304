//! The retry processors: seed 000's `retry_processor.py`, one per level, each in
//! its own consumer group (`retry-processor-N`) on `<topic>-retry-N`.
//!
//! A level reads a record, and if it is not due yet hands it to
//! [`Exercise::hold_until_due`] (your code). Once due, the level processes the
//! payment **itself**: on success it reports and commits; on failure it hands it to
//! [`Exercise::handle_failure`] (your code again), which forwards it to the next
//! level or the DLQ. Unlike the seed, nothing is ever republished to the live
//! topic (see the README: every other reader of that topic would see it again).
//!
//! Delivery guarantee: at-least-once, nothing lost: the offset moves only after the
//! payment is processed or its forward acknowledged. A crash between the ack and
//! the commit retries the payment once more (a duplicate attempt, never a loss).
//! Limits: within a partition, records wait in order (head-of-line). With one
//! delay per level, due times grow along a partition as fast as records are
//! written, so nobody waits much longer than their own delay; with jitter, or
//! several forwarders whose writes interleave, a record can wait for a later-due
//! one ahead of it (late by at most the difference, never early).
//! Due times come from the writer's clock; across machines, clock skew adds to
//! (or subtracts from) every delay.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use harness::clock::now_ms;
use harness::measure::rebalance::{ObservedContext, RebalanceLog};
use harness::outcomes::{OutcomeReporter, OutcomeStatus};
use harness::retry::RetryState;
use harness::Broker;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::failed::Failed;
use crate::pipeline::{forward_producer, PausedPartitions, Pipeline, PipelineStats};
use crate::retry_consumer::raised;
use crate::settlement::{Handled, Settlement};
use crate::worker::Worker;
use crate::Exercise;

/// What [`Exercise::hold_until_due`] did with a record that is not due yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Its partition is paused and sought back to it: the level resumes the
    /// partition at the due time, and the record is consumed again then.
    UntilDue,
    /// It has been waited for already (the seed's `sleep`): process it now.
    Waited,
}

/// A record that is not due yet, and the tools to wait for it.
pub struct NotYetDue<'a> {
    message: &'a BorrowedMessage<'a>,
    due_ms: i64,
    consumer: &'a StreamConsumer<ObservedContext>,
}

impl NotYetDue<'_> {
    /// When it may be tried (ms since the epoch).
    pub fn due_ms(&self) -> i64 {
        self.due_ms
    }

    /// How long until then.
    pub fn remaining(&self) -> Duration {
        until(self.due_ms, now_ms())
    }

    /// Pause this record's partition: no more fetches from it, and what was
    /// already fetched from it is dropped. `poll` keeps running, so the member
    /// stays in its group and the other partitions keep flowing.
    pub fn pause_partition(&self) -> anyhow::Result<()> {
        let mut list = TopicPartitionList::new();
        list.add_partition(self.message.topic(), self.message.partition());
        self.consumer
            .pause(&list)
            .context("pausing the partition of a record that is not due")
    }

    /// Seek the partition back to this record, so it is fetched again (from
    /// Kafka, not from memory) when the partition resumes.
    pub fn seek_back(&self) -> anyhow::Result<()> {
        self.consumer
            .seek(
                self.message.topic(),
                self.message.partition(),
                Offset::Offset(self.message.offset()),
                // Zero: do not wait for librdkafka's broker thread to confirm.
                // Waiting blocks this whole loop (every partition) for as long
                // as that thread takes to come round, up to a second.
                Duration::ZERO,
            )
            .context("seeking back to a record that is not due")
    }
}

/// Settings for a level's consumer beyond the pipeline's own.
///
/// A level holds records in Kafka, so it keeps librdkafka's prefetch small (the
/// default would buffer up to 64 MB per partition of records that are not due),
/// and keeps `fetch.wait.max.ms` short: a resumed partition shares its fetch
/// request with the others, and waiting 500 ms (the default) for data on them
/// would make every retry up to half a second late.
pub const LEVEL_CONSUMER_SETTINGS: [(&str, &str); 8] = [
    ("queued.max.messages.kbytes", "1024"),
    ("fetch.max.bytes", "1048576"),
    ("max.partition.fetch.bytes", "262144"),
    ("fetch.wait.max.ms", "20"),
    ("fetch.queue.backoff.ms", "5"),
    ("fetch.error.backoff.ms", "10"),
    ("retry.backoff.ms", "10"),
    ("retry.backoff.max.ms", "50"),
];

/// Run retry level `level` until `stop` is raised.
#[allow(clippy::too_many_arguments)]
pub async fn run_level<E: Exercise>(
    broker: &Broker,
    pipeline: &Pipeline,
    level: u32,
    member: &str,
    reporter: &OutcomeReporter,
    stats: &PipelineStats,
    rebalances: RebalanceLog,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let topic = pipeline.retry_topic(level);
    let group = pipeline.processor_group(level);
    let policy = &pipeline.policy;
    let delays = match (policy.shortest_delay(level), policy.longest_delay(level)) {
        (Some(shortest), Some(longest)) => shortest..=longest,
        _ => anyhow::bail!("the backoff policy {policy} has no retry level {level}"),
    };
    let consumer =
        pipeline.group_consumer(broker, &group, member, rebalances, &LEVEL_CONSUMER_SETTINGS)?;
    consumer.subscribe(&[&topic])?;
    let producer = forward_producer(broker, pipeline.timeouts.forward_timeout())?;
    let worker = Worker {
        producer: &producer,
        reporter,
        pipeline,
        stats,
        group: &group,
        member,
        level,
    };
    let mut paused = PausedPartitions::default();
    // Records due within RESUME_LEAD, kept in memory in partition order until
    // their due time. Only those: a record due later stops its partition (it is
    // held in Kafka), so this never holds more than about a second of arrivals.
    let mut due_soon: HashMap<i32, VecDeque<(BorrowedMessage<'_>, RetryState)>> = HashMap::new();

    while !stop.load(Ordering::Relaxed) {
        paused.resume_due(&consumer, &topic);
        // A record kept in memory whose time has come goes first. After one, the
        // loop still polls (with no wait), so a burst of due records never keeps
        // the level from polling longer than max.poll.interval.ms.
        let now = now_ms();
        let ready = due_soon
            .iter()
            .find(|(_, queue)| queue.front().is_some_and(|(_, s)| s.due_ms <= now))
            .map(|(&partition, _)| partition);
        let mut processed_one = false;
        if let Some((message, state)) = ready.and_then(|p| due_soon.get_mut(&p)?.pop_front()) {
            let partition = message.partition();
            if !process_due::<E>(&worker, &consumer, &message, &state, &mut paused, stop).await? {
                break;
            }
            if paused.will_redeliver(partition, message.offset()) {
                // Rewound: everything after it comes again from Kafka, and must
                // not be committed before it.
                due_soon.remove(&partition);
            }
            processed_one = true;
        }
        let next_in_memory = due_soon
            .values()
            .filter_map(|queue| queue.front())
            .map(|(_, state)| until(state.due_ms, now))
            .min()
            .unwrap_or(Duration::MAX);
        let budget = if processed_one {
            Duration::ZERO
        } else {
            paused
                .wait_budget(Duration::from_millis(100))
                .min(next_in_memory)
        };
        let message = match tokio::time::timeout(budget, consumer.recv()).await {
            Err(_) => continue,
            Ok(Err(error)) => {
                tracing::warn!(member, "consumer error: {error}");
                continue;
            }
            Ok(Ok(message)) => message,
        };
        let (partition, offset) = (message.partition(), message.offset());
        if paused.will_redeliver(partition, offset) {
            continue;
        }
        let (state, repairs) = RetryState::read(&message, level, delays.clone());
        if !repairs.is_empty() {
            tracing::warn!(
                member,
                "{topic}/{partition}@{offset}: retry headers repaired: {}",
                repairs.join("; ")
            );
        }

        let remaining = until(state.due_ms, now_ms());
        let queued = due_soon.get(&partition).is_some_and(|q| !q.is_empty());
        if remaining <= RESUME_LEAD && (queued || !remaining.is_zero()) {
            // Due within the lead (or behind one that is): its last moments are
            // spent in memory, in order, and it starts at its due time to the
            // millisecond. The partition keeps flowing.
            due_soon
                .entry(partition)
                .or_default()
                .push_back((message, state));
            continue;
        }
        if !remaining.is_zero() {
            let not_yet_due = NotYetDue {
                message: &message,
                due_ms: state.due_ms,
                consumer: &consumer,
            };
            let holding =
                stats
                    .in_exercise
                    .measure(level, "hold_until_due", E::hold_until_due(not_yet_due));
            // Ctrl-C must not wait for a hold that sleeps until the record is due
            // (the starter's: up to a level's whole delay). The record is not
            // committed, so the next run gets it again.
            let held = tokio::select! {
                held = holding => held?,
                _ = raised(stop) => break,
            };
            match held {
                Hold::UntilDue => {
                    stats.holds.fetch_add(1, Ordering::Relaxed);
                    let wait = until(state.due_ms, now_ms());
                    paused.insert(
                        partition,
                        offset,
                        Instant::now() + wait.saturating_sub(RESUME_LEAD),
                    );
                    continue;
                }
                Hold::Waited if queued => {
                    // Waited, but records ahead of it are still in memory: it
                    // takes its turn behind them, never commits past them.
                    due_soon
                        .entry(partition)
                        .or_default()
                        .push_back((message, state));
                    continue;
                }
                Hold::Waited => {}
            }
        }
        if !process_due::<E>(&worker, &consumer, &message, &state, &mut paused, stop).await? {
            break;
        }
    }
    consumer.unsubscribe();
    Ok(())
}

/// How early a level resumes a held partition; records due within this much
/// wait their last moments in memory. A resumed partition is fetched when
/// librdkafka's broker thread next looks, and with every partition of a level
/// paused it may look only once a second; without the lead, retries came up to
/// a second late.
pub const RESUME_LEAD: Duration = Duration::from_millis(1200);

/// Retry a record whose time has come: report and commit on success, hand a
/// failure to [`Exercise::handle_failure`] (and back off its partition if it
/// was rewound). `false`: `stop` was raised while `handle_failure` was still
/// busy, and the record is left uncommitted.
async fn process_due<E: Exercise>(
    worker: &Worker<'_>,
    consumer: &StreamConsumer<ObservedContext>,
    message: &BorrowedMessage<'_>,
    state: &RetryState,
    paused: &mut PausedPartitions,
    stop: &AtomicBool,
) -> anyhow::Result<bool> {
    let (stats, level) = (worker.stats, worker.level);
    stats.record_lateness(now_us().saturating_sub(state.due_ms.saturating_mul(1000)));
    let (partition, offset) = (message.partition(), message.offset());
    if !paused.was_rewound(partition, offset) {
        PipelineStats::count(&stats.ledger.taken, level);
    }
    let attempt = state.attempts_so_far() + 1;
    match worker
        .pipeline
        .gateway
        .process(message.payload(), attempt)
        .await
    {
        Ok(_payment) => {
            stats.processed.fetch_add(1, Ordering::Relaxed);
            PipelineStats::count(&stats.done_at_level, level);
            worker
                .report(
                    message,
                    Some(state),
                    OutcomeStatus::Processed,
                    attempt,
                    None,
                )
                .await?;
            tracing::info!(
                target: "payment",
                "payment {} processed (retry {level}/{})",
                harness::outcomes::payment_id_of(message),
                worker.pipeline.levels()
            );
            consumer.commit_message(message, CommitMode::Async)?;
        }
        Err(error) => {
            worker.pipeline.observe(|o| o.failure(level, &error));
            // Owned: the toolbox is the same for the retry consumer, whose
            // records outlive the poll that fetched them.
            let owned = message.detach();
            let handled = Handled::default();
            let failed = Failed {
                message: &owned,
                level,
                state: Some(state),
                attempt: Mutex::new((attempt, error)),
                first_failure_ms: state.first_failure_ms,
                worker,
                settlement: Settlement::Offsets(consumer),
                handled: &handled,
            };
            let handling =
                stats
                    .in_exercise
                    .measure(level, "handle_failure", E::handle_failure(failed));
            // As in the retry consumer: abandoning a busy handle_failure on
            // Ctrl-C is safe, its record is not committed yet.
            tokio::select! {
                handled = handling => handled?,
                _ = raised(stop) => {
                    PipelineStats::count(&stats.ledger.abandoned, level);
                    tracing::info!(
                        member = worker.member,
                        "stopped while handle_failure was still busy: payment {} left uncommitted, it will be retried again",
                        harness::outcomes::payment_id_of(message)
                    );
                    return Ok(false);
                }
            }
            let rewound = handled.rewound();
            if stats.settle_failure(level, &handled) {
                tracing::warn!(
                    target: "payment",
                    "payment {} LOST at retry level {level}: handle_failure neither forwarded it (acknowledged) nor rewound it, and it is committed past",
                    harness::outcomes::payment_id_of(message)
                );
            }
            paused.after_failure(consumer, message.topic(), partition, offset, rewound);
        }
    }
    Ok(true)
}

/// How long from `now_ms` until `due_ms` (zero if it has passed).
fn until(due_ms: i64, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(due_ms.saturating_sub(now_ms)).unwrap_or(0))
}

/// Microseconds since the Unix epoch, now (lateness is measured finer than ms).
fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
