//! The whole run: exact accounting, healthy velocity, the live topic untouched,
//! and no rebalance while payments wait.

use super::*;

pub async fn every_payment_is_accounted_for<E: Exercise>(mut criterion: Criterion) {
    let run = run::<E>(options()).await;
    let accounting = &run.accounting;
    let expected_dead: BTreeSet<String> = run
        .workload
        .records
        .iter()
        .filter(|r| {
            !run.workload
                .class_of(r)
                .succeeds_within(1 + run.pipeline.levels())
        })
        .map(|r| r.payment_id.clone())
        .collect();
    criterion.expect(
        accounting.lost() == 0
            && accounting.wrong_fate.is_empty()
            && accounting.duplicates == 0
            && accounting.dead_lettered == expected_dead.len()
            && accounting.processed == COUNT - expected_dead.len(),
        format!(
            "{} processed, {} dead-lettered, 0 lost, 0 duplicate outcomes",
            COUNT - expected_dead.len(),
            expected_dead.len()
        ),
        format!(
            "{} processed, {} dead-lettered, {} lost, {} duplicate outcomes, {} with the wrong fate{}",
            accounting.processed,
            accounting.dead_lettered,
            accounting.lost(),
            accounting.duplicates,
            accounting.wrong_fate.len(),
            unfinished(&run)
        ),
    );
    // The outcomes say "dead-lettered"; the DLQ topic must agree, once each.
    let on_dlq = ids_on(&run.pipeline.dlq_topic).await;
    let ids: BTreeSet<String> = on_dlq.keys().cloned().collect();
    criterion.expect(
        ids == expected_dead && on_dlq.values().all(|&n| n == 1),
        format!(
            "the DLQ to hold each of the {} unprocessable payments once",
            expected_dead.len()
        ),
        format!(
            "{} records for {} payments; missing {:?}; unexpected {:?}",
            on_dlq.values().sum::<usize>(),
            ids.len(),
            expected_dead.difference(&ids).collect::<Vec<_>>(),
            ids.difference(&expected_dead).collect::<Vec<_>>()
        ),
    );
    criterion.note(format!(
        "{} processed, {} dead-lettered, 0 lost",
        accounting.processed, accounting.dead_lettered
    ));
}

pub async fn healthy_payments_keep_their_velocity<E: Exercise>(mut criterion: Criterion) {
    let baseline = run::<E>(options().failure_free()).await;
    let with_failures = run::<E>(options()).await;
    let ratio = healthy_ratio(&with_failures, &baseline);
    let transients_processed = with_failures
        .ids_of("transient")
        .iter()
        .filter(|id| !with_failures.accounting.wrong_fate.contains(id))
        .count();
    criterion.expect(
        ratio <= HEALTHY_RATIO_LIMIT && with_failures.accounting.wrong_fate.is_empty(),
        format!(
            "with 30% failures handled (every retryable payment retried to its fate), healthy p99 at most {HEALTHY_RATIO_LIMIT}x the failure-free run"
        ),
        format!(
            "{ratio:.2}x (healthy with failures: {}; failure-free: {}); {} payments with the wrong fate{}",
            with_failures.healthy_latency().one_line(),
            baseline.healthy_latency().one_line(),
            with_failures.accounting.wrong_fate.len(),
            unfinished(&with_failures)
        ),
    );
    criterion.note(format!(
        "healthy p99 ratio {ratio:.2} (target 1.2); {transients_processed} transient payments retried meanwhile"
    ));
}

pub async fn retries_never_touch_the_live_topic<E: Exercise>(mut criterion: Criterion) {
    let run = run::<E>(options()).await;
    // An independent reader of the live topic (another team's service).
    let on_live = ids_on(&run.pipeline.topic).await;
    let repeated: Vec<(&String, &usize)> = on_live.iter().filter(|(_, &n)| n != 1).collect();
    criterion.expect(
        on_live.len() == COUNT && repeated.is_empty(),
        format!("an independent reader of the live topic to see each of the {COUNT} payments exactly once"),
        format!(
            "{} payments, {} records; seen more than once: {:?}",
            on_live.len(),
            on_live.values().sum::<usize>(),
            repeated.iter().take(5).collect::<Vec<_>>()
        ),
    );
    // ... because the retries happened elsewhere: on the retry topics.
    let on_retry_1 = ids_on(&run.pipeline.retry_topic(1)).await;
    let transient = run.ids_of("transient");
    let missing: Vec<&String> = transient
        .iter()
        .filter(|id| !on_retry_1.contains_key(*id))
        .collect();
    criterion.expect(
        !transient.is_empty() && missing.is_empty(),
        format!(
            "every one of the {} transient payments retried through {}",
            transient.len(),
            run.pipeline.retry_topic(1)
        ),
        format!(
            "{} never got there, e.g. {:?}",
            missing.len(),
            missing.iter().take(5).collect::<Vec<_>>()
        ),
    );
}

pub async fn no_sleep_induced_rebalances<E: Exercise>(mut criterion: Criterion) {
    let run = run::<E>(options()).await;
    let paths = trace_paths(shared_test_broker().await, &run).await.unwrap();
    let last = run.pipeline.levels();
    let reached_last_level = paths
        .values()
        .filter(|p| p.retries.iter().any(|r| r.level == last))
        .count();
    let max_poll = run.pipeline.timeouts.max_poll_interval;
    let longest = run.pipeline.policy.longest_delay(last).unwrap_or_default();
    criterion.expect(
        reached_last_level > 0 && longest > max_poll,
        format!(
            "payments held at level {last} for {} ms, longer than max.poll.interval.ms = {} ms",
            longest.as_millis(),
            max_poll.as_millis()
        ),
        format!(
            "{reached_last_level} payments reached level {last}{}",
            unfinished(&run)
        ),
    );
    criterion.expect(
        run.unexpected_rebalances.is_empty(),
        "no rebalance after each member's first assignment: nobody was thrown out of a group",
        format!(
            "{} rebalance events, e.g. {:?}",
            run.unexpected_rebalances.len(),
            run.unexpected_rebalances
                .iter()
                .take(3)
                .map(|e| format!("{} {:?} {:?}", e.member, e.kind, e.partitions))
                .collect::<Vec<_>>()
        ),
    );
    criterion.note(format!(
        "{reached_last_level} payments waited {} ms at level {last} with max.poll.interval.ms {} ms; {} partition pauses; 0 rebalances",
        longest.as_millis(),
        max_poll.as_millis(),
        run.holds
    ));
}
