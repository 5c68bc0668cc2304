//! The route of each failure: through the levels on time, straight to the DLQ,
//! or to the DLQ once the levels are exhausted.

use super::*;

pub async fn transient_payments_climb_the_levels_on_time<E: Exercise>(mut criterion: Criterion) {
    let run = run::<E>(options()).await;
    let paths = trace_paths(shared_test_broker().await, &run).await.unwrap();
    let findings = verdicts::retried_through_the_levels(&run, &paths);
    criterion.expect(
        findings.ok(),
        format!(
            "every transient payment on retry levels 1..=its failures (at most {}), once each, retry-count = level, each hop no sooner than its delay, and no later than delay + {} ms unless its level kept polling meanwhile (a busy machine)",
            run.pipeline.levels(),
            HOP_TOLERANCE.as_millis()
        ),
        format!(
            "{} transient payments: {}{}",
            findings.examined,
            findings.summary(),
            unfinished(&run)
        ),
    );
    // The levels' own measurement: the hop check above includes a gateway
    // call, so a retry a few ms early could hide in it; this cannot.
    let lateness = run.lateness();
    criterion.expect(
        lateness.early == 0,
        "no retry to start before its due time",
        format!(
            "{} of {} retries started early",
            lateness.early, lateness.count
        ),
    );
    criterion.note(format!(
        "{} transient payments; the latest hop started {} ms after its delay (tolerance {} ms){}; lateness measured by the levels: {}",
        findings.examined,
        findings.max_overshoot_ms,
        HOP_TOLERANCE.as_millis(),
        findings.excused(),
        run.lateness().one_line()
    ));
}

pub async fn non_retryable_payments_go_straight_to_the_dlq<E: Exercise>(mut criterion: Criterion) {
    let run = run::<E>(options()).await;
    let paths = trace_paths(shared_test_broker().await, &run).await.unwrap();
    let findings = verdicts::non_retryable_straight_to_dlq(&run, &paths);
    criterion.expect(
        findings.ok(),
        "every permanent and poison payment in the DLQ after 1 attempt, with no retry record and no final-failure",
        format!(
            "{} permanent or poison payments: {}{}",
            findings.examined,
            findings.summary(),
            unfinished(&run)
        ),
    );
}

pub async fn exhausted_retries_are_final_dead_letters<E: Exercise>(mut criterion: Criterion) {
    let run = run::<E>(options()).await;
    let paths = trace_paths(shared_test_broker().await, &run).await.unwrap();
    let findings = verdicts::exhausted_retries_dead_lettered(&run, &paths);
    criterion.expect(
        findings.ok(),
        format!(
            "every payment that fails more than {} retries in the DLQ with final-failure: true and {} attempts, and no processable payment there",
            run.pipeline.levels(),
            run.pipeline.levels() + 1
        ),
        format!(
            "{} such payments: {}{}",
            findings.examined,
            findings.summary(),
            unfinished(&run)
        ),
    );
}
