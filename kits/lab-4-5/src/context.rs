//! The rebalance callbacks: librdkafka calls them on the poll thread, and they
//! call the student's handlers ([`crate::Partitions`]) with a [`Group`], then
//! publish what happened as a member event and log it in one line.
//!
//! rust-rdkafka's default `rebalance` is kept: it calls `pre_rebalance`, then
//! `assign`/`unassign` (or, under an incremental protocol, `incremental_assign`
//! / `incremental_unassign` with only the changed partitions), then
//! `post_rebalance`. So a revocation is handled in `pre_rebalance` (the
//! partitions are still ours: we may commit them) and an assignment in
//! `post_rebalance` (they are ours now). Overriding `rebalance` itself and
//! calling `assign()` under cooperative-sticky is a known trap: the consumer then
//! consumes nothing (rust-rdkafka #363).

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, RebalanceProtocol};
use rdkafka::TopicPartitionList;

use crate::events::{EventKind, EventSink, MemberEvent};
use crate::group::{sync_committer, Group};
use crate::work::WorkerKit;
use crate::Partitions;

/// The consumer context of a member: the student's partition state behind a
/// lock (the poll thread is its only user; the lock makes the context `Sync`).
pub struct MemberContext<P> {
    pub member: String,
    pub topic: String,
    pub partitions: Mutex<P>,
    pub kit: WorkerKit,
    pub events: EventSink,
    pub drain_timeout: Duration,
}

impl<P: Partitions> MemberContext<P> {
    pub fn partitions(&self) -> MutexGuard<'_, P> {
        self.partitions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn group<'a>(
        &'a self,
        consumer: &BaseConsumer<Self>,
        commit: &'a dyn Fn(&TopicPartitionList) -> rdkafka::error::KafkaResult<()>,
        lost: bool,
    ) -> Group<'a> {
        Group {
            topic: &self.topic,
            member: &self.member,
            incremental: matches!(
                consumer.rebalance_protocol(),
                RebalanceProtocol::Cooperative
            ),
            lost: lost || consumer.assignment_lost(),
            drain_timeout: self.drain_timeout,
            kit: &self.kit,
            events: &self.events,
            commit,
        }
    }

    fn ours(&self, list: &TopicPartitionList) -> Vec<i32> {
        let mut partitions: Vec<i32> = list
            .elements()
            .iter()
            .filter(|e| e.topic() == self.topic)
            .map(|e| e.partition())
            .collect();
        partitions.sort_unstable();
        partitions
    }
}

impl<P: Partitions> ClientContext for MemberContext<P> {}

impl<P: Partitions> ConsumerContext for MemberContext<P> {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut partitions = self.partitions();
        let (revoked, failed) = match rebalance {
            Rebalance::Revoke(list) => (self.ours(list), false),
            // A failed rebalance: rust-rdkafka's default then unassigns
            // everything, so the handler must let everything go, as if lost
            // (another member may own the partitions by now).
            Rebalance::Error(error) => {
                tracing::warn!(
                    "{}: rebalance error: {error}; letting every partition go",
                    self.member
                );
                (partitions.owned_partitions(), true)
            }
            Rebalance::Assign(_) => return,
        };
        if revoked.is_empty() {
            return;
        }
        let began = Instant::now();
        let committer = sync_committer(consumer);
        let group = self.group(consumer, &committer, failed);
        let (in_hand, queued) = revoked
            .iter()
            .filter_map(|&p| partitions.owned(p))
            .fold((0, 0), |(h, q), work| {
                (h + work.in_hand(), q + work.queued())
            });
        partitions.on_revoked(&group, &revoked);
        let mut event = MemberEvent::new(
            &self.member,
            if group.assignment_lost() {
                EventKind::Lost
            } else {
                EventKind::Revoked
            },
        );
        event.partitions = revoked.clone();
        event.in_hand = in_hand;
        event.queued = queued;
        event.took_ms = began.elapsed().as_millis() as i64;
        self.events.send(&event);
        tracing::info!(
            "{}: {} {revoked:?} in {} ms ({in_hand} in hand, {queued} queued when it began); keeps {:?}",
            self.member,
            if group.assignment_lost() { "LOST" } else { "revoked" },
            event.took_ms,
            partitions.owned_partitions()
        );
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let assigned = self.ours(list);
                let committer = sync_committer(consumer);
                let group = self.group(consumer, &committer, false);
                let mut partitions = self.partitions();
                partitions.on_assigned(&group, &assigned);
                let mut event = MemberEvent::new(&self.member, EventKind::Assigned);
                event.partitions = assigned.clone();
                event.detail = if group.incremental() {
                    "incremental".into()
                } else {
                    "eager".into()
                };
                self.events.send(&event);
                tracing::info!(
                    "{}: assigned {assigned:?} ({}); owns {:?}",
                    self.member,
                    event.detail,
                    partitions.owned_partitions()
                );
            }
            // Handled in pre_rebalance, before the partitions left.
            Rebalance::Revoke(_) | Rebalance::Error(_) => {}
        }
    }
}
