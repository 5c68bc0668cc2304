//! The windowed consumer: the poll loop.
//!
//! Delivery guarantee (once the tracker is right): at-least-once, nothing lost.
//! A record is committed past only when it and every record before it on its
//! partition is finished: processed and reported, or dead-lettered and
//! reported, each acknowledged by the broker. A crash redelivers what was held
//! (at most `WINDOW` records per partition, plus what finished since the last
//! commit): duplicates, never losses.
//! Limits: one gateway attempt per payment (no retry levels: Lab 4.3's are a
//! separate concern); ordering of outcomes within a partition is given up
//! (records finish in any order); a forward the broker never takes (a DLQ that
//! stays down) holds its partition's window until it is full, then fills its
//! backlog, and the partition pauses until the forward goes through or the
//! partition is revoked.
//!
//! Each turn of the loop does one of three things:
//! - a record arrived: if its partition has room (and nothing parked),
//!   [`Window::start`] it and spawn its work (`work.rs`); otherwise park it in
//!   the [`Backlog`], and pause the partition if the backlog is full;
//! - the commit interval passed: commit what the tracker says is committable
//!   (asynchronously), start parked records that have room, resume partitions
//!   whose backlog is down to half;
//! - a record finished while records are parked: the same, at once.
//!
//! On stop it stops taking records, waits (bounded) for the ones in flight,
//! commits synchronously, and leaves the group.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use harness::clock::now_ms;
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::OutcomeReporter;
use harness::Broker;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::TopicPartitionList;

use crate::backlog::Backlog;
use crate::config::WindowedConfig;
use crate::context::{commit_sync, offsets_list, WindowContext};
use crate::stats::WindowedStats;
use crate::window::Window;
use crate::work::{dlq_producer, work, Shared};
use crate::{Exercise, OffsetTracker};

/// Run the windowed consumer until `stop` is raised.
pub async fn run<E: Exercise>(
    broker: &Broker,
    config: &WindowedConfig,
    reporter: &OutcomeReporter,
    stats: Arc<WindowedStats>,
    rebalances: RebalanceLog,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let window = Arc::new(Window::<E::Tracker>::new(E::WINDOW));
    let context = WindowContext {
        member: config.member.clone(),
        topic: config.topic.clone(),
        window: window.clone(),
        stats: stats.clone(),
        rebalances,
        drain_timeout: config.drain_timeout,
    };
    let session = config.session_timeout.as_millis().to_string();
    let consumer: StreamConsumer<WindowContext<E::Tracker>> = broker
        .client_config()
        .set("group.id", &config.group_id)
        .set("auto.offset.reset", "earliest")
        // The window decides what is committed, and when.
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", &session)
        .set("max.poll.interval.ms", &session)
        // Keep librdkafka's own prefetch modest: the window and the backlog
        // are the buffer.
        .set("queued.max.messages.kbytes", "4096")
        .create_with_context(context)
        .context("creating the windowed consumer")?;
    consumer.subscribe(&[&config.topic])?;
    let shared = Arc::new(Shared {
        config: config.clone(),
        window: window.clone(),
        stats: stats.clone(),
        dlq: dlq_producer(broker)?,
        reporter: reporter.clone(),
        stop: stop.clone(),
    });
    // Enough parked records to keep a partition busy while a refetch after a
    // resume is under way (see backlog.rs), whatever the window.
    let mut backlog = Backlog::new(E::WINDOW.max(BACKLOG_MIN));
    let mut commit_tick = tokio::time::interval(config.commit_interval);
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    while !stop.load(Ordering::Relaxed) {
        let waiting = !backlog.is_empty();
        tokio::select! {
            received = tokio::time::timeout(Duration::from_millis(100), consumer.recv()) => {
                match received {
                    Err(_) => {}
                    Ok(Err(error)) => tracing::warn!(member = %config.member, "consumer error: {error}"),
                    Ok(Ok(message)) => {
                        let _ = stats.first_record_at_ms.compare_exchange(0, now_ms(), Ordering::Relaxed, Ordering::Relaxed);
                        stats.consumed.fetch_add(1, Ordering::Relaxed);
                        // Owned: the record's task (or the backlog) outlives this turn.
                        let message = message.detach();
                        let partition = message.partition();
                        start_parked(&shared, &mut backlog, partition);
                        // Behind the parked ones (records start in offset order), or
                        // when the window is full. Either way the window has started
                        // records of this partition under its current owner, so it
                        // has an epoch. Without one (nothing started since it was
                        // assigned, or revoked since), `start_parked` above has just
                        // dropped any stale backlog and the window has room.
                        let must_wait = backlog.has(partition) || !window.has_room(partition);
                        match window.epoch(partition) {
                            Some(epoch) if must_wait => {
                                stats.parked.fetch_add(1, Ordering::Relaxed);
                                if backlog.park(epoch, message) {
                                    pause(&consumer, &config.topic, partition, &stats);
                                }
                            }
                            epoch => {
                                debug_assert!(epoch.is_some() || !must_wait, "a partition without an epoch has nothing parked and room");
                                start(&shared, message);
                            }
                        }
                    }
                }
            }
            _ = commit_tick.tick() => {
                commit_async(&consumer, &config.topic, &window, &stats);
                start_all_parked(&consumer, &config.topic, &shared, &mut backlog);
            }
            _ = window.changed(), if waiting => start_all_parked(&consumer, &config.topic, &shared, &mut backlog),
        }
    }
    shut_down(&consumer, config, &window, &stats).await;
    Ok(())
}

