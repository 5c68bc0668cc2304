//! A windowed consumer running as a tokio task, stopped on request (or when dropped).

use std::sync::Arc;

use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::OutcomeReporter;
use harness::stoppable::StoppableTask;
use harness::Broker;

use crate::config::WindowedConfig;
use crate::consumer::run;
use crate::stats::WindowedStats;
use crate::Exercise;

/// A windowed consumer running as a tokio task.
pub struct RunningWindowed {
    task: StoppableTask<()>,
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
        let stats = Arc::new(WindowedStats::default());
        let rebalances = RebalanceLog::default();
        let (broker, task_stats, log) = (broker.clone(), stats.clone(), rebalances.clone());
        let task = StoppableTask::spawn("the windowed consumer", move |stop| async move {
            run::<E>(&broker, &config, &reporter, task_stats, log, stop).await
        });
        Ok(RunningWindowed {
            task,
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
        self.task.stop().await.map(|_| ())
    }
}
