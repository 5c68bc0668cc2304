//! The Lab 4.1 scenario, step by step, as reusable pieces.
//!
//! `cargo run -p lab-4-1` chains them into the full observation (see `run.rs`);
//! the graded criteria in `tests/lab_4_1.rs` call the same pieces, so the numbers
//! a student reads and the numbers a grader checks come from one place.
//!
//! - [`drain`]: produce a workload to a one-partition topic, run one fragile
//!   consumer until every payment has an outcome, and measure it.
//! - [`group_impact`]: two fragile consumers in one group; a failing payment
//!   on one partition keeps its owner asleep past `max.poll.interval.ms`.

use std::time::Duration;

use anyhow::Context;
use criteria::ledger::{Accounting, Ledger};
use harness::gateway::{FailureMix, PaymentClass};
use harness::measure::lag::{LagProbe, LagReport, LagSample, LagSampler};
use harness::measure::rebalance::{RebalanceEvent, RebalanceKind, RebalanceLog};
use harness::outcomes::{drain_time, outcomes_topic, Outcome, OutcomeWatcher};
use harness::payments::{PaymentRecord, PoisonRates};
use harness::producer::{payment_producer, produce_payments};
use harness::topics::{create_topics, unique_name};
use harness::workload::Workload;
use harness::{Broker, TimeScale};
use rdkafka::consumer::BaseConsumer;

use lab_4_1_kit::fragile_consumer::{FragileConsumerConfig, FragileStats, RunningConsumer};

/// A lag calculation: the student's (`<Starter as Exercise>::consumer_lag`), the
/// reference solution's, or the grader's own ([`crate::truth::reference_lag`]).
pub type LagFn = fn(&BaseConsumer, &str, Duration) -> anyhow::Result<LagReport>;

/// What one drain run measured.
#[derive(Debug, Clone)]
pub struct DrainRun {
    pub topic: String,
    pub workload: Workload,
    pub outcomes: Vec<Outcome>,
    pub accounting: Accounting,
    pub stats: FragileStats,
    /// From the first record polled to the last outcome.
    pub drain_time: Duration,
    pub lag_samples: Vec<LagSample>,
    /// The backoff the seed's loop must sleep for this workload, from ground truth.
    pub expected_backoff: Duration,
    /// The longest single retry loop's sleeps.
    pub longest_retry_loop: Duration,
}

/// The backoff sleeps the fragile consumer makes for one payment of `class`.
pub fn backoff_for(class: PaymentClass, config: &FragileConsumerConfig) -> Duration {
    let failed_attempts = match class {
        PaymentClass::Healthy => 0,
        PaymentClass::Transient { failures, .. } => failures.min(config.max_retries),
        PaymentClass::Permanent { .. } | PaymentClass::Poison { .. } => config.max_retries,
    };
    // It sleeps after every failed attempt except the last one allowed.
    (0..failed_attempts.min(config.max_retries - 1))
        .map(|attempt| config.backoff(attempt))
        .sum()
}

