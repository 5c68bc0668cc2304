//! Healthy payments keep flowing: failures cost one attempt and a DLQ send,
//! never a wait.

use super::*;

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
        drains_without_blocking(failing.drain_time, baseline.drain_time),
        format!(
            "draining with 20% failures + poison to take {}",
            non_blocking_expectation()
        ),
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
