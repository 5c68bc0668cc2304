//! One strategy's run: a steady producer on a 6-partition topic, and members
//! (real processes) scaled 1 → 2 → 3 → 2 → 1:
//!
//! | step | what | members after |
//! |---|---|---|
//! | 1 | `a1` starts (a static member, `group.instance.id = a`) | a1 |
//! | 2 | `b1` joins | a1 b1 |
//! | 3 | `c1` joins | a1 b1 c1 |
//! | 4 | `c1` leaves gracefully (SIGTERM) | a1 b1 |
//! | 5 | `a1` restarts as `a2`, same static id, within the session timeout | a2 b1 |
//! | 6 | `b1` is killed (SIGKILL) | a2 |
//!
//! After each step it waits for the group to settle (every partition owned by
//! exactly one live member), then for every partition to process a few more
//! payments, or notes which stalled. Then the producer stops, the run waits for
//! every payment to have an outcome (or for the deadline: the rest are lost),
//! and the last member leaves.

use std::collections::BTreeSet;
use std::time::Duration;

use harness::clock::now_ms;
use harness::outcomes::{outcomes_topic, Outcome};
use harness::topics::{create_topics, unique_name};
use harness::{wait, Broker};
use lab_4_5_kit::events::{events_topic, EventKind, MemberEvent};
use lab_4_5_kit::member::{ChildMember, MemberConfig};
use lab_4_5_kit::runner::PARTITIONS;
use lab_4_5_kit::Strategy;

use crate::members::{Launcher, Members};
use crate::ownership::{moves_partitions, owners_at};
use crate::producer::SteadyProducer;
use harness::tail::Tail;

pub use crate::observed::{Observed, Step, StepKind};

/// Payments per second: 10 per partition, so each partition's worker (50 ms a
/// payment) is busy half the time and a revocation often finds one in hand.
pub const RATE_PER_SECOND: usize = 60;
/// Payments each partition must process after a step before the next one.
pub const FLOW_AFTER_STEP: usize = 5;
/// How long a partition may process nothing after a step before it counts as
/// stalled (and the scenario moves on).
pub const STALL_DEADLINE: Duration = Duration::from_secs(10);
/// Time allowed for a rebalance to settle (a SIGKILL waits out a session).
const SETTLE_DEADLINE: Duration = Duration::from_secs(60);
/// After the producer stops: time for every payment to get its outcome.
const DRAIN_DEADLINE: Duration = Duration::from_secs(30);

/// Run the scenario for `strategy`, members started by `launcher`.
pub async fn run(
    broker: &Broker,
    strategy: Strategy,
    launcher: Launcher,
) -> anyhow::Result<Observed> {
    let session_timeout_ms = MemberConfig::new("", "", "", strategy).session_timeout_ms;
    let mut run = Run::open(
        broker,
        strategy,
        launcher,
        strategy.name(),
        session_timeout_ms,
    )
    .await?;
    let (topic, group, logs) = (
        run.topic.clone(),
        run.group.clone(),
        run.members.logs().to_path_buf(),
    );
    let started_ms = now_ms();
    let producer = SteadyProducer::start(broker, &topic)?;
    run.step(StepKind::Start, "a1").await?;
    run.step(StepKind::Join, "b1").await?;
    run.step(StepKind::Join, "c1").await?;
    run.step(StepKind::Leave, "c1").await?;
    run.step(StepKind::StaticRestart, "a1").await?;
    run.step(StepKind::Kill, "b1").await?;
    let produced = producer.stop().await?;
    let expected: BTreeSet<&str> = produced.iter().map(String::as_str).collect();
    // Not an error when it times out: what is missing then is what was lost.
    let _ = wait::until(
        "every produced payment to have an outcome",
        DRAIN_DEADLINE,
        Duration::from_millis(50),
        || {
            let outcomes = run.outcomes.snapshot();
            let decided: BTreeSet<&str> = outcomes.iter().map(|o| o.payment_id.as_str()).collect();
            let missing = expected.difference(&decided).count();
            if missing == 0 {
                Ok(())
            } else {
                Err(format!(
                    "{missing} of {} without an outcome",
                    expected.len()
                ))
            }
        },
    )
    .await;
    let last = run.live.clone();
    for member in &last {
        run.members.stop(member, Duration::from_secs(30)).await?;
    }
    // The last member's events (its revocations and `Stopped`) must be read too.
    wait::until(
        "the last member's Stopped event",
        Duration::from_secs(20),
        Duration::from_millis(20),
        || {
            let stopped = run
                .events
                .snapshot()
                .iter()
                .filter(|e| e.kind == EventKind::Stopped && last.contains(&e.member))
                .count();
            if stopped == last.len() {
                Ok(())
            } else {
                Err(format!("{stopped} of {} read", last.len()))
            }
        },
    )
    .await?;
    Ok(Observed {
        strategy,
        topic,
        group,
        started_ms,
        ended_ms: now_ms(),
        steps: run.steps.clone(),
        events: run.events.snapshot(),
        outcomes: run.outcomes.snapshot(),
        produced,
        session_timeout_ms,
        logs,
    })
}

