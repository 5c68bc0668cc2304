//! [`WindowedLoop`]: the poll loop of a windowed consumer, whatever a record's
//! work is, and [`run_windowed`], which builds the consumer and runs the loop.
//! Lab 4.6's consumer (`consumer.rs`) runs it with its own work (`work.rs`);
//! Lab 4.2's DLQ consumer runs it with the student's `handle_failure`.
//!
//! Each turn of the loop does one of three things:
//! - a record arrived: if its partition has room (and nothing parked),
//!   [`Window::start`] it and hand it to the caller's work; otherwise park it
//!   in the [`Backlog`], and pause the partition if the backlog is full;
//! - the commit interval passed: commit what the tracker says is committable
//!   (asynchronously), start parked records that have room, resume partitions
//!   whose backlog is down to half (and seek them to where they stopped, which
//!   makes librdkafka fetch them at once);
//! - a record finished while records are parked: the same, at once.
//!
//! On stop ([`WindowedLoop::shut_down`]) it waits (bounded) for the records in
//! flight, commits synchronously, and leaves the group.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use harness::clock::now_ms;
use harness::measure::rebalance::RebalanceLog;
use harness::Broker;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::TopicPartitionList;

use crate::backlog::Backlog;
use crate::context::{commit_sync, offsets_list, WindowContext};
use crate::stats::WindowedStats;
use crate::window::{Ticket, Window};
use crate::OffsetTracker;

/// Parked records a partition may hold, at least (the window may raise it).
pub const BACKLOG_MIN: usize = 500;

/// How one windowed consumer runs, apart from its records' work.
pub struct WindowedSettings<'a> {
    pub group_id: &'a str,
    pub topic: &'a str,
    pub member: &'a str,
    /// The group's `session.timeout.ms`, also its `max.poll.interval.ms` (the
    /// loop polls all the time, so only a stalled process can exceed it);
    /// `None`: librdkafka's defaults.
    pub session_timeout: Option<Duration>,
    /// How often the committable offsets are committed (asynchronously).
    pub commit_interval: Duration,
    /// How long a revocation waits for its partitions' records in flight.
    pub drain_timeout: Duration,
    /// How long a shutdown waits for every record in flight.
    pub shutdown_drain: Duration,
    /// More librdkafka properties for the consumer, applied after the loop's
    /// own (Lab 4.3's heartbeat, and its levels' shorter fetch wait, say);
    /// empty for most.
    pub extra_config: &'a [(&'a str, &'a str)],
}

/// Run a windowed consumer until `stop` is raised: build its consumer (with
/// the rebalance callbacks of `context.rs`), poll, hand every started record
/// to `work`, and on stop drain, commit and leave (see [`WindowedLoop`]).
/// Labs 4.6 and 4.2 differ only in `work`.
pub async fn run_windowed<T: OffsetTracker>(
    broker: &Broker,
    settings: &WindowedSettings<'_>,
    window: &Arc<Window<T>>,
    stats: &Arc<WindowedStats>,
    rebalances: RebalanceLog,
    stop: &AtomicBool,
    work: impl FnMut(OwnedMessage, Ticket),
) -> anyhow::Result<()> {
    let context = WindowContext {
        member: settings.member.to_string(),
        topic: settings.topic.to_string(),
        window: window.clone(),
        stats: stats.clone(),
        rebalances,
        drain_timeout: settings.drain_timeout,
    };
    let consumer = windowed_consumer(broker, settings, context)?;
    // Declared after the consumer, so dropped before it if this future is
    // dropped mid-run (a task aborted, as a test simulates a crash): the
    // consumer's close then commits nothing (see `Window::crash`).
    let crash_guard = CrashOnDrop(window);
    let poll = WindowedLoop {
        consumer: &consumer,
        window,
        stats,
        topic: settings.topic,
        member: settings.member,
        commit_interval: settings.commit_interval,
        stop,
    };
    poll.run(work).await;
    poll.shut_down(settings.shutdown_drain).await;
    crash_guard.disarm();
    Ok(())
}

/// Marks the window crashed when dropped: armed for the whole run, and
/// disarmed once the consumer has shut down properly. Declare it after the
/// consumer, so that it drops first.
pub struct CrashOnDrop<'a, T: OffsetTracker>(pub &'a Window<T>);

impl<T: OffsetTracker> CrashOnDrop<'_, T> {
    /// The consumer shut down properly: nothing to mark.
    pub fn disarm(self) {
        std::mem::forget(self);
    }
}

impl<T: OffsetTracker> Drop for CrashOnDrop<'_, T> {
    fn drop(&mut self) {
        self.0.crash();
    }
}

