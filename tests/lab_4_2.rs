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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use criteria::ledger::{dead_lettered_twice, processed_by, Route};
use grader::broker::shared_test_broker;
use grader::commit_watch::{
    expect_no_commit_past, expect_no_dead_letter_before, guarded, CommitWatch, Placed,
};
use grader::grading::Criterion;
use harness::clock::now_ms;
use harness::dead_letter::{DeadLetter, FailureContext};
use harness::gateway::{FailureMix, PaymentClass, PaymentError, PermanentReason, TransientReason};
use harness::outcomes::OutcomeStatus;
use harness::payments::{PaymentGenerator, PoisonError, PoisonKind, PoisonRates};
use harness::topics::{create_topics, read_all, unique_name};
use harness::{wait, TimeScale};
use lab_4_2_criteria::scenario::{DlqRun, Settled, NON_BLOCKING_RATIO_LIMIT, OWN_HANDLING_LIMIT};
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
/// sends; `Ok(false)` if every payment settled first.
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
            match run.ledger.settled(&run.outcomes()) {
                Ok(()) => Ok(false),
                Err(progress) => Err(format!("{failures} failed DLQ sends; {progress}")),
            }
        },
    )
    .await
}

mod checks {
    use super::*;

    pub async fn every_failure_is_dead_lettered_and_nothing_is_lost<E: Exercise>(
        mut criterion: Criterion,
    ) {
        let run = failing_run::<E>().await;
        let expected = run.expected_dead_letters();
        let accounting = &run.accounting;
        criterion.expect(
            accounting.lost() == 0
                && accounting.wrong_fate.is_empty()
                && accounting.duplicates == 0
                && accounting.dead_lettered == expected
                && accounting.processed == COUNT - expected,
            format!(
                "{} processed, {expected} dead-lettered, 0 lost, one outcome each (no crash in this run)",
                COUNT - expected
            ),
            format!(
                "{} processed, {} dead-lettered, {} lost ({} skipped, {} without outcome), {} with the wrong fate, {} duplicate outcomes",
                accounting.processed,
                accounting.dead_lettered,
                accounting.lost(),
                accounting.skipped,
                accounting.missing.len(),
                accounting.wrong_fate.len(),
                accounting.duplicates
            ),
        );
        // The outcomes say "dead-lettered"; the DLQ topic must agree.
        let on_dlq: BTreeSet<String> = dead_letters(&run).await.iter().map(payment_id_of).collect();
        let unprocessable: BTreeSet<String> = run
            .workload
            .records
            .iter()
            .filter(|r| !run.workload.class_of(r).succeeds_within(1))
            .map(|r| r.payment_id.clone())
            .collect();
        let dlq_records = dead_letters(&run).await.len();
        criterion.expect(
            on_dlq == unprocessable && dlq_records == unprocessable.len(),
            format!(
                "the DLQ topic to hold exactly the {} failed or poison payments",
                unprocessable.len()
            ),
            format!(
                "{dlq_records} records for {} payments on the DLQ; missing {:?}; unexpected {:?}",
                on_dlq.len(),
                unprocessable.difference(&on_dlq).collect::<Vec<_>>(),
                on_dlq.difference(&unprocessable).collect::<Vec<_>>()
            ),
        );
        criterion.note(format!(
            "{} processed, {expected} dead-lettered, 0 lost",
            accounting.processed
        ));
    }

