//! Lab 4.3's criteria (seed 000 Lab 4.3, with seeds 002 and 003).
//!
//! Every criterion runs against the solution in plain `cargo test`, and against
//! the student's `labs/lab-4-3` with:
//!
//! ```text
//! cargo grade lab-4-3
//! ```
//!
//! The lab is observed from outside: through the live, retry, DLQ and outcomes
//! topics, and the rebalance callbacks of its consumers. Every run uses the
//! tight group timeouts (`max.poll.interval.ms` 3 s, below the last level's 6 s
//! at this time scale), so a tier that sleeps is thrown out of its group.
//!
//! | file | criteria |
//! |---|---|
//! | `levels.rs` | the route of each failure: levels on time, straight to the DLQ, final dead letters |
//! | `flow.rs` | the whole run: accounting, velocity, the live topic untouched, no rebalance |
//! | `outage.rs` | crashing every member during a retry-topic and DLQ outage |
//! | this file | what they share: the run, the topics read back |

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use criteria::ledger::{processed_by, Route};
use grader::broker::shared_test_broker;
use grader::commit_watch::{
    expect_no_commit_past, expect_no_dead_letter_before, guarded, CommitWatch, Placed,
};
use grader::grading::Criterion;
use harness::clock::now_ms;
use harness::dead_letter::DeadLetter;
use harness::gateway::FailureMix;
use harness::outcomes::{payment_id_of, OutcomeStatus};
use harness::payments::PoisonRates;
use harness::topics::read_all;
use harness::{wait, TimeScale};
use lab_4_3_criteria::scenario::{
    healthy_ratio, trace_paths, Missing, RetryRun, RunOptions, Settled, BLOCKED_LIMIT,
    HEALTHY_RATIO_LIMIT, HOP_TOLERANCE,
};
use lab_4_3_criteria::verdicts;
use lab_4_3_kit::pipeline::GroupTimeouts;
use lab_4_3_kit::retry_consumer::WINDOW;
use lab_4_3_kit::running::RunningPipeline;
use lab_4_3_kit::Exercise;
use rdkafka::Message;

const LAB: &str = "lab-4-3";
const SEED: u64 = 43;
const COUNT: usize = 80;
/// The levels at this scale take 0.5 + 1.5 + 6 s; a run that needs much more
/// than that has a blocked or stuck tier.
const SETTLE: Duration = Duration::from_secs(45);

/// 30% failures (half transient, failing 1 to 4 times; half permanent), plus each
/// kind of poison pill; the seed's 5/15/60 s levels at a tenth of the time.
fn options() -> RunOptions {
    RunOptions {
        poison: PoisonRates::each(0.0125),
        mix: FailureMix::with_failure_rate(0.3),
        timeouts: GroupTimeouts::TIGHT,
        ..RunOptions::seed_lab(SEED, COUNT, TimeScale::new(0.1))
    }
}

#[path = "../common/mod.rs"]
mod common;

common::criteria!(
    LAB, lab_4_3::Starter, lab_4_3_solution::Solution;
    transient_payments_climb_the_levels_on_time,
    non_retryable_payments_go_straight_to_the_dlq,
    exhausted_retries_are_final_dead_letters,
    every_payment_is_accounted_for,
    healthy_payments_keep_their_velocity,
    retries_never_touch_the_live_topic,
    no_sleep_induced_rebalances,
    nothing_is_lost_when_members_crash,
);

async fn run<E: Exercise>(options: RunOptions) -> Settled {
    RetryRun::<E>::start(shared_test_broker().await, options)
        .await
        .unwrap()
        .settle(SETTLE)
        .await
        .unwrap()
}

/// Payment ids on a topic, with how many records each has there.
async fn ids_on(topic: &str) -> BTreeMap<String, usize> {
    let mut ids = BTreeMap::new();
    for message in read_all(shared_test_broker().await, topic, Duration::from_secs(60))
        .await
        .unwrap()
    {
        *ids.entry(payment_id_of(&message)).or_insert(0) += 1;
    }
    ids
}

/// `a, b, c` (the first `max`, then `and N more`), or `none`: ids and numbers
/// as a student reads them, never Rust's debug notation.
fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>, max: usize) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if items.is_empty() {
        return "none".into();
    }
    let mut text = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        text.push_str(&format!(" and {} more", items.len() - max));
    }
    text
}

/// What the run did if it did not finish, for messages.
fn unfinished(run: &Settled) -> String {
    run.timed_out
        .as_deref()
        .map(|why| format!(" (it did not finish: {why})"))
        .unwrap_or_default()
}

mod flow;
mod levels;
mod outage;

/// Where `common::criteria!` finds each criterion's body.
mod checks {
    pub use super::flow::*;
    pub use super::levels::*;
    pub use super::outage::*;
}
