//! The DLQ consumer: each payment gets one attempt; a failure is handed to
//! [`Exercise::handle_failure`] (your code) with the [`Failed`] toolbox.
//!
//! Delivery guarantee (once `handle_failure` is done right): at-least-once, and
//! nothing lost. Every record ends processed or dead-lettered; the offset moves
//! past a record only after its outcome is safe. A crash between the DLQ ack and
//! the commit dead-letters the record twice, which is why DLQ consumers must be
//! idempotent.
//!
//! How it keeps up: records are worked on concurrently, up to [`WINDOW`] per
//! partition, each in a task of its own (`record.rs`), on Lab 4.6's poll loop
//! and window (`lab_4_6_kit::poll`, `lab_4_6_kit::window`). The window commits
//! each partition up to its first unfinished record, so a dead letter the DLQ
//! has not acknowledged holds the commit back while the records behind it go
//! on. A one-at-a-time loop waits a produce round trip per record instead.
//!
//! Limits: no retries (that is Lab 4.3): a transient failure goes straight to the
//! DLQ, which the seed's discussion table calls "no retry for transient failures".
//! Outcomes of one partition are reported in the order records finish, not in
//! offset order. While the DLQ is down, each failed record is rewound (handled
//! again after a growing back-off) and holds its partition's commit; once the
//! partition's window and backlog are full, the partition pauses, and the other
//! partitions keep flowing. A dead letter the DLQ can never take (say, over its
//! `max.message.bytes`) keeps its partition retrying, loudly, until an operator
//! steps in. On a revocation the window waits up to [`DRAIN_TIMEOUT`] for the
//! partition's records in flight, commits what finished, and lets the rest go
//! (the next owner handles them again: duplicates, never losses).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::OutcomeReporter;
use harness::stoppable::StoppableTask;
use harness::Broker;
use lab_4_6_kit::poll::{run_windowed, WindowedSettings};
use lab_4_6_kit::record_tasks::{FirstError, RecordTasks};
use lab_4_6_kit::window::Window;
use rdkafka::producer::FutureProducer;

pub use crate::config::{DlqConsumerConfig, DEFAULT_GROUP};
pub use crate::failed::Failed;
use crate::record::{handle, Shared, Tracker};
pub use crate::stats::DlqStats;
use crate::Exercise;

/// Records of one partition the consumer may hold at once (started and not
/// yet committed past). A crash redelivers at most this many per partition
/// (plus what finished since the last commit, at most 20 ms' worth);
/// a DLQ outage holds at most this many (plus the backlog) per partition.
///
/// 2,000, as Lab 4.6's reference: in the `patterns` bench (release, 20,000
/// payments) a window of 1,000 ran at about 11,800 payments/s and 2,000 at
/// about 27,500/s, because a full partition parks and then pauses, and each
/// resume waits for a fetch round trip.
pub const WINDOW: usize = 2000;

/// How often the window commits what finished (asynchronously). A crash
/// redelivers what finished since the last commit, so short.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(20);

/// How long a revocation or a shutdown waits for records in flight. Above
/// the DLQ producer's 5 s message timeout, so a send in flight gets its answer.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(6);

/// A producer for dead letters. `acks=all` and idempotent, because a dead
/// letter that one broker forgets is a payment lost; a short
/// `message.timeout.ms`, so an unavailable DLQ is reported within seconds
/// instead of five minutes; a short metadata refresh, so a DLQ that comes back
/// is noticed; no auto-creation, so a mistyped DLQ name fails instead of
/// quietly filling a topic nobody reads; and a short linger, so the dead
/// letters of a window share a few requests.
pub fn dlq_producer(broker: &Broker) -> anyhow::Result<FutureProducer> {
    broker
        .client_config()
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "5000")
        .set("allow.auto.create.topics", "false")
        // Look again for a missing DLQ topic every 2 s (default: 5 minutes), so a
        // DLQ that comes back is used within seconds.
        .set("topic.metadata.refresh.interval.ms", "2000")
        .set("linger.ms", "2")
        .create()
        .context("creating the DLQ producer")
}

/// Run the DLQ consumer until `stop` is raised (or a record's `handle_failure`
/// returns an error, which is returned here).
pub async fn run<E: Exercise>(
    broker: &Broker,
    config: &DlqConsumerConfig,
    reporter: &OutcomeReporter,
    stats: Arc<DlqStats>,
    rebalances: RebalanceLog,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let window = Arc::new(Window::<Tracker>::new(WINDOW));
    let shared = Arc::new(Shared {
        config: config.clone(),
        window: window.clone(),
        stats: stats.clone(),
        dlq: dlq_producer(broker)?,
        reporter: reporter.clone(),
        stop: stop.clone(),
        errors: FirstError::new(stop.clone()),
    });
    let settings = WindowedSettings {
        group_id: &config.group_id,
        topic: &config.topic,
        member: &config.member,
        session_timeout: None,
        commit_interval: COMMIT_INTERVAL,
        drain_timeout: DRAIN_TIMEOUT,
        shutdown_drain: DRAIN_TIMEOUT,
        extra_config: &[],
    };
    let window_stats = &stats.window;
    // The record tasks belong to this consumer: aborted with it, their panics
    // reported (see lab_4_6_kit::record_tasks).
    let mut records = RecordTasks::default();
    run_windowed(
        broker,
        &settings,
        &window,
        window_stats,
        rebalances,
        &stop,
        |message, ticket| {
            records.spawn(handle::<E>(shared.clone(), message, ticket), &shared.errors);
        },
    )
    .await?;
    drop(records);
    shared.errors.take()
}

/// A DLQ consumer running as a tokio task, stopped on request (or when dropped).
pub struct RunningDlqConsumer {
    task: StoppableTask<()>,
    pub stats: Arc<DlqStats>,
    pub rebalances: RebalanceLog,
}

impl RunningDlqConsumer {
    pub fn spawn<E: Exercise>(
        broker: &Broker,
        config: DlqConsumerConfig,
        outcomes_topic: &str,
    ) -> anyhow::Result<RunningDlqConsumer> {
        let reporter = OutcomeReporter::new(broker, outcomes_topic)?;
        let stats = Arc::new(DlqStats::default());
        let rebalances = RebalanceLog::default();
        let (broker, task_stats, log) = (broker.clone(), stats.clone(), rebalances.clone());
        let task = StoppableTask::spawn("the DLQ consumer", move |stop| async move {
            run::<E>(&broker, &config, &reporter, task_stats, log, stop).await
        });
        Ok(RunningDlqConsumer {
            task,
            stats,
            rebalances,
        })
    }

    /// Ask it to stop and wait for it; an error it stopped on comes back here.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.halt().await
    }

    /// [`RunningDlqConsumer::stop`] without giving up the handle (its stats stay readable).
    pub async fn halt(&mut self) -> anyhow::Result<()> {
        self.task.stop().await.map(|_| ())
    }
}
