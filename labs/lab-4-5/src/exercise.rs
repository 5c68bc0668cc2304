//! YOUR TASK (graded): what a member does when the group gives it partitions
//! and takes them away. The rest of the lab is given.
//!
//! The member (kits/lab-4-5/src/member.rs) hands each record it fetches to its
//! partition's [`PartitionWork`], a queue with a worker that processes one
//! record at a time (50 ms each), while the poll loop keeps polling. So when a
//! rebalance takes a partition away, its worker is often halfway through a
//! record, with more queued behind it. Offsets are committed every 5 s, and
//! whenever you commit them yourself.
//!
//! This starter is the naive member, and each of its three habits costs
//! something the grader measures:
//!
//! 1. `on_revoked` does nothing. Nothing is committed before the partitions go,
//!    so their next owner redoes everything since the last periodic commit (up
//!    to 5 s of payments: duplicates). Their workers keep going, reporting
//!    payments of partitions this member no longer owns (zombie writes). And
//!    until the next `on_assigned` replaces the map, `owned` still says yes, so
//!    the periodic commit may commit them too.
//! 2. `on_assigned` replaces everything it had with what it is given: right
//!    under an eager strategy, where every partition was revoked first, but
//!    under cooperative-sticky and the consumer protocol it is given only the
//!    *added* partitions, and it forgets the ones it kept: they stop.
//! 3. `owned` trusts the map, so the map must be the truth.
//!
//! Check your work:  cargo grade lab-4-5
//! Watch it:         cargo run -p lab-4-5   (a timeline per strategy)

use std::collections::BTreeMap;

use lab_4_5_kit::{Exercise, Group, PartitionWork, Partitions};

/// Your implementation.
pub struct Starter;

impl Exercise for Starter {
    type Partitions = NaivePartitions;
}

/// The member's partitions. TODO(lab-4-5): keep the map true to what the group
/// says, through both kinds of rebalance.
#[derive(Default)]
pub struct NaivePartitions {
    work: BTreeMap<i32, PartitionWork>,
}

impl Partitions for NaivePartitions {
    fn on_assigned(&mut self, group: &Group<'_>, assigned: &[i32]) {
        // TODO(lab-4-5, step 2): under an incremental protocol (group.incremental())
        // `assigned` lists only the added partitions. Set up those, and keep the rest.
        self.work = assigned.iter().map(|&p| (p, group.start(p))).collect();
    }

    fn on_revoked(&mut self, _group: &Group<'_>, _revoked: &[i32]) {
        // TODO(lab-4-5, step 1), for the revoked partitions only, in this order:
        //   a. stop their work from taking another record (PartitionWork::stop_taking);
        //   b. wait for the record in hand (wait_idle), all of them together at most
        //      group.drain_timeout(): the poll thread, so every partition, waits too;
        //   c. commit their processed offsets (next_offset) with group.commit_sync,
        //      unless group.assignment_lost(): then another member may own them;
        //   d. forget them, so owned() says no.
    }

    fn owned(&self, partition: i32) -> Option<&PartitionWork> {
        // TODO(lab-4-5, step 3): right once the map is.
        self.work.get(&partition)
    }

    fn owned_partitions(&self) -> Vec<i32> {
        self.work.keys().copied().collect()
    }
}
