//! Lab 4.4's criteria (seeds 001, 002, 003, 004).
//!
//! Every criterion runs against the solution in plain `cargo test`, and against
//! the student's `labs/lab-4-4` with:
//!
//! ```text
//! cargo run -p harness --bin grade -- lab-4-4
//! ```
//!
//! Each test starts a payment service of its own (own topics, own groups, an
//! ephemeral port) and observes it from outside: over real HTTP, through the
//! live, retry, DLQ, parking and journal topics, and the outcome records.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use harness::broker::shared_test_broker;
use harness::gateway::{Defect, FailureMix};
use harness::grading::Criterion;
use harness::ledger::Ledger;
use harness::outcomes::{OutcomeStatus, OutcomeWatcher};
use harness::payments::PoisonRates;
use harness::producer::{payment_producer, produce_payments};
use harness::replay::parking_topic;
use harness::topics::{read_all, unique_name};
use harness::wait;
use harness::workload::Workload;
use lab_4_4::client::ApiClient;
use lab_4_4::config::ServiceConfig;
use lab_4_4::dlq::{records, records_in, watermarks, DlqSnapshot};
use lab_4_4::scenario::{statuses_since, IncidentRun, RunOptions, RUN_TOKEN};
use lab_4_4::service::{start, ServiceHandle};
use lab_4_4::truth::AfterReplay;
use lab_4_4::verdicts;
use lab_4_4::Exercise;
use serde_json::{json, Value};

const LAB: &str = "lab-4-4";
/// Backoffs of 200/400/800 ms and a 10 ms bank: a run settles in seconds; this
/// much means something is stuck.
const SETTLE: Duration = Duration::from_secs(90);

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
        format!("{first:?}"),
    );
    criterion.note(format!(
        "{} payments, {} hit by the bug, {} dead-lettered on the first pass",
        run.truth.payments.len(),
        run.truth.hit_by_bug().len(),
        run.truth.dead_lettered().len()
    ));
    run
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

/// Purge with `body`: first a dry run, whose plan must move exactly the
/// partitions whose low watermark differs in `expected`; then (on a real broker)
/// for real, after which the watermarks must be `expected` and every record
/// above them still readable.
async fn purge_and_check(
    run: &IncidentRun,
    criterion: &mut Criterion,
    what: &str,
    body: &Value,
    expected: &BTreeMap<i32, (i64, i64)>,
    real: bool,
) {
    let dlq = &run.service.state.topology.pipeline.dlq_topic;
    let before = watermarks(&run.broker, dlq).await.unwrap();
    let wanted_plan: BTreeMap<String, Value> = expected
        .iter()
        .filter(|(p, (low, _))| before.get(p).is_some_and(|(was, _)| was != low))
        .map(|(p, (low, _))| (p.to_string(), json!(low)))
        .collect();
    let dry = run
        .api
        .post("/api/v1/dlq/purge?dry_run=true", Some(body))
        .await
        .unwrap();
    // A cut at or below a partition's low watermark deletes nothing: leave such
    // no-ops out before comparing.
    let planned: BTreeMap<String, Value> =
        serde_json::from_value::<BTreeMap<i32, i64>>(dry.body["plan"].clone())
            .map(|plan| verdicts::effective_cuts(&plan, &before))
            .unwrap_or_default()
            .into_iter()
            .map(|(p, cut)| (p.to_string(), json!(cut)))
            .collect();
    criterion.expect(
        dry.status == 200 && planned == wanted_plan,
        format!(
            "{what}: purge {body} plans cuts {} only",
            json!(wanted_plan)
        ),
        format!("{} plan {}", dry.status, dry.body["plan"]),
    );
    if !real {
        return;
    }
    let response = run.api.post("/api/v1/dlq/purge", Some(body)).await.unwrap();
    criterion.expect(
        response.status == 200,
        format!("{what}: purge {body}: 200"),
        format!("{} {}", response.status, response.text),
    );
    let after = watermarks(&run.broker, dlq).await.unwrap();
    criterion.expect(
        after == *expected,
        format!("{what}: after purge {body}, watermarks {expected:?}"),
        format!("{after:?}"),
    );
    let left = read_all(&run.broker, dlq, Duration::from_secs(30))
        .await
        .unwrap();
    let left_total = records(expected);
    criterion.expect(
        left.len() as i64 == left_total,
        format!("{what}: {left_total} records still readable"),
        format!("{}", left.len()),
    );
}

