//! The grader's own consumer lag: committed offsets against watermarks,
//! computed independently of the student's `exercise.rs`. The graded criterion
//! `consumer_lag_matches_watermarks` compares the two, and the lag-stall
//! observation samples with it, so a wrong student answer cannot hide a stall.

use std::time::Duration;

use harness::measure::lag::{LagReport, PartitionLag};
use harness::topics::partition_count;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// The reference lag calculation: committed offsets of `consumer`'s group against
/// the high watermarks of every partition of `topic`.
pub fn reference_lag(
    consumer: &BaseConsumer,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<LagReport> {
    let partitions = partition_count(consumer, topic, timeout)?;
    let mut wanted = TopicPartitionList::new();
    for partition in 0..partitions {
        wanted.add_partition(topic, partition);
    }
    let committed = consumer.committed_offsets(wanted, timeout)?;
    let mut report = LagReport {
        topic: topic.to_string(),
        partitions: Vec::new(),
    };
    for partition in 0..partitions {
        let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
        let committed =
            committed
                .find_partition(topic, partition)
                .and_then(|element| match element.offset() {
                    Offset::Offset(offset) => Some(offset),
                    _ => None,
                });
        report.partitions.push(PartitionLag {
            partition,
            committed,
            low_watermark: low,
            high_watermark: high,
            lag: partition_lag(committed, low, high),
        });
    }
    Ok(report)
}

/// Lag of one partition. Without a committed offset the group would start at the
/// low watermark (`auto.offset.reset=earliest`), so everything retained is lag. A
/// committed offset below the low watermark (retention deleted records the group
/// never read) also counts from the low watermark.
pub fn partition_lag(committed: Option<i64>, low_watermark: i64, high_watermark: i64) -> i64 {
    let position = committed.unwrap_or(low_watermark).max(low_watermark);
    (high_watermark - position).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_counts_from_the_committed_offset_or_the_low_watermark() {
        assert_eq!(partition_lag(Some(3), 0, 10), 7);
        assert_eq!(partition_lag(None, 0, 10), 10);
        assert_eq!(partition_lag(None, 4, 10), 6);
        assert_eq!(partition_lag(Some(2), 5, 10), 5);
        assert_eq!(partition_lag(Some(10), 0, 10), 0);
        assert_eq!(partition_lag(None, 0, 0), 0);
    }
}
