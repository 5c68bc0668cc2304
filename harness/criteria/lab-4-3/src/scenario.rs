//! The Lab 4.3 run, as reusable pieces: `cargo run -p lab-4-3`, the graded
//! criteria (`tests/lab_4_3/`) and the benches all use [`RetryRun`].
//!
//! A run gets its own topics and groups, starts the retry consumer and every
//! level, waits until each has joined its group (so the first payments do not
//! queue behind a group join), produces a seeded workload at a steady pace (so a
//! latency measures velocity, not a backlog), and waits until every payment has
//! an outcome.
//!
//! The graded thresholds are in [`crate::thresholds`], latency and lateness in
//! [`crate::lateness`], the payments' paths in [`crate::paths`]; all are
//! re-exported here, so `scenario::X` works for each of them.

use std::sync::atomic::Ordering;
use std::time::Duration;

use criteria::ledger::Ledger;
use harness::backoff::BackoffPolicy;
use harness::gateway::FailureMix;
use harness::measure::rebalance::RebalanceKind;
use harness::outcomes::{drain_time, Outcome, OutcomeWatcher};
use harness::payments::PoisonRates;
use harness::producer::{payment_producer, produce_payments, Delivered};
use harness::topics::{create_topics, unique_name};
use harness::workload::Workload;
use harness::{wait, Broker, TimeScale};

use lab_4_3_kit::pipeline::{GroupTimeouts, Pipeline};
use lab_4_3_kit::running::{Role, RunningPipeline};
use lab_4_3_kit::Exercise;

pub use crate::lateness::{healthy_ratio, Lateness};
pub use crate::paths::{trace_paths, DeadLetterSeen, Hop, PaymentPath, RetrySeen};
pub use crate::settled::Settled;
pub use crate::thresholds::{
    BLOCKED_LIMIT, BUSY_LATENESS_CEILING, EMBEDDED_LATENCY_FLOOR_MS, HEALTHY_RATIO_LIMIT,
    HEALTHY_RATIO_TARGET, HOP_TOLERANCE, LATENCY_FLOOR_MS,
};
pub use lab_4_3_kit::pipeline::PARTITIONS;

/// A topic that does not exist when the run starts (an outage), created later
/// with [`RetryRun::end_outage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    RetryLevel(u32),
    Dlq,
}

/// Everything that defines a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub seed: u64,
    pub count: usize,
    pub poison: PoisonRates,
    pub mix: FailureMix,
    /// Shrinks the gateway's 100 ms and every retry delay alike.
    pub time_scale: TimeScale,
    /// The policy at real scale (seed 000: 5 s, 15 s, 60 s).
    pub policy: BackoffPolicy,
    /// One payment every `pace`; `None`: as fast as possible.
    pub pace: Option<Duration>,
    pub timeouts: GroupTimeouts,
    pub missing: Vec<Missing>,
}

impl RunOptions {
    /// Seed 000 Lab 4.3: 10% permanent and 10% transient failures (plus a few
    /// poison pills, which must go straight to the DLQ), the 5/15/60 s levels,
    /// and one payment per four gateway calls: a latency then measures velocity,
    /// with headroom for forwards and a busy machine, not a backlog.
    pub fn seed_lab(seed: u64, count: usize, time_scale: TimeScale) -> RunOptions {
        let gateway =
            harness::gateway::Gateway::new(FailureMix::none()).with_time_scale(time_scale);
        RunOptions {
            seed,
            count,
            poison: PoisonRates::each(0.01),
            mix: FailureMix::with_failure_rate(0.2),
            time_scale,
            policy: BackoffPolicy::seed_levels(),
            pace: Some(
                gateway
                    .call_duration()
                    .mul_f64(4.0)
                    .max(Duration::from_millis(2)),
            ),
            timeouts: GroupTimeouts::PRODUCTION,
            missing: Vec::new(),
        }
    }

    /// The same payments with no failure at all: the velocity baseline.
    pub fn failure_free(&self) -> RunOptions {
        RunOptions {
            poison: PoisonRates::NONE,
            mix: FailureMix::none(),
            missing: Vec::new(),
            ..self.clone()
        }
    }
}

/// A pipeline at work on a fresh workload.
pub struct RetryRun<E: Exercise> {
    pub workload: Workload,
    pub ledger: Ledger,
    pub delivered: Vec<Delivered>,
    pub running: RunningPipeline<E>,
    pub options: RunOptions,
    watcher: OutcomeWatcher,
    broker: Broker,
}

