//! The throughput step of `targets`: the two raw loops (the baselines, shared in
//! `harness::measure::throughput`) and the retry consumer
//! (`lab_4_3_criteria::throughput`), each on a fresh topic of the same payments.

use std::time::Duration;

use harness::Broker;
use lab_4_3_criteria::scenario::PARTITIONS;
use lab_4_3_criteria::throughput::{self, payments_topic};
use lab_4_3_solution::Solution;

/// The ceiling: consume and commit, nothing else (the shared baseline).
pub async fn raw_consume_and_commit(broker: &Broker, count: usize) -> anyhow::Result<Duration> {
    let (topic, _) = payments_topic(broker, count, 0.3).await?;
    harness::measure::throughput::raw_consume_and_commit(broker, &topic, count).await
}

/// The fair baseline: consume, produce one record per payment, commit after the
/// acks (the shared baseline).
pub async fn raw_consume_produce_commit(broker: &Broker, count: usize) -> anyhow::Result<Duration> {
    let (topic, _) = payments_topic(broker, count, 0.3).await?;
    harness::measure::throughput::raw_consume_produce_commit(broker, &topic, PARTITIONS, count)
        .await
}

/// The retry consumer alone (no levels), free gateway, `failure_rate` failures
/// (the measurement is shared with the `patterns` bench).
pub async fn retry_consumer_throughput(
    broker: &Broker,
    count: usize,
    failure_rate: f64,
) -> anyhow::Result<Duration> {
    throughput::retry_consumer_throughput::<Solution>(broker, count, failure_rate).await
}
