//! [`LevelLoop`]: a retry level's poll loop. Each record polled is one of:
//! - held by a pause already (fetched before its partition was paused): skipped,
//!   the seek brings it back;
//! - due within [`RESUME_LEAD`], or behind one that is: kept in memory, in
//!   order ([`DueSoon`]), and started at its due time;
//! - due later: handed to your [`Exercise::hold_until_due`], which pauses its
//!   partition and seeks back to it (the level resumes the partition
//!   [`RESUME_LEAD`] before the record is due);
//! - due now: started, in a task of its own (`record.rs`), if its partition's
//!   window has room; if not, its partition is held in Kafka the same way for
//!   [`FULL_WINDOW_RECHECK`].
//!
//! Between records the loop commits what the window says is committable (every
//! [`COMMIT_INTERVAL`](crate::retry_consumer::COMMIT_INTERVAL)), resumes paused
//! partitions whose time has come, and starts the records in memory that are
//! due. It never waits on a record's work, so it polls all the time, whatever
//! the forwards are doing; only a `hold_until_due` that sleeps stops it.

use std::ops::RangeInclusive;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::clock::now_ms;
use harness::retry::RetryState;
use lab_4_6_kit::poll::WindowedLoop;
use lab_4_6_kit::record_tasks::RecordTasks;
use rdkafka::message::{BorrowedMessage, Message};

use crate::due_soon::{DueSoon, Waiting};
use crate::paused::PausedPartitions;
use crate::record::{handle, Shared, Tracker};
use crate::retry_consumer::raised;
use crate::retry_processor::{
    until, Hold, LevelConsumer, NotYetDue, FULL_WINDOW_RECHECK, RESUME_LEAD,
};
use crate::Exercise;

/// What a level's poll loop works with (built by `retry_processor::run_level`).
pub(crate) struct LevelLoop<'a> {
    pub consumer: &'a LevelConsumer,
    /// The window's commits and shutdown, shared with the windowed consumers.
    pub poll: &'a WindowedLoop<'a, Tracker>,
    pub shared: &'a Arc<Shared>,
    pub topic: &'a str,
    /// The delays this level's records may carry (their headers are checked
    /// against them).
    pub delays: RangeInclusive<Duration>,
    pub records: RecordTasks,
    pub paused: PausedPartitions,
    pub due_soon: DueSoon,
}

/// Whether the loop goes on after a record.
enum Next {
    Poll,
    /// `stop` was raised while `hold_until_due` was still busy.
    Stop,
}