/// Produce `count` payments with `mix` to a fresh one-partition topic, run one
/// fragile consumer until every payment has an outcome, and measure.
///
/// One partition, so the consumer sees the payments in order: exactly the seed's
/// "process 10 messages" question. With `lag`, the group's lag is sampled every
/// 20 ms with that calculation.
pub async fn drain(
    broker: &Broker,
    seed: u64,
    count: usize,
    mix: FailureMix,
    time_scale: TimeScale,
    lag: Option<LagFn>,
) -> anyhow::Result<DrainRun> {
    let topic = unique_name("lab41-payments");
    let outcomes = outcomes_topic(&topic);
    let group = unique_name("fragile-payment-processor");
    create_topics(broker, &[(&topic, 1), (&outcomes, 1)]).await?;

    let workload = Workload::new(seed, count, PoisonRates::NONE, mix).with_time_scale(time_scale);
    let config =
        FragileConsumerConfig::new(&topic, &group, "fragile-consumer", workload.gateway.clone());
    let ledger = Ledger::new(workload.classes(), config.max_retries);
    let backoffs: Vec<Duration> = workload
        .records
        .iter()
        .map(|r| backoff_for(workload.class_of(r), &config))
        .collect();

    produce_payments(
        &payment_producer(broker)?,
        &topic,
        &workload.records,
        None,
        None,
    )
    .await?;
    let watcher = OutcomeWatcher::start(broker, &outcomes)?;
    let sampler = match lag {
        Some(lag_fn) => {
            let probe = LagProbe::new(broker, &group, &topic)?;
            let sampled_topic = topic.clone();
            Some(LagSampler::start(Duration::from_millis(20), move || {
                lag_fn(probe.consumer(), &sampled_topic, Duration::from_secs(5))
                    .map(|report| report.total())
            }))
        }
        None => None,
    };
    let consumer = RunningConsumer::spawn(broker, config, &outcomes)?;

    // Generous: every sleep and call, three times over, plus a minute for group joins.
    let deadline = Duration::from_secs(60)
        + 3 * (backoffs.iter().sum::<Duration>()
            + workload.gateway.call_duration() * (3 * count as u32));
    let settled = watcher
        .wait_for("every payment to have an outcome", deadline, |seen| {
            ledger.settled(seen)
        })
        .await;
    let stats = consumer.stop().await?;
    let lag_samples = sampler.map(LagSampler::stop).unwrap_or_default();
    let outcomes = settled.context("the fragile consumer did not finish")?;

    let drain_time = drain_time(stats.first_record_at_ms.unwrap_or_default(), &outcomes);
    Ok(DrainRun {
        topic,
        accounting: ledger.account(&outcomes),
        outcomes,
        stats,
        drain_time,
        lag_samples,
        expected_backoff: backoffs.iter().sum(),
        longest_retry_loop: backoffs.iter().max().copied().unwrap_or_default(),
        workload,
    })
}

/// The outcome of each payment (first one reported), in the order they were produced.
pub fn outcomes_in_order(run: &DrainRun) -> Vec<(&PaymentRecord, PaymentClass, Option<&Outcome>)> {
    run.workload
        .records
        .iter()
        .map(|record| {
            let outcome = run
                .outcomes
                .iter()
                .find(|o| o.payment_id == record.payment_id);
            (record, run.workload.class_of(record), outcome)
        })
        .collect()
}

