//! Lab 4.2's criteria (seed 000 Lab 4.2, with seeds 001 and 003).
//!
//! Every criterion runs against the solution in plain `cargo test`, and against
//! the student's `labs/lab-4-2` with:
//!
//! ```text
//! cargo grade lab-4-2
//! ```
//!
//! The lab is observed from outside: through the input, DLQ and outcomes topics.
//!
//! | file | criteria |
//! |---|---|
//! | `dead_letters.rs` | every failure dead-lettered, nothing lost; the dead letters' metadata and original bytes |
//! | `flow.rs` | healthy payments keep flowing: non-blocking, no retry in place |
//! | `commits.rs` | the commit follows the DLQ ack, across a DLQ outage and a restart |
//! | `analyzer.rs` | the DLQ analyzer's counts against a DLQ of known content |
//! | this file | what they share: the failing run, the DLQ read back |

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use criteria::ledger::dead_lettered_twice;
use grader::broker::shared_test_broker;
use grader::commit_watch::{
    expect_no_commit_past_a_missing_dlq, expect_no_dead_letter_before, CommitWatch,
};
use grader::grading::Criterion;
use harness::clock::now_ms;
use harness::dead_letter::{DeadLetter, FailureContext};
use harness::gateway::{FailureMix, PaymentClass, PaymentError, PermanentReason, TransientReason};
use harness::outcomes::OutcomeStatus;
use harness::payments::{PaymentGenerator, PoisonError, PoisonKind, PoisonRates};
use harness::topics::{create_topics, read_all, unique_name};
use harness::{wait, TimeScale};
use lab_4_2_criteria::scenario::{
    drains_without_blocking, non_blocking_expectation, DlqRun, Settled, OWN_HANDLING_LIMIT,
};
use lab_4_2_kit::analyzer::{analyze, DlqReport};
use lab_4_2_kit::Exercise;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage, Timestamp};
use rdkafka::producer::FutureRecord;

const LAB: &str = "lab-4-2";
const SEED: u64 = 42;
const COUNT: usize = 80;

fn scale() -> TimeScale {
    TimeScale::new(0.1)
}

/// Seed 000 Lab 4.2: 20% failures, plus each kind of poison pill.
fn failing_run_params() -> (PoisonRates, FailureMix) {
    (PoisonRates::each(0.025), FailureMix::with_failure_rate(0.2))
}

#[path = "../common/mod.rs"]
mod common;

common::criteria!(
    LAB, lab_4_2::Starter, lab_4_2_solution::Solution;
    every_failure_is_dead_lettered_and_nothing_is_lost,
    dead_letters_carry_metadata_and_original_bytes,
    healthy_payments_keep_flowing,
    commit_follows_dlq_ack,
    analyzer_counts_match_ground_truth,
);

/// A run with failures and poison, settled.
async fn failing_run<E: Exercise>() -> Settled {
    let broker = shared_test_broker().await;
    let (poison, mix) = failing_run_params();
    DlqRun::start::<E>(broker, SEED, COUNT, poison, mix, scale(), true)
        .await
        .unwrap()
        .settle(Duration::from_secs(60))
        .await
        .unwrap()
}

/// The payment ids of every record on the run's DLQ, with the records.
async fn dead_letters(run: &Settled) -> Vec<OwnedMessage> {
    read_all(
        shared_test_broker().await,
        &run.dlq_topic,
        Duration::from_secs(60),
    )
    .await
    .unwrap()
}

fn payment_id_of(message: &OwnedMessage) -> String {
    String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned()
}

fn header<'a>(message: &'a OwnedMessage, key: &str) -> Option<&'a [u8]> {
    message
        .headers()?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
}

/// Wait (up to a deadline) until the current consumer has failed `count` DLQ
/// sends; `Ok(false)` if every payment settled first with no DLQ send left
/// waiting for its answer (records are handled concurrently: a run can settle
/// while its sends are still in flight, and those may yet fail).
async fn wait_for_failed_sends(run: &DlqRun, count: u64) -> Result<bool, wait::TimedOut> {
    wait::until(
        "DLQ sends to fail",
        Duration::from_secs(60),
        Duration::from_millis(50),
        || {
            let failures = run.stats().dlq_send_failures.load(Ordering::Relaxed);
            if failures >= count {
                return Ok(true);
            }
            let in_flight = run.stats().dlq_sends_in_flight.load(Ordering::Relaxed);
            match run.ledger.settled(&run.outcomes()) {
                Ok(()) if in_flight == 0 => Ok(false),
                Ok(()) => Err(format!(
                    "{failures} failed DLQ sends; every payment has an outcome, {in_flight} DLQ sends in flight"
                )),
                Err(progress) => Err(format!("{failures} failed DLQ sends; {progress}")),
            }
        },
    )
    .await
}

mod analyzer;
mod commits;
mod dead_letters;
mod flow;

/// Where `common::criteria!` finds each criterion's body.
mod checks {
    pub use super::analyzer::*;
    pub use super::commits::*;
    pub use super::dead_letters::*;
    pub use super::flow::*;
}
