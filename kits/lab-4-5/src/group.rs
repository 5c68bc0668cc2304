//! [`Group`]: what the student's rebalance handlers may ask of the consumer
//! while a rebalance is in progress.
//!
//! The handlers run inside librdkafka's rebalance callback, on the poll thread,
//! *before* revoked partitions leave and *after* assigned ones arrive. That is the
//! last moment a member may commit what it is losing, so [`Group::commit_sync`]
//! is synchronous: when it returns, the broker has the offsets, and the next
//! owner starts right after them.

use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};

use crate::events::{EventKind, EventSink, MemberEvent};
use crate::work::{PartitionWork, WorkerKit};

/// The consumer, as the rebalance handlers see it.
pub struct Group<'a> {
    pub(crate) topic: &'a str,
    pub(crate) member: &'a str,
    pub(crate) incremental: bool,
    pub(crate) lost: bool,
    pub(crate) drain_timeout: Duration,
    pub(crate) kit: &'a WorkerKit,
    pub(crate) events: &'a EventSink,
    pub(crate) commit: &'a dyn Fn(&TopicPartitionList) -> rdkafka::error::KafkaResult<()>,
}

impl Group<'_> {
    /// Does this group rebalance incrementally (cooperative-sticky, the consumer
    /// protocol)? Then `on_assigned` lists only the *added* partitions and
    /// `on_revoked` only the *removed* ones: the member keeps the others, and
    /// keeps processing them, throughout. Under an eager strategy (range,
    /// roundrobin) every partition is revoked first, then the whole new
    /// assignment is given.
    pub fn incremental(&self) -> bool {
        self.incremental
    }

    /// Was the assignment *lost* rather than revoked? (The member was thrown out
    /// of the group: its session timed out, or it exceeded `max.poll.interval.ms`.)
    /// Then another member may already own these partitions and have processed
    /// past our offsets: committing now could move them backwards.
    pub fn assignment_lost(&self) -> bool {
        self.lost
    }

    /// How long a revocation may wait for the records in hand (the member must
    /// rejoin within `max.poll.interval.ms`, so keep it short).
    pub fn drain_timeout(&self) -> Duration {
        self.drain_timeout
    }

    /// Set up the work of a newly assigned partition: its queue and its worker.
    /// It starts from the group's committed offset (librdkafka fetches from there).
    pub fn start(&self, partition: i32) -> PartitionWork {
        PartitionWork::start(partition, self.kit)
    }

    /// Commit `(partition, next offset to read)` pairs synchronously.
    pub fn commit_sync(&self, offsets: &[(i32, i64)]) -> Result<(), String> {
        if offsets.is_empty() {
            return Ok(());
        }
        commit(
            self.topic,
            self.member,
            self.events,
            self.commit,
            offsets,
            "on revoke",
        )
    }
}

/// Commit `offsets` of `topic` through `commit_fn`, and publish the `Committed`
/// event (the grader checks that no member commits a partition it lost).
pub(crate) fn commit(
    topic: &str,
    member: &str,
    events: &EventSink,
    commit_fn: &dyn Fn(&TopicPartitionList) -> rdkafka::error::KafkaResult<()>,
    offsets: &[(i32, i64)],
    why: &str,
) -> Result<(), String> {
    let mut list = TopicPartitionList::new();
    for &(partition, offset) in offsets {
        // A valid offset cannot fail to be added to a list of this topic.
        let _ = list.add_partition_offset(topic, partition, Offset::Offset(offset));
    }
    // Published before the commit is sent: a commit attempt of a lost partition is
    // the zombie's mistake whether or not the broker then refuses it.
    let mut event = MemberEvent::new(member, EventKind::Committed);
    event.offsets = offsets.to_vec();
    event.partitions = offsets.iter().map(|&(p, _)| p).collect();
    event.detail = why.to_string();
    events.send(&event);
    commit_fn(&list).map_err(|error| {
        tracing::warn!(member, "commit {why} of {offsets:?} failed: {error}");
        error.to_string()
    })
}

/// A synchronous commit through `consumer` (for [`Group::commit`]).
pub(crate) fn sync_committer<C: ConsumerContext>(
    consumer: &impl Consumer<C>,
) -> impl Fn(&TopicPartitionList) -> rdkafka::error::KafkaResult<()> + '_ {
    move |list| consumer.commit(list, CommitMode::Sync)
}