    pub async fn dead_letters_carry_metadata_and_original_bytes<E: Exercise>(
        mut criterion: Criterion,
    ) {
        let run = failing_run::<E>().await;
        let records = dead_letters(&run).await;
        let expected = run.expected_dead_letters();
        criterion.expect(
            records.len() >= expected && expected > 0,
            format!("at least {expected} dead-letter records to inspect"),
            format!("{} records on {}", records.len(), run.dlq_topic),
        );
        let originals: BTreeMap<&str, _> = run
            .workload
            .records
            .iter()
            .map(|r| (r.payment_id.as_str(), r))
            .collect();
        let delivered: BTreeMap<&str, _> = run
            .delivered
            .iter()
            .map(|d| (d.payment_id.as_str(), d))
            .collect();
        let mut problems = Vec::new();
        for message in &records {
            let id = payment_id_of(message);
            let (Some(original), Some(where_it_was)) =
                (originals.get(id.as_str()), delivered.get(id.as_str()))
            else {
                problems.push(format!("{id}: not a payment of this run"));
                continue;
            };
            let dead = match DeadLetter::parse(message.payload()) {
                Ok(dead) => dead,
                Err(error) => {
                    problems.push(format!("{id}: {error}"));
                    continue;
                }
            };
            let class = run.workload.class_of(original);
            let (error_type, error_class) = match class {
                PaymentClass::Transient { reason, .. } => ("transient", reason.as_str()),
                PaymentClass::Permanent { reason } => ("permanent", reason.as_str()),
                PaymentClass::Poison { kind } => ("poison", kind.as_str()),
                PaymentClass::Healthy => ("(healthy: should not be here)", ""),
            };
            let mut check = |ok: bool, what: &str| {
                if !ok {
                    problems.push(format!("{id}: {what}"));
                }
            };
            check(dead.original_topic == run.input_topic, "original_topic");
            check(
                dead.original_partition == where_it_was.partition,
                "original_partition",
            );
            check(
                dead.original_offset == where_it_was.offset,
                "original_offset",
            );
            check(
                dead.original_value_bytes().ok().flatten().as_deref()
                    == Some(original.value.as_slice()),
                "original value bytes",
            );
            check(
                dead.original_key_bytes().ok().flatten().as_deref() == Some(original.key()),
                "original key bytes",
            );
            check(
                dead.original_key.as_deref() == Some(id.as_str()),
                "original_key text",
            );
            check(
                dead.original_value.as_deref().map(str::as_bytes)
                    == std::str::from_utf8(&original.value).ok().map(str::as_bytes),
                "original_value text (null exactly when not UTF-8)",
            );
            check(
                dead.original_header_bytes().ok()
                    == Some(vec![(
                        "payment-id".to_string(),
                        Some(id.as_bytes().to_vec()),
                    )]),
                "original headers",
            );
            check(
                dead.error_type == error_type,
                &format!("error_type {} (expected {error_type})", dead.error_type),
            );
            check(
                dead.error_class == error_class,
                &format!("error_class {} (expected {error_class})", dead.error_class),
            );
            check(
                dead.error_reason.contains(error_class),
                "error_reason names the cause",
            );
            check(dead.consumer_group == run.group, "consumer_group");
            check(
                dead.failed_processing_attempts == 1 && dead.retry_count == 0,
                "attempts 1, retry_count 0",
            );
            check(
                dead.error_timestamp > 0
                    && !dead.first_failure_timestamp.is_empty()
                    && !dead.last_failure_timestamp.is_empty(),
                "failure timestamps",
            );
            check(
                message.key() == Some(original.key()),
                "DLQ record keyed by the original key",
            );
            check(
                header(message, "error-reason") == Some(dead.error_reason.as_bytes()),
                "error-reason header",
            );
            check(
                header(message, "error-timestamp")
                    == Some(dead.error_timestamp.to_string().as_bytes()),
                "error-timestamp header",
            );
            check(
                header(message, "original-topic") == Some(run.input_topic.as_bytes()),
                "original-topic header",
            );
        }
        criterion.expect(
            problems.is_empty(),
            "every dead letter to carry correct metadata and the original bytes",
            format!("{} problems: {problems:?}", problems.len()),
        );
        criterion.note(format!(
            "{} dead letters checked field by field",
            records.len()
        ));
    }

    pub async fn healthy_payments_keep_flowing<E: Exercise>(mut criterion: Criterion) {
        let broker = shared_test_broker().await;
        let baseline = DlqRun::start::<E>(
            broker,
            SEED,
            COUNT,
            PoisonRates::NONE,
            FailureMix::none(),
            scale(),
            true,
        )
        .await
        .unwrap()
        .settle(Duration::from_secs(60))
        .await
        .unwrap();
        let failing = failing_run::<E>().await;
        let ratio = harness::measure::ratio(failing.drain_time, baseline.drain_time);
        let expected = failing.expected_dead_letters();
        criterion.expect(
            failing.accounting.dead_lettered == expected && failing.accounting.lost() == 0,
            format!("the {expected} failures dead-lettered while the rest flow"),
            format!(
                "{} dead-lettered, {} lost",
                failing.accounting.dead_lettered,
                failing.accounting.lost()
            ),
        );
        // Structurally non-blocking: one attempt per failure, no retry loop.
        let retried: Vec<&str> = failing
            .outcomes
            .iter()
            .filter(|o| o.attempts != 1)
            .map(|o| o.payment_id.as_str())
            .collect();
        criterion.expect(
            retried.is_empty(),
            "one attempt per payment (a DLQ consumer does not retry in place)",
            format!("payments attempted more than once: {retried:?}"),
        );
        criterion.expect(
            ratio <= NON_BLOCKING_RATIO_LIMIT,
            format!("draining with 20% failures + poison to take at most {NON_BLOCKING_RATIO_LIMIT}x the failure-free time"),
            format!(
                "{ratio:.2}x ({} ms vs {} ms)",
                failing.drain_time.as_millis(),
                baseline.drain_time.as_millis()
            ),
        );
        let own = failing.own_handling_median_us;
        criterion.expect(
            own.is_some_and(|us| us <= OWN_HANDLING_LIMIT.as_micros() as u64),
            format!(
                "handle_failure to take at most {} ms (median) of its own, outside its DLQ send and outcome report: no sleep, no wait",
                OWN_HANDLING_LIMIT.as_millis()
            ),
            match own {
                Some(us) => format!("a median of {:.1} ms per failure", us as f64 / 1000.0),
                None => "no failure was handled (not checked)".to_string(),
            },
        );
        criterion.note(format!(
            "handle_failure's own time: median {:.2} ms per failure",
            own.unwrap_or_default() as f64 / 1000.0
        ));
        criterion.note(format!(
            "non-blocking ratio {ratio:.2} ({} ms with failures vs {} ms without, {COUNT} payments)",
            failing.drain_time.as_millis(),
            baseline.drain_time.as_millis()
        ));
    }

