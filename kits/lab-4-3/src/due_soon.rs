//! [`DueSoon`]: the records a retry level keeps in memory for their last
//! moments before they are due, in partition order.
//!
//! Why memory at all, when the level holds records in Kafka? A resumed
//! partition is fetched when librdkafka's broker thread next looks, and with
//! every partition of a level paused it may look only once a second; without
//! a lead, retries came up to a second late. So a level resumes a partition
//! [`RESUME_LEAD`](crate::retry_processor::RESUME_LEAD) before its record is
//! due, and what arrives due within the lead waits here, to start at its due
//! time to the millisecond. That is about a second of arrivals at most: a
//! record due later stops its partition again (held in Kafka).
//!
//! A record waiting here is not started: the window does not know it, so
//! nothing is committed past it, and neither is anything behind it (records
//! start in offset order, and everything that arrives behind a waiting record
//! waits behind it). Each entry carries its partition's epoch when it arrived;
//! once the partition is revoked (and maybe assigned again), its entries are
//! dropped, not started: the partition's owner reads them again from the
//! committed offset.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use harness::retry::RetryState;
use rdkafka::message::OwnedMessage;

use crate::retry_processor::until;

/// One record waiting for its due time.
pub struct Waiting {
    pub message: OwnedMessage,
    pub state: RetryState,
}

struct Queue {
    epoch: u64,
    records: VecDeque<Waiting>,
}

/// Records due soon, per partition, in offset order.
#[derive(Default)]
pub struct DueSoon {
    partitions: HashMap<i32, Queue>,
}

impl DueSoon {
    /// Does `partition` (now in `epoch`) have records waiting? Then a record of
    /// it that arrives now must wait behind them. A queue of an older epoch is
    /// dropped here.
    pub fn has(&mut self, partition: i32, epoch: u64) -> bool {
        self.drop_stale(partition, Some(epoch));
        self.partitions
            .get(&partition)
            .is_some_and(|queue| !queue.records.is_empty())
    }

    /// Queue `waiting` behind its partition's others (`epoch`: the partition's
    /// now).
    pub fn push(&mut self, partition: i32, epoch: u64, waiting: Waiting) {
        self.drop_stale(partition, Some(epoch));
        self.partitions
            .entry(partition)
            .or_insert_with(|| Queue {
                epoch,
                records: VecDeque::new(),
            })
            .records
            .push_back(waiting);
    }

    /// The next record of `partition` if it is due at `now_ms` and `may_start`
    /// says it may (its window has room). `epoch`: the partition's epoch now
    /// (`None`: revoked); a queue of another epoch is dropped instead.
    pub fn pop_due(
        &mut self,
        partition: i32,
        epoch: Option<u64>,
        now_ms: i64,
        may_start: impl FnOnce() -> bool,
    ) -> Option<Waiting> {
        self.drop_stale(partition, epoch);
        let queue = self.partitions.get_mut(&partition)?;
        let due = queue
            .records
            .front()
            .is_some_and(|first| first.state.due_ms <= now_ms);
        if !due || !may_start() {
            return None;
        }
        queue.records.pop_front()
    }

    /// Partitions with records waiting.
    pub fn partitions(&self) -> Vec<i32> {
        self.partitions
            .iter()
            .filter(|(_, queue)| !queue.records.is_empty())
            .map(|(&partition, _)| partition)
            .collect()
    }

    /// How long until the first record waiting in `partition` is due (zero if
    /// it is already, `None` if nothing waits there).
    pub fn front_due_in(&self, partition: i32, now_ms: i64) -> Option<Duration> {
        let first = self.partitions.get(&partition)?.records.front()?;
        Some(until(first.state.due_ms, now_ms))
    }

    fn drop_stale(&mut self, partition: i32, epoch: Option<u64>) {
        if self
            .partitions
            .get(&partition)
            .is_some_and(|queue| Some(queue.epoch) != epoch)
        {
            self.partitions.remove(&partition);
        }
    }
}
