//! Consumer lag: how far a group's committed offsets trail the log end.
//!
//! The types and the sampling machinery only: the calculation itself is Lab 4.1's
//! exercise (`labs/lab-4-1/src/exercise.rs`), and the grader's own answer lives
//! with the grader's judgement (`lab_4_1_criteria::truth`), not here.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::BaseConsumer;
use serde::Serialize;

use crate::broker::Broker;

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

    /// The topic it measures.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The probe's consumer: configured with the group id, never subscribed.
    pub fn consumer(&self) -> &BaseConsumer {
        &self.consumer
    }
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
