//! What the DLQ holds: every failure dead-lettered and nothing lost, and each
//! dead letter's metadata and original bytes, field by field.

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

pub async fn dead_letters_carry_metadata_and_original_bytes<E: Exercise>(mut criterion: Criterion) {
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
            header(message, "error-timestamp") == Some(dead.error_timestamp.to_string().as_bytes()),
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
