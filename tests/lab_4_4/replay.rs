//! Replays: exactly once, byte-exact, parked not looped, safe to preview and to run twice.

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
        format!("{}; replay summary {summary}", result_text(&outcomes)),
    );
    // Judge "exactly once" only when nothing more can come: every group has
    // committed everything, so a duplicate would have arrived by now.
    let idle = run.idle(SETTLE).await;
    criterion.expect(
        idle.is_ok(),
        "the service idle after the replay",
        result_text(&idle),
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
        result_text(&outcomes),
    );
    let statuses = statuses_since(&run.watcher.snapshot(), since);
    let looped: Vec<String> = statuses
        .iter()
        .filter(|(_, s)| s.contains_key(&OutcomeStatus::DeadLettered))
        .map(|(id, s)| format!("{id}: {}", verdicts::statuses_text(s)))
        .collect();
    criterion.expect(
        looped.is_empty(),
        "no replayed payment dead-lettered again",
        format!(
            "{} back in the DLQ, e.g. {}",
            looped.len(),
            looped
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
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
        format!(
            "exactly these payments parked, once each: {}",
            parked.join(", ")
        ),
        on_parking.join(", "),
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
            "replayed {}, sent to {}, retry-1 {} -> {}, {} journal record(s)",
            dry["replayed"],
            dry["sent_to"],
            marks(&before),
            marks(&after),
            journal.len()
        ),
    );
    let (first, since) = run.replay(IncidentRun::bug_filter(), false).await.unwrap();
    let _ = run.replayed_outcomes(&ids, since, SETTLE).await;
    // A preview after a real replay must see what the journal says: nothing
    // left to replay, and everything the first run covered already replayed.
    let covered =
        first["replayed"].as_u64().unwrap_or(0) + first["already_replayed"].as_u64().unwrap_or(0);
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
            "{} journal record(s) with no such replay, e.g. {}",
            unbacked.len(),
            unbacked.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        ),
    );
    run.shutdown().await.unwrap();
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
                .map(serde_json::from_slice::<lab_4_4_kit::journal::JournalEntry>)
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
