//! Reference solution of Lab 4.6: the contiguous-prefix offset tracker.

use std::collections::{HashMap, VecDeque};

use lab_4_6_kit::{Exercise, OffsetTracker};

pub struct Solution;

impl Exercise for Solution {
    type Tracker = PrefixTracker;
    // Enough in flight that the forwards of many records share librdkafka's
    // batches (each record waits milliseconds for its acks), so a partition
    // rarely fills and parks records. Small enough that a crash redelivers at
    // most this many per partition, and that a partition stuck behind a DLQ
    // outage holds a bounded amount.
    const WINDOW: usize = 2000;
}

/// Per partition, the records started and not yet behind the committable
/// offset, in the order they were read, each with whether it has finished.
#[derive(Default)]
pub struct PrefixTracker {
    partitions: HashMap<i32, PartitionTrack>,
}

#[derive(Default)]
struct PartitionTrack {
    /// Started records not yet released, oldest first. Offsets only grow, so
    /// this stays sorted, and a finish finds its record by binary search.
    pending: VecDeque<(i64, bool)>,
    /// One past the last record released: what is safe to commit.
    committable: Option<i64>,
}

impl OffsetTracker for PrefixTracker {
    fn started(&mut self, partition: i32, offset: i64) {
        self.partitions
            .entry(partition)
            .or_default()
            .pending
            .push_back((offset, false));
    }

    fn finished(&mut self, partition: i32, offset: i64) {
        let Some(track) = self.partitions.get_mut(&partition) else {
            // Never started, or revoked since: nothing of ours to release.
            return;
        };
        let Ok(index) = track.pending.binary_search_by_key(&offset, |&(o, _)| o) else {
            return;
        };
        track.pending[index].1 = true;
        // Release the finished run at the front. Its last offset + 1 is the
        // commit: the *next* offset to read, whatever offsets the partition
        // skips (a gap is never "waited for", because only started records are
        // in the queue).
        while let Some(&(front, true)) = track.pending.front() {
            track.committable = Some(front + 1);
            track.pending.pop_front();
        }
    }

    fn committable(&self, partition: i32) -> Option<i64> {
        self.partitions.get(&partition)?.committable
    }

    fn revoked(&mut self, partition: i32) {
        // Its records in flight belong to the next owner now, and so does its
        // committed offset: a later assignment starts from scratch.
        self.partitions.remove(&partition);
    }
}
