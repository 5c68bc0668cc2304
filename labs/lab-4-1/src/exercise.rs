//! YOUR TASK (graded): compute a consumer group's lag.
//!
//! Lag answers "how far behind is this group?": for each partition, how many
//! records have been written that the group has not yet committed past. The lab's
//! report uses your function to show what the fragile consumer's retry loops do to
//! lag, and the criterion `consumer_lag_matches_watermarks` checks it against a
//! real broker.
//!
//! The `consumer` you get is configured with the group's `group.id`, but it never
//! subscribes, so asking it questions does not disturb the group.
//!
//! Run the check:  cargo grade lab-4-1

use std::time::Duration;

use harness::measure::lag::LagReport;
use lab_4_1_kit::Exercise;
use rdkafka::consumer::BaseConsumer;

/// Your implementation.
pub struct Starter;

impl Exercise for Starter {
    /// The lag of `consumer`'s group on every partition of `topic`.
    fn consumer_lag(
        consumer: &BaseConsumer,
        topic: &str,
        timeout: Duration,
    ) -> anyhow::Result<LagReport> {
        // TODO(lab-4-1): compute the lag of every partition of `topic`.
        //
        // 1. Find how many partitions `topic` has: `consumer.fetch_metadata(Some(topic), timeout)`
        //    (or `harness::topics::partition_count`).
        // 2. Ask for the group's committed offsets: build a `TopicPartitionList` with every
        //    partition and call `consumer.committed_offsets(list, timeout)`.
        //    A partition with no commit has an offset that is not `Offset::Offset(n)`.
        // 3. For each partition, `consumer.fetch_watermarks(topic, partition, timeout)` gives
        //    `(low, high)`: the first retained offset and the next offset to be written.
        // 4. lag = high - committed. Think about the edge cases:
        //    - no committed offset: the group would start at `low` (auto.offset.reset=earliest);
        //    - a committed offset below `low` (retention deleted records nobody read);
        //    - lag is never negative.
        // 5. Return a `PartitionLag` per partition, in partition order.
        let _ = (consumer, timeout);
        Ok(LagReport {
            topic: topic.to_string(),
            partitions: Vec::new(),
        })
    }
}
