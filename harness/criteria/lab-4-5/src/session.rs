//! Seed 003's troubleshooting, measured: "rebalancing too frequent: because
//! `session.timeout.ms` is too short".
//!
//! In librdkafka (as in Java since KIP-62) heartbeats come from a background
//! thread, so a member that is merely *busy* keeps its session. What a too-short
//! session timeout does not survive is a member whose whole process stops for a
//! moment: a long garbage-collection pause, a stalled VM, a container CPU
//! throttle. This run freezes one member of two (SIGSTOP, then SIGCONT) a few
//! times, under a short session timeout and then under a longer one, and counts
//! the partition moves each causes.

use std::time::Duration;

use harness::clock::now_ms;
use harness::Broker;
use lab_4_5_kit::events::EventKind;
use lab_4_5_kit::Strategy;

use crate::members::Launcher;
use crate::ownership::moves_partitions;
use crate::producer::SteadyProducer;
use crate::scenario::{Run, StepKind};

/// How long each freeze lasts: longer than the short session, well within the long one.
pub const FREEZE: Duration = Duration::from_secs(3);
/// How many freezes.
pub const FREEZES: usize = 3;
/// The short session timeout (the brokers here allow 1 s at the least).
pub const SHORT_SESSION_MS: u64 = 1000;
/// The long one: the scenario's usual 6 s.
pub const LONG_SESSION_MS: u64 = 6000;

/// Why the embedded mock does not run it.
pub const MOCK_NOT_TRIED: &str =
    "not run on the embedded mock, whose session expiry is not Kafka's coordinator; run it on Apache Kafka";

/// What one session timeout's run saw.
#[derive(Debug, Clone)]
pub struct SessionRun {
    pub session_timeout_ms: u64,
    /// Assignments and revocations (with partitions) from the first freeze on.
    pub moves: usize,
    /// Times the frozen member found its assignment lost.
    pub lost: usize,
}

/// Two members (cooperative-sticky) under a steady producer; freeze the second
/// [`FREEZES`] times for [`FREEZE`], letting the group settle after each.
pub async fn run(
    broker: &Broker,
    launcher: Launcher,
    session_timeout_ms: u64,
) -> anyhow::Result<SessionRun> {
    let label = format!("session-{session_timeout_ms}ms");
    let mut run = Run::open(
        broker,
        Strategy::CooperativeSticky,
        launcher,
        &label,
        session_timeout_ms,
    )
    .await?;
    let producer = SteadyProducer::start(broker, &run.topic)?;
    run.step(StepKind::Start, "a1").await?;
    run.step(StepKind::Join, "b1").await?;
    let from = now_ms();
    for _ in 0..FREEZES {
        run.members.freeze("b1", true)?;
        // The stimulus itself, not a wait for a condition: the freeze lasts this long.
        tokio::time::sleep(FREEZE).await;
        run.members.freeze("b1", false)?;
        run.settle(None, now_ms()).await?;
    }
    let until = now_ms();
    producer.stop().await?;
    for member in run.live.clone() {
        run.members.stop(&member, Duration::from_secs(30)).await?;
    }
    let events = run.events.snapshot();
    let after = events
        .iter()
        .filter(|e| e.at_ms >= from && e.at_ms <= until);
    Ok(SessionRun {
        session_timeout_ms,
        moves: after.clone().filter(|e| moves_partitions(e)).count(),
        lost: after.filter(|e| e.kind == EventKind::Lost).count(),
    })
}

/// The line the checklist and the report print.
pub fn describe(runs: &[SessionRun]) -> String {
    runs.iter()
        .map(|r| {
            format!(
                "session.timeout.ms {} ms: {FREEZES} freezes of {} s caused {} partition moves ({} lost assignments)",
                r.session_timeout_ms,
                FREEZE.as_secs(),
                r.moves,
                r.lost
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}
