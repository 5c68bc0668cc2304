//! Lab 4.6's criteria: at-least-once at full speed.
//!
//! Every criterion runs against the solution in plain `cargo test`, and against
//! the student's `labs/lab-4-6` with:
//!
//! ```text
//! cargo grade lab-4-6
//! ```
//!
//! | file | criteria |
//! |---|---|
//! | `tracker.rs` | the tracker against a model: never past an unfinished record, always the whole prefix |
//! | `outage.rs` | a DLQ outage with a restart in the middle: no commit past an unacknowledged dead letter, zero lost, duplicates bounded by the window |
//! | `killed.rs` | a consumer process killed with SIGKILL mid-window, dead letters stuck: zero lost |
//! | `throughput.rs` | throughput above a floor, as a ratio to the fair baseline measured in the same run |
//! | this file | what they share, and the child process the SIGKILL criterion kills |

use std::collections::BTreeSet;
use std::time::Duration;

use grader::broker::shared_test_broker;
use grader::grading::Criterion;
use harness::outcomes::{Outcome, OutcomeStatus};
use harness::topics::{create_topics, read_all};
use harness::{wait, TimeScale};
use lab_4_6_criteria::scenario::{Settled, WindowedRun, PARTITIONS};
use lab_4_6_kit::Exercise;
use rdkafka::message::Message;

const LAB: &str = "lab-4-6";

#[path = "../common/mod.rs"]
mod common;

common::criteria!(
    LAB, lab_4_6::Starter, lab_4_6_solution::Solution;
    tracker_commits_exactly_the_finished_prefix,
    nothing_lost_through_a_dlq_outage,
    nothing_lost_when_killed,
    throughput_above_the_floor,
);

/// The SIGKILL criterion's child process (see `lab_4_6_criteria::child`): this
/// binary run again on this test alone, with its configuration in the
/// environment. Ignored in a plain `cargo test`, where it has nothing to do.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "the child process of nothing_lost_when_killed, started by it"]
async fn windowed_consumer_child_process() {
    let served = match grader::grading::target() {
        grader::grading::Target::Starter => {
            lab_4_6_criteria::child::serve::<lab_4_6::Starter>().await
        }
        grader::grading::Target::Solution => {
            lab_4_6_criteria::child::serve::<lab_4_6_solution::Solution>().await
        }
    };
    if let Err(error) = served {
        panic!("the child consumer stopped: {error:#}");
    }
}

/// Processing time of the black-box runs: 1% of the seed's 100 ms.
fn scale() -> TimeScale {
    TimeScale::new(0.01)
}

/// The payment ids of every dead letter on the run's DLQ.
async fn dead_lettered_on_the_dlq(settled: &Settled) -> BTreeSet<String> {
    read_all(
        shared_test_broker().await,
        &settled.dlq_topic,
        Duration::from_secs(60),
    )
    .await
    .unwrap()
    .iter()
    .map(|m| String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned())
    .collect()
}

/// Every payment reported dead-lettered is on the DLQ topic.
async fn expect_dead_letters_on_the_dlq(criterion: &mut Criterion, settled: &Settled) {
    let on_dlq = dead_lettered_on_the_dlq(settled).await;
    let reported: BTreeSet<String> = settled
        .outcomes
        .iter()
        .filter(|o| o.status == OutcomeStatus::DeadLettered)
        .map(|o| o.payment_id.clone())
        .collect();
    let missing: Vec<&String> = reported.difference(&on_dlq).collect();
    criterion.expect(
        missing.is_empty() && !reported.is_empty(),
        "every payment reported dead-lettered to be on the DLQ topic (and some to be)",
        format!(
            "{} reported dead-lettered, {} of them missing from {}, e.g. {:?}",
            reported.len(),
            missing.len(),
            settled.dlq_topic,
            missing.iter().take(3).collect::<Vec<_>>()
        ),
    );
}

/// Payments with an outcome so far.
fn decided(outcomes: &[Outcome]) -> usize {
    outcomes
        .iter()
        .map(|o| o.payment_id.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

mod killed;
mod outage;
mod throughput;
mod tracker;

/// Where `common::criteria!` finds each criterion's body.
mod checks {
    pub use super::killed::*;
    pub use super::outage::*;
    pub use super::throughput::*;
    pub use super::tracker::*;
}