/// The librdkafka settings of the group-impact step: a short leash, so a 3 s retry
/// loop overruns it. (`max.poll.interval.ms` must be >= `session.timeout.ms`, and
/// brokers refuse sessions below `group.min.session.timeout.ms`: ours allow 1000.)
pub fn short_poll_interval() -> Vec<(String, String)> {
    [
        ("session.timeout.ms", "1000"),
        ("heartbeat.interval.ms", "250"),
        ("max.poll.interval.ms", "1500"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// What the group-impact step observed.
#[derive(Debug, Clone)]
pub struct GroupImpact {
    /// The member that owned partition 0 (with the failing payment) when the group settled.
    pub stuck_member: String,
    pub healthy_member: String,
    pub blocker_id: String,
    /// The healthy member was assigned partition 0 while the stuck one slept.
    pub takeover_after: Option<Duration>,
    pub events: Vec<RebalanceEvent>,
    pub outcomes: Vec<Outcome>,
    pub stats: Vec<(String, FragileStats)>,
}

impl GroupImpact {
    /// Rebalance events after the group first settled.
    pub fn rebalances_after_settling(&self, settled_at_ms: i64) -> usize {
        self.events
            .iter()
            .filter(|e| e.at_ms > settled_at_ms)
            .count()
    }

    /// How many times the failing payment was given up on, by anyone.
    pub fn blocker_outcomes(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.payment_id == self.blocker_id)
            .count()
    }
}

/// Two fragile consumers share a group on a two-partition topic. Once the group has
/// settled (one partition each), a permanently failing payment lands at the head of
/// partition 0, followed by healthy payments; partition 1 gets only healthy ones.
///
/// The seed's 1 s + 2 s retry loop (real time, whatever the time scale) overruns
/// `max.poll.interval.ms` (1.5 s): librdkafka removes the sleeper from the group and
/// the other member is handed partition 0. We wait for that takeover (up to
/// `observe_for`), then stop both.
pub async fn group_impact(
    broker: &Broker,
    seed: u64,
    observe_for: Duration,
) -> anyhow::Result<GroupImpact> {
    let topic = unique_name("lab41-group");
    let outcomes_name = outcomes_topic(&topic);
    let group = unique_name("fragile-payment-processor");
    create_topics(broker, &[(&topic, 2), (&outcomes_name, 1)]).await?;

    // Real backoff sleeps (they must overrun the poll interval); fast gateway calls.
    let workload = Workload::new(seed, 200, PoisonRates::NONE, FailureMix::seed_lab_4_1())
        .with_time_scale(TimeScale::new(0.1));
    let blocker = workload
        .records
        .iter()
        .find(|r| matches!(workload.class_of(r), PaymentClass::Permanent { .. }))
        .context("no permanently failing payment in 200")?
        .clone();
    let healthy: Vec<PaymentRecord> = workload
        .records
        .iter()
        .filter(|r| workload.class_of(r) == PaymentClass::Healthy)
        .take(10)
        .cloned()
        .collect();

    let members = ["member-a", "member-b"];
    let mut consumers = Vec::new();
    for member in members {
        let mut config =
            FragileConsumerConfig::new(&topic, &group, member, workload.gateway.clone());
        config.time_scale = TimeScale::REAL;
        config.overrides = short_poll_interval();
        consumers.push(RunningConsumer::spawn(broker, config, &outcomes_name)?);
    }
    let logs: Vec<RebalanceLog> = consumers.iter().map(|c| c.rebalances.clone()).collect();

    // Wait for the group to settle: each member owns exactly one partition.
    let owners = harness::wait::until(
        "both members to own one partition each",
        Duration::from_secs(60),
        Duration::from_millis(20),
        || {
            let current: Vec<Vec<i32>> = logs.iter().map(current_assignment).collect();
            match current.as_slice() {
                [a, b] if a.len() == 1 && b.len() == 1 && a != b => Ok(current),
                _ => Err(format!("assignments {current:?}")),
            }
        },
    )
    .await?;
    let stuck = if owners[0] == [0] { 0 } else { 1 };
    let healthy_index = 1 - stuck;
    let settled_at = harness::clock::now_ms();

    let producer = payment_producer(broker)?;
    let mut partition_0 = vec![blocker.clone()];
    partition_0.extend(healthy[..5].iter().cloned());
    produce_payments(&producer, &topic, &partition_0, Some(0), None).await?;
    produce_payments(&producer, &topic, &healthy[5..], Some(1), None).await?;

    let watcher = OutcomeWatcher::start(broker, &outcomes_name)?;
    let healthy_log = logs[healthy_index].clone();
    let takeover = harness::wait::until(
        "the healthy member to take over partition 0",
        observe_for,
        Duration::from_millis(20),
        || {
            healthy_log
                .events()
                .iter()
                .find(|e| {
                    e.at_ms > settled_at
                        && e.kind == RebalanceKind::Assigned
                        && e.partitions.contains(&0)
                })
                .map(|e| Duration::from_millis((e.at_ms - settled_at).max(0) as u64))
                .ok_or_else(|| format!("{} rebalance events so far", healthy_log.events().len()))
        },
    )
    .await
    .ok();

    let mut stats = Vec::new();
    for (member, consumer) in members.iter().zip(consumers) {
        stats.push((member.to_string(), consumer.stop().await?));
    }
    let mut events: Vec<RebalanceEvent> = logs.iter().flat_map(|log| log.events()).collect();
    events.sort_by_key(|e| e.at_ms);
    Ok(GroupImpact {
        stuck_member: members[stuck].to_string(),
        healthy_member: members[healthy_index].to_string(),
        blocker_id: blocker.payment_id,
        takeover_after: takeover,
        events,
        outcomes: watcher.snapshot(),
        stats,
    })
}

/// The partitions a member owns now, from its rebalance log.
fn current_assignment(log: &RebalanceLog) -> Vec<i32> {
    let mut owned: Vec<i32> = Vec::new();
    for event in log.events() {
        match event.kind {
            RebalanceKind::Assigned => owned.extend(event.partitions),
            RebalanceKind::Revoked => owned.retain(|p| !event.partitions.contains(p)),
            RebalanceKind::Failed => {}
        }
    }
    owned.sort_unstable();
    owned.dedup();
    owned
}
