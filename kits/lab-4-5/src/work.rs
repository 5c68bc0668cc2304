//! One partition's work: a queue of fetched records and a worker task that
//! processes them in order, one at a time.
//!
//! The poll loop hands each record to its partition's [`PartitionWork`] and
//! goes back to polling at once, so partitions are processed in parallel and the
//! poll loop never waits for the gateway. That is also why a revocation can land
//! while a record is *in hand*: the worker is halfway through the gateway call
//! when the group takes its partition away. The revoke handler decides what
//! happens to it (and to the records still queued behind it), with the methods
//! below.
//!
//! The intake flag and the "record in hand" slot live under one lock, so
//! [`PartitionWork::stop_taking`] followed by [`PartitionWork::wait_idle`] is
//! exact: once `stop_taking` returns, the worker cannot start another record,
//! and once `wait_idle` returns `true`, the record that was in hand is done:
//! processed and its outcome acknowledged (then `next_offset` is past it), or,
//! if its outcome could not be reported before the partition closed, given up
//! and left uncommitted (`next_offset` is not past it: the next owner redoes it).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use harness::gateway::Gateway;
use harness::outcomes::{Outcome, OutcomeReporter, OutcomeStatus};
use rdkafka::message::OwnedMessage;
use rdkafka::Message;
use tokio::sync::mpsc;

/// What a partition's worker needs, shared by every partition of a member.
#[derive(Clone)]
pub struct WorkerKit {
    pub member: String,
    pub gateway: Gateway,
    pub reporter: OutcomeReporter,
    pub runtime: tokio::runtime::Handle,
}

/// How many fetched records one partition may queue before the poll loop waits
/// for its worker (back-pressure; the scenario's rate never gets there).
const QUEUE_LIMIT: usize = 1000;

#[derive(Default)]
struct Slot {
    /// Closed by `stop_taking`: the worker starts no record after that.
    closed: bool,
    /// The offset of the record being processed, if one is.
    in_hand: Option<i64>,
    /// One past the last record processed (its outcome acknowledged).
    next_offset: Option<i64>,
    /// Records handed over and not yet started.
    queued: usize,
}

struct Shared {
    slot: Mutex<Slot>,
    idle: Condvar,
}

impl Shared {
    fn slot(&self) -> MutexGuard<'_, Slot> {
        // A worker that panicked left its slot as it was: still the truth.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One owned partition's queue and worker. Dropping it stops the worker's
/// intake (the record in hand still finishes; the queued ones are abandoned).
pub struct PartitionWork {
    partition: i32,
    shared: Arc<Shared>,
    queue: mpsc::Sender<OwnedMessage>,
}

impl PartitionWork {
    /// Start the worker of `partition` (the kit calls this for
    /// [`crate::group::Group::start`]).
    pub(crate) fn start(partition: i32, kit: &WorkerKit) -> PartitionWork {
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot::default()),
            idle: Condvar::new(),
        });
        let (queue, records) = mpsc::channel(QUEUE_LIMIT);
        kit.runtime
            .spawn(work(partition, records, shared.clone(), kit.clone()));
        PartitionWork {
            partition,
            shared,
            queue,
        }
    }

    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// One past the last record this partition processed: the offset to commit
    /// (the next one to read). `None` before its first record.
    pub fn next_offset(&self) -> Option<i64> {
        self.shared.slot().next_offset
    }

    /// Stop taking records: the worker finishes the one in hand (if any) and
    /// starts no other. Records still queued are abandoned, never processed by
    /// this member: they are after the committed offset, so the partition's
    /// next owner reads them.
    pub fn stop_taking(&self) {
        self.shared.slot().closed = true;
    }

    /// Has [`PartitionWork::stop_taking`] been called?
    pub fn is_taking(&self) -> bool {
        !self.shared.slot().closed
    }

    /// Block until no record is in hand, at most `timeout`: `true` if the worker
    /// is idle. Call it after [`PartitionWork::stop_taking`], or another record
    /// may start right after. Blocks the calling thread (the rebalance callbacks
    /// run on the poll thread, never on the async runtime's workers).
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut slot = self.shared.slot();
        while slot.in_hand.is_some() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            slot = match self.shared.idle.wait_timeout(slot, left) {
                Ok((slot, _)) => slot,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    /// Records in the middle of processing right now (0 or 1).
    pub fn in_hand(&self) -> usize {
        usize::from(self.shared.slot().in_hand.is_some())
    }

    /// Records handed over and not started yet.
    pub fn queued(&self) -> usize {
        self.shared.slot().queued
    }

    /// Hand a fetched record to the worker (the poll loop does this). Waits on
    /// the calling (poll) thread while the queue is full.
    pub(crate) fn hand(&self, record: OwnedMessage) {
        self.shared.slot().queued += 1;
        if self.queue.blocking_send(record).is_err() {
            // The worker is gone (its runtime is shutting down): the record stays
            // uncommitted, so it is redelivered.
            self.shared.slot().queued -= 1;
        }
    }
}

impl Drop for PartitionWork {
    fn drop(&mut self) {
        self.stop_taking();
    }
}

/// The worker: records in order, one at a time, until the intake is closed.
async fn work(
    partition: i32,
    mut records: mpsc::Receiver<OwnedMessage>,
    shared: Arc<Shared>,
    kit: WorkerKit,
) {
    while let Some(record) = records.recv().await {
        {
            let mut slot = shared.slot();
            slot.queued = slot.queued.saturating_sub(1);
            if slot.closed {
                continue;
            }
            slot.in_hand = Some(record.offset());
        }
        let done = process(&record, &kit, &shared).await;
        let mut slot = shared.slot();
        if done {
            slot.next_offset = Some(record.offset() + 1);
        }
        slot.in_hand = None;
        shared.idle.notify_all();
    }
    tracing::debug!(member = %kit.member, partition, "worker stopped");
}

/// Process one record and report its outcome, retrying the report in place
/// until the broker acknowledges it. `false` if the partition was closed while
/// the report kept failing (the record is then not processed, as far as
/// commits go).
async fn process(record: &OwnedMessage, kit: &WorkerKit, shared: &Shared) -> bool {
    let verdict = kit.gateway.process(record.payload(), 1).await;
    let (status, error) = match verdict {
        Ok(_) => (OutcomeStatus::Processed, None),
        // Lab 4.5's gateway does not fail; a poison record is reported, not lost.
        Err(error) => (OutcomeStatus::Skipped, Some(error.to_string())),
    };
    let outcome = Outcome::for_message(record, status, 1, error, &kit.member);
    loop {
        match kit.reporter.report(&outcome).await {
            Ok(()) => return true,
            Err(error) => {
                tracing::warn!(member = %kit.member, "{error:#}; retrying");
                if shared.slot().closed {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
