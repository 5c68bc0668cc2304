//! A windowed consumer running as a tokio task, stopped on request (or when dropped).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::OutcomeReporter;
use harness::Broker;

use crate::config::WindowedConfig;
use crate::consumer::run;
use crate::stats::WindowedStats;
use crate::Exercise;

/// A windowed consumer running as a tokio task.
pub struct RunningWindowed {
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub stats: Arc<WindowedStats>,
    pub rebalances: RebalanceLog,
}

impl RunningWindowed {
    pub fn spawn<E: Exercise>(
        broker: &Broker,
        config: WindowedConfig,
        outcomes_topic: &str,
    ) -> anyhow::Result<RunningWindowed> {
        let reporter = OutcomeReporter::new(broker, outcomes_topic)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(WindowedStats::default());
        let rebalances = RebalanceLog::default();
        let (broker, stop_flag, task_stats, log) = (
            broker.clone(),
            stop.clone(),
            stats.clone(),
            rebalances.clone(),
        );
        let task = tokio::spawn(async move {
            run::<E>(&broker, &config, &reporter, task_stats, log, stop_flag).await
        });
        Ok(RunningWindowed {
            stop,
            task: Some(task),
            stats,
            rebalances,
        })
    }

    /// Ask it to stop (drain, commit, leave) and wait for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.halt().await
    }

    /// [`RunningWindowed::stop`] without giving up the handle (its stats stay readable).
    pub async fn halt(&mut self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        match self.task.take() {
            Some(task) => task.await.context("the windowed consumer task panicked")?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningWindowed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