impl LevelLoop<'_> {
    /// Poll until `stop` is raised. `Err`: `hold_until_due` returned one.
    pub async fn run<E: Exercise>(&mut self) -> anyhow::Result<()> {
        let (consumer, shared) = (self.consumer, self.shared);
        let (stop, window) = (&*shared.stop, &*shared.window);
        let mut commit_tick = tokio::time::interval(self.poll.commit_interval);
        commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !stop.load(Ordering::Relaxed) {
            self.paused.resume_due(self.consumer, self.topic);
            let (next_due, blocked) = self.start_due::<E>();
            let budget = self
                .paused
                .wait_budget(Duration::from_millis(100))
                .min(next_due.unwrap_or(Duration::MAX));
            tokio::select! {
                received = tokio::time::timeout(budget, consumer.recv()) => match received {
                    Err(_) => {}
                    Ok(Err(error)) => tracing::warn!(member = %shared.member, "consumer error: {error}"),
                    Ok(Ok(message)) => {
                        if let Next::Stop = self.received::<E>(&message).await? {
                            break;
                        }
                    }
                },
                _ = commit_tick.tick() => self.poll.commit_async(),
                // A record in memory is due, but its window is full: go on once
                // a record finishes.
                _ = window.changed(), if blocked => {}
            }
        }
        Ok(())
    }

    /// Start the records in memory that are due and have room. Returns how
    /// long until the next one is due (among those not blocked), and whether
    /// one is due but its partition's window is full.
    fn start_due<E: Exercise>(&mut self) -> (Option<Duration>, bool) {
        let shared = self.shared;
        let window = &*shared.window;
        let now = now_ms();
        let (mut next_due, mut blocked) = (None::<Duration>, false);
        for partition in self.due_soon.partitions() {
            let epoch = window.epoch(partition);
            while let Some(waiting) = self
                .due_soon
                .pop_due(partition, epoch, now, || window.has_room(partition))
            {
                self.start::<E>(waiting);
            }
            match self.due_soon.front_due_in(partition, now) {
                Some(Duration::ZERO) => blocked = true,
                Some(wait) => next_due = Some(next_due.map_or(wait, |next| next.min(wait))),
                None => {}
            }
        }
        (next_due, blocked)
    }

    /// One record from the broker.
    async fn received<E: Exercise>(
        &mut self,
        message: &BorrowedMessage<'_>,
    ) -> anyhow::Result<Next> {
        let shared = self.shared;
        let window = &*shared.window;
        let (partition, offset) = (message.partition(), message.offset());
        let Some(epoch) = window.epoch(partition) else {
            // Its partition was revoked since it was fetched: not ours to start.
            return Ok(Next::Poll);
        };
        if self.paused.will_redeliver(partition, offset, epoch) {
            return Ok(Next::Poll);
        }
        let level = shared.level;
        let (state, repairs) = RetryState::read(message, level, self.delays.clone());
        if !repairs.is_empty() {
            tracing::warn!(
                member = %shared.member,
                "{}/{partition}@{offset}: retry headers repaired: {}",
                self.topic,
                repairs.join("; ")
            );
        }
        let remaining = until(state.due_ms, now_ms());
        let queued = self.due_soon.has(partition, epoch);
        if queued && !window.has_room(partition) {
            // Records wait in memory already and the window is full (forwards
            // are failing): memory must not grow with the outage, so this one
            // and everything behind it are held in Kafka (everything in memory
            // is ahead of it, so the order holds).
            self.hold_for_room(message, &state, epoch)?;
            return Ok(Next::Poll);
        }
        if remaining <= RESUME_LEAD && (queued || !remaining.is_zero()) {
            // Due within the lead (or behind one that is): its last moments are
            // spent in memory, in order, and it starts at its due time to the
            // millisecond. The partition keeps flowing.
            self.wait_in_memory(partition, epoch, message, state);
            return Ok(Next::Poll);
        }
        if !remaining.is_zero() {
            let not_yet_due = NotYetDue {
                message,
                due_ms: state.due_ms,
                consumer: self.consumer,
            };
            let holding = shared.stats.in_exercise.measure(
                level,
                "hold_until_due",
                E::hold_until_due(not_yet_due),
            );
            // Ctrl-C must not wait for a hold that sleeps until the record is due
            // (the starter's: up to a level's whole delay). The record is not
            // started, so nothing is committed past it: the next run gets it.
            let held = tokio::select! {
                held = holding => held?,
                _ = raised(&shared.stop) => return Ok(Next::Stop),
            };
            match held {
                Hold::UntilDue => {
                    shared.stats.holds.fetch_add(1, Ordering::Relaxed);
                    let wait = until(state.due_ms, now_ms());
                    let resume_at = Instant::now() + wait.saturating_sub(RESUME_LEAD);
                    self.paused.insert(partition, offset, epoch, resume_at);
                    return Ok(Next::Poll);
                }
                Hold::Waited if queued => {
                    // Waited, but records ahead of it are still in memory: it
                    // takes its turn behind them, never starts before them.
                    self.wait_in_memory(partition, epoch, message, state);
                    return Ok(Next::Poll);
                }
                Hold::Waited => {}
            }
        }
        if window.has_room(partition) {
            self.start::<E>(Waiting {
                message: message.detach(),
                state,
            });
        } else {
            self.hold_for_room(message, &state, epoch)?;
        }
        Ok(Next::Poll)
    }

    /// Its partition's window is full (forwards are failing): hold the
    /// partition in Kafka at `message`, as for a record that is not due, and
    /// look again shortly.
    fn hold_for_room(
        &mut self,
        message: &BorrowedMessage<'_>,
        state: &RetryState,
        epoch: u64,
    ) -> anyhow::Result<()> {
        let full = NotYetDue {
            message,
            due_ms: state.due_ms,
            consumer: self.consumer,
        };
        full.pause_partition()?;
        full.seek_back()?;
        let resume_at = Instant::now() + FULL_WINDOW_RECHECK;
        self.paused
            .insert(message.partition(), message.offset(), epoch, resume_at);
        Ok(())
    }

    fn wait_in_memory(
        &mut self,
        partition: i32,
        epoch: u64,
        message: &BorrowedMessage<'_>,
        state: RetryState,
    ) {
        let waiting = Waiting {
            message: message.detach(),
            state,
        };
        self.due_soon.push(partition, epoch, waiting);
    }

    /// Start a record whose time has come, in a task of its own: the window
    /// knows it from now on, and nothing is committed past it until its task
    /// finishes it.
    fn start<E: Exercise>(&mut self, waiting: Waiting) {
        let Waiting { message, state } = waiting;
        let shared = self.shared;
        shared
            .stats
            .record_lateness(now_us().saturating_sub(state.due_ms.saturating_mul(1000)));
        let (ticket, held) = shared.window.start(message.partition(), message.offset());
        self.poll
            .stats
            .max_held
            .fetch_max(held as u64, Ordering::Relaxed);
        self.records.spawn(
            handle::<E>(shared.clone(), message, ticket, Some(state)),
            &shared.errors,
        );
    }
}

/// Microseconds since the Unix epoch, now (lateness is measured finer than ms).
fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
