//! Purges remove only what they should.

use super::*;

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
        marks(&before),
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
        marks(&unchanged),
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
        "watermarks before {}, after the purges {}{}",
        marks(&before),
        marks(&after),
        if real {
            ""
        } else {
            " (embedded mock: plans checked, nothing deleted)"
        }
    ));
    run.shutdown().await.unwrap();
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
    // The kit's wording, checked once the plan is right: a dry run must never
    // read as if it had deleted anything.
    criterion.expect(
        dry.body.get("deleted").is_none() && dry.body["would_delete"].is_object(),
        format!("{what}: the dry run of {body} answers would_delete, not deleted"),
        &dry.body,
    );
    if !real {
        return;
    }
    let response = run.api.post("/api/v1/dlq/purge", Some(body)).await.unwrap();
    criterion.expect(
        response.status == 200
            && response.body["deleted"].is_object()
            && response.body.get("would_delete").is_none(),
        format!("{what}: purge {body}: 200, with what it deleted"),
        format!("{} {}", response.status, response.text),
    );
    let after = watermarks(&run.broker, dlq).await.unwrap();
    criterion.expect(
        after == *expected,
        format!("{what}: after purge {body}, watermarks {}", marks(expected)),
        marks(&after),
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
