//! The retry processors: seed 000's `retry_processor.py`, one per level, each in
//! its own consumer group (`retry-processor-N`) on `<topic>-retry-N`.
//!
//! A level reads a record, and if it is not due yet hands it to
//! [`Exercise::hold_until_due`] (your code). Once due, the level processes the
//! payment **itself**, in a task of its own (`record.rs`, as the retry consumer
//! does): on success it reports it; on failure it hands it to
//! [`Exercise::handle_failure`] (your code again), which forwards it to the next
//! level or the DLQ. Unlike the seed, nothing is ever republished to the live
//! topic (see the README: every other reader of that topic would see it again).
//!
//! Delivery guarantee: at-least-once, nothing lost. Like the retry consumer, a
//! level keeps a window of records in flight per partition (up to
//! [`LEVEL_WINDOW`], Lab 4.6's window) and commits each partition up to its
//! first unfinished record: a payment is committed past only once it is
//! processed and reported, or its forward is acknowledged. A record that is
//! not due is never started, so the commit stops before it too, and so does
//! everything behind it: the level pauses the partition and seeks back to it
//! (dropping what was prefetched behind it), or keeps it in memory for its
//! last moments (`due_soon.rs`) with whatever arrives behind it. A crash
//! redelivers what was in flight (duplicates, never a loss).
//!
//! Limits: within a partition, records wait in order (head-of-line). With one
//! delay per level, due times grow along a partition as fast as records are
//! written, so nobody waits much longer than their own delay; with jitter, or
//! several forwarders whose writes interleave, a record can wait for a later-due
//! one ahead of it (late by at most the difference, never early). Records that
//! are due run concurrently, so outcomes within a partition are reported in
//! the order records finish.
//! Due times come from the writer's clock; across machines, clock skew adds to
//! (or subtracts from) every delay.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use harness::clock::now_ms;
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::OutcomeReporter;
use harness::Broker;
use lab_4_6_kit::context::WindowContext;
use lab_4_6_kit::poll::{windowed_consumer, CrashOnDrop, WindowedLoop};
use lab_4_6_kit::record_tasks::RecordTasks;
use lab_4_6_kit::stats::WindowedStats;
use lab_4_6_kit::window::Window;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::level_loop::LevelLoop;
use crate::pipeline::{Pipeline, PipelineStats};
use crate::record::{Shared, Tracker};
use crate::retry_consumer::{drain_timeout, member_config, member_settings, COMMIT_INTERVAL};
use crate::Exercise;

/// A level's consumer: its rebalance callbacks are the window's (a revoked
/// partition's records in flight are drained and committed).
pub type LevelConsumer = StreamConsumer<WindowContext<Tracker>>;

/// Records of one partition a level may hold at once (started and not yet
/// committed past). Records start only once they are due, and finish within
/// a produce round trip, so a level's window fills only when its forwards
/// are failing (a retry topic or the DLQ is down): then the partition is held
/// in Kafka, like a record that is not due, and looked at again shortly.
pub const LEVEL_WINDOW: usize = 2000;

/// How soon a partition held because its window was full is looked at again.
pub const FULL_WINDOW_RECHECK: Duration = Duration::from_millis(50);

/// What [`Exercise::hold_until_due`] did with a record that is not due yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Its partition is paused and sought back to it: the level resumes the
    /// partition at the due time, and the record is consumed again then.
    UntilDue,
    /// It has been waited for already (the seed's `sleep`): process it now.
    Waited,
}

/// A record that is not due yet, and the tools to wait for it.
pub struct NotYetDue<'a> {
    pub(crate) message: &'a BorrowedMessage<'a>,
    pub(crate) due_ms: i64,
    pub(crate) consumer: &'a LevelConsumer,
}

impl NotYetDue<'_> {
    /// When it may be tried (ms since the epoch).
    pub fn due_ms(&self) -> i64 {
        self.due_ms
    }

    /// How long until then.
    pub fn remaining(&self) -> Duration {
        until(self.due_ms, now_ms())
    }

    /// Pause this record's partition: no more fetches from it, and what was
    /// already fetched from it is dropped. `poll` keeps running, so the member
    /// stays in its group and the other partitions keep flowing.
    pub fn pause_partition(&self) -> anyhow::Result<()> {
        let mut list = TopicPartitionList::new();
        list.add_partition(self.message.topic(), self.message.partition());
        self.consumer
            .pause(&list)
            .context("pausing the partition of a record that is not due")
    }

    /// Seek the partition back to this record, so it is fetched again (from
    /// Kafka, not from memory) when the partition resumes.
    pub fn seek_back(&self) -> anyhow::Result<()> {
        self.consumer
            .seek(
                self.message.topic(),
                self.message.partition(),
                Offset::Offset(self.message.offset()),
                // Zero: do not wait for librdkafka's broker thread to confirm.
                // Waiting blocks this whole loop (every partition) for as long
                // as that thread takes to come round, up to a second.
                Duration::ZERO,
            )
            .context("seeking back to a record that is not due")
    }
}

