//! Reference solution of Lab 4.1's graded piece: a consumer group's lag.

use std::time::Duration;

use anyhow::Context;
use harness::measure::lag::{LagReport, PartitionLag};
use lab_4_1_kit::Exercise;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// The reference answer.
pub struct Solution;

impl Exercise for Solution {
    /// The lag of `consumer`'s group on every partition of `topic`.
    fn consumer_lag(
        consumer: &BaseConsumer,
        topic: &str,
        timeout: Duration,
    ) -> anyhow::Result<LagReport> {
        // 1. How many partitions? Metadata knows.
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        let partition_count = metadata
            .topics()
            .first()
            .filter(|t| t.error().is_none())
            .map(|t| t.partitions().len() as i32)
            .with_context(|| format!("topic {topic} has no metadata"))?;

        // 2. One round trip for the committed offsets of every partition.
        let mut wanted = TopicPartitionList::new();
        for partition in 0..partition_count {
            wanted.add_partition(topic, partition);
        }
        let committed = consumer.committed_offsets(wanted, timeout)?;

        let mut partitions = Vec::with_capacity(partition_count as usize);
        for partition in 0..partition_count {
            // 3. The log's extent: [low, high).
            let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
            // A partition without a commit reports Offset::Invalid: the group has not
            // read anything yet, and would start at `low`.
            let committed = match committed
                .find_partition(topic, partition)
                .map(|e| e.offset())
            {
                Some(Offset::Offset(offset)) => Some(offset),
                _ => None,
            };
            // 4. Records the group has not committed past. Commits below `low` point at
            //    deleted records, so they count from `low`; lag is never negative.
            let position = committed.unwrap_or(low).max(low);
            partitions.push(PartitionLag {
                partition,
                committed,
                low_watermark: low,
                high_watermark: high,
                lag: (high - position).max(0),
            });
        }
        Ok(LagReport {
            topic: topic.to_string(),
            partitions,
        })
    }
}
