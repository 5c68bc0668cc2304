//! The throughput measurement: the windowed consumer against the raw baselines
//! (`harness::measure::throughput`), on fresh topics of the same payments, in
//! one run, so the ratio means the same on a busy machine as on a quiet one.

use std::time::{Duration, Instant};

use harness::gateway::Gateway;
use harness::measure::throughput::{
    payments_topic, per_second, raw_consume_and_commit, raw_consume_produce_commit,
    wait_committed_to_the_end,
};
use harness::outcomes::outcomes_topic;
use harness::topics::{create_topics, unique_name};
use harness::{wait, Broker};
use lab_4_6_kit::config::WindowedConfig;
use lab_4_6_kit::running::RunningWindowed;
use lab_4_6_kit::stats::WindowedStats;
use lab_4_6_kit::Exercise;

use crate::scenario::PARTITIONS;

/// Payments per measured loop.
pub const PAYMENTS: usize = 20_000;

/// The windowed consumer's run stops here even if it is not done (a slow
/// answer is measured on what it did by then, not waited for).
pub const WINDOWED_DEADLINE: Duration = Duration::from_secs(20);

/// One run's figures, in payments per second.
#[derive(Debug, Clone)]
pub struct Throughput {
    pub payments: usize,
    /// Consume and commit, nothing else.
    pub ceiling: f64,
    /// Consume, produce one record per payment, commit after the acks.
    pub fair_baseline: f64,
    /// The windowed consumer, zero processing cost, `failure_rate` failures.
    pub windowed: f64,
    pub failure_rate: f64,
    /// Payments the windowed consumer finished (all of them, unless it ran out
    /// of time).
    pub windowed_done: usize,
    pub window: usize,
}

impl Throughput {
    /// Windowed ÷ fair baseline: the figure the floor and the target are about.
    pub fn ratio(&self) -> f64 {
        self.windowed / self.fair_baseline.max(1.0)
    }

    pub fn ratio_to_ceiling(&self) -> f64 {
        self.windowed / self.ceiling.max(1.0)
    }

    pub fn one_line(&self) -> String {
        format!(
            "windowed consumer (window {}) {:.0}/s at {:.0}% failures; fair baseline {:.0}/s (ratio {:.3}); consume-and-commit {:.0}/s (ratio {:.3}); {} payments{}",
            self.window,
            self.windowed,
            self.failure_rate * 100.0,
            self.fair_baseline,
            self.ratio(),
            self.ceiling,
            self.ratio_to_ceiling(),
            self.payments,
            if self.windowed_done < self.payments {
                format!(", of which the windowed consumer finished {} within {} s", self.windowed_done, WINDOWED_DEADLINE.as_secs())
            } else {
                String::new()
            }
        )
    }
}

/// Measure the two baselines and `E`'s windowed consumer on `PAYMENTS` payments each.
pub async fn measure<E: Exercise>(
    broker: &Broker,
    failure_rate: f64,
) -> anyhow::Result<Throughput> {
    let (topic, _) =
        payments_topic(broker, "lab46-ceiling", PARTITIONS, PAYMENTS, failure_rate).await?;
    let ceiling = raw_consume_and_commit(broker, &topic, PAYMENTS).await?;
    let (topic, _) =
        payments_topic(broker, "lab46-fair", PARTITIONS, PAYMENTS, failure_rate).await?;
    let fair = raw_consume_produce_commit(broker, &topic, PARTITIONS, PAYMENTS).await?;
    let windowed = windowed_rate::<E>(broker, PAYMENTS, failure_rate).await?;
    Ok(Throughput {
        payments: PAYMENTS,
        ceiling: per_second(PAYMENTS, ceiling),
        fair_baseline: per_second(PAYMENTS, fair),
        windowed: windowed.per_second(),
        failure_rate,
        windowed_done: windowed.done,
        window: E::WINDOW,
    })
}

/// One run of the windowed consumer on a fresh topic.
#[derive(Debug, Clone, Copy)]
pub struct WindowedRun {
    /// Payments it finished (all of them, unless it ran out of time).
    pub done: usize,
    /// From its first record until every payment was finished *and* the group
    /// had committed the end of the topic, as the raw loops' clocks stop at
    /// their last commit: so its commit interval counts against it. If it ran
    /// out of time, until then.
    pub elapsed: Duration,
}

impl WindowedRun {
    pub fn per_second(&self) -> f64 {
        per_second(self.done, self.elapsed)
    }
}

/// `E`'s windowed consumer on `count` payments, free gateway, `failure_rate`
/// of them failing: how long it took to finish and commit them all (or how many
/// it finished within [`WINDOWED_DEADLINE`]). Shared with the `patterns` bench.
pub async fn windowed_rate<E: Exercise>(
    broker: &Broker,
    count: usize,
    failure_rate: f64,
) -> anyhow::Result<WindowedRun> {
    let (topic, workload) =
        payments_topic(broker, "lab46-windowed", PARTITIONS, count, failure_rate).await?;
    let dlq = harness::dead_letter::dlq_topic(&topic);
    let outcomes = outcomes_topic(&topic);
    create_topics(broker, &[(&dlq, PARTITIONS), (&outcomes, 1)]).await?;
    let gateway = Gateway::new(workload.gateway.mix.clone()).with_processing_time(Duration::ZERO);
    let group = unique_name("windowed-throughput");
    let config = WindowedConfig::new(&topic, &dlq, &group, "windowed-throughput", gateway);
    let running = RunningWindowed::spawn::<E>(broker, config, &outcomes)?;
    let stats = running.stats.clone();
    let done = || {
        (WindowedStats::count(&stats.processed) + WindowedStats::count(&stats.dead_lettered))
            as usize
    };
    // The clock starts at the first record, as the baselines' does.
    wait::until(
        "the windowed consumer's first record",
        Duration::from_secs(60),
        Duration::from_millis(1),
        || {
            (WindowedStats::count(&stats.consumed) > 0)
                .then_some(())
                .ok_or_else(|| "none yet".to_string())
        },
    )
    .await?;
    let started = Instant::now();
    let finished = wait::until(
        "the windowed consumer to finish every payment",
        WINDOWED_DEADLINE,
        Duration::from_millis(2),
        || match done() {
            n if n >= count => Ok(()),
            n => Err(format!("{n} of {count}")),
        },
    )
    .await;
    let run = match finished {
        Ok(()) => {
            // Finished is not yet safe: the clock runs on to the commit.
            let left = WINDOWED_DEADLINE.saturating_sub(started.elapsed());
            wait_committed_to_the_end(broker, &topic, PARTITIONS, &group, left).await?;
            WindowedRun {
                done: count,
                elapsed: started.elapsed(),
            }
        }
        Err(_) => WindowedRun {
            done: done(),
            elapsed: started.elapsed(),
        },
    };
    running.stop().await?;
    Ok(run)
}
