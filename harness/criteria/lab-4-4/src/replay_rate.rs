//! How fast a replay gets through a DLQ: `count` dead letters seeded onto a fresh
//! pipeline's DLQ, then one replay of all of them, timed as an operator waits
//! for it (reading the DLQ and the journal, every send and journal write
//! acknowledged, the summary back). Lab 4.4's `replay-rate` report uses it to
//! compare two replay loops on the same broker in the same run.

use std::time::{Duration, Instant};

use harness::backoff::BackoffPolicy;
use harness::clock::now_ms;
use harness::dead_letter::{DeadLetter, FailureContext};
use harness::gateway::{Defect, FailureMix, Gateway, PaymentError};
use harness::payments::PoisonRates;
use harness::producer::{payment_producer, produce_payments};
use harness::topics::{read_all, unique_name};
use harness::workload::Workload;
use harness::Broker;
use lab_4_3_kit::pipeline::{forward_producer, Pipeline, FORWARD_TIMEOUT};
use lab_4_4_kit::replay::{run_replay, ReplayRequest, ReplaySummary};
use lab_4_4_kit::topology::Topology;
use lab_4_4_kit::Exercise;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;

/// Partitions of every topic of the measured pipeline (the service's default).
const PARTITIONS: i32 = 3;

/// One replay run's figures.
#[derive(Debug, Clone)]
pub struct ReplayRate {
    pub dead_letters: usize,
    pub summary: ReplaySummary,
    /// From the replay's start to its summary.
    pub elapsed: Duration,
}

impl ReplayRate {
    /// Dead letters replayed per second.
    pub fn per_second(&self) -> f64 {
        self.summary.replayed as f64 / self.elapsed.as_secs_f64().max(0.001)
    }
}

/// A fresh pipeline whose DLQ holds `count` dead letters, one per payment of a
/// seeded workload (each a real payment on the live topic, dead-lettered by the
/// zero-decimal bug), and the producer the service and the `dlq` tool replay
/// with (`forward_producer`: `acks=all`, idempotent, `linger.ms=0`).
pub async fn seeded_dlq(
    broker: &Broker,
    count: usize,
) -> anyhow::Result<(Topology, FutureProducer)> {
    let topic = unique_name("lab44-replay-rate");
    let mix = FailureMix::with_failure_rate(0.0);
    let pipeline = Pipeline::new(
        &topic,
        BackoffPolicy::seed_levels(),
        Gateway::new(mix.clone()),
    );
    let topology = Topology::new(pipeline, PARTITIONS);
    topology.create_topics(broker).await?;
    let workload = Workload::new(44, count, PoisonRates::NONE, mix);
    let producer = payment_producer(broker)?;
    produce_payments(&producer, &topic, &workload.records, None, None).await?;
    let originals = read_all(broker, &topic, Duration::from_secs(60)).await?;
    anyhow::ensure!(
        originals.len() == count,
        "seeding the replay: {} of {count} payments read back from {topic}",
        originals.len()
    );
    let error = PaymentError::Defect(Defect::ZeroDecimalCurrency);
    let failed_at = now_ms();
    let context = FailureContext {
        consumer_group: &topology.pipeline.consumer_group,
        attempts: 1,
        first_failure_ms: failed_at,
        last_failure_ms: failed_at,
    };
    let letters: Vec<(Option<Vec<u8>>, Vec<u8>)> = originals
        .iter()
        .map(|message| {
            let letter = DeadLetter::from_message(message, &error, &context);
            (message.key().map(<[u8]>::to_vec), letter.to_json())
        })
        .collect();
    // Everything enqueued at once (librdkafka batches it), then every ack awaited.
    let mut deliveries = Vec::with_capacity(letters.len());
    for (key, value) in &letters {
        let mut record =
            FutureRecord::<[u8], [u8]>::to(&topology.pipeline.dlq_topic).payload(value);
        if let Some(key) = key {
            record = record.key(key);
        }
        deliveries.push(producer.send_result(record).map_err(|(error, _)| error)?);
    }
    for delivery in deliveries {
        delivery.await?.map_err(|(error, _)| {
            anyhow::anyhow!("a seeded dead letter was not acknowledged: {error}")
        })?;
    }
    Ok((topology, forward_producer(broker, FORWARD_TIMEOUT)?))
}

/// Replay every dead letter of a freshly seeded DLQ of `count` with `E`'s replay.
pub async fn replay_rate<E: Exercise>(broker: &Broker, count: usize) -> anyhow::Result<ReplayRate> {
    let (topology, producer) = seeded_dlq(broker, count).await?;
    let started = Instant::now();
    let summary = run_replay::<E>(broker, &topology, &producer, &ReplayRequest::default())
        .await
        .map_err(|failure| anyhow::anyhow!("the replay failed: {failure}"))?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        summary.replayed == count,
        "the replay sent {} of {count} dead letters: {summary:?}",
        summary.replayed
    );
    Ok(ReplayRate {
        dead_letters: count,
        summary,
        elapsed,
    })
}
