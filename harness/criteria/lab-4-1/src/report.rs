//! `problems_observed.md`: seed 000's Step 3, answered with measured numbers, plus
//! prompts for the student's own explanation.

use std::fmt::Write as _;
use std::time::Duration;

use harness::measure::lag::longest_stall;
use harness::measure::latency::LatencySummary;
use harness::measure::summary::Summary;
use harness::outcomes::OutcomeStatus;
use harness::Broker;

use crate::scenario::{outcomes_in_order, DrainRun, GroupImpact};

/// Everything the scenario measured.
pub struct Observations<'a> {
    pub broker: &'a Broker,
    pub baseline: &'a DrainRun,
    pub failing: &'a DrainRun,
    pub group: Option<&'a GroupImpact>,
    pub time_scale: f64,
    /// Where the lag numbers came from (the student's file), for the report.
    pub lag_source: &'a str,
}

fn secs(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

fn healthy_latency(run: &DrainRun) -> LatencySummary {
    LatencySummary::from_millis(
        outcomes_in_order(run)
            .into_iter()
            .filter(|(_, class, _)| class.label() == "healthy")
            .filter_map(|(_, _, outcome)| outcome.map(|o| o.latency_ms())),
    )
}

impl Observations<'_> {
    pub fn slowdown(&self) -> f64 {
        harness::measure::ratio(self.failing.drain_time, self.baseline.drain_time)
    }

    /// The terminal summary.
    pub fn summary(&self) -> String {
        let (stall_ms, stall_lag) = longest_stall(&self.failing.lag_samples);
        let peak_lag = self
            .failing
            .lag_samples
            .iter()
            .map(|s| s.total_lag)
            .max()
            .unwrap_or(0);
        let mut summary = Summary::new("Lab 4.1: the blocking retry anti-pattern")
            .row("broker", self.broker.label())
            .row("payments per run", self.failing.workload.records.len())
            .row("drain time, 0% failures", secs(self.baseline.drain_time))
            .row("drain time, 30% failures", secs(self.failing.drain_time))
            .row("slowdown", format!("{:.1}x", self.slowdown()))
            .row(
                "time asleep in retry loops",
                secs(self.failing.stats.time_sleeping),
            )
            .row(
                "healthy latency, 0% failures",
                healthy_latency(self.baseline).one_line(),
            )
            .row(
                "healthy latency, 30% failures",
                healthy_latency(self.failing).one_line(),
            )
            .row(
                "payments lost (committed to skip)",
                self.failing.accounting.skipped,
            )
            .row(
                &format!("peak lag ({})", self.lag_source),
                if peak_lag > 0 {
                    peak_lag.to_string()
                } else {
                    "not measured yet (TODO in that file)".to_string()
                },
            )
            .row(
                "longest lag stall",
                format!("{stall_ms} ms at lag {stall_lag}"),
            );
        if let Some(group) = self.group {
            summary = summary
                .row(
                    "group: takeover of the sleeper's partition",
                    group
                        .takeover_after
                        .map(secs)
                        .unwrap_or_else(|| "not observed".into()),
                )
                .row("group: rebalance events", group.events.len())
                .row(
                    "group: failed commits",
                    group
                        .stats
                        .iter()
                        .map(|(_, s)| s.failed_commits)
                        .sum::<u64>(),
                )
                .row(
                    "group: outcomes for the failing payment",
                    group.blocker_outcomes(),
                );
        }
        summary.render()
    }

    /// The markdown file.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let failing = self.failing;
        let count = failing.workload.records.len();
        let (stall_ms, stall_lag) = longest_stall(&failing.lag_samples);
        let lag_measured = failing.lag_samples.iter().any(|s| s.total_lag > 0);
        let _ = writeln!(
            md,
            "# Problems observed: the blocking retry anti-pattern (Lab 4.1)\n"
        );
        let _ = writeln!(
            md,
            "Measured by `cargo run -p lab-4-1` against {}.\nTime scale {} (1 = the seed's real 2^attempt-second sleeps).\n",
            self.broker.describe(),
            self.time_scale
        );
        let _ = writeln!(
            md,
            "## 1. How long does it take to process {count} messages when 30% fail?\n"
        );
        let _ = writeln!(md, "| run | drain time | failed attempts | asleep in retry loops | processed | lost (skipped) |");
        let _ = writeln!(md, "|---|---|---|---|---|---|");
        for (label, run) in [("0% failures", self.baseline), ("30% failures", failing)] {
            let _ = writeln!(
                md,
                "| {label} | {} | {} | {} | {} | {} |",
                secs(run.drain_time),
                run.stats.failed_attempts,
                secs(run.stats.time_sleeping),
                run.accounting.processed,
                run.accounting.skipped
            );
        }
        let _ = writeln!(
            md,
            "\n**Slowdown: {:.1}x.** Per payment, in the order the partition holds them:\n",
            self.slowdown()
        );
        let _ = writeln!(
            md,
            "| # | payment | class | outcome | attempts | latency (produce → outcome) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|");
        for (index, (record, class, outcome)) in outcomes_in_order(failing).into_iter().enumerate()
        {
            let (status, attempts, latency) = match outcome {
                Some(o) => (
                    match o.status {
                        OutcomeStatus::Processed => "processed",
                        OutcomeStatus::DeadLettered => "dead-lettered",
                        OutcomeStatus::Skipped => "**skipped (lost)**",
                        OutcomeStatus::Parked => "parked",
                    },
                    o.attempts.to_string(),
                    format!("{} ms", o.latency_ms()),
                ),
                None => ("no outcome", "-".into(), "-".into()),
            };
            let _ = writeln!(
                md,
                "| {index} | {} | {} | {status} | {attempts} | {latency} |",
                record.payment_id,
                class.label()
            );
        }
        let _ = writeln!(
            md,
            "\nHealthy payments: {} with failures, against {} without.\n",
            healthy_latency(failing).one_line(),
            healthy_latency(self.baseline).one_line()
        );
        let _ = writeln!(md, "> **Your explanation:** why does a healthy payment right behind a failing one wait so long? Which line of `src/fragile_consumer.rs` is responsible?\n");

        let _ = writeln!(
            md,
            "## 2. What happens to consumer lag during retry loops?\n"
        );
        if lag_measured {
            let peak = failing
                .lag_samples
                .iter()
                .map(|s| s.total_lag)
                .max()
                .unwrap_or(0);
            let _ = writeln!(
                md,
                "Lag sampled every 20 ms with your `consumer_lag` ({}): {} samples, peak {peak}. \
                 The longest stall (lag positive and not shrinking) lasted **{stall_ms} ms at lag {stall_lag}**; \
                 the longest retry loop sleeps {}.\n",
                self.lag_source,
                failing.lag_samples.len(),
                secs(failing.longest_retry_loop)
            );
            let _ = writeln!(md, "```text\n{}\n```\n", sparkline(&failing.lag_samples));
        } else {
            let _ = writeln!(
                md,
                "**Not measured yet: your `consumer_lag` in `{}` reported no lag at all.** Implement it (the TODO in that file), run again, and this section fills in.\n",
                self.lag_source
            );
        }
        let _ = writeln!(md, "> **Your explanation:** why does the committed offset stand still while the consumer sleeps? What would a lag-based alert page someone about?\n");

        let _ = writeln!(
            md,
            "## 3. How does this affect other consumers in the group?\n"
        );
        match self.group {
            Some(group) => {
                let _ = writeln!(
                    md,
                    "Two fragile consumers shared a group with `max.poll.interval.ms=1500`. `{}` owned partition 0, \
                     where a permanently failing payment sat in front of healthy ones; `{}` owned partition 1.\n",
                    group.stuck_member, group.healthy_member
                );
                let _ = writeln!(
                    md,
                    "- The takeover: `{}` was handed partition 0 after **{}**, while `{}` slept in its retry loop.\n\
                     - Rebalance events across both members: **{}**.\n\
                     - Commits that failed because the committer had been thrown out of the group: **{}**.\n\
                     - Outcomes reported for the one failing payment `{}`: **{}** (each one a full retry loop by some member: the group passes the poison pill around).\n",
                    group.healthy_member,
                    group.takeover_after.map(secs).unwrap_or_else(|| "never (not observed)".into()),
                    group.stuck_member,
                    group.events.len(),
                    group.stats.iter().map(|(_, s)| s.failed_commits).sum::<u64>(),
                    group.blocker_id,
                    group.blocker_outcomes()
                );
                let _ = writeln!(
                    md,
                    "| time (ms, epoch) | member | event | partitions |\n|---|---|---|---|"
                );
                for event in &group.events {
                    let _ = writeln!(
                        md,
                        "| {} | {} | {:?} | {:?} |",
                        event.at_ms, event.member, event.kind, event.partitions
                    );
                }
            }
            None => {
                let _ = writeln!(md, "Not run (`--skip-group-impact`).");
            }
        }
        let _ = writeln!(md, "\n> **Your explanation:** what does a member that sleeps past `max.poll.interval.ms` do to the others? Why did the same payment come back?\n");
        let _ = writeln!(md, "## What would fix it?\n\n> **Your answer:** (Labs 4.2 and 4.3 build two answers: a dead letter queue, and retry topics.)");
        md
    }
}

/// A one-line picture of the lag over time (one character per sample, downsampled).
fn sparkline(samples: &[harness::measure::lag::LagSample]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let peak = samples
        .iter()
        .map(|s| s.total_lag)
        .max()
        .unwrap_or(0)
        .max(1);
    let step = samples.len().div_ceil(100).max(1);
    let line: String = samples
        .iter()
        .step_by(step)
        .map(|s| BARS[((s.total_lag.max(0) * 7) / peak) as usize])
        .collect();
    format!("lag over time (peak {peak}): {line}")
}
