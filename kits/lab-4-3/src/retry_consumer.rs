//! The retry consumer: seed 000's `retry_consumer.py`. It reads the live topic in
//! group `retry-payment-processor`, gives each payment one attempt, and hands a
//! failure to [`Exercise::handle_failure`] (your code) with level 0.
//!
//! Delivery guarantee (once `handle_failure` is done right): at-least-once, and
//! nothing lost: the offset moves past a payment only after it is processed, or
//! its retry record or dead letter is acknowledged by the broker. A crash in
//! between forwards it again (a duplicate, never a loss).
//!
//! How it keeps up: records are worked on concurrently, up to [`WINDOW`] per
//! partition, each in a task of its own (`record.rs`), on Lab 4.6's poll
//! loop and window (`lab_4_6_kit::poll`, `lab_4_6_kit::window`), which commit
//! each partition up to its first unfinished record. A forward the broker has
//! not acknowledged holds its partition's commit back while the records behind
//! it go on; a one-at-a-time loop would wait a produce round trip per record.
//!
//! Limits: ordering is given up, for retried payments (seed 000: "retry patterns
//! break strict ordering") and for outcomes within a partition (reported in the
//! order records finish). A `handle_failure` that waits (a sleep, a retry in
//! place) does not stop the poll loop here, but it holds its partition's commit
//! and a place in the window the whole time: at a few thousand payments per
//! second the partition's window fills within a second and the partition stops
//! (the grader times every call, see `exercise_time.rs`). On a revocation the
//! window waits up to [`drain_timeout`] for the partition's records in flight,
//! commits what finished, and lets the rest go (the next owner handles them
//! again: duplicates, never losses).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::OutcomeReporter;
use harness::Broker;
use lab_4_6_kit::poll::{run_windowed, WindowedSettings};
use lab_4_6_kit::record_tasks::RecordTasks;
use lab_4_6_kit::window::Window;

use crate::pipeline::{GroupTimeouts, Pipeline, PipelineStats};
use crate::record::{handle, Shared, Tracker};
use crate::Exercise;

/// Records of one partition the retry consumer may hold at once (started and
/// not yet committed past): what a crash redelivers at most per partition, and
/// what a retry-topic outage holds at most (plus the poll loop's backlog).
/// 2,000, as Lab 4.6's reference and Lab 4.2's DLQ consumer.
pub const WINDOW: usize = 2000;

/// How often the window commits what finished (asynchronously). A crash
/// redelivers what finished since the last commit, so short.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(20);

/// How long a revocation or a shutdown waits for the records in flight: long
/// enough for a forward in flight to get its answer (its message timeout,
/// [`GroupTimeouts::forward_timeout`]), and under `max.poll.interval.ms` (at
/// most five sixths of it), because the rebalance callback waits on the poll
/// loop's thread.
pub fn drain_timeout(timeouts: &GroupTimeouts) -> Duration {
    (timeouts.forward_timeout() + Duration::from_millis(500))
        .min(timeouts.max_poll_interval * 5 / 6)
}

/// The windowed settings of a pipeline member (the retry consumer, or a
/// level) of `group` on `topic`: committed every [`COMMIT_INTERVAL`], drained
/// for [`drain_timeout`] on a revocation and on shutdown, with the consumer
/// properties `config` (see [`member_config`]).
pub(crate) fn member_settings<'a>(
    group: &'a str,
    topic: &'a str,
    member: &'a str,
    timeouts: &GroupTimeouts,
    config: &'a [(&'a str, &'a str)],
) -> WindowedSettings<'a> {
    WindowedSettings {
        group_id: group,
        topic,
        member,
        session_timeout: None,
        commit_interval: COMMIT_INTERVAL,
        drain_timeout: drain_timeout(timeouts),
        shutdown_drain: drain_timeout(timeouts),
        extra_config: config,
    }
}

/// A member's consumer properties: its group's timeouts (`timeouts`, from
/// [`GroupTimeouts::consumer_properties`]), then its own (`extra`).
pub(crate) fn member_config<'a>(
    timeouts: &'a [(&'static str, String)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut config: Vec<(&str, &str)> = timeouts.iter().map(|(k, v)| (*k, v.as_str())).collect();
    config.extend_from_slice(extra);
    config
}

/// Run the retry consumer until `stop` is raised (or a record task meets an
/// error it cannot deal with, which is returned here).
pub async fn run<E: Exercise>(
    broker: &Broker,
    pipeline: &Pipeline,
    member: &str,
    reporter: &OutcomeReporter,
    stats: Arc<PipelineStats>,
    rebalances: RebalanceLog,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let window = Arc::new(Window::<Tracker>::new(WINDOW));
    let group = &pipeline.consumer_group;
    let shared = Shared::new(
        broker,
        pipeline,
        0,
        group,
        member,
        reporter,
        stats.clone(),
        window.clone(),
        stop.clone(),
    )?;
    let timeouts = &pipeline.timeouts;
    let properties = timeouts.consumer_properties();
    // Nothing beyond the group's timeouts: the windowed consumer's own
    // settings (`lab_4_6_kit::poll::windowed_consumer`) already keep the fetch
    // wait short, so a payment on a quiet topic is fetched within 50 ms.
    let config = member_config(&properties, &[]);
    let settings = member_settings(group, &pipeline.topic, member, timeouts, &config);
    // The record tasks belong to this consumer: when it is dropped (a crash
    // simulated by aborting its task) or stops, so are they, wherever they are.
    let mut records = RecordTasks::default();
    run_windowed(
        broker,
        &settings,
        &window,
        &stats.window,
        rebalances,
        &stop,
        |message, ticket| {
            stats.note_first_record(harness::clock::now_ms());
            records.spawn(
                handle::<E>(shared.clone(), message, ticket, None),
                &shared.errors,
            );
        },
    )
    .await?;
    // Whatever is still running after the shutdown's drain is left
    // uncommitted; dropping the tasks aborts them.
    drop(records);
    shared.errors.take()
}

/// Resolves once `stop` is raised (checked every 50 ms: the flag is a plain
/// atomic, shared with loops that test it between records).
pub(crate) async fn raised(stop: &AtomicBool) {
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
