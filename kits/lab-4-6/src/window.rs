//! [`Window`]: the records one consumer has in flight, around the student's
//! [`OffsetTracker`].
//!
//! Records are worked on concurrently (each in a task of its own, see
//! `work.rs`), and finish in any order, so everything here sits behind one lock:
//! the poll loop starts records and commits, the record tasks finish them, and
//! the rebalance callback drains and forgets revoked partitions.
//!
//! Per partition the window keeps what the kit needs whatever the tracker says:
//! - `held`: records started and not yet behind the committable offset. Its
//!   length is what [`Exercise::WINDOW`](crate::Exercise::WINDOW) bounds: a full
//!   partition starts nothing more (its next records wait in the consumer's
//!   bounded backlog, `backlog.rs`) until the tracker releases some. This is also
//!   the bound on duplicates: a crash redelivers at most what was held.
//! - `unfinished`: records started and neither finished nor abandoned, which a
//!   revocation waits for (bounded).
//! - an epoch: a record task that outlives its partition's revocation holds a
//!   [`Ticket`] of an old epoch, and its late finish is ignored (the partition's
//!   new owner redoes that record: a duplicate, never a loss).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::OffsetTracker;

/// One started record, as the window knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub partition: i32,
    pub offset: i64,
    epoch: u64,
}

#[derive(Debug)]
struct Partition {
    epoch: u64,
    held: VecDeque<i64>,
    unfinished: usize,
    /// Its revocation has begun: the rebalance callback is waiting for its
    /// records in flight (see [`Window::mark_draining`]).
    draining: bool,
    /// The highest offset committed (or sent to be committed) by this owner.
    committed: Option<i64>,
}

impl Partition {
    /// A partition this owner has just taken, under a fresh epoch.
    fn new(next_epoch: &mut u64) -> Partition {
        *next_epoch += 1;
        Partition {
            epoch: *next_epoch,
            held: VecDeque::new(),
            unfinished: 0,
            draining: false,
            committed: None,
        }
    }
}

struct State<T> {
    tracker: T,
    partitions: HashMap<i32, Partition>,
    next_epoch: u64,
}

/// The records in flight, the tracker, and what each partition holds.
pub struct Window<T> {
    limit: usize,
    state: Mutex<State<T>>,
    /// Signalled whenever a record finishes or is abandoned (the revoke drain).
    settled: Condvar,
    /// The same, for the poll loop (which is async and must not block).
    changed: Notify,
    /// The consumer was dropped mid-run (its task aborted, as a crash would
    /// end it): the rebalance callback its close triggers must neither drain
    /// nor commit (see [`Window::crash`]).
    crashed: AtomicBool,
}

impl<T: OffsetTracker> Window<T> {
    /// A window of `limit` records per partition (at least 1).
    pub fn new(limit: usize) -> Window<T> {
        Window {
            limit: limit.max(1),
            state: Mutex::new(State {
                tracker: T::default(),
                partitions: HashMap::new(),
                next_epoch: 1,
            }),
            settled: Condvar::new(),
            changed: Notify::new(),
            crashed: AtomicBool::new(false),
        }
    }

    /// The consumer is going away without its shutdown (dropped mid-run).
    /// Dropping a librdkafka consumer still closes it, and closing revokes its
    /// partitions through the rebalance callback, which would drain and commit
    /// them: a graceful handover, not the crash the caller asked for. From now
    /// on that callback does neither, so what was not committed yet is
    /// redelivered to the next owner, as after a real crash.
    pub fn crash(&self) {
        self.crashed.store(true, Ordering::Relaxed);
    }