/// A run in progress: its topics, its members, what they said so far.
pub(crate) struct Run<'a> {
    broker: &'a Broker,
    strategy: Strategy,
    pub(crate) topic: String,
    group: String,
    pub(crate) members: Members,
    pub(crate) events: Tail<MemberEvent>,
    outcomes: Tail<Outcome>,
    pub(crate) live: Vec<String>,
    steps: Vec<Step>,
    session_timeout_ms: u64,
}

impl<'a> Run<'a> {
    /// Fresh topics and group (named after `label`), their tails, no member yet.
    pub(crate) async fn open(
        broker: &'a Broker,
        strategy: Strategy,
        launcher: Launcher,
        label: &str,
        session_timeout_ms: u64,
    ) -> anyhow::Result<Run<'a>> {
        let topic = unique_name(&format!("lab-4-5.orders-{label}"));
        let group = unique_name(&format!("lab-4-5.group-{label}"));
        let (outcomes, events) = (outcomes_topic(&topic), events_topic(&topic));
        create_topics(
            broker,
            &[(&topic, PARTITIONS), (&outcomes, 1), (&events, 1)],
        )
        .await?;
        let logs = std::env::temp_dir().join("lab-4-5").join(&group);
        Ok(Run {
            broker,
            strategy,
            events: Tail::start(broker, &events)?,
            outcomes: Tail::start(broker, &outcomes)?,
            members: Members::new(launcher, logs)?,
            topic,
            group,
            live: Vec::new(),
            steps: Vec::new(),
            session_timeout_ms,
        })
    }

    fn child(&self, member: &str) -> ChildMember {
        let mut config = MemberConfig::new(&self.topic, &self.group, member, self.strategy);
        config.session_timeout_ms = self.session_timeout_ms;
        if member.starts_with('a') {
            config.static_id = Some("a".into());
        }
        ChildMember {
            bootstrap_servers: self.broker.bootstrap_servers.clone(),
            config,
        }
    }

    pub(crate) async fn step(&mut self, kind: StepKind, member: &str) -> anyhow::Result<()> {
        let at_ms = now_ms();
        let (label, newcomer) = match kind {
            StepKind::Start | StepKind::Join => {
                self.members.start(&self.child(member))?;
                self.live.push(member.to_string());
                (
                    format!(
                        "{member} {}",
                        if kind == StepKind::Start {
                            "starts"
                        } else {
                            "joins"
                        }
                    ),
                    Some(member.to_string()),
                )
            }
            StepKind::Leave => {
                self.members.stop(member, Duration::from_secs(30)).await?;
                self.live.retain(|m| m != member);
                (format!("{member} leaves (SIGTERM)"), None)
            }
            StepKind::StaticRestart => {
                let next = format!("{}2", crate::ownership::identity(member));
                self.members.stop(member, Duration::from_secs(30)).await?;
                self.live.retain(|m| m != member);
                self.members.start(&self.child(&next))?;
                self.live.push(next.clone());
                (format!("{member} restarts as {next} (static)"), Some(next))
            }
            StepKind::Kill => {
                self.members.kill(member)?;
                self.live.retain(|m| m != member);
                (format!("{member} killed (SIGKILL)"), None)
            }
        };
        tracing::info!("{}: {label}", self.strategy);
        let settled_ms = self.settle(newcomer.as_deref(), at_ms).await?;
        let stalled = self.flow_after(settled_ms).await;
        self.steps.push(Step {
            kind,
            label,
            member: member.to_string(),
            at_ms,
            settled_ms,
            live_after: self.live.clone(),
            stalled,
        });
        Ok(())
    }

    /// Wait until every partition is owned by exactly one live member (and the
    /// newcomer, if any, owns one). Returns when the last move happened.
    pub(crate) async fn settle(
        &mut self,
        newcomer: Option<&str>,
        since_ms: i64,
    ) -> anyhow::Result<i64> {
        let live = self.live.clone();
        let settled = wait::until(
            &format!(
                "the group to settle on members {live:?} ({})",
                self.strategy
            ),
            SETTLE_DEADLINE,
            Duration::from_millis(20),
            || {
                for member in &live {
                    if let Some(exit) = self.members.exited(member) {
                        return Ok(Err(format!("member {member} exited by itself: {exit}")));
                    }
                }
                let events = self.events.snapshot();
                let owners = owners_at(&events, i64::MAX);
                let mut wrong = Vec::new();
                for partition in 0..PARTITIONS {
                    let of_p = owners.get(&partition).cloned().unwrap_or_default();
                    let live_owners = of_p.iter().filter(|m| live.contains(m)).count();
                    if live_owners != 1 || of_p.len() != 1 {
                        wrong.push(format!("p{partition}: {of_p:?}"));
                    }
                }
                if let Some(newcomer) = newcomer {
                    if !owners.values().any(|o| o.contains(newcomer)) {
                        wrong.push(format!("{newcomer} owns nothing yet"));
                    }
                }
                // Every strategy here balances 6 partitions evenly. Under the
                // consumer protocol members reconcile one by one, so "each
                // partition has one owner" can hold for a moment before the
                // last move: wait for the balanced assignment too.
                let counts: Vec<usize> = live
                    .iter()
                    .map(|m| owners.values().filter(|o| o.contains(m)).count())
                    .collect();
                let (most, least) = (counts.iter().max(), counts.iter().min());
                if let (Some(most), Some(least)) = (most, least) {
                    if most - least > 1 {
                        wrong.push(format!("not balanced yet: {live:?} own {counts:?}"));
                    }
                }
                let last_move = events
                    .iter()
                    .filter(|e| moves_partitions(e) && e.at_ms >= since_ms)
                    .map(|e| e.at_ms)
                    .max()
                    .unwrap_or(since_ms);
                if wrong.is_empty() && now_ms() - last_move >= 300 {
                    Ok(Ok(last_move))
                } else if wrong.is_empty() {
                    Err("settled, waiting for 300 ms without a move".to_string())
                } else {
                    Err(format!("owners: {}", wrong.join(", ")))
                }
            },
        )
        .await
        .map_err(|timed_out| {
            anyhow::anyhow!(
                "{timed_out}; the members' logs are in {}",
                self.members.logs().display()
            )
        })?;
        settled.map_err(anyhow::Error::msg)
    }

    /// Wait until every partition processed [`FLOW_AFTER_STEP`] payments after
    /// `since_ms`; the ones that did not within [`STALL_DEADLINE`] are returned.
    async fn flow_after(&self, since_ms: i64) -> Vec<i32> {
        let mut stalled = Vec::new();
        let _ = wait::until(
            "every partition to process payments after the step",
            STALL_DEADLINE,
            Duration::from_millis(20),
            || {
                let outcomes = self.outcomes.snapshot();
                stalled = (0..PARTITIONS)
                    .filter(|p| {
                        outcomes
                            .iter()
                            .filter(|o| o.partition == *p && o.finished_at_ms > since_ms)
                            .count()
                            < FLOW_AFTER_STEP
                    })
                    .collect();
                if stalled.is_empty() {
                    Ok(())
                } else {
                    Err(format!("stalled: {stalled:?}"))
                }
            },
        )
        .await;
        stalled
    }
}