/// A consumer whose commits the window decides, subscribed to the settings'
/// topic. Their `session_timeout`, when given, is also its `max.poll.interval.ms`.
/// (Lab 4.3's retry levels build theirs here too, and run a poll loop of their
/// own around it: they hold records that are not due.)
pub fn windowed_consumer<T: OffsetTracker>(
    broker: &Broker,
    settings: &WindowedSettings<'_>,
    context: WindowContext<T>,
) -> anyhow::Result<StreamConsumer<WindowContext<T>>> {
    let mut config = broker.client_config();
    config
        .set("group.id", settings.group_id)
        .set("auto.offset.reset", "earliest")
        // The window decides what is committed, and when.
        .set("enable.auto.commit", "false")
        // Keep librdkafka's own prefetch modest: the window and the backlog
        // are the buffer. When that prefetch is full, librdkafka postpones a
        // partition's next fetch by `fetch.queue.backoff.ms`, a second by
        // default: at these rates the loop empties 4 MB in a few ms, so it
        // would then wait most of that second for records.
        .set("queued.max.messages.kbytes", "4096")
        .set("fetch.queue.backoff.ms", "10")
        // A resumed partition joins the next fetch request, which waits for
        // the one in flight; for partitions at the end of their log the broker
        // holds that one for up to `fetch.wait.max.ms` (500 ms by default).
        // 50 ms keeps a resume, and a payment arriving on a quiet topic, from
        // waiting half a second, for a few more empty fetches when idle.
        .set("fetch.wait.max.ms", "50");
    if let Some(session) = settings.session_timeout {
        let session = session.as_millis().to_string();
        config
            .set("session.timeout.ms", &session)
            .set("max.poll.interval.ms", &session);
    }
    for (key, value) in settings.extra_config {
        config.set(*key, *value);
    }
    let consumer: StreamConsumer<WindowContext<T>> = config
        .create_with_context(context)
        .context("creating the windowed consumer")?;
    consumer.subscribe(&[settings.topic])?;
    Ok(consumer)
}

/// What the poll loop works with. The record's work is not here: [`run`]
/// hands each started record to the caller.
///
/// [`run`]: WindowedLoop::run
pub struct WindowedLoop<'a, T: OffsetTracker> {
    pub consumer: &'a StreamConsumer<WindowContext<T>>,
    pub window: &'a Window<T>,
    pub stats: &'a WindowedStats,
    pub topic: &'a str,
    pub member: &'a str,
    /// How often the committable offsets are committed (asynchronously).
    pub commit_interval: Duration,
    pub stop: &'a AtomicBool,
}

