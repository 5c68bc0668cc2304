//! Topics: unique names for tests, and explicit creation through the admin API.
//!
//! Our brokers run with `auto.create.topics.enable=false` (as production clusters
//! should), so a typo in a topic name fails loudly instead of silently creating a
//! new, empty topic that nobody reads. Every topic is created here, on purpose.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

use crate::broker::Broker;

/// A name no other test, run or process will use: `prefix-<pid>-<time>-<n>`.
/// Each test uses its own topics and group ids, so tests can run in parallel.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Create `topics` (name, partitions) if they do not exist, and wait until the
/// broker reports every one with its partitions in metadata.
pub async fn create_topics(broker: &Broker, topics: &[(&str, i32)]) -> anyhow::Result<()> {
    create_topics_with_config(broker, topics, &[]).await
}

/// [`create_topics`], with topic-level `config` (e.g. `cleanup.policy=compact`)
/// on every new topic. The embedded mock cluster ignores topic configs.
pub async fn create_topics_with_config(
    broker: &Broker,
    topics: &[(&str, i32)],
    config: &[(&str, &str)],
) -> anyhow::Result<()> {
    if let Some(embedded) = broker.embedded() {
        for (name, partitions) in topics {
            // "If they do not exist": a second service on the same topics is fine.
            match embedded.create_topic(name, *partitions) {
                Err(error) if !error.contains("TopicAlreadyExists") => {
                    bail!("cannot create topic {name} on the embedded cluster: {error}")
                }
                _ => {}
            }
        }
        return wait_for_topics(broker, topics).await;
    }
    let admin: AdminClient<DefaultClientContext> = broker
        .client_config()
        .create()
        .context("creating the admin client")?;
    let new_topics: Vec<NewTopic> = topics
        .iter()
        .map(|(name, partitions)| {
            config.iter().fold(
                NewTopic::new(name, *partitions, TopicReplication::Fixed(1)),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(10)))
        .request_timeout(Some(Duration::from_secs(15)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => bail!("cannot create topic {name}: {code}"),
        }
    }
    wait_for_topics(broker, topics).await
}

/// Creation is asynchronous on a real cluster: wait until metadata agrees.
pub async fn wait_for_topics(broker: &Broker, topics: &[(&str, i32)]) -> anyhow::Result<()> {
    let probe: BaseConsumer = broker.client_config().create()?;
    let wanted: Vec<(String, i32)> = topics.iter().map(|(n, p)| (n.to_string(), *p)).collect();
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ready = wanted.iter().all(|(name, partitions)| {
                probe
                    .fetch_metadata(Some(name), Duration::from_secs(5))
                    .ok()
                    .and_then(|m| {
                        m.topics().first().map(|t| {
                            t.error().is_none() && t.partitions().len() as i32 == *partitions
                        })
                    })
                    .unwrap_or(false)
            });
            if ready {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                let names: Vec<String> = wanted
                    .iter()
                    .map(|(name, partitions)| format!("{name} ({partitions} partitions)"))
                    .collect();
                bail!(
                    "topics {} did not appear in metadata within 30 s",
                    names.join(", ")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await?
}

/// Does `topic` exist? (Metadata says so, or says "unknown topic".)
pub async fn topic_exists(broker: &Broker, topic: &str) -> anyhow::Result<bool> {
    let probe: BaseConsumer = broker.client_config().create()?;
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let metadata = probe.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
        Ok(match metadata.topics().first() {
            None => false,
            Some(t) => match t.error() {
                None => !t.partitions().is_empty(),
                Some(rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => {
                    false
                }
                Some(error) => bail!(
                    "metadata of topic {topic}: {}",
                    RDKafkaErrorCode::from(error)
                ),
            },
        })
    })
    .await?
}

/// The number of partitions of `topic`, from metadata.
pub fn partition_count<C, X>(consumer: &C, topic: &str, timeout: Duration) -> anyhow::Result<i32>
where
    C: Consumer<X>,
    X: rdkafka::consumer::ConsumerContext,
{
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let topic_metadata = metadata
        .topics()
        .first()
        .with_context(|| format!("no metadata for topic {topic}"))?;
    if let Some(error) = topic_metadata.error() {
        bail!(
            "topic {topic}: {}",
            rdkafka::error::RDKafkaErrorCode::from(error)
        );
    }
    Ok(topic_metadata.partitions().len() as i32)
}

/// Kafka's DeleteRecords: move each listed partition's low watermark of `topic`
/// up to its cut (partition -> the first offset to keep). Kafka deletes
/// prefixes of a partition, never a record in the middle. The embedded mock has
/// no DeleteRecords: callers check [`Broker::embedded`] first.
pub async fn delete_records(
    broker: &Broker,
    topic: &str,
    cuts: &std::collections::BTreeMap<i32, i64>,
) -> anyhow::Result<()> {
    use rdkafka::{Offset, TopicPartitionList};

    let admin: AdminClient<DefaultClientContext> = broker
        .client_config()
        .create()
        .context("creating the admin client")?;
    let mut offsets = TopicPartitionList::new();
    for (partition, cut) in cuts {
        offsets.add_partition_offset(topic, *partition, Offset::Offset(*cut))?;
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(15)));
    let result = admin
        .delete_records(&offsets, &options)
        .await
        .with_context(|| format!("DeleteRecords on {topic}"))?;
    for element in result.elements() {
        if let Err(error) = element.error() {
            bail!(
                "DeleteRecords refused partition {} of {topic}: {error}",
                element.partition()
            );
        }
    }
    Ok(())
}

/// A consumer for reading `topic` without joining a group, and its partition
/// count. It has a throwaway group id (librdkafka wants one) but never commits
/// and is only ever `assign`ed, so it disturbs no consumer group's offsets.
pub fn group_free_reader(
    broker: &Broker,
    topic: &str,
) -> anyhow::Result<(rdkafka::consumer::StreamConsumer, i32)> {
    let consumer: rdkafka::consumer::StreamConsumer = broker
        .client_config()
        .set("group.id", unique_name("reader"))
        .set("enable.auto.commit", "false")
        // An assigned offset that was deleted meanwhile (a purge, retention)
        // restarts at the first record still there, not at the end.
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .create()
        .with_context(|| format!("creating a reader for {topic}"))?;
    let partitions = partition_count(&consumer, topic, Duration::from_secs(10))?;
    Ok((consumer, partitions))
}

/// Read every record of `topic` from the beginning up to the high watermarks seen
/// when it starts, then stop: "drained" means caught up with what was there.
///
/// It assigns partitions directly and never commits, so it disturbs no consumer
/// group's offsets, and reading the same topic twice gives the same answer.
pub async fn read_all(
    broker: &Broker,
    topic: &str,
    deadline: Duration,
) -> anyhow::Result<Vec<rdkafka::message::OwnedMessage>> {
    use rdkafka::{Message, Offset, TopicPartitionList};

    // Metadata and watermark calls block: keep them off the async runtime.
    let (reader_broker, name) = (broker.clone(), topic.to_string());
    let (consumer, mut remaining) = tokio::task::spawn_blocking(move || {
        let (consumer, partitions) = group_free_reader(&reader_broker, &name)?;
        let mut remaining = std::collections::BTreeMap::new();
        let mut assignment = TopicPartitionList::new();
        for partition in 0..partitions {
            let (low, high) =
                consumer.fetch_watermarks(&name, partition, Duration::from_secs(10))?;
            if high > low {
                remaining.insert(partition, high);
                assignment.add_partition_offset(&name, partition, Offset::Offset(low))?;
            }
        }
        if !remaining.is_empty() {
            consumer.assign(&assignment)?;
        }
        anyhow::Ok((consumer, remaining))
    })
    .await??;
    let consumer = std::sync::Arc::new(consumer);
    let mut records = Vec::new();
    let started = std::time::Instant::now();
    let mut last_check = started;
    while !remaining.is_empty() {
        let left = deadline.saturating_sub(started.elapsed());
        if left.is_zero() {
            bail!("{topic} was not drained within {deadline:?}; partitions left (partition -> end offset): {remaining:?}");
        }
        // Every second, whatever the traffic on other partitions: were records
        // still awaited deleted meanwhile (a purge, retention)? Then there is
        // nothing left to wait for on that partition.
        let received = if last_check.elapsed() >= Duration::from_secs(1) {
            None
        } else {
            tokio::time::timeout(left.min(Duration::from_secs(1)), consumer.recv())
                .await
                .ok()
        };
        let message = match received {
            None => {
                last_check = std::time::Instant::now();
                let (probe, name) = (consumer.clone(), topic.to_string());
                let awaited: Vec<(i32, i64)> = remaining.iter().map(|(p, e)| (*p, *e)).collect();
                let gone: Vec<i32> = tokio::task::spawn_blocking(move || {
                    awaited
                        .into_iter()
                        .filter(|(p, end)| {
                            probe
                                .fetch_watermarks(&name, *p, Duration::from_secs(5))
                                .is_ok_and(|(low, _)| low >= *end)
                        })
                        .map(|(p, _)| p)
                        .collect()
                })
                .await?;
                for partition in gone {
                    remaining.remove(&partition);
                }
                continue;
            }
            Some(result) => result?,
        };
        // Records past the end offset seen at the start belong to the next read.
        let Some(&end) = remaining.get(&message.partition()) else {
            continue;
        };
        if message.offset() < end {
            records.push(message.detach());
        }
        if message.offset() + 1 >= end {
            remaining.remove(&message.partition());
        }
    }
    Ok(records)
}