/// [`purge_and_check`] of `before {partition, offset: cut}` on a DLQ with these
/// watermarks: only that partition's low watermark moves, to the cut.
async fn purge_before(
    run: &IncidentRun,
    criterion: &mut Criterion,
    what: &str,
    watermarks: &BTreeMap<i32, (i64, i64)>,
    (partition, cut): (i32, i64),
    real: bool,
) {
    let mut expected = watermarks.clone();
    if let Some((low, _)) = expected.get_mut(&partition) {
        *low = cut;
    }
    let body = json!({"mode": "before", "partition": partition, "offset": cut});
    purge_and_check(run, criterion, what, &body, &expected, real).await;
}

/// The partition with the most records, and its (low, high) watermarks.
fn fullest(watermarks: &BTreeMap<i32, (i64, i64)>) -> (i32, (i64, i64)) {
    watermarks
        .iter()
        .max_by_key(|(_, (low, high))| high - low)
        .map(|(p, marks)| (*p, *marks))
        .expect("the DLQ has partitions")
}

/// Every record of the run's replay journal.
async fn journal_records(run: &IncidentRun) -> Vec<rdkafka::message::OwnedMessage> {
    let topic = &run.service.state.journal.topic;
    read_all(&run.broker, topic, Duration::from_secs(30))
        .await
        .unwrap()
}

/// Each record of a retry topic, by (partition, offset): its payment id and its
/// `replay-id` header.
type ReplaysAt = BTreeMap<(i32, i64), (String, Option<Vec<u8>>)>;