impl<T: OffsetTracker> WindowedLoop<'_, T> {
    /// Poll until `stop` is raised. Every record started (in offset order per
    /// partition) goes to `work` with its ticket; the work must end with
    /// [`Window::finish`] or [`Window::abandon`] of that ticket, on any task.
    pub async fn run(&self, mut work: impl FnMut(OwnedMessage, Ticket)) {
        // Enough parked records to keep a partition busy while a refetch after
        // a resume is under way (see backlog.rs), whatever the window.
        let mut backlog = Backlog::new(self.window.limit().max(BACKLOG_MIN));
        let mut commit_tick = tokio::time::interval(self.commit_interval);
        commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.stop.load(Ordering::Relaxed) {
            let waiting = !backlog.is_empty();
            tokio::select! {
                received = tokio::time::timeout(Duration::from_millis(100), self.consumer.recv()) => {
                    match received {
                        Err(_) => {}
                        Ok(Err(error)) => tracing::warn!(member = %self.member, "consumer error: {error}"),
                        Ok(Ok(message)) => self.received(message.detach(), &mut backlog, &mut work),
                    }
                }
                _ = commit_tick.tick() => {
                    self.commit_async();
                    self.start_all_parked(&mut backlog, &mut work);
                }
                _ = self.window.changed(), if waiting => self.start_all_parked(&mut backlog, &mut work),
            }
        }
    }

    /// One record from the broker (owned: its task, or the backlog, outlives
    /// this turn): start it, or park it behind its partition's parked ones.
    fn received(
        &self,
        message: OwnedMessage,
        backlog: &mut Backlog,
        work: &mut impl FnMut(OwnedMessage, Ticket),
    ) {
        let stats = self.stats;
        let _ = stats.first_record_at_ms.compare_exchange(
            0,
            now_ms(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        stats.consumed.fetch_add(1, Ordering::Relaxed);
        let (partition, offset) = (message.partition(), message.offset());
        self.start_parked(backlog, partition, work);
        // The rebalance callback gives every assigned partition an epoch
        // (`Window::assigned`), so a partition without one is not this
        // consumer's (revoked since the record was fetched): starting the
        // record would commit a partition someone else owns.
        let Some(epoch) = self.window.epoch(partition) else {
            tracing::debug!("dropped {partition}@{offset}: the partition is not assigned");
            return;
        };
        // Behind the parked ones (records start in offset order), or when the
        // window is full.
        if backlog.has(partition) || !self.window.has_room(partition) {
            stats.parked.fetch_add(1, Ordering::Relaxed);
            if backlog.park(epoch, message) {
                self.pause(partition);
            }
        } else {
            self.start(message, work);
        }
        backlog.received(partition, epoch, offset);
    }

    /// Start `message`: the window knows it from now on, and `work` has it.
    fn start(&self, message: OwnedMessage, work: &mut impl FnMut(OwnedMessage, Ticket)) {
        let (ticket, held) = self.window.start(message.partition(), message.offset());
        self.stats
            .max_held
            .fetch_max(held as u64, Ordering::Relaxed);
        work(message, ticket);
    }

    /// Start `partition`'s parked records while its window has room (a backlog
    /// from before a revocation is dropped instead).
    fn start_parked(
        &self,
        backlog: &mut Backlog,
        partition: i32,
        work: &mut impl FnMut(OwnedMessage, Ticket),
    ) {
        while backlog.has(partition) && self.window.has_room(partition) {
            match backlog.next(partition, self.window.epoch(partition)) {
                Some(message) => self.start(message, work),
                None => break,
            }
        }
    }

    /// [`Self::start_parked`] for every partition, then resume those whose
    /// backlog is down to half.
    fn start_all_parked(&self, backlog: &mut Backlog, work: &mut impl FnMut(OwnedMessage, Ticket)) {
        for partition in backlog.partitions() {
            self.start_parked(backlog, partition, work);
        }
        let resumable = backlog.take_resumable(|partition| self.window.epoch(partition));
        if resumable.is_empty() {
            return;
        }
        let mut list = TopicPartitionList::new();
        for &(partition, _) in &resumable {
            list.add_partition(self.topic, partition);
        }
        // librdkafka queues the resume behind the pause (in order, per
        // partition), and resuming a partition that is not paused does nothing:
        // no failure to retry here. (It fails as a whole only for a closed
        // consumer.)
        if let Err(error) = self.consumer.resume(&list) {
            tracing::debug!("could not resume {list:?}: {error}");
        }
        // And seek each one to where it stopped (the record after the last
        // one received: nothing is skipped, nothing comes twice). The position
        // does not change, but the seek wakes librdkafka's fetcher for the
        // partition at once; a resume alone waits for that thread's next look,
        // up to a second with every partition paused. Measured on Lab 4.3's
        // retry consumer (80,000 payments, `targets`): every second it worked
        // ~200 ms and waited ~800 ms, 12,700 payments/s at 30% failures;
        // with the seek, 44,500/s.
        for (partition, next_offset) in resumable {
            if let Err(error) = self.consumer.seek(
                self.topic,
                partition,
                rdkafka::Offset::Offset(next_offset),
                Duration::ZERO,
            ) {
                tracing::debug!("could not seek {partition} to {next_offset}: {error}");
            }
        }
    }

    fn pause(&self, partition: i32) {
        let mut list = TopicPartitionList::new();
        list.add_partition(self.topic, partition);
        match self.consumer.pause(&list) {
            Ok(()) => {
                self.stats.pauses.fetch_add(1, Ordering::Relaxed);
            }
            // Fails as a whole only for a closed consumer. (Pausing a partition
            // revoked meanwhile is harmless: the rebalance callback resumes
            // every partition it is assigned, see context.rs.)
            Err(error) => tracing::debug!("could not pause partition {partition}: {error}"),
        }
    }

    /// Commit the committable offsets, asynchronously (the result is logged by
    /// librdkafka's callback; a lost async commit only means duplicates).
    pub fn commit_async(&self) {
        let commits = self.window.take_commits(None);
        if commits.is_empty() {
            return;
        }
        match self
            .consumer
            .commit(&offsets_list(self.topic, &commits), CommitMode::Async)
        {
            Ok(()) => {
                self.stats.commits.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                // Not even sent (say, mid-rebalance): try again at the next tick.
                self.window.uncommitted(&commits);
                tracing::debug!("commit of {commits:?} not sent: {error}");
            }
        }
    }

    /// Stop: let the records in flight finish (for at most `drain`: a stuck
    /// forward gives up once it sees the stop), commit synchronously, leave
    /// the group.
    pub async fn shut_down(&self, drain: Duration) {
        let until = Instant::now() + drain;
        while self.window.unfinished() > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let owned: Vec<i32> = match self.consumer.assignment() {
            Ok(list) => list.elements().iter().map(|e| e.partition()).collect(),
            Err(_) => Vec::new(),
        };
        commit_sync(self.consumer, self.topic, self.window, self.stats, &owned);
        let left = self.window.unfinished();
        if left > 0 {
            tracing::info!(
                member = %self.member,
                "stopping with {left} records unfinished: not committed past, they will be delivered again"
            );
        }
        // Leave the group now, so a successor does not wait a session timeout
        // for us. (The revoke callback this triggers finds nothing left to
        // commit.)
        self.consumer.unsubscribe();
    }
}
