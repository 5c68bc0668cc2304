//! Consumer lag: how far a group's committed offsets trail the log end.
//!
//! This is the harness's own measurement, used by graders and reports. (Lab 4.1
//! asks students to write the same calculation themselves; the grader compares
//! their answer with this one, so resist peeking!)

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::broker::Broker;
use crate::topics::partition_count;

/// The lag of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    pub partition: i32,
    /// The group's committed offset (the next record it will read), if it has one.
    pub committed: Option<i64>,
    pub low_watermark: i64,
    pub high_watermark: i64,
    pub lag: i64,
}

/// A group's lag on one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LagReport {
    pub topic: String,
    pub partitions: Vec<PartitionLag>,
}

impl LagReport {
    pub fn total(&self) -> i64 {
        self.partitions.iter().map(|p| p.lag).sum()
    }
}

/// Reads committed offsets and watermarks for one (group, topic). It never joins
/// the group: fetching committed offsets only needs the group id, so measuring
/// does not trigger a rebalance.
pub struct LagProbe {
    consumer: BaseConsumer,
    topic: String,
}

impl LagProbe {
    pub fn new(broker: &Broker, group_id: &str, topic: &str) -> anyhow::Result<LagProbe> {
        let consumer = broker
            .client_config()
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .create()
            .context("creating the lag probe")?;
        Ok(LagProbe {
            consumer,
            topic: topic.to_string(),
        })
    }

    /// The probe's consumer: configured with the group id, never subscribed.
    pub fn consumer(&self) -> &BaseConsumer {
        &self.consumer
    }

    /// Measure now (blocking: call it from a blocking thread).
    pub fn measure(&self) -> anyhow::Result<LagReport> {
        measure_lag(&self.consumer, &self.topic, Duration::from_secs(5))
    }
}

/// The reference lag calculation: committed offsets of `consumer`'s group against
/// the high watermarks of every partition of `topic`.
pub fn measure_lag(
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

/// One lag measurement, at `at_ms` after sampling started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LagSample {
    pub at_ms: u64,
    pub total_lag: i64,
}

/// Samples a group's lag in the background until stopped.
pub struct LagSampler {
    samples: Arc<Mutex<Vec<LagSample>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LagSampler {
    /// Sample `measure` (returning the total lag) every `every` on a thread of its own.
    pub fn start<F>(every: Duration, mut measure: F) -> LagSampler
    where
        F: FnMut() -> anyhow::Result<i64> + Send + 'static,
    {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (samples_by_thread, stop_by_thread) = (samples.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            while !stop_by_thread.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(total_lag) = measure() {
                    let sample = LagSample {
                        at_ms: started.elapsed().as_millis() as u64,
                        total_lag,
                    };
                    if let Ok(mut samples) = samples_by_thread.lock() {
                        samples.push(sample);
                    }
                }
                std::thread::sleep(every);
            }
        });
        LagSampler {
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// Stop sampling and return every sample taken.
    pub fn stop(mut self) -> Vec<LagSample> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for LagSampler {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The longest stretch during which the lag stayed positive and did not shrink:
/// the consumer made no progress at all. `(duration_ms, lag)`.
///
/// Samples before the lag first shrinks are ignored: until its first commit the
/// group is still joining, which is waiting, not stalling.
pub fn longest_stall(samples: &[LagSample]) -> (u64, i64) {
    let first_progress = samples
        .windows(2)
        .position(|w| w[1].total_lag < w[0].total_lag)
        .map_or(samples.len(), |index| index + 1);
    let samples = &samples[first_progress..];
    let mut best = (0, 0);
    let mut start: Option<LagSample> = None;
    for window in samples.windows(2) {
        let (previous, current) = (window[0], window[1]);
        if previous.total_lag > 0 && current.total_lag >= previous.total_lag {
            let first = *start.get_or_insert(previous);
            let stalled = current.at_ms - first.at_ms;
            if stalled > best.0 {
                best = (stalled, current.total_lag);
            }
        } else {
            start = None;
        }
    }
    best
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

    #[test]
    fn a_stall_is_a_stretch_of_positive_lag_that_does_not_shrink() {
        // 0-150 ms: joining (ignored); progress at 200; stalled at 4 from 200 to 450.
        let samples: Vec<LagSample> = [
            (0, 9),
            (150, 9),
            (200, 7),
            (300, 4),
            (400, 4),
            (450, 4),
            (500, 1),
            (600, 1),
        ]
        .into_iter()
        .map(|(at_ms, total_lag)| LagSample { at_ms, total_lag })
        .collect();
        assert_eq!(longest_stall(&samples), (150, 4));
        assert_eq!(longest_stall(&[]), (0, 0));
    }
}