    pub async fn commit_follows_dlq_ack<E: Exercise>(mut criterion: Criterion) {
        let broker = shared_test_broker().await;
        let (poison, mix) = failing_run_params();
        // The DLQ topic does not exist yet, and nothing creates topics implicitly:
        // every DLQ produce fails until we create it.
        let mut run = DlqRun::start::<E>(broker, SEED, 30, poison, mix, scale(), false)
            .await
            .unwrap();
        // Watch the group's commits for as long as the DLQ is missing: a commit
        // past a record that was neither processed nor dead-lettered is the
        // mistake itself, whether or not the record later comes back.
        let watch = CommitWatch::start(
            broker,
            &[(run.group.clone(), run.input_topic.clone())],
            Duration::from_millis(100),
        )
        .unwrap();
        // Two failed sends: the first record has failed, come back, and failed again,
        // so whatever the consumer commits around a failed send has been committed.
        let failures_seen = wait_for_failed_sends(&run, 2).await;
        criterion.expect(
            matches!(failures_seen, Ok(true)),
            "DLQ sends to fail (the DLQ topic is missing) and the failed record to be kept for later",
            match failures_seen {
                Ok(_) => "every payment settled without the DLQ: the failures were committed past without a dead letter".to_string(),
                Err(timeout) => timeout.to_string(),
            },
        );
        // Crash and restart the consumer while the DLQ is still down: the new one
        // starts from the committed offsets, so anything committed past a record
        // that was never dead-lettered is lost right here.
        run.restart::<E>(broker).await.unwrap();
        // Not an assertion: let the new consumer meet the outage too.
        let _ = wait_for_failed_sends(&run, 1).await;
        let commits = watch.finish().await;
        let outage_ends_at_ms = now_ms();
        create_topics(broker, &[(&run.dlq_topic, 3)]).await.unwrap();
        let placed = Placed::live(&run.input_topic, &run.delivered);
        let (ledger, dlq) = (run.ledger.clone(), run.dlq_topic.clone());
        // Outcomes are judged once the run is over, when the watcher has read
        // every one decided during the outage (or, if it never settles, with
        // what it has read by then).
        let snapshot = run.outcomes();
        let settled = run.settle(Duration::from_secs(60)).await;
        let outcomes = settled.as_ref().map_or(snapshot, |s| s.outcomes.clone());
        // A record may be passed once it was processed; one that had to be
        // dead-lettered could not be, with no DLQ to acknowledge it.
        let guarded = guarded(
            &ledger,
            &placed,
            |route| (route == Route::DeadLetter).then(|| dlq.clone()),
            &processed_by(&outcomes, outage_ends_at_ms),
        );
        expect_no_commit_past(&mut criterion, &commits, &guarded, &[dlq]);
        let settled = match settled {
            Ok(settled) => settled,
            Err(error) => {
                criterion.expect(
                    false,
                    "after a restart and the DLQ's return, every payment to reach an outcome",
                    format!("{error:#} (a commit before the DLQ ack skipped them)"),
                );
                return;
            }
        };
        expect_no_dead_letter_before(
            &mut criterion,
            &settled.outcomes,
            outage_ends_at_ms,
            &settled.dlq_topic,
        );
        // No crash after the DLQ came back: each payment is dead-lettered once.
        let twice = dead_lettered_twice(&settled.outcomes, outage_ends_at_ms);
        criterion.expect(
            twice.is_empty(),
            "after the DLQ's return (no crash since), each payment reported dead-lettered at most once",
            format!("reported dead-lettered more than once: {twice:?}"),
        );
        // A record that failed during the outage may succeed when it comes back (its
        // transient failure cleared): processed or dead-lettered are both fine.
        let on_dlq: BTreeSet<String> = dead_letters(&settled)
            .await
            .iter()
            .map(payment_id_of)
            .collect();
        let dead_lettered: BTreeSet<String> = settled
            .outcomes
            .iter()
            .filter(|o| o.status == OutcomeStatus::DeadLettered)
            .map(|o| o.payment_id.clone())
            .collect();
        criterion.expect(
            settled.accounting.lost() == 0 && settled.accounting.skipped == 0 && dead_lettered.is_subset(&on_dlq) && !on_dlq.is_empty(),
            "after a restart during the outage and the DLQ's return: 0 lost, every dead-lettered payment on the DLQ topic",
            format!(
                "{} lost ({} skipped); {} dead-lettered by outcome, {} of them missing from the DLQ topic",
                settled.accounting.lost(),
                settled.accounting.skipped,
                dead_lettered.len(),
                dead_lettered.difference(&on_dlq).count()
            ),
        );
        criterion.note(format!(
            "{} DLQ sends failed and were retried across a restart; no commit passed any of {} guarded records ({} rounds of samples); {} processed, {} dead-lettered, 0 lost",
            settled.dlq_send_failures,
            guarded.len(),
            commits.rounds,
            settled.accounting.processed,
            settled.accounting.dead_lettered
        ));
    }

