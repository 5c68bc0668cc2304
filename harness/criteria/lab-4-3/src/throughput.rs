//! The retry consumer's throughput at zero processing cost, on a fresh topic of
//! its own, measured the way the raw baselines (`harness::measure::throughput`)
//! are: from its first record until its last payment is handled and committed. `targets` and the
//! `patterns` bench report it against those baselines, in the same run.

use std::sync::atomic::Ordering;
use std::time::Duration;

use harness::backoff::BackoffPolicy;
use harness::gateway::Gateway;
use harness::measure::throughput;
use harness::topics::{create_topics, unique_name};
use harness::workload::Workload;
use harness::Broker;
use lab_4_3_kit::pipeline::{GroupTimeouts, Pipeline};
use lab_4_3_kit::running::{Role, RunningPipeline};
use lab_4_3_kit::Exercise;

use crate::scenario::PARTITIONS;

/// `count` payments on a fresh topic of the pipeline's partition count, a
/// `failure_rate` of them failing at the gateway (see
/// `harness::measure::throughput::payments_topic`).
pub async fn payments_topic(
    broker: &Broker,
    count: usize,
    failure_rate: f64,
) -> anyhow::Result<(String, Workload)> {
    throughput::payments_topic(broker, "lab43-throughput", PARTITIONS, count, failure_rate).await
}

/// `E`'s retry consumer alone (no levels), free gateway, `failure_rate`
/// failures: the time from its first record until every payment is processed,
/// sent to retry-1, or dead-lettered, and the group has committed the end of
/// the topic (where the raw loops' clocks stop too).
pub async fn retry_consumer_throughput<E: Exercise>(
    broker: &Broker,
    count: usize,
    failure_rate: f64,
) -> anyhow::Result<Duration> {
    let (topic, workload) = payments_topic(broker, count, failure_rate).await?;
    let gateway = Gateway::new(workload.gateway.mix.clone()).with_processing_time(Duration::ZERO);
    let mut pipeline = Pipeline::new(&topic, BackoffPolicy::seed_levels(), gateway);
    let group = unique_name("retry-payment-processor");
    pipeline.consumer_group = group.clone();
    pipeline.timeouts = GroupTimeouts::PRODUCTION;
    let other_topics: Vec<(String, i32)> =
        pipeline.topics(PARTITIONS).into_iter().skip(1).collect();
    let refs: Vec<(&str, i32)> = other_topics.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    create_topics(broker, &refs).await?;
    let running = RunningPipeline::<E>::start(broker, pipeline, &[Role::Consumer])?;
    let stats = running.stats.clone();
    let handled = || {
        stats.processed.load(Ordering::Relaxed)
            + stats.dead_lettered.load(Ordering::Relaxed)
            + stats.sent_to_level[1].load(Ordering::Relaxed)
    };
    let first_record_at_ms = || stats.first_record_at_ms.load(Ordering::Relaxed);
    let elapsed = throughput::wait_handled_and_committed(
        broker,
        "the retry consumer",
        (&topic, PARTITIONS),
        &group,
        count,
        handled,
        first_record_at_ms,
    )
    .await?;
    running.stop().await?;
    Ok(elapsed)
}