impl<E: Exercise> RetryRun<E> {
    /// Create the topics (minus `options.missing`), start the consumer and every
    /// level, wait until each has joined, and produce the workload.
    pub async fn start(broker: &Broker, options: RunOptions) -> anyhow::Result<RetryRun<E>> {
        let workload = Workload::new(
            options.seed,
            options.count,
            options.poison,
            options.mix.clone(),
        )
        .with_time_scale(options.time_scale);
        let mut pipeline = Pipeline::new(
            &unique_name("lab43-payments"),
            options.policy.scaled(options.time_scale),
            workload.gateway.clone(),
        );
        pipeline.consumer_group = unique_name(lab_4_3_kit::pipeline::CONSUMER_GROUP);
        pipeline.processor_group_prefix =
            unique_name(lab_4_3_kit::pipeline::PROCESSOR_GROUP_PREFIX);
        pipeline.timeouts = options.timeouts;
        let present: Vec<(String, i32)> = pipeline
            .topics(PARTITIONS)
            .into_iter()
            .filter(|(name, _)| {
                !options
                    .missing
                    .iter()
                    .any(|m| missing_topic(&pipeline, *m) == *name)
            })
            .collect();
        let refs: Vec<(&str, i32)> = present.iter().map(|(n, p)| (n.as_str(), *p)).collect();
        create_topics(broker, &refs).await?;
        let ledger = Ledger::new(workload.classes(), 1 + pipeline.levels());
        let watcher = OutcomeWatcher::start(broker, &pipeline.outcomes_topic())?;
        let roles = RunningPipeline::<E>::all_roles(&pipeline);
        // A level whose topic is missing (an outage) cannot join until it exists.
        let joinable: Vec<Role> = roles
            .iter()
            .copied()
            .filter(|role| match role {
                Role::Level(level) => !options.missing.contains(&Missing::RetryLevel(*level)),
                Role::Consumer => true,
            })
            .collect();
        let running = RunningPipeline::<E>::start(broker, pipeline, &roles)?;
        wait_until_joined(&running, &joinable).await?;
        let delivered = produce_payments(
            &payment_producer(broker)?,
            &running.pipeline().topic,
            &workload.records,
            None,
            options.pace,
        )
        .await?;
        Ok(RetryRun {
            workload,
            ledger,
            delivered,
            running,
            options,
            watcher,
            broker: broker.clone(),
        })
    }

    pub fn pipeline(&self) -> &Pipeline {
        self.running.pipeline()
    }

    /// Outcomes so far.
    pub fn outcomes(&self) -> Vec<Outcome> {
        self.watcher.snapshot()
    }

    /// The topics the run started without (the outage), until [`RetryRun::end_outage`].
    pub fn missing_topics(&self) -> Vec<String> {
        self.options
            .missing
            .iter()
            .map(|m| missing_topic(self.pipeline(), *m))
            .collect()
    }

    /// Create the topics that were missing: the outage is over.
    pub async fn end_outage(&self) -> anyhow::Result<()> {
        let names = self.missing_topics();
        let refs: Vec<(&str, i32)> = names.iter().map(|n| (n.as_str(), PARTITIONS)).collect();
        create_topics(&self.broker, &refs).await
    }

    /// Create one of the missing topics: that part of the outage is over.
    pub async fn end_outage_of(&self, missing: Missing) -> anyhow::Result<()> {
        let name = missing_topic(self.pipeline(), missing);
        create_topics(&self.broker, &[(&name, PARTITIONS)]).await
    }

    /// Wait until every payment has an outcome (or the deadline passes: then the
    /// payments without one count as missing, and `timed_out` says so), stop the
    /// pipeline, and account. A member that stopped on an error fails the settle
    /// with that error.
    pub async fn settle(self, deadline: Duration) -> anyhow::Result<Settled> {
        let settled = self
            .watcher
            .wait_for("every payment to have an outcome", deadline, |seen| {
                if self.running.failed_member().is_some() {
                    // Waiting longer is pointless: stop() below returns its error.
                    return Ok(());
                }
                self.ledger.settled(seen)
            })
            .await;
        let stats = self.running.stats.clone();
        let unexpected_rebalances = self.running.unexpected_rebalances();
        let pipeline = self.running.pipeline().clone();
        self.running.stop().await?;
        let (outcomes, timed_out) = match settled {
            Ok(outcomes) => (outcomes, None),
            Err(timed_out) => (
                self.watcher.snapshot(),
                Some(format!(
                    "waited {} s for {}; {}",
                    timed_out.waited.as_secs(),
                    timed_out.what,
                    timed_out.last_seen
                )),
            ),
        };
        let first_record_at_ms = stats.first_record_at_ms.load(Ordering::Relaxed);
        Ok(Settled {
            accounting: self.ledger.account(&outcomes),
            drain_time: drain_time(first_record_at_ms, &outcomes),
            lateness_us: stats.lateness_us(),
            in_exercise: stats.in_exercise.calls(),
            holds: stats.holds.load(Ordering::Relaxed),
            forward_failures: stats.forward_failures(),
            unexpected_rebalances,
            gave_up_after: timed_out.is_some().then_some(deadline),
            timed_out,
            real_kafka: self.broker.kind.is_real_kafka(),
            pipeline,
            workload: self.workload,
            ledger: self.ledger,
            delivered: self.delivered,
            outcomes,
        })
    }
}

fn missing_topic(pipeline: &Pipeline, missing: Missing) -> String {
    match missing {
        Missing::RetryLevel(level) => pipeline.retry_topic(level),
        Missing::Dlq => pipeline.dlq_topic.clone(),
    }
}

/// Wait until every member has had its first assignment.
async fn wait_until_joined<E: Exercise>(
    running: &RunningPipeline<E>,
    roles: &[Role],
) -> anyhow::Result<()> {
    wait::until(
        "every member of the pipeline to join its group",
        Duration::from_secs(60),
        Duration::from_millis(20),
        || {
            let events = running.rebalances.events();
            let waiting: Vec<String> = roles
                .iter()
                .map(|r| r.member_name())
                .filter(|name| {
                    !events
                        .iter()
                        .any(|e| e.kind == RebalanceKind::Assigned && e.member == *name)
                })
                .collect();
            if waiting.is_empty() {
                Ok(())
            } else {
                Err(format!("not joined yet: {}", waiting.join(", ")))
            }
        },
    )
    .await?;
    Ok(())
}
