//! The throughput step of `targets`: the two raw loops (the baselines, shared in
//! `harness::measure::throughput`) and the retry consumer
//! (`lab_4_3_criteria::throughput`), each on a fresh topic of the same payments,
//! in rounds.
//!
//! Why rounds: one run on a 2-core machine that also runs the broker can be off
//! by half (the fair baseline alone has ranged from 54,000 to 77,000 payments/s
//! between runs). Each round runs every member once, so a ratio is always taken
//! between runs minutes apart at most, and the report quotes the median of each
//! ratio over the rounds.

use std::time::Duration;

use harness::measure::throughput::per_second;
use harness::measure::{median, ratio};
use harness::Broker;
use lab_4_3_criteria::scenario::PARTITIONS;
use lab_4_3_criteria::throughput::{self, payments_topic};
use lab_4_3_solution::Solution;

/// How long each member took for its payments, in one round.
pub struct Round {
    /// Consume and commit, nothing else: the ceiling.
    pub raw: Duration,
    /// Consume, produce one record per payment, commit after the acks.
    pub fair: Duration,
    /// The retry consumer, no failures.
    pub healthy: Duration,
    /// The retry consumer, 30% failures.
    pub failing: Duration,
}

impl Round {
    /// Every member once, on `count` payments each.
    pub async fn run(broker: &Broker, count: usize) -> anyhow::Result<Round> {
        let (topic, _) = payments_topic(broker, count, 0.3).await?;
        let raw =
            harness::measure::throughput::raw_consume_and_commit(broker, &topic, count).await?;
        let (topic, _) = payments_topic(broker, count, 0.3).await?;
        let fair = harness::measure::throughput::raw_consume_produce_commit(
            broker, &topic, PARTITIONS, count,
        )
        .await?;
        let healthy = throughput::retry_consumer_throughput::<Solution>(broker, count, 0.0).await?;
        let failing = throughput::retry_consumer_throughput::<Solution>(broker, count, 0.3).await?;
        Ok(Round {
            raw,
            fair,
            healthy,
            failing,
        })
    }
}

/// Figures over the rounds: a member's median rate, or the median of a ratio
/// (the member's rate ÷ the baseline's) taken within each round. The two are
/// medians on their own, so a member's median rate ÷ the baseline's need not
/// equal the median ratio: the ratio is the figure, the rates say how fast.
pub struct Rounds<'a>(pub &'a [Round]);

impl Rounds<'_> {
    /// A member's median time over the rounds, as payments per second.
    pub fn rate(&self, count: usize, member: fn(&Round) -> Duration) -> f64 {
        per_second(count, median(self.0.iter().map(member)).unwrap_or_default())
    }

    /// Each round's rate ratio of `member` to `baseline`, in the rounds' order.
    pub fn ratios(
        &self,
        member: fn(&Round) -> Duration,
        baseline: fn(&Round) -> Duration,
    ) -> Vec<f64> {
        self.0
            .iter()
            .map(|round| ratio(baseline(round), member(round)))
            .collect()
    }

    /// The median of [`Rounds::ratios`].
    pub fn median_ratio(
        &self,
        member: fn(&Round) -> Duration,
        baseline: fn(&Round) -> Duration,
    ) -> f64 {
        median(self.ratios(member, baseline)).unwrap_or_default()
    }
}
