//! The end-of-run report of `cargo run -p lab-4-3`: outcomes by class, latency
//! of healthy and retried payments, lateness of the delays, and the checklist.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use harness::measure::summary::{table, Summary};
use harness::outcomes::OutcomeStatus;

use crate::scenario::{
    healthy_ratio, PaymentPath, Settled, HEALTHY_RATIO_LIMIT, HEALTHY_RATIO_TARGET,
};
use crate::verdicts;

/// The lateness target: p99 at most this far past the due time.
pub const LATENESS_P99_TARGET_MS: f64 = 50.0;

/// Outcomes per class: how many payments, and what became of them.
pub fn outcomes_table(run: &Settled) -> String {
    let mut rows: BTreeMap<&'static str, [usize; 4]> = BTreeMap::new();
    let final_status: BTreeMap<&str, OutcomeStatus> = run
        .outcomes
        .iter()
        .map(|o| (o.payment_id.as_str(), o.status))
        .collect();
    for record in &run.workload.records {
        let row = rows
            .entry(run.workload.class_of(record).label())
            .or_default();
        row[0] += 1;
        match final_status.get(record.payment_id.as_str()) {
            Some(OutcomeStatus::Processed) => row[1] += 1,
            Some(OutcomeStatus::DeadLettered) => row[2] += 1,
            _ => row[3] += 1,
        }
    }
    let mut table = table(&["class", "payments", "processed", "dead-lettered", "lost"]);
    for (label, [total, processed, dead, lost]) in rows {
        table.add_row(vec![
            label.to_string(),
            total.to_string(),
            processed.to_string(),
            dead.to_string(),
            lost.to_string(),
        ]);
    }
    table.to_string()
}

/// Latency, lateness and the velocity ratio.
pub fn measurements(run: &Settled, baseline: &Settled) -> String {
    let ratio = healthy_ratio(run, baseline);
    Summary::new("measurement")
        .row(
            "healthy payments, with failures",
            run.healthy_latency().one_line(),
        )
        .row(
            "healthy payments, failure-free run",
            baseline.healthy_latency().one_line(),
        )
        .row("healthy p99 ratio (target ≤ 1.2)", format!("{ratio:.2}"))
        .row(
            "retried payments (produce to processed)",
            run.retried_latency().one_line(),
        )
        .row(
            "retry lateness (after the due time)",
            run.lateness().one_line(),
        )
        .row("partitions paused for a not-yet-due record", run.holds)
        .row("forwards not acknowledged (rewound)", run.forward_failures)
        .row(
            "rebalances after the first assignment",
            run.unexpected_rebalances.len(),
        )
        .row("drain time", format!("{} ms", run.drain_time.as_millis()))
        .render()
}

/// The seed's success criteria (and this lab's), checked against the run.
pub fn checklist(
    run: &Settled,
    baseline: &Settled,
    paths: &BTreeMap<String, PaymentPath>,
    live_topic_records: usize,
    real_kafka: bool,
    exercise_file: &str,
) -> String {
    let ratio = healthy_ratio(run, baseline);
    let lateness = run.lateness();
    let levels = verdicts::retried_through_the_levels(run, paths);
    let straight = verdicts::non_retryable_straight_to_dlq(run, paths);
    let exhausted = verdicts::exhausted_retries_dead_lettered(run, paths);
    let mark = |ok: bool| if ok { "✅" } else { "❌" };
    let mut items = vec![
        (
            mark(levels.ok()),
            format!(
                "transient payments retried through the levels in order, each after its delay ({} payments; latest start {} ms past a delay; {})",
                levels.examined, levels.max_overshoot_ms, levels.summary()
            ),
        ),
        (
            mark(straight.ok()),
            format!(
                "permanent and poison payments straight to the DLQ, no retry ({} payments; {})",
                straight.examined,
                straight.summary()
            ),
        ),
        (
            mark(exhausted.ok()),
            format!(
                "out of retries: in the DLQ with final-failure and every attempt counted ({} payments; {})",
                exhausted.examined,
                exhausted.summary()
            ),
        ),
        (
            mark(run.accounting.lost() == 0 && run.accounting.wrong_fate.is_empty()),
            format!(
                "zero payments lost ({} processed, {} dead-lettered, {} lost, {} with the wrong fate)",
                run.accounting.processed,
                run.accounting.dead_lettered,
                run.accounting.lost(),
                run.accounting.wrong_fate.len()
            ),
        ),
        (
            if ratio <= HEALTHY_RATIO_TARGET {
                "✅"
            } else if ratio <= HEALTHY_RATIO_LIMIT || !real_kafka {
                // The embedded mock stalls fetches for hundreds of ms at random,
                // in failure-free runs too: its latencies are indicative only.
                "⚠️ "
            } else {
                "❌"
            },
            format!(
                "healthy payments keep their velocity: p99 {ratio:.2}x the failure-free run (target ≤ {HEALTHY_RATIO_TARGET}){}",
                if real_kafka { "" } else { "; the embedded broker's latencies are indicative, use a real one to judge" }
            ),
        ),
        (
            if lateness.early > 0 {
                "❌"
            } else if lateness.p99_ms <= LATENESS_P99_TARGET_MS {
                "✅"
            } else {
                "⚠️ "
            },
            format!(
                "delays kept: never early, p99 ≤ {LATENESS_P99_TARGET_MS} ms late ({})",
                lateness.one_line()
            ),
        ),
        (
            mark(run.unexpected_rebalances.is_empty()),
            format!(
                "no sleep-induced rebalances ({} after the first assignments)",
                run.unexpected_rebalances.len()
            ),
        ),
        (
            mark(live_topic_records == run.workload.records.len()),
            format!(
                "no retry on the live topic ({live_topic_records} records for {} payments)",
                run.workload.records.len()
            ),
        ),
    ];
    let all_ok = items.iter().all(|(m, _)| *m != "❌");
    let mut text = String::from("Success criteria:\n");
    for (mark, item) in items.drain(..) {
        let _ = writeln!(text, "  {mark} {item}");
    }
    if !all_ok {
        let _ = writeln!(
            text,
            "Not there yet: see the TODOs in {exercise_file}, then `cargo grade lab-4-3`."
        );
    }
    text
}
