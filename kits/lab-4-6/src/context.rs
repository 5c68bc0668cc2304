//! The rebalance callbacks: what happens to a partition's records in flight
//! when the group takes the partition away.
//!
//! librdkafka calls `pre_rebalance` on the thread that polls (the poll loop's
//! task), *before* the partitions leave. That is the last moment this member
//! may commit them, so it:
//!
//! 1. waits, bounded by `drain_timeout`, for their records in flight to finish
//!    (their acks arrive on the producers' own threads meanwhile); a record
//!    waiting to retry a forward that failed gives up instead (it is
//!    redelivered to the next owner), so an outage does not hold the group's
//!    rebalance for the whole drain;
//! 2. commits their committable offsets **synchronously**, unless the
//!    assignment was already lost (then another member may own them, and a
//!    commit from here could move its offsets: a zombie write);
//! 3. forgets them ([`Window::revoke`]), so a late finish of a record that did
//!    not drain is ignored, and that record is redelivered to the new owner.
//!
//! The wait blocks this worker thread, so it is done in
//! `tokio::task::block_in_place`: the runtime moves the thread's other tasks
//! (the record tasks among them) elsewhere meanwhile. On a current-thread
//! runtime there is nowhere to move them, so the drain is skipped (the commit
//! and the forgetting still happen).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use harness::measure::rebalance::RebalanceLog;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::{Offset, TopicPartitionList};

use crate::stats::WindowedStats;
use crate::window::Window;
use crate::OffsetTracker;

/// The consumer context of the windowed consumer.
pub struct WindowContext<T> {
    pub member: String,
    pub topic: String,
    pub window: Arc<Window<T>>,
    pub stats: Arc<WindowedStats>,
    pub rebalances: RebalanceLog,
    pub drain_timeout: Duration,
}

impl<T: OffsetTracker> ClientContext for WindowContext<T> {}

impl<T: OffsetTracker> ConsumerContext for WindowContext<T> {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        if self.window.crashed() {
            // Dropped mid-run, as a crash: no drain, no last commit.
            return;
        }
        let partitions = self.partitions_in(list);
        if partitions.is_empty() {
            return;
        }
        // Records waiting to retry a forward give up now (they are redelivered
        // to the next owner); the drain waits for the ones in flight.
        self.window.mark_draining(&partitions);
        let drained = self.drain(&partitions);
        if consumer.assignment_lost() {
            tracing::warn!(
                member = %self.member,
                "partitions {partitions:?} were lost (this member was thrown out of the group): not committing them"
            );
        } else {
            commit_sync(
                consumer,
                &self.topic,
                &self.window,
                &self.stats,
                &partitions,
            );
        }
        let abandoned = self.window.revoke(&partitions);
        if abandoned > 0 {
            self.stats
                .abandoned
                .fetch_add(abandoned as u64, Ordering::Relaxed);
        }
        tracing::info!(
            member = %self.member,
            "revoked partitions {partitions:?}: {}",
            if drained {
                "drained and committed".to_string()
            } else {
                format!("{abandoned} records still in flight after {} ms are left to the next owner", self.drain_timeout.as_millis())
            }
        );
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            // librdkafka keeps a partition's paused flag across a revoke and a new
            // assignment; the window starts afresh, so the partition must too.
            let _ = consumer.resume(list);
            self.window.assigned(&self.partitions_in(list));
        }
        self.rebalances.record(&self.member, rebalance);
    }
}

impl<T: OffsetTracker> WindowContext<T> {
    /// The partitions of this consumer's topic in a rebalance's `list`.
    fn partitions_in(&self, list: &TopicPartitionList) -> Vec<i32> {
        list.elements()
            .iter()
            .filter(|e| e.topic() == self.topic)
            .map(|e| e.partition())
            .collect()
    }

    fn drain(&self, partitions: &[i32]) -> bool {
        let multi_thread = tokio::runtime::Handle::try_current().is_ok_and(|handle| {
            handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        });
        if multi_thread {
            tokio::task::block_in_place(|| self.window.wait_drained(partitions, self.drain_timeout))
        } else {
            self.window.wait_drained(partitions, Duration::ZERO)
        }
    }
}

/// Commit, synchronously, the committable offsets of `partitions` (on revoke and
/// on shutdown: the last chance this member has).
pub fn commit_sync<C: ConsumerContext, T: OffsetTracker>(
    consumer: &impl Consumer<C>,
    topic: &str,
    window: &Window<T>,
    stats: &WindowedStats,
    partitions: &[i32],
) {
    let commits = window.take_commits(Some(partitions));
    if commits.is_empty() {
        return;
    }
    let list = offsets_list(topic, &commits);
    match consumer.commit(&list, CommitMode::Sync) {
        Ok(()) => {
            stats.commits.fetch_add(1, Ordering::Relaxed);
        }
        Err(error) => tracing::warn!(
            "could not commit {commits:?} of {topic}: {error} (those records will be redelivered)"
        ),
    }
}

/// A commit request: `(partition, next offset to read)` pairs of `topic`.
pub fn offsets_list(topic: &str, commits: &[(i32, i64)]) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for &(partition, offset) in commits {
        // A valid offset cannot fail to be added; a topic-less list cannot exist here.
        let _ = list.add_partition_offset(topic, partition, Offset::Offset(offset));
    }
    list
}