/// Settings for a level's consumer beyond the pipeline's own.
///
/// A level holds records in Kafka, so it keeps librdkafka's prefetch small (the
/// default would buffer up to 64 MB per partition of records that are not due),
/// and keeps `fetch.wait.max.ms` shorter still than the windowed consumer's
/// 50 ms: a resumed partition shares its fetch request with the others, and
/// each millisecond the broker waits for data on them makes a retry that much
/// later (librdkafka's default, 500 ms, would make it up to half a second late).
pub const LEVEL_CONSUMER_SETTINGS: [(&str, &str); 8] = [
    ("queued.max.messages.kbytes", "1024"),
    ("fetch.max.bytes", "1048576"),
    ("max.partition.fetch.bytes", "262144"),
    ("fetch.wait.max.ms", "20"),
    ("fetch.queue.backoff.ms", "5"),
    ("fetch.error.backoff.ms", "10"),
    ("retry.backoff.ms", "10"),
    ("retry.backoff.max.ms", "50"),
];

/// Run retry level `level` until `stop` is raised (or a record task meets an
/// error it cannot deal with, which is returned here).
#[allow(clippy::too_many_arguments)]
pub async fn run_level<E: Exercise>(
    broker: &Broker,
    pipeline: &Pipeline,
    level: u32,
    member: &str,
    reporter: &OutcomeReporter,
    stats: Arc<PipelineStats>,
    rebalances: RebalanceLog,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let topic = pipeline.retry_topic(level);
    let group = pipeline.processor_group(level);
    let policy = &pipeline.policy;
    let delays = match (policy.shortest_delay(level), policy.longest_delay(level)) {
        (Some(shortest), Some(longest)) => shortest..=longest,
        _ => anyhow::bail!("the backoff policy {policy} has no retry level {level}"),
    };
    let window = Arc::new(Window::<Tracker>::new(LEVEL_WINDOW));
    let shared = Shared::new(
        broker,
        pipeline,
        level,
        &group,
        member,
        reporter,
        stats.clone(),
        window.clone(),
        stop.clone(),
    )?;
    let drain = drain_timeout(&pipeline.timeouts);
    let properties = pipeline.timeouts.consumer_properties();
    let config = member_config(&properties, &LEVEL_CONSUMER_SETTINGS);
    let settings = member_settings(&group, &topic, member, &pipeline.timeouts, &config);
    // The level's own counters of its window (pauses, commits, the most
    // held); the pipeline's report reads the level's ledger instead.
    let window_stats = Arc::new(WindowedStats::default());
    let context = WindowContext {
        member: member.to_string(),
        topic: topic.clone(),
        window: window.clone(),
        stats: window_stats.clone(),
        rebalances,
        drain_timeout: drain,
    };
    let consumer = windowed_consumer(broker, &settings, context)?;
    // After the consumer, so dropped first if this future is dropped mid-run
    // (a crash, simulated by aborting the task): the consumer's close then
    // commits nothing (see `lab_4_6_kit::window::Window::crash`).
    let crash_guard = CrashOnDrop(&window);
    let poll = WindowedLoop {
        consumer: &consumer,
        window: &window,
        stats: &window_stats,
        topic: &topic,
        member,
        commit_interval: COMMIT_INTERVAL,
        stop: &stop,
    };
    let mut level_loop = LevelLoop {
        consumer: &consumer,
        poll: &poll,
        shared: &shared,
        topic: &topic,
        delays,
        records: RecordTasks::default(),
        paused: Default::default(),
        due_soon: Default::default(),
    };
    let ran = level_loop.run::<E>().await;
    poll.shut_down(drain).await;
    crash_guard.disarm();
    // Whatever is still running after the shutdown's drain is left
    // uncommitted; dropping the tasks aborts them.
    drop(level_loop);
    ran?;
    shared.errors.take()
}

/// How early a level resumes a held partition; records due within this much
/// wait their last moments in memory. A resumed partition is fetched when
/// librdkafka's broker thread next looks, and with every partition of a level
/// paused it may look only once a second; without the lead, retries came up to
/// a second late.
pub const RESUME_LEAD: Duration = Duration::from_millis(1200);

/// How long from `now_ms` until `due_ms` (zero if it has passed).
pub(crate) fn until(due_ms: i64, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(due_ms.saturating_sub(now_ms)).unwrap_or(0))
}
