//! The DLQ consumer's throughput at zero processing cost, on a fresh topic of
//! its own, measured the way the raw baselines (`harness::measure::throughput`)
//! are: from its first record until every payment is processed or
//! dead-lettered and the group has committed the end of the topic. The
//! `patterns` bench reports it against those baselines, in the same run.

use std::sync::atomic::Ordering;
use std::time::Duration;

use harness::dead_letter::dlq_topic;
use harness::gateway::Gateway;
use harness::measure::throughput;
use harness::outcomes::outcomes_topic;
use harness::topics::{create_topics, unique_name};
use harness::Broker;
use lab_4_2_kit::dlq_consumer::{DlqConsumerConfig, RunningDlqConsumer};
use lab_4_2_kit::Exercise;

use crate::scenario::PARTITIONS;

/// `E`'s DLQ consumer on `count` payments, free gateway, `failure_rate` of
/// them failing (each dead-lettered): the time from its first record until
/// every payment is handled and the group has committed the end of the topic.
pub async fn dlq_consumer_throughput<E: Exercise>(
    broker: &Broker,
    count: usize,
    failure_rate: f64,
) -> anyhow::Result<Duration> {
    let (topic, workload) =
        throughput::payments_topic(broker, "lab42-throughput", PARTITIONS, count, failure_rate)
            .await?;
    let (dlq, outcomes) = (dlq_topic(&topic), outcomes_topic(&topic));
    create_topics(broker, &[(&dlq, PARTITIONS), (&outcomes, 1)]).await?;
    let group = unique_name("dlq-payment-processor");
    let config = DlqConsumerConfig {
        topic: topic.clone(),
        dlq_topic: dlq,
        group_id: group.clone(),
        member: "dlq-consumer".into(),
        gateway: Gateway::new(workload.gateway.mix.clone()).with_processing_time(Duration::ZERO),
    };
    let running = RunningDlqConsumer::spawn::<E>(broker, config, &outcomes)?;
    let stats = running.stats.clone();
    let handled =
        || stats.processed.load(Ordering::Relaxed) + stats.dead_lettered.load(Ordering::Relaxed);
    let first_record_at_ms = || stats.window.first_record_at_ms.load(Ordering::Relaxed);
    let elapsed = throughput::wait_handled_and_committed(
        broker,
        "the DLQ consumer",
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
