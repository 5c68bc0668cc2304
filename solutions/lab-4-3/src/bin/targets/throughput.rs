//! The throughput step of `targets`: two raw loops (the baselines) and the
//! retry consumer, each on a fresh topic of the same payments.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use harness::backoff::BackoffPolicy;
use harness::clock::now_ms;
use harness::gateway::{FailureMix, Gateway};
use harness::payments::PoisonRates;
use harness::producer::{payment_producer, produce_payments};
use harness::topics::{create_topics, unique_name};
use harness::workload::Workload;
use harness::{wait, Broker};
use lab_4_3_criteria::scenario::PARTITIONS;
use lab_4_3_kit::pipeline::{GroupTimeouts, Pipeline};
use lab_4_3_kit::running::{Role, RunningPipeline};
use lab_4_3_solution::Solution;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;

/// Payments on a fresh topic, all produced before any consumer starts; a
/// `failure_rate` of them fail at the gateway (the raw loops ignore that).
async fn payments_topic(
    broker: &Broker,
    count: usize,
    failure_rate: f64,
) -> anyhow::Result<(String, Workload)> {
    let topic = unique_name("lab43-throughput");
    create_topics(broker, &[(&topic, PARTITIONS)]).await?;
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

/// The ceiling: consume every payment and commit every [`RAW_BATCH`], nothing
/// else. Timed from the first record to the last commit's acknowledgement.
pub async fn raw_consume_and_commit(broker: &Broker, count: usize) -> anyhow::Result<Duration> {
    let (topic, _) = payments_topic(broker, count, 0.3).await?;
    let consumer = raw_consumer(broker, "raw-consume-and-commit")?;
    consumer.subscribe(&[&topic])?;
    let mut first: Option<Instant> = None;
    for consumed in 1..=count {
        tokio::time::timeout(Duration::from_secs(60), consumer.recv())
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

/// How many produces the fair baseline keeps in flight before it awaits their
/// acknowledgements and commits.
const RAW_BATCH: usize = 500;

/// The fair baseline: consume each payment, produce one record for it (to a topic
/// of its own), and commit once every produce of the batch is acknowledged, so
/// nothing is committed before its record is safe (at-least-once, as the pipeline).
/// `send_result` enqueues at once, so a batch shares librdkafka's batching.
pub async fn raw_consume_produce_commit(broker: &Broker, count: usize) -> anyhow::Result<Duration> {
    let (topic, _) = payments_topic(broker, count, 0.3).await?;
    let output = unique_name("raw-consume-produce-out");
    create_topics(broker, &[(&output, PARTITIONS)]).await?;
    let consumer = raw_consumer(broker, "raw-consume-produce-commit")?;
    let producer: FutureProducer = broker
        .client_config()
        .set("enable.idempotence", "true")
        .create()?;
    consumer.subscribe(&[&topic])?;
    let mut first: Option<Instant> = None;
    let mut in_flight = Vec::with_capacity(RAW_BATCH);
    for consumed in 1..=count {
        let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
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

/// The retry consumer alone (no levels), free gateway, `failure_rate` failures:
/// from its first record until every payment is processed, sent to retry-1, or
/// dead-lettered.
pub async fn retry_consumer_throughput(
    broker: &Broker,
    count: usize,
    failure_rate: f64,
) -> anyhow::Result<Duration> {
    let (topic, workload) = payments_topic(broker, count, failure_rate).await?;
    let gateway = Gateway::new(workload.gateway.mix.clone()).with_processing_time(Duration::ZERO);
    let mut pipeline = Pipeline::new(&topic, BackoffPolicy::seed_levels(), gateway);
    pipeline.consumer_group = unique_name("retry-payment-processor");
    pipeline.timeouts = GroupTimeouts::PRODUCTION;
    let other_topics: Vec<(String, i32)> =
        pipeline.topics(PARTITIONS).into_iter().skip(1).collect();
    let refs: Vec<(&str, i32)> = other_topics.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    create_topics(broker, &refs).await?;
    let running = RunningPipeline::<Solution>::start(broker, pipeline, &[Role::Consumer])?;
    let stats = running.stats.clone();
    let handled = || {
        stats.processed.load(Ordering::Relaxed)
            + stats.dead_lettered.load(Ordering::Relaxed)
            + stats.sent_to_level[1].load(Ordering::Relaxed)
    };
    wait::until(
        "the retry consumer to handle every payment",
        Duration::from_secs(300),
        Duration::from_millis(5),
        || match handled() as usize {
            n if n >= count => Ok(()),
            n => Err(format!("{n} of {count}")),
        },
    )
    .await?;
    let finished = now_ms();
    let first = stats.first_record_at_ms.load(Ordering::Relaxed);
    running.stop().await?;
    Ok(Duration::from_millis((finished - first).max(0) as u64))
}
