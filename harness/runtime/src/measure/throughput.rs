//! The raw baselines every throughput figure is a ratio of, measured on the same
//! broker in the same run (so a busy machine slows both sides alike).
//!
//! - [`raw_consume_and_commit`]: consume and commit, nothing else: what Kafka
//!   can do at all, the ceiling.
//! - [`raw_consume_produce_commit`]: consume, produce one record per payment and
//!   commit after their acks: the *fair* baseline, because every payment of the
//!   workshop's consumers must be reported or forwarded before it is committed.
//!
//! Both read a fresh topic of seeded payments ([`payments_topic`]), all produced
//! before the consumer starts, and time from the first record polled to the
//! last. Lab 4.3's `targets`, Lab 4.6's throughput criterion and report, and the
//! `patterns` bench use these, so their ratios mean the same thing.

use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::gateway::FailureMix;
use crate::payments::PoisonRates;
use crate::producer::{payment_producer, produce_payments};
use crate::topics::{create_topics, unique_name};
use crate::workload::Workload;
use crate::Broker;

/// How many produces the fair baseline keeps in flight before it awaits their
/// acknowledgements and commits.
pub const RAW_BATCH: usize = 500;

/// How long a raw loop may wait for its next record before it gives up.
const STALL: Duration = Duration::from_secs(60);

/// `count` seeded payments on a fresh topic of `partitions` partitions, all
/// produced (and acknowledged) before this returns; a `failure_rate` of them
/// fail at the gateway (the raw loops ignore that, the pipelines do not).
pub async fn payments_topic(
    broker: &Broker,
    prefix: &str,
    partitions: i32,
    count: usize,
    failure_rate: f64,
) -> anyhow::Result<(String, Workload)> {
    let topic = unique_name(prefix);
    create_topics(broker, &[(&topic, partitions)]).await?;
    let workload = Workload::new(
        21,
        count,
        PoisonRates::NONE,
        FailureMix::with_failure_rate(failure_rate),
    );
    produce_payments(
        &payment_producer(broker)?,
        &topic,
        &workload.records,
        None,
        None,
    )
    .await?;
    Ok((topic, workload))
}

/// Payments per second, for `count` payments handled in `elapsed`.
pub fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(0.001)
}

/// A consumer in a group of its own, from the start, committing only when told.
fn raw_consumer(broker: &Broker, group_prefix: &str) -> anyhow::Result<StreamConsumer> {
    Ok(broker
        .client_config()
        .set("group.id", unique_name(group_prefix))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?)
}

/// Whether the raw loops commit after their `consumed`-th record of `count`:
/// at the end of each batch of [`RAW_BATCH`], asynchronously, and after the last
/// record synchronously (the clock stops once the broker has it).
fn batch_commit(consumed: usize, count: usize) -> Option<CommitMode> {
    if consumed == count {
        Some(CommitMode::Sync)
    } else if consumed.is_multiple_of(RAW_BATCH) {
        Some(CommitMode::Async)
    } else {
        None
    }
}

/// Commit what the consumer has consumed. "No offset stored" means an earlier
/// commit already covered it: nothing is left to commit, which is no error.
fn commit_positions(consumer: &StreamConsumer, mode: CommitMode) -> anyhow::Result<()> {
    match consumer.commit_consumer_state(mode) {
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
        other => other.context("committing the raw consumer's positions"),
    }
}

/// The ceiling: consume every record of `topic` (`count` of them) and commit
/// every [`RAW_BATCH`], nothing else. Returns the time from the first record
/// to the last commit's acknowledgement.
pub async fn raw_consume_and_commit(
    broker: &Broker,
    topic: &str,
    count: usize,
) -> anyhow::Result<Duration> {
    let consumer = raw_consumer(broker, "raw-consume-and-commit")?;
    consumer.subscribe(&[topic])?;
    let mut first: Option<Instant> = None;
    for consumed in 1..=count {
        tokio::time::timeout(STALL, consumer.recv())
            .await
            .context("the raw consumer stalled")??;
        first.get_or_insert_with(Instant::now);
        // One commit per batch, as the fair baseline commits: a commit per
        // record would queue thousands of requests whose round trips the
        // timing never saw (the consumer's close waits for them instead).
        if let Some(mode) = batch_commit(consumed, count) {
            commit_positions(&consumer, mode)?;
        }
    }
    Ok(first.map(|f| f.elapsed()).unwrap_or_default())
}

