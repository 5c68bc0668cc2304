//! [`Backlog`]: records that arrived while their partition's window was full,
//! kept in order, per partition, up to a limit.
//!
//! Why not simply pause a partition the moment its window fills? Because
//! `pause()` makes librdkafka drop what it had already fetched for that
//! partition, and a resumed partition waits to join the next fetch request.
//! The request in flight, for the partitions that have caught up with the end
//! of their log, is held by the broker for up to `fetch.wait.max.ms` (500 ms by
//! default, 50 ms on the windowed consumer), so a resume costs up to that wait
//! and a fetch round trip. Paid once per window, that cost dominates: with the
//! default wait, a window of 1 that paused at once ran at 7 payments per
//! second. So a full partition first parks what keeps arriving, and the poll
//! loop pauses it only when its backlog is full too; by the time it is resumed
//! (half the backlog worked off), the refetch overlaps the work on the other
//! half.
//!
//! A parked record is not started: the tracker does not know it, nothing is
//! committed past it (its offset is above every started one of its partition),
//! and a crash simply delivers it again. The backlog is dropped when its
//! partition is revoked: the next owner reads those records from the committed
//! offset.

use std::collections::{HashMap, VecDeque};

use rdkafka::message::OwnedMessage;

struct Parked {
    /// The window's epoch of the partition when these records arrived: a
    /// different one means it was revoked (and maybe assigned again) since.
    epoch: u64,
    records: VecDeque<OwnedMessage>,
    paused: bool,
}

/// Parked records per partition, and which partitions the poll loop paused
/// because their backlog was full.
pub struct Backlog {
    limit: usize,
    partitions: HashMap<i32, Parked>,
    /// Per partition, the epoch and the offset after the last record received
    /// (started or parked): where its fetch must resume.
    positions: HashMap<i32, (u64, i64)>,
}

impl Backlog {
    /// A backlog of at most about `limit` records per partition (at least 1).
    pub fn new(limit: usize) -> Backlog {
        Backlog {
            limit: limit.max(1),
            partitions: HashMap::new(),
            positions: HashMap::new(),
        }
    }

    /// Does `partition` have parked records? (Then a new record of it must
    /// queue behind them: records start in offset order.)
    pub fn has(&self, partition: i32) -> bool {
        self.partitions
            .get(&partition)
            .is_some_and(|parked| !parked.records.is_empty())
    }

    pub fn is_empty(&self) -> bool {
        self.partitions.values().all(|p| p.records.is_empty())
    }

    /// Park `message` (its partition's epoch is `epoch`). True when the caller
    /// should pause the partition now: its backlog is full and not yet paused.
    pub fn park(&mut self, epoch: u64, message: OwnedMessage) -> bool {
        let partition = rdkafka::Message::partition(&message);
        let parked = self.partitions.entry(partition).or_insert(Parked {
            epoch,
            records: VecDeque::new(),
            paused: false,
        });
        if parked.epoch != epoch {
            // Revoked and assigned again since: the old records are not ours.
            parked.epoch = epoch;
            parked.records.clear();
            parked.paused = false;
        }
        parked.records.push_back(message);
        let pause = !parked.paused && parked.records.len() >= self.limit;
        parked.paused |= pause;
        pause
    }

    /// The next parked record of `partition`, if its epoch is still `epoch`
    /// (`None` drops a stale backlog).
    pub fn next(&mut self, partition: i32, epoch: Option<u64>) -> Option<OwnedMessage> {
        let parked = self.partitions.get_mut(&partition)?;
        if Some(parked.epoch) != epoch {
            self.partitions.remove(&partition);
            return None;
        }
        parked.records.pop_front()
    }

    /// Partitions with parked records, for the caller to try to start them.
    pub fn partitions(&self) -> Vec<i32> {
        self.partitions
            .iter()
            .filter(|(_, parked)| !parked.records.is_empty())
            .map(|(&partition, _)| partition)
            .collect()
    }

    /// The poll loop received the record at `offset` of `partition` (in
    /// `epoch`): its fetch resumes after it.
    pub fn received(&mut self, partition: i32, epoch: u64, offset: i64) {
        self.positions.insert(partition, (epoch, offset + 1));
    }

    /// Paused partitions whose backlog is down to half: marked unpaused, for
    /// the caller to resume, each with the offset its fetch resumes from (the
    /// one after the last record received). `epoch_of` gives a partition's
    /// epoch now: a partition revoked since it was paused is forgotten instead
    /// (its new assignment was resumed, and fetches from the committed offset).
    pub fn take_resumable(&mut self, epoch_of: impl Fn(i32) -> Option<u64>) -> Vec<(i32, i64)> {
        let low = self.limit / 2;
        let mut resumable = Vec::new();
        let positions = &self.positions;
        self.partitions.retain(|&partition, parked| {
            if !parked.paused || parked.records.len() > low {
                return true;
            }
            let now = epoch_of(partition);
            if now != Some(parked.epoch) {
                return false;
            }
            parked.paused = false;
            if let Some(&(epoch, next)) = positions.get(&partition) {
                if Some(epoch) == now {
                    resumable.push((partition, next));
                }
            }
            true
        });
        resumable
    }

    /// Records parked over every partition.
    pub fn len(&self) -> usize {
        self.partitions.values().map(|p| p.records.len()).sum()
    }
}