/// Journal records whose target is not a replay of their payment, by their
/// replay run, on the first retry topic: a journal written before (or without)
/// the retry topic's ack, from a made-up receipt.
async fn unbacked_journal_entries(
    run: &IncidentRun,
    journal: &[rdkafka::message::OwnedMessage],
) -> Vec<String> {
    use rdkafka::Message;
    let retry_1 = run.service.state.topology.pipeline.retry_topic(1);
    let replays: ReplaysAt = read_all(&run.broker, &retry_1, Duration::from_secs(60))
        .await
        .unwrap()
        .iter()
        .map(|m| {
            let id = harness::outcomes::payment_id_of(m);
            let replay_id = harness::headers::header_value(m, harness::replay::REPLAY_ID);
            ((m.partition(), m.offset()), (id, replay_id))
        })
        .collect();
    journal
        .iter()
        .filter_map(|record| {
            let Some(Ok(entry)) = record
                .payload()
                .map(serde_json::from_slice::<lab_4_4::journal::JournalEntry>)
            else {
                return Some(format!(
                    "an unreadable journal record at offset {}",
                    record.offset()
                ));
            };
            let backed = entry.target_topic == retry_1
                && replays
                    .get(&(entry.target_partition, entry.target_offset))
                    .is_some_and(|(id, replay_id)| {
                        *id == entry.payment_id
                            && replay_id.as_deref() == Some(entry.replay_id.as_bytes())
                    });
            (!backed).then(|| {
                format!(
                    "{} -> {}/{}@{}",
                    entry.payment_id,
                    entry.target_topic,
                    entry.target_partition,
                    entry.target_offset
                )
            })
        })
        .collect()
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

mod checks {
    use super::*;

    pub async fn replay_reprocesses_every_fixed_payment_exactly_once<E: Exercise>(
        mut criterion: Criterion,
    ) {
        let run = after_first_pass::<E>(&mut criterion).await;
        run.fix_bug().await.unwrap();
        let ids = run.truth.hit_by_bug();
        let (summary, since) = run.replay(IncidentRun::bug_filter(), false).await.unwrap();
        let outcomes = run.replayed_outcomes(&ids, since, SETTLE).await;
        criterion.expect(
            outcomes.is_ok(),
            format!(
                "an outcome after the replay for each of the {} payments the bug dead-lettered",
                ids.len()
            ),
            format!("{outcomes:?}; replay summary {summary}"),
        );
        // Judge "exactly once" only when nothing more can come: every group has
        // committed everything, so a duplicate would have arrived by now.
        let idle = run.idle(SETTLE).await;
        criterion.expect(
            idle.is_ok(),
            "the service idle after the replay",
            format!("{idle:?}"),
        );
        let outcomes = run.watcher.snapshot();
        let findings = verdicts::replayed_exactly_once(&run, &ids, &outcomes, since);
        criterion.expect(
            findings.ok(),
            "each bug-hit payment processed exactly once after the replay (or parked once, if it still fails), and nothing else touched",
            findings.summary(),
        );
        let processed = run
            .truth
            .ids(|e| e.hit_by_bug && e.after_replay == Some(AfterReplay::Processed))
            .len();
        criterion.note(format!(
            "{} replayed: {processed} processed, {} parked",
            ids.len(),
            ids.len() - processed
        ));
        run.shutdown().await.unwrap();
    }

    pub async fn replays_are_byte_exact_and_never_touch_the_live_topic<E: Exercise>(
        mut criterion: Criterion,
    ) {
        let run = after_first_pass::<E>(&mut criterion).await;
        run.fix_bug().await.unwrap();
        // Everything, poison included: a dead letter whose value is not UTF-8 must
        // come back byte for byte too.
        let ids = run.truth.dead_lettered();
        // Another team's record on the DLQ: it cannot be replayed, and it must
        // not stop the replay of everything else.
        let dlq = run.service.state.topology.pipeline.dlq_topic.clone();
        payment_producer(&run.broker)
            .unwrap()
            .send(
                rdkafka::producer::FutureRecord::to(&dlq)
                    .key("not-a-payment")
                    .payload("not a dead letter"),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        let replayed = run.replay(json!({}), false).await;
        criterion.expect(
            matches!(&replayed, Ok((summary, _)) if summary["not_replayable"] == 1),
            "a replay of everything to skip the one DLQ record that is not a dead letter (not_replayable: 1) and replay the rest",
            match &replayed {
                Ok((summary, _)) => format!("replay summary {summary}"),
                Err(error) => format!("the replay failed: {error:#}"),
            },
        );
        let Ok((summary, since)) = replayed else {
            return;
        };
        let _ = run.replayed_outcomes(&ids, since, SETTLE).await;
        let bytes = verdicts::replays_are_byte_exact(&run, &ids).await.unwrap();
        criterion.expect(
            bytes.ok(),
            format!(
                "{} replays on the first retry topic, each the original key, value and headers (plus provenance)",
                ids.len()
            ),
            format!("{}; replay summary {summary}", bytes.summary()),
        );
        let live = verdicts::live_topic_untouched(&run).await.unwrap();
        criterion.expect(
            live.ok(),
            "no record written to the live topic after the workload",
            live.summary(),
        );
        run.shutdown().await.unwrap();
    }

    pub async fn failed_replays_are_parked_not_looped<E: Exercise>(mut criterion: Criterion) {
        let run = after_first_pass::<E>(&mut criterion).await;
        run.fix_bug().await.unwrap();
        let pipeline = run.service.state.topology.pipeline.clone();
        let dlq_before = records_in(&run.broker, &pipeline.dlq_topic).await.unwrap();
        let ids = run.truth.dead_lettered();
        let parked: Vec<String> = run
            .truth
            .ids(|e| e.after_replay == Some(AfterReplay::Parked));
        let (_, since) = run.replay(json!({}), false).await.unwrap();
        let outcomes = run.replayed_outcomes(&ids, since, SETTLE).await;
        criterion.expect(
            outcomes.is_ok(),
            format!(
                "an outcome after the replay for each of the {} dead letters",
                ids.len()
            ),
            format!("{outcomes:?}"),
        );
        let statuses = statuses_since(&run.watcher.snapshot(), since);
        let looped: Vec<String> = statuses
            .iter()
            .filter(|(_, s)| s.contains_key(&OutcomeStatus::DeadLettered))
            .map(|(id, s)| format!("{id}: {s:?}"))
            .collect();
        criterion.expect(
            looped.is_empty(),
            "no replayed payment dead-lettered again",
            format!(
                "{} back in the DLQ, e.g. {:?}",
                looped.len(),
                looped.iter().take(3).collect::<Vec<_>>()
            ),
        );
        let dlq_after = records_in(&run.broker, &pipeline.dlq_topic).await.unwrap();
        criterion.expect(
            dlq_after == dlq_before,
            format!("the DLQ still holds {dlq_before} records"),
            format!("{dlq_after}"),
        );
        let mut on_parking = verdicts::payment_ids_on(&run.broker, &parking_topic(&pipeline.topic))
            .await
            .unwrap();
        on_parking.sort();
        criterion.expect(
            on_parking == parked,
            format!("exactly these payments parked, once each: {parked:?}"),
            format!("{on_parking:?}"),
        );
        criterion.note(format!(
            "{} replayed, {} parked, DLQ unchanged at {dlq_after}",
            ids.len(),
            parked.len()
        ));
        run.shutdown().await.unwrap();
    }

    pub async fn dry_runs_and_second_replays_send_nothing<E: Exercise>(mut criterion: Criterion) {
        let run = after_first_pass::<E>(&mut criterion).await;
        run.fix_bug().await.unwrap();
        let ids = run.truth.hit_by_bug();
        let retry_1 = run.service.state.topology.pipeline.retry_topic(1);
        let before = watermarks(&run.broker, &retry_1).await.unwrap();
        let (dry, _) = run.replay(IncidentRun::bug_filter(), true).await.unwrap();
        let after = watermarks(&run.broker, &retry_1).await.unwrap();
        let journal = journal_records(&run).await;
        // Counted by payment: an at-least-once duplicate dead letter is one payment.
        let would_replay: BTreeSet<String> =
            serde_json::from_value(dry["payment_ids"].clone()).unwrap_or_default();
        let bug_hit: BTreeSet<String> = ids.iter().cloned().collect();
        criterion.expect(
            would_replay == bug_hit
                && dry["sent_to"] == json!({})
                && before == after
                && journal.is_empty(),
            format!(
                "a dry run counts {} to replay, and sends and journals nothing",
                ids.len()
            ),
            format!(
                "replayed {}, sent to {}, retry-1 {before:?} -> {after:?}, {} journal record(s)",
                dry["replayed"],
                dry["sent_to"],
                journal.len()
            ),
        );
        let (first, since) = run.replay(IncidentRun::bug_filter(), false).await.unwrap();
        let _ = run.replayed_outcomes(&ids, since, SETTLE).await;
        // A preview after a real replay must see what the journal says: nothing
        // left to replay, and everything the first run covered already replayed.
        let covered = first["replayed"].as_u64().unwrap_or(0)
            + first["already_replayed"].as_u64().unwrap_or(0);
        let (dry_after, _) = run.replay(IncidentRun::bug_filter(), true).await.unwrap();
        criterion.expect(
            dry_after["replayed"] == 0
                && dry_after["sent_to"] == json!({})
                && dry_after["already_replayed"].as_u64() == Some(covered)
                && covered >= ids.len() as u64,
            format!(
                "a dry run after the first replay counts 0 to replay and {covered} already replayed (at least the {} bug-hit payments)",
                ids.len()
            ),
            format!(
                "would replay {}, already replayed {}, sent to {} (first run: {first})",
                dry_after["replayed"], dry_after["already_replayed"], dry_after["sent_to"]
            ),
        );
        let (second, _) = run.replay(IncidentRun::bug_filter(), false).await.unwrap();
        criterion.expect(
            second["replayed"] == 0 && second["sent_to"] == json!({}),
            "the second run replays nothing and sends nothing",
            format!(
                "replayed {}, sent to {}",
                second["replayed"], second["sent_to"]
            ),
        );
        criterion.expect(
            second["already_replayed"].as_u64() >= Some(ids.len() as u64),
            format!(
                "the second run counts all {} as already replayed",
                ids.len()
            ),
            format!("{} (first run: {first})", second["already_replayed"]),
        );
        let journal = journal_records(&run).await;
        criterion.expect(
            journal.len() == ids.len(),
            format!(
                "{} journal records, one per replayed dead letter",
                ids.len()
            ),
            format!("{}", journal.len()),
        );
        let unbacked = unbacked_journal_entries(&run, &journal).await;
        criterion.expect(
            unbacked.is_empty(),
            "every journal record points at its payment's acknowledged replay on retry-1 (journal only after the ack)",
            format!(
                "{} journal record(s) with no such replay, e.g. {:?}",
                unbacked.len(),
                unbacked.iter().take(3).collect::<Vec<_>>()
            ),
        );
        run.shutdown().await.unwrap();
    }

    pub async fn purge_removes_only_what_it_should<E: Exercise>(mut criterion: Criterion) {
        let run = after_first_pass::<E>(&mut criterion).await;
        // The embedded mock has no DeleteRecords: there, only the plans (dry
        // runs) are checked; on a real broker, the watermarks too.
        let real = run.broker.kind.is_real_kafka();
        let dlq = run.service.state.topology.pipeline.dlq_topic.clone();
        let before = watermarks(&run.broker, &dlq).await.unwrap();
        // 1. Half of the fullest partition.
        let (partition, (low, high)) = fullest(&before);
        criterion.expect(
            high - low >= 2,
            "a DLQ partition with 2+ records",
            format!("{before:?}"),
        );
        let cut = low + (high - low) / 2;
        let what = "a cut at half of one partition";
        purge_before(&run, &mut criterion, what, &before, (partition, cut), real).await;
        // 2. Requests that cannot be honoured are refused, not guessed at.
        let now = watermarks(&run.broker, &dlq).await.unwrap();
        for (body, why) in [
            (
                json!({"mode": "before", "partition": 99, "offset": 1}),
                "an unknown partition",
            ),
            (
                json!({"mode": "before", "partition": partition, "offset": -1}),
                "a negative offset",
            ),
            (
                json!({"mode": "replayed", "partition": partition}),
                "a partition with mode replayed",
            ),
            (
                json!({"mode": "replayed", "dry_run": true}),
                "dry_run in the body",
            ),
            (
                json!({"mode": "before", "partition": partition, "offset": high + 1}),
                "an offset one past the end (the high watermark)",
            ),
            (
                json!({"mode": "before", "partition": partition, "offset": high + 1000}),
                "an offset far past the end",
            ),
        ] {
            let response = run
                .api
                .post("/api/v1/dlq/purge", Some(&body))
                .await
                .unwrap();
            criterion.expect(
                response.status == 400,
                format!("400 for {why}: {body}"),
                format!("{} {}", response.status, response.text),
            );
        }
        let unchanged = watermarks(&run.broker, &dlq).await.unwrap();
        criterion.expect(
            unchanged == now,
            "refused purges delete nothing",
            format!("{unchanged:?}"),
        );
        // 3. Replay the bug's dead letters, then purge what was replayed: each
        //    partition loses its longest prefix of bug-hit records, nothing more.
        run.fix_bug().await.unwrap();
        run.replay(IncidentRun::bug_filter(), false).await.unwrap();
        let bug: BTreeSet<String> = run.truth.hit_by_bug().into_iter().collect();
        let snapshot = DlqSnapshot::read(&run.broker, &dlq).await.unwrap();
        let mut expected = snapshot.watermarks.clone();
        for (p, cut) in verdicts::replayed_prefix_cuts(&snapshot, &bug) {
            expected.entry(p).or_default().0 = cut;
        }
        purge_and_check(
            &run,
            &mut criterion,
            "after a replay, each partition's replayed prefix",
            &json!({"mode": "replayed"}),
            &expected,
            real,
        )
        .await;
        // 4. A cut at exactly the high watermark empties the partition: the
        //    edge an off-by-one refuses. Wherever the most records are left.
        let now = watermarks(&run.broker, &dlq).await.unwrap();
        let (partition, (_, high)) = fullest(&now);
        let what = "a cut at exactly the high watermark";
        purge_before(&run, &mut criterion, what, &now, (partition, high), real).await;
        // 5. Replay everything left, then purge what was replayed: a partition
        //    whose every record was replayed is cut to its end.
        run.replay(json!({}), false).await.unwrap();
        let now = watermarks(&run.broker, &dlq).await.unwrap();
        let emptied: BTreeMap<i32, (i64, i64)> = now
            .iter()
            .map(|(p, (_, high))| (*p, (*high, *high)))
            .collect();
        purge_and_check(
            &run,
            &mut criterion,
            "after replaying everything, every partition cut to its end",
            &json!({"mode": "replayed"}),
            &emptied,
            real,
        )
        .await;
        let after = watermarks(&run.broker, &dlq).await.unwrap();
        criterion.note(format!(
            "watermarks before {before:?}, after the purges {after:?}{}",
            if real {
                ""
            } else {
                " (embedded mock: plans checked, nothing deleted)"
            }
        ));
        run.shutdown().await.unwrap();
    }

    pub async fn api_reports_the_known_workload<E: Exercise>(mut criterion: Criterion) {
        let (service, api, watcher) = start_service::<E>(|c| c.alert_min_outcomes = 5).await;
        let mut ids = Vec::new();
        for n in 0..6 {
            ids.push(create_payment(&api, &unique_name(&format!("api-ok-{n}")), "USD").await);
        }
        let switched = api
            .post("/api/v1/config/zero-decimal-bug?enabled=true", None)
            .await
            .unwrap();
        criterion.expect(switched.status == 200, "bug switch: 200", switched.text);
        for n in 0..2 {
            ids.push(create_payment(&api, &unique_name(&format!("api-jpy-{n}")), "JPY").await);
        }
        decided(&watcher, &ids).await;

        let stats = api.get("/api/v1/stats").await.unwrap().body;
        criterion.expect(
            stats["processed"] == 6 && stats["deadLettered"] == 2 && stats["parked"] == 0,
            "/api/v1/stats: processed 6, deadLettered 2, parked 0",
            &stats,
        );
        criterion.expect(
            stats["failedAttemptsByReason"][Defect::ZeroDecimalCurrency.as_str()] == 2,
            "/api/v1/stats: 2 failed attempts by zero_decimal_currency_bug",
            &stats["failedAttemptsByReason"],
        );
        let count = api.get("/api/v1/dlt/count").await.unwrap().body;
        criterion.expect(count["count"] == 2, "/api/v1/dlt/count: 2", &count);

        let page1 = api.get("/api/dlq/messages?page_size=1").await.unwrap().body;
        let page2 = api
            .get("/api/dlq/messages?page_size=1&page=2")
            .await
            .unwrap()
            .body;
        let first_id = page1["messages"][0]["paymentId"].clone();
        criterion.expect(
            page1["messageCount"] == 2
                && page1["totalPages"] == 2
                && page1["messages"].as_array().map(Vec::len) == Some(1)
                && page2["messages"].as_array().map(Vec::len) == Some(1)
                && first_id.is_string()
                && page2["messages"][0]["paymentId"].is_string()
                && page2["messages"][0]["paymentId"] != first_id
                && page1["dlqTopic"] == service.state.topology.pipeline.dlq_topic.as_str(),
            "/api/dlq/messages: 2 messages, 2 pages of 1, different on each page",
            format!("page 1 {page1}, page 2 {page2}"),
        );
        let by_reason = api
            .get("/api/dlq/messages?reason=zero_decimal_currency_bug")
            .await
            .unwrap()
            .body;
        let by_other = api
            .get("/api/dlq/messages?reason=poison")
            .await
            .unwrap()
            .body;
        criterion.expect(
            by_reason["messageCount"] == 2 && by_other["messageCount"] == 0,
            "filter by reason: 2 for the bug, 0 for poison",
            format!(
                "{} / {}",
                by_reason["messageCount"], by_other["messageCount"]
            ),
        );
        let info = api.get("/api/dlq/info").await.unwrap().body;
        criterion.expect(
            info["success"] == true
                && info["dlqConfig"]["maxRetries"] == 3
                && info["dlqConfig"]["initialBackoffMs"] == 200
                && info["consumerStats"]["isRunning"] == true
                && info["consumerStats"]["messagesInRetry"] == 0,
            "/api/dlq/info: seed 001's shape, maxRetries 3, initialBackoffMs 200, running, nothing in retry",
            &info,
        );
        let health = api.get("/health").await.unwrap();
        criterion.expect(
            health.status == 200
                && health.body["status"] == "DEGRADED"
                && health.body["alerts"][0]["name"] == "dlq_rate",
            "/health: 200 DEGRADED, alert dlq_rate (2 of 8 = 25% > 10%)",
            &health.body,
        );
        service.shutdown().await.unwrap();
    }

    pub async fn simulate_transient_error_causes_retries<E: Exercise>(mut criterion: Criterion) {
        // 5, 10 and 20 s at the levels: the lag sampler (every second, slower on a
        // loaded machine) has 35 s to see the payment waiting, and once the switch
        // is off, the payment's next attempt, at whichever level, succeeds.
        let (service, api, watcher) = start_service::<E>(|c| c.retry_backoff_ms = 5000).await;
        let on = api
            .post("/api/v1/config/simulate-transient-error?enabled=true", None)
            .await
            .unwrap();
        criterion.expect(
            on.status == 200 && on.body["simulateTransientError"] == true,
            "switch on: 200",
            on.text,
        );
        let id = create_payment(&api, &unique_name("api-transient"), "EUR").await;
        let retried = wait::until_async(
            "a retry at level 1",
            SETTLE,
            Duration::from_millis(20),
            || async {
                let stats = api
                    .get("/api/v1/stats")
                    .await
                    .map_err(|e| e.to_string())?
                    .body;
                let info = api
                    .get("/api/dlq/info")
                    .await
                    .map_err(|e| e.to_string())?
                    .body;
                let waiting = &info["consumerStats"]["messagesInRetry"];
                if stats["retriesByLevel"][0]["sent"].as_u64() >= Some(1)
                    && waiting.as_u64() >= Some(1)
                {
                    Ok(stats)
                } else {
                    Err(format!("{stats}; messagesInRetry: {waiting}"))
                }
            },
        )
        .await;
        criterion.expect(
            retried.is_ok(),
            "the payment sent to retry level 1 while the switch is on, and /api/dlq/info showing it waiting in retry",
            format!("{retried:?}"),
        );
        let off = api
            .post(
                "/api/v1/config/simulate-transient-error?enabled=false",
                None,
            )
            .await
            .unwrap();
        criterion.expect(off.status == 200, "switch off: 200", off.text);
        let outcomes = decided(&watcher, std::slice::from_ref(&id)).await;
        let outcome = outcomes.iter().find(|o| o.payment_id == id).unwrap();
        criterion.expect(
            outcome.status == OutcomeStatus::Processed && outcome.attempts >= 2,
            "processed on a later attempt once the switch is off",
            format!("{:?} after {} attempt(s)", outcome.status, outcome.attempts),
        );
        let stats = api.get("/api/v1/stats").await.unwrap().body;
        criterion.expect(
            stats["failedAttemptsByReason"]["bank_api_down"].as_u64() >= Some(1),
            "/api/v1/stats counts the bank_api_down failure",
            &stats["failedAttemptsByReason"],
        );
        service.shutdown().await.unwrap();
    }

    pub async fn admin_endpoints_require_the_token<E: Exercise>(mut criterion: Criterion) {
        let (service, api, _watcher) = start_service::<E>(|_| {}).await;
        let mutations: [(&str, Option<Value>); 4] = [
            ("/api/v1/dlq/replay?dry_run=true", Some(json!({}))),
            (
                "/api/v1/dlq/purge?dry_run=true",
                Some(json!({"mode": "replayed"})),
            ),
            ("/api/v1/config/simulate-transient-error?enabled=true", None),
            ("/api/v1/config/zero-decimal-bug?enabled=true", None),
        ];
        for (token, label) in [(None, "no token"), (Some("not-the-token"), "a wrong token")] {
            let caller = api.with_token(token);
            for (path, body) in &mutations {
                let response = caller.post(path, body.as_ref()).await.unwrap();
                criterion.expect(
                    response.status == 401 && response.body["success"] == false,
                    format!("POST {path} with {label}: 401 and a JSON error"),
                    format!("{} {}", response.status, response.text),
                );
            }
        }
        for (path, body) in &mutations {
            let response = api.post(path, body.as_ref()).await.unwrap();
            criterion.expect(
                response.status == 200,
                format!("POST {path} with the token: 200"),
                format!("{} {}", response.status, response.text),
            );
        }
        api.post("/api/v1/config/zero-decimal-bug?enabled=false", None)
            .await
            .unwrap();
        api.post(
            "/api/v1/config/simulate-transient-error?enabled=false",
            None,
        )
        .await
        .unwrap();
        let bad_posts = [
            (
                "/api/v1/config/simulate-transient-error?enabled=maybe",
                None,
                "enabled=maybe",
            ),
            (
                "/api/v1/config/simulate-transient-error",
                None,
                "no enabled",
            ),
            (
                "/api/v1/dlq/replay",
                Some("{\"since\": \"soon\"}"),
                "an unparseable time",
            ),
            (
                "/api/v1/dlq/replay",
                Some("{\"colour\": \"red\"}"),
                "an unknown filter field",
            ),
            ("/api/v1/dlq/replay", Some("{not json"), "malformed JSON"),
            (
                "/api/v1/dlq/purge",
                Some("{\"mode\": \"sideways\"}"),
                "an unknown purge mode",
            ),
            (
                "/api/payments",
                Some("{\"amount\": \"lots\"}"),
                "a non-numeric amount",
            ),
            (
                "/api/payments",
                Some("[]"),
                "a payment that is not an object",
            ),
        ];
        for (path, body, why) in bad_posts {
            let response = match body {
                Some(text) => api.post_raw(path, text).await.unwrap(),
                None => api.post(path, None).await.unwrap(),
            };
            criterion.expect(
                response.status.is_client_error() && response.body["success"] == false,
                format!("POST {path} with {why}: 4xx and a JSON error"),
                format!("{} {}", response.status, response.text),
            );
        }
        for (path, why) in [
            ("/api/dlq/messages?page=0", "page 0"),
            ("/api/dlq/messages?page_size=100000", "an enormous page"),
            (
                "/api/dlq/messages?page_size=abc",
                "a page size that is not a number",
            ),
            (
                "/api/dlq/messages?from_offset=9&to_offset=3",
                "an empty offset range",
            ),
            ("/api/no/such/endpoint", "an unknown path"),
        ] {
            let response = api.get(path).await.unwrap();
            criterion.expect(
                response.status.is_client_error() && response.body["success"] == false,
                format!("GET {path} ({why}): 4xx and a JSON error"),
                format!("{} {}", response.status, response.text),
            );
        }
        service.shutdown().await.unwrap();

        // Without a configured token, the mutations refuse everyone.
        let (service, api, _watcher) = start_service::<E>(|c| c.admin_token = None).await;
        let response = api
            .post("/api/v1/dlq/purge", Some(&json!({"mode": "replayed"})))
            .await
            .unwrap();
        criterion.expect(
            response.status == 403,
            "no ADMIN_TOKEN configured: purge refused with 403",
            format!("{} {}", response.status, response.text),
        );
        service.shutdown().await.unwrap();
    }

    pub async fn metrics_parse_as_prometheus_text<E: Exercise>(mut criterion: Criterion) {
        let (service, api, watcher) = start_service::<E>(|c| c.with_bug = true).await;
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(create_payment(&api, &unique_name(&format!("metrics-{n}")), "GBP").await);
        }
        ids.push(create_payment(&api, &unique_name("metrics-jpy"), "JPY").await);
        decided(&watcher, &ids).await;
        // The lag sampler has covered every group (4 groups x 3 partitions) and
        // found them caught up.
        let response = wait::until_async(
            "lag sampled for every group",
            SETTLE,
            Duration::from_millis(100),
            || async {
                let response = api.get("/metrics").await.map_err(|e| e.to_string())?;
                let partitions = response
                    .text
                    .lines()
                    .filter(|l| l.starts_with("kafka_consumer_lag{"))
                    .count();
                if partitions == 12 && response.text.contains("\nkafka_consumer_lag_total 0\n") {
                    Ok(response)
                } else {
                    Err(format!("{partitions} lag samples"))
                }
            },
        )
        .await;
        criterion.expect(
            response.is_ok(),
            "lag gauges for 12 partitions, total 0",
            format!("{:?}", response.as_ref().err()),
        );
        let response = response.unwrap();
        criterion.expect(
            response.status == 200
                && response
                    .content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
            "GET /metrics: 200, text/plain; version=0.0.4",
            format!("{} {:?}", response.status, response.content_type),
        );
        // Every line is a comment or `name{labels} value`, as the format says.
        let bad_lines: Vec<&str> = response
            .text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter(|l| {
                let Some((name, value)) = l.rsplit_once(' ') else {
                    return true;
                };
                let value_ok =
                    value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value);
                let name_ok = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
                !(value_ok && name_ok)
            })
            .collect();
        criterion.expect(
            bad_lines.is_empty(),
            "only valid sample lines",
            format!("{bad_lines:?}"),
        );
        let scrape =
            prometheus_parse::Scrape::parse(response.text.lines().map(|l| Ok(l.to_string())))
                .unwrap();
        let value = |name: &str, label: Option<(&str, &str)>| -> Option<f64> {
            scrape
                .samples
                .iter()
                .filter(|s| s.metric == name)
                .find(|s| label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
                .map(|s| match &s.value {
                    prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Gauge(v)
                    | prometheus_parse::Value::Untyped(v) => *v,
                    prometheus_parse::Value::Histogram(buckets) => {
                        buckets.last().map_or(0.0, |b| b.count)
                    }
                    prometheus_parse::Value::Summary(_) => f64::NAN,
                })
        };
        let expectations = [
            ("payments_processed_total", None, Some(3.0)),
            ("payments_dead_lettered_total", None, Some(1.0)),
            (
                "payment_failures_total",
                Some(("reason", Defect::ZeroDecimalCurrency.as_str())),
                Some(1.0),
            ),
            ("payment_processing_latency_seconds", None, Some(4.0)),
            ("payments_dlq_rate", None, Some(0.25)),
        ];
        for (name, label, expected) in expectations {
            let seen = value(name, label);
            criterion.expect(
                seen == expected,
                format!("{name} {label:?} = {expected:?}"),
                format!("{seen:?}"),
            );
        }
        service.shutdown().await.unwrap();
    }

    pub async fn shutdown_loses_nothing<E: Exercise>(mut criterion: Criterion) {
        let broker = shared_test_broker().await;
        let topic = unique_name("lab44stop");
        let mut config = ServiceConfig::for_run(&topic, RUN_TOKEN);
        config.failure_rate = 0.2;
        config.time_scale = 0.5;
        let first = start::<E>(broker, config.clone()).await.unwrap();
        let watcher =
            OutcomeWatcher::start(broker, &first.state.topology.pipeline.outcomes_topic()).unwrap();
        let workload = Workload::new(
            45,
            60,
            PoisonRates::each(0.02),
            FailureMix::from_rate(config.failure_rate),
        );
        produce_payments(
            &payment_producer(broker).unwrap(),
            &topic,
            &workload.records,
            None,
            None,
        )
        .await
        .unwrap();
        // Stop mid-stream: some payments done, most not.
        watcher
            .wait_for("a few outcomes", SETTLE, |o| {
                if o.len() >= 5 {
                    Ok(())
                } else {
                    Err(format!("{} outcomes", o.len()))
                }
            })
            .await
            .unwrap();
        let stopped = tokio::time::timeout(Duration::from_secs(60), first.shutdown()).await;
        criterion.expect(
            matches!(stopped, Ok(Ok(()))),
            "a clean shutdown within 60 s",
            format!("{stopped:?}"),
        );
        let decided_at_stop = watcher.snapshot().len();
        criterion.expect(
            decided_at_stop < workload.records.len(),
            "the shutdown came mid-stream (some payments still undecided)",
            format!("{decided_at_stop} of {} decided", workload.records.len()),
        );
        let second = start::<E>(broker, config.clone()).await.unwrap();
        let ledger = Ledger::new(workload.classes(), config.max_retries + 1);
        let settled = watcher
            .wait_for("every payment accounted for", SETTLE, |o| ledger.settled(o))
            .await;
        let accounting = ledger.account(&watcher.snapshot());
        criterion.expect(
            settled.is_ok() && accounting.lost() == 0 && accounting.wrong_fate.is_empty(),
            "every payment processed or dead-lettered, none lost, after a restart",
            format!("{accounting:?}"),
        );
        let payments: BTreeSet<String> = watcher
            .snapshot()
            .into_iter()
            .map(|o| o.payment_id)
            .collect();
        criterion.note(format!(
            "{decided_at_stop} decided before the shutdown, {} payments in all, {} duplicate outcome(s)",
            payments.len(),
            accounting.duplicates
        ));
        second.shutdown().await.unwrap();
    }
}