    /// Has [`Window::crash`] been called?
    pub fn crashed(&self) -> bool {
        self.crashed.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The consumer took this record. Returns its ticket, and how many records
    /// the window now holds over every partition.
    pub fn start(&self, partition: i32, offset: i64) -> (Ticket, usize) {
        let mut state = self.lock();
        let State {
            tracker,
            partitions,
            next_epoch,
        } = &mut *state;
        let entry = partitions
            .entry(partition)
            .or_insert_with(|| Partition::new(next_epoch));
        entry.held.push_back(offset);
        entry.unfinished += 1;
        tracker.started(partition, offset);
        let ticket = Ticket {
            partition,
            offset,
            epoch: entry.epoch,
        };
        let held = partitions.values().map(|e| e.held.len()).sum();
        (ticket, held)
    }

    /// The group has just assigned `partitions` to this consumer: each gets an
    /// epoch now, before any of its records arrives. A consumer that keeps
    /// records of its own before starting them (a retry level holds records
    /// that are not due yet) tags them with the epoch they arrived in, and so
    /// can tell, once the partition was revoked and maybe assigned again, that
    /// they are no longer its to start.
    pub fn assigned(&self, partitions: &[i32]) {
        let mut state = self.lock();
        let State {
            partitions: owned,
            next_epoch,
            ..
        } = &mut *state;
        for &partition in partitions {
            owned
                .entry(partition)
                .or_insert_with(|| Partition::new(next_epoch));
        }
    }

    /// May `partition` start another record? (A partition not started yet may.)
    pub fn has_room(&self, partition: i32) -> bool {
        self.lock()
            .partitions
            .get(&partition)
            .is_none_or(|entry| entry.held.len() < self.limit)
    }

    /// The epoch of `partition` under its current owner (`None`: not assigned
    /// to this consumer, or revoked; the rebalance callback gives a partition
    /// its epoch when it is assigned, see [`Window::assigned`]).
    pub fn epoch(&self, partition: i32) -> Option<u64> {
        self.lock().partitions.get(&partition).map(|e| e.epoch)
    }

    /// The record's work is acknowledged. A ticket of a revoked partition (or of
    /// an owner before it) is ignored.
    pub fn finish(&self, ticket: &Ticket) {
        self.settle(ticket, true);
    }

    /// The record's work gave up (its partition was revoked, or the consumer is
    /// stopping) without an acknowledgement: it is not finished, so nothing is
    /// committed past it, and it is redelivered to whoever owns it next.
    pub fn abandon(&self, ticket: &Ticket) {
        self.settle(ticket, false);
    }

    fn settle(&self, ticket: &Ticket, finished: bool) {
        {
            let mut state = self.lock();
            let State {
                tracker,
                partitions,
                ..
            } = &mut *state;
            let Some(entry) = partitions.get_mut(&ticket.partition) else {
                return;
            };
            if entry.epoch != ticket.epoch {
                return;
            }
            entry.unfinished = entry.unfinished.saturating_sub(1);
            if finished {
                tracker.finished(ticket.partition, ticket.offset);
                // Release what is now behind the committable offset: those
                // records no longer count against the window.
                if let Some(committable) = tracker.committable(ticket.partition) {
                    while entry.held.front().is_some_and(|&o| o < committable) {
                        entry.held.pop_front();
                    }
                }
            }
        }
        self.settled.notify_all();
        self.changed.notify_one();
    }

    /// Should a record that is waiting to try its forward again keep trying?
    /// Not once its partition is revoked (or reassigned: a new epoch), and not
    /// while its revocation drains: a forward that failed is unlikely to get
    /// through in the seconds the drain waits, and the group's rebalance waits
    /// for the drain. Given up, the record is redelivered to the next owner.
    pub fn keeps_trying(&self, ticket: &Ticket) -> bool {
        self.lock()
            .partitions
            .get(&ticket.partition)
            .is_some_and(|entry| entry.epoch == ticket.epoch && !entry.draining)
    }

    /// Wait `pause` before a record tries its forward again, in steps of 50
    /// ms; false as soon as it should give up instead (`stop` is raised, or
    /// [`Window::keeps_trying`] says no). The wait is in the record's task:
    /// the poll loop never waits on it.
    pub async fn wait_to_retry(&self, ticket: &Ticket, stop: &AtomicBool, pause: Duration) -> bool {
        let step = Duration::from_millis(50);
        let until = Instant::now() + pause;
        loop {
            if stop.load(Ordering::Relaxed) || !self.keeps_trying(ticket) {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            tokio::time::sleep(step.min(until - now)).await;
        }
    }

    /// The revocation of `partitions` has begun: records waiting to retry a
    /// forward give up (see [`Window::keeps_trying`]), and the drain waits only
    /// for records whose forward is in flight.
    pub fn mark_draining(&self, partitions: &[i32]) {
        {
            let mut state = self.lock();
            for partition in partitions {
                if let Some(entry) = state.partitions.get_mut(partition) {
                    entry.draining = true;
                }
            }
        }
        self.changed.notify_one();
    }

    /// What to commit now: for each owned partition (or each of `only`), the
    /// tracker's committable offset when it is past what was committed. The
    /// offsets are recorded as committed: call [`Window::uncommitted`] if the
    /// commit could not even be sent.
    pub fn take_commits(&self, only: Option<&[i32]>) -> Vec<(i32, i64)> {
        let mut state = self.lock();
        let State {
            tracker,
            partitions,
            ..
        } = &mut *state;
        let mut commits = Vec::new();
        for (&partition, entry) in partitions.iter_mut() {
            if only.is_some_and(|only| !only.contains(&partition)) {
                continue;
            }
            if let Some(next) = tracker.committable(partition) {
                if entry.committed.is_none_or(|done| next > done) {
                    entry.committed = Some(next);
                    commits.push((partition, next));
                }
            }
        }
        commits.sort_unstable();
        commits
    }

    /// A commit taken with [`Window::take_commits`] was not sent: try again later.
    pub fn uncommitted(&self, commits: &[(i32, i64)]) {
        let mut state = self.lock();
        for (partition, offset) in commits {
            if let Some(entry) = state.partitions.get_mut(partition) {
                if entry.committed == Some(*offset) {
                    entry.committed = None;
                }
            }
        }
    }

    /// Block (the rebalance callback's thread) until none of `partitions` has an
    /// unfinished record, or `deadline` passes. True if they all drained.
    pub fn wait_drained(&self, partitions: &[i32], deadline: Duration) -> bool {
        let until = Instant::now() + deadline;
        let mut state = self.lock();
        loop {
            let busy = partitions.iter().any(|p| {
                state
                    .partitions
                    .get(p)
                    .is_some_and(|entry| entry.unfinished > 0)
            });
            if !busy {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            state = match self.settled.wait_timeout(state, until - now) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Forget `partitions` (revoked, or the consumer is leaving): their records
    /// still in flight become stale. Returns how many were still unfinished.
    pub fn revoke(&self, partitions: &[i32]) -> usize {
        let mut abandoned = 0;
        {
            let mut state = self.lock();
            for partition in partitions {
                if let Some(entry) = state.partitions.remove(partition) {
                    abandoned += entry.unfinished;
                }
                state.tracker.revoked(*partition);
            }
        }
        self.changed.notify_one();
        abandoned
    }

    /// Records started and not yet finished or abandoned, over every partition.
    pub fn unfinished(&self) -> usize {
        self.lock().partitions.values().map(|e| e.unfinished).sum()
    }

    /// Resolves when a record has finished or been abandoned since the last call.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// A poisoned lock means a tracker method panicked mid-call; the state it
    /// guards is still the best record of what is in flight, so carry on (the
    /// panic itself is reported by the task it happened in).
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
