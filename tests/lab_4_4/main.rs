//! Lab 4.4's criteria (seeds 001, 002, 003, 004).
//!
//! Every criterion runs against the solution in plain `cargo test`, and against
//! the student's `labs/lab-4-4` with:
//!
//! ```text
//! cargo grade lab-4-4
//! ```
//!
//! Each test starts a payment service of its own (own topics, own groups, an
//! ephemeral port) and observes it from outside: over real HTTP, through the
//! live, retry, DLQ, parking and journal topics, and the outcome records.
//!
//! | file | criteria |
//! |---|---|
//! | `replay.rs` | replays: exactly once, byte-exact, parked not looped, dry runs and second runs |
//! | `purge.rs` | purges: only what they should |
//! | `api.rs` | the admin API: figures, the simulate switch, tokens and 4xx, Prometheus text |
//! | `validation.rs` | invalid payments dead-lettered at once; filters, bodies and routes refused with the right 4xx |
//! | `shutdown.rs` | a shutdown mid-stream loses nothing |
//! | this file | what they share: a service of its own, the incident's first pass |

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use criteria::ledger::Ledger;
use grader::broker::shared_test_broker;
use grader::grading::Criterion;
use harness::gateway::{Defect, FailureMix};
use harness::outcomes::{OutcomeStatus, OutcomeWatcher};
use harness::payments::PoisonRates;
use harness::producer::{payment_producer, produce_payments};
use harness::replay::parking_topic;
use harness::topics::{read_all, unique_name};
use harness::wait;
use harness::workload::Workload;
use lab_4_4_criteria::scenario::{statuses_since, IncidentRun, RunOptions, RUN_TOKEN};
use lab_4_4_criteria::truth::AfterReplay;
use lab_4_4_criteria::verdicts;
use lab_4_4_kit::client::ApiClient;
use lab_4_4_kit::config::ServiceConfig;
use lab_4_4_kit::dlq::{records, records_in, watermarks, DlqSnapshot};
use lab_4_4_kit::service::{start, ServiceHandle};
use lab_4_4_kit::Exercise;
use serde_json::{json, Value};

const LAB: &str = "lab-4-4";
/// Backoffs of 200/400/800 ms and a 10 ms bank: a run settles in seconds; this
/// much means something is stuck.
const SETTLE: Duration = Duration::from_secs(90);

#[path = "../common/mod.rs"]
mod common;

common::criteria!(
    LAB, lab_4_4::Starter, lab_4_4_solution::Solution;
    replay_reprocesses_every_fixed_payment_exactly_once,
    replays_are_byte_exact_and_never_touch_the_live_topic,
    failed_replays_are_parked_not_looped,
    dry_runs_and_second_replays_send_nothing,
    purge_removes_only_what_it_should,
    api_reports_the_known_workload,
    simulate_transient_error_causes_retries,
    admin_endpoints_require_the_token,
    metrics_parse_as_prometheus_text,
    invalid_input_is_dead_lettered_or_refused,
    shutdown_loses_nothing,
);

/// An incident run whose first pass (bug deployed) has settled.
async fn after_first_pass<E: Exercise>(criterion: &mut Criterion) -> IncidentRun {
    let run = IncidentRun::start::<E>(shared_test_broker().await, &RunOptions::graded())
        .await
        .unwrap();
    let first = run.first_pass(SETTLE).await;
    criterion.expect(
        first.is_ok(),
        "every payment decided on the first pass",
        result_text(&first),
    );
    criterion.note(format!(
        "{} payments, {} hit by the bug, {} dead-lettered on the first pass",
        run.truth.payments.len(),
        run.truth.hit_by_bug().len(),
        run.truth.dead_lettered().len()
    ));
    run
}

/// A failed wait or step as people read it: `ok`, or the error with its causes
/// (never Rust's Debug output).
fn result_text<T, E: std::fmt::Display>(result: &Result<T, E>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(error) => format!("{error:#}"),
    }
}

/// Watermarks as `partition 0: 0..5, partition 1: 3..3` (low..high, high exclusive).
fn marks(watermarks: &BTreeMap<i32, (i64, i64)>) -> String {
    watermarks
        .iter()
        .map(|(p, (low, high))| format!("partition {p}: {low}..{high}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A service of its own for the API criteria, with `configure` applied.
async fn start_service<E: Exercise>(
    configure: impl FnOnce(&mut ServiceConfig),
) -> (ServiceHandle, ApiClient, OutcomeWatcher) {
    let broker = shared_test_broker().await;
    let mut config = ServiceConfig::for_run(&unique_name("lab44api"), RUN_TOKEN);
    configure(&mut config);
    let service = start::<E>(broker, config).await.unwrap();
    let api = ApiClient::new(&service.base_url(), Some(RUN_TOKEN));
    let watcher =
        OutcomeWatcher::start(broker, &service.state.topology.pipeline.outcomes_topic()).unwrap();
    (service, api, watcher)
}

/// Every record of the run's replay journal.
async fn journal_records(run: &IncidentRun) -> Vec<rdkafka::message::OwnedMessage> {
    let topic = &run.service.state.journal.topic;
    read_all(&run.broker, topic, Duration::from_secs(30))
        .await
        .unwrap()
}

/// POST a payment over the API; its id.
async fn create_payment(api: &ApiClient, id: &str, currency: &str) -> String {
    let body = json!({"payment_id": id, "amount": 42.5, "currency": currency});
    let response = api.post("/api/payments", Some(&body)).await.unwrap();
    assert_eq!(
        response.status, 202,
        "POST /api/payments: {}",
        response.text
    );
    response.body["paymentId"].as_str().unwrap().to_string()
}

/// Wait until each of `ids` has at least one outcome.
async fn decided(watcher: &OutcomeWatcher, ids: &[String]) -> Vec<harness::outcomes::Outcome> {
    watcher
        .wait_for("an outcome for every payment", SETTLE, |outcomes| {
            let seen: BTreeSet<&str> = outcomes.iter().map(|o| o.payment_id.as_str()).collect();
            let left = ids.iter().filter(|id| !seen.contains(id.as_str())).count();
            if left == 0 {
                Ok(())
            } else {
                Err(format!("{left} of {} undecided", ids.len()))
            }
        })
        .await
        .unwrap()
}

mod api;
mod purge;
mod replay;
mod shutdown;
mod validation;

/// Where `common::criteria!` finds each criterion's body.
mod checks {
    pub use super::api::*;
    pub use super::purge::*;
    pub use super::replay::*;
    pub use super::shutdown::*;
    pub use super::validation::*;
}
