//! The commit follows the DLQ ack: with the DLQ missing, nothing is committed
//! past a record that was neither processed nor dead-lettered, across a restart.

use super::*;

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
    // Two failed sends (records are in flight together, so most likely two
    // records' first sends): failures are being handled, and whatever the
    // consumer commits around a failed send is committed by the time the
    // restart below has stopped it (its shutdown commits synchronously).
    let failures_seen = wait_for_failed_sends(&run, 2).await;
    criterion.expect(
        matches!(failures_seen, Ok(true)),
        "DLQ sends to fail (the DLQ topic is missing) and the failed record to be kept for later",
        match failures_seen {
            Ok(_) => "every payment settled without the DLQ: the failures were committed past without a dead letter".to_string(),
            Err(timeout) => timeout.to_string(),
        },
    );
    // Stop and restart the consumer while the DLQ is still down: the new one
    // starts from the committed offsets, so anything committed past a record
    // that was never dead-lettered is lost right here.
    run.restart::<E>(broker).await.unwrap();
    // Not an assertion: let the new consumer meet the outage too.
    let _ = wait_for_failed_sends(&run, 1).await;
    let commits = watch.finish().await;
    let outage_ends_at_ms = now_ms();
    create_topics(broker, &[(&run.dlq_topic, 3)]).await.unwrap();
    let (ledger, dlq) = (run.ledger.clone(), run.dlq_topic.clone());
    let (input_topic, delivered) = (run.input_topic.clone(), run.delivered.clone());
    // Outcomes are judged once the run is over, when the watcher has read
    // every one decided during the outage (or, if it never settles, with
    // what it has read by then).
    let snapshot = run.outcomes();
    let settled = run.settle(Duration::from_secs(60)).await;
    let outcomes = settled.as_ref().map_or(snapshot, |s| s.outcomes.clone());
    // A record may be passed once it was processed; one that had to be
    // dead-lettered could not be, with no DLQ to acknowledge it.
    let guarded = expect_no_commit_past_a_missing_dlq(
        &mut criterion,
        &commits,
        &ledger,
        (&input_topic, &delivered),
        &dlq,
        &outcomes,
        outage_ends_at_ms,
    );
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
