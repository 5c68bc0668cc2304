//! The windowed consumer: Lab 4.6's record work on the shared poll loop.
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
//! The loop itself (start or park, pause and resume, commit the committable,
//! drain on shutdown) is in `poll.rs`; each record it starts runs `work.rs` in
//! a task of its own.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::OutcomeReporter;
use harness::Broker;

use crate::config::WindowedConfig;
use crate::poll::{run_windowed, WindowedSettings};
use crate::stats::WindowedStats;
use crate::window::Window;
use crate::work::{dlq_producer, work, Shared};
use crate::Exercise;

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
    let shared = Arc::new(Shared {
        config: config.clone(),
        window: window.clone(),
        stats: stats.clone(),
        dlq: dlq_producer(broker)?,
        reporter: reporter.clone(),
        stop: stop.clone(),
    });
    let settings = WindowedSettings {
        group_id: &config.group_id,
        topic: &config.topic,
        member: &config.member,
        session_timeout: Some(config.session_timeout),
        commit_interval: config.commit_interval,
        drain_timeout: config.drain_timeout,
        // A forward in flight gets its answer within its own timeout.
        shutdown_drain: config.drain_timeout + crate::config::FORWARD_TIMEOUT,
        extra_config: &[],
    };
    run_windowed(
        broker,
        &settings,
        &window,
        &stats,
        rebalances,
        &stop,
        |message, ticket| {
            tokio::spawn(work(shared.clone(), message, ticket));
        },
    )
    .await
}