    pub async fn analyzer_counts_match_ground_truth<E: Exercise>(mut criterion: Criterion) {
        let broker = shared_test_broker().await;
        let dlq = unique_name("lab42-analyzer-dlq");
        let empty = unique_name("lab42-analyzer-empty");
        create_topics(broker, &[(&dlq, 1), (&empty, 2)])
            .await
            .unwrap();

        // A DLQ with known content: one dead letter per (error, original partition)
        // of a fixed list, plus two records from another team's format.
        let errors = [
            PaymentError::Transient(TransientReason::NetworkTimeout),
            PaymentError::Transient(TransientReason::BankApiDown),
            PaymentError::Permanent(PermanentReason::InvalidCustomer),
            PaymentError::Permanent(PermanentReason::InsufficientFunds),
            PaymentError::Poison(PoisonError {
                kind: PoisonKind::MalformedJson,
                detail: "truncated".into(),
            }),
            PaymentError::Poison(PoisonError {
                kind: PoisonKind::NotUtf8,
                detail: "latin-1".into(),
            }),
        ];
        let records = PaymentGenerator::new(SEED).records(15);
        let mut expected = DlqReport {
            topic: dlq.clone(),
            ..DlqReport::default()
        };
        let producer = harness::producer::payment_producer(broker).unwrap();
        for (index, record) in records.iter().enumerate() {
            let error = &errors[index % errors.len()];
            let partition = (index % 3) as i32;
            let original = OwnedMessage::new(
                Some(record.value.clone()),
                Some(record.key().to_vec()),
                "payment_requests".into(),
                Timestamp::CreateTime(1_767_225_600_000 + index as i64),
                partition,
                index as i64,
                Some(OwnedHeaders::new().insert(Header {
                    key: "payment-id",
                    value: Some(record.key()),
                })),
            );
            let context = FailureContext {
                consumer_group: "g",
                attempts: 1,
                first_failure_ms: 1,
                last_failure_ms: 2,
            };
            let dead = DeadLetter::from_message(&original, error, &context);
            producer
                .send(
                    FutureRecord::to(&dlq)
                        .key(record.key())
                        .payload(&dead.to_json()),
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
            expected.total += 1;
            *expected.by_reason.entry(error.to_string()).or_default() += 1;
            *expected
                .by_type_and_partition
                .entry(error.error_type().into())
                .or_default()
                .entry(partition)
                .or_default() += 1;
        }
        for foreign in [
            &b"plain text, not JSON"[..],
            br#"{"orderId": 7, "status": "FAILED"}"#,
        ] {
            producer
                .send(
                    FutureRecord::<(), _>::to(&dlq).payload(foreign),
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
            expected.unreadable += 1;
        }

        let observed = analyze::<E>(broker, &dlq).await;
        criterion.expect(
            matches!(&observed, Ok(report) if *report == expected),
            serde_json::to_string(&expected).unwrap(),
            match &observed {
                Ok(report) => serde_json::to_string(report).unwrap(),
                Err(error) => format!("an error: {error:#}"),
            },
        );
        let empty_report = analyze::<E>(broker, &empty).await;
        criterion.expect(
            matches!(&empty_report, Ok(r) if r.total == 0 && r.unreadable == 0 && r.render_table().contains("No messages in DLQ")),
            "an empty DLQ to end at once with \"No messages in DLQ\"",
            format!("{empty_report:?}"),
        );
        if let Ok(report) = observed {
            insta::assert_snapshot!("analyzer_table", report.render_table());
            let mut json: serde_json::Value = serde_json::from_str(&report.render_json()).unwrap();
            json["topic"] = "[dlq topic]".into();
            insta::assert_json_snapshot!("analyzer_json", json);
        }
    }
}
