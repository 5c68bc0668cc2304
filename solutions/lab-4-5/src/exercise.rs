//! The reference answer of Lab 4.5: a member that commits what it processed
//! before its partitions leave, never touches a partition it no longer owns,
//! and keeps its other partitions flowing through an incremental rebalance.

use std::collections::BTreeMap;
use std::time::Instant;

use lab_4_5_kit::{Exercise, Group, PartitionWork, Partitions};

/// The reference solution.
pub struct Solution;

impl Exercise for Solution {
    type Partitions = OwnedPartitions;
}

/// The partitions this member owns, and nothing else.
#[derive(Default)]
pub struct OwnedPartitions {
    work: BTreeMap<i32, PartitionWork>,
}

impl Partitions for OwnedPartitions {
    fn on_assigned(&mut self, group: &Group<'_>, assigned: &[i32]) {
        // Eager: the map is empty here (everything was revoked first). Incremental:
        // `assigned` is only what was added, and the partitions kept stay as they
        // are, their workers never interrupted. Either way: add, never replace.
        for &partition in assigned {
            self.work
                .entry(partition)
                .or_insert_with(|| group.start(partition));
        }
    }

    fn on_revoked(&mut self, group: &Group<'_>, revoked: &[i32]) {
        // a. No new record may start on a partition that is leaving. All of them
        //    first, so their records in hand finish in parallel, not in turn.
        for work in revoked.iter().filter_map(|p| self.work.get(p)) {
            work.stop_taking();
        }
        // b. Let the records in hand finish (their outcomes acknowledged), so the
        //    commit below covers them: the next owner will not redo them. One that
        //    does not finish in time is left to the next owner (a duplicate, never
        //    a loss: its offset is not committed). One deadline for them all: the
        //    poll thread is blocked meanwhile, for every partition of this member.
        let deadline = Instant::now() + group.drain_timeout();
        for work in revoked.iter().filter_map(|p| self.work.get(p)) {
            if !work.wait_idle(deadline.saturating_duration_since(Instant::now())) {
                tracing::warn!(
                    "partition {}: the record in hand did not finish in {:?}; its next owner redoes it",
                    work.partition(),
                    group.drain_timeout()
                );
            }
        }
        // c. Commit, synchronously: when the next owner starts, it reads from here.
        //    Not when the assignment was lost: another member may already own these
        //    partitions and have committed further; ours would move them back.
        if !group.assignment_lost() {
            let offsets: Vec<(i32, i64)> = revoked
                .iter()
                .filter_map(|p| Some((*p, self.work.get(p)?.next_offset()?)))
                .collect();
            if let Err(error) = group.commit_sync(&offsets) {
                tracing::warn!("commit on revoke failed ({error}): those records are redelivered");
            }
        }
        // d. Forget them: `owned` says no from here on, so nothing of theirs is
        //    processed or committed by this member again.
        for partition in revoked {
            self.work.remove(partition);
        }
    }

    fn owned(&self, partition: i32) -> Option<&PartitionWork> {
        self.work.get(&partition)
    }

    fn owned_partitions(&self) -> Vec<i32> {
        self.work.keys().copied().collect()
    }
}