/// The fair baseline: consume each of the `count` records of `topic`, produce
/// one record for it (to a topic of its own), and commit once every produce of
/// the batch is acknowledged, so nothing is committed before its record is safe
/// (at-least-once, as the pipelines). `send_result` enqueues at once, so a batch
/// shares librdkafka's batching. Returns the time from the first record to the last.
pub async fn raw_consume_produce_commit(
    broker: &Broker,
    topic: &str,
    partitions: i32,
    count: usize,
) -> anyhow::Result<Duration> {
    let output = unique_name("raw-consume-produce-out");
    create_topics(broker, &[(&output, partitions)]).await?;
    let consumer = raw_consumer(broker, "raw-consume-produce-commit")?;
    let producer: FutureProducer = broker
        .client_config()
        .set("enable.idempotence", "true")
        .create()?;
    consumer.subscribe(&[topic])?;
    let mut first: Option<Instant> = None;
    let mut in_flight = Vec::with_capacity(RAW_BATCH);
    for consumed in 1..=count {
        let message = tokio::time::timeout(STALL, consumer.recv())
            .await
            .context("the raw consumer stalled")??;
        first.get_or_insert_with(Instant::now);
        let mut record =
            FutureRecord::<[u8], [u8]>::to(&output).payload(message.payload().unwrap_or_default());
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        let delivery = producer
            .send_result(record)
            .map_err(|(error, _)| error)
            .context("enqueueing a produce")?;
        in_flight.push(delivery);
        if in_flight.len() == RAW_BATCH || consumed == count {
            for delivery in in_flight.drain(..) {
                delivery
                    .await
                    .context("a produce was cancelled")?
                    .map_err(|(error, _)| error)
                    .context("a produce was not acknowledged")?;
            }
            // Everything consumed so far is acknowledged downstream: commit it.
            if let Some(mode) = batch_commit(consumed, count) {
                commit_positions(&consumer, mode)?;
            }
        }
    }
    Ok(first.map(|f| f.elapsed()).unwrap_or_default())
}

/// Has `probe`'s group committed the end of every partition of `topic`? Each
/// call makes `partitions + 1` blocking broker round trips (a few ms in all).
pub fn committed_to_the_end(probe: &BaseConsumer, topic: &str, partitions: i32) -> bool {
    let timeout = Duration::from_secs(5);
    let mut list = TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition(topic, partition);
    }
    let Ok(committed) = probe.committed_offsets(list, timeout) else {
        return false;
    };
    committed.elements().iter().all(|element| {
        let Offset::Offset(offset) = element.offset() else {
            return false;
        };
        probe
            .fetch_watermarks(topic, element.partition(), timeout)
            .is_ok_and(|(_, high)| offset >= high)
    })
}

/// A client of `group` that reads its committed offsets and never joins it (it
/// neither subscribes nor commits).
pub fn commit_probe(broker: &Broker, group: &str) -> anyhow::Result<BaseConsumer> {
    broker
        .client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .context("creating a commit probe")
}

/// Wait until `group` has committed the end of every partition of `topic`, for
/// at most `deadline`: where a pipeline's clock stops, as the raw loops' clocks
/// stop at their last commit's acknowledgement. The probe runs on a blocking
/// thread, so the pipeline's own tasks keep the runtime.
pub async fn wait_committed_to_the_end(
    broker: &Broker,
    topic: &str,
    partitions: i32,
    group: &str,
    deadline: Duration,
) -> anyhow::Result<()> {
    let probe = commit_probe(broker, group)?;
    let topic = topic.to_string();
    let group = group.to_string();
    tokio::task::spawn_blocking(move || {
        let until = Instant::now() + deadline;
        while !committed_to_the_end(&probe, &topic, partitions) {
            anyhow::ensure!(
                Instant::now() < until,
                "group {group} had not committed the end of {topic} after {} s",
                deadline.as_secs()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    })
    .await
    .context("the commit probe's thread panicked")?
}

/// How long [`wait_handled_and_committed`] waits for each of its two
/// conditions (at 300 payments/s, the slowest consumer measured, 90,000
/// payments).
pub const BACKLOG_DEADLINE: Duration = Duration::from_secs(300);

/// One consumer's backlog run: wait until `handled()` reaches `count`, then
/// until `group` has committed the end of `topic`, where the raw loops' clocks
/// stop too; returns the time from `first_record_at_ms()` (the consumer's
/// first record, epoch ms) until then. `what` names the consumer in a
/// timeout's message.
pub async fn wait_handled_and_committed(
    broker: &Broker,
    what: &str,
    (topic, partitions): (&str, i32),
    group: &str,
    count: usize,
    handled: impl Fn() -> u64,
    first_record_at_ms: impl Fn() -> i64,
) -> anyhow::Result<Duration> {
    let deadline = BACKLOG_DEADLINE;
    crate::wait::until(
        &format!("{what} to handle every payment"),
        deadline,
        Duration::from_millis(5),
        || match handled() as usize {
            n if n >= count => Ok(()),
            n => Err(format!("{n} of {count}")),
        },
    )
    .await?;
    wait_committed_to_the_end(broker, topic, partitions, group, deadline).await?;
    let elapsed_ms = crate::clock::now_ms() - first_record_at_ms();
    Ok(Duration::from_millis(elapsed_ms.max(0) as u64))
}
