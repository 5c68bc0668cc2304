//! Waiting without sleeping: the partitions a retry level has paused, and when
//! to resume each one (seeds 002 and 003).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::TopicPartitionList;

/// Partitions a retry level has paused, and when to resume each one.
///
/// Pausing is how a Kafka consumer waits without sleeping (seeds 002 and 003):
/// the paused partition's fetches stop and anything already fetched from it is
/// dropped, while `poll` keeps being called, so the member stays in its group
/// and every other partition keeps flowing. Paired with a seek back to the
/// waiting record, the record stays in Kafka, not in memory.
///
/// Each pause carries the window's epoch of its partition (see
/// `lab_4_6_kit::window::Window::assigned`): once the partition is revoked,
/// and maybe assigned again, the pause is someone else's history, and the
/// records it would have dropped are the new assignment's to start.
#[derive(Debug, Default)]
pub struct PausedPartitions {
    paused: HashMap<i32, Pause>,
}

#[derive(Debug, Clone, Copy)]
struct Pause {
    resume_at: Instant,
    /// The offset the partition was sought back to.
    from: i64,
    epoch: u64,
}

impl PausedPartitions {
    /// Remember that `partition` (in `epoch`) is paused at `offset` until
    /// `resume_at`.
    pub fn insert(&mut self, partition: i32, offset: i64, epoch: u64, resume_at: Instant) {
        let pause = Pause {
            resume_at,
            from: offset,
            epoch,
        };
        self.paused.insert(partition, pause);
    }

    /// Resume every partition whose time has come.
    pub fn resume_due<C: ConsumerContext>(&mut self, consumer: &impl Consumer<C>, topic: &str) {
        let now = Instant::now();
        self.paused.retain(|&partition, pause| {
            if pause.resume_at > now {
                return true;
            }
            let mut list = TopicPartitionList::new();
            list.add_partition(topic, partition);
            // Revoked meanwhile: its new owner starts it afresh. (Resuming a
            // partition that is not paused does nothing.)
            let _ = consumer.resume(&list);
            false
        });
    }

    /// Is this record one a paused partition will deliver again? (A record
    /// fetched before the pause can still surface once; the seek brings it back
    /// anyway.) `epoch`: its partition's epoch now; a pause from an earlier one
    /// no longer counts.
    pub fn will_redeliver(&self, partition: i32, offset: i64, epoch: u64) -> bool {
        self.paused
            .get(&partition)
            .is_some_and(|pause| pause.epoch == epoch && offset >= pause.from)
    }

    /// How long a level may block in `recv` before a partition is due: at most
    /// `cap`, so the stop flag is seen promptly too.
    pub fn wait_budget(&self, cap: Duration) -> Duration {
        let now = Instant::now();
        self.paused
            .values()
            .map(|pause| pause.resume_at.saturating_duration_since(now))
            .min()
            .unwrap_or(cap)
            .min(cap)
    }

    pub fn len(&self) -> usize {
        self.paused.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paused.is_empty()
    }
}