/// Stop: let the records in flight finish (bounded: a stuck forward gives up
/// once it sees the stop), commit synchronously, leave the group.
async fn shut_down<T: OffsetTracker>(
    consumer: &StreamConsumer<WindowContext<T>>,
    config: &WindowedConfig,
    window: &Window<T>,
    stats: &WindowedStats,
) {
    let until = Instant::now() + config.drain_timeout + crate::config::FORWARD_TIMEOUT;
    while window.unfinished() > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let owned: Vec<i32> = match consumer.assignment() {
        Ok(list) => list.elements().iter().map(|e| e.partition()).collect(),
        Err(_) => Vec::new(),
    };
    commit_sync(consumer, &config.topic, window, stats, &owned);
    let left = window.unfinished();
    if left > 0 {
        tracing::info!(
            member = %config.member,
            "stopping with {left} records unfinished: not committed past, they will be delivered again"
        );
    }
    // Leave the group now, so a successor does not wait a session timeout for us.
    // (The revoke callback this triggers finds nothing left to commit.)
    consumer.unsubscribe();
}

/// Commit the committable offsets, asynchronously (the result is logged by
/// librdkafka's callback; a lost async commit only means duplicates).
fn commit_async<T: OffsetTracker>(
    consumer: &StreamConsumer<WindowContext<T>>,
    topic: &str,
    window: &Window<T>,
    stats: &WindowedStats,
) {
    let commits = window.take_commits(None);
    if commits.is_empty() {
        return;
    }
    match consumer.commit(&offsets_list(topic, &commits), CommitMode::Async) {
        Ok(()) => {
            stats.commits.fetch_add(1, Ordering::Relaxed);
        }
        Err(error) => {
            // Not even sent (say, mid-rebalance): try again at the next tick.
            window.uncommitted(&commits);
            tracing::debug!("commit of {commits:?} not sent: {error}");
        }
    }
}

fn pause<C: rdkafka::consumer::ConsumerContext>(
    consumer: &StreamConsumer<C>,
    topic: &str,
    partition: i32,
    stats: &WindowedStats,
) {
    let mut list = TopicPartitionList::new();
    list.add_partition(topic, partition);
    match consumer.pause(&list) {
        Ok(()) => {
            stats.pauses.fetch_add(1, Ordering::Relaxed);
        }
        // Fails as a whole only for a closed consumer. (Pausing a partition
        // revoked meanwhile is harmless: the rebalance callback resumes every
        // partition it is assigned, see context.rs.)
        Err(error) => tracing::debug!("could not pause partition {partition}: {error}"),
    }
}

/// Parked records a partition may hold, at least (the window may raise it).
const BACKLOG_MIN: usize = 500;

/// Start `message`: the window knows it from now on, and its work runs in a
/// task of its own.
fn start<T: OffsetTracker>(shared: &Arc<Shared<T>>, message: OwnedMessage) {
    let (ticket, held) = shared.window.start(message.partition(), message.offset());
    shared
        .stats
        .max_held
        .fetch_max(held as u64, Ordering::Relaxed);
    tokio::spawn(work(shared.clone(), message, ticket));
}

/// Start `partition`'s parked records while its window has room (a backlog
/// from before a revocation is dropped instead).
fn start_parked<T: OffsetTracker>(shared: &Arc<Shared<T>>, backlog: &mut Backlog, partition: i32) {
    while backlog.has(partition) && shared.window.has_room(partition) {
        match backlog.next(partition, shared.window.epoch(partition)) {
            Some(message) => start(shared, message),
            None => break,
        }
    }
}

/// [`start_parked`] for every partition, then resume those whose backlog is
/// down to half.
fn start_all_parked<T: OffsetTracker>(
    consumer: &StreamConsumer<WindowContext<T>>,
    topic: &str,
    shared: &Arc<Shared<T>>,
    backlog: &mut Backlog,
) {
    for partition in backlog.partitions() {
        start_parked(shared, backlog, partition);
    }
    let resumable = backlog.take_resumable();
    if resumable.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::new();
    for partition in resumable {
        list.add_partition(topic, partition);
    }
    // librdkafka queues the resume behind the pause (in order, per partition),
    // and resuming a partition that is not paused does nothing: no failure to
    // retry here. (It fails as a whole only for a closed consumer.)
    if let Err(error) = consumer.resume(&list) {
        tracing::debug!("could not resume {list:?}: {error}");
    }
}
